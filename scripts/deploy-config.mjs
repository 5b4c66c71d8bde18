#!/usr/bin/env node
// Reads the deployment's declarative files for cloudbuild.yaml and scripts/setup-gcp.sh, so both take every name
// from one place: the Cloud Run service description (deploy/service.yaml), config/products.yaml,
// firestore.indexes.json and deploy/monitoring/.
//
//   node scripts/deploy-config.mjs render --project P --project-number N --image IMAGE [--out FILE] [--allow-example-values]
//       the service description with its placeholders filled in, for `gcloud run services replace`
//   node scripts/deploy-config.mjs facts --project P --project-number N
//       NAME=value lines setup-gcp.sh reads (service, region, accounts, subscription, audiences, secrets, ...)
//   node scripts/deploy-config.mjs firestore-plan --indexes F --ttls F --fields F
//       what Firestore still lacks, one tab-separated line per item, given gcloud's JSON listings
//   node scripts/deploy-config.mjs monitoring
//       the monitoring files to apply, one tab-separated line each (deploy/monitoring/README.md)
//   node scripts/deploy-config.mjs same --file F --current-json JSON
//       exit 0 when the resource gcloud described already has every field the file sets
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const DESCRIPTION = join(root, 'deploy', 'service.yaml');
const PLACEHOLDERS = ['PROJECT_ID', 'PROJECT_NUMBER', 'IMAGE', 'RUN_APP_URL'];
/** Values that are documentation, never a deployment's: the deploy refuses them. */
const EXAMPLE_VALUE = /(^|[./@])example\.(com|org|net)([/:]|$)|CHANGE[-_]ME/i;

class UsageError extends Error {}

function fail(message) {
  throw new UsageError(message);
}

function options(args) {
  const out = {};
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (!arg.startsWith('--')) fail(`unexpected argument: ${arg}`);
    const [key, inline] = arg.slice(2).split(/=(.*)/s, 2);
    if (inline !== undefined) out[key] = inline;
    else if (args[i + 1] !== undefined && !args[i + 1].startsWith('--')) out[key] = args[++i];
    else out[key] = true;
  }
  return out;
}

/** The template's own name and region (literal in the file), which the deterministic URL is made of. */
export function nameAndRegion(text = description()) {
  const doc = parse(text.replace(/\$\{[A-Z_]+\}/g, 'placeholder'));
  const name = doc?.metadata?.name;
  const region = doc?.metadata?.labels?.['cloud.googleapis.com/location'];
  if (!name || !region) fail(`${DESCRIPTION}: metadata.name and the cloud.googleapis.com/location label are required`);
  return { name, region };
}

/** Fills the placeholders; an unknown one, or a value left out, is an error (never an empty string). */
export function render(text, values) {
  const { name, region } = nameAndRegion(text);
  const all = { ...values, RUN_APP_URL: `https://${name}-${values.PROJECT_NUMBER}.${region}.run.app` };
  // Comment lines are kept as written (they name the placeholders).
  const rendered = text
    .split('\n')
    .map((line) =>
      /^\s*#/.test(line)
        ? line
        : line.replace(/\$\{([A-Za-z0-9_]+)\}/g, (_, key) => {
            if (!PLACEHOLDERS.includes(key))
              fail(`${DESCRIPTION}: unknown placeholder \${${key}} (known: ${PLACEHOLDERS})`);
            if (!all[key]) fail(`${DESCRIPTION}: no value for \${${key}}`);
            return all[key];
          }),
    )
    .join('\n');
  return { text: rendered, doc: parse(rendered) };
}

function container(doc) {
  const containers = doc?.spec?.template?.spec?.containers;
  if (!Array.isArray(containers) || containers.length !== 1) fail(`${DESCRIPTION}: exactly one container expected`);
  return containers[0];
}

/** The description's env: plain values by name, and secret names by variable. */
export function envOf(doc) {
  const values = {};
  const secrets = {};
  for (const entry of container(doc).env ?? []) {
    if (entry.name in values || entry.name in secrets) fail(`${DESCRIPTION}: ${entry.name} is set twice`);
    const ref = entry.valueFrom?.secretKeyRef;
    if (ref) secrets[entry.name] = ref.name;
    else values[entry.name] = String(entry.value ?? '');
  }
  return { values, secrets };
}

