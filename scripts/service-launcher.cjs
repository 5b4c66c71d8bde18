'use strict';
// `node dist/service.cjs`: what the container runs. scripts/bundle.mjs copies this file next to the
// bundle it starts: `<name>.cjs` starts `<name>.bundle.cjs` (for the service: `service.bundle.cjs`,
// the service and every dependency in one CommonJS file).
//
// It compiles the bundle with V8's code cache (`service.bundle.cjs.v8cache`), then calls its main().
// The image build makes the cache with `node <the CMD's flags> dist/service.cjs --write-code-cache`:
// that loads the whole bundle (the lazily loaded Pub/Sub client too), runs every module's top-level
// code, and only then serializes the code, so the cache holds the functions start-up runs, not just
// the top level (what Node's own NODE_COMPILE_CACHE keeps). A new instance then skips compiling
// ~15 MB of JavaScript (docs/performance.md, "Cold start").
//
// The cache is used only for the bundle it was made from (the bundle's first line names its
// SHA-256; the cache file starts with it) and is worthless for another Node binary or other V8
// flags: V8 then rejects it, the launcher says so once on stderr and compiles as usual. With
// --enable-source-maps it leaves the cache aside and lets Node load the bundle, source map and all.
const { readFileSync, writeFileSync, renameSync } = require('node:fs');
const { createRequire } = require('node:module');
const { dirname } = require('node:path');
const { Script } = require('node:vm');

const BUNDLE = __filename.replace(/\.cjs$/, '.bundle.cjs');
const CACHE = `${BUNDLE}.v8cache`;
const ID_LENGTH = 64;

function warn(message) {
  process.stderr.write(`${JSON.stringify({ severity: 'WARNING', message })}\n`);
}

function readCache(id) {
  let data;
  try {
    data = readFileSync(CACHE);
  } catch {
    return undefined; // no cache: compile as usual
  }
  if (data.subarray(0, ID_LENGTH).toString('latin1') !== id) {
    warn(`${CACHE} was made for another build of ${BUNDLE}; compiling without it`);
    return undefined;
  }
  return data.subarray(ID_LENGTH);
}

function load({ useCache }) {
  if (process.sourceMapsEnabled && useCache) {
    // --enable-source-maps: Node applies the bundle's source map only to what its own loader loads;
    // stack traces then name src/*.ts and node_modules/* at the cost of the cache.
    const exports = require(BUNDLE);
    return { exports };
  }
  const source = readFileSync(BUNDLE, 'utf8');
  const id = /^\/\/ bundle sha256:([0-9a-f]{64})\n/.exec(source)?.[1];
  if (!id) throw new Error(`${BUNDLE} has no "// bundle sha256:" first line: rebuild it (npm run build)`);
  const cachedData = useCache ? readCache(id) : undefined;
  // The CommonJS wrapper goes on the bundle's first line so line numbers (and the source map) stay right.
  const script = new Script(`(function (exports, require, module, __filename, __dirname) {${source}\n})`, {
    filename: BUNDLE,
    cachedData,
    // NestJS probes its optional peers with import(); the bundle leaves them out, so these fail as they would without it.
    importModuleDynamically: (specifier) => import(specifier),
  });
  if (cachedData && script.cachedDataRejected) {
    warn(`V8 rejected ${CACHE} (another Node binary or other V8 flags than at build time); compiling without it`);
  }
  const module = { exports: {} };
  script.runInThisContext()(module.exports, createRequire(BUNDLE), module, BUNDLE, dirname(BUNDLE));
  return { id, script, exports: module.exports };
}

async function writeCodeCache() {
  const { id, script, exports } = load({ useCache: false });
  await exports.loadLazyModules?.();
  const data = script.createCachedData();
  const temporary = `${CACHE}.${process.pid}`;
  writeFileSync(temporary, Buffer.concat([Buffer.from(id, 'latin1'), data]));
  renameSync(temporary, CACHE);
  process.stdout.write(`wrote ${CACHE} (${data.length} bytes)\n`);
  process.exit(0); // whatever the modules' top-level code started, the image build step is done
}

if (process.argv[2] === '--write-code-cache') {
  writeCodeCache().catch((error) => {
    process.stderr.write(`writing the code cache failed: ${error.stack ?? error}\n`);
    process.exit(1);
  });
} else {
  load({ useCache: true }).exports.main();
}
