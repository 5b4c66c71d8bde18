import { Injectable } from '@nestjs/common';
import type { AppError } from '../../common/errors/app-error.js';
import type { EntitlementChange } from '../../entitlements/entitlement.js';
import type { InboundEvent, LedgerResult } from '../../entitlements/inbound-event.js';
import { Ledger } from '../../entitlements/ledger.js';
import { refusedFieldsOf } from './zod-body.js';

/** What a provider mapper makes of one verified, schema-valid payload. */
export type Mapped =
  | { kind: 'changes'; changes: EntitlementChange[] }
  | { kind: 'ignored'; reason: string }
  /** Valid payload we cannot apply as configured (e.g. unknown product): recorded, replayable after a config fix. */
  | { kind: 'invalid'; reason: string };

export interface IntakeResult {
  /** The overall outcome: `applied` if any change applied, else the first change's outcome. */
  outcome: LedgerResult['outcome'];
  results: LedgerResult[];
}

/**
 * The common tail of every webhook: record or apply what the mapper produced, each change under
 * its own event key, through the one ledger. Transient failures propagate as TransientError (503).
 */
@Injectable()
export class WebhookIntake {
  constructor(private readonly ledger: Ledger) {}

  async accept(event: InboundEvent, mapped: Mapped): Promise<IntakeResult> {
    if (mapped.kind !== 'changes') {
      const result = await this.ledger.record(event, mapped.kind, mapped.reason);
      return { outcome: result.outcome, results: [result] };
    }
    const results: LedgerResult[] = [];
    for (const change of mapped.changes) {
      // One event record per change: a payload naming several products yields several entitlements.
      const key = mapped.changes.length > 1 ? `${event.eventKey}#${change.externalId}` : event.eventKey;
      results.push(await this.ledger.apply({ ...change, eventKey: key }, { ...event, eventKey: key }));
    }
    const outcome = results.some((r) => r.outcome === 'applied') ? 'applied' : (results[0]?.outcome ?? 'ignored');
    return { outcome, results };
  }

  /** A request that failed verification: recorded (raw capped) so it can be inspected. */
  async reject(event: InboundEvent, reason: string): Promise<void> {
    await this.ledger.record(event, 'invalid', reason);
  }

  /**
   * A verified request refused for its content (the 400 names the fields): recorded `invalid`
   * with the fields named, so it is listed, counted and, for a value that bounds access,
   * resolvable by an approver (docs/input-rules.md). Answers `duplicate` when the record under
   * that key is already final (an approver resolved it): the redelivery is then acknowledged.
   */
  refuse(event: InboundEvent, error: AppError): Promise<LedgerResult> {
    return this.ledger.record({ ...event, refusedFields: refusedFieldsOf(error) }, 'invalid', error.message);
  }
}
