import { LIFECYCLE_DEFAULTS } from './lifecycle.defaults.js';
import type { LifecycleRun, RecordedJob } from './lifecycle-store.js';

/**
 * The record of one lifecycle run (`runs/{runId}`), from its report or its failure. Pure. The report is made
 * JSON-safe (dates as RFC 3339 strings, no undefined) and its lists are cut, so a run with thousands of drift
 * items still fits one document; `figures` flattens its counts for the admin console's table.
 */
export function runRecord(
  job: RecordedJob,
  runId: string,
  startedAt: Date,
  finishedAt: Date,
  outcome: { report: object } | { error: string },
): LifecycleRun {
  if ('error' in outcome) {
    return { runId, job, startedAt, finishedAt, ok: false, error: outcome.error, figures: {}, report: null };
  }
  const report = JSON.parse(JSON.stringify(outcome.report)) as Record<string, unknown>;
  return {
    runId,
    job,
    startedAt,
    finishedAt,
    ok: true,
    error: null,
    figures: figuresOf(report),
    report: capLists(report, LIFECYCLE_DEFAULTS.runs.maxListItems) as Record<string, unknown>,
  };
}

/** Numbers as they are, lists as their length, nested objects as `parent.child`; text and flags are left out. */
export function figuresOf(value: Record<string, unknown>, prefix = ''): Record<string, number> {
  const figures: Record<string, number> = {};
  for (const [key, field] of Object.entries(value)) {
    const name = `${prefix}${key}`;
    if (typeof field === 'number') figures[name] = field;
    else if (Array.isArray(field)) figures[name] = field.length;
    else if (field && typeof field === 'object')
      Object.assign(figures, figuresOf(field as Record<string, unknown>, `${name}.`));
  }
  return figures;
}

function capLists(value: unknown, max: number): unknown {
  if (Array.isArray(value)) return value.slice(0, max).map((item) => capLists(item, max));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, capLists(v, max)]));
  }
  return value;
}
