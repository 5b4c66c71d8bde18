import { describe, expect, it } from '@jest/globals';
import { figuresOf, runRecord } from './run-record.js';

const started = new Date('2026-11-01T12:00:00Z');
const finished = new Date('2026-11-01T12:00:03Z');

describe('runRecord', () => {
  it('should flatten the counts of a report and keep it JSON-safe', () => {
    const record = runRecord('reconcile', 'reconcile-1', started, finished, {
      report: {
        runId: 'reconcile-1',
        startedAt: started,
        checked: 11,
        drift: [{ kind: 'entitlement', id: 'e1', fixed: true, extra: undefined }],
        fixed: 1,
        approved: 0,
        errors: [],
        publish: { published: 3, failed: 0, topic: 'changes' },
      },
    });
    expect(record).toMatchObject({ runId: 'reconcile-1', job: 'reconcile', ok: true, error: null });
    expect(record.figures).toEqual({
      checked: 11,
      drift: 1,
      fixed: 1,
      approved: 0,
      errors: 0,
      'publish.published': 3,
      'publish.failed': 0,
    });
    expect(record.report).toMatchObject({ startedAt: '2026-11-01T12:00:00.000Z', drift: [{ id: 'e1' }] });
    expect((record.report!.drift as object[])[0]).not.toHaveProperty('extra');
  });

  it('should cut long lists in the stored report but count them whole', () => {
    const drift = Array.from({ length: 500 }, (_, i) => ({ id: `e${i}` }));
    const record = runRecord('reconcile', 'r', started, finished, { report: { drift } });
    expect(record.figures.drift).toBe(500);
    expect(record.report!.drift).toHaveLength(50);
  });

  it('should record a failed run with its error and no figures', () => {
    expect(runRecord('expire', 'expire-1', started, finished, { error: 'Firestore unavailable' })).toEqual({
      runId: 'expire-1',
      job: 'expire',
      startedAt: started,
      finishedAt: finished,
      ok: false,
      error: 'Firestore unavailable',
      figures: {},
      report: null,
    });
  });

  it('should name nested outcomes by path', () => {
    expect(figuresOf({ outcomes: { applied: 2, duplicate: 1 }, more: false, at: 'x' })).toEqual({
      'outcomes.applied': 2,
      'outcomes.duplicate': 1,
    });
  });
});
