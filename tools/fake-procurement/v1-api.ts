/**
 * The Partner Procurement API v1 surface: routes, request validation as Google's front end does it,
 * and dispatch to the state machine. Paths are the ones the generated client builds
 * (`/v1/{+name}` with reserved expansion, custom methods as `:verb`).
 */
import { errors, fail, ok, type ApiError, type Result } from './errors.js';
import { errorResponse, json, type JsonResponse } from './http.js';
import type { ProcurementState } from './state.js';
import { accountName, entitlementName } from './types.js';

export const API_METHODS = [
  'entitlements.get',
  'entitlements.list',
  'entitlements.patch',
  'entitlements.approve',
  'entitlements.reject',
  'entitlements.approvePlanChange',
  'entitlements.rejectPlanChange',
  'entitlements.suspend',
  'accounts.get',
  'accounts.list',
  'accounts.approve',
  'accounts.reject',
  'accounts.reset',
] as const;

export type ApiMethod = (typeof API_METHODS)[number];

export interface ApiRoute {
  method: ApiMethod;
  providerId: string;
  resourceId?: string;
  /** The resource name, e.g. `providers/p/entitlements/e1` (absent for list calls). */
  name?: string;
}

const PATH = /^\/v1\/providers\/([^/:]+)\/(entitlements|accounts)(?:\/([^/:]+)(?::([A-Za-z]+))?)?$/;

const ROUTES: Record<string, ApiMethod> = {
  'GET entitlements': 'entitlements.list',
  'GET entitlements/*': 'entitlements.get',
  'PATCH entitlements/*': 'entitlements.patch',
  'POST entitlements/*:approve': 'entitlements.approve',
  'POST entitlements/*:reject': 'entitlements.reject',
  'POST entitlements/*:approvePlanChange': 'entitlements.approvePlanChange',
  'POST entitlements/*:rejectPlanChange': 'entitlements.rejectPlanChange',
  'POST entitlements/*:suspend': 'entitlements.suspend',
  'GET accounts': 'accounts.list',
  'GET accounts/*': 'accounts.get',
  'POST accounts/*:approve': 'accounts.approve',
  'POST accounts/*:reject': 'accounts.reject',
  'POST accounts/*:reset': 'accounts.reset',
};

export function matchApiRoute(httpMethod: string, pathname: string): ApiRoute | undefined {
  const match = PATH.exec(pathname);
  if (!match) return undefined;
  const [, rawProvider = '', collection = '', rawId, verb] = match;
  const method =
    ROUTES[`${httpMethod} ${collection}${rawId === undefined ? '' : '/*'}${verb === undefined ? '' : `:${verb}`}`];
  const providerId = decode(rawProvider);
  const resourceId = rawId === undefined ? undefined : decode(rawId);
  if (!method || providerId === undefined || (rawId !== undefined && resourceId === undefined)) return undefined;
  if (resourceId === undefined) return { method, providerId };
  const name =
    collection === 'entitlements' ? entitlementName(providerId, resourceId) : accountName(providerId, resourceId);
  return { method, providerId, resourceId, name };
}

/** Any non-empty bearer token is accepted unless the fake was started with a fixed list. */
export function authenticate(authorization: string | undefined, accessTokens?: readonly string[]): Result<void> {
  if (!authorization) return fail(errors.unauthenticated());
  const token = /^Bearer\s+(\S+)$/i.exec(authorization)?.[1];
  if (!token || (accessTokens && !accessTokens.includes(token))) return fail(errors.invalidCredentials());
  return ok(undefined);
}

// ---- request validation -----------------------------------------------------------------------

type FieldType = 'string' | 'stringMap' | 'any';

interface MethodSpec {
  query: readonly string[];
  body?: Record<string, FieldType>;
}

/** Output-only fields may appear in a patch body (a fetched resource sent back) and are ignored. */
const OUTPUT_ONLY_ENTITLEMENT_FIELDS = [
  'name',
  'account',
  'provider',
  'product',
  'productExternalName',
  'quoteExternalName',
  'plan',
  'newPendingPlan',
  'offer',
  'offerDuration',
  'offerEndTime',
  'newPendingOffer',
  'newPendingOfferDuration',
  'newOfferStartTime',
  'newOfferEndTime',
  'state',
  'createTime',
  'updateTime',
  'usageReportingId',
  'orderId',
  'subscriptionEndTime',
  'cancellationReason',
  'consumers',
  'inputProperties',
  'entitlementBenefitIds',
];

const ENTITLEMENT_FIELDS: Record<string, FieldType> = {
  ...Object.fromEntries(OUTPUT_ONLY_ENTITLEMENT_FIELDS.map((field) => [field, 'any' as const])),
  messageToUser: 'string',
};

const SPECS: Record<ApiMethod, MethodSpec> = {
  'entitlements.get': { query: [] },
  'entitlements.list': { query: ['filter', 'pageSize', 'pageToken'] },
  'entitlements.patch': { query: ['updateMask'], body: ENTITLEMENT_FIELDS },
  'entitlements.approve': { query: [], body: { properties: 'stringMap', entitlementMigrated: 'string' } },
  'entitlements.reject': { query: [], body: { reason: 'string' } },
  'entitlements.approvePlanChange': { query: [], body: { pendingPlanName: 'string' } },
  'entitlements.rejectPlanChange': { query: [], body: { pendingPlanName: 'string', reason: 'string' } },
  'entitlements.suspend': { query: [], body: { reason: 'string' } },
  'accounts.get': { query: ['view'] },
  'accounts.list': { query: ['pageSize', 'pageToken'] },
  'accounts.approve': { query: [], body: { approvalName: 'string', reason: 'string', properties: 'stringMap' } },
  'accounts.reject': { query: [], body: { approvalName: 'string', reason: 'string' } },
  'accounts.reset': { query: [], body: {} },
};

