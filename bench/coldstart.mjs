// npm run bench:coldstart [-- --runs 7 --import-runs 5]
//
// Cold start: from spawn() of the process to the first 200 from GET /health/live (polled on fresh
// connections every 2 ms). Contenders, run interleaved, median of `runs` each:
//   service         the service as the container runs it: `node <CMD flags> dist/service.cjs` (the
//                   launcher and bundle of scripts/bundle.mjs) with the code cache written as the
//                   Dockerfile does, and a production-like configuration (Marketplace pull on,
//                   Procurement fake URL, Purchasely secret) against the emulators
//   baseline        bench/baseline/nest-app.mjs: a bare NestJS app on the same adapter
//                   (platform-fastify), run by node as written
//   service (tsc)   context: the service unbundled (`node dist/src/main.js`, no cache)
//   baseline (same) context: the bare NestJS app given the service's treatment (bundled by
//                   scripts/bundle.mjs, code cache, same flags): the ratio against it is printed too
//   node:http       context: a bare node:http server (the floor of a Node process on this machine)
// Targets (issue 9): service / baseline ≤ 1.3, and service under 1 s.
// Also: load time of the heaviest imports, each in a fresh process (`performance.now()` around
// `await import()`), median of `import-runs`.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { bundle, writeCodeCache } from '../scripts/bundle.mjs';
import {
  NODE,
  ROOT,
  emulators,
  fmt,
  freePort,
  get,
  log,
  median,
  onExit,
  options,
  privateBuild,
  provenance,
  run,
  serviceCommand,
  sleep,
  table,
  verdict,
  writeSection,
} from './lib/common.mjs';
import { idlePullSetup } from './lib/contenders.mjs';

const RATIO_TARGET = 1.3;
const ABSOLUTE_TARGET_MS = 1000;
const HEAVY_IMPORTS = [
  '@google-cloud/firestore',
  '@google-cloud/pubsub',
  '@googleapis/cloudcommerceprocurement',
  '@nestjs/core',
  '@nestjs/platform-fastify',
  'jose',
  'zod',
  'pino',
];
const BARE_HTTP = `import { createServer } from 'node:http';
createServer((req, res) => { res.writeHead(200, { 'content-type': 'application/json' }); res.end('{"status":"ok"}'); }).listen(Number(process.env.PORT));`;

run(async () => {
  const o = options({ runs: 7, importRuns: 5 });
  const build = await privateBuild();
  const { firestoreHost, pubsubHost } = await emulators();
  const pull = await idlePullSetup('bench-cold', pubsubHost);

  const serviceEnv = {
    ...build.env,
    ...pull.env,
    NODE_ENV: 'production',
    CONFIG_DIR: join(ROOT, 'config'),
    FIRESTORE_EMULATOR_HOST: firestoreHost,
    PURCHASELY_SECRETS: 'bench-purchasely-secret-0123456789',
  };
  const nestApp = join(ROOT, 'bench', 'baseline', 'nest-app.mjs');
  const nestLauncher = await bundle(
    join(ROOT, 'bench', 'baseline', 'nest-app-module.mjs'),
    join(build.dist, 'nest'),
    'nest-app',
  );
  writeCodeCache(nestLauncher, build.flags, NODE);
  const contenders = [
    { name: 'service', args: [...build.flags, build.main], env: serviceEnv },
    { name: 'baseline', args: [nestApp], env: {} },
    { name: 'service (tsc)', args: [join(build.dist, 'src', 'main.js')], env: serviceEnv },
    { name: 'baseline (same)', args: [...build.flags, nestLauncher], env: {} },
    { name: 'node:http', args: ['--input-type=module', '-e', BARE_HTTP], env: {} },
  ];

  // One untimed start each: the file system cache, as on a warm machine.
  for (const c of contenders) await coldStart(c);
  const times = Object.fromEntries(contenders.map((c) => [c.name, []]));
  for (let i = 0; i < o.runs; i++) {
    for (const c of contenders) times[c.name].push(await coldStart(c));
  }
  const stats = Object.fromEntries(
    Object.entries(times).map(([name, ts]) => [
      name,
      { median: median(ts), min: Math.min(...ts), max: Math.max(...ts) },
    ]),
  );
  for (const [name, s] of Object.entries(stats))
    log(`${name}: median ${fmt.ms(s.median)} (min ${fmt.ms(s.min)}, max ${fmt.ms(s.max)})`);
  const ratio = stats.service.median / stats.baseline.median;
  const sameRatio = stats.service.median / stats['baseline (same)'].median;
  log(
    `ratio service / bare Nest ${fmt.ratio(ratio)} (target ≤ ${RATIO_TARGET}); service ${fmt.ms(stats.service.median)} (target < ${ABSOLUTE_TARGET_MS} ms); against the bare Nest app bundled the same way ${fmt.ratio(sameRatio)}`,
  );

  const imports = [];
  const empty = await importTime(null, o.importRuns);
  for (const spec of [...HEAVY_IMPORTS, pathToFileURL(join(build.dist, 'src', 'bootstrap.js')).href]) {
    const r = await importTime(spec, o.importRuns);
    imports.push({ spec, ...r });
    log(`import ${spec.startsWith('file:') ? 'dist/src/bootstrap.js' : spec}: ${fmt.ms(r.ms)}, RSS ${fmt.mb(r.rss)}`);
  }

  await writeSection(
    'coldstart',
    `## Cold start

${provenance('bench:coldstart')}

From \`spawn()\` to the first 200 from \`GET /health/live\` (polled on fresh connections every 2 ms), ${o.runs} runs each,
interleaved, after one untimed start each (warm file-system cache). The service runs as the container runs it:
\`${serviceCommand(build)}\`, the launcher of the bundle \`dist/service.bundle.cjs\` (\`scripts/bundle.mjs\`: tsc's
output with every dependency in one CommonJS file), with the V8 code cache the image build writes after running the
bundle's modules once (\`--write-code-cache\`, \`scripts/service-launcher.cjs\`), and a production-like configuration: Marketplace pull on (subscription on the Pub/Sub emulator), Procurement client, Purchasely secret,
\`NODE_ENV=production\`, log level \`info\`. The bare NestJS app (\`bench/baseline/nest-app.mjs\`) has one module and one
controller on the same adapter (\`@nestjs/platform-fastify\`), run by \`node\` as written.

${table(
  ['Process', 'Median', 'Min', 'Max'],
  [
    [`service (\`${serviceCommand(build)}\`, code cache)`, 'service'],
    ['bare NestJS app, same adapter', 'baseline'],
    ['context: the service unbundled (`node dist/src/main.js`)', 'service (tsc)'],
    ['context: the bare NestJS app bundled the same way, code cache, same flags', 'baseline (same)'],
    ['context: bare `node:http` server', 'node:http'],
  ].map(([label, name]) => [label, fmt.ms(stats[name].median), fmt.ms(stats[name].min), fmt.ms(stats[name].max)]),
)}

