import type { ErrorCode } from '../../common/errors/app-error.js';

/** Every `code` the API may answer with; a Record so that a new ErrorCode fails to compile until listed. */
const CODES: Record<ErrorCode, true> = {
  validation_failed: true,
  unauthenticated: true,
  forbidden: true,
  not_found: true,
  conflict: true,
  payload_too_large: true,
  rate_limited: true,
  unavailable: true,
  internal: true,
};

export const ERROR_CODES = Object.keys(CODES) as ErrorCode[];
