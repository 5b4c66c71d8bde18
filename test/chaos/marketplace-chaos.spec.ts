import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Firestore, type DocumentReference } from '@google-cloud/firestore';
import { PubSub, type Topic } from '@google-cloud/pubsub';
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { startFakeProcurement, type FakeProcurement } from '../../tools/fake-procurement/server.js';
import type { Result } from '../../tools/fake-procurement/errors.js';
import type { MarketplaceMessage } from '../../tools/fake-procurement/messages.js';
import type { MarketplaceOutcome } from '../../tools/fake-procurement/requests.js';
import type { Entitlement } from '../../tools/fake-procurement/types.js';
import { statusOf } from '../../src/marketplace/entitlement-state.js';
import type { EntitlementRecord } from '../../src/entitlements/ledger-plan.js';
import { documentId, eventDocumentId } from '../../src/infrastructure/firestore/collections.js';
import { fromFirestore } from '../../src/infrastructure/firestore/firestore-values.js';
import { accessInvariantViolations } from '../support/invariants.js';
import { ServiceProcess, snapshotBuild } from './service-process.js';

/**
 * Chaos: the Marketplace consumer PROCESS (the built bundle, `node dist/service.cjs`, streaming pull on) is
 * SIGKILLed at random points and restarted while it works through a shuffled stream of Marketplace
 * events in which every message is published 1–3 times. Afterwards:
 *  - every event is recorded once in `events/`, none failed or invalid;
 *  - every entitlement's status and plan in Firestore equal the model: Google's final record (the
 *    fake Procurement API's state) mapped to our status;
 *  - every access summary agrees with its entitlements;
 *  - no entitlement was approved twice (`entitlements.approve` and `approvePlanChange` at most once).
 * Some entitlements arrive as ENTITLEMENT_CREATION_REQUESTED and must be approved by the service;
 * the test activates them in the fake once approved (as Google does) and publishes what follows.
 * Google's own behaviours are mixed in: purchases Google approves itself (ENTITLEMENT_OFFER_ACCEPTED
 * only; the service must never call approve), plan changes that apply at once when approved
 * (ENTITLEMENT_PLAN_CHANGED, also after the service's own approvals, through the fake's publisher),
 * rejected plan changes (ENTITLEMENT_PLAN_CHANGE_CANCELLED) and changes to a plan the catalog cannot
 * map (never approved).
 *
 * Kill points follow the service's progress, not the wall clock, so a slow or busy machine gets the
 * same chaos: each incarnation is killed once it has recorded a random number of further events
 * (spreading CHAOS_KILLS kills over the first 75% of the events), plus a random 0–250 ms so kills
 * land in every phase (mid-fetch, mid-transaction, after the commit and before the ack); one that
 * has recorded nothing yet is killed after a random uptime of 0.3–10 s (also while it starts).
 * The last quarter shows recovery: a transaction left open by a killed process keeps its
 * documents locked on the emulator for about 75 s (measured), and deliveries touching them
 * time out and are redelivered until then.
 *
 * Seeded: CHAOS_SEED replays the same event stream and kill schedule (how the kills fall against
 * the service's work still varies). Size: CHAOS_EVENTS (default 2000 distinct events),
 * CHAOS_ENTITLEMENTS (default 100), CHAOS_KILLS (default 8; 0 = a control run without kills),
 * CHAOS_DEADLINE_MS (default 540000) for a longer local run; CHAOS_LOG=<file> keeps the service's whole output.
 */
const PROVIDER = 'demo-provider';
const PRODUCT = 'demo-product.endpoints.demo-entitlements.cloud.goog';

const env = (name: string, fallback: number, min = 1): number => {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isFinite(value) || value < min) throw new Error(`${name} must be a number ≥ ${min}`);
  return value;
};
const SEED = env('CHAOS_SEED', 1 + Math.floor(Math.random() * 2 ** 31));
const EVENTS = env('CHAOS_EVENTS', 2000);
const ENTITLEMENTS = env('CHAOS_ENTITLEMENTS', 100);
/**
 * 0 turns the killer off: a control run of the same stream. Each SIGKILL leaves up to 32 open
 * transactions whose documents the emulator keeps locked for ~75 s (production: the 60 s idle
 * expiry), so the CI default of 4 keeps the run within its deadline on 2 cores; CHAOS_KILLS=8
 * CHAOS_DEADLINE_MS=600000 for a harder local run.
 */
