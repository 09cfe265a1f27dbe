import { expect } from 'vitest';
import { MalformedStanzaError } from '../../../src/errors.ts';

/** Asserts `fn` throws MalformedStanzaError whose path matches `path`. */
export function expectMalformed(fn: () => unknown, path: RegExp): MalformedStanzaError {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught, 'expected MalformedStanzaError').toBeInstanceOf(MalformedStanzaError);
  const err = caught as MalformedStanzaError;
  expect(err.path).toMatch(path);
  expect(err.code).toBe('HB_ERR_MALFORMED_STANZA');
  return err;
}
