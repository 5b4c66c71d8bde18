/**
 * The fake's control API under `/__control/`: lets a simulator in another process act as the customer
 * and as Google (purchases, activation, plan changes, cancellations, deletions), set up drift, read the
 * recorded calls and inject faults. Customer actions answer `{ entitlement?, account?, messages }`,
 * where `messages` are the Pub/Sub payloads Google would publish for them, in order.
 * It is deliberately not reachable below `/v1/` and needs no credentials (bind the fake to loopback).
 */
import { errors, fail, ok, type Result } from './errors.js';
import { errorResponse, json, type JsonResponse } from './http.js';
import type {
  AcceptOfferOptions,
  CancelOptions,
  CreateAccountOptions,
  PlanChangeOptions,
  ProcurementState,
  PurchaseOptions,
} from './state.js';
import type { MarketplaceMessage } from './messages.js';
import type { Entitlement } from './types.js';
import type { ApiMethod } from './v1-api.js';

export const CONTROL_PREFIX = '/__control/';

export interface Fault {
  status: number;
  body?: unknown;
  /** Only calls of this API method fail; any method when absent. */
  method?: ApiMethod;
}

/** What the control API needs from the server besides the state. */
export interface ControlHooks {
  state: ProcurementState;
  readonly calls: readonly unknown[];
  clearCalls(): void;
  failNext(count: number, fault: Fault): void;
  setLatency(ms: number): void;
  /** Messages Google published for provider calls that no publisher took (see `FakeProcurement.setPublisher`). */
  takeMessages(): MarketplaceMessage[];
  reset(): void;
}

export interface ControlRequest {
  httpMethod: string;
  pathname: string;
  query: URLSearchParams;
  body: Record<string, unknown>;
}

type Kind = 'string' | 'boolean' | 'number' | 'object' | 'array';
type Spec = Record<string, Kind>;

const RESOURCE_PATH = /^\/__control\/providers\/([^/:]+)\/(entitlements|accounts)(?:\/([^/:]+)(?::([A-Za-z]+))?)?$/;

const PURCHASE: Spec = {
  accountId: 'string',
  product: 'string',
  plan: 'string',
  entitlementId: 'string',
  orderId: 'string',
  offer: 'string',
  offerDuration: 'string',
  offerEndTime: 'string',
  futureStart: 'string',
  automaticApproval: 'boolean',
  quoteExternalName: 'string',
  usageReportingId: 'string',
  consumers: 'array',
  inputProperties: 'object',
  entitlementBenefitIds: 'array',
};
const CREATE_ACCOUNT: Spec = {
  accountId: 'string',
  signupApproved: 'boolean',
  inputProperties: 'object',
  resellerParentBillingAccount: 'string',
  accountEvent: 'string',
};

export function handleControl(hooks: ControlHooks, request: ControlRequest): JsonResponse {
  const { httpMethod, pathname, body } = request;
  switch (`${httpMethod} ${pathname}`) {
    case 'POST /__control/reset':
      hooks.reset();
      return json({});
    case 'GET /__control/calls':
      return json({ calls: hooks.calls });
    case 'DELETE /__control/calls':
      hooks.clearCalls();
      return json({});
    case 'POST /__control/faults':
      return respond(
        read<{ count: number; status: number; body?: unknown; method?: ApiMethod }>(
          body,
          { count: 'number', status: 'number', body: 'object', method: 'string' },
          ['count', 'status'],
        ),
        ({ count, ...fault }) => {
          hooks.failNext(count, fault);
          return {};
        },
      );
    case 'POST /__control/latency':
      return respond(read<{ ms: number }>(body, { ms: 'number' }, ['ms']), ({ ms }) => {
        hooks.setLatency(ms);
        return {};
      });
    case 'POST /__control/consistency':
      return respond(read<{ staleAccountReads?: number }>(body, { staleAccountReads: 'number' }), (options) => {
        hooks.state.setConsistency(options);
        return {};
      });
    case 'POST /__control/messages:take':
      return json({ messages: hooks.takeMessages() });
  }
  const match = RESOURCE_PATH.exec(pathname);
  if (!match) return errorResponse(errors.notFound(`No control route ${httpMethod} ${pathname}.`));
  const [, providerId = '', collection = '', id, verb] = match;
  const route = `${httpMethod} ${collection}${id === undefined ? '' : '/*'}${verb === undefined ? '' : `:${verb}`}`;
  const decodedProvider = decode(providerId);
  const decodedId = id === undefined ? '' : decode(id);
  if (decodedProvider === undefined || decodedId === undefined) {
    return errorResponse(errors.invalidArgument('Malformed path segment.'));
  }
  return resourceRoute(hooks.state, route, decodedProvider, decodedId, request);
}

