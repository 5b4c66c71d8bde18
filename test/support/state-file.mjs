import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const STATE_FILE = join(tmpdir(), `entitlements-emulators-${process.ppid}-${process.pid}.json`);
