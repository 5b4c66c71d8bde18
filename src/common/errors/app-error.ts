/** Stable error codes of the HTTP API; clients switch on these, never on messages. */
export type ErrorCode =
  | 'validation_failed'
  | 'unauthenticated'
  | 'forbidden'
  | 'not_found'
  | 'conflict'
  | 'payload_too_large'
  | 'rate_limited'
  | 'unavailable'
  | 'internal';

const STATUS: Record<ErrorCode, number> = {
  validation_failed: 400,
  unauthenticated: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  payload_too_large: 413,
  rate_limited: 429,
  unavailable: 503,
  internal: 500,
};

/** A known failure with a stable code; the global filter turns it into the one error body shape. */
export class AppError extends Error {
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'AppError';
    this.status = STATUS[code];
  }
}

/**
 * A failure that may pass if tried again (Firestore or a Google API unavailable, contention):
 * Pub/Sub messages are nacked, HTTP callers get 503 so the sender retries.
 */
export class TransientError extends AppError {
  constructor(message: string, cause?: unknown) {
    super('unavailable', message);
    this.name = 'TransientError';
    this.cause = cause;
  }
}

export function isTransient(error: unknown): error is TransientError {
  return error instanceof TransientError;
}
