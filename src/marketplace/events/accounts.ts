import type { Account } from '../procurement/procurement.client.js';

/** Account events. ACCOUNT_CREATION_REQUESTED is deprecated and handled like ACCOUNT_ACTIVE. */
export const ACCOUNT_EVENTS = ['ACCOUNT_ACTIVE', 'ACCOUNT_CREATION_REQUESTED', 'ACCOUNT_DELETED'] as const;

export type SignupState = 'PENDING' | 'APPROVED' | 'REJECTED' | 'STATE_UNSPECIFIED' | 'NONE';

export type AccountDecision =
  | { kind: 'mirror'; signup: SignupState; approveParked: boolean }
  | { kind: 'erase' }
  | { kind: 'ignore'; reason: string };

export function signupState(account: Account): SignupState {
  const approval = account.approvals?.find((a) => a.name === 'signup');
  if (!approval) return 'NONE';
  const state = approval.state ?? 'STATE_UNSPECIFIED';
  return (['PENDING', 'APPROVED', 'REJECTED'] as string[]).includes(state)
    ? (state as SignupState)
    : 'STATE_UNSPECIFIED';
}

/** From (eventType, fetched account): mirror it; once signup is APPROVED, approve what was parked. */
export function decideAccount(eventType: string, account: Account | null): AccountDecision {
  if (eventType === 'ACCOUNT_DELETED') return { kind: 'erase' };
  if (!(ACCOUNT_EVENTS as readonly string[]).includes(eventType)) {
    return { kind: 'ignore', reason: `unknown account event type ${eventType}` };
  }
  if (!account) return { kind: 'ignore', reason: 'account no longer exists (404)' };
  const signup = signupState(account);
  return { kind: 'mirror', signup, approveParked: signup === 'APPROVED' };
}
