// Builds the admin console (docs/admin-console.md) into dist/console/: one JavaScript and one CSS file named by
// their content hash, the HTML page that loads them, and brotli and gzip copies of each text file, which the
// service sends to browsers that accept them (src/admin/console/console-route.ts). No inline script or style
// anywhere: the page runs under a strict Content-Security-Policy.
//
// Usage: node console/build.mjs [outDir]   (default: dist/console; `npm run build` runs it)
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import { build } from 'esbuild';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, '..');

/** Builds the console into `outDir`; returns the files written with their raw and gzip sizes. */
export async function buildConsole(outDir = join(ROOT, 'dist', 'console')) {
  rmSync(outDir, { recursive: true, force: true });
  const result = await build({
    entryPoints: [join(HERE, 'src', 'main.tsx')],
    outdir: join(outDir, 'assets'),
    entryNames: 'app-[hash]',
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: ['es2022', 'chrome111', 'firefox114', 'safari16.4'],
    jsx: 'automatic',
    jsxImportSource: 'preact',
    minify: true,
    sourcemap: 'linked',
    legalComments: 'none',
    metafile: true,
    logLevel: 'warning',
    define: { 'process.env.NODE_ENV': '"production"' },
  });
  const outputs = Object.keys(result.metafile.outputs).map((p) => resolve(ROOT, p));
  const script = outputs.find((p) => p.endsWith('.js'));
  const style = outputs.find((p) => p.endsWith('.css'));
  if (!script || !style) throw new Error('console build: expected one .js and one .css output');
  const html = readFileSync(join(HERE, 'index.html'), 'utf8')
    .replace('%SCRIPT%', `assets/${basename(script)}`)
    .replace('%STYLE%', `assets/${basename(style)}`);
  writeFileSync(join(outDir, 'index.html'), html);
  writeFileSync(join(outDir, 'favicon.svg'), readFileSync(join(HERE, 'favicon.svg')));
  const files = [join(outDir, 'index.html'), join(outDir, 'favicon.svg'), script, style];
  return files.map((file) => {
    const body = readFileSync(file);
    const gzip = gzipSync(body, { level: 9 });
    const br = brotliCompressSync(body, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } });
    writeFileSync(`${file}.gz`, gzip);
    writeFileSync(`${file}.br`, br);
    return { file: relative(outDir, file), bytes: body.length, gzip: gzip.length, brotli: br.length };
  });
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const outDir = resolve(process.argv[2] ?? join(ROOT, 'dist', 'console'));
  mkdirSync(outDir, { recursive: true });
  const started = Date.now();
  const files = await buildConsole(outDir);
  const js = files.filter((f) => f.file.endsWith('.js')).reduce((sum, f) => sum + f.gzip, 0);
  process.stdout.write(
    `built the admin console in ${Date.now() - started} ms: JavaScript ${(js / 1024).toFixed(1)} KB gzip (budget 100 KB)\n`,
  );
}
