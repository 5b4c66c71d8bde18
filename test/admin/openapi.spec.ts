import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startAdminStack, type AdminStack } from './admin-stack.js';

type Operation = {
  operationId: string;
  'x-required-role': unknown;
  responses: Record<string, { $ref?: string; description?: string }>;
  parameters?: { name: string; in: string; required: boolean; schema: object }[];
  requestBody?: { content: Record<string, { schema: object }> };
};
type Document = {
  openapi: string;
  info: { title: string; version: string };
  paths: Record<string, Record<string, Operation>>;
  components: Record<string, Record<string, unknown>>;
};

/** The roles the issue asks for: reads for viewers, every decision for approvers. */
const EXPECTED: Record<string, 'viewer' | 'approver'> = {
  'get /admin/v1/openapi.json': 'viewer',
  'get /admin/v1/me': 'viewer',
  'get /admin/v1/entitlements': 'viewer',
  'get /admin/v1/entitlements/{id}': 'viewer',
  'get /admin/v1/approvals': 'viewer',
  'get /admin/v1/plan-changes': 'viewer',
  'post /admin/v1/entitlements/{id}/approve': 'approver',
  'post /admin/v1/entitlements/{id}/reject': 'approver',
  'post /admin/v1/entitlements/{id}/plan-change/approve': 'approver',
  'post /admin/v1/entitlements/{id}/plan-change/reject': 'approver',
  'get /admin/v1/accounts/{accountId}': 'viewer',
  'post /admin/v1/accounts/{accountId}/approve': 'approver',
  'post /admin/v1/accounts/{accountId}/reject': 'approver',
  'post /admin/v1/accounts/{accountId}/reset': 'approver',
  'get /admin/v1/events': 'viewer',
  'get /admin/v1/events/{eventId}': 'viewer',
  'post /admin/v1/events/{eventId}/replay': 'approver',
  'post /admin/v1/events/{eventId}/resolve': 'approver',
  'post /admin/v1/erasures': 'approver',
  'get /admin/v1/audit': 'viewer',
  'get /admin/v1/accounts': 'viewer',
  'get /admin/v1/entitlements/{id}/events': 'viewer',
  'get /admin/v1/event-counts': 'viewer',
  'get /admin/v1/runs': 'viewer',
  'get /admin/v1/usage/reporter': 'viewer',
  'get /admin/v1/usage/{entitlementId}': 'viewer',
};

/** The console's static files (src/admin/console): public, outside the API and its guard, holding no data. */
const CONSOLE_ROUTES = ['get /admin/console', 'get /admin/console/', 'get /admin/console/*'];

/**
 * Fastify's own routing table (its `printRoutes()` tree, flattened): what the service really serves
 * under /admin. Fastify adds a HEAD route to every GET; those are left out.
 */
function servedAdminRoutes(stack: AdminStack): string[] {
  const fastify = stack.app.app.getHttpAdapter().getInstance() as { printRoutes(o: object): string };
  const tree = fastify.printRoutes({ commonPrefix: false });
  const prefixes: string[] = [];
  const routes: string[] = [];
  for (const line of tree.split('\n')) {
    const match = /^([\s│├└─]*)(\S.*?)(?: \(([A-Z, ]+)\))?$/.exec(line);
    if (!match) continue;
    const depth = match[1]!.length / 4;
    const path = (prefixes[depth - 1] ?? '') + match[2]!;
    prefixes[depth] = path;
    for (const method of match[3]?.split(', ') ?? []) {
      if (method !== 'HEAD' && path.toLowerCase().startsWith('/admin'))
        routes.push(`${method.toLowerCase()} ${path.replace(/:(\w+)/g, '{$1}')}`);
    }
  }
  return routes.sort();
}

/** Every `$ref` in the document points at something that exists in it. */
function unresolvedRefs(document: unknown): string[] {
  const missing: string[] = [];
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(walk);
    if (!node || typeof node !== 'object') return;
    for (const [key, value] of Object.entries(node)) {
      if (key === '$ref' && typeof value === 'string') {
        const target = value
          .replace(/^#\//, '')
          .split('/')
          .reduce<unknown>((at, part) => (at as Record<string, unknown> | undefined)?.[part], document);
        if (!value.startsWith('#/') || target === undefined) missing.push(value);
      } else walk(value);
    }
  };
  walk(document);
  return missing;
}

