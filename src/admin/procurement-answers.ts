import { AppError, TransientError } from '../common/errors/app-error.js';
import type { EntitlementRecord } from '../entitlements/ledger-plan.js';
import { signupState } from '../marketplace/events/accounts.js';
import { ProcurementError } from '../marketplace/procurement/procurement-errors.js';
import type { Account, Entitlement } from '../marketplace/procurement/procurement.client.js';

/** The parts of a fetched entitlement an admin needs to see why an action no longer applies. */
export function entitlementState(e: Entitlement) {
  return {
    name: e.name ?? null,
    state: e.state ?? null,
    product: e.productExternalName ?? e.product ?? null,
    plan: e.plan ?? null,
    newPendingPlan: e.newPendingPlan ?? null,
    newOfferStartTime: e.newOfferStartTime ?? null,
    account: e.account ?? null,
    updateTime: e.updateTime ?? null,
  };
}

export function accountState(a: Account) {
  const signup = a.approvals?.find((x) => x.name === 'signup');
  return {
    name: a.name ?? null,
    state: a.state ?? null,
    signup: { state: signupState(a), reason: signup?.reason ?? null, updateTime: signup?.updateTime ?? null },
    updateTime: a.updateTime ?? null,
  };
}

export function storedState(e: EntitlementRecord) {
  return {
    id: e.id,
    status: e.status,
    active: e.active,
    product: e.product,
    plan: e.plan,
    pendingPlan: e.pendingPlan,
    providerState: e.providerState,
    version: e.version,
    updatedAt: e.updatedAt,
    marketplace: e.details.marketplace ?? null,
  };
}

/** Reads from the Procurement API before an action: a failure is a 503 (try again), never a refusal. */
export async function read<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    if (error instanceof ProcurementError && !error.retryable) {
      throw new AppError('unavailable', `The Procurement API refused to read ${what}: ${error.message}`);
    }
    throw new TransientError(`The Procurement API is unavailable (${what})`, error);
  }
}

/**
 * A Procurement call that failed. A precondition failure means the state moved on (or the account is
 * not approved): the caller gets 409 with the current state, built by `conflict`. Anything else is
 * ours or Google's to fix, not the caller's: 503.
 */
export async function callRefused(error: unknown, what: string, conflict: () => Promise<AppError>): Promise<AppError> {
  if (error instanceof ProcurementError && (error.kind === 'failed_precondition' || error.kind === 'not_found')) {
    return conflict();
  }
  if (error instanceof ProcurementError && !error.retryable) {
    return new AppError('unavailable', `The Procurement API refused ${what}: ${error.message}`, { kind: error.kind });
  }
  if (error instanceof AppError) return error;
  return new TransientError(`The Procurement API is unavailable (${what})`, error);
}
