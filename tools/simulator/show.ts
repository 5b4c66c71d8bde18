/**
 * `show`: what the service wrote to Firestore, for a person watching the sandbox. With an id, the
 * entitlement (product, plan, status, validity, source, approval) and its subject's access summary
 * (docs/firestore.md); without one, the latest entitlements, one line each. `--json` prints the
 * documents as they are (timestamps as ISO strings) on one line, for scripts.
 */
import type { DocumentData, Firestore } from '@google-cloud/firestore';

const SOURCES: Record<string, string> = {
  gcp: 'Google Cloud Marketplace',
  purchasely: 'Purchasely',
  easycart: 'EasyCart',
  getcourse: 'GetCourse',
};
const LIST_LIMIT = 20;

type Out = (line: string) => void;

/** `show [id] [--json]`; resolves to the exit code (1: no such entitlement). */
export async function show(db: Firestore, id: string | undefined, json: boolean, out: Out): Promise<number> {
  if (!id) return list(db, json, out);
  const docId = id.includes(':') ? id : `gcp:${id}`;
  const snapshot = await db.collection('entitlements').doc(docId).get();
  const entitlement = snapshot.data();
  if (!entitlement) {
    out(`entitlement ${docId} is not in Firestore (yet): the service may still be on it; try again in a moment`);
    return 1;
  }
  const key = (entitlement['subject'] as { key?: string } | null)?.key;
  const access = key ? (await db.collection('access').doc(key).get()).data() : undefined;
  if (json) out(JSON.stringify(plain({ entitlement, access: access ?? null })));
  else for (const line of describeEntitlement(entitlement, key, access)) out(line);
  return 0;
}

async function list(db: Firestore, json: boolean, out: Out): Promise<number> {
  const latest = await db.collection('entitlements').orderBy('updatedAt', 'desc').limit(LIST_LIMIT).get();
  if (json) {
    out(JSON.stringify(plain(latest.docs.map((d) => d.data()))));
    return 0;
  }
  if (latest.empty) {
    out('no entitlements in Firestore yet: try `npm run simulate -- buy --plan pro`');
    return 0;
  }
  out(latest.size === 1 ? 'the latest entitlement:' : `the latest ${latest.size} entitlements, newest first:`);
  for (const doc of latest.docs) {
    const e = doc.data();
    const subject = (e['subject'] as { key?: string } | null)?.key ?? '(erased)';
    out(
      `  ${doc.id}  ${String(e['status'])}, ${e['active'] ? 'access' : 'no access'}  ${productPlan(e)}  ${subject}  updated ${time(e['updatedAt'])}`,
    );
  }
  out('details: npm run simulate -- show <id>');
  return 0;
}

/** The readable block for one entitlement document and its subject's access document. */
export function describeEntitlement(
  e: DocumentData,
  key: string | undefined,
  access: DocumentData | undefined,
): string[] {
  const marketplace = (e['details'] as { marketplace?: Record<string, unknown> } | undefined)?.marketplace;
  const pending = e['pendingPlan'] as { plan?: string | null } | null | undefined;
  const lastEvent = e['lastEvent'] as { type?: string; at?: unknown } | undefined;
  const source = String(e['source']);
  const providerCodes = [e['providerProduct'], e['providerPlan']].filter(Boolean).join(' / ');
  const lines = [
    `entitlement ${String(e['id'])}`,
    row('source', `${SOURCES[source] ?? source}, ${String(e['providerState'] ?? '')}`.replace(/, $/, '')),
    row('product', `${productPlan(e)}${providerCodes ? `  (provider: ${providerCodes})` : ''}`),
    row('status', `${String(e['status'])}: ${e['active'] ? 'grants access now' : 'no access'}`),
    row('valid', validity(e['validFrom'], e['validUntil'])),
  ];
  if (pending?.plan) lines.push(row('pending', `plan change to ${pending.plan}`));
  if (e['periodEnd']) lines.push(row('ends', `${time(e['periodEnd'])} (end of the paid period)`));
  if (marketplace?.['approval']) lines.push(row('approval', String(marketplace['approval'])));
  lines.push(row('subject', key ?? '(erased)'));
  lines.push(
    row(
      'updated',
      `${time(e['updatedAt'])}, version ${String(e['version'])}${lastEvent?.type ? `, last event ${lastEvent.type}` : ''}`,
    ),
  );
  if (!key) return lines;
  if (!access) {
    lines.push(`access/${key}: no document (nothing usable)`);
    return lines;
  }
  const entries = Object.entries((access['entitlements'] as Record<string, DocumentData> | undefined) ?? {});
  const usable = entries.length
    ? `${entries.length} usable entitlement${entries.length === 1 ? '' : 's'}`
    : 'nothing usable now';
  lines.push(`access/${key}: ${usable}, version ${String(access['version'])}`);
  for (const [entitlementId, entry] of entries) {
    lines.push(
      `  ${productPlan(entry)}  ${String(entry['status'])}  ${validity(entry['validFrom'], entry['validUntil'])}  ${String(entry['source'])}  ${entitlementId}`,
    );
  }
  return lines;
}

function row(label: string, value: string): string {
  return `  ${label.padEnd(9)}${value}`;
}

function productPlan(e: DocumentData): string {
  return `${String(e['product'])}, plan ${e['plan'] ? String(e['plan']) : '(none)'}`;
}

function validity(from: unknown, until: unknown): string {
  return `${from ? `from ${time(from)}` : 'from the start'} ${until ? `until ${time(until)}` : 'with no end'}`;
}

/** A Firestore Timestamp (or Date) as `2026-12-02 18:01:00 UTC`. */
function time(value: unknown): string {
  const date = toDate(value);
  return date ? `${date.toISOString().slice(0, 19).replace('T', ' ')} UTC` : '-';
}

function toDate(value: unknown): Date | undefined {
  if (value instanceof Date) return value;
  if (value && typeof (value as { toDate?: unknown }).toDate === 'function')
    return (value as { toDate(): Date }).toDate();
  return undefined;
}

/** The documents with Timestamps as ISO strings, for `--json`. */
function plain(value: unknown): unknown {
  const date = toDate(value);
  if (date) return date.toISOString();
  if (Array.isArray(value)) return value.map(plain);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]));
  }
  return value;
}
