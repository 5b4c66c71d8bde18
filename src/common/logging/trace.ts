/**
 * `X-Cloud-Trace-Context: TRACE_ID/SPAN_ID;o=1` → the trace resource Cloud Logging links on. A log
 * line carries it as its `trace` field (AppLogger writes it as `logging.googleapis.com/trace`).
 *
 * The service passes such per-delivery fields (trace, event key, message id) explicitly, on the
 * event and on each log call, rather than through AsyncLocalStorage: its promise hooks cost every
 * promise of every request (docs/performance.md, "What moved the figures").
 */
export function traceFromHeader(header: string | undefined, projectId: string): string | undefined {
  const traceId = header?.split('/')[0];
  return traceId && /^[0-9a-f]{32}$/i.test(traceId) ? `projects/${projectId}/traces/${traceId}` : undefined;
}
