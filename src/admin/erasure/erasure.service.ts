import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { documentId } from '../../common/document-id.js';
import { AppError } from '../../common/errors/app-error.js';
import { redactEmails } from '../../common/personal-data.js';
import { Clock } from '../../entitlements/clock.js';
import type { EntitlementChange } from '../../entitlements/entitlement.js';
import type { LedgerResult } from '../../entitlements/inbound-event.js';
import type { EntitlementRecord } from '../../entitlements/ledger-plan.js';
import { Ledger } from '../../entitlements/ledger.js';
import { emailOfLegacyKey, legacyEmailSubjectKey, SubjectKeys } from '../../entitlements/subject.js';
import { AdminStore } from '../admin-store.js';
import { AuditTrail } from '../audit/audit-trail.js';
import type { Principal } from '../auth/roles.js';

export interface ErasureRequest {
  email?: string;
  subjectKey?: string;
  reason: string;
}

export interface ErasureResult {
  subjectKey: string;
  entitlements: { id: string; outcome: LedgerResult['outcome'] }[];
  /** Entitlements of other people (gifts) from which the person's e-mail as buyer was removed. */
  buyerReferencesRemoved: number;
  /** Event records whose raw payload named the person, now without it. */
  eventsScrubbed: number;
  accessDeleted: boolean;
}

/**
 * A person's request to be forgotten, for any source: every entitlement of the subject becomes an
 * anonymized tombstone through the ledger (subject and details gone, access removed, history and an
 * outbound change event written like any other change), the person's e-mail is removed where they
 * were the buyer of someone else's entitlement, and the raw payloads of the event records that
 * named them are dropped. Afterwards no document or id holds the e-mail (ids only ever held its
 * keyed digest). Marketplace customers are erased by ACCOUNT_DELETED instead.
 */
@Injectable()
export class ErasureRequests {
  constructor(
    private readonly store: AdminStore,
    private readonly ledger: Ledger,
    private readonly subjects: SubjectKeys,
    private readonly audit: AuditTrail,
    private readonly clock: Clock,
  ) {}

  erase(principal: Principal, request: ErasureRequest): Promise<ErasureResult & { auditId: string | null }> {
    const subjectKey = request.email ? this.subjects.emailKey(request.email) : request.subjectKey!;
    const reason = redactEmails(request.reason);
    return this.audit.perform(principal, 'subject.erase', { type: 'subject', id: subjectKey }, reason, async () => {
      await this.refuseLegacy(request);
      const requestId = randomUUID();
      const entitlements: ErasureResult['entitlements'] = [];
      for (const stored of await this.store.entitlementsOfSubject(subjectKey)) {
        const result = await this.eraseOne(stored, principal, requestId);
        entitlements.push({ id: stored.id, outcome: result.outcome });
      }
      const now = this.clock.now();
      const bought = await this.store.entitlementsBoughtBy(subjectKey);
      for (const id of bought) await this.store.forgetBuyer(id, now);
      const eventsScrubbed = await this.store.scrubEvents(subjectKey, now);
      const accessDeleted = await this.store.deleteAccess(subjectKey);
      const body: ErasureResult = {
        subjectKey,
        entitlements,
        buyerReferencesRemoved: bought.length,
        eventsScrubbed,
        accessDeleted,
      };
      return { body, answer: { ...body } };
    });
  }

  /**
   * Documents from before e-mails were hashed (`email:` keys, EasyCart ids ending in the address) must
   * be migrated first: erasing them in place would leave the address in their ids.
   */
  private async refuseLegacy(request: ErasureRequest): Promise<void> {
    const email = request.email ?? (request.subjectKey ? emailOfLegacyKey(request.subjectKey) : null);
    if (!email) return;
    const legacy = await this.store.entitlementsOfSubject(legacyEmailSubjectKey(email));
    if (legacy.length || request.subjectKey?.startsWith('email:')) {
      throw new AppError(
        'conflict',
        'This person has documents from before subject keys were hashed: run scripts/migrate-subject-keys.mjs first (docs/operations.md)',
        { legacyEntitlements: legacy.length },
      );
    }
  }

  private async eraseOne(stored: EntitlementRecord, principal: Principal, requestId: string): Promise<LedgerResult> {
    const eventKey = `erasure:${requestId}#${documentId(stored.id)}`;
    for (let attempt = 1; ; attempt++) {
      const change: EntitlementChange = {
        source: stored.source,
        eventKey,
        eventType: 'ERASURE_REQUESTED',
        // After everything applied so far (GetCourse orders by finish_at, which may lie ahead).
        sourceTime: new Date(Math.max(this.clock.now().getTime(), stored.sourceUpdatedAt.getTime())),
        externalId: stored.externalId,
        subject: stored.subject ?? { key: '' },
        product: null,
        status: 'cancelled',
        providerState: 'ERASED',
        actor: { type: 'admin', id: principal.id },
        erase: true,
      };
      const result = await this.ledger.apply(change, {
        source: stored.source,
        eventKey,
        eventType: 'ERASURE_REQUESTED',
        transport: { kind: 'admin', id: requestId },
      });
      // A provider event newer still landed in between: erase after it.
      if (result.outcome !== 'stale' || attempt >= 3) return result;
    }
  }
}
