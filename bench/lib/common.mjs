// Shared plumbing of the benchmarks in bench/ (not part of the test run): machine facts, a private
// copy of the build, child processes, a keep-alive HTTP load generator on node:http, statistics,
// and the writer of docs/performance.md.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { Agent, request as httpRequest } from 'node:http';
import { availableParallelism, cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleService, writeCodeCache } from '../../scripts/bundle.mjs';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const DOC = join(ROOT, 'docs', 'performance.md');
export const NODE = process.execPath;

// ---- command line ---------------------------------------------------------------------------

/** `--name value` / `--name=value` options with defaults; numbers stay numbers. */
export function options(defaults) {
  const out = { ...defaults };
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i++) {
    const m = /^--([^=]+)(?:=(.*))?$/.exec(argv[i]);
    if (!m) throw new Error(`unexpected argument ${argv[i]}`);
    const key = m[1].replace(/-([a-z])/g, (_, c) => c.toUpperCase());
    if (!(key in defaults)) throw new Error(`unknown option --${m[1]} (known: ${Object.keys(defaults).join(', ')})`);
    const raw = m[2] ?? argv[++i];
    out[key] = typeof defaults[key] === 'number' ? Number(raw) : raw;
    if (typeof defaults[key] === 'number' && !Number.isFinite(out[key])) throw new Error(`--${m[1]} must be a number`);
  }
  return out;
}

/** The command as a reader would type it, for the report. */
export function commandLine(script) {
  const args = process.argv.slice(2);
  return `npm run ${script}${args.length ? ` -- ${args.join(' ')}` : ''}`;
}

// ---- machine -----------------------------------------------------------------------------------

export function machine() {
  const cpu = cpus()[0]?.model?.replace(/\s+/g, ' ').trim() ?? 'unknown CPU';
  return {
    cores: availableParallelism(),
    cpu,
    memoryGiB: (totalmem() / 2 ** 30).toFixed(1),
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
  };
}

export function machineLine(m = machine()) {
  return `${m.cores} cores (nproc), ${m.cpu}, ${m.memoryGiB} GiB RAM, Node ${m.node}, ${m.platform}`;
}

// ---- statistics --------------------------------------------------------------------------------

export function median(values) {
  return percentile(values, 50);
}

/** Nearest-rank percentile of unsorted values. */
export function percentile(values, p) {
  if (!values.length) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank];
}

export const fmt = {
  ms: (v) => (Number.isFinite(v) ? `${v < 10 ? v.toFixed(2) : v < 100 ? v.toFixed(1) : Math.round(v)} ms` : 'n/a'),
  n: (v, digits = 0) =>
    Number.isFinite(v)
      ? v.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits })
      : 'n/a',
  ratio: (v) => (Number.isFinite(v) ? v.toFixed(2) : 'n/a'),
  /** A ratio against its target: more digits when two would round it onto the other side of the target. */
  ratioVs: (v, target, higherIsBetter = true) => {
    const two = v.toFixed(2);
    const flips = higherIsBetter ? v < target && Number(two) >= target : v > target && Number(two) <= target;
    return flips ? v.toFixed(4) : two;
  },
  mb: (bytes) => (Number.isFinite(bytes) ? `${(bytes / 2 ** 20).toFixed(1)} MiB` : 'n/a'),
};

export function verdict(ok) {
  return ok ? '**met**' : '**not met**';
}

// ---- a private build -------------------------------------------------------------------------

/**
 * Builds the service as `npm run build` does (tsc with tsconfig.build.json, src/ and tools/, then
 * scripts/bundle.mjs) into a private directory instead of dist/, and writes V8's code cache for
 * the bundle as the Dockerfile does (with the Dockerfile CMD's flags). Several people build in this tree and `nest build` deletes
 * dist/ first, which would pull the files from under a running benchmark. The directory gets a
 * package.json with `"type": "module"` and a node_modules link (for the tools and the
 * module-graph import timings; the bundle needs neither). Returns its paths: `main` is the
 * counterpart of dist/service.cjs, `env` what the container sets for it (the runtime stage's `ENV`), `flags`
 * the CMD's Node flags. `BENCH_DIST=dist` uses the repository's dist/ as it is (no code cache unless
 * one was written there).
 */
