import { Injectable } from '@nestjs/common';
import { AppError } from '../../common/errors/app-error.js';
import { AppLogger } from '../../common/logging/app-logger.js';
import { Clock } from '../../entitlements/clock.js';
import { AdminStore, type AuditAction, type AuditEntry } from '../admin-store.js';
import type { Principal } from '../auth/roles.js';

export interface Performed<T> {
  /** What the caller gets back. */
  body: T;
  /** What the audit entry keeps: the Procurement API's answer and what the ledger made of it. */
  answer: Record<string, unknown>;
}

/**
 * Runs one admin action and writes its audit entry (`audit/{autoId}`) whatever the outcome: done,
 * refused (it no longer applied: 404/409, nothing was called) or failed. A failed audit write after
 * the action was made does not undo or hide the action: the entry goes to the error log in full.
 */
@Injectable()
export class AuditTrail {
  constructor(
    private readonly store: AdminStore,
    private readonly clock: Clock,
    private readonly logger: AppLogger,
  ) {}

  async perform<T extends object>(
    principal: Principal,
    action: AuditAction,
    target: AuditEntry['target'],
    reason: string | null,
    run: () => Promise<Performed<T>>,
  ): Promise<T & { auditId: string | null }> {
    const entry = (outcome: AuditEntry['outcome'], answer: Record<string, unknown>): AuditEntry => ({
      at: this.clock.now(),
      actor: { kind: principal.kind, id: principal.id },
      role: principal.role,
      action,
      target,
      reason,
      outcome,
      answer,
    });
    let performed: Performed<T>;
    try {
      performed = await run();
    } catch (error) {
      const refused = error instanceof AppError && (error.code === 'conflict' || error.code === 'not_found');
      const answer =
        error instanceof AppError
          ? { code: error.code, message: error.message, ...(error.details ? { details: error.details } : {}) }
          : { code: 'internal', message: (error as Error)?.message ?? String(error) };
      await this.append(entry(refused ? 'refused' : 'failed', answer));
      throw error;
    }
    const auditId = await this.append(entry('done', performed.answer));
    return { ...performed.body, auditId };
  }

  private async append(entry: AuditEntry): Promise<string | null> {
    try {
      return await this.store.appendAudit(entry);
    } catch (error) {
      this.logger.failure('audit entry not written', { audit: entry, error });
      return null;
    }
  }
}
