/**
 * Errors as the Google API front end renders them:
 * `{"error":{"code":400,"message":"Precondition check failed.","status":"FAILED_PRECONDITION"}}`.
 * The messages are Google's stock texts, so a client that matches on them sees what production sends.
 */

export type GrpcStatus =
  | 'INVALID_ARGUMENT'
  | 'FAILED_PRECONDITION'
  | 'UNAUTHENTICATED'
  | 'PERMISSION_DENIED'
  | 'NOT_FOUND'
  | 'ALREADY_EXISTS'
  | 'RESOURCE_EXHAUSTED'
  | 'INTERNAL'
  | 'UNIMPLEMENTED'
  | 'UNAVAILABLE'
  | 'DEADLINE_EXCEEDED';

export interface ApiError {
  code: number;
  message: string;
  status: GrpcStatus;
}

export interface ErrorBody {
  error: ApiError;
}

export type Result<T> = { ok: true; value: T } | { ok: false; error: ApiError };

export function ok<T>(value: T): Result<T> {
  return { ok: true, value };
}

export function fail<T = never>(error: ApiError): Result<T> {
  return { ok: false, error };
}

export const errors = {
  invalidArgument: (message = 'Request contains an invalid argument.'): ApiError => ({
    code: 400,
    message,
    status: 'INVALID_ARGUMENT',
  }),
  /** The real API explains nothing on a refused transition: the stock text is all a client gets. */
  failedPrecondition: (message = 'Precondition check failed.'): ApiError => ({
    code: 400,
    message,
    status: 'FAILED_PRECONDITION',
  }),
  unauthenticated: (): ApiError => ({
    code: 401,
    message:
      'Request is missing required authentication credential. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.',
    status: 'UNAUTHENTICATED',
  }),
  invalidCredentials: (): ApiError => ({
    code: 401,
    message:
      'Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.',
    status: 'UNAUTHENTICATED',
  }),
  permissionDenied: (): ApiError => ({
    code: 403,
    message: 'The caller does not have permission',
    status: 'PERMISSION_DENIED',
  }),
  notFound: (message = 'Requested entity was not found.'): ApiError => ({
    code: 404,
    message,
    status: 'NOT_FOUND',
  }),
  alreadyExists: (message = 'Requested entity already exists'): ApiError => ({
    code: 409,
    message,
    status: 'ALREADY_EXISTS',
  }),
  unimplemented: (message = 'Operation is not implemented, or supported, or enabled.'): ApiError => ({
    code: 501,
    message,
    status: 'UNIMPLEMENTED',
  }),
} as const;

/** The error Google returns for a given HTTP status, used by fault injection. */
export function errorForStatus(code: number): ApiError {
  switch (code) {
    case 400:
      return errors.invalidArgument();
    case 401:
      return errors.unauthenticated();
    case 403:
      return errors.permissionDenied();
    case 404:
      return errors.notFound();
    case 429:
      return { code, message: 'Resource has been exhausted (e.g. check quota).', status: 'RESOURCE_EXHAUSTED' };
    case 501:
      return errors.unimplemented();
    case 503:
      return { code, message: 'The service is currently unavailable.', status: 'UNAVAILABLE' };
    case 504:
      return { code, message: 'The request timed out. Please try again.', status: 'DEADLINE_EXCEEDED' };
    default:
      return { code, message: 'Internal error encountered.', status: 'INTERNAL' };
  }
}

export function errorBody(error: ApiError): ErrorBody {
  return { error: { code: error.code, message: error.message, status: error.status } };
}

/**
 * Inside the state machine a refusal unwinds the operation as an exception; `attempt` turns it back
 * into a value at the public boundary, so callers only ever see `Result`s.
 */
class Refusal extends Error {
  constructor(readonly apiError: ApiError) {
    super(apiError.message);
  }
}

export function refuse(error: ApiError): never {
  throw new Refusal(error);
}

export function unwrap<T>(result: Result<T>): T {
  return result.ok ? result.value : refuse(result.error);
}

export function attempt<T>(operation: () => T): Result<T> {
  try {
    return ok(operation());
  } catch (error) {
    if (error instanceof Refusal) return fail(error.apiError);
    throw error;
  }
}