const KILLS = env('CHAOS_KILLS', 4, 0);
/** Share of the events after which no more kills happen. */
const KILL_UNTIL = 0.75;
const DEADLINE_MS = env('CHAOS_DEADLINE_MS', 540_000);
/**
 * No progress for this long ends the wait: a SIGKILLed transaction's locks last ~75 s on the emulator,
 * an approve claim 60 s, and in the run's tail the Pub/Sub emulator was seen (3 of 6 runs on
 * 2026-11-21) to redeliver nothing for 45–100+ s after the last nacks, with the service idle (no
 * handler running, no client errors: the pull consumer reports both), then resume on its own.
 */
const STALL_MS = 180_000;

/** mulberry32: small, fast, good enough for a replayable test. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function shuffle<T>(items: T[], random: () => number): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}

function ok<T>(result: Result<T>, what: string): T {
  if (!result.ok) throw new Error(`fake refused ${what}: ${result.error.message}`);
  return result.value;
}

const idOf = (name: string): string => name.slice(name.lastIndexOf('/') + 1);

type FollowUp = 'renew' | 'cancelAtPeriodEnd';

interface Stream {
  /** Distinct messages known before the run (published at the start). */
  messages: MarketplaceMessage[];
  /** Created in ACTIVATION_REQUESTED, auto-approved plans: the service must approve each once. */
  approveByService: { id: string; followUps: FollowUp[] }[];
  /** Created in ACTIVATION_REQUESTED on a manual plan: must stay unapproved. */
  manual: string[];
  /**
   * Approved by Google itself (automatic offer approval: ENTITLEMENT_OFFER_ACCEPTED only), on manual and
   * auto plans alike: the service must never call approve; Google activates them once the service saw them.
   */
  googleApproved: string[];
  /** Plan changes to a plan config/products.yaml cannot map, left waiting: never approved. */
  unmappable: string[];
  all: string[];
}

/**
 * Acts as customers and Google on the fake, capturing the messages each action publishes. Most
 * entitlements are approved "before the story" (a state call, no API call) and then live through
 * renewals, plan changes and cancellations; their messages all exist before the run, so every
 * fetch during the run sees Google's final record.
 */
