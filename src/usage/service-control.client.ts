import { Injectable } from '@nestjs/common';
import type { servicecontrol_v1 } from '@googleapis/servicecontrol';
import { GoogleAuth, OAuth2Client } from 'google-auth-library';
import { AppConfig } from '../config/app-config.js';
import { USAGE_DEFAULTS } from './usage.defaults.js';
import type { CheckError, serviceControlOperation } from './usage-windows.js';

export type ServiceControlOperation = ReturnType<typeof serviceControlOperation>;

/** A failed Service Control call: the HTTP status when Google answered, else the network error's code. */
export class ServiceControlError extends Error {
  constructor(
    message: string,
    readonly httpStatus?: number,
    readonly networkCode?: string,
  ) {
    super(message);
    this.name = 'ServiceControlError';
  }
}

export interface ReportResult {
  /** Per-operation failures of an HTTP 200 (`reportErrors`): the operation was not accepted. */
  reportErrors: { operationId: string; message: string }[];
}

/**
 * The Service Control API (v1) on its per-API package, loaded on the first call: instances that never report
 * usage never load it. The only file that knows the generated client. `check` may be repeated (it bills nothing)
 * and is retried on transient failures; `report` is sent once per call, never retried here (docs/usage-reporting.md).
 */
@Injectable()
export class ServiceControlClient {
  private api?: Promise<servicecontrol_v1.Servicecontrol>;
  private readonly sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  constructor(private readonly config: AppConfig) {}

  async check(serviceName: string, operation: ServiceControlOperation): Promise<CheckError[]> {
    // Reserved Marketplace labels are allowed on report only.
    const { userLabels: _labels, ...checked } = operation;
    for (let attempt = 1; ; attempt++) {
      try {
        const api = await this.client();
        const res = await api.services.check(
          { serviceName, requestBody: { operation: checked } },
          { retry: false, timeout: USAGE_DEFAULTS.timeoutMs, fetchImplementation: (i, o) => fetch(i, o) },
        );
        return (res.data.checkErrors ?? []).map((e) => ({
          code: e.code ?? 'ERROR_CODE_UNSPECIFIED',
          detail: e.detail ?? null,
          subject: e.subject ?? null,
        }));
      } catch (raw) {
        const error = toServiceControlError(raw, `services.check ${serviceName}`);
        const transient = error.httpStatus === undefined || error.httpStatus === 429 || error.httpStatus >= 500;
        if (!transient || attempt >= 3) throw error;
        await this.sleep(Math.random() * 200 * 2 ** attempt);
      }
    }
  }

  async report(serviceName: string, operation: ServiceControlOperation): Promise<ReportResult> {
    try {
      const api = await this.client();
      const res = await api.services.report(
        { serviceName, requestBody: { operations: [operation] } },
        { retry: false, timeout: USAGE_DEFAULTS.timeoutMs, fetchImplementation: (i, o) => fetch(i, o) },
      );
      return {
        reportErrors: (res.data.reportErrors ?? []).map((e) => ({
          operationId: e.operationId ?? '',
          message: `${e.status?.code ?? ''} ${e.status?.message ?? ''}`.trim(),
        })),
      };
    } catch (raw) {
      throw toServiceControlError(raw, `services.report ${serviceName}`);
    }
  }

  private client(): Promise<servicecontrol_v1.Servicecontrol> {
    this.api ??= this.load();
    return this.api;
  }

  private async load(): Promise<servicecontrol_v1.Servicecontrol> {
    const { SERVICE_CONTROL_ROOT_URL, SERVICE_CONTROL_STATIC_TOKEN } = this.config.env;
    const mod = await import('@googleapis/servicecontrol');
    // Some bundlers hand a CommonJS package over as the default export only.
    const { servicecontrol } = 'servicecontrol' in mod ? mod : (mod as unknown as { default: typeof mod }).default;
    return servicecontrol({
      version: 'v1',
      // The client keeps only the origin of rootUrl: a fake must serve /v1/... itself.
      ...(SERVICE_CONTROL_ROOT_URL ? { rootUrl: SERVICE_CONTROL_ROOT_URL.replace(/\/?$/, '/') } : {}),
      auth: SERVICE_CONTROL_STATIC_TOKEN
        ? staticToken(SERVICE_CONTROL_STATIC_TOKEN)
        : new GoogleAuth({ scopes: ['https://www.googleapis.com/auth/servicecontrol'] }),
    });
  }
}

function toServiceControlError(error: unknown, what: string): ServiceControlError {
  const e = error as {
    response?: { status?: number; data?: unknown };
    code?: unknown;
    cause?: { code?: unknown };
    message?: string;
  };
  const status = e.response?.status;
  if (status !== undefined) {
    const body = (e.response?.data as { error?: { status?: string; message?: string } } | undefined)?.error;
    return new ServiceControlError(`${what}: ${status} ${body?.status ?? ''} ${body?.message ?? ''}`.trim(), status);
  }
  const code = [e.code, e.cause?.code, (e.cause as { cause?: { code?: unknown } } | undefined)?.cause?.code].find(
    (c): c is string => typeof c === 'string',
  );
  return new ServiceControlError(`${what}: network error (${code ?? e.message ?? 'unknown'})`, undefined, code);
}

function staticToken(token: string): OAuth2Client {
  const client = new OAuth2Client();
  client.setCredentials({ access_token: token, expiry_date: Date.now() + 10 * 365 * 86_400_000 });
  return client;
}
