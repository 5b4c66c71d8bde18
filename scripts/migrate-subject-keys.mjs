#!/usr/bin/env node
// One-off migration of the documents written before e-mails in ids were replaced by keyed hashes
// (docs/operations.md, "Migrate subject keys"). Idempotent and resumable; run it once after deploying
// the version that hashes subject keys, with the service running.
//
//   npm run build
//   GOOGLE_CLOUD_PROJECT=my-project SUBJECT_KEY_SECRET="$(gcloud secrets versions access latest --secret=subject-key-secret)" \
//     node scripts/migrate-subject-keys.mjs --dry-run        # what would change; writes nothing
//   ... node scripts/migrate-subject-keys.mjs [--limit N] [--restart]
//
// FIRESTORE_DATABASE_ID (default "(default)") picks the database, FIRESTORE_EMULATOR_HOST an emulator.
// Credentials: Application Default Credentials with roles/datastore.user on the project.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const compiled = join(root, 'dist/src/infrastructure/firestore/migrations/subject-key-migration.js');

const { values } = parseArgs({
  options: {
    'dry-run': { type: 'boolean', default: false },
    limit: { type: 'string' },
    restart: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});
if (values.help) {
  console.log('Usage: node scripts/migrate-subject-keys.mjs [--dry-run] [--limit N] [--restart]  (see the header)');
  process.exit(0);
}
const project = process.env.GOOGLE_CLOUD_PROJECT;
const secret = process.env.SUBJECT_KEY_SECRET;
const problems = [
  !project && 'GOOGLE_CLOUD_PROJECT is not set',
  (!secret || secret.length < 32) && 'SUBJECT_KEY_SECRET is not set (at least 32 characters, the service’s own)',
  values.limit !== undefined && !/^[1-9]\d*$/.test(values.limit) && '--limit takes a positive number',
  !existsSync(compiled) && 'the compiled service is missing: run `npm run build` first',
].filter(Boolean);
if (problems.length) {
  console.error(problems.map((p) => `migrate-subject-keys: ${p}`).join('\n'));
  process.exit(2);
}

const { Firestore } = await import('@google-cloud/firestore');
const { SubjectKeyMigration } = await import(pathToFileURL(compiled).href);
const db = new Firestore({ projectId: project, databaseId: process.env.FIRESTORE_DATABASE_ID || '(default)' });
try {
  const report = await new SubjectKeyMigration(db, secret).run({
    dryRun: values['dry-run'],
    restart: values.restart,
    limit: values.limit === undefined ? undefined : Number(values.limit),
  });
  console.log(JSON.stringify(report, null, 2));
  if (!report.complete) console.error('Stopped before the end (--limit): run it again to continue.');
  process.exitCode = report.problems.length ? 1 : 0;
} finally {
  await db.terminate();
}
