import { afterEach, describe, expect, it } from '@jest/globals';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  BUILD_STAMP,
  buildInputsDigest,
  buildProblem as untypedBuildProblem,
  dependencyProblem as untypedDependencyProblem,
  nodeForChildren,
  // @ts-expect-error plain ESM helper without types
} from '../../scripts/local-checks.mjs';

const dependencyProblem = untypedDependencyProblem as (root: string) => string | null;
const buildProblem = untypedBuildProblem as (root: string) => string | null;

type Packages = Record<string, { version: string; integrity?: string; optional?: boolean }>;

/** A project folder with a lock and an installed tree as npm ci leaves them. */
function project(lock: Packages, installed: Packages | null, folders = Object.keys(installed ?? {})): string {
  const dir = mkdtempSync(join(tmpdir(), 'local-checks-'));
  writeFileSync(join(dir, 'package-lock.json'), JSON.stringify({ lockfileVersion: 3, packages: { '': {}, ...lock } }));
  if (installed) {
    mkdirSync(join(dir, 'node_modules'));
    writeFileSync(
      join(dir, 'node_modules', '.package-lock.json'),
      JSON.stringify({ lockfileVersion: 3, packages: installed }),
    );
    for (const folder of folders) mkdirSync(join(dir, folder), { recursive: true });
  }
  return dir;
}

const a = { version: '1.0.0', integrity: 'sha512-a' };
const b = { version: '2.0.0', integrity: 'sha512-b' };

describe('npm run local: are the dependencies installed as the lock says? (scripts/local-checks.mjs)', () => {
  const dirs: string[] = [];
  const make = (...args: Parameters<typeof project>) => {
    const dir = project(...args);
    dirs.push(dir);
    return dir;
  };
  afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

  it('should accept this checkout as npm ci installed it', () => {
    expect(dependencyProblem('.')).toBeNull();
  });

  it('should accept a tree without another platform’s optional packages', () => {
    const dir = make(
      { 'node_modules/a': a, 'node_modules/@esbuild/win32-x64': { ...b, optional: true } },
      { 'node_modules/a': a },
    );
    expect(dependencyProblem(dir)).toBeNull();
  });

  it('should say what is stale: nothing installed, not by npm ci, missing, other versions, extras, deleted folders', () => {
    const lock = { 'node_modules/a': a, 'node_modules/b': b };
    expect(dependencyProblem(make(lock, null))).toBe('node_modules is missing');
    const notByCi = make(lock, null);
    mkdirSync(join(notByCi, 'node_modules'));
    expect(dependencyProblem(notByCi)).toMatch(/^node_modules\/.package-lock.json is missing/);
    expect(dependencyProblem(make(lock, { 'node_modules/a': a }))).toBe(
      'node_modules differs from package-lock.json: node_modules/b is not installed',
    );
    expect(dependencyProblem(make(lock, { 'node_modules/a': a, 'node_modules/b': { ...b, version: '1.9.0' } }))).toBe(
      'node_modules differs from package-lock.json: node_modules/b is 1.9.0, the lock has 2.0.0',
    );
    expect(dependencyProblem(make(lock, { ...lock, 'node_modules/c': a }))).toBe(
      'node_modules differs from package-lock.json: node_modules/c is installed but not in the lock',
    );
    expect(dependencyProblem(make(lock, lock, ['node_modules/a']))).toBe(
      'node_modules differs from package-lock.json: node_modules/b was deleted',
    );
  });

  it('should notice a lock changed by a pull (the same version re-resolved to other bytes)', () => {
    const dir = make({ 'node_modules/a': { ...a, integrity: 'sha512-other' } }, { 'node_modules/a': a });
    expect(dependencyProblem(dir)).toBe(
      'node_modules differs from package-lock.json: node_modules/a 1.0.0 is not the tarball the lock names (integrity)',
    );
  });

  it('should run the service on the Node 22 that npm ci installs, not on the Node that started npm', () => {
    const found = nodeForChildren('.');
    expect(found).toEqual({
      binary: join('.', 'node_modules', '.bin', 'node'),
      version: expect.stringMatching(/^22\./),
    });
  });
});

describe('npm run local: is dist/ built from these sources? (scripts/local-checks.mjs)', () => {
  let dir: string;
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('should skip the build only for the very inputs npm run local last built', () => {
    dir = mkdtempSync(join(tmpdir(), 'local-build-'));
    mkdirSync(join(dir, 'src/deep'), { recursive: true });
    mkdirSync(join(dir, 'dist/tools/fake-procurement'), { recursive: true });
    mkdirSync(join(dir, 'dist/tools/simulator'), { recursive: true });
    mkdirSync(join(dir, 'dist/console'), { recursive: true });
    mkdirSync(join(dir, 'console/src'), { recursive: true });
    writeFileSync(join(dir, 'src/deep/a.ts'), 'export const a = 1;');
    writeFileSync(join(dir, 'console/src/main.tsx'), 'export {};');
    writeFileSync(join(dir, 'package-lock.json'), '{}');
    for (const f of [
      'service.cjs',
      'service.bundle.cjs',
      'tools/fake-procurement/main.js',
      'tools/simulator/cli.js',
      'console/index.html',
    ]) {
      writeFileSync(join(dir, 'dist', f), '');
    }
    expect(buildProblem(dir)).toBe('dist/ was not built by npm run local');
    writeFileSync(join(dir, BUILD_STAMP as string), `${buildInputsDigest(dir) as string}\n`);
    expect(buildProblem(dir)).toBeNull();

    writeFileSync(join(dir, 'src/deep/a.ts'), 'export const a = 2;');
    expect(buildProblem(dir)).toBe('the sources changed since the last build');
    writeFileSync(join(dir, 'src/deep/a.ts'), 'export const a = 1;');
    expect(buildProblem(dir)).toBeNull();
    writeFileSync(join(dir, 'src/deep/b.ts'), '');
    expect(buildProblem(dir)).toBe('the sources changed since the last build');
    rmSync(join(dir, 'src/deep/b.ts'));
    // The admin console's sources are build inputs too (console/build.mjs writes dist/console).
    writeFileSync(join(dir, 'console/src/main.tsx'), 'export const changed = true;');
    expect(buildProblem(dir)).toBe('the sources changed since the last build');
    writeFileSync(join(dir, 'console/src/main.tsx'), 'export {};');
    expect(buildProblem(dir)).toBeNull();
    writeFileSync(join(dir, 'package-lock.json'), '{"lockfileVersion":3}');
    expect(buildProblem(dir)).toBe('the sources changed since the last build');

    rmSync(join(dir, 'dist/service.bundle.cjs'));
    expect(buildProblem(dir)).toBe('dist/service.bundle.cjs is missing');
  });
});
