import type { Message, Subscription } from '@google-cloud/pubsub';
import { Injectable, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import { AppConfig } from '../../config/app-config.js';
import { AppLogger } from '../../common/logging/app-logger.js';
import { isTransient } from '../../common/errors/app-error.js';
import { logContext, newTrace } from '../../common/logging/log-context.js';
import { emulatorAuth } from '../../infrastructure/emulator-auth.js';
import { loadPubSub } from '../../infrastructure/pubsub/load-pubsub.js';
import { MarketplaceEvents } from '../marketplace-events.service.js';

/**
 * Streaming-pull settings. Marketplace traffic is light and every message costs a Procurement
 * GET and a Firestore transaction, so a small in-flight window keeps latency flat and makes
 * a shutdown drain fit in Cloud Run's 10 s.
 */
export const PULL_DEFAULTS = {
  flowControl: {
    /** Messages handled at once per instance. */
    maxMessages: 32,
    /** Hard limit: the client holds no extra messages beyond maxMessages. */
    allowExcessMessages: false,
  },
  /** Leases are extended automatically up to this long (a stuck handler is redelivered after it). */
  maxExtensionMinutes: 10,
  /** Streams per subscriber; one suffices for Marketplace volumes. */
  streams: 1,
  /** On SIGTERM: stop pulling, let in-flight messages finish for this long, then nack the rest. */
  drainSeconds: 8,
  /** A handler running longer than this is reported (every handler step has its own, shorter deadline). */
  slowHandlerSeconds: 60,
} as const;

/** The handlers that started more than `slowHandlerSeconds` before `now`, or null when there are none. */
export function slowHandlerReport(
  handlers: Iterable<{ messageId: string; started: number }>,
  now: number,
): { count: number; oldestSeconds: number; messageIds: string[] } | null {
  const limit = now - PULL_DEFAULTS.slowHandlerSeconds * 1000;
  const slow = [...handlers].filter((h) => h.started < limit).sort((a, b) => a.started - b.started);
  if (!slow.length) return null;
  return {
    count: slow.length,
    oldestSeconds: Math.round((now - slow[0]!.started) / 1000),
    messageIds: slow.slice(0, 10).map((h) => h.messageId),
  };
}

/** The pull transport: each message → MarketplaceEvents.handle → ack, or nack on a transient failure. */
@Injectable()
export class PullConsumer implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private subscription?: Subscription;
  /** Handlers running now, with when each started (for the slow-handler report). */
  private readonly inFlight = new Map<Promise<void>, { messageId: string; started: number }>();
  private draining = false;
  private starting?: Promise<void>;
  private watchdog?: NodeJS.Timeout;

  constructor(
    private readonly config: AppConfig,
    private readonly events: MarketplaceEvents,
    private readonly logger: AppLogger,
  ) {}

  onApplicationBootstrap(): void {
    const name = this.config.env.MARKETPLACE_SUBSCRIPTION;
    if (!name) return;
    // Not awaited: Nest listens only after this hook, and Cloud Run's start-up probe should not wait
    // for the Pub/Sub client to load (~0.4 s). A failure to start pulling is logged and fatal.
    this.starting = this.start(name).catch((error: unknown) => {
      this.logger.failure('could not start pulling Marketplace notifications', { error, subscription: name });
      process.exitCode = 1;
      process.kill(process.pid, 'SIGTERM');
    });
  }

  private async start(name: string): Promise<void> {
    // Loaded only when pulling: push-only instances skip the client's start-up cost.
    const { Duration, PubSub } = await loadPubSub();
    if (this.draining) return;
    const pubsub = new PubSub({
      projectId: this.config.env.GOOGLE_CLOUD_PROJECT,
      ...emulatorAuth(this.config.env.PUBSUB_EMULATOR_HOST),
    });
    this.subscription = pubsub.subscription(name, {
      flowControl: PULL_DEFAULTS.flowControl,
      maxExtensionTime: Duration.from({ minutes: PULL_DEFAULTS.maxExtensionMinutes }),
      streamingOptions: { maxStreams: PULL_DEFAULTS.streams },
    });
    // Each pulled message is a delivery of its own: a trace of its own on every line it logs.
    const project = this.config.env.GOOGLE_CLOUD_PROJECT;
    this.subscription.on('message', (message: Message) =>
      this.track(
        message.id,
        logContext.run({ ...newTrace(project), source: 'gcp', messageId: message.id }, () => this.onMessage(message)),
      ),
    );
    this.subscription.on('error', (error: Error) =>
      this.logger.failure('pull subscription error', { error, subscription: name }),
    );
    // The client's own retries and failures (stream restarts, ack and modAck batches it gave up on):
    // acks are best effort in the client, so this is the only trace of one that failed.
    this.subscription.on('debug', (debug: { message: string; error?: unknown }) =>
      this.logger.warning('pull subscription client', { detail: debug.message, error: debug.error }),
    );
    this.watchdog = setInterval(() => this.reportSlowHandlers(), 30_000).unref();
    this.logger.info('pulling Marketplace notifications', { subscription: name });
  }

  /** Handlers still running after `slowHandlerSeconds`: each step has a deadline, so this should never fire. */
  private reportSlowHandlers(): void {
    const report = slowHandlerReport(this.inFlight.values(), Date.now());
    if (report)
      this.logger.warning('Marketplace message handlers still running', { ...report, inFlight: this.inFlight.size });
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.draining = true;
    clearInterval(this.watchdog);
    await this.starting;
    if (!this.subscription) return;
    // Stop the stream first so nothing new arrives, then give in-flight work its chance.
    const subscription = this.subscription;
    this.subscription = undefined;
    subscription.removeAllListeners('message');
    const deadline = new Promise((r) => setTimeout(r, PULL_DEFAULTS.drainSeconds * 1000).unref());
    await Promise.race([Promise.allSettled([...this.inFlight.keys()]), deadline]);
    await subscription
      .close()
      .catch((error: unknown) => this.logger.warning('closing the subscription failed', { error }));
    this.logger.info('pull consumer drained', { unfinished: this.inFlight.size });
  }

  private track(messageId: string, work: Promise<void>): void {
    this.inFlight.set(work, { messageId, started: Date.now() });
    void work.finally(() => this.inFlight.delete(work));
  }

  private async onMessage(message: Message): Promise<void> {
    if (this.draining) return message.nack();
    try {
      const result = await this.events.handle({
        data: message.data,
        messageId: message.id,
        transport: 'pubsub-pull',
      });
      if (result.outcome === 'retry') message.nack();
      else message.ack();
    } catch (error) {
      // Transient (Firestore or the Procurement API unavailable): redeliver. Anything else is a
      // bug; nack too, so nothing is lost, and the dead-letter topic catches a poison message.
      this.logger[isTransient(error) ? 'warning' : 'failure']('message nacked', {
        source: 'gcp',
        messageId: message.id,
        error,
        deliveryAttempt: message.deliveryAttempt,
      });
      message.nack();
    }
  }
}
