import { readFileSync } from 'node:fs';
import { KeyConfigError } from './errors.js';

/**
 * Resolves a `file:<path>` or `env:<VARIABLE>` reference (config.ts `secretRef`). The error names
 * the reference and the config key, never the value.
 */
export function resolveSecret(ref: string, key: string, env: Readonly<Record<string, string | undefined>> = process.env): string {
  if (ref.startsWith('env:')) {
    const name = ref.slice('env:'.length);
    const value = env[name];
    if (value === undefined || value === '') throw new KeyConfigError(`${key}: environment variable ${name} is not set or empty`);
    return value;
  }
  if (ref.startsWith('file:')) {
    const path = ref.slice('file:'.length);
    let value: string;
    try {
      value = readFileSync(path, 'utf8');
    } catch (error) {
      throw new KeyConfigError(`${key}: cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`, { cause: error });
    }
    // A trailing newline from `echo secret > file` is not part of the secret.
    const trimmed = value.replace(/\r?\n$/, '');
    if (trimmed === '') throw new KeyConfigError(`${key}: ${path} is empty`);
    return trimmed;
  }
  throw new KeyConfigError(`${key}: not a file: or env: reference`);
}