function exampleValues(doc) {
  return Object.entries(envOf(doc).values)
    .filter(([, value]) => EXAMPLE_VALUE.test(value))
    .map(([name, value]) => `${name}=${value}`);
}

export function description() {
  return readFileSync(DESCRIPTION, 'utf8');
}

function gcpServiceNames() {
  const products = parse(readFileSync(join(root, 'config', 'products.yaml'), 'utf8'));
  return Object.keys(products?.sources?.gcp ?? {});
}

const SAFE = /^[A-Za-z0-9@._:/, -]*$/;

/** What setup-gcp.sh needs from the description, as NAME=value lines it can read without eval. */
export function facts(doc) {
  const { values, secrets } = envOf(doc);
  const spec = doc.spec.template.spec;
  const lines = {
    SERVICE: doc.metadata.name,
    REGION: doc.metadata.labels['cloud.googleapis.com/location'],
    RUNTIME_SA: spec.serviceAccountName ?? '',
    PROVIDER_ID: values.MARKETPLACE_PROVIDER_ID ?? '',
    SUBSCRIPTION: values.MARKETPLACE_SUBSCRIPTION ?? '',
    PUSH_AUDIENCE: values.PUSH_AUDIENCE ?? '',
    PUSH_SA: values.PUSH_SERVICE_ACCOUNT ?? '',
    SCHEDULER_AUDIENCE: values.SCHEDULER_AUDIENCE ?? '',
    SCHEDULER_SA: values.SCHEDULER_SERVICE_ACCOUNT ?? '',
    CHANGES_TOPIC: values.CHANGE_EVENTS_TOPIC ?? '',
    SECRETS: [...new Set(Object.values(secrets))].join(' '),
    MARKETPLACE_SERVICES: gcpServiceNames().join(' '),
    IMAGE: container(doc).image ?? '',
  };
  for (const [key, value] of Object.entries(lines)) {
    if (!SAFE.test(value)) fail(`${DESCRIPTION}: ${key} has characters setup-gcp.sh does not accept: ${value}`);
  }
  return Object.entries(lines).map(([key, value]) => `${key}=${value}`);
}

function readJsonList(file) {
  if (!file || !existsSync(file)) return [];
  const text = readFileSync(file, 'utf8').trim();
  return text ? JSON.parse(text) : [];
}

/** Last segment pair of a Firestore field name: `.../collectionGroups/G/fields/F` → `G/F`. */
function fieldKey(name) {
  const match = /collectionGroups\/([^/]+)\/fields\/([^/]+)$/.exec(name ?? '');
  return match ? `${match[1]}/${match[2]}` : undefined;
}

/**
 * What firestore.indexes.json asks for and the database lacks: composite indexes (Firestore appends `__name__`
 * to every index it lists, so that is ignored), TTL policies, single-field exemptions (`"indexes": []`).
 */
export function firestorePlan({ indexes, ttls, fields }) {
  const wanted = JSON.parse(readFileSync(join(root, 'firestore.indexes.json'), 'utf8'));
  const signature = (group, scope, list) =>
    `${group}|${scope ?? 'COLLECTION'}|${list
      .filter((f) => f.fieldPath !== '__name__')
      .map((f) => `${f.fieldPath}:${(f.order ?? f.arrayConfig ?? '').toLowerCase()}`)
      .join(',')}`;
  const existing = new Set(
    indexes.map((i) => {
      const group = /collectionGroups\/([^/]+)\/indexes\//.exec(i.name ?? '')?.[1] ?? i.collectionGroup;
      return signature(group, i.queryScope, i.fields ?? []);
    }),
  );
  const lines = [];
  for (const index of wanted.indexes ?? []) {
    if (existing.has(signature(index.collectionGroup, index.queryScope, index.fields))) continue;
    const configs = index.fields.map(
      (f) =>
        `--field-config=field-path=${f.fieldPath},${f.order ? `order=${f.order.toLowerCase()}` : `array-config=${f.arrayConfig.toLowerCase()}`}`,
    );
    lines.push(['index', index.collectionGroup, (index.queryScope ?? 'COLLECTION').toLowerCase(), ...configs]);
  }
  const withTtl = new Set(ttls.filter((f) => f.ttlConfig).map((f) => fieldKey(f.name)));
  const exempt = new Set(
    fields.filter((f) => f.indexConfig && !(f.indexConfig.indexes ?? []).length).map((f) => fieldKey(f.name)),
  );
  for (const override of wanted.fieldOverrides ?? []) {
    const key = `${override.collectionGroup}/${override.fieldPath}`;
    if (override.ttl && !withTtl.has(key)) lines.push(['ttl', override.collectionGroup, override.fieldPath]);
    if (Array.isArray(override.indexes) && override.indexes.length === 0 && !exempt.has(key)) {
      lines.push(['exempt', override.collectionGroup, override.fieldPath]);
    }
  }
  return lines.map((l) => l.join('\t'));
}

