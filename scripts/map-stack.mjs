// Maps the bundle positions in a stack trace back to src/*.ts and node_modules/*, with the source
// map of the same build: `node scripts/map-stack.mjs [dist/service.bundle.cjs.map] < trace.txt`.
// For traces from logs (the service runs the bundle without source maps, for its start-up time);
// `NODE_OPTIONS=--enable-source-maps` maps them in the process itself instead.
import { readFileSync } from 'node:fs';
import { SourceMap } from 'node:module';
import { dirname, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Rewrites every `service.bundle.cjs:<line>:<column>` in `text` to the original file, line and column. */
export function mapStack(text, mapFile) {
  const payload = JSON.parse(readFileSync(mapFile, 'utf8'));
  const map = new SourceMap(payload);
  const base = dirname(resolve(mapFile));
  return text.replace(/[^\s(]*service\.bundle\.cjs:(\d+):(\d+)/g, (whole, line, column) => {
    const entry = map.findEntry(Number(line) - 1, Number(column) - 1);
    if (!entry?.originalSource) return whole;
    const source = entry.originalSource.startsWith('file:')
      ? fileURLToPath(entry.originalSource)
      : resolve(base, entry.originalSource);
    return `${relative(process.cwd(), source)}:${entry.originalLine + 1}:${entry.originalColumn + 1}`;
  });
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const mapFile = process.argv[2] ?? 'dist/service.bundle.cjs.map';
  process.stdout.write(mapStack(readFileSync(0, 'utf8'), mapFile));
}
