-- Hummingbird: remove client-sent copies of the verified-claims element from presence.
--
-- The token plugin (mod_auth_hummingbird_token) stamps <claims xmlns="urn:hummingbird:token:claims:0"/>
-- into MUC presence after apps/token verified the session's JWT (spec/prosody.md §4.5 step 5). A client
-- must never be able to send its own copy: load this module on every VirtualHost that shares MUCs with
-- the token host (guest hosts included), e.g. globally in modules_enabled. The token host loads it
-- itself. Stripping runs at a high priority, before any stamping.

local claims_ns = module:get_option_string("hummingbird_token_claims_ns", "urn:hummingbird:token:claims:0");

local function strip(event)
	local stanza = event.stanza;
	-- maptags keeps every other child as it is; returning nil drops the child.
	stanza:maptags(function (tag)
		if tag.attr.xmlns == claims_ns then
			event.origin.log("debug", "Removed a client-sent <%s xmlns='%s'/> from presence", tag.name, claims_ns);
			return nil;
		end
		return tag;
	end);
end

for _, kind in ipairs({ "full", "bare", "host" }) do
	module:hook("pre-presence/" .. kind, strip, 1000);
end
