import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, isSecretKey, REDACTED } from '../src/index.js';

function capture(): { stream: Writable; lines: () => Record<string, unknown>[]; text: () => string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      chunks.push(chunk.toString('utf8'));
      callback();
    },
  });
  const text = () => chunks.join('');
  return {
    stream,
    text,
    lines: () =>
      text()
        .split('\n')
        .filter((l) => l.length > 0)
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

const SECRET = 'hunter2-do-not-leak';

describe('createLogger', () => {
  it('writes one JSON object per line with name, level label and message', () => {
    const out = capture();
    const logger = createLogger({ name: 'demo', level: 'info', destination: out.stream });
    logger.info({ conference: 'room1' }, 'hello');
    logger.debug('below the level');
    const lines = out.lines();
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ name: 'demo', level: 'info', msg: 'hello', conference: 'room1' });
    expect(typeof lines[0]?.['time']).toBe('string');
  });

  it('never writes a secret-looking key, at any depth, in child bindings or inside an error', () => {
    const out = capture();
    const logger = createLogger({ name: 'demo', destination: out.stream });
    logger.info({ password: SECRET, nested: { deeper: { sharedSecret: SECRET, list: [{ token: SECRET }] } } }, 'a');
    logger.info({ headers: { authorization: `Bearer ${SECRET}` }, apiKey: SECRET, private_key: SECRET }, 'b');
    logger.child({ componentSecret: SECRET }).info('c');
    const error = Object.assign(new Error('boom'), { secret: SECRET });
    logger.error({ err: error }, 'd');
    logger.error(error);
    expect(out.lines()).toHaveLength(5);
    expect(out.text()).not.toContain(SECRET);
    expect(out.text()).toContain(REDACTED);
    // The error is still useful: message and stack survive redaction.
    expect(out.lines()[3]?.['err']).toMatchObject({ message: 'boom', type: 'Error' });
  });

  it('gives a grandchild both ancestors\' bindings, redacted', () => {
    const out = capture();
    const logger = createLogger({ name: 'demo', destination: out.stream });
    logger.child({ conference: 'c1' }).child({ participant: 'p1', token: SECRET }).info('x');
    expect(out.lines()[0]).toMatchObject({ conference: 'c1', participant: 'p1', token: REDACTED });
  });

  it('keeps non-secret keys readable, including ones that merely contain "key" as letters', () => {
    const out = capture();
    createLogger({ name: 'demo', destination: out.stream }).info({ monkey: 'm', keyframe: 1, keyId: 'k1', room: 'r' }, 'x');
    expect(out.lines()[0]).toMatchObject({ monkey: 'm', keyframe: 1, keyId: 'k1', room: 'r' });
  });

  it('survives circular objects instead of throwing in the logging path', () => {
    const out = capture();
    const circular: Record<string, unknown> = { a: 1 };
    circular['self'] = circular;
    createLogger({ name: 'demo', destination: out.stream }).info({ circular }, 'x');
    expect(out.lines()[0]?.['circular']).toMatchObject({ a: 1 });
  });
});

describe('isSecretKey', () => {
  it.each(['password', 'passwd', 'secret', 'sharedSecret', 'token', 'accessToken', 'authorization', 'key', 'apiKey', 'private_key', 'KEY_FILE', 'cookie'])(
    'treats %s as secret',
    (key) => expect(isSecretKey(key)).toBe(true),
  );
  it.each(['monkey', 'keyframe', 'keyId', 'room', 'port', 'host'])('treats %s as not secret', (key) => expect(isSecretKey(key)).toBe(false));
});
