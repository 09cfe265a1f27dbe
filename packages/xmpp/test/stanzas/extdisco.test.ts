// XEP-0215 services (jitsi-client-protocol §1.3): the request ljm sends and Prosody's answer.
import { describe, expect, it } from 'vitest';
import { NS } from '../../src/namespaces.ts';
import { buildServicesRequest, buildServicesResponse, parseServicesRequest, parseServicesResponse } from '../../src/stanzas/extdisco.ts';
import { parseXmlString } from '../../src/xml.ts';
import { expectMalformed } from './support/assert.ts';
import { fixtureStanza, payloadOf } from './support/pick.ts';

describe('XEP-0215 services', () => {
  it('reads the STUN and REST-credential TURN entries Prosody sends', () => {
    const r = parseServicesResponse(payloadOf(fixtureStanza('extdisco-response')));
    expect(r.ns).toBe(NS.EXTDISCO);
    expect(r.services[0]).toEqual({ type: 'stun', host: '127.0.0.1', port: 3478, transport: 'udp' });
    expect(r.services[1]).toMatchObject({ type: 'turn', transport: 'tcp', restricted: true, port: 3478 });
    expect(r.services[1]?.username).toMatch(/^\d+$/);
    expect(buildServicesResponse(r).getChildren('service')[1]?.attrs.restricted).toBe('1');
  });

  it('reads the request, in both versions ljm may use', () => {
    expect(parseServicesRequest(payloadOf(fixtureStanza('extdisco-request')))).toEqual({ ns: NS.EXTDISCO });
    const v1 = buildServicesRequest({ ns: NS.EXTDISCO_1, type: 'turn' });
    expect(parseServicesRequest(v1)).toEqual({ ns: NS.EXTDISCO_1, type: 'turn' });
  });

  it('rejects bad ports, missing host or type, a non-boolean restricted, and services inside a request', () => {
    const s = (attrs: string): ReturnType<typeof parseXmlString> => parseXmlString(`<services xmlns="${NS.EXTDISCO}"><service ${attrs}/></services>`);
    expectMalformed(() => parseServicesResponse(s('type="turn" host="h" port="65536"')), /service\[0\]@port$/);
    expectMalformed(() => parseServicesResponse(s('type="turn"')), /service\[0\]@host$/);
    expectMalformed(() => parseServicesResponse(s('host="h"')), /service\[0\]@type$/);
    expectMalformed(() => parseServicesResponse(s('type="turn" host="h" restricted="yes"')), /service\[0\]@restricted$/);
    expectMalformed(() => parseServicesRequest(s('type="turn" host="h"')), /service$/);
    expectMalformed(() => parseServicesRequest(parseXmlString('<services xmlns="urn:xmpp:extdisco:3"/>')), /^services$/);
  });
});