describe('Admin API OpenAPI document', () => {
  let stack: AdminStack;
  let document: Document;

  beforeAll(async () => {
    stack = await startAdminStack();
    const response = await stack.call('GET', '/admin/v1/openapi.json', { apiKey: stack.keys.viewer });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('application/json');
    document = response.body as Document;
  });
  afterAll(() => stack.close());

  it('should be served to viewers only', async () => {
    expect((await stack.call('GET', '/admin/v1/openapi.json')).status).toBe(401);
  });

  it('should be a well-formed OpenAPI 3.1 document whose references all resolve', () => {
    expect(document.openapi).toBe('3.1.0');
    expect(document.info).toMatchObject({ title: expect.any(String), version: expect.any(String) });
    expect(Object.keys(document.components.securitySchemes!)).toEqual(
      expect.arrayContaining(['googleIdToken', 'apiKey']),
    );
    expect(unresolvedRefs(document)).toEqual([]);
    const operationIds = Object.values(document.paths).flatMap((ops) => Object.values(ops).map((op) => op.operationId));
    expect(new Set(operationIds).size).toBe(operationIds.length);
    for (const [path, operations] of Object.entries(document.paths)) {
      for (const [method, op] of Object.entries(operations)) {
        const where = `${method} ${path}`;
        expect({ where, role: op['x-required-role'] }).toEqual({
          where,
          role: expect.stringMatching(/^(viewer|approver)$/),
        });
        expect({ where, ok: Object.keys(op.responses).some((s) => s.startsWith('2')) }).toEqual({ where, ok: true });
        for (const [status, response] of Object.entries(op.responses)) {
          expect({ where, status, described: Boolean(response.$ref ?? response.description) }).toEqual({
            where,
            status,
            described: true,
          });
        }
        expect(op.responses['401']).toEqual({ $ref: '#/components/responses/Unauthenticated' });
        expect(op.responses['429']).toEqual({ $ref: '#/components/responses/RateLimited' });
        // Path templates and path parameters agree.
        const templated = [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
        const declared = (op.parameters ?? [])
          .filter((p) => p.in === 'path')
          .map((p) => p.name)
          .sort();
        expect({ where, declared }).toEqual({ where, declared: templated });
      }
    }
  });

  it('should list exactly the routes the router serves, each with the role the issue asks for', () => {
    const documented = Object.entries(document.paths)
      .flatMap(([path, operations]) => Object.keys(operations).map((method) => `${method} ${path}`))
      .sort();
    const served = servedAdminRoutes(stack);
    expect(served).toEqual(expect.arrayContaining(CONSOLE_ROUTES));
    expect(documented).toEqual(served.filter((route) => !CONSOLE_ROUTES.includes(route)));
    const roles = Object.fromEntries(
      Object.entries(document.paths).flatMap(([path, ops]) =>
        Object.entries(ops).map(([m, op]) => [`${m} ${path}`, op['x-required-role']]),
      ),
    );
    expect(roles).toEqual(EXPECTED);
  });

  it('should describe request bodies and query parameters from the schemas that validate them', () => {
    const reject = document.paths['/admin/v1/entitlements/{id}/reject']!.post!;
    expect(reject.requestBody?.content['application/json']?.schema).toMatchObject({
      type: 'object',
      required: ['reason'],
      properties: { reason: { type: 'string', description: expect.stringContaining('256 bytes') } },
    });
    const resolve = document.paths['/admin/v1/events/{eventId}/resolve']!.post!;
    expect(resolve.requestBody?.content['application/json']?.schema).toMatchObject({
      type: 'object',
      required: expect.arrayContaining(['validUntil', 'reason']),
      properties: {
        validUntil: { anyOf: expect.arrayContaining([expect.objectContaining({ const: 'open-ended' })]) },
        validFrom: { type: 'string' },
      },
    });
    expect(Object.keys(resolve.responses).sort()).toEqual(['200', '400', '401', '403', '404', '409', '429', '503']);
    const events = document.paths['/admin/v1/events']!.get!;
    expect(events.parameters).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          name: 'outcome',
          in: 'query',
          required: true,
          schema: expect.objectContaining({ enum: expect.arrayContaining(['invalid', 'failed', 'stale']) }),
        }),
        expect.objectContaining({ name: 'cursor', in: 'query', required: false }),
      ]),
    );
  });
});
