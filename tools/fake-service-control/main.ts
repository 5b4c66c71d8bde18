/**
 * Runs the fake Service Control API as a process:
 *   node dist/tools/fake-service-control/main.js [--port 8090] [--host 127.0.0.1]
 * Stops on SIGINT/SIGTERM.
 */
import { parseArgs } from 'node:util';
import { closeOnSignal, runMain } from '../common/process.js';
import { startFakeServiceControl } from './server.js';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { port: { type: 'string', default: '8090' }, host: { type: 'string', default: '127.0.0.1' } },
  });
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new Error(`--port must be a TCP port, got "${values.port}"`);
  const fake = await startFakeServiceControl({ port, host: values.host });
  console.log(`fake Service Control listening on ${fake.url} (control API: ${fake.url}/__control/operations)`);
  closeOnSignal('fake Service Control', fake);
}

runMain(main);
