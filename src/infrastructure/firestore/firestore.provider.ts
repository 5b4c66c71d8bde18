import { Firestore } from '@google-cloud/firestore';
import { AppConfig } from '../../config/app-config.js';
import { emulatorAuth } from '../emulator-auth.js';
import { setReadDeadline } from './transaction-runner.js';

export function createFirestore(config: AppConfig): Firestore {
  setReadDeadline(config.env.FIRESTORE_READ_DEADLINE_MS);
  // The SDK connects to FIRESTORE_EMULATOR_HOST itself when it is set (tests, local run).
  return new Firestore({
    projectId: config.env.GOOGLE_CLOUD_PROJECT,
    databaseId: config.env.FIRESTORE_DATABASE_ID,
    ignoreUndefinedProperties: true,
    ...emulatorAuth(config.env.FIRESTORE_EMULATOR_HOST),
  });
}
