#!/usr/bin/env node
// Checks that package-lock.json can be installed by `npm ci` as it stands: the root's declared
// dependencies match package.json, and every dependency of every locked package (optional ones
// included, for every platform) resolves to a locked entry by Node's lookup (the nearest
// node_modules folder upwards). npm writes a lock without an optional package whose metadata it
// could not fetch (e.g. a registry answering 404), and `npm ci` then refuses that lock on every
// machine: this catches it before it is committed. `npm run check:lock`; test/deploy runs it too.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export function lockProblems(pkg, lock) {
  const problems = [];
  const packages = lock.packages ?? {};
  const root = packages[''] ?? {};
  for (const field of ['dependencies', 'devDependencies', 'optionalDependencies', 'peerDependencies']) {
    const declared = pkg[field] ?? {};
    const locked = root[field] ?? {};
    for (const name of new Set([...Object.keys(declared), ...Object.keys(locked)])) {
      if (declared[name] !== locked[name]) {
        problems.push(
          `${field}.${name}: package.json has ${declared[name] ?? 'nothing'}, the lock ${locked[name] ?? 'nothing'}`,
        );
      }
    }
  }
  const resolve = (from, name) => {
    let dir = from;
    for (;;) {
      const candidate = dir ? `${dir}/node_modules/${name}` : `node_modules/${name}`;
      if (packages[candidate]) return candidate;
      if (!dir) return undefined;
      const cut = dir.lastIndexOf('/node_modules/');
      dir = cut === -1 ? '' : dir.slice(0, cut);
    }
  };
  for (const [path, entry] of Object.entries(packages)) {
    if (entry.link) continue;
    const edges = { ...entry.dependencies, ...entry.optionalDependencies };
    if (path === '') Object.assign(edges, entry.devDependencies);
    for (const name of Object.keys(edges)) {
      if (!resolve(path, name))
        problems.push(`${path || '(root)'} needs ${name}@${edges[name]}: missing from the lock`);
    }
  }
  return problems;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const dir = process.argv[2] ?? process.cwd();
  const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  const lock = JSON.parse(readFileSync(join(dir, 'package-lock.json'), 'utf8'));
  const problems = lockProblems(pkg, lock);
  if (problems.length) {
    process.stderr.write(
      `package-lock.json is incomplete or out of sync (${problems.length}):\n  ${problems.join('\n  ')}\n` +
        'Regenerate it with `npm install --package-lock-only` where the registry answers for every package, then run `npm ci`.\n',
    );
    process.exit(1);
  }
  process.stdout.write('package-lock.json: complete and in sync\n');
}
