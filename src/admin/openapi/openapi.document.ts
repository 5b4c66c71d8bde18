import { RequestMethod, type Type } from '@nestjs/common';
import { METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants.js';
import { z } from 'zod';
import { ADMIN_ROUTE, type AdminRouteSpec, type JsonSchema } from '../auth/roles.js';
import { ErrorBody, RESPONSES } from './responses.js';

export interface OpenApiDocument {
  openapi: '3.1.0';
  info: { title: string; version: string; description: string };
  servers: { url: string }[];
  security: Record<string, string[]>[];
  tags: { name: string; description: string }[];
  paths: Record<string, Record<string, Operation>>;
  components: {
    schemas: Record<string, JsonSchema>;
    responses: Record<
      string,
      { description: string; headers?: Record<string, unknown>; content: Record<string, { schema: JsonSchema }> }
    >;
    securitySchemes: Record<string, Record<string, unknown>>;
  };
}

export interface Operation {
  operationId: string;
  summary: string;
  description?: string;
  tags: string[];
  /** The role the guard requires; `null` marks a route declaring none (the guard refuses it). */
  'x-required-role': AdminRouteSpec['role'] | null;
  parameters?: Record<string, unknown>[];
  requestBody?: Record<string, unknown>;
  responses: Record<string, unknown>;
}

const ERROR_RESPONSES: Record<number, { name: string; description: string }> = {
  400: {
    name: 'BadRequest',
    description: 'validation_failed: the request names the offending fields (e.g. a reason over 256 bytes)',
  },
  401: {
    name: 'Unauthenticated',
    description: 'unauthenticated: no credentials, an invalid ID token or an unknown API key',
  },
  403: { name: 'Forbidden', description: 'forbidden: the caller lacks the required role (or is not an admin)' },
  404: { name: 'NotFound', description: 'not_found' },
  409: { name: 'Conflict', description: 'conflict: the action no longer applies; `details` holds the current state' },
  429: {
    name: 'RateLimited',
    description:
      'rate_limited: too many requests from this caller, or too many failed authentications from this client; see Retry-After',
  },
  503: { name: 'Unavailable', description: 'unavailable: Firestore or the Procurement API could not answer; retry' },
};
/** Every route authenticates and rate-limits; 503 only where the route reads Firestore or calls Google (`errors`). */
const ALWAYS = [401, 403, 429];

/**
 * The OpenAPI 3.1 document of the admin API, built from the controllers' own route metadata (path,
 * method, `@AdminRoute`), so it lists exactly the routes the router serves and the role each requires.
 */
export function buildOpenApiDocument(controllers: Type[], version: string): OpenApiDocument {
  const paths: OpenApiDocument['paths'] = {};
  for (const controller of controllers) {
    const base = String(Reflect.getMetadata(PATH_METADATA, controller) ?? '');
    for (const name of Object.getOwnPropertyNames(controller.prototype)) {
      const handler = (controller.prototype as Record<string, unknown>)[name];
      if (name === 'constructor' || typeof handler !== 'function') continue;
      const method = Reflect.getMetadata(METHOD_METADATA, handler) as RequestMethod | undefined;
      if (method === undefined) continue;
      const routePaths = [Reflect.getMetadata(PATH_METADATA, handler) as string | string[] | undefined].flat();
      const spec = Reflect.getMetadata(ADMIN_ROUTE, handler) as AdminRouteSpec | undefined;
      for (const routePath of routePaths) {
        const path = openApiPath(base, routePath ?? '/');
        (paths[path] ??= {})[RequestMethod[method].toLowerCase()] = spec ? operation(spec, path) : undeclared(name);
      }
    }
  }
  const sorted = Object.fromEntries(Object.entries(paths).sort(([a], [b]) => a.localeCompare(b)));
  return {
    openapi: '3.1.0',
    info: {
      title: 'Marketplace entitlements: admin API',
      version,
      description: [
        'Approvals, accounts, history and replay for the operations team (docs/admin-api.md).',
        'Authenticate with a Google ID token (`Authorization: Bearer`) of a listed e-mail or Workspace domain, or a named API key',
        '(`x-api-key`, or `Authorization: Bearer <key>`). `x-required-role` names the role each operation requires; approvers may do',
        `everything viewers may. Rate limited per caller (token bucket, ADMIN_RATE_LIMIT_PER_MINUTE / _BURST): 429 with Retry-After.`,
        'Every error has the body `Error` with a stable `code`.',
      ].join(' '),
    },
    servers: [{ url: '/' }],
    security: [{ googleIdToken: [] }, { apiKey: [] }, { apiKeyBearer: [] }],
    tags: [
      { name: 'entitlements', description: 'Entitlements, approvals and plan changes' },
      { name: 'accounts', description: 'Marketplace accounts and their sign-up approval' },
      { name: 'events', description: 'The inbound event ledger and replay' },
      { name: 'audit', description: 'Who did what' },
      { name: 'activity', description: 'Events per source and outcome, lifecycle runs' },
      { name: 'usage', description: 'Usage reported to Service Control, per entitlement and window' },
      { name: 'erasures', description: "Erasing a person's personal data" },
      { name: 'meta', description: 'This document and the caller' },
    ],
    paths: sorted,
    components: {
      schemas: responseSchemas(),
      responses: Object.fromEntries(
        Object.entries(ERROR_RESPONSES).map(([status, r]) => [
          r.name,
          {
            description: r.description,
            ...(status === '429' || status === '503'
              ? { headers: { 'Retry-After': { description: 'Seconds to wait', schema: { type: 'integer' } } } }
              : {}),
            content: { 'application/json': { schema: componentRef(ErrorBody) } },
          },
        ]),
      ),
      securitySchemes: {
        googleIdToken: {
          type: 'http',
          scheme: 'bearer',
          bearerFormat: 'JWT',
          description:
            'A Google-signed ID token for ADMIN_AUDIENCE whose e-mail (or `hd` domain) is in ADMIN_APPROVERS / ADMIN_VIEWERS',
        },
        apiKey: {
          type: 'apiKey',
          in: 'header',
          name: 'x-api-key',
          description: 'A named key listed (hashed) in ADMIN_API_KEYS',
        },
        apiKeyBearer: {
          type: 'http',
          scheme: 'bearer',
          description: 'The same API key as `Authorization: Bearer <key>`',
        },
      },
    },
  };
}

function operation(spec: AdminRouteSpec, path: string): Operation {
  const parameters = [
    ...[...path.matchAll(/\{(\w+)\}/g)].map(([, name]) => ({
      name,
      in: 'path',
      required: true,
      description: spec.params?.[name!] ?? name,
      schema: { type: 'string' },
    })),
    ...(spec.query ? queryParameters(spec.query) : []),
  ];
  // A query, and a path id Firestore could not hold (idParam), are refused with 400.
  const validated = spec.query || parameters.some((p) => p.in === 'path');
  const errors = [...new Set([...(spec.errors ?? []), ...(validated ? [400] : []), ...ALWAYS])].sort();
  return {
    operationId: spec.operationId,
    summary: spec.summary,
    ...(spec.description ? { description: spec.description } : {}),
    tags: spec.tags,
    'x-required-role': spec.role,
    ...(parameters.length ? { parameters } : {}),
    ...(spec.body ? { requestBody: requestBody(spec.body) } : {}),
    responses: {
      [spec.response.status]: {
        description: spec.response.description,
        content: { 'application/json': { schema: componentRef(spec.response.schema) } },
      },
      ...Object.fromEntries(
        errors.map((status) => [status, { $ref: `#/components/responses/${ERROR_RESPONSES[status]!.name}` }]),
      ),
    },
  };
}

/** A handler under the admin prefix without `@AdminRoute`: listed so that it shows, with no role (refused). */
function undeclared(name: string): Operation {
  return {
    operationId: name,
    summary: 'Declares no required role: refused by the guard',
    tags: [],
    'x-required-role': null,
    responses: { 403: { $ref: '#/components/responses/Forbidden' } },
  };
}

/** Required when the body has required fields; approvals take an optional body (an optional reason). */
function requestBody(schema: z.ZodType): Record<string, unknown> {
  const json = jsonSchema(schema);
  const required = Array.isArray(json.required) && json.required.length > 0;
  return { required, content: { 'application/json': { schema: json } } };
}

function queryParameters(schema: z.ZodObject): Record<string, unknown>[] {
  const json = jsonSchema(schema) as {
    properties?: Record<string, JsonSchema & { description?: string }>;
    required?: string[];
  };
  return Object.entries(json.properties ?? {}).map(([name, property]) => {
    const { description, ...rest } = property;
    return {
      name,
      in: 'query',
      required: json.required?.includes(name) ?? false,
      ...(description ? { description } : {}),
      schema: rest,
    };
  });
}

/** `$ref` to the component a response schema is registered as (responses.ts). */
function componentRef(schema: z.ZodType): JsonSchema {
  const id = RESPONSES.get(schema)?.id;
  if (!id) throw new Error('A response schema must be a component of responses.ts (registered with component())');
  return { $ref: `#/components/schemas/${id}` };
}

/**
 * Every response component, derived from its zod schema like the requests are, as what the service
 * sends (`io: 'output'`): a `Date` is an RFC 3339 `date-time` string on the wire (JSON.stringify).
 * Components refer to each other by `$ref`; objects list every field (`additionalProperties: false`).
 */
function responseSchemas(): Record<string, JsonSchema> {
  const { schemas } = z.toJSONSchema(RESPONSES, {
    io: 'output',
    target: 'draft-2020-12',
    uri: (id) => `#/components/schemas/${id}`,
    unrepresentable: ({ zodSchema }) =>
      zodSchema._zod.def.type === 'date' ? { type: 'string', format: 'date-time' } : 'throw',
    override: ({ jsonSchema }) => {
      // z.int() bounds itself to safe integers: true of every JSON number the service sends, noise here.
      if (jsonSchema.minimum === Number.MIN_SAFE_INTEGER) delete jsonSchema.minimum;
      if (jsonSchema.maximum === Number.MAX_SAFE_INTEGER) delete jsonSchema.maximum;
    },
  });
  return Object.fromEntries(
    Object.entries(schemas).map(([id, { $schema: _, $id: __, ...schema }]) => [id, schema as JsonSchema]),
  );
}

function jsonSchema(schema: z.ZodType): JsonSchema {
  // `io: 'input'`: what the caller sends (defaults optional, query numbers before coercion described as numbers).
  const { $schema: _, ...rest } = z.toJSONSchema(schema, {
    io: 'input',
    target: 'draft-2020-12',
    unrepresentable: 'any',
  });
  return rest;
}

/** `admin/v1` + `entitlements/:id` → `/admin/v1/entitlements/{id}` */
export function openApiPath(base: string, route: string): string {
  const joined = `/${[base, route]
    .map((p) => p.replace(/^\/+|\/+$/g, ''))
    .filter(Boolean)
    .join('/')}`;
  return joined.replace(/:(\w+)/g, '{$1}');
}
