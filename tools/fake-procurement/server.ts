/**
 * A faithful fake of the Cloud Commerce Partner Procurement API v1 over node:http.
 * Point the generated client at it with `rootUrl: fake.url + '/'`.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Clock } from './clock.js';
import { CONTROL_PREFIX, handleControl, type ControlHooks, type Fault } from './control-api.js';
import { errorBody, errorForStatus, errors } from './errors.js';
import { errorResponse, parseJsonObject, readBody, send, sleep, type JsonResponse } from './http.js';
import type { MarketplaceMessage } from './messages.js';
import { ProcurementState } from './state.js';
import { lastSegment } from './types.js';
import {
  authenticate,
  dispatch,
  matchApiRoute,
  parseQuery,
  validateBody,
  type ApiMethod,
  type ApiRoute,
} from './v1-api.js';

export type { ApiMethod } from './v1-api.js';
export type { Fault } from './control-api.js';

export const DEFAULT_PROVIDER_ID = 'demo-provider';

export interface FakeProcurementOptions {
  /** 0 (the default) picks a free port. */
  port?: number;
  /** Defaults to 127.0.0.1: the control API has no authentication. */
  host?: string;
  /** Provider ids the caller may act for; any other id in a path answers 403. */
  providerIds?: readonly string[];
  /** Accept only these bearer tokens; by default any non-empty token is accepted. */
  accessTokens?: readonly string[];
  clock?: Clock;
  /** Where the messages Google publishes for provider calls go (see `setPublisher`). */
  publish?: MessagePublisher;
}

/** Publishes one Marketplace message (e.g. to a Pub/Sub topic, or straight to a handler). */
export type MessagePublisher = (message: MarketplaceMessage) => Promise<unknown>;

export interface RecordedCall {
  /** The API method, e.g. `entitlements.approve`; `unknown` for paths the API does not serve. */
  method: ApiMethod | 'unknown';
  httpMethod: string;
  path: string;
  query: Record<string, string>;
  /** The resource name the call targeted, e.g. `providers/p/entitlements/e1`. */
  name?: string;
  body: unknown;
  status: number;
}

export interface FakeProcurement {
  /** Base URL without a trailing slash, e.g. `http://127.0.0.1:41234`. */
  readonly url: string;
  readonly port: number;
  readonly providerIds: readonly string[];
  readonly state: ProcurementState;
  /** Every request below `/v1/`, in arrival order (live array). */
  readonly calls: readonly RecordedCall[];
  /** Counts calls of an API method, optionally for one resource (full name or bare id). */
  countCalls(method: ApiMethod, name?: string): number;
  clearCalls(): void;
  /** The next `count` API calls (of `fault.method`, if given) fail with `fault.status` and Google's error body. */
  failNext(count: number, fault: Fault): void;
  /** Delays every API response by `ms` milliseconds. */
  setLatency(ms: number): void;
  /**
   * Google publishes some messages as a result of provider calls (a plan change approved with no term to
   * wait for: ENTITLEMENT_PLAN_CHANGED; a rejected plan change: ENTITLEMENT_PLAN_CHANGE_CANCELLED). They
   * go to this publisher, one by one in order, after the call's answer was sent (as Google's come
   * asynchronously). Without one they wait for `takeMessages()` (or `POST /__control/messages:take`).
   */
  setPublisher(publish: MessagePublisher | null): void;
  /** Messages published for provider calls that no publisher took, oldest first (and forgets them). */
  takeMessages(): MarketplaceMessage[];
  /** Resolves once every message handed to the publisher so far has been published (or failed). */
  idle(): Promise<void>;
  /** Forgets all state, calls, faults and latency. */
  reset(): void;
  close(): Promise<void>;
}

export async function startFakeProcurement(options: FakeProcurementOptions = {}): Promise<FakeProcurement> {
  const fake = new FakeProcurementServer(options);
  await fake.listen(options.port ?? 0, options.host ?? '127.0.0.1');
  return fake;
}

interface PendingFault extends Fault {
  remaining: number;
}

class FakeProcurementServer implements FakeProcurement, ControlHooks {
  readonly providerIds: readonly string[];
  readonly state: ProcurementState;
  readonly calls: RecordedCall[] = [];
  url = '';
  port = 0;
  private readonly server: Server;
  private faults: PendingFault[] = [];
  private latencyMs = 0;
  private publisher: MessagePublisher | null;
  private undelivered: MarketplaceMessage[] = [];
  private publishing: Promise<void> = Promise.resolve();

  constructor(private readonly options: FakeProcurementOptions) {
    this.publisher = options.publish ?? null;
    this.providerIds = [...(options.providerIds ?? [DEFAULT_PROVIDER_ID])];
    this.state = new ProcurementState({
      providerIds: this.providerIds,
      ...(options.clock ? { clock: options.clock } : {}),
    });
    this.server = createServer((request, response) => void this.handle(request, response));
  }

