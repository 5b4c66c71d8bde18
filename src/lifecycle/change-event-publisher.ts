/** One outbound message: the event as JSON, its ordering key (the entitlement id) and string attributes. */
export interface OutboundMessage {
  data: Buffer;
  orderingKey: string;
  attributes: Record<string, string>;
}

/**
 * Port of the outbound change-event topic. The Pub/Sub adapter (src/infrastructure/pubsub) publishes
 * with message ordering on; a failed publish pauses its ordering key until `resume` is called.
 */
export abstract class ChangeEventPublisher {
  /** The configured topic, or null when outbound events are off (CHANGE_EVENTS_TOPIC unset). */
  abstract readonly topic: string | null;
  /** Resolves with the Pub/Sub message id; rejects when the message was not accepted. */
  abstract publish(message: OutboundMessage): Promise<string>;
  /** After a failure: let this ordering key publish again (on the next run, in order). */
  abstract resume(orderingKey: string): void;
}
