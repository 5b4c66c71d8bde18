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

/** JSON Schema (2020-12, as OpenAPI 3.1 uses it). */
export type JsonSchema = Record<string, unknown>;

/**
 * What one admin route declares: the role it requires (read by the guard) and what the OpenAPI
 * document says about it. The same metadata drives both, so the document cannot drift from the router.
 */
export interface AdminRouteSpec<S extends z.ZodType = z.ZodType> {
  role: AdminRole;
  operationId: string;
  summary: string;
  description?: string;
  tags: string[];
  /** Path parameters and what they hold. */
  params?: Record<string, string>;
  query?: z.ZodObject;
  body?: z.ZodType;
  /** The success answer: its schema is one of src/admin/openapi/responses.ts (a component of the document). */
  response: { status: 200; description: string; schema: S };
  /**
   * What this route may answer besides 401/403/429 (which every route may); 400 is implied by `query`
   * and by a path parameter (`idParam` refuses ids Firestore cannot hold).
   * 503: the route reads Firestore or calls the Procurement API, which may be unavailable.
   */
  errors?: (400 | 404 | 409 | 503)[];
}

export const ADMIN_ROUTE = 'admin:route';

/**
 * Declares an admin route's required role and its OpenAPI description. A route without it is refused.
 * The handler must return (a promise of) what `spec.response.schema` documents: the compiler keeps the
 * code and the document together.
 */
export function AdminRoute<S extends z.ZodType>(spec: AdminRouteSpec<S>) {
  const metadata = SetMetadata(ADMIN_ROUTE, spec);
  return <H extends (...args: never[]) => z.output<S> | Promise<z.output<S>>>(
    target: object,
    key: string | symbol,
    descriptor: TypedPropertyDescriptor<H>,
  ): void => {
    metadata(target, key, descriptor);
  };
}
