import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';
import { emptyProject, saveState, type FakeProject } from './state.js';

/** One recorded call: the arguments, the exit code, and whether it changed the project. */
export interface Call {
  argv: string[];
  code: number;
  changed: boolean;
}

export interface FakeGcloud {
  /** PATH with the fake `gcloud` first, and the variables it reads. */
  env: Record<string, string>;
  gcloud(args: string[], input?: string): { code: number | null; stdout: string; stderr: string };
  state(): FakeProject;
  /** Changes the project outside gcloud (what Google or a person does in the console). */
  update(change: (project: FakeProject) => void): void;
  /** Every call so far, oldest first. */
  calls(): Call[];
  /** Forgets the calls recorded so far (the state stays). */
  clearCalls(): void;
  close(): void;
}

/**
 * A fake project on disk and the fake CLI on PATH (needs `npm run build`: it runs dist/tools/fake-gcloud/main.js).
 * `seed` changes the new project before the first call (e.g. Google's topic, partner access).
 */
export function fakeGcloud(
  options: Parameters<typeof emptyProject>[0],
  seed?: (project: FakeProject) => void,
): FakeGcloud {
  const dir = mkdtempSync(join(tmpdir(), 'fake-gcloud-'));
  const stateFile = join(dir, 'state.json');
  const logFile = join(dir, 'calls.jsonl');
  const project = emptyProject(options);
  seed?.(project);
  saveState(stateFile, project);
  const bin = resolve('tools/fake-gcloud/bin');
  const env = {
    PATH: [bin, ...(process.env['PATH'] ?? '').split(delimiter)].join(delimiter),
    FAKE_GCLOUD_STATE: stateFile,
    FAKE_GCLOUD_LOG: logFile,
  };
  return {
    env,
    gcloud: (args, input) => {
      const result = spawnSync(join(bin, 'gcloud'), args, { env, input: input ?? '', encoding: 'utf8' });
      return { code: result.status, stdout: result.stdout, stderr: result.stderr };
    },
    state: () => JSON.parse(readFileSync(stateFile, 'utf8')) as FakeProject,
    update: (change) => {
      const current = JSON.parse(readFileSync(stateFile, 'utf8')) as FakeProject;
      change(current);
      saveState(stateFile, current);
    },
    calls: () =>
      existsSync(logFile)
        ? readFileSync(logFile, 'utf8')
            .split('\n')
            .filter(Boolean)
            .map((line) => JSON.parse(line) as Call)
        : [],
    clearCalls: () => writeFileSync(logFile, ''),
    close: () => rmSync(dir, { recursive: true, force: true }),
  };
}
