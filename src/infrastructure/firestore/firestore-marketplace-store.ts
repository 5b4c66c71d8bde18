import { Firestore, Timestamp } from '@google-cloud/firestore';
import { Injectable } from '@nestjs/common';
import { AppConfig } from '../../config/app-config.js';
import { isFinalOutcome } from '../../entitlements/ledger-plan.js';
import type { InboundEvent, LedgerResult } from '../../entitlements/inbound-event.js';
import {
  MarketplaceStore,
  type AccountLink,
  type AccountMirror,
  type AccountRecord,
  type ActionKind,
  type ClaimResult,
  type LinkAttempt,
  type LinkTokenGrant,
  type OrderLink,
  type SignupData,
  type SignupTokenUse,
} from '../../marketplace/marketplace-store.js';
import { COLLECTIONS, documentId } from './collections.js';
import { eventRef, eventRetentionMs, priorOutcome, writeEventRecord } from './event-records.js';
import { fromFirestore } from './firestore-values.js';
import { AlreadyExists, readWithDeadline, TransactionRunner, withDeadline } from './transaction-runner.js';

/**
 * `linkTokens/{nonce}` and `signupTokens/{digest}` (docs/marketplace-signup.md); kept until a day after
 * expiry by the `expireAt` TTL (a sign-up token is refused by its own expiry before then).
 */
const TOKEN_RETENTION_MS = 86_400_000;

interface LinkTokenDoc {
  accountId: string;
  expiresAt: Date;
  consumedAt: Date | null;
  userId: string | null;
  completedAt: Date | null;
  /** Order ids of the sign-up token; absent on tokens issued before orders were kept. */
  orders?: string[];
  /** The orders the link call that consumed the token claimed (empty: the whole account). */
  orderIds?: string[];
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x) => b.includes(x));
}

@Injectable()
export class FirestoreMarketplaceStore extends MarketplaceStore {
  private readonly retentionMs: number;

  constructor(
    private readonly db: Firestore,
    private readonly runner: TransactionRunner,
    config: AppConfig,
  ) {
    super();
    this.retentionMs = eventRetentionMs(config);
  }

  async applyAccount(mirror: AccountMirror, event: InboundEvent, now: Date): Promise<LedgerResult> {
    const ref = this.accountRef(mirror.accountId);
    try {
      return await this.runner.run(`account ${mirror.accountId}`, [`acct:${mirror.accountId}`], async (tx) => {
        const evRef = eventRef(this.db, event);
        const [evSnap, snap] = await tx.getAll(evRef, ref);
        const prior = priorOutcome(evSnap);
        if (prior && isFinalOutcome(prior.outcome)) return { outcome: 'duplicate' };
        const existing = snap?.exists ? fromFirestore<AccountRecord>(snap.data()) : null;
        const stale = existing && mirror.sourceUpdatedAt.getTime() < existing.sourceUpdatedAt.getTime();
        const outcome = stale ? 'stale' : 'applied';
        writeEventRecord(tx, evRef, evSnap, { event, outcome, now, retentionMs: this.retentionMs });
        if (!stale) {
          tx.set(
            ref,
            {
              ...mirror,
              createdAt: existing?.createdAt ?? now,
              updatedAt: now,
              version: (existing?.version ?? 0) + 1,
            },
            { merge: true },
          );
        }
        return { outcome };
      });
    } catch (error) {
      if (error instanceof AlreadyExists) return { outcome: 'duplicate' };
      throw error;
    }
  }

  async getAccount(accountId: string): Promise<AccountRecord | null> {
    const snap = await readWithDeadline(this.accountRef(accountId).get());
    return snap.exists ? fromFirestore<AccountRecord>(snap.data()) : null;
  }

  async eraseAccount(accountId: string, event: InboundEvent, now: Date): Promise<LedgerResult> {
    try {
      return await this.runner.run(`erase account ${accountId}`, [`acct:${accountId}`], async (tx) => {
        const evRef = eventRef(this.db, event);
        const evSnap = await tx.get(evRef);
        const prior = priorOutcome(evSnap);
        if (prior && isFinalOutcome(prior.outcome)) return { outcome: 'duplicate' };
        // Link and sign-up token records name the account (and the product user): erased with the account.
        const [tokens, uses] = await Promise.all([
          tx.get(this.db.collection(COLLECTIONS.linkTokens).where('accountId', '==', accountId)),
          tx.get(this.db.collection(COLLECTIONS.signupTokens).where('accountId', '==', accountId)),
        ]);
        writeEventRecord(tx, evRef, evSnap, { event, outcome: 'applied', now, retentionMs: this.retentionMs });
        tx.delete(this.accountRef(accountId));
        for (const token of [...tokens.docs, ...uses.docs]) tx.delete(token.ref);
        return { outcome: 'applied' };
      });
    } catch (error) {
      if (error instanceof AlreadyExists) return { outcome: 'duplicate' };
      throw error;
    }
  }