/**
 * deploy/monitoring/: `<name>.metric.yaml` is a log-based metric named <name> (gcloud logging metrics
 * --config-from-file); `<anything>.policy.yaml` an alerting policy found again by its displayName.
 */
export function monitoringFiles(dir = join(root, 'deploy', 'monitoring')) {
  if (!existsSync(dir)) return [];
  const lines = [];
  for (const file of readdirSync(dir).sort()) {
    const path = join(dir, file);
    if (file.endsWith('.metric.yaml')) lines.push(['metric', file.slice(0, -'.metric.yaml'.length), path]);
    else if (file.endsWith('.policy.yaml')) {
      const displayName = parse(readFileSync(path, 'utf8'))?.displayName;
      if (!displayName || !SAFE.test(displayName) || displayName.includes('"')) {
        fail(`${path}: an alerting policy needs a displayName (letters, digits, spaces, . _ : / , -)`);
      }
      lines.push(['policy', displayName, path]);
    } else if (file !== 'README.md') fail(`${path}: not a .metric.yaml or .policy.yaml file`);
  }
  return lines.map((l) => l.join('\t'));
}

/** Whether `current` has every field of `wanted` with the same value (extra fields in `current` are fine). */
export function contains(current, wanted) {
  if (wanted === null || typeof wanted !== 'object') return current === wanted;
  if (Array.isArray(wanted)) {
    return (
      Array.isArray(current) && current.length === wanted.length && wanted.every((w, i) => contains(current[i], w))
    );
  }
  return (
    current !== null &&
    typeof current === 'object' &&
    Object.entries(wanted).every(([key, value]) => contains(current[key], value))
  );
}

function main(argv) {
  const [command, ...rest] = argv;
  const o = options(rest);
  const values = () => {
    if (!o.project || !o['project-number']) fail('--project and --project-number are required');
    return { PROJECT_ID: o.project, PROJECT_NUMBER: o['project-number'], IMAGE: o.image };
  };
  switch (command) {
    case 'render': {
      if (!o.image) fail('--image is required');
      const { text, doc } = render(description(), values());
      const examples = o['allow-example-values'] ? [] : exampleValues(doc);
      if (examples.length) {
        fail(`deploy/service.yaml still has example values; set your own before deploying: ${examples.join(', ')}`);
      }
      if (o.out) {
        writeFileSync(o.out, text);
        return `wrote ${o.out}`;
      }
      return text;
    }
    case 'facts':
      return facts(render(description(), { ...values(), IMAGE: o.image ?? 'IMAGE' }).doc).join('\n');
    case 'firestore-plan':
      return firestorePlan({
        indexes: readJsonList(o.indexes),
        ttls: readJsonList(o.ttls),
        fields: readJsonList(o.fields),
      }).join('\n');
    case 'monitoring':
      return monitoringFiles().join('\n');
    case 'same': {
      // Exit 0 when every field the file sets has that value in the current resource (a list: its first item).
      const wanted = parse(readFileSync(o.file, 'utf8'));
      const listed = JSON.parse(o['current-json'] || 'null');
      const current = Array.isArray(listed) ? listed[0] : listed;
      if (!current || !contains(current, wanted)) process.exitCode = 1;
      return '';
    }
    default:
      fail('usage: deploy-config.mjs render|facts|firestore-plan|monitoring|same [options] (see the top of this file)');
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  try {
    const out = main(process.argv.slice(2));
    if (out) process.stdout.write(`${out}\n`);
  } catch (error) {
    process.stderr.write(`deploy-config: ${error instanceof UsageError ? error.message : error.stack}\n`);
    process.exit(error instanceof UsageError ? 2 : 1);
  }
}
