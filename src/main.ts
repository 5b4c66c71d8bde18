import { bootstrap } from './bootstrap.js';
import { ConfigError, loadConfig } from './config/app-config.js';

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