export async function privateBuild() {
  if (process.env.BENCH_DIST) {
    const dist = resolve(ROOT, process.env.BENCH_DIST);
    if (!existsSync(join(dist, 'service.cjs'))) throw new Error(`${dist}/service.cjs is missing: build first`);
    return {
      dist,
      main: join(dist, 'service.cjs'),
      tools: join(dist, 'tools'),
      env: containerEnv(),
      flags: containerNodeFlags(),
    };
  }
  const dir = mkdtempSync(join(tmpdir(), 'entitlements-bench-'));
  onExit(() => rmSync(dir, { recursive: true, force: true }));
  const dist = join(dir, 'dist');
  const started = Date.now();
  const tsc = spawnSync(
    NODE,
    [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json', '--outDir', dist],
    {
      cwd: ROOT,
      encoding: 'utf8',
    },
  );
  if (tsc.status !== 0) throw new Error(`build failed:\n${tsc.stdout}${tsc.stderr}`);
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ type: 'module', private: true }));
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
  const main = await bundleService(dist);
  const flags = containerNodeFlags();
  writeCodeCache(main, flags, NODE);
  log(
    `built the service in ${((Date.now() - started) / 1000).toFixed(1)} s (tsc -p tsconfig.build.json and scripts/bundle.mjs, as npm run build; code cache written as in the Dockerfile)`,
  );
  return { dist, main, tools: join(dist, 'tools'), env: containerEnv(), flags };
}

/**
 * The Node flags the container starts the service with: what the Dockerfile's exec-form CMD puts
 * between `node` and the script (heap sizing). The benchmarks start the service the same way.
 */
export function containerNodeFlags() {
  const cmd = readFileSync(join(ROOT, 'Dockerfile'), 'utf8').match(/^CMD (\[.*\])$/m);
  if (!cmd) throw new Error('Dockerfile: no exec-form CMD');
  const args = JSON.parse(cmd[1]);
  if (args[0] !== 'node') throw new Error(`Dockerfile: CMD does not start with node: ${cmd[1]}`);
  return args.slice(1, -1);
}

/**
 * The environment the runtime stage of the Dockerfile sets (its `ENV KEY=value` lines, e.g. the
 * allocator's arena limit); the benchmarks give the service the same.
 */
export function containerEnv() {
  const text = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
  const runtime = text.slice(text.lastIndexOf('\nFROM '));
  const env = {};
  for (const [, list] of runtime.matchAll(/^ENV (.+)$/gm)) {
    for (const pair of list.trim().split(/\s+/)) {
      const eq = pair.indexOf('=');
      if (eq <= 0) throw new Error(`Dockerfile: ENV ${list}: only KEY=value pairs are supported`);
      env[pair.slice(0, eq)] = pair.slice(eq + 1);
    }
  }
  return env;
}

/** The container's command line as the benchmarks run it: its extra environment, node, the CMD's flags, the launcher. */
export function serviceCommand(build) {
  const env = Object.entries(build.env)
    .filter(([k]) => k !== 'NODE_ENV')
    .map(([k, v]) => `${k}=${v} `)
    .join('');
  return `${env}node ${build.flags.join(' ')} dist/service.cjs`;
}

// ---- cleanup -----------------------------------------------------------------------------------

const exitHooks = [];
let exiting = false;
export function onExit(hook) {
  exitHooks.push(hook);
}
export async function cleanup() {
  if (exiting) return;
  exiting = true;
  for (const hook of exitHooks.reverse()) {
    try {
      await hook();
    } catch (error) {
      process.stderr.write(`cleanup: ${error?.message ?? error}\n`);
    }
  }
}
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    void cleanup().finally(() => process.exit(130));
  });
}

/** Runs a benchmark's main function, always cleaning up (children, emulators, temp dirs). */
export function run(main) {
  main()
    .then(
      () => cleanup(),
      async (error) => {
        process.stderr.write(`\n${error?.stack ?? error}\n`);
        await cleanup();
        process.exitCode = 1;
      },
    )
    .finally(() => setTimeout(() => process.exit(process.exitCode ?? 0), 200).unref());
}

// ---- emulators ---------------------------------------------------------------------------------

/** Google's Firestore and Pub/Sub emulators (scripts/emulators.mjs), stopped on exit. */
export async function emulators() {
  const { startEmulators } = await import('../../scripts/emulators.mjs');
  const started = Date.now();
  const e = await startEmulators();
  onExit(() => e.stop());
  process.env.FIRESTORE_EMULATOR_HOST = e.firestoreHost;
  process.env.PUBSUB_EMULATOR_HOST = e.pubsubHost;
  log(`emulators up in ${Date.now() - started} ms (Firestore ${e.firestoreHost}, Pub/Sub ${e.pubsubHost})`);
  return e;
}

export async function freePort() {
  const { freePort: free } = await import('../../scripts/emulators.mjs');
  return free();
}

export function projectId(prefix) {
  return `${prefix}-${Math.random().toString(16).slice(2, 10)}`;
}

// ---- child processes ---------------------------------------------------------------------------

/**
 * A Node child process; its output is kept (last 200 lines) for error messages and discarded
 * otherwise. Killed on exit. With BENCH_CPU_PROF=<dir> every child writes a V8 CPU profile there
 * when it exits (open it in Chrome DevTools or speedscope); the figures of such a run are not comparable.
 */
