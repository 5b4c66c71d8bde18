import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, copyFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const ROOT = resolve('.');
/** CHAOS_LOG=<file>: every line every incarnation of the service wrote, appended there (for a failed run's post-mortem). */
const LOG_FILE = process.env.CHAOS_LOG;

/**
 * A private copy of the bundle the test run built (`pretest` runs `npm run build`). `nest build`
 * deletes dist/ first, and in a shared work tree someone else's build could pull the file from
 * under a process this test restarts many times. The copy sits in a directory with no
 * node_modules anywhere above it, as in the container's runtime stage: the bundle must be whole.
 */
export function snapshotBuild(): { main: string; remove(): void } {
  const files = ['service.cjs', 'service.bundle.cjs'];
  for (const file of files) {
    if (!existsSync(join(ROOT, 'dist', file)))
      throw new Error(`dist/${file} is missing: run \`npm run build\` (npm test does)`);
  }
  const dir = mkdtempSync(join(tmpdir(), 'entitlements-chaos-'));
  for (const file of files) copyFileSync(join(ROOT, 'dist', file), join(dir, file));
  return { main: join(dir, 'service.cjs'), remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolvePort(port));
    });
  });
}

function live(port: number): Promise<number> {
  return new Promise((resolveStatus, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/health/live', agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolveStatus(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

/**
 * The service as the container runs it (`node dist/service.cjs`), restartable: `start()` spawns it
 * on a fresh port and waits for /health/live; `kill()` is SIGKILL (no shutdown hooks, no drain).
 */
export class ServiceProcess {
  private child?: ChildProcess;
  private readonly output: string[] = [];
  starts = 0;
  kills = 0;

  constructor(
    private readonly main: string,
    private readonly env: Record<string, string>,
  ) {}

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** The last lines the service wrote (stdout and stderr, every incarnation). */
  lastOutput(lines = 40): string {
    return this.output.slice(-lines).join('\n');
  }

  async start(timeoutMs = 60_000): Promise<void> {
    const port = await freePort();
    const child = spawn(process.execPath, [this.main], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', ...this.env, PORT: String(port) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    this.starts++;
    const keep = (chunk: Buffer) => {
      for (const line of chunk.toString().split('\n')) {
        if (!line) continue;
        this.output.push(`[${this.starts}] ${line}`);
        if (LOG_FILE) appendFileSync(LOG_FILE, `[${this.starts}] ${line}\n`);
        this.count(line);
      }
      if (this.output.length > 400) this.output.splice(0, this.output.length - 400);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new Error(
          `the service exited (${child.exitCode ?? child.signalCode}) while starting:\n${this.lastOutput()}`,
        );
      }
      try {
        if ((await live(port)) === 200) return;
      } catch {
        /* not listening yet */
      }
      if (Date.now() > deadline)
        throw new Error(`the service did not answer /health/live within ${timeoutMs} ms:\n${this.lastOutput()}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  /** How often each log message (with its error's message, ids cut) appeared, most frequent first. */
  logSummary(top = 8): string {
    return [...this.messages]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([m, n]) => `${n}× ${m}`)
      .join('; ');
  }

  private readonly messages = new Map<string, number>();

  private count(line: string): void {
    let key: string;
    try {
      const entry = JSON.parse(line) as { message?: string; error?: { message?: string } };
      key = [entry.message, entry.error?.message].filter(Boolean).join(': ');
    } catch {
      key = line.slice(0, 80);
    }
    key = key.replace(/[0-9a-f]{8}-[0-9a-f-]{27}/g, '<id>').replace(/E-[0-9A-F-]{19}/g, '<account>');
    this.messages.set(key, (this.messages.get(key) ?? 0) + 1);
  }

  /** SIGKILL, then wait until the process is gone. */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
    this.kills++;
  }

  /** SIGTERM (graceful), SIGKILL after 15 s. */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(timer);
  }
}
