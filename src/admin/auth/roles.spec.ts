import 'reflect-metadata';
import { describe, expect, it } from '@jest/globals';
import { z } from 'zod';
import { ADMIN_ROLES, ADMIN_ROUTE, AdminRoute, hasRole, type AdminRole, type AdminRouteSpec } from './roles.js';

/** What each role may do, written out here on purpose (docs/admin-api.md, "Roles"): approvers may do everything. */
const MAY: Record<AdminRole, Record<AdminRole, boolean>> = {
  viewer: { viewer: true, approver: false },
  approver: { viewer: true, approver: true },
};

describe('hasRole', () => {
  const cases = ADMIN_ROLES.flatMap((role) => ADMIN_ROLES.map((required) => [role, required] as const));

  it('should know exactly the two roles, the lesser first', () => {
    expect(ADMIN_ROLES).toEqual(['viewer', 'approver']);
  });

  it.each(cases)('should let a %s call a route that requires %s only when the role covers it', (role, required) => {
    for (const kind of ['user', 'api-key'] as const) {
      expect(hasRole({ kind, id: 'caller@example.com', role }, required)).toBe(MAY[role][required]);
    }
  });
});

describe('AdminRoute', () => {
  const spec: AdminRouteSpec = {
    role: 'approver',
    operationId: 'approveEntitlement',
    summary: 'Approve',
    tags: ['entitlements'],
    response: { status: 200, description: 'Approved', schema: z.object({}) },
  };

  class Routes {
    @AdminRoute(spec)
    approve(): void {}

    undeclared(): void {}
  }

  it('should store the spec on the handler under ADMIN_ROUTE, where the guard and the OpenAPI document read it', () => {
    expect(Reflect.getMetadata(ADMIN_ROUTE, Routes.prototype.approve)).toBe(spec);
    expect(Reflect.getMetadata(ADMIN_ROUTE, Routes.prototype.undeclared)).toBeUndefined();
  });
});
