// Starts the Firestore and Pub/Sub emulators once per test run; every suite gets its own
// Google Cloud project id on them (see test/support/emulator-env.ts), so suites do not share data.
import { writeFileSync } from 'node:fs';
import { startEmulators } from '../../scripts/emulators.mjs';
import { STATE_FILE } from './state-file.mjs';

export default async function globalSetup() {
  // The tests run on the production major: `npm test` puts node_modules/.bin (the `node` package's Node 22) first.
  if (Number(process.versions.node.split('.')[0]) < 22) {
    throw new Error(
      `Tests need Node 22 (got ${process.version}): run them with \`npm test\`, which uses the Node 22 from npm ci.`,
    );
  }
  const started = Date.now();
  const emulators = await startEmulators({ log: process.env.EMULATOR_LOGS ? (l) => console.log(l) : undefined });
  process.env.FIRESTORE_EMULATOR_HOST = emulators.firestoreHost;
  process.env.PUBSUB_EMULATOR_HOST = emulators.pubsubHost;
  writeFileSync(STATE_FILE, JSON.stringify({ pids: emulators.pids, ...emulators }));
  globalThis.__EMULATORS__ = emulators;
  console.log(
    `\nEmulators up in ${Date.now() - started} ms: Firestore ${emulators.firestoreHost}, Pub/Sub ${emulators.pubsubHost}`,
  );
}
