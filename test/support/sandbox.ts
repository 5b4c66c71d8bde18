import { spawnSync } from 'node:child_process';

/** Every process below `pid` (children of detached children included: they keep their parent). */
export function descendants(pid: number): { pid: number; args: string }[] {
  const table = spawnSync('ps', ['-eo', 'pid=,ppid=,args='], { encoding: 'utf8' })
    .stdout.split('\n')
    .map((line) => /^\s*(\d+)\s+(\d+)\s+(.*)$/.exec(line))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ pid: Number(m[1]), ppid: Number(m[2]), args: m[3]! }));
  const found: { pid: number; args: string }[] = [];
  const walk = (parent: number) => {
    for (const p of table.filter((row) => row.ppid === parent)) {
      found.push({ pid: p.pid, args: p.args });
      walk(p.pid);
    }
  };
  walk(pid);
  return found;
}

export function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** What a new machine has: the system's Node and npm, not this checkout's node_modules/.bin or the test set-up's emulators. */
export function newUserEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (/^(npm_|JEST_)|^(NODE_ENV|NODE_OPTIONS|INIT_CWD|FIRESTORE_EMULATOR_HOST|PUBSUB_EMULATOR_HOST)$/.test(key))
      continue;
    env[key] = value;
  }
  env.PATH = (process.env.PATH ?? '')
    .split(':')
    .filter((dir) => !dir.includes('node_modules'))
    .join(':');
  return { ...env, ...extra };
}
