-- Hummingbird token login for Prosody 0.12 (spec/prosody.md §4.5).
--
-- Every JWT decision is made by apps/token over HTTP; this module only carries the token there and the
-- verified claims back, without blocking Prosody's loop (SASL and stanza handling run inside the
-- session's async runner, so waiting here parks one session, never the server).
--
--   VirtualHost "meet.example.org"
--     authentication = "hummingbird_token"
--     hummingbird_token_verify_url = "http://127.0.0.1:8890/v1/verify"
--     hummingbird_token_api_key_file = "/etc/prosody/hummingbird-token.key"  -- or hummingbird_token_api_key
--
-- Where the token comes from:
--   * SASL PLAIN: password = the JWT, username = the token's context.user.id (or sub);
--   * lib-jitsi-meet: ?token=<jwt> on the BOSH / WebSocket URL, then SASL ANONYMOUS (offered only to
--     sessions that carry such a token); the session gets a random localpart.
-- On every MUC join the token is checked again with the room's name (the "room" claim), and the verified
-- claims are stamped into the occupant's presence as <claims xmlns="urn:hummingbird:token:claims:0"/>.
-- The token itself is never logged.

local async = require "util.async";
local http = require "net.http";
local json = require "util.json";
local st = require "util.stanza";
local jid_split = require "util.jid".split;
local nodeprep = require "util.encodings".stringprep.nodeprep;
local saslprep = require "util.encodings".stringprep.saslprep;
local formdecode = require "util.http".formdecode;
local random_id = require "util.id".medium;

local host = module.host;
local verify_url = module:get_option_string("hummingbird_token_verify_url");
local api_key = module:get_option_string("hummingbird_token_api_key");
local api_key_file = module:get_option_string("hummingbird_token_api_key_file");
local timeout = module:get_option_number("hummingbird_token_timeout", 5);
local claims_ns = module:get_option_string("hummingbird_token_claims_ns", "urn:hummingbird:token:claims:0");

if not verify_url then
	module:log("error", "hummingbird_token_verify_url is not set: every login on %s will fail", host);
end
if api_key_file then
	local f, err = io.open(api_key_file, "r");
	if not f then
		module:log("error", "Cannot read hummingbird_token_api_key_file: %s", err);
	else
		api_key = f:read("*l");
		f:close();
	end
end

module:depends("hummingbird_claims_strip");

-- Asks apps/token. Returns (claims) or (nil, reason). Must run inside an async runner: the caller's
-- session waits, the server does not (spec/prosody.md §4.4: the blocking alternative stalled everyone).
local function verify(payload)
	if not verify_url or not api_key then return nil, "not_configured"; end
	if not async.ready() then
		module:log("warn", "Token check outside an async runner: refused rather than blocking the server");
		return nil, "not_async";
	end
	local wait, done = async.waiter(1, true);
	local finished, status, body = false, nil, nil;
	http.request(verify_url, {
		method = "POST";
		body = json.encode(payload);
		headers = {
			["Content-Type"] = "application/json";
			["Authorization"] = "Bearer " .. api_key;
		};
		suppress_url = true;
	}, function (response_body, code)
		if finished then return; end
		finished, status, body = true, code, response_body;
		done();
	end);
	local timer = module:add_timer(timeout, function ()
		if finished then return; end
		finished, status = true, 0;
		done();
	end);
	wait();
	timer:stop();
	if status == 200 then
		local reply = json.decode(body or "");
		if type(reply) == "table" and reply.valid == true and type(reply.claims) == "table" then
			return reply.claims;
		end
		return nil, "bad_reply";
	end
	if status == 0 then return nil, "unreachable"; end
	local reply = json.decode(body or "");
	local reason = type(reply) == "table" and type(reply.reason) == "string" and reply.reason
		or type(reply) == "table" and type(reply.code) == "string" and reply.code
		or ("http_" .. tostring(status));
	return nil, reason;
end

-- lib-jitsi-meet appends ?token=<jwt> to its BOSH / WebSocket URL (jitsi-client-protocol.md §1.2).
-- mod_websocket and mod_bosh are global modules in 0.12 (module.add_host), so they fire these events
-- globally, before the stream names its host. The token is only used if the stream then opens on a host
-- whose authentication is this provider: other hosts' SASL handlers never look at it.
local function capture_url_token(event)
	local request, session = event.request, event.session;
	if not session then return; end
	local query = request and request.url and request.url.query;
	if not query then return; end
	local params = formdecode(query);
	local token = type(params) == "table" and params.token or nil;
	if type(token) == "string" and token ~= "" then
		session.hb_url_token = token;
	end
end
module:hook_global("websocket-session", capture_url_token);
module:hook_global("bosh-session", capture_url_token);

-- A SASL handler of our own (the interface mod_saslauth uses: mechanisms, select, process, clean_clone).
-- util.sasl's ANONYMOUS retries its profile callback until it returns true, so a refusal there would loop.
local handler = {};
handler.__index = handler;