  async entitlementIdsOfAccount(accountId: string): Promise<string[]> {
    const snap = await readWithDeadline(
      this.db
        .collection(COLLECTIONS.entitlements)
        .where('details.marketplace.accountId', '==', accountId)
        .select()
        .get(),
    );
    return snap.docs.map((d) => d.id);
  }

  async claim(key: string, kind: ActionKind, leaseMs: number, now: Date): Promise<ClaimResult> {
    const ref = this.db.collection(COLLECTIONS.actions).doc(documentId(key));
    return this.runner.run(`claim ${key}`, [`act:${key}`], async (tx) => {
      const snap = await tx.get(ref);
      let result: ClaimResult = 'claimed';
      if (snap.exists) {
        const done = snap.get('completedAt') !== undefined && snap.get('completedAt') !== null;
        const leaseUntil = (snap.get('leaseUntil') as Timestamp | undefined)?.toMillis() ?? 0;
        if (done) return 'done';
        if (leaseUntil > now.getTime()) return 'held';
        result = 'reclaimed';
      }
      tx.set(ref, {
        key,
        kind,
        claimedAt: now,
        leaseUntil: Timestamp.fromMillis(now.getTime() + leaseMs),
        completedAt: null,
        attempts: (snap.exists ? ((snap.get('attempts') as number | undefined) ?? 1) : 0) + 1,
      });
      return result;
    });
  }

  async completeAction(key: string, result: Record<string, unknown>, now: Date): Promise<void> {
    const write = this.db
      .collection(COLLECTIONS.actions)
      .doc(documentId(key))
      .set({ completedAt: now, result }, { merge: true });
    await withDeadline(write, 5_000, 'Firestore write timed out');
  }

  async isActionDone(key: string): Promise<boolean> {
    const snap = await readWithDeadline(this.db.collection(COLLECTIONS.actions).doc(documentId(key)).get());
    return snap.exists && snap.get('completedAt') !== null && snap.get('completedAt') !== undefined;
  }

  async releaseAction(key: string): Promise<void> {
    await withDeadline(
      this.db.collection(COLLECTIONS.actions).doc(documentId(key)).delete(),
      5_000,
      'Firestore write timed out',
    );
  }

  async recordSignup(
    mirror: AccountMirror,
    google: SignupData,
    grant: LinkTokenGrant,
    use: SignupTokenUse,
    now: Date,
  ): Promise<'recorded' | 'replayed'> {
    const ref = this.accountRef(mirror.accountId);
    const useRef = this.db.collection(COLLECTIONS.signupTokens).doc(documentId(use.digest));
    const locks = [`acct:${mirror.accountId}`, `link:${grant.nonce}`, `signup-token:${use.digest}`];
    try {
      return await this.runner.run(`signup ${mirror.accountId}`, locks, async (tx) => {
        const [snap, useSnap] = await tx.getAll(ref, useRef);
        if (useSnap?.exists) return 'replayed' as const;
        // Created with the sign-up it allowed: a failed sign-up leaves the token usable for the browser's retry.
        tx.create(useRef, {
          accountId: mirror.accountId,
          jti: use.jti,
          receivedAt: now,
          expireAt: Timestamp.fromMillis(use.expiresAt.getTime() + TOKEN_RETENTION_MS),
        });
        const version = ((snap?.get('version') as number | undefined) ?? 0) + 1;
        // update() replaces the whole `google` map; a merge would keep fields an older token had and this one lacks.
        if (snap?.exists) tx.update(ref, { google, updatedAt: now, version });
        else tx.create(ref, { ...mirror, google, createdAt: now, updatedAt: now, version });
        tx.create(this.linkTokenRef(grant.nonce), {
          accountId: grant.accountId,
          expiresAt: grant.expiresAt,
          createdAt: now,
          consumedAt: null,
          userId: null,
          linkedBy: null,
          completedAt: null,
          orders: grant.orders,
          expireAt: Timestamp.fromMillis(grant.expiresAt.getTime() + TOKEN_RETENTION_MS),
        });
        return 'recorded' as const;
      });
    } catch (error) {
      // Two deliveries of the same token raced: the other one created the record.
      if (error instanceof AlreadyExists) return 'replayed';
      throw error;
    }
  }

