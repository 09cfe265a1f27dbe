// Bundles the Hummingbird client for the browser: one IIFE that sets `window.Hummingbird`. Used in memory by the
// tests and the meeting page server (bundleClient()), and by `pnpm --filter @hummingbird/client build:client`
// (writes dist/hummingbird-client.js).
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';

// `../src/index.ts` from both src/ (source) and dist/ (built): the browser code is always bundled from source.
const entry = fileURLToPath(new URL('../src/index.ts', import.meta.url));

/** The bundled client as JavaScript source. */
export function bundleClient(options: { minify?: boolean } = {}): Promise<string> {
  return bundleForBrowser(entry, options);
}

/** One browser entry point (TypeScript) and everything it imports, as one IIFE, in memory. */
export async function bundleForBrowser(entryPoint: string, options: { minify?: boolean } = {}): Promise<string> {
  const result = await build({
    entryPoints: [entryPoint],
    bundle: true,
    format: 'iife',
    platform: 'browser',
    target: 'chrome120',
    write: false,
    minify: options.minify ?? false,
    sourcemap: 'inline',
    logLevel: 'silent',
  });
  const out = result.outputFiles[0];
  if (!out) throw new Error(`esbuild produced no output for ${entryPoint}`);
  return out.text;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { mkdir, writeFile } = await import('node:fs/promises');
  const dist = fileURLToPath(new URL('../dist/', import.meta.url));
  await mkdir(dist, { recursive: true });
  await writeFile(`${dist}hummingbird-client.js`, await bundleClient({ minify: true }));
  console.log(`wrote ${dist}hummingbird-client.js`);
}