export function startNode(name, args, env, { quiet = true } = {}) {
  const profile = process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : [];
  const child = spawn(NODE, [...profile, ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines = [];
  const keep = (chunk) => {
    for (const line of chunk.toString().split('\n')) if (line) lines.push(line);
    if (lines.length > 200) lines.splice(0, lines.length - 200);
    if (!quiet) process.stdout.write(`[${name}] ${chunk}`);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  child.output = () => lines.join('\n');
  child.stop = () => stopChild(child);
  onExit(() => stopChild(child));
  return child;
}

export async function stopChild(child, signal = 'SIGTERM') {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

/** Polls `url` until it answers `status`; fails early if the child exits. */
export async function waitForStatus(url, { child, status = 200, timeoutMs = 30_000, intervalMs = 50 } = {}) {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    if (child && (child.exitCode !== null || child.signalCode !== null)) {
      throw new Error(
        `process exited (${child.exitCode ?? child.signalCode}) before ${url} answered:\n${child.output?.()}`,
      );
    }
    try {
      const res = await get(url);
      if (res.status === status) return;
      last = `status ${res.status}`;
    } catch (error) {
      last = error.code ?? error.message;
    }
    await sleep(intervalMs);
  }
  throw new Error(
    `${url} did not answer ${status} within ${timeoutMs} ms (last: ${last})${child ? `\n${child.output()}` : ''}`,
  );
}

/** One GET on a fresh connection (no agent): `{status, body}`. */
export function get(url) {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Resident set size and its peak of a process (Linux /proc), in bytes. */
export function rss(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
  return { rss: kb('VmRSS'), peak: kb('VmHWM') };
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export function log(line) {
  process.stdout.write(`[bench] ${line}\n`);
}

// ---- HTTP load generator -------------------------------------------------------------------

/**
 * Closed-loop load: `concurrency` workers on keep-alive connections, each sending its next request
 * as soon as the previous one answered, until `total` requests were sent (or `durationMs` passed).
 * `next(i)` returns `{method, path, headers, body}` for request number i. Latency is measured from
 * writing the request to the end of the response.
 */
export async function load({ url, concurrency, total = Infinity, durationMs = Infinity, next, expectStatus = 200 }) {
  const base = new URL(url);
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency, maxFreeSockets: concurrency });
  const latencies = [];
  const statuses = new Map();
  const errors = new Map();
  let issued = 0;
  let failuresShown = 0;
  const started = performance.now();
  const deadline = started + durationMs;

  const one = (spec) =>
    new Promise((resolve) => {
      const t0 = performance.now();
      const req = httpRequest(
        {
          host: base.hostname,
          port: base.port,
          method: spec.method ?? 'POST',
          path: spec.path,
          headers: spec.headers,
          agent,
        },
        (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (c) => (body += c));
          res.on('end', () => {
            latencies.push(performance.now() - t0);
            statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
            if (res.statusCode !== expectStatus && failuresShown++ < 3)
              log(`unexpected ${res.statusCode}: ${body.slice(0, 300)}`);
            resolve();
          });
        },
      );
      req.on('error', (error) => {
        errors.set(error.code ?? error.message, (errors.get(error.code ?? error.message) ?? 0) + 1);
        resolve();
      });
      req.end(spec.body);
    });

  const worker = async () => {
    while (issued < total && performance.now() < deadline) {
      const i = issued++;
      await one(next(i));
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const elapsed = performance.now() - started;
  agent.destroy();
  const ok = statuses.get(expectStatus) ?? 0;
  return {
    requests: issued,
    ok,
    statuses: Object.fromEntries(statuses),
    errors: Object.fromEntries(errors),
    seconds: elapsed / 1000,
    rps: ok / (elapsed / 1000),
    p50: percentile(latencies, 50),
    p90: percentile(latencies, 90),
    p99: percentile(latencies, 99),
    max: Math.max(...latencies),
  };
}

// ---- docs/performance.md -----------------------------------------------------------------------

const SKELETON = `# Performance

Measured figures, each with the command that reproduces it (issue 9). The benchmarks live in \`bench/\` and are not
part of the test run. Each one builds the service exactly as \`npm run build\` does (\`tsc -p tsconfig.build.json\`,
then the \`scripts/bundle.mjs\` bundle), into a private temporary directory so a concurrent \`nest build\` cannot delete
the files under it, and writes V8's code cache for the bundle as the Dockerfile does (\`BENCH_DIST=dist\` uses the
repository's \`dist/\` instead, as it is). It starts the service as the container does (\`node\`, the flags of
the Dockerfile's \`CMD\`, \`dist/service.cjs\`), starts Google's Firestore and Pub/Sub emulators, runs the service and a
minimal baseline in the same run, prints its figures and rewrites its own section below. \`BENCH_CPU_PROF=<dir>\`
writes a V8 CPU profile of every process it starts (the figures of such a run are not comparable).

| Command                   | Measures                                                         | Target (issue 9, reference §4)   |
| ------------------------- | ---------------------------------------------------------------- | -------------------------------- |
| \`npm run bench:pipeline\`  | Marketplace events/s, Pub/Sub emulator → service → Firestore     | ≥ 0.9 × bare consumer            |
| \`npm run bench:webhooks\`  | Purchasely webhook requests/s and p50/p99 latency                | ≥ 0.8 × bare \`node:http\` handler |
| \`npm run bench:coldstart\` | spawn → first 200 from \`/health/live\`; load time of heavy imports    | ≤ 1.3 × bare NestJS, and < 1 s   |
| \`npm run bench:memory\`    | RSS after 10,000 events                                          | < 200 MB                         |

Options go after \`--\`, e.g. \`npm run bench:pipeline -- --messages 5000 --rounds 5\`; each script's header lists them.

Reading the figures:

- Everything runs on one machine: the service or the baseline, the load generator, the fake Procurement API and two
  emulators (JVMs). With two cores, CPU spent by the server is CPU the emulator does not get, so extra CPU per event
  shows up directly as lower throughput. Each section gives the server's own CPU time per event as well.
- The emulators are not production: Firestore's emulator has different locking and latency (reference §2,
  "Emulator vs production"). Ratios against the baseline are the meaningful figures; absolute ones are not what
  Cloud Run with production Firestore gives.
- Each section records the 1-minute load average when it started. Other people's test runs share this machine;
  figures taken under a load above about 1 are not comparable, and the scripts warn when the load is above half
  the cores.

<!-- bench:pipeline:begin -->
## Marketplace pipeline
Not measured yet: \`npm run bench:pipeline\`.
<!-- bench:pipeline:end -->

<!-- bench:webhooks:begin -->
## Webhooks (Purchasely)
Not measured yet: \`npm run bench:webhooks\`.
<!-- bench:webhooks:end -->

<!-- bench:coldstart:begin -->
## Cold start
Not measured yet: \`npm run bench:coldstart\`.
<!-- bench:coldstart:end -->

<!-- bench:memory:begin -->
## Memory
Not measured yet: \`npm run bench:memory\`.
<!-- bench:memory:end -->
`;

/** Replaces the section between `<!-- bench:<id>:begin -->` and `<!-- bench:<id>:end -->`. */
export async function writeSection(id, markdown) {
  const text = existsSync(DOC) ? readFileSync(DOC, 'utf8') : SKELETON;
  const begin = `<!-- bench:${id}:begin -->`;
  const end = `<!-- bench:${id}:end -->`;
  const from = text.indexOf(begin);
  const to = text.indexOf(end);
  const block = `${begin}\n${markdown.trim()}\n${end}`;
  const updated =
    from >= 0 && to > from
      ? text.slice(0, from) + block + text.slice(to + end.length)
      : `${text.trimEnd()}\n\n${block}\n`;
  writeFileSync(DOC, await formatted(updated));
  log(`wrote the "${id}" section of docs/performance.md`);
}

/**
 * Load average when the benchmark started: figures taken while other work ran on the machine
 * (other people's test runs) are not comparable, so every section says what the load was.
 */
export const LOAD_AT_START = loadavg()[0];
if (LOAD_AT_START > availableParallelism() / 2) {
  process.stderr.write(
    `[bench] warning: the 1-minute load average is ${LOAD_AT_START.toFixed(2)} on ${availableParallelism()} cores; other work is running and the figures will be off.\n`,
  );
}

/** The document as the repository's Prettier settings format it (aligned tables); unchanged if Prettier fails. */
async function formatted(text) {
  try {
    const prettier = await import('prettier');
    const config = (await prettier.resolveConfig(DOC)) ?? {};
    return await prettier.format(text, { ...config, parser: 'markdown', filepath: DOC });
  } catch (error) {
    log(`prettier: ${error?.message ?? error}; written unformatted`);
    return text;
  }
}

/** The "measured on" lines every section starts with. */
export function provenance(script, extra = '') {
  const m = machine();
  return [
    `Measured ${m.date} on ${machineLine(m)}; 1-minute load average ${LOAD_AT_START.toFixed(2)} when it started.`,
    `Command: \`${commandLine(script)}\`${extra ? `; ${extra}` : ''}.`,
  ].join('\n');
}

export function table(header, rows) {
  return [
    `| ${header.join(' | ')} |`,
    `| ${header.map(() => '---').join(' | ')} |`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ].join('\n');
}
