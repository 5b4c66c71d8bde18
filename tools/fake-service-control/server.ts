/**
 * A fake of Google's Service Control API v1 (`services.check`, `services.report`) over node:http, for usage
 * reporting. Point the generated client (`@googleapis/servicecontrol`) at it with `rootUrl: fake.url + '/'`.
 * It records every operation it receives (duplicates included), so a test can assert that nothing was billed twice.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { errorBody, errorForStatus, errors, type ApiError } from '../fake-procurement/errors.js';
import { readBody, send } from '../fake-procurement/http.js';

/** Reserved Marketplace labels: allowed on report, refused on check (Google's codelab). */
const RESERVED_LABELS = [
  'cloudmarketplace.googleapis.com/resource_name',
  'cloudmarketplace.googleapis.com/container_name',
];

/** `CheckError.Code` values the fake can answer for a consumer (Google's enum; the ones Marketplace documents first). */
export type CheckErrorCode =
  | 'SERVICE_NOT_ACTIVATED'
  | 'BILLING_DISABLED'
  | 'PROJECT_DELETED'
  | 'PROJECT_INVALID'
  | 'CONSUMER_INVALID'
  | 'PERMISSION_DENIED'
  | 'SERVICE_STATUS_UNAVAILABLE'
  | 'BILLING_STATUS_UNAVAILABLE';

export interface ReceivedOperation {
  method: 'check' | 'report';
  serviceName: string;
  operation: Record<string, unknown>;
  /** HTTP status answered; 200 may still carry check or report errors. */
  status: number;
  errors: unknown[];
  at: string;
}

export interface Fault {
  method?: 'check' | 'report';
  /** The HTTP status answered (Google's error body for it). */
  status: number;
  /** Report only: the operation is recorded as received (billed) before the error is answered, as a 5xx may mean. */
  afterRecording?: boolean;
}

export interface FakeServiceControl {
  readonly url: string;
  readonly port: number;
  /** Every operation received, in order (live array). */
  readonly received: readonly ReceivedOperation[];
  /** Operations accepted by report: what Google would bill. */
  reported(): Record<string, unknown>[];
  /** Check (and report) of this consumer answer this error from now on; null clears it. */
  setConsumerError(consumerId: string, code: CheckErrorCode | null): void;
  failNext(count: number, fault: Fault): void;
  /** Reports are recorded, then answered only when `release()` is called (a crash between call and record). */
  holdReports(hold: boolean): void;
  release(): void;
  clear(): void;
  close(): Promise<void>;
}

export interface FakeServiceControlOptions {
  port?: number;
  host?: string;
  /** Accept only these bearer tokens; any non-empty token by default. */
  accessTokens?: readonly string[];
}

const ROUTE = /^\/v1\/services\/([^/:]+):(check|report)$/;

