import { AsyncLocalStorage } from 'node:async_hooks';

/** Per-delivery fields every log line carries: the trace and the message or event being handled. */
export interface LogContext {
  trace?: string;
  messageId?: string;
  eventKey?: string;
  source?: string;
}

const storage = new AsyncLocalStorage<LogContext>();

export function withLogContext<T>(fields: LogContext, fn: () => T): T {
  return storage.run({ ...storage.getStore(), ...fields }, fn);
}

export function currentLogContext(): LogContext | undefined {
  return storage.getStore();
}

/** `X-Cloud-Trace-Context: TRACE_ID/SPAN_ID;o=1` → the trace resource Cloud Logging links on. */
export function traceFromHeader(header: string | undefined, projectId: string): string | undefined {
  const traceId = header?.split('/')[0];
  return traceId && /^[0-9a-f]{32}$/i.test(traceId) ? `projects/${projectId}/traces/${traceId}` : undefined;
}
