/**
 * Runs the fake Procurement API as a process:
 *   node dist/tools/fake-procurement/main.js [--port 8089] [--host 127.0.0.1] [--provider demo-provider ...]
 *     [--publish-topic projects/P/topics/T]
 * The provider defaults to MARKETPLACE_PROVIDER_ID, then `demo-provider`. With --publish-topic, the messages
 * Google publishes for provider calls (direct plan changes, rejected plan changes) go to that Pub/Sub topic
 * (the emulator when PUBSUB_EMULATOR_HOST is set); without it they wait for `POST /__control/messages:take`
 * (the simulator's `flush`). Stops on SIGINT/SIGTERM.
 */
import { parseArgs } from 'node:util';
import { closeOnSignal, runMain } from '../common/process.js';
import { DEFAULT_PROVIDER_ID, startFakeProcurement } from './server.js';

const DEFAULT_PORT = 8089;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: String(DEFAULT_PORT) },
      host: { type: 'string', default: '127.0.0.1' },
      provider: { type: 'string', multiple: true },
      'publish-topic': { type: 'string' },
    },
  });
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`--port must be a TCP port, got "${values.port}"`);
  }
  const providerIds = values.provider ?? [process.env['MARKETPLACE_PROVIDER_ID'] || DEFAULT_PROVIDER_ID];

  const fake = await startFakeProcurement({ port, host: values.host, providerIds });
  console.log(`fake Procurement API listening on ${fake.url} for providers ${providerIds.join(', ')}`);
  console.log(`  client rootUrl: ${fake.url}/   control API: ${fake.url}/__control/`);
  const topicName = values['publish-topic'];
  if (topicName) {
    const { PubSub } = await import('@google-cloud/pubsub');
    const projectId = /^projects\/([^/]+)\//.exec(topicName)?.[1];
    const topic = new PubSub(projectId ? { projectId } : {}).topic(topicName);
    fake.setPublisher((message) => topic.publishMessage({ data: Buffer.from(JSON.stringify(message)) }));
    console.log(`  messages Google publishes for provider calls go to ${topicName}`);
  }

  closeOnSignal('fake Procurement API', fake);
}

runMain(main);
