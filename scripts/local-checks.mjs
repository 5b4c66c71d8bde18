// Checks `npm run local` makes before it starts anything (scripts/local.mjs). Plain Node, no
// dependencies: they run before `npm ci`, on whatever Node started npm (often the system's).
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, relative } from 'node:path';

/** The Node the service and the tests need (package.json `engines`). */
export const SERVICE_NODE = [22, 12];

const atLeast = (version, [major, minor]) => {
  const [a = 0, b = 0] = version.split('.').map(Number);
  return a > major || (a === major && b >= minor);
};

/**
 * Why node_modules does not match package-lock.json, or null when it does. npm ci records what it
 * installed in node_modules/.package-lock.json; any package the lock has (optional ones aside: npm
 * skips those for other platforms) that is missing there or in another version, anything extra,
 * or a recorded package folder that is gone, means the tree is stale.
 */
export function dependencyProblem(root) {
  const hiddenFile = join(root, 'node_modules', '.package-lock.json');
  if (!existsSync(join(root, 'node_modules'))) return 'node_modules is missing';
  if (!existsSync(hiddenFile)) return 'node_modules/.package-lock.json is missing (not installed by npm ci?)';
  let lock;
  let installed;
  try {
    lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')).packages ?? {};
    installed = JSON.parse(readFileSync(hiddenFile, 'utf8')).packages ?? {};
  } catch (error) {
    return `cannot read the lock files: ${error.message}`;
  }
  const differences = [];
  for (const [path, entry] of Object.entries(lock)) {
    if (path === '' || entry.link) continue;
    const have = installed[path];
    if (!have) {
      if (!entry.optional) differences.push(`${path} is not installed`);
    } else if (have.version !== entry.version) {
      differences.push(`${path} is ${have.version}, the lock has ${entry.version}`);
    } else if (entry.integrity && have.integrity !== entry.integrity) {
      differences.push(`${path} ${have.version} is not the tarball the lock names (integrity)`);
    }
  }
  for (const path of Object.keys(installed)) {
    if (!lock[path]) differences.push(`${path} is installed but not in the lock`);
    else if (!existsSync(join(root, path))) differences.push(`${path} was deleted`);
  }
  if (!differences.length) return null;
  const more = differences.length > 3 ? ` (and ${differences.length - 3} more)` : '';
  return `node_modules differs from package-lock.json: ${differences.slice(0, 3).join('; ')}${more}`;
}

/** The Node version of a binary, or null if it does not run. */
export function nodeVersion(binary) {
  const result = spawnSync(binary, ['-p', 'process.versions.node'], { encoding: 'utf8', timeout: 20_000 });
  return result.status === 0 ? result.stdout.trim() : null;
}

/**
 * The Node binary for the service and the fake: the one `npm ci` installs (the `node` package,
 * node_modules/.bin/node), else the one running this script if it is recent enough.
 * @returns {{ binary: string, version: string } | { problem: string }}
 */
export function nodeForChildren(root) {
  const local = join(root, 'node_modules', '.bin', 'node');
  const localVersion = existsSync(local) ? nodeVersion(local) : null;
  if (localVersion && atLeast(localVersion, SERVICE_NODE)) return { binary: local, version: localVersion };
  if (atLeast(process.versions.node, SERVICE_NODE)) return { binary: process.execPath, version: process.versions.node };
  const found = localVersion ? `node_modules/.bin/node is ${localVersion}` : 'node_modules/.bin/node is missing';
  return {
    problem: `the service needs Node ≥ ${SERVICE_NODE.join('.')}: this is ${process.version} and ${found} (npm ci installs it with the \`node\` package; its install script must be allowed: package.json allowScripts)`,
  };
}

/** True when something already listens on 127.0.0.1:port (or the port cannot be bound). */
export function portInUse(port) {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(true));
    server.listen(Number(port), '127.0.0.1', () => server.close(() => resolve(false)));
  });
}

/** What `npm run build` reads: the sources, the build configuration and scripts, and the lock. */
const BUILD_INPUT_DIRS = ['src', 'tools', 'console'];
const BUILD_INPUT_FILES = [
  'package.json',
  'package-lock.json',
  'tsconfig.json',
  'tsconfig.build.json',
  'nest-cli.json',
  'scripts/bundle.mjs',
  'scripts/service-launcher.cjs',
];
/** What `npm run local` runs from dist/. */
const BUILD_OUTPUTS = [
  'dist/service.cjs',
  'dist/service.bundle.cjs',
  'dist/tools/fake-procurement/main.js',
  'dist/tools/simulator/cli.js',
  'dist/console/index.html',
];
export const BUILD_STAMP = 'dist/.local-build-inputs';

/** SHA-256 over the build's inputs (paths and contents): equal digests, equal builds. */
export function buildInputsDigest(root) {
  const files = [...BUILD_INPUT_FILES.filter((f) => existsSync(join(root, f)))];
  const walk = (dir) => {
    for (const entry of readdirSync(join(root, dir), { withFileTypes: true })) {
      const path = `${dir}/${entry.name}`;
      if (entry.isDirectory()) walk(path);
      else if (entry.isFile()) files.push(path);
    }
  };
  for (const dir of BUILD_INPUT_DIRS) if (existsSync(join(root, dir))) walk(dir);
  const hash = createHash('sha256');
  for (const file of files.sort()) {
    hash.update(`${relative(root, join(root, file))}\0`);
    hash.update(readFileSync(join(root, file)));
    hash.update('\0');
  }
  return hash.digest('hex');
}

/**
 * Why dist/ must be built again, or null when `npm run local` built it from exactly these inputs
 * (its stamp; `npm run build` starts from an empty dist/, so any other build is rebuilt once).
 */
export function buildProblem(root, digest = buildInputsDigest(root)) {
  const missing = BUILD_OUTPUTS.find((f) => !existsSync(join(root, f)));
  if (missing) return `${missing} is missing`;
  let stamp;
  try {
    stamp = readFileSync(join(root, BUILD_STAMP), 'utf8').trim();
  } catch {
    return 'dist/ was not built by npm run local';
  }
  return stamp === digest ? null : 'the sources changed since the last build';
}
