/**
 * Pure helpers of the console: no DOM, no fetch (unit-tested in test/console/format.spec.ts).
 */

/** Bytes of UTF-8, as the Procurement API counts a reason (not characters). */
export function utf8Bytes(text: string): number {
  return new TextEncoder().encode(text).length;
}

/** "3 d 4 h", "2 h 5 min", "12 min", "just now": how long something has waited. */
export function age(from: string | Date | null | undefined, now: Date = new Date()): string {
  if (!from) return '—';
  const ms = now.getTime() - new Date(from).getTime();
  if (!Number.isFinite(ms)) return '—';
  const minutes = Math.floor(ms / 60_000);
  if (minutes < 1) return 'just now';
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  if (hours < 24) return `${hours} h ${minutes % 60} min`;
  return `${Math.floor(hours / 24)} d ${hours % 24} h`;
}

/** A time as people read it here: `2026-11-01 12:00 UTC`. */
export function when(value: string | Date | null | undefined): string {
  if (!value) return '—';
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) return String(value);
  return `${date.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

export interface Marketplace {
  accountId?: string;
  approval?: string | null;
  planChangeApproval?: string | null;
  [field: string]: unknown;
}

export interface EntitlementLike {
  product?: string;
  plan?: string | null;
  pendingPlan?: { plan: string | null; providerPlan: string } | null;
  details?: { marketplace?: Marketplace } & Record<string, unknown>;
}

/** Why an entitlement waits, in the policy's words (config/policy.yaml, docs/marketplace-signup.md). */
export function approvalReason(e: EntitlementLike): string {
  const stage = e.details?.marketplace?.approval;
  const what = `${e.product ?? '?'}${e.plan ? ` / ${e.plan}` : ''}`;
  switch (stage) {
    case 'awaiting_admin':
      return `Manual approval: the policy leaves ${what} to an approver`;
    case 'awaiting_account':
      return "Parked: the account's sign-up is not approved yet";
    case 'approval_requested':
      return 'Approved; waiting for Google to activate it';
    default:
      return stage ? `Stage ${stage}` : 'Waiting for approval';
  }
}

export function planChangeReason(e: EntitlementLike): string {
  const stage = e.details?.marketplace?.planChangeApproval;
  const target = e.pendingPlan?.plan ?? e.pendingPlan?.providerPlan ?? '?';
  switch (stage) {
    case 'awaiting_admin':
      return `Manual approval: the policy leaves changes to ${e.product ?? '?'} / ${target} to an approver`;
    case 'approval_requested':
      return 'Approved; takes effect when Google applies it (often at the end of the billing cycle)';
    default:
      return stage ? `Stage ${stage}` : 'Waiting for approval';
  }
}

export type SearchKind = 'entitlement' | 'email' | 'other';

const SOURCE_PREFIX = /^(gcp|purchasely|easycart|getcourse):\S/;

/** What a search box entry looks like: an entitlement id (`gcp:…`), an e-mail, or an account / user / bare id. */
export function searchKind(query: string): SearchKind {
  const q = query.trim();
  if (SOURCE_PREFIX.test(q)) return 'entitlement';
  if (/^[^\s@]+@[^\s@]+$/.test(q)) return 'email';
  return 'other';
}

/** `#/entitlements/gcp%3Aabc` → `['entitlements', 'gcp:abc']`; unknown hashes are the queue. */
export function parseRoute(hash: string): string[] {
  const path = hash.replace(/^#\/?/, '');
  if (!path) return ['queue'];
  return path.split('/').map((part) => {
    try {
      return decodeURIComponent(part);
    } catch {
      return part;
    }
  });
}

export function href(...parts: string[]): string {
  return `#/${parts.map(encodeURIComponent).join('/')}`;
}

/** The claims of a JWT, unverified (the API verifies; the page only reads `exp` and `email` to show them). */
export function jwtClaims(token: string): { exp?: number; email?: string } | null {
  const payload = token.split('.')[1];
  if (!payload) return null;
  try {
    const json = atob(
      payload
        .replace(/-/g, '+')
        .replace(/_/g, '/')
        .padEnd(Math.ceil(payload.length / 4) * 4, '='),
    );
    const claims = JSON.parse(json) as unknown;
    return claims && typeof claims === 'object' ? (claims as { exp?: number; email?: string }) : null;
  } catch {
    return null;
  }
}

/** Largest first; `figures` of a lifecycle run as `name: value` pairs worth showing (zeros of lists left out). */
export function figureList(figures: Record<string, number>): [string, number][] {
  return Object.entries(figures).filter(([name, value]) => value !== 0 || !name.includes('.'));
}
