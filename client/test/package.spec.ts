import { execFileSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { CHANGE_EVENT_SCHEMA_VERSION } from '../../src/entitlements/ledger-plan.js';
import { CONTRACT_VERSION, SUPPORTED_SCHEMA_VERSION } from '../src/index.js';

/**
 * The package as it would be published: `npm pack` of client/ (built by `npm run build`, which
 * `npm test` runs first), unpacked where nothing else is installed, imported by plain Node, and type-checked
 * by a consumer project with strict TypeScript.
 */
const CLIENT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const ROOT = resolve(CLIENT, '..');
const pkg = JSON.parse(readFileSync(join(CLIENT, 'package.json'), 'utf8')) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- JSON under test

describe('the client package', () => {
  let work: string;
  let installed: string;
  let packed: string[];

  beforeAll(() => {
    if (!existsSync(join(CLIENT, 'dist', 'index.js'))) {
      throw new Error('client/dist is missing: run `npm run build` (npm test does it first)');
    }
    work = mkdtempSync(join(tmpdir(), 'client-pack-'));
    const out = execFileSync('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', work], {
      cwd: CLIENT,
      encoding: 'utf8',
    });
    const [info] = JSON.parse(out) as [{ filename: string; files: { path: string }[] }];
    packed = info.files.map((f) => f.path).sort();
    installed = join(work, 'node_modules', '@marketplace-entitlements', 'client');
    mkdirSync(installed, { recursive: true });
    execFileSync('tar', ['-xzf', join(work, info.filename), '-C', installed, '--strip-components=1']);
  }, 60_000);
  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('should be versioned with the contract: major version = change-event schema version', () => {
    expect(Number(String(pkg.version).split('.')[0])).toBe(CONTRACT_VERSION);
    expect(CONTRACT_VERSION).toBe(CHANGE_EVENT_SCHEMA_VERSION);
    expect(SUPPORTED_SCHEMA_VERSION).toBe(CHANGE_EVENT_SCHEMA_VERSION);
  });

  it('should declare no runtime dependency, @google-cloud/firestore as its only (optional) peer', () => {
    expect(pkg.dependencies).toBeUndefined();
    expect(Object.keys(pkg.peerDependencies)).toEqual(['@google-cloud/firestore']);
    expect(pkg.type).toBe('module');
    expect(pkg.exports['.'].types).toBe('./dist/index.d.ts');
    expect(pkg.exports['./browser'].types).toBe('./dist/browser.d.ts');
  });

  it('should pack the built ESM files, their types, the README and nothing else', () => {
    expect(packed).toEqual(expect.arrayContaining(['README.md', 'package.json', 'dist/index.js', 'dist/index.d.ts']));
    expect(packed).toEqual(expect.arrayContaining(['dist/browser.js', 'dist/browser.d.ts']));
    for (const file of packed) expect(file).toMatch(/^(README\.md|package\.json|dist\/[\w-]+\.(js|d\.ts))$/);
    expect(packed.some((f) => f.includes('spec'))).toBe(false);
  });

  it('should import nothing but its own files and node:crypto, and the browser entry no Node module at all', () => {
    // Statements only (an example in a doc comment starts with ` *`), static and dynamic.
    const imports = (file: string) =>
      [
        ...readFileSync(join(installed, 'dist', file), 'utf8').matchAll(
          /^(?:import|export)\b[^;]*?from\s*'([^']+)'|^import\s*'([^']+)'|\bimport\(\s*'([^']+)'/gm,
        ),
      ].map((m) => (m[1] ?? m[2] ?? m[3])!);
    expect(imports('index.js')).toEqual(expect.arrayContaining(['node:crypto', './reader.js']));
    const all = readdirSync(join(installed, 'dist')).filter((f) => f.endsWith('.js'));
    for (const file of all) {
      for (const spec of imports(file)) expect(spec).toMatch(/^(\.\/[\w-]+\.js|node:crypto)$/);
    }
    const reached = new Set<string>();
    const walk = (file: string) => {
      if (reached.has(file)) return;
      reached.add(file);
      for (const spec of imports(file)) {
        expect(spec).not.toMatch(/^node:/);
        walk(spec.replace('./', ''));
      }
    };
    walk('browser.js');
    expect(reached.size).toBeGreaterThan(3);
  });

  it('should run from the unpacked tarball with nothing else installed', () => {
    const script = `
      import { subjectKey, decodeChangeEvent, CONTRACT_VERSION } from '@marketplace-entitlements/client';
      import * as browser from '@marketplace-entitlements/client/browser';
      console.log(JSON.stringify({
        email: subjectKey.forEmail('Jan@Kowalski.PL', { secret: 'subject-key-secret-0123456789abcdef' }),
        user: browser.subjectKey.forUser('a/b'),
        version: CONTRACT_VERSION,
        decoder: typeof decodeChangeEvent,
      }));`;
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: work, encoding: 'utf8' });
    expect(JSON.parse(out)).toEqual({
      email: 'emailh:0980a1cf2df40280b01bc0cf1c7d8705',
      user: 'user:a%2Fb',
      version: 1,
      decoder: 'function',
    });
  });

  it("should be built in the service image's build stage too, which runs npm run build (and not shipped)", () => {
    const rootPkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    expect(rootPkg.scripts.build).toContain('npm run build:client');
    const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
    const runtime = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));
    expect(dockerfile.slice(0, dockerfile.length - runtime.length)).toMatch(/^COPY client \.\/client$/m);
    expect(runtime).not.toContain('client');
  });

  it('should type-check a strict consumer project against its declarations', () => {
    const modules = join(work, 'node_modules');
    symlinkSync(join(ROOT, 'node_modules', '@google-cloud'), join(modules, '@google-cloud'), 'dir');
    symlinkSync(join(ROOT, 'node_modules', '@types'), join(modules, '@types'), 'dir');
    writeFileSync(
      join(work, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          strict: true,
          module: 'nodenext',
          moduleResolution: 'nodenext',
          target: 'ES2022',
          types: ['node'],
          skipLibCheck: true,
          noEmit: true,
        },
        files: ['consumer.ts'],
      }),
    );
    writeFileSync(join(work, 'package.json'), JSON.stringify({ type: 'module', private: true }));
    writeFileSync(
      join(work, 'consumer.ts'),
      `
      import { Firestore } from '@google-cloud/firestore';
      import { createAccess, decodeChangeEvent, subjectKey, type CurrentAccess } from '@marketplace-entitlements/client';
      import { createBrowserAccess } from '@marketplace-entitlements/client/browser';

      const access = createAccess(new Firestore(), { cacheTtlMs: 5_000 });
      export async function mayUse(userId: string): Promise<boolean> {
        return access.has(subjectKey.forUser(userId), 'demo', ['pro', 'enterprise']);
      }
      export const stop: () => void = access.watch(subjectKey.forUser('42'), (a: CurrentAccess) => a.products.size);
      const event = decodeChangeEvent('{}');
      export const until: Date | null = event.type === 'entitlement.expiring' ? event.accessEndsAt : event.state.validUntil;
      // @ts-expect-error the secret is required
      subjectKey.forEmail('a@b.c');
      declare const db: { kind: 'browser-db' };
      declare function doc(db: { kind: 'browser-db' }, path: string, ...segments: string[]): { ref: true };
      declare function getDoc(ref: { ref: true }): Promise<{ exists(): boolean; data(): unknown }>;
      declare function onSnapshot(ref: { ref: true }, next: (s: { exists(): boolean; data(): unknown }) => void, error?: (e: Error) => void): () => void;
      export const browserAccess = createBrowserAccess(db, { doc, getDoc, onSnapshot });
      `,
    );
    execFileSync(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', work], {
      encoding: 'utf8',
    });
  }, 60_000);
});