export async function startFakeServiceControl(options: FakeServiceControlOptions = {}): Promise<FakeServiceControl> {
  const received: ReceivedOperation[] = [];
  const consumerErrors = new Map<string, CheckErrorCode>();
  const faults: (Fault & { left: number })[] = [];
  let hold = false;
  let held: (() => void)[] = [];

  const takeFault = (method: 'check' | 'report'): Fault | null => {
    const fault = faults.find((f) => f.left > 0 && (!f.method || f.method === method));
    if (!fault) return null;
    fault.left--;
    return fault;
  };

  const handle = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const url = new URL(request.url ?? '/', 'http://fake');
    if (url.pathname.startsWith('/__control/')) return control(request, response, url.pathname);
    const route = ROUTE.exec(url.pathname);
    if (!route || request.method !== 'POST') return reply(response, errors.notFound(`Method not found.`));
    const token = request.headers.authorization?.replace(/^Bearer /, '');
    if (!token || (options.accessTokens && !options.accessTokens.includes(token))) {
      return reply(response, errors.unauthenticated());
    }
    const serviceName = decodeURIComponent(route[1]!);
    const method = route[2] as 'check' | 'report';
    let body: Record<string, unknown>;
    try {
      body = JSON.parse((await readBody(request)) || '{}') as Record<string, unknown>;
    } catch {
      return reply(response, errors.invalidArgument('Invalid JSON payload received.'));
    }
    const fault = takeFault(method);
    if (fault && !fault.afterRecording) return reply(response, errorForStatus(fault.status));
    if (method === 'check') return check(response, serviceName, body);
    return report(response, serviceName, body, fault);
  };

  const check = (response: ServerResponse, serviceName: string, body: Record<string, unknown>) => {
    const operation = body.operation as Record<string, unknown> | undefined;
    const problem = operationProblem(operation, serviceName);
    const labels = Object.keys((operation?.userLabels as Record<string, unknown> | undefined) ?? {});
    const reserved = labels.find((l) => RESERVED_LABELS.includes(l));
    const refusal = problem ?? (reserved ? `Label ${reserved} is only allowed on report.` : null);
    if (refusal) {
      record('check', serviceName, operation ?? {}, 400, [refusal]);
      return reply(response, errors.invalidArgument(refusal));
    }
    const code = consumerErrors.get(String(operation!.consumerId));
    const checkErrors = code ? [{ code, subject: String(operation!.consumerId), detail: detailOf(code) }] : [];
    record('check', serviceName, operation!, 200, checkErrors);
    send(response, {
      status: 200,
      body: {
        operationId: operation!.operationId,
        ...(checkErrors.length ? { checkErrors } : {}),
        serviceConfigId: '2026-11-01r0',
        serviceRolloutId: '2026-11-01r0',
      },
    });
  };

  const report = (
    response: ServerResponse,
    serviceName: string,
    body: Record<string, unknown>,
    fault: Fault | null,
  ) => {
    const operations = Array.isArray(body.operations) ? (body.operations as Record<string, unknown>[]) : [];
    if (operations.length === 0) return reply(response, errors.invalidArgument('operations must not be empty.'));
    const reportErrors: unknown[] = [];
    for (const operation of operations) {
      const problem = operationProblem(operation, serviceName);
      const code = consumerErrors.get(String(operation.consumerId));
      const error = problem
        ? { operationId: operation.operationId, status: { code: 3, message: problem } }
        : code
          ? { operationId: operation.operationId, status: { code: 7, message: `${code}: ${detailOf(code)}` } }
          : null;
      if (error) reportErrors.push(error);
      record('report', serviceName, operation, fault ? fault.status : 200, error ? [error] : []);
    }
    const answer = () =>
      fault
        ? reply(response, errorForStatus(fault.status))
        : send(response, {
            status: 200,
            body: { ...(reportErrors.length ? { reportErrors } : {}), serviceConfigId: '2026-11-01r0' },
          });
    if (hold) held.push(answer);
    else answer();
  };

  const record = (
    method: 'check' | 'report',
    serviceName: string,
    operation: Record<string, unknown>,
    status: number,
    errs: unknown[],
  ) => {
    received.push({ method, serviceName, operation, status, errors: errs, at: new Date().toISOString() });
  };

  const reported = () => received.filter((r) => r.method === 'report' && r.errors.length === 0).map((r) => r.operation);

  /** `/__control/`: what the simulator and the sandbox use (no authentication: bind to loopback). */
  const control = async (request: IncomingMessage, response: ServerResponse, path: string) => {
    if (request.method === 'GET' && path === '/__control/operations') {
      return send(response, { status: 200, body: { received, reported: reported() } });
    }
    if (request.method === 'POST' && path === '/__control/consumers') {
      const body = JSON.parse((await readBody(request)) || '{}') as {
        consumerId?: string;
        checkError?: CheckErrorCode | null;
      };
      if (!body.consumerId) return reply(response, errors.invalidArgument('consumerId is required.'));
      if (body.checkError) consumerErrors.set(body.consumerId, body.checkError);
      else consumerErrors.delete(body.consumerId);
      return send(response, {
        status: 200,
        body: { consumerId: body.consumerId, checkError: body.checkError ?? null },
      });
    }
    if (request.method === 'POST' && path === '/__control/reset') {
      fake.clear();
      return send(response, { status: 200, body: {} });
    }
    return reply(response, errors.notFound('No such control route.'));
  };

  const server: Server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      if (!response.headersSent) reply(response, errorForStatus(500));
      console.error(error);
    });
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, options.host ?? '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  const fake: FakeServiceControl = {
    url: `http://${options.host ?? '127.0.0.1'}:${port}`,
    port,
    received,
    reported,
    setConsumerError: (consumerId, code) =>
      code ? consumerErrors.set(consumerId, code) : consumerErrors.delete(consumerId),
    failNext: (count, fault) => faults.push({ ...fault, left: count }),
    holdReports: (value) => {
      hold = value;
      if (!value) fake.release();
    },
    release: () => {
      const answers = held;
      held = [];
      answers.forEach((a) => a());
    },
    clear: () => {
      received.length = 0;
      consumerErrors.clear();
      faults.length = 0;
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        fake.release();
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
  return fake;
}

