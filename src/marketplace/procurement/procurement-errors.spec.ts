import { describe, expect, it } from '@jest/globals';
import { toProcurementError } from './procurement-errors.js';

const gaxios = (status: number, grpc?: string) => ({
  response: { status, data: grpc ? { error: { code: status, message: 'm', status: grpc } } : 'html' },
});

describe('toProcurementError', () => {
  it('should map Google error bodies to domain kinds', () => {
    expect(toProcurementError(gaxios(400, 'FAILED_PRECONDITION'), 'x').kind).toBe('failed_precondition');
    expect(toProcurementError(gaxios(404, 'NOT_FOUND'), 'x').kind).toBe('not_found');
    expect(toProcurementError(gaxios(403, 'PERMISSION_DENIED'), 'x').kind).toBe('permission_denied');
    expect(toProcurementError(gaxios(400, 'INVALID_ARGUMENT'), 'x').kind).toBe('invalid_argument');
  });

  it('should treat 429, 5xx and network failures as transient, and other 4xx as not', () => {
    expect(toProcurementError(gaxios(429), 'x').retryable).toBe(true);
    expect(toProcurementError(gaxios(503), 'x').retryable).toBe(true);
    expect(toProcurementError({ code: 'ECONNREFUSED' }, 'x').retryable).toBe(true);
    expect(toProcurementError(gaxios(400), 'x').retryable).toBe(false);
    expect(toProcurementError(gaxios(401), 'x').kind).toBe('unauthenticated');
  });

  it("should class the client's own refusal of a path as a name that can never be valid, not a network error", () => {
    const refused = toProcurementError(
      new Error('Value for name must not contain segments that are exactly . or ..'),
      'entitlements.get providers/p/entitlements/..',
    );
    expect(refused).toMatchObject({ kind: 'invalid_name', retryable: false });
    // Anything else without an answer (e.g. credentials that could not be loaded) stays transient.
    expect(toProcurementError(new Error('Could not load the default credentials'), 'x').retryable).toBe(true);
  });
});
