import { main } from './server.js';

// The unbundled entry (`node dist/src/main.js`). The container runs the bundle of src/server.ts
// through its launcher instead: `node dist/service.cjs` (scripts/bundle.mjs).
await main();
