import type { Message, Subscription } from '@google-cloud/pubsub';
import { Injectable, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import { AppConfig } from '../../config/app-config.js';
import { AppLogger } from '../../common/logging/app-logger.js';
import { withLogContext } from '../../common/logging/log-context.js';
import { isTransient } from '../../common/errors/app-error.js';
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
} as const;

/** The pull transport: each message → MarketplaceEvents.handle → ack, or nack on a transient failure. */
@Injectable()
export class PullConsumer implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private subscription?: Subscription;
  private readonly inFlight = new Set<Promise<void>>();
  private draining = false;
  private starting?: Promise<void>;

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
    const { Duration, PubSub } = await import('@google-cloud/pubsub');
    if (this.draining) return;
    const pubsub = new PubSub({ projectId: this.config.env.GOOGLE_CLOUD_PROJECT });
    this.subscription = pubsub.subscription(name, {
      flowControl: PULL_DEFAULTS.flowControl,
      maxExtensionTime: Duration.from({ minutes: PULL_DEFAULTS.maxExtensionMinutes }),
      streamingOptions: { maxStreams: PULL_DEFAULTS.streams },
    });
    this.subscription.on('message', (message: Message) => this.track(this.onMessage(message)));
    this.subscription.on('error', (error: Error) =>
      this.logger.failure('pull subscription error', { error, subscription: name }),
    );
    this.logger.info('pulling Marketplace notifications', { subscription: name });
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.draining = true;
    await this.starting;
    if (!this.subscription) return;
    // Stop the stream first so nothing new arrives, then give in-flight work its chance.
    const subscription = this.subscription;
    this.subscription = undefined;
    subscription.removeAllListeners('message');
    const deadline = new Promise((r) => setTimeout(r, PULL_DEFAULTS.drainSeconds * 1000).unref());
    await Promise.race([Promise.allSettled([...this.inFlight]), deadline]);
    await subscription
      .close()
      .catch((error: unknown) => this.logger.warning('closing the subscription failed', { error }));
    this.logger.info('pull consumer drained', { unfinished: this.inFlight.size });
  }

  private track(work: Promise<void>): void {
    this.inFlight.add(work);
    void work.finally(() => this.inFlight.delete(work));
  }

  private async onMessage(message: Message): Promise<void> {
    if (this.draining) return message.nack();
    await withLogContext({ messageId: message.id, source: 'gcp' }, async () => {
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
          error,
          deliveryAttempt: message.deliveryAttempt,
        });
        message.nack();
      }
    });
  }
}