function buildStream(fake: FakeProcurement, random: () => number, entitlements: number, events: number): Stream {
  const s = fake.state;
  const messages: MarketplaceMessage[] = [];
  const take = (outcome: Result<MarketplaceOutcome>, what: string): MarketplaceOutcome => {
    const value = ok(outcome, what);
    messages.push(...value.messages);
    return value;
  };
  const accounts: string[] = [];
  for (let i = 0; i < Math.ceil(entitlements / 3); i++) {
    accounts.push(idOf(take(s.createAccount(PROVIDER, { signupApproved: true }), 'createAccount').account!.name));
  }
  // What Google publishes for the provider's own calls (direct plan changes, rejections) joins the stream.
  const provider = <T>(outcome: Result<T>, what: string): T => {
    const value = ok(outcome, what);
    messages.push(...s.takePublished());
    return value;
  };
  const approveCount = Math.max(3, Math.round(entitlements * 0.15));
  const manualCount = Math.max(1, Math.round(entitlements * 0.03));
  const googleCount = Math.max(2, Math.round(entitlements * 0.05));
  const stream: Stream = { messages, approveByService: [], manual: [], googleApproved: [], unmappable: [], all: [] };
  const walkers: string[] = [];
  for (let i = 0; i < entitlements; i++) {
    const accountId = accounts[Math.floor(random() * accounts.length)]!;
    const kind =
      i < approveCount
        ? 'approve'
        : i < approveCount + manualCount
          ? 'manual'
          : i < approveCount + manualCount + googleCount
            ? 'google'
            : 'walk';
    const plan =
      kind === 'manual' || (kind === 'google' && random() < 0.5) ? 'enterprise' : random() < 0.5 ? 'basic' : 'pro';
    const purchase = { accountId, product: PRODUCT, plan, automaticApproval: kind === 'google' };
    const id = idOf(take(s.createEntitlement(PROVIDER, purchase), 'createEntitlement').entitlement!.name);
    stream.all.push(id);
    if (kind === 'google') {
      stream.googleApproved.push(id);
    } else if (kind === 'approve') {
      const followUps: FollowUp[] = [];
      if (random() < 0.6) followUps.push('renew');
      if (random() < 0.35) followUps.push('cancelAtPeriodEnd');
      stream.approveByService.push({ id, followUps });
    } else if (kind === 'manual') {
      stream.manual.push(id);
    } else {
      ok(s.approveEntitlement(PROVIDER, id), 'approveEntitlement'); // approved before the story begins
      take(s.activateEntitlement(PROVIDER, id), 'activate');
      walkers.push(id);
    }
  }

  const expectedLater = stream.approveByService.reduce((n, a) => n + 1 + a.followUps.length, 0);
  const budget = Math.max(0, Math.ceil((events - messages.length - expectedLater) / Math.max(1, walkers.length)));
  const state = (id: string): Entitlement => ok(s.getEntitlement(PROVIDER, id), 'get');
  const otherPlan = (e: Entitlement): string => (e.plan === 'basic' ? 'pro' : 'basic');
  for (const id of walkers) {
    const before = messages.length;
    // Reversible steps only, until this entitlement's share of events is reached.
    while (messages.length - before < budget) {
      const e = state(id);
      const r = random();
      switch (e.state) {
        case 'ENTITLEMENT_ACTIVE':
          if (r < 0.45) take(s.renewEntitlement(PROVIDER, id), 'renew');
          else if (r < 0.75) {
            // Some changes apply at once when approved (ENTITLEMENT_PLAN_CHANGED), others at the term's end.
            const takesEffect = random() < 0.4 ? 'now' : 'endOfTerm';
            take(s.requestPlanChange(PROVIDER, id, { plan: otherPlan(e), takesEffect }), 'requestPlanChange');
          } else take(s.cancelEntitlement(PROVIDER, id, { atPeriodEnd: true }), 'cancel at period end');
          break;
        case 'ENTITLEMENT_PENDING_PLAN_CHANGE_APPROVAL':
          // Approved or rejected by the provider earlier (a state call, not an API call), or withdrawn.
          if (r < 0.6)
            provider(s.approvePlanChange(PROVIDER, id, { pendingPlanName: e.newPendingPlan! }), 'approvePlanChange');
          else if (r < 0.8)
            provider(
              s.rejectPlanChange(PROVIDER, id, { pendingPlanName: e.newPendingPlan!, reason: 'not now' }),
              'rejectPlanChange',
            );
          else take(s.cancelPlanChange(PROVIDER, id), 'cancelPlanChange');
          break;
        case 'ENTITLEMENT_PENDING_PLAN_CHANGE':
          if (r < 0.8) take(s.completePlanChange(PROVIDER, id), 'completePlanChange');
          else take(s.cancelPlanChange(PROVIDER, id), 'cancelPlanChange');
          break;
        case 'ENTITLEMENT_PENDING_CANCELLATION':
          take(s.revertCancellation(PROVIDER, id), 'revertCancellation');
          break;
        default:
          throw new Error(`walker ${id} in unexpected state ${e.state}`);
      }
    }
    // How its story ends: as it is, cancelled, ending, or with a plan change awaiting approval.
    const e = state(id);
    const r = random();
    if (r < 0.35) continue;
    if (r < 0.55) {
      take(s.cancelEntitlement(PROVIDER, id, { atPeriodEnd: false, announceCancelling: random() < 0.5 }), 'cancel now');
    } else if (r < 0.7) {
      if (e.state === 'ENTITLEMENT_ACTIVE')
        take(s.cancelEntitlement(PROVIDER, id, { atPeriodEnd: true }), 'cancel at period end');
      if (e.state === 'ENTITLEMENT_PENDING_CANCELLATION') take(s.endPeriod(PROVIDER, id), 'endPeriod');
    } else if (e.state === 'ENTITLEMENT_ACTIVE') {
      // basic/pro: the service approves the change itself (auto; at once or at the term's end); enterprise:
      // waits for an admin (manual); a plan the catalog cannot map: waits for an admin, never approved.
      const plan = r < 0.82 ? otherPlan(e) : r < 0.92 ? 'enterprise' : 'platinum';
      if (plan === 'platinum') stream.unmappable.push(id);
      const takesEffect = random() < 0.5 ? 'now' : 'endOfTerm';
      take(s.requestPlanChange(PROVIDER, id, { plan, takesEffect }), 'requestPlanChange');
    }
  }
  return stream;
}