local function new_handler(session)
	return setmetatable({ session = session }, handler);
end

function handler:clean_clone()
	return new_handler(self.session);
end

function handler:mechanisms()
	local mechanisms = { PLAIN = true };
	if self.session and self.session.hb_url_token then mechanisms.ANONYMOUS = true; end
	return mechanisms;
end

function handler:select(mechanism)
	if not self.selected and self:mechanisms()[mechanism] then
		self.selected = mechanism;
		return true;
	end
end

local function fail(session, reason)
	-- The reason is a machine-readable word from apps/token (e.g. "expired"), never the token.
	(session and session.log or module._log)("info", "Token login refused: %s", reason);
	return "failure", "not-authorized", "token rejected: " .. reason;
end

function handler:process(message)
	local session = self.session or {};
	local token, username, binding;
	if self.selected == "PLAIN" then
		if not message then return "failure", "malformed-request"; end
		local authzid, authcid, password = message:match("^([^%z]*)%z([^%z]+)%z([^%z]+)$");
		if not authcid then return "failure", "malformed-request"; end
		authcid, password = saslprep(authcid), password;
		username = authcid and nodeprep(authcid);
		if not username or username == "" or not password or password == "" then
			return "failure", "malformed-request", "Invalid username or token";
		end
		if authzid ~= "" and authzid ~= username and authzid ~= username .. "@" .. host then
			return "failure", "invalid-authzid";
		end
		token, binding = password, username;
	elseif self.selected == "ANONYMOUS" then
		token = session.hb_url_token;
		if not token then return "failure", "not-authorized"; end
		username = random_id():lower();
	else
		return "failure", "invalid-mechanism";
	end
	local claims, reason = verify({ token = token, username = binding, host = host, ip = session.ip });
	if not claims then return fail(session, reason); end
	self.username = username;
	session.hb_token = token;
	session.hb_claims = claims;
	session.hb_url_token = nil;
	session.hb_rooms = {};
	return "success";
end

-- Accounts are ephemeral: the token is the credential (spec/prosody.md §4.5 step 6).
local provider = {};
function provider.test_password() return nil, "Password based auth not supported"; end
function provider.get_password() return nil, "Password not available"; end
function provider.set_password() return nil, "Password based auth not supported"; end
function provider.create_user() return nil, "Account creation not supported"; end
function provider.delete_user() return nil, "Account deletion not supported"; end
function provider.user_exists() return true; end
function provider.users() return function () return nil; end; end
function provider.get_sasl_handler(session) return new_handler(session); end
module:provides("auth", provider);

local function is_muc(domain)
	local h = prosody.hosts[domain];
	return h ~= nil and h.modules ~= nil and h.modules.muc ~= nil;
end

local function bool(value) return value and "true" or "false"; end

local function claims_element(claims)
	local user = type(claims.user) == "table" and claims.user or {};
	local attr = {
		xmlns = claims_ns;
		room = type(claims.room) == "string" and claims.room or nil;
		sub = type(claims.sub) == "string" and claims.sub or nil;
		moderator = bool(claims.moderator == true);
		affiliation = type(claims.affiliation) == "string" and claims.affiliation or nil;
		group = type(claims.group) == "string" and claims.group or nil;
		id = type(user.id) == "string" and user.id or nil;
		name = type(user.name) == "string" and user.name or nil;
		avatar = type(user.avatar) == "string" and user.avatar or nil;
		-- e-mail stays out: presence goes to every occupant.
	};
	return st.stanza("claims", attr);
end

-- MUC join: the room claim decides (checked by apps/token with the room's name), then the verified claims
-- go into the presence. Client-sent copies were already removed by mod_hummingbird_claims_strip.
module:hook("pre-presence/full", function (event)
	local origin, stanza = event.origin, event.stanza;
	local claims = origin.hb_claims;
	if not claims or stanza.attr.type ~= nil then return; end
	local room_node, room_host = jid_split(stanza.attr.to);
	if not room_node or not is_muc(room_host) then return; end
	local room_jid = room_node .. "@" .. room_host;
	origin.hb_rooms = origin.hb_rooms or {};
	if not origin.hb_rooms[room_jid] then
		local fresh, reason = verify({ token = origin.hb_token, room = room_node, host = host, ip = origin.ip });
		if not fresh then
			origin.log("info", "MUC join of %s refused: %s", room_jid, reason);
			origin.send(st.error_reply(stanza, "auth", "not-allowed", "token rejected: " .. reason));
			return true;
		end
		origin.hb_claims, claims = fresh, fresh;
		origin.hb_rooms[room_jid] = true;
	end
	stanza:add_direct_child(claims_element(claims));
end, 10);

module:hook("resource-unbind", function (event)
	local session = event.session;
	session.hb_token, session.hb_claims, session.hb_rooms = nil, nil, nil;
end);