function resourceRoute(
  state: ProcurementState,
  route: string,
  p: string,
  id: string,
  request: ControlRequest,
): JsonResponse {
  const { body, query } = request;
  switch (route) {
    case 'GET accounts':
      return guarded(state, p, () => json({ accounts: state.allAccounts(p) }));
    case 'POST accounts':
      return respond(read<CreateAccountOptions>(body, CREATE_ACCOUNT), (options) => state.createAccount(p, options));
    case 'GET accounts/*':
      return respond(ok(null), () => state.getAccount(p, id, 'ACCOUNT_VIEW_FULL'));
    case 'DELETE accounts/*':
      return respond(ok(null), () => state.deleteAccount(p, id));
    case 'POST accounts/*:approve':
      return respond(read<{ reason?: string }>(body, { reason: 'string' }), (options) =>
        noMessages('account', state.approveAccount(p, id, options)),
      );
    case 'POST accounts/*:reject':
      return respond(read<{ reason?: string }>(body, { reason: 'string' }), (options) =>
        noMessages('account', state.rejectAccount(p, id, options)),
      );
    case 'POST accounts/*:reset':
      return respond(ok(null), () => noMessages('account', state.resetAccount(p, id)));
    case 'GET entitlements':
      return guarded(state, p, () =>
        json({ entitlements: state.allEntitlements(p).map((e) => inspect(state, p, e.name)) }),
      );
    case 'POST entitlements':
      return respond(read<PurchaseOptions>(body, PURCHASE, ['accountId', 'product']), (options) =>
        state.createEntitlement(p, options),
      );
    case 'GET entitlements/*':
      return respond(ok(null), () => state.inspectEntitlement(p, id));
    case 'PATCH entitlements/*':
      return respond(ok(nullsRemove(body)), (fields) => state.setEntitlement(p, id, fields));
    case 'DELETE entitlements/*':
      // `?silent=true` removes it behind the service's back (drift); otherwise Marketplace deletes a cancelled one.
      if (query.get('silent') === 'true') return respond(ok(null), () => state.deleteEntitlement(p, id));
      return respond(ok(null), () => state.deleteCancelledEntitlement(p, id));
    case 'POST entitlements/*:activate':
      return respond(read(body, {}), () => state.activateEntitlement(p, id));
    case 'POST entitlements/*:requestPlanChange':
      return respond(
        read<PlanChangeOptions>(
          body,
          { plan: 'string', offer: 'string', offerDuration: 'string', takesEffect: 'string' },
          ['plan'],
        ),
        (o) => state.requestPlanChange(p, id, o),
      );
    case 'POST entitlements/*:completePlanChange':
      return respond(read(body, {}), () => state.completePlanChange(p, id));
    case 'POST entitlements/*:cancelPlanChange':
      return respond(read(body, {}), () => state.cancelPlanChange(p, id));
    case 'POST entitlements/*:cancel':
      return respond(
        read<CancelOptions>(body, { atPeriodEnd: 'boolean', reason: 'string', announceCancelling: 'boolean' }),
        (o) => state.cancelEntitlement(p, id, o),
      );
    case 'POST entitlements/*:endPeriod':
      return respond(read<{ announceCancelling?: boolean }>(body, { announceCancelling: 'boolean' }), (o) =>
        state.endPeriod(p, id, o),
      );
    case 'POST entitlements/*:revertCancellation':
      return respond(read(body, {}), () => state.revertCancellation(p, id));
    case 'POST entitlements/*:suspend':
      return respond(read(body, {}), () => state.suspendByGoogle(p, id));
    case 'POST entitlements/*:reinstate':
      return respond(read(body, {}), () => state.reinstate(p, id));
    case 'POST entitlements/*:renew':
      return respond(read(body, {}), () => state.renewEntitlement(p, id));
    case 'POST entitlements/*:acceptOffer':
      return respond(
        read<AcceptOfferOptions>(
          body,
          { offer: 'string', plan: 'string', offerDuration: 'string', startTime: 'string', endTime: 'string' },
          ['offer', 'startTime'],
        ),
        (o) => state.acceptOffer(p, id, o),
      );
    case 'POST entitlements/*:endOffer':
      return respond(read<{ cancel?: boolean }>(body, { cancel: 'boolean' }), (o) => state.endOffer(p, id, o));
    default:
      return errorResponse(errors.notFound(`No control route ${request.httpMethod} ${request.pathname}.`));
  }
}

