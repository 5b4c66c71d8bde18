type PubSubModule = typeof import('@google-cloud/pubsub');

/**
 * The Pub/Sub client library, loaded on first use: only instances that pull or publish need it, and
 * it costs ~0.3 s and ~40 MB at start-up. Node's own import of this CommonJS package names its
 * exports; some bundlers hand them over as the default export only, so both shapes are accepted.
 */
export async function loadPubSub(): Promise<PubSubModule> {
  const mod = await import('@google-cloud/pubsub');
  return 'PubSub' in mod && typeof mod.PubSub === 'function'
    ? mod
    : (mod as unknown as { default: PubSubModule }).default;
}
