/**
 * What a Procurement API failure means to us, whatever the transport said. `invalid_name`: the id can
 * never name a resource, so the request was refused before it was sent (and always will be).
 */
export type ProcurementErrorKind =
  | 'failed_precondition'
  | 'not_found'
  | 'permission_denied'
  | 'invalid_argument'
  | 'invalid_name'
  | 'unauthenticated'
  | 'transient';

export class ProcurementError extends Error {
  constructor(
    readonly kind: ProcurementErrorKind,
    message: string,
    readonly httpStatus?: number,
    readonly grpcStatus?: string,
  ) {
    super(message);
    this.name = 'ProcurementError';
  }

  get retryable(): boolean {
    return this.kind === 'transient';
  }
}

const BY_GRPC: Record<string, ProcurementErrorKind> = {
  FAILED_PRECONDITION: 'failed_precondition',
  NOT_FOUND: 'not_found',
  PERMISSION_DENIED: 'permission_denied',
  INVALID_ARGUMENT: 'invalid_argument',
  UNAUTHENTICATED: 'unauthenticated',
  RESOURCE_EXHAUSTED: 'transient',
  UNAVAILABLE: 'transient',
  INTERNAL: 'transient',
  DEADLINE_EXCEEDED: 'transient',
  ABORTED: 'transient',
};

const BY_HTTP: Record<number, ProcurementErrorKind> = {
  400: 'invalid_argument',
  401: 'unauthenticated',
  403: 'permission_denied',
  404: 'not_found',
  409: 'failed_precondition',
};

/** Maps a Gaxios error (Google's JSON error body in `response.data.error`) or a network failure. */
export function toProcurementError(error: unknown, what: string): ProcurementError {
  if (error instanceof ProcurementError) return error;
  const e = error as { response?: { status?: number; data?: unknown }; code?: unknown; message?: string };
  const status = e.response?.status;
  if (status === undefined && refusedBeforeSending(error)) {
    return new ProcurementError('invalid_name', `${what}: refused before sending (${e.message})`);
  }
  if (status === undefined) {
    return new ProcurementError('transient', `${what}: network error (${networkReason(error)})`);
  }
  const body = (e.response?.data as { error?: { status?: string; message?: string } } | undefined)?.error;
  const grpc = body?.status;
  const kind =
    (grpc && BY_GRPC[grpc]) ||
    (status === 429 || status >= 500 ? 'transient' : (BY_HTTP[status] ?? 'invalid_argument'));
  return new ProcurementError(kind, `${what}: ${status} ${grpc ?? ''} ${body?.message ?? ''}`.trim(), status, grpc);
}

/**
 * The generated client validates path parameters before any request (googleapis-common: "Value for name
 * must not contain segments that are exactly . or .."): such an error has no request config, unlike every
 * transport failure (GaxiosError). Matched narrowly: anything else without an answer stays transient.
 */
function refusedBeforeSending(error: unknown): boolean {
  const e = error as { config?: unknown; message?: unknown } | null;
  return (
    typeof e === 'object' &&
    e !== null &&
    e.config === undefined &&
    typeof e.message === 'string' &&
    /^Value for \w+ must not contain/.test(e.message)
  );
}

/**
 * The most telling part of a failure without an HTTP answer: the first error `code` down the cause
 * chain (gaxios wraps fetch's `TypeError: fetch failed`, which wraps e.g. `ECONNREFUSED`), or else
 * the innermost message.
 */
function networkReason(error: unknown): string {
  let message = 'unknown';
  let current = error as { code?: unknown; message?: unknown; cause?: unknown } | undefined;
  for (let depth = 0; current && typeof current === 'object' && depth < 5; depth++) {
    if (typeof current.code === 'string' && current.code) return current.code;
    if (typeof current.message === 'string' && current.message) message = current.message;
    current = current.cause as typeof current;
  }
  return message;
}