  async listen(port: number, host: string): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => resolve());
    });
    const address = this.server.address() as AddressInfo;
    this.port = address.port;
    this.url = `http://${urlHost(address.address)}:${address.port}`;
  }

  countCalls(method: ApiMethod, name?: string): number {
    return this.calls.filter((call) => call.method === method && matchesName(call.name, name)).length;
  }

  clearCalls(): void {
    this.calls.splice(0);
  }

  failNext(count: number, fault: Fault): void {
    if (count > 0) this.faults.push({ ...fault, remaining: count });
  }

  setLatency(ms: number): void {
    this.latencyMs = Math.max(0, ms);
  }

  setPublisher(publish: MessagePublisher | null): void {
    this.publisher = publish;
  }

  takeMessages(): MarketplaceMessage[] {
    return [...this.undelivered.splice(0), ...this.state.takePublished()];
  }

  idle(): Promise<void> {
    return this.publishing;
  }

  reset(): void {
    this.state.clear();
    this.clearCalls();
    this.faults = [];
    this.latencyMs = 0;
    this.undelivered = [];
  }

  close(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.server.close((error) => (error ? reject(error) : resolve()));
      // The generated client keeps connections alive; without this, close() would wait for them to idle out.
      this.server.closeAllConnections();
    });
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    try {
      send(response, await this.route(request));
    } catch (error) {
      const internal = { ...errorForStatus(500), message: `Internal error encountered: ${String(error)}` };
      if (!response.headersSent) send(response, errorResponse(internal));
    }
    this.publishQueued();
  }

  /** Hands what provider calls published to the publisher, in order, after the answer went out. */
  private publishQueued(): void {
    const messages = this.state.takePublished();
    if (messages.length === 0) return;
    const publish = this.publisher;
    if (!publish) {
      this.undelivered.push(...messages);
      return;
    }
    this.publishing = this.publishing.then(async () => {
      for (const message of messages) {
        try {
          await publish(message);
        } catch (error) {
          // Like a lost publish at Google: the message is gone; reconciliation is what heals that.
          console.error(`fake Procurement API: publishing ${message.eventType} failed: ${String(error)}`);
        }
      }
    });
  }

  private async route(request: IncomingMessage): Promise<JsonResponse> {
    const url = new URL(request.url ?? '/', 'http://fake.invalid');
    const text = await readBody(request);
    if (url.pathname.startsWith('/v1/')) return this.handleApi(request, url, text);
    if (url.pathname.startsWith(CONTROL_PREFIX)) return this.handleControl(request, url, text);
    return errorResponse(errors.notFound(`The requested URL ${url.pathname} was not found on this server.`));
  }

  private async handleApi(request: IncomingMessage, url: URL, text: string): Promise<JsonResponse> {
    const route = matchApiRoute(request.method ?? 'GET', url.pathname);
    const response = this.answerApi(request, url, text, route);
    if (this.latencyMs > 0) await sleep(this.latencyMs);
    this.calls.push(recordCall(request, url, text, route, response.status));
    return response;
  }

  /** Order of checks: injected fault, credentials, route, query and body validation, then the state machine. */
  private answerApi(request: IncomingMessage, url: URL, text: string, route: ApiRoute | undefined): JsonResponse {
    const fault = this.takeFault(route?.method ?? 'unknown');
    if (fault) return { status: fault.status, body: fault.body ?? errorBody(errorForStatus(fault.status)) };
    const auth = authenticate(request.headers.authorization, this.options.accessTokens);
    // Google's front end names the expected scheme when it refuses credentials.
    if (!auth.ok) {
      return errorResponse(auth.error, { 'WWW-Authenticate': 'Bearer realm="https://accounts.google.com/"' });
    }
    if (!route) {
      return errorResponse(errors.notFound(`The requested URL ${url.pathname} was not found on this server.`));
    }
    const query = parseQuery(route.method, url.searchParams);
    if (!query.ok) return errorResponse(query.error);
    const parsed = parseJsonObject(text);
    if (!parsed.ok) return errorResponse(parsed.error);
    const body = validateBody(route.method, parsed.value);
    if (!body.ok) return errorResponse(body.error);
    return dispatch(this.state, route, query.value, body.value);
  }

  private handleControl(request: IncomingMessage, url: URL, text: string): JsonResponse {
    const body = parseJsonObject(text);
    if (!body.ok) return errorResponse(body.error);
    return handleControl(this, {
      httpMethod: request.method ?? 'GET',
      pathname: url.pathname,
      query: url.searchParams,
      body: body.value,
    });
  }

  private takeFault(method: ApiMethod | 'unknown'): Fault | undefined {
    const fault = this.faults.find((f) => f.method === undefined || f.method === method);
    if (!fault) return undefined;
    fault.remaining -= 1;
    this.faults = this.faults.filter((f) => f.remaining > 0);
    return fault;
  }
}

function recordCall(
  request: IncomingMessage,
  url: URL,
  text: string,
  route: ApiRoute | undefined,
  status: number,
): RecordedCall {
  const parsed = parseJsonObject(text);
  return {
    method: route?.method ?? 'unknown',
    httpMethod: request.method ?? 'GET',
    path: url.pathname,
    query: Object.fromEntries(url.searchParams),
    ...(route?.name ? { name: route.name } : {}),
    body: text === '' ? undefined : parsed.ok ? parsed.value : text,
    status,
  };
}

function matchesName(callName: string | undefined, name: string | undefined): boolean {
  if (name === undefined) return true;
  if (callName === undefined) return false;
  return name.includes('/') ? callName === name : lastSegment(callName) === name;
}

function urlHost(address: string): string {
  if (address === '0.0.0.0' || address === '::') return '127.0.0.1';
  return address.includes(':') ? `[${address}]` : address;
}