/** Google's front end validation of an Operation, in its own words where known. */
function operationProblem(operation: Record<string, unknown> | undefined, serviceName: string): string | null {
  if (!operation) return 'operation is required.';
  for (const field of ['operationId', 'consumerId', 'startTime']) {
    if (typeof operation[field] !== 'string' || !operation[field]) return `Operation.${field} is required.`;
  }
  const start = Date.parse(String(operation.startTime));
  const end = operation.endTime === undefined ? start : Date.parse(String(operation.endTime));
  if (Number.isNaN(start) || Number.isNaN(end)) return 'Invalid value at operation time: not an RFC 3339 timestamp.';
  if (end < start) return 'Operation.endTime must not be earlier than startTime.';
  const sets = operation.metricValueSets;
  if (sets !== undefined) {
    if (!Array.isArray(sets)) return 'Operation.metricValueSets must be a list.';
    for (const set of sets as { metricName?: unknown; metricValues?: unknown }[]) {
      if (typeof set.metricName !== 'string' || !set.metricName.includes('/')) return `Unknown metric name.`;
      if (!set.metricName.startsWith(serviceName.split('.')[0]!))
        return `Metric ${set.metricName} is not a metric of ${serviceName}.`;
      for (const v of (set.metricValues as Record<string, unknown>[] | undefined) ?? []) {
        if ('int64Value' in v && (typeof v.int64Value !== 'string' || !/^-?\d+$/.test(v.int64Value))) {
          return 'Invalid value at int64Value: must be a string of digits.';
        }
        if ('doubleValue' in v && typeof v.doubleValue !== 'number') return 'Invalid value at doubleValue.';
      }
    }
  }
  return null;
}

function detailOf(code: CheckErrorCode): string {
  switch (code) {
    case 'SERVICE_NOT_ACTIVATED':
      return 'The consumer has not activated the service.';
    case 'BILLING_DISABLED':
      return 'Billing is disabled for the consumer.';
    case 'PROJECT_DELETED':
      return 'The consumer project has been deleted.';
    case 'PROJECT_INVALID':
      return 'The consumer project is invalid.';
    case 'CONSUMER_INVALID':
      return 'The consumer is invalid.';
    case 'PERMISSION_DENIED':
      return 'The consumer is not allowed to use the service.';
    case 'SERVICE_STATUS_UNAVAILABLE':
    case 'BILLING_STATUS_UNAVAILABLE':
      return 'The backend could not be reached; try again.';
  }
}

function reply(response: ServerResponse, error: ApiError): void {
  send(response, { status: error.code, body: errorBody(error) });
}
