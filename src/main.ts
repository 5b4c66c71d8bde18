import { bootstrap } from './bootstrap.js';
import { ConfigError, loadConfig } from './config/app-config.js';
import { loadPubSub } from './infrastructure/pubsub/load-pubsub.js';

// `node dist/service.mjs --compile-only` loads (and so compiles) the whole bundle, the lazily
// loaded Pub/Sub chunk included, and exits: the image build uses it to fill V8's compile cache
// (scripts/bundle.mjs, Dockerfile).
if (process.argv[2] === '--compile-only') {
  await loadPubSub();
  process.exit(0);
}

try {
  const config = loadConfig();
  const app = await bootstrap({ config });
  await app.listen(config.env.PORT);
} catch (error) {
  if (error instanceof ConfigError) {
    process.stderr.write(`${error.message}\n`);
    process.exit(78); // EX_CONFIG
  }
  throw error;
}
