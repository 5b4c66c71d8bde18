import { SetMetadata } from '@nestjs/common';
import type { z } from 'zod';

/** Approvers may do everything viewers may, plus approve, reject and replay. */
export const ADMIN_ROLES = ['viewer', 'approver'] as const;
export type AdminRole = (typeof ADMIN_ROLES)[number];

/** Who is calling: a person (verified Google ID token) or a named API key. */
export interface Principal {
  kind: 'user' | 'api-key';
  /** The e-mail (lowercased) or the key's name: what the audit trail records as the actor. */
  id: string;
  role: AdminRole;
}

export function hasRole(principal: Principal, required: AdminRole): boolean {
  return required === 'viewer' || principal.role === 'approver';
}

/** JSON Schema (2020-12, as OpenAPI 3.1 uses it) of a response body. */
export type JsonSchema = Record<string, unknown>;

/**
 * What one admin route declares: the role it requires (read by the guard) and what the OpenAPI
 * document says about it. The same metadata drives both, so the document cannot drift from the router.
 */
export interface AdminRouteSpec {
  role: AdminRole;
  operationId: string;
  summary: string;
  description?: string;
  tags: string[];
  /** Path parameters and what they hold. */
  params?: Record<string, string>;
  query?: z.ZodObject;
  body?: z.ZodType;
  /** The success answer. */
  response: { status: 200; description: string; schema: JsonSchema };
  /** Refusals this route may answer besides 401/403/429/503 (which every route may). */
  errors?: (400 | 404 | 409)[];
}

export const ADMIN_ROUTE = 'admin:route';

/** Declares an admin route's required role and its OpenAPI description. A route without it is refused. */
export const AdminRoute = (spec: AdminRouteSpec) => SetMetadata(ADMIN_ROUTE, spec);
