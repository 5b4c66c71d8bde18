import type { PubSub, Topic } from '@google-cloud/pubsub';
import { Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { AppConfig } from '../../config/app-config.js';
import { TransientError } from '../../common/errors/app-error.js';
import { ChangeEventPublisher, type OutboundMessage } from '../../lifecycle/change-event-publisher.js';
import { emulatorAuth } from '../emulator-auth.js';
import { loadPubSub } from './load-pubsub.js';

/**
 * Publisher settings. The client's own default retries UNAVAILABLE for up to 600 s; a publish run
 * must fail fast instead (the entry stays in the outbox and the next run tries again).
 */
export const PUBLISH_DEFAULTS = {
  /** Per-publish budget, retries included (gRPC codes below). */
  totalTimeoutMs: 10_000,
  rpcTimeoutMs: 5_000,
  /** CANCELLED, UNKNOWN, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED, ABORTED, INTERNAL, UNAVAILABLE. */
  retryCodes: [1, 2, 4, 8, 10, 13, 14],
  /** Batch small: a run publishes at most a few hundred messages and waits for each result. */
  batching: { maxMessages: 100, maxMilliseconds: 10 },
} as const;

/**
 * The outbound change-events topic on Pub/Sub, with message ordering on: messages of one
 * entitlement (ordering key = entitlement id) reach an ordered subscription in publish order.
 * The client is loaded on the first publish only, so instances without CHANGE_EVENTS_TOPIC (and
 * every cold start) skip its start-up cost. Honours PUBSUB_EMULATOR_HOST (tests, local run).
 */
@Injectable()
export class PubSubChangeEventPublisher extends ChangeEventPublisher implements OnApplicationShutdown {
  readonly topic: string | null;
  private client?: PubSub;
  private publisher?: Topic;
  private opening?: Promise<Topic>;

  constructor(private readonly config: AppConfig) {
    super();
    this.topic = config.env.CHANGE_EVENTS_TOPIC ?? null;
  }

  async publish(message: OutboundMessage): Promise<string> {
    const topic = await this.open();
    return topic.publishMessage({
      data: message.data,
      orderingKey: message.orderingKey,
      attributes: message.attributes,
    });
  }

  resume(orderingKey: string): void {
    this.publisher?.resumePublishing(orderingKey);
  }

  async onApplicationShutdown(): Promise<void> {
    await this.opening?.catch(() => undefined);
    await this.publisher?.flush().catch(() => undefined);
    await this.client?.close().catch(() => undefined);
  }

  private open(): Promise<Topic> {
    if (!this.topic) return Promise.reject(new TransientError('CHANGE_EVENTS_TOPIC is not configured'));
    const name = this.topic;
    this.opening ??= loadPubSub().then(({ PubSub }) => {
      this.client = new PubSub({
        projectId: this.config.env.GOOGLE_CLOUD_PROJECT,
        ...emulatorAuth(this.config.env.PUBSUB_EMULATOR_HOST),
      });
      this.publisher = this.client.topic(name, {
        messageOrdering: true,
        batching: PUBLISH_DEFAULTS.batching,
        gaxOpts: {
          timeout: PUBLISH_DEFAULTS.rpcTimeoutMs,
          retry: {
            retryCodes: [...PUBLISH_DEFAULTS.retryCodes],
            backoffSettings: {
              initialRetryDelayMillis: 100,
              retryDelayMultiplier: 2,
              maxRetryDelayMillis: 2_000,
              initialRpcTimeoutMillis: PUBLISH_DEFAULTS.rpcTimeoutMs,
              rpcTimeoutMultiplier: 1,
              maxRpcTimeoutMillis: PUBLISH_DEFAULTS.rpcTimeoutMs,
              totalTimeoutMillis: PUBLISH_DEFAULTS.totalTimeoutMs,
            },
          },
        },
      });
      return this.publisher;
    });
    return this.opening;
  }
}
