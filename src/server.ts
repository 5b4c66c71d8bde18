import { bootstrap } from './bootstrap.js';
import { ConfigError, loadConfig } from './config/app-config.js';
import { loadPubSub } from './infrastructure/pubsub/load-pubsub.js';

/**
 * Starts the service: reads the configuration (exit 78, EX_CONFIG, naming every bad setting when it
 * is wrong), builds the app and listens on PORT. The entry of the bundle (scripts/bundle.mjs) and of
 * the unbundled `node dist/src/main.js`.
 */
export async function main(): Promise<void> {
  try {
    const config = loadConfig();
    const app = await bootstrap({ config });
    await app.listen(config.env.PORT, '0.0.0.0');
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(78);
    }
    throw error;
  }
}

/**
 * Loads what the service otherwise loads on first use (the Pub/Sub client), so the image build's
 * code cache (`node dist/service.cjs --write-code-cache`, scripts/service-launcher.cjs) holds it too.
 */
export async function loadLazyModules(): Promise<void> {
  await loadPubSub();
}
