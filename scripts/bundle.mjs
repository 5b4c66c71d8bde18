// Bundles the compiled service into one CommonJS file, `dist/service.bundle.cjs`, next to its
// launcher `dist/service.cjs` (scripts/service-launcher.cjs): `node dist/service.cjs` is what the
// container and the process-level tests run. `npm run build` calls it after `nest build`; the
// benchmarks call `bundleService()` and `writeCodeCache()`.
//
// Why: loading the unbundled graph (≈ 2,000 files of NestJS and the Google clients) is most of the
// service's cold start: resolving, reading and compiling each file. One file with every dependency
// inlined, started with a V8 code cache made at image build time after the modules have run
// (`writeCodeCache`), starts about twice as fast (docs/performance.md, "Cold start"). CommonJS, not
// an ES module: V8 can serialize a script's code after it has run (vm.Script#createCachedData), which
// Node offers for scripts but not for ES modules; Node's own compile cache keeps only the top level.
//
// The input is tsc's output (dist/src/server.js), not the TypeScript sources: NestJS's dependency
// injection needs the decorator metadata tsc emits (esbuild does not emit it). The packages left
// external are NestJS's optional peers (microservices, websockets, validation, the Express adapter and
// Fastify plugins the service does not register): Nest probes them in a
// try/catch when a feature asks for them, and this service uses none of them. Whitespace and comments
// are left out (names are kept; class names too, see classNames()). What the code loads
// with `await import()` (the Pub/Sub client, which only pulling or publishing instances need) stays
// in the file but is only run when imported.
//
// Usage: node scripts/bundle.mjs [distDir]   (default: dist)
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const LAUNCHER = join(ROOT, 'scripts', 'service-launcher.cjs');

const OPTIONAL_PEERS = [
  '@nestjs/microservices',
  '@nestjs/microservices/*',
  '@nestjs/websockets',
  '@nestjs/websockets/*',
  '@nestjs/platform-socket.io',
  '@nestjs/platform-express',
  '@fastify/static',
  '@fastify/multipart',
  '@fastify/view',
  'class-transformer',
  'class-transformer/*',
  'class-validator',
];

// The first line names the SHA-256 of the rest of the file: the launcher uses a code cache only if it
// was made from this very bundle (V8 itself checks little more than the source's length). The
// placeholder has the digest's length so replacing it moves nothing the source map points at.
const ID_PLACEHOLDER = '0'.repeat(64);
const BANNER = [
  `// bundle sha256:${ID_PLACEHOLDER}`,
  // ES modules inlined into a CommonJS file: their import.meta.url is the bundle's URL.
  "var __bundleUrl = require('node:url').pathToFileURL(__filename).href;",
].join('\n');

/** Bundles `<dist>/src/server.js` into `<dist>/service.bundle.cjs` with its launcher; returns the launcher's path. */
export async function bundleService(dist = join(ROOT, 'dist')) {
  const entry = join(dist, 'src', 'server.js');
  if (!existsSync(entry)) throw new Error(`${entry} is missing: compile first (nest build)`);
  return bundle(entry, dist, 'service');
}

/**
 * Bundles one ES module entry with every dependency (but NestJS's optional peers) into
 * `<outdir>/<name>.bundle.cjs` and copies the launcher to `<outdir>/<name>.cjs`. The entry must
 * export `main()` (started by the launcher) and may export `loadLazyModules()` (run before the code
 * cache is written). Returns the launcher's path.
 */
export async function bundle(entry, outdir, name) {
  const outfile = join(outdir, `${name}.bundle.cjs`);
  const result = await build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node22',
    external: OPTIONAL_PEERS,
    banner: { js: BANNER },
    plugins: [classNames(dirname(entry))],
    define: { 'import.meta.url': '__bundleUrl' },
    sourcemap: 'linked',
    sourcesContent: false,
    legalComments: 'none',
    // Without comments and indentation the source V8 keeps for the process's life is 9.6 MB instead
    // of 14.7, and idle RSS ~20 MB lower. Names stay, so stack traces still read; map them back to
    // src/ with scripts/map-stack.mjs or --enable-source-maps.
    minifyWhitespace: true,
    logLevel: 'warning',
  });
  if (result.errors.length) throw new Error(`bundle failed: ${result.errors.map((e) => e.text).join('; ')}`);
  const code = asciiOnly(readFileSync(outfile, 'utf8'));
  const firstLine = code.indexOf('\n');
  const id = createHash('sha256')
    .update(code.slice(firstLine + 1))
    .digest('hex');
  writeFileSync(outfile, code.replace(ID_PLACEHOLDER, id));
  const launcher = join(outdir, `${name}.cjs`);
  copyFileSync(LAUNCHER, launcher);
  return launcher;
}

/**
 * esbuild renames a top-level binding another module of the bundle also declares, and tsc writes every
 * decorated class as `let X = class X {…}`, whose inner name always collides: Nest would log `CoreModule2`.
 * The service's and Nest's own classes (Nest names its loggers after them: `InstanceLoader`, not
 * `_InstanceLoader`) get their name back once, when their module runs. Not esbuild's `keepNames`:
 * it wraps every function of every package in `__name()`, closures created per call included, which cost
 * the pipeline about a third of its throughput (docs/performance.md, "Log context").
 */
function classNames(root) {
  const ours = resolve(root, '..');
  const CLASS = /^(?:export )?(?:let (\w+) = (?:\w+ = )?class \1\b|class (\w+)\b)/gm;
  return {
    name: 'class-names',
    setup(build) {
      build.onLoad({ filter: /\.js$/ }, (args) => {
        const nest = args.path.includes(`${join('/', 'node_modules', '@nestjs', '/')}`);
        if (!nest && (!args.path.startsWith(ours) || args.path.includes(`${join('/', 'node_modules', '/')}`))) {
          return undefined;
        }
        const code = readFileSync(args.path, 'utf8');
        const names = [...code.matchAll(CLASS)].map((m) => m[1] ?? m[2]);
        if (!names.length) return { contents: code, loader: 'js' };
        const restore = names
          .map((n) => `Object.defineProperty(${n}, 'name', { value: ${JSON.stringify(n)}, configurable: true });`)
          .join('\n');
        return { contents: `${code}\n${restore}\n`, loader: 'js' };
      });
    },
  };
}

/**
 * esbuild escapes non-ASCII characters in strings, regular expressions and names (`charset: 'ascii'`,
 * its default); one such character left anywhere would make V8 hold the whole source as a two-byte
 * string, twice the memory for as long as the process lives. Comments are the only place one could
 * remain (esbuild copies some, e.g. legal ones, as they are): they become `?`, one per UTF-16 unit, so
 * no column the source map names moves.
 */
function asciiOnly(code) {
  return code.replace(/[^\x00-\x7f]/g, '?');
}

/**
 * Writes the V8 code cache of a bundle (`<launcher's bundle>.v8cache`) by running
 * `node <flags> <launcher> --write-code-cache`. The flags must be the ones the process will be
 * started with (V8 rejects a cache made under other flags): the Dockerfile's CMD flags.
 */
export function writeCodeCache(launcher, flags = [], node = process.execPath) {
  const result = spawnSync(node, [...flags, launcher, '--write-code-cache'], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`writing the code cache failed: ${result.stderr || result.status}`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const dist = resolve(process.argv[2] ?? join(ROOT, 'dist'));
  const started = Date.now();
  const launcher = await bundleService(dist);
  process.stdout.write(`bundled ${launcher.replace(/\.cjs$/, '.bundle.cjs')} in ${Date.now() - started} ms\n`);
}