/** Parameters every Google API accepts on any method. */
const SYSTEM_PARAMETERS = new Set([
  '$.xgafv',
  'access_token',
  'alt',
  'callback',
  'fields',
  'key',
  'oauth_token',
  'prettyPrint',
  'quotaUser',
  'upload_protocol',
  'uploadType',
]);

export interface ApiQuery {
  filter?: string;
  pageSize?: number;
  pageToken?: string;
  updateMask?: string;
  view?: string;
}

/** Google binds query parameters by camelCase or snake_case name and refuses unknown ones. */
export function parseQuery(method: ApiMethod, params: URLSearchParams): Result<ApiQuery> {
  const query: Record<string, string> = {};
  for (const [key, value] of params) {
    if (SYSTEM_PARAMETERS.has(key)) continue;
    const field = key.replace(/_([a-z])/g, (_, letter: string) => letter.toUpperCase());
    if (!SPECS[method].query.includes(field)) {
      return fail(
        errors.invalidArgument(
          `Invalid JSON payload received. Unknown name "${key}": Cannot bind query parameter. Field '${key}' could not be found in request message.`,
        ),
      );
    }
    query[field] = value;
  }
  const { pageSize, ...rest } = query;
  if (pageSize === undefined) return ok(rest);
  if (!/^-?\d+$/.test(pageSize)) {
    return fail(errors.invalidArgument(`Invalid value at 'page_size' (TYPE_INT32), "${pageSize}"`));
  }
  return ok({ ...rest, pageSize: Number(pageSize) });
}

/** Unknown JSON fields and wrongly typed values are refused, as Google's front end does. */
export function validateBody(method: ApiMethod, body: Record<string, unknown>): Result<Record<string, unknown>> {
  const fields = SPECS[method].body;
  if (!fields) return ok({});
  for (const [key, value] of Object.entries(body)) {
    const type = fields[key];
    if (!type) {
      return fail(errors.invalidArgument(`Invalid JSON payload received. Unknown name "${key}": Cannot find field.`));
    }
    if (value === null || type === 'any') continue;
    if (type === 'string' && typeof value !== 'string') return fail(invalidValue(key, 'TYPE_STRING', value));
    if (type === 'stringMap' && !isStringMap(value)) return fail(invalidValue(key, 'TYPE_MESSAGE', value));
  }
  return ok(withoutNulls(body));
}

function invalidValue(key: string, type: string, value: unknown): ApiError {
  return errors.invalidArgument(`Invalid value at '${snakeCase(key)}' (${type}), ${JSON.stringify(value)}`);
}

function isStringMap(value: unknown): boolean {
  return (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    Object.values(value).every((v) => typeof v === 'string')
  );
}

// ---- dispatch ---------------------------------------------------------------------------------

/** Runs a validated call. Methods returning `google.protobuf.Empty` answer `{}`. */
export function dispatch(
  state: ProcurementState,
  route: ApiRoute,
  query: ApiQuery,
  body: Record<string, unknown>,
): JsonResponse {
  const p = route.providerId;
  const id = route.resourceId ?? '';
  const text = (key: string): string | undefined => body[key] as string | undefined;
  switch (route.method) {
    case 'entitlements.get':
      return reply(state.getEntitlement(p, id));
    case 'entitlements.list':
      return reply(state.listEntitlements(p, query));
    case 'entitlements.patch':
      return reply(state.patchEntitlement(p, id, body, query.updateMask));
    case 'entitlements.approve':
      return empty(state.approveEntitlement(p, id, body));
    case 'entitlements.reject':
      return empty(state.rejectEntitlement(p, id, { reason: text('reason') }));
    case 'entitlements.approvePlanChange':
      return empty(state.approvePlanChange(p, id, { pendingPlanName: text('pendingPlanName') }));
    case 'entitlements.rejectPlanChange':
      return empty(state.rejectPlanChange(p, id, { pendingPlanName: text('pendingPlanName'), reason: text('reason') }));
    case 'entitlements.suspend':
      return empty(state.suspendEntitlement(p, id));
    case 'accounts.get':
      return reply(state.getAccount(p, id, query.view));
    case 'accounts.list':
      return reply(state.listAccounts(p, query));
    case 'accounts.approve':
      return empty(state.approveAccount(p, id, body));
    case 'accounts.reject':
      return empty(state.rejectAccount(p, id, body));
    case 'accounts.reset':
      return empty(state.resetAccount(p, id));
  }
}

function reply(result: Result<unknown>): JsonResponse {
  return result.ok ? json(result.value) : errorResponse(result.error);
}

function empty(result: Result<unknown>): JsonResponse {
  return result.ok ? json({}) : errorResponse(result.error);
}

function decode(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

function snakeCase(key: string): string {
  return key.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`);
}

function withoutNulls(body: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(body).filter(([, value]) => value !== null));
}
