// Preloaded (`node --import`) into a service process by bench/consumers.mjs: counts Firestore transaction
// attempts (a retry runs the body again) and writes the counts to BENCH_COUNTS_FILE when the process exits.
// Works on the unbundled build (dist/src/main.js), which shares node_modules' @google-cloud/firestore.
import { Firestore } from '@google-cloud/firestore';
import { writeFileSync } from 'node:fs';

const counts = { transactions: 0, attempts: 0 };
const original = Firestore.prototype.runTransaction;
Firestore.prototype.runTransaction = function (body, options) {
  counts.transactions++;
  return original.call(this, (tx) => (counts.attempts++, body(tx)), options);
};
const write = () => {
  if (process.env.BENCH_COUNTS_FILE) writeFileSync(process.env.BENCH_COUNTS_FILE, JSON.stringify(counts));
};
// NestJS ends the process on SIGTERM by raising the signal again (no 'exit' event then): write as it goes, too.
setInterval(write, 500).unref();
process.on('exit', write);
