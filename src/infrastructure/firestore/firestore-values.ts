import { Timestamp } from '@google-cloud/firestore';

/** Firestore returns Timestamps where we wrote Dates: turn them back, deeply. */
export function fromFirestore<T>(value: unknown): T {
  return convert(value) as T;
}

function convert(value: unknown): unknown {
  if (value instanceof Timestamp) return value.toDate();
  if (Array.isArray(value)) return value.map(convert);
  if (value && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, convert(v)]));
  }
  return value;
}

/** gRPC status codes worth retrying: the store or the network was unavailable or contended. */
const TRANSIENT_CODES = new Set([1, 2, 4, 8, 10, 13, 14]); // CANCELLED UNKNOWN DEADLINE_EXCEEDED RESOURCE_EXHAUSTED ABORTED INTERNAL UNAVAILABLE

export function isTransientFirestoreError(error: unknown): boolean {
  const code = (error as { code?: unknown })?.code;
  if (typeof code === 'number') return TRANSIENT_CODES.has(code);
  // Connection failures before any gRPC status (emulator or network down).
  return typeof code === 'string' && ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE'].includes(code);
}

export const ALREADY_EXISTS = 6;
