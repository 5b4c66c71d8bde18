/**
 * The fake `gcloud` (tools/fake-gcloud/README.md): one invocation per process, as the real CLI. The project's
 * state lives in the JSON file FAKE_GCLOUD_STATE; every call is appended to FAKE_GCLOUD_LOG (JSON lines) with
 * its exit code and whether it changed the state.
 */
import { appendFileSync, readFileSync } from 'node:fs';
import { flag, parseInvocation, UnknownCommand } from './cli.js';
import { GcloudError, run } from './commands.js';
import { project } from './format.js';
import { loadState, saveState } from './state.js';

function main(argv: string[]): number {
  const stateFile = process.env['FAKE_GCLOUD_STATE'];
  if (!stateFile) {
    process.stderr.write('fake gcloud: FAKE_GCLOUD_STATE (the state file) is not set\n');
    return 2;
  }
  const logFile = process.env['FAKE_GCLOUD_LOG'];
  const state = loadState(stateFile);
  const before = JSON.stringify(state);
  let code = 0;
  let command = argv.filter((a) => !a.startsWith('-')).join('.');
  try {
    const inv = parseInvocation(argv);
    command = inv.command.join('.');
    const outcome = run(state, inv, () => readFileSync(0, 'utf8'));
    if (outcome.raw !== undefined) process.stdout.write(outcome.raw);
    else if (outcome.result !== undefined) {
      const limit = flag(inv, 'limit');
      process.stdout.write(
        project(
          outcome.result,
          {
            format: flag(inv, 'format'),
            flatten: flag(inv, 'flatten'),
            filter: flag(inv, 'filter'),
            limit: limit === undefined ? undefined : Number(limit),
          },
          outcome.isList ?? false,
        ),
      );
    }
    if (outcome.stderr) process.stderr.write(`${outcome.stderr}\n`);
  } catch (error) {
    if (error instanceof GcloudError) {
      process.stderr.write(`ERROR: (gcloud.${command}) ${error.status ? `${error.status}: ` : ''}${error.message}\n`);
      code = 1;
    } else if (error instanceof UnknownCommand) {
      process.stderr.write(`ERROR: (gcloud) ${error.message}\n`);
      code = 2;
    } else throw error;
  }
  const changed = JSON.stringify(state) !== before;
  if (changed && code === 0) saveState(stateFile, state);
  if (logFile) appendFileSync(logFile, `${JSON.stringify({ argv, code, changed: changed && code === 0 })}\n`);
  return code;
}

process.exitCode = main(process.argv.slice(2));
