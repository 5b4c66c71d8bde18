/** The shapes the console reads from `/admin/v1` (the OpenAPI document, GET /admin/v1/openapi.json, has them all). */
import type { Marketplace } from './format.js';

export interface Entitlement {
  id: string;
  source: string;
  externalId: string;
  subject: { key: string; userId?: string; email?: string; anonymousId?: string; accountId?: string } | null;
  product: string;
  plan: string | null;
  providerProduct: string;
  providerPlan: string | null;
  pendingPlan: { plan: string | null; providerPlan: string } | null;
  status: string;
  active: boolean;
  providerState: string;
  validFrom: string | null;
  validUntil: string | null;
  periodEnd: string | null;
  createdAt: string;
  updatedAt: string;
  lastEvent?: { key: string; type: string; at: string };
  details: { marketplace?: Marketplace } & Record<string, unknown>;
  erasedAt?: string | null;
}

export interface HistoryEntry {
  id: string;
  eventKey: string;
  eventType: string;
  actor: { type: string; id: string };
  at: string;
  before: { status: string; active: boolean; plan: string | null } | null;
  after: { status: string; active: boolean; plan: string | null };
}

export interface Account {
  accountId: string;
  provider?: string;
  state: string;
  signup: { state: string; updateTime: string | null };
  createdAt?: string;
  updatedAt?: string;
  linkedUserId?: string | null;
}

export interface InboundEvent {
  id: string;
  source: string;
  eventKey: string;
  eventType: string;
  outcome: string;
  reason: string | null;
  entitlementId: string | null;
  transport: { kind: string; id?: string };
  attempts: number;
  receivedAt: string;
  updatedAt: string;
  rawTruncated: boolean;
  refusedFields: string[] | null;
  resolution: { actor: { kind: string; id: string }; reason: string; at: string } | null;
  /** A `REFUSED` record: requests refused before anyone was authenticated, counted per source, reason and hour. */
  refusals?: { count: number; throttled: number; firstAt: string; lastAt: string };
  raw?: string | null;
}

export interface AuditEntry {
  id: string;
  at: string;
  actor: { kind: string; id: string };
  role: string;
  action: string;
  target: { type: string; id: string; plan?: string };
  reason: string | null;
  outcome: 'done' | 'refused' | 'failed';
}

export interface Run {
  runId: string;
  job: string;
  startedAt: string;
  finishedAt: string;
  ok: boolean;
  error: string | null;
  figures: Record<string, number>;
  report: Record<string, unknown> | null;
}

export interface EventCounts {
  since: string;
  until: string;
  hours: number;
  total: number;
  counts: { source: string; outcome: string; count: number }[];
}
