import { describe, expect, it } from 'vitest';
import { ConfigError, HB_ERRORS, HbError, isHbError } from '../src/index.js';

describe('HbError registry', () => {
  it('maps each code to its HTTP status', () => {
    const error = new HbError('HB_ERR_NOT_IMPLEMENTED', 'later');
    expect(error.code).toBe('HB_ERR_NOT_IMPLEMENTED');
    expect(error.httpStatus).toBe(501);
    expect(isHbError(error)).toBe(true);
    expect(isHbError(new Error('plain'))).toBe(false);
  });

  it('uses only HB_ERR_ codes with a 4xx/5xx status', () => {
    for (const [code, entry] of Object.entries(HB_ERRORS)) {
      expect(code).toMatch(/^HB_ERR_[A-Z_]+$/);
      expect(entry.httpStatus).toBeGreaterThanOrEqual(400);
    }
  });

  it('ConfigError lists every issue on its own line under the app name', () => {
    const error = new ConfigError('focus', [
      { key: 'ops.port', message: 'too big' },
      { key: 'xmpp.domain', message: 'required, but not set' },
    ]);
    expect(error).toBeInstanceOf(HbError);
    expect(error.code).toBe('HB_ERR_CONFIG');
    expect(error.message).toBe('invalid focus configuration:\n  - ops.port: too big\n  - xmpp.domain: required, but not set');
  });
});
