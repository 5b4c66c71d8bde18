import type { Firestore } from '@google-cloud/firestore';
import { fromFirestore } from '../../src/infrastructure/firestore/firestore-values.js';
import { accessKey, type AccessSummary, type EntitlementRecord } from '../../src/entitlements/ledger-plan.js';
import { expectAccess, policyGraceMs } from './access-rules.js';

/**
 * Scans every entitlement and access document: for each subject, the access summary must list
 * exactly the subject's entitlements that grant access, with their product. Which ones grant access
 * is derived here from the inputs (status, validity window, erasure) by the rules of
 * ./access-rules.ts (with the grace of config/policy.yaml) at the time the entitlement was last written, never from the `active` flag the
 * code under test wrote (that flag is checked against the same rule). Returns the disagreements.
 */
export async function accessInvariantViolations(db: Firestore): Promise<string[]> {
  const [entitlements, access] = await Promise.all([
    db.collection('entitlements').get(),
    db.collection('access').get(),
  ]);
  const expected = new Map<string, Map<string, string>>();
  const problems: string[] = [];
  for (const doc of entitlements.docs) {
    const e = fromFirestore<EntitlementRecord>(doc.data());
    const grants = expectAccess(e, e.updatedAt, policyGraceMs(e.source));
    if (e.active !== grants)
      problems.push(`${e.id}: active ${e.active}, but ${e.status} in its window grants ${grants}`);
    if (!grants || !e.subject) continue;
    const bySubject = expected.get(e.subject.key) ?? new Map<string, string>();
    bySubject.set(accessKey(e.id), e.product);
    expected.set(e.subject.key, bySubject);
  }
  const seen = new Set<string>();
  for (const doc of access.docs) {
    const summary = fromFirestore<AccessSummary>(doc.data());
    seen.add(summary.subjectKey);
    const want = expected.get(summary.subjectKey) ?? new Map<string, string>();
    const got = new Map(Object.entries(summary.entitlements).map(([key, e]) => [key, e.product]));
    for (const [key, entry] of Object.entries(summary.entitlements)) {
      if (accessKey(entry.entitlementId) !== key)
        problems.push(`${summary.subjectKey}: entry ${key} names ${entry.entitlementId}`);
    }
    const wantIds = [...want.keys()].sort().join(',');
    const gotIds = [...got.keys()].sort().join(',');
    if (wantIds !== gotIds)
      problems.push(`${summary.subjectKey}: summary lists [${gotIds}], granting access are [${wantIds}]`);
    const products = [...new Set(want.values())].sort().join(',');
    if (products !== [...summary.products].sort().join(',')) {
      problems.push(
        `${summary.subjectKey}: products [${summary.products.join(',')}] but active products [${products}]`,
      );
    }
  }
  for (const key of expected.keys())
    if (!seen.has(key)) problems.push(`${key}: active entitlements but no access document`);
  return problems;
}
