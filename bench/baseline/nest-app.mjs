// Baseline for `npm run bench:coldstart`: the bare NestJS app (nest-app-module.mjs), run by node as
// written. Env: PORT.
import { main } from './nest-app-module.mjs';

await main();
