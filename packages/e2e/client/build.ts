// Bundles the Hummingbird test client for the browser: one IIFE, `window.Hummingbird`. Used by the tests
// (in-memory, through bundleClient()) and by `pnpm --filter @hummingbird/e2e build:client` (writes dist/).
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';

const entry = fileURLToPath(new URL('./src/index.ts', import.meta.url));

/** The bundled client as JavaScript source. */
export async function bundleClient(options: { minify?: boolean } = {}): Promise<string> {
  const result = await build({
    entryPoints: [entry],
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
  if (!out) throw new Error('esbuild produced no output');
  return out.text;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { mkdir, writeFile } = await import('node:fs/promises');
  const dist = fileURLToPath(new URL('./dist/', import.meta.url));
  await mkdir(dist, { recursive: true });
  await writeFile(`${dist}hummingbird-client.js`, await bundleClient({ minify: true }));
  console.log(`wrote ${dist}hummingbird-client.js`);
}