  async linkAccount(link: AccountLink, now: Date): Promise<LinkAttempt> {
    const ref = this.accountRef(link.accountId);
    const tokenRef = this.linkTokenRef(link.nonce);
    return this.runner.run(`link ${link.accountId}`, [`acct:${link.accountId}`, `link:${link.nonce}`], async (tx) => {
      const [tokenSnap, snap] = await tx.getAll(tokenRef, ref);
      const token = tokenSnap?.exists ? fromFirestore<LinkTokenDoc>(tokenSnap.data()) : null;
      if (!token || token.accountId !== link.accountId) return { ok: false, reason: 'unknown_token' };
      if (token.expiresAt.getTime() <= now.getTime()) return { ok: false, reason: 'expired' };
      if (token.consumedAt) {
        // A retry of the same call (same user, same orders) whose link did not complete: let it finish.
        const sameOrders = sameSet(token.orderIds ?? [], link.orderIds);
        const retry = token.userId === link.userId && sameOrders && !token.completedAt;
        return retry ? { ok: true, resumed: true } : { ok: false, reason: 'reused' };
      }
      if (!snap?.exists) return { ok: false, reason: 'no_account' };
      const linked = snap.get('linkedUserId') as string | null | undefined;
      // The whole account is one user's: moving it, or one of its orders, is an admin decision.
      if (linked && linked !== link.userId) return { ok: false, reason: 'linked_to_other_user' };
      const orderLinks = (snap.get('orderLinks') as Record<string, OrderLink> | undefined) ?? {};
      if (link.orderIds.some((order) => !(token.orders ?? []).includes(order))) {
        return { ok: false, reason: 'order_not_in_signup' };
      }
      if (link.orderIds.some((order) => orderLinks[order] && orderLinks[order].userId !== link.userId)) {
        return { ok: false, reason: 'order_linked_to_other_user' };
      }
      tx.update(tokenRef, { consumedAt: now, userId: link.userId, linkedBy: link.linkedBy, orderIds: link.orderIds });
      const version = ((snap.get('version') as number | undefined) ?? 0) + 1;
      if (link.orderIds.length > 0) {
        const claimed = Object.fromEntries(
          link.orderIds.map((order) => [
            order,
            orderLinks[order] ?? {
              userId: link.userId,
              subjectKey: link.subjectKey,
              linkedAt: now,
              linkedBy: link.linkedBy,
            },
          ]),
        );
        // The whole map is written: order ids are not safe as field paths.
        tx.update(ref, { orderLinks: { ...orderLinks, ...claimed }, updatedAt: now, version });
      } else {
        tx.update(ref, {
          linkedUserId: link.userId,
          linkedSubjectKey: link.subjectKey,
          ...(linked ? {} : { linkedAt: now }),
          linkedBy: link.linkedBy,
          updatedAt: now,
          version,
        });
      }
      return { ok: true, resumed: false };
    });
  }

  async resetAccount(mirror: AccountMirror, event: InboundEvent, now: Date): Promise<LedgerResult> {
    const ref = this.accountRef(mirror.accountId);
    try {
      return await this.runner.run(`reset account ${mirror.accountId}`, [`acct:${mirror.accountId}`], async (tx) => {
        const evRef = eventRef(this.db, event);
        const [evSnap, snap] = await tx.getAll(evRef, ref);
        const prior = priorOutcome(evSnap);
        if (prior && isFinalOutcome(prior.outcome)) return { outcome: 'duplicate' };
        const tokens = await tx.get(
          this.db.collection(COLLECTIONS.linkTokens).where('accountId', '==', mirror.accountId),
        );
        writeEventRecord(tx, evRef, evSnap, { event, outcome: 'applied', now, retentionMs: this.retentionMs });
        const existing = snap?.exists ? fromFirestore<AccountRecord>(snap.data()) : null;
        tx.set(ref, {
          ...mirror,
          createdAt: existing?.createdAt ?? now,
          updatedAt: now,
          version: (existing?.version ?? 0) + 1,
        });
        // The account starts again from the purchase: no sign-up data, no link, no pending link token.
        for (const token of tokens.docs) tx.delete(token.ref);
        return { outcome: 'applied' };
      });
    } catch (error) {
      if (error instanceof AlreadyExists) return { outcome: 'duplicate' };
      throw error;
    }
  }

  async completeLink(nonce: string, now: Date): Promise<void> {
    await withDeadline(this.linkTokenRef(nonce).update({ completedAt: now }), 5_000, 'Firestore write timed out');
  }

  private linkTokenRef(nonce: string) {
    return this.db.collection(COLLECTIONS.linkTokens).doc(documentId(nonce));
  }

  private accountRef(accountId: string) {
    return this.db.collection(COLLECTIONS.accounts).doc(documentId(accountId));
  }
}
