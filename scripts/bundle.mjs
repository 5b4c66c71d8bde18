// Bundles the compiled service into one ES module, `dist/service.mjs`: what the container and the
// tests run. `npm run build` calls it after `nest build`; the benchmarks call `bundleService()`.
//
// Why: loading the unbundled graph (≈ 2,000 files of NestJS and the Google clients) is most of the
// service's cold start: resolving, reading and compiling each file. One file with every dependency
// inlined, with V8's compile cache warmed at image build time (`warmCompileCache`), starts a third to a
// half faster (docs/performance.md, "Cold start").
//
// The input is tsc's output (dist/src/main.js), not the TypeScript sources: NestJS's dependency
// injection needs the decorator metadata tsc emits (esbuild does not emit it). The packages left
// external are NestJS's optional peers (microservices, websockets, validation): Nest loads them in a
// try/catch when a feature asks for them, and this service uses none of them.
//
// Usage: node scripts/bundle.mjs [distDir]   (default: dist)
import { spawnSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

const OPTIONAL_PEERS = [
  '@nestjs/microservices',
  '@nestjs/microservices/*',
  '@nestjs/websockets',
  '@nestjs/websockets/*',
  '@nestjs/platform-socket.io',
  '@fastify/static',
  'class-transformer',
  'class-transformer/*',
  'class-validator',
];

// CommonJS dependencies inside an ES module bundle still call require() (for Node's built-ins) and
// read __dirname / __filename: give them module-local equivalents.
const BANNER = [
  "import { createRequire as __bundleRequire } from 'node:module';",
  "import { fileURLToPath as __bundlePath } from 'node:url';",
  "import { dirname as __bundleDir } from 'node:path';",
  'const require = __bundleRequire(import.meta.url);',
  'const __filename = __bundlePath(import.meta.url);',
  'const __dirname = __bundleDir(__filename);',
].join('\n');

/** Bundles `<dist>/src/main.js` into `<dist>/service.mjs` (and `<dist>/chunks/`); returns the entry's path. */
export async function bundleService(dist = join(ROOT, 'dist')) {
  const entry = join(dist, 'src', 'main.js');
  if (!existsSync(entry)) throw new Error(`${entry} is missing: compile first (nest build)`);
  return bundle(entry, dist, 'service');
}

/**
 * Bundles one ES module entry with every dependency (but NestJS's optional peers) into
 * `<outdir>/<name>.mjs`. What the code loads with `await import()` (the Pub/Sub client, which only
 * pulling or publishing instances need) goes to a chunk of its own under `<outdir>/chunks/`, read
 * only when imported. Returns the entry file's path.
 */
export async function bundle(entry, outdir, name) {
  rmSync(join(outdir, 'chunks'), { recursive: true, force: true });
  const result = await build({
    entryPoints: { [name]: entry },
    outdir,
    outExtension: { '.js': '.mjs' },
    chunkNames: 'chunks/[name]-[hash]',
    splitting: true,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node22',
    external: OPTIONAL_PEERS,
    banner: { js: BANNER },
    sourcemap: 'linked',
    sourcesContent: false,
    legalComments: 'none',
    logLevel: 'warning',
    logOverride: { 'empty-import-meta': 'silent' },
  });
  if (result.errors.length) throw new Error(`bundle failed: ${result.errors.map((e) => e.text).join('; ')}`);
  return join(outdir, `${name}.mjs`);
}

/**
 * Fills V8's compile cache for the bundle into `cacheDir` by loading it once (`--compile-only`
 * makes main exit right after the module graph is compiled). A process started later with
 * NODE_COMPILE_CACHE=<cacheDir>, the same Node binary and the same file path skips compilation;
 * with another binary or file Node ignores the cache and compiles as usual.
 */
export function warmCompileCache(file, cacheDir, node = process.execPath, args = ['--compile-only']) {
  const result = spawnSync(node, [file, ...args], {
    env: { ...process.env, NODE_COMPILE_CACHE: cacheDir },
    encoding: 'utf8',
  });
  if (result.status !== 0) throw new Error(`warming the compile cache failed: ${result.stderr || result.status}`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const dist = resolve(process.argv[2] ?? join(ROOT, 'dist'));
  const started = Date.now();
  const outfile = await bundleService(dist);
  process.stdout.write(`bundled ${outfile} in ${Date.now() - started} ms\n`);
}