Ratio service / bare NestJS: **${fmt.ratio(ratio)}** (target ≤ ${RATIO_TARGET}: ${verdict(ratio <= RATIO_TARGET)}); service under
${ABSOLUTE_TARGET_MS} ms: ${verdict(stats.service.median < ABSOLUTE_TARGET_MS)}.

Against the bare NestJS app given the same treatment (bundle, code cache) the ratio is **${fmt.ratio(sameRatio)}**: the
treatment takes more off NestJS alone than off the service, because most of what the service adds over NestJS is the
Google clients' module code (Firestore, gRPC, protobuf descriptors), which has to run however it is packaged; the table
below shows their weight. Bundle and code cache took the service from ${fmt.ms(stats['service (tsc)'].median)} (unbundled) to ${fmt.ms(stats.service.median)}.

### Module load time of the heaviest imports
Each import alone in a fresh Node process (\`performance.now()\` around \`await import()\`), median of ${o.importRuns}; RSS is the
process's resident memory after the import (an empty process: ${fmt.mb(empty.rss)}). Shared dependencies are counted in
every row they are loaded by, so the rows do not add up.

${table(
  ['Import', 'Load time', 'RSS after'],
  imports.map((r) => [
    r.spec.startsWith('file:') ? "the service's whole module graph (`dist/src/bootstrap.js`)" : `\`${r.spec}\``,
    fmt.ms(r.ms),
    fmt.mb(r.rss),
  ]),
)}`,
  );
});

/** ms from spawn() to the first 200 from /health/live; the process is killed afterwards. */
async function coldStart(contender) {
  const port = await freePort();
  const t0 = performance.now();
  const child = spawn(NODE, contender.args, {
    cwd: ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, PORT: String(port), ...contender.env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (c) => (stderr += c));
  const kill = () => child.kill('SIGKILL');
  onExit(kill);
  const url = `http://127.0.0.1:${port}/health/live`;
  try {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`${contender.name} exited with ${child.exitCode}: ${stderr}`);
      if (performance.now() - t0 > 30_000) throw new Error(`${contender.name} did not answer within 30 s: ${stderr}`);
      try {
        const res = await get(url);
        if (res.status === 200) return performance.now() - t0;
      } catch {
        /* not listening yet */
      }
      await sleep(2);
    }
  } finally {
    const exited = new Promise((r) => child.once('exit', r));
    kill();
    await exited;
  }
}

/** Median ms of `await import(spec)` in a fresh process, and the median RSS after it. */
async function importTime(spec, runs) {
  const code = `const t = performance.now();
${spec ? `await import(${JSON.stringify(spec)});` : ''}
const ms = performance.now() - t;
process.stdout.write(JSON.stringify({ ms, rss: process.memoryUsage().rss }));`;
  const samples = [];
  for (let i = 0; i < runs; i++) {
    samples.push(
      await new Promise((resolve, reject) => {
        const child = spawn(NODE, ['--input-type=module', '-e', code], {
          cwd: ROOT,
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let out = '';
        let err = '';
        child.stdout.on('data', (c) => (out += c));
        child.stderr.on('data', (c) => (err += c));
        child.on('exit', (status) =>
          status === 0 ? resolve(JSON.parse(out)) : reject(new Error(`import ${spec} failed: ${err}`)),
        );
      }),
    );
  }
  return { ms: median(samples.map((s) => s.ms)), rss: median(samples.map((s) => s.rss)) };
}