/** Validates the request, then runs the operation; either step's refusal becomes Google's error body. */
function respond<T>(input: Result<T>, operation: (value: T) => Result<unknown> | object): JsonResponse {
  if (!input.ok) return errorResponse(input.error);
  const result = operation(input.value);
  if (isResult(result)) return result.ok ? json(result.value) : errorResponse(result.error);
  return json(result);
}

function guarded(state: ProcurementState, providerId: string, list: () => JsonResponse): JsonResponse {
  return state.hasProvider(providerId) ? list() : errorResponse(errors.permissionDenied());
}

function noMessages<K extends string>(key: K, result: Result<unknown>): Result<unknown> {
  return result.ok ? ok({ [key]: result.value, messages: [] }) : result;
}

function inspect(state: ProcurementState, providerId: string, name: string): unknown {
  const result = state.inspectEntitlement(providerId, name.slice(name.lastIndexOf('/') + 1));
  return result.ok ? result.value : undefined;
}

function isResult(value: unknown): value is Result<unknown> {
  return typeof value === 'object' && value !== null && 'ok' in value && typeof value.ok === 'boolean';
}

function read<T>(body: Record<string, unknown>, spec: Spec, required: readonly string[] = []): Result<T> {
  for (const [key, value] of Object.entries(body)) {
    const kind = spec[key];
    if (!kind) return fail(errors.invalidArgument(`Unknown field "${key}".`));
    if (!hasKind(value, kind)) {
      return fail(
        errors.invalidArgument(`Field "${key}" must be ${kind === 'array' || kind === 'object' ? 'an' : 'a'} ${kind}.`),
      );
    }
  }
  const missing = required.find((key) => body[key] === undefined || body[key] === '');
  if (missing) return fail(errors.invalidArgument(`Field "${missing}" is required.`));
  return ok(body as T);
}

function hasKind(value: unknown, kind: Kind): boolean {
  switch (kind) {
    case 'array':
      return Array.isArray(value);
    case 'object':
      return typeof value === 'object' && value !== null && !Array.isArray(value);
    case 'number':
      return typeof value === 'number' && Number.isFinite(value);
    case 'boolean':
    case 'string':
      return typeof value === kind;
  }
}

/** In a drift patch, JSON `null` removes the field. */
function nullsRemove(body: Record<string, unknown>): Partial<Entitlement> {
  return Object.fromEntries(Object.entries(body).map(([key, value]) => [key, value ?? undefined]));
}

function decode(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}
