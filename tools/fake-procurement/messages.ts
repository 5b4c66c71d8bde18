/**
 * The JSON Google publishes in a Marketplace Pub/Sub message's `data`. Messages are pointers
 * (ids and the resource's `updateTime`), never state: receivers re-fetch the resource.
 */
import { randomUUID } from 'node:crypto';

export const ACCOUNT_EVENT_TYPES = ['ACCOUNT_ACTIVE', 'ACCOUNT_DELETED', 'ACCOUNT_CREATION_REQUESTED'] as const;

export const ENTITLEMENT_EVENT_TYPES = [
  'ENTITLEMENT_CREATION_REQUESTED',
  'ENTITLEMENT_OFFER_ACCEPTED',
  'ENTITLEMENT_ACTIVE',
  'ENTITLEMENT_RENEWED',
  'ENTITLEMENT_PLAN_CHANGE_REQUESTED',
  'ENTITLEMENT_PLAN_CHANGED',
  'ENTITLEMENT_PLAN_CHANGE_CANCELLED',
  'ENTITLEMENT_PENDING_CANCELLATION',
  'ENTITLEMENT_CANCELLATION_REVERTED',
  'ENTITLEMENT_CANCELLING',
  'ENTITLEMENT_CANCELLED',
  'ENTITLEMENT_OFFER_ENDED',
  'ENTITLEMENT_DELETED',
  // Not in Google's documented event types (seen only in third-party code): what the fake publishes
  // when Google suspends an entitlement (tools/fake-procurement/README.md, [guess]).
  'ENTITLEMENT_SUSPENDED',
] as const;

export type AccountEventType = (typeof ACCOUNT_EVENT_TYPES)[number];
export type EntitlementEventType = (typeof ENTITLEMENT_EVENT_TYPES)[number];
export type MarketplaceEventType = AccountEventType | EntitlementEventType;

/** Optional, event-dependent pointer fields seen in Google's samples. */
export interface EntitlementMessageExtras {
  newPlan?: string;
  newProduct?: string;
  newOffer?: string;
  newOfferDuration?: string;
  newPendingOfferDuration?: string;
  newOfferStartTime?: string;
  newOfferEndTime?: string;
  orderId?: string;
  entitlementBenefitIds?: string[];
}

export interface EntitlementMessage {
  eventId: string;
  eventType: EntitlementEventType;
  providerId: string;
  entitlement: { id: string; updateTime: string } & EntitlementMessageExtras;
}

export interface AccountMessage {
  eventId: string;
  eventType: AccountEventType;
  providerId: string;
  account: { id: string; updateTime: string };
}

export type MarketplaceMessage = EntitlementMessage | AccountMessage;

export function entitlementMessage(
  eventType: EntitlementEventType,
  providerId: string,
  pointer: { id: string; updateTime: string },
  extras: EntitlementMessageExtras = {},
): EntitlementMessage {
  return {
    eventId: `${eventType}-${randomUUID()}`,
    eventType,
    providerId,
    entitlement: { id: pointer.id, updateTime: pointer.updateTime, ...definedOnly(extras) },
  };
}

export function accountMessage(
  eventType: AccountEventType,
  providerId: string,
  pointer: { id: string; updateTime: string },
): AccountMessage {
  return {
    eventId: `${eventType}-${randomUUID()}`,
    eventType,
    providerId,
    account: { id: pointer.id, updateTime: pointer.updateTime },
  };
}

function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