describe('chaos: the consumer process is SIGKILLed and restarted at random points', () => {
  const projectId = `chaos-${randomBytes(6).toString('hex')}`;
  let fake: FakeProcurement;
  let pubsub: PubSub;
  let topic: Topic;
  let db: Firestore;
  let build: ReturnType<typeof snapshotBuild>;
  let service: ServiceProcess;

  beforeAll(async () => {
    build = snapshotBuild();
    fake = await startFakeProcurement({ providerIds: [PROVIDER] });
    pubsub = new PubSub({ projectId });
    [topic] = await pubsub.createTopic('marketplace');
    await topic.createSubscription('marketplace-sub', { ackDeadlineSeconds: 10 });
    db = new Firestore({ projectId });
    service = new ServiceProcess(build.main, {
      GOOGLE_CLOUD_PROJECT: projectId,
      NODE_ENV: 'test',
      LOG_LEVEL: 'warn',
      CONFIG_DIR: resolve('config'),
      FIRESTORE_EMULATOR_HOST: process.env.FIRESTORE_EMULATOR_HOST ?? '',
      PUBSUB_EMULATOR_HOST: process.env.PUBSUB_EMULATOR_HOST ?? '',
      MARKETPLACE_PROVIDER_ID: PROVIDER,
      MARKETPLACE_SUBSCRIPTION: 'marketplace-sub',
      PROCUREMENT_ROOT_URL: fake.url,
      PROCUREMENT_STATIC_TOKEN: 'chaos',
    });
  }, 60_000);

  afterAll(async () => {
    await service?.kill();
    await db?.terminate();
    await pubsub?.close();
    await fake?.close();
    build?.remove();
  });

  it(
    `should converge on Google's record with no double approval (seed ${SEED}, ${EVENTS} events, ${ENTITLEMENTS} entitlements)`,
    async () => {
      const started = Date.now();
      process.stdout.write(
        `\nchaos: seed ${SEED} (replay with CHAOS_SEED=${SEED}), ${EVENTS} events over ${ENTITLEMENTS} entitlements\n`,
      );
      const random = rng(SEED);
      const killClock = rng(SEED ^ 0x5bd1e995);
      const stream = buildStream(fake, random, ENTITLEMENTS, EVENTS);

      const expected = new Map<string, MarketplaceMessage>(); // event document id → message
      let deliveries = 0;
      const publish = async (messages: MarketplaceMessage[]): Promise<void> => {
        const copies: MarketplaceMessage[] = [];
        for (const m of messages) {
          expected.set(eventDocumentId('gcp', m.eventId), m);
          for (let c = 1 + Math.floor(random() * 3); c > 0; c--) copies.push(m);
        }
        deliveries += copies.length;
        await Promise.all(
          shuffle(copies, random).map((m) => topic.publishMessage({ data: Buffer.from(JSON.stringify(m)) })),
        );
      };

      // What Google publishes after the service's own calls (a plan change it approved that applies at once).
      fake.setPublisher((message) => publish([message]));
      await service.start();
      await publish(stream.messages);

      // The killer: SIGKILL after a random amount of progress (or uptime), restart at once; until told to stop.
      let killing = true;
      const recorded = async (): Promise<number> => (await db.collection('events').count().get()).data().count;
      // Kills stop at KILL_UNTIL of the events, leaving the rest of the run to show recovery.
      const killer = (async () => {
        while (killing && service.kills < KILLS && (await recorded()) < KILL_UNTIL * expected.size) {
          const quota = 1 + Math.floor(killClock() * ((2 * KILL_UNTIL * EVENTS) / KILLS));
          const jitterMs = killClock() * 250;
          const idleUptimeMs = 300 + killClock() * 9_700;
          const from = await recorded();
          const since = Date.now();
          for (;;) {
            const progress = (await recorded()) - from;
            if (!killing || progress >= quota || (progress === 0 && Date.now() - since >= idleUptimeMs)) break;
            await new Promise((r) => setTimeout(r, 200));
          }
          await new Promise((r) => setTimeout(r, jitterMs));
          if (!killing) break;
          await service.kill();
          await service.start();
        }
      })();

      const outcomes = new Map<string, string>();
      const missing = new Set(expected.keys());
      const pendingApproval = new Map(stream.approveByService.map((a) => [a.id, a]));
      // Google activates what it approved itself once the service has recorded its ENTITLEMENT_OFFER_ACCEPTED.
      const acceptedEvent = new Map(
        stream.messages
          .filter((m) => m.eventType === 'ENTITLEMENT_OFFER_ACCEPTED' && 'entitlement' in m)
          .map((m) => [(m as { entitlement: { id: string } }).entitlement.id, eventDocumentId('gcp', m.eventId)]),
      );
      const pendingActivation = new Set(stream.googleApproved);
      const refresh = async (): Promise<void> => {
        for (const id of expected.keys()) if (!outcomes.has(id)) missing.add(id);
        const ids = [...missing];
        for (let i = 0; i < ids.length; i += 300) {
          const refs = ids.slice(i, i + 300).map((id) => db.collection('events').doc(id));
          for (const snap of await db.getAll(...refs)) {
            if (!snap.exists) continue;
            outcomes.set(snap.id, snap.get('outcome') as string);
            missing.delete(snap.id);
          }
        }
      };
      const activateApproved = async (): Promise<void> => {
        for (const [id, a] of pendingApproval) {
          const seen = ok(fake.state.inspectEntitlement(PROVIDER, id), 'inspect');
          if (!seen.approved) continue;
          // Google activates what the provider approved; the customer may carry on from there.
          const later = [...ok(fake.state.activateEntitlement(PROVIDER, id), 'activate').messages];
          for (const step of a.followUps) {
            const outcome =
              step === 'renew'
                ? fake.state.renewEntitlement(PROVIDER, id)
                : fake.state.cancelEntitlement(PROVIDER, id, { atPeriodEnd: true });
            later.push(...ok(outcome, step).messages);
          }
          pendingApproval.delete(id);
          await publish(later);
        }
        for (const id of pendingActivation) {
          if (!outcomes.has(acceptedEvent.get(id)!)) continue;
          pendingActivation.delete(id);
          await publish(ok(fake.state.activateEntitlement(PROVIDER, id), 'activate').messages);
        }
      };

      // Until every event is recorded and every approval the service owed was made (and activated),
      // or nothing has moved for STALL_MS (longer than a dead transaction's locks and an approve
      // claim's lease last on the emulator), or the deadline passed. The assertions below say which.
      let lastProgress = Date.now();
      let lastReport = Date.now();
      let stalled = false;
      try {
        while (missing.size > 0 || pendingApproval.size > 0 || pendingActivation.size > 0) {
          if (Date.now() - started > DEADLINE_MS || Date.now() - lastProgress > STALL_MS) {
            stalled = true;
            break;
          }
          await new Promise((r) => setTimeout(r, 1000));
          const before = missing.size + pendingApproval.size + pendingActivation.size;
          await activateApproved();
          await refresh();
          if (missing.size + pendingApproval.size + pendingActivation.size !== before) lastProgress = Date.now();
          if (Date.now() - lastReport >= 15_000) {
            lastReport = Date.now();
            process.stdout.write(
              `chaos: ${((Date.now() - started) / 1000).toFixed(0)} s: ${expected.size - missing.size}/${expected.size} events recorded, ` +
                `${pendingApproval.size} approvals outstanding, ${service.kills} kills\n`,
            );
          }
        }
      } finally {
        killing = false;
        await killer;
      }
      const converged = Date.now();

      // The model: Google's final record of every entitlement, mapped to our status.
      const mismatches = async (): Promise<string[]> => {
        const refs: DocumentReference[] = stream.all.map((id) => db.collection('entitlements').doc(`gcp:${id}`));
        const snaps = await db.getAll(...refs);
        return stream.all.flatMap((id, i) => {
          const google = ok(fake.state.getEntitlement(PROVIDER, id), 'get');
          const want = { status: statusOf(google.state), plan: google.plan ?? null };
          const snap = snaps[i]!;
          const stored = snap.exists ? fromFirestore<EntitlementRecord>(snap.data()) : null;
          const got = { status: stored?.status ?? null, plan: stored?.providerPlan ?? null };
          return want.status === got.status && want.plan === got.plan
            ? []
            : [`${id}: Google ${google.state} ${google.plan}, stored ${JSON.stringify(got)}`];
        });
      };
      let wrong = await mismatches();
      for (let i = 0; wrong.length && i < 20; i++) {
        await new Promise((r) => setTimeout(r, 1000));
        wrong = await mismatches();
      }

      const bad = [...outcomes].filter(([, outcome]) => outcome === 'failed' || outcome === 'invalid');
      const approves = stream.all.map(
        (id) =>
          [
            id,
            fake.countCalls('entitlements.approve', id),
            fake.countCalls('entitlements.approvePlanChange', id),
          ] as const,
      );
      process.stdout.write(
        `chaos: seed ${SEED}: ${expected.size} events, ${deliveries} deliveries, ${service.kills} kills, ` +
          `${stalled ? 'NOT converged, gave up' : 'converged'} after ${((converged - started) / 1000).toFixed(1)} s; approve calls ${approves.reduce((n, a) => n + a[1], 0)}, ` +
          `plan-change approvals ${approves.reduce((n, a) => n + a[2], 0)}\n`,
      );

      const unapproved = await Promise.all(
        [...pendingApproval.keys()].map(async (id) => ({
          id,
          approveCalls: fake.countCalls('entitlements.approve', id),
          claim:
            (
              await db
                .collection('actions')
                .doc(documentId(`approve:${id}`))
                .get()
            ).data() ?? null,
        })),
      );
      process.stdout.write(`chaos: service log lines: ${service.logSummary()}\n`);

      // Every finding at once, so one failing run tells the whole story.
      expect({
        seed: SEED,
        // Every event recorded (one document per event id), none failed or invalid.
        eventsNeverRecorded: [...missing].map((id) => `${expected.get(id)?.eventType} ${id}`).slice(0, 20),
        eventsNeverRecordedCount: missing.size,
        failedOrInvalidEvents: bad,
        // Final Firestore state equals the model (Google's record mapped to our status) for every entitlement.
        modelMismatches: wrong,
        accessSummaryViolations: await accessInvariantViolations(db),
        // Safety: never two approve calls for one entitlement (or one plan change).
        approvedMoreThanOnce: approves.filter(([, approve, planChange]) => approve > 1 || planChange > 1),
        manualPlansApproved: stream.manual.filter((id) => fake.countCalls('entitlements.approve', id) > 0),
        // Approved by Google (newOfferStartTime): the service never asks again, whatever the plan's policy.
        googleApprovedButApproveCalled: stream.googleApproved.filter(
          (id) => fake.countCalls('entitlements.approve', id) > 0,
        ),
        unmappablePlanChangesApproved: stream.unmappable.filter(
          (id) => fake.countCalls('entitlements.approvePlanChange', id) > 0,
        ),
        googleApprovedNeverActivated: [...pendingActivation],
        // Liveness: every auto-approvable purchase was approved by the service, so Google could activate it.
        neverApprovedByService: unapproved,
      }).toEqual({
        seed: SEED,
        eventsNeverRecorded: [],
        eventsNeverRecordedCount: 0,
        failedOrInvalidEvents: [],
        modelMismatches: [],
        accessSummaryViolations: [],
        approvedMoreThanOnce: [],
        manualPlansApproved: [],
        googleApprovedButApproveCalled: [],
        unmappablePlanChangesApproved: [],
        googleApprovedNeverActivated: [],
        neverApprovedByService: [],
      });
      if (KILLS > 0) expect(service.kills).toBeGreaterThan(0);
      expect(expected.size).toBeGreaterThanOrEqual(EVENTS);
    },
    DEADLINE_MS + 120_000,
  );
});
