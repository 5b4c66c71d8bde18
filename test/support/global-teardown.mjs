import { existsSync, readFileSync, rmSync } from 'node:fs';
import { killGroups } from '../../scripts/emulators.mjs';
import { STATE_FILE } from './state-file.mjs';

export default async function globalTeardown() {
  if (globalThis.__EMULATORS__) await globalThis.__EMULATORS__.stop();
  else if (existsSync(STATE_FILE)) killGroups(JSON.parse(readFileSync(STATE_FILE, 'utf8')).pids);
  rmSync(STATE_FILE, { force: true });
}
