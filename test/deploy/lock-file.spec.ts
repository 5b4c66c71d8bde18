import { describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';

const checkLock = (dir: string) => spawnSync(process.execPath, ['scripts/check-lock.mjs', dir], { encoding: 'utf8' });

describe('package-lock.json', () => {
  it('should be complete and in sync with package.json, so npm ci takes it everywhere', () => {
    const result = checkLock('.');
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
  });

  it('should be refused by the check when an optional platform package is missing (the lock npm wrote after a 404)', () => {
    const lock = JSON.parse(readFileSync('package-lock.json', 'utf8')) as { packages: Record<string, unknown> };
    const missing = Object.keys(lock.packages).find((p) => p.startsWith('node_modules/@unrs/resolver-binding-win32'));
    expect(missing).toBeDefined();
    delete lock.packages[missing!];
    const dir = mkdtempSync(join(tmpdir(), 'lock-'));
    writeFileSync(join(dir, 'package.json'), readFileSync('package.json'));
    writeFileSync(join(dir, 'package-lock.json'), JSON.stringify(lock));
    const result = checkLock(dir);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain(`needs ${missing!.slice('node_modules/'.length)}@`);
  });

  it('should be installed strictly: no npm install fallback in CI, the image or Cloud Build', () => {
    for (const file of ['.ci/run', 'Dockerfile', 'cloudbuild.yaml']) {
      const text = readFileSync(file, 'utf8');
      expect({ file, fallback: /npm\s+(install|i)\b/.test(text) || /npm ci[^\n]*\|\|/.test(text) }).toEqual({
        file,
        fallback: false,
      });
    }
    expect(readFileSync('.ci/run', 'utf8')).toMatch(/^npm ci\b/m);
    expect(readFileSync('Dockerfile', 'utf8')).toMatch(/^RUN npm ci\b/m);
    const build = parse(readFileSync('cloudbuild.yaml', 'utf8')) as {
      steps: { id?: string; entrypoint?: string; args?: string[] }[];
    };
    const install = build.steps.find((s) => s.id === 'install');
    expect([install?.entrypoint, install?.args?.[0]]).toEqual(['npm', 'ci']);
  });
});
