import { describe, expect, it } from '@jest/globals';
import { Writable } from 'node:stream';
import { AppLogger, logFormatFor, type LogFormat } from './app-logger.js';
import { logContext } from './log-context.js';
import { prettyLine } from './pretty.js';

function capture(options: LogFormat = {}): { logger: AppLogger; text: () => string } {
  const chunks: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      chunks.push(chunk.toString());
      done();
    },
  });
  return { logger: new AppLogger('debug', sink, options), text: () => chunks.join('') };
}

const ESC = '\x1b[';

describe('AppLogger formats', () => {
  it('should write JSON lines in Cloud Logging’s shape by default (production and tests)', () => {
    const { logger, text } = capture();
    logger.info('entitlement change', { entitlementId: 'gcp:e1', outcome: 'applied', trace: 'projects/p/traces/t' });
    const line = JSON.parse(text()) as Record<string, unknown>;
    expect(line).toEqual({
      severity: 'INFO',
      time: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      message: 'entitlement change',
      entitlementId: 'gcp:e1',
      outcome: 'applied',
      'logging.googleapis.com/trace': 'projects/p/traces/t',
    });
  });

  it('should write one readable line per event in the pretty format: time, level, message, fields', () => {
    const { logger, text } = capture({ format: 'pretty' });
    logger.info('entitlement change', { entitlementId: 'gcp:e1', outcome: 'applied' });
    logger.warning('slow handler', { seconds: 12.5, detail: 'two words' });
    const lines = text().split('\n');
    expect(lines[0]).toMatch(/^\d\d:\d\d:\d\d\.\d{3} INFO {2}entitlement change entitlementId=gcp:e1 outcome=applied$/);
    expect(lines[1]).toMatch(/^\d\d:\d\d:\d\d\.\d{3} WARN {2}slow handler seconds=12\.5 detail="two words"$/);
    expect(lines[2]).toBe('');
    expect(text()).not.toContain(ESC);
  });

  it('should keep redaction in the pretty format (it reformats the same line)', () => {
    const { logger, text } = capture({ format: 'pretty' });
    logger.info('webhook', { signature: 'abc123', headers: { authorization: 'Bearer x' } });
    expect(text()).toContain('signature=[redacted]');
    expect(text()).toContain('headers={"authorization":"[redacted]"}');
    expect(text()).not.toContain('abc123');
    expect(text()).not.toContain('Bearer x');
  });

  it('should show Nest’s context in brackets and put an error’s stack under its line', () => {
    const { logger, text } = capture({ format: 'pretty' });
    logger.log('Mapped {/healthz, GET} route', 'RouterExplorer');
    const error = new TypeError('boom');
    logger.failure('could not start pulling', { error, subscription: 'sub' });
    const [first, second, ...stack] = text().trimEnd().split('\n');
    expect(first).toMatch(/ INFO {2}\[RouterExplorer\] Mapped \{\/healthz, GET\} route$/);
    expect(second).toMatch(/ ERROR could not start pulling error="TypeError: boom" subscription=sub$/);
    expect(stack.length).toBeGreaterThan(0);
    expect(stack[0]).toMatch(/^ {4}at /);
  });

  it('should colour the level only when asked (a terminal)', () => {
    const { logger, text } = capture({ format: 'pretty', colour: true });
    logger.failure('failed');
    expect(text()).toContain(`${ESC}31mERROR${ESC}0m`);
  });

  it('should cut very long values and pass through what is not JSON', () => {
    const line = prettyLine(JSON.stringify({ severity: 'DEBUG', message: 'm', raw: 'x'.repeat(500) }), false);
    expect(line).toMatch(/^DEBUG m raw=x{200}…\n$/);
    expect(prettyLine('not json', false)).toBe('not json\n');
  });

  it('should choose the format from the configuration: pretty only in development, unless LOG_FORMAT says', () => {
    expect(logFormatFor({ NODE_ENV: 'production' }, true)).toEqual({ format: 'json', colour: false });
    expect(logFormatFor({ NODE_ENV: 'test' }, true)).toEqual({ format: 'json', colour: false });
    expect(logFormatFor({ NODE_ENV: 'development' }, true)).toEqual({ format: 'pretty', colour: true });
    expect(logFormatFor({ NODE_ENV: 'development' }, false)).toEqual({ format: 'pretty', colour: false });
    expect(logFormatFor({ NODE_ENV: 'development', NO_COLOR: '1' }, true)).toEqual({ format: 'pretty', colour: false });
    expect(logFormatFor({ NODE_ENV: 'development', LOG_FORMAT: 'json' }, true)).toEqual({
      format: 'json',
      colour: false,
    });
    expect(logFormatFor({ NODE_ENV: 'production', LOG_FORMAT: 'pretty' }, false)).toEqual({
      format: 'pretty',
      colour: false,
    });
  });
});

describe('AppLogger for Error Reporting and traces', () => {
  const json = (text: string) =>
    text
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>);

  it('should write an error’s stack as stack_trace with the serviceContext on ERROR lines, once', () => {
    const chunks: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        chunks.push(chunk.toString());
        done();
      },
    });
    const logger = new AppLogger('info', sink, { serviceContext: { service: 'svc', version: 'svc-00042-abc' } });
    const error = new TypeError('boom');
    logger.failure('message nacked', { error, messageId: 'm1' });
    const [line] = json(chunks.join(''));
    expect(line).toMatchObject({
      severity: 'ERROR',
      message: 'message nacked',
      messageId: 'm1',
      error: { name: 'TypeError', message: 'boom' },
      stack_trace: error.stack,
      serviceContext: { service: 'svc', version: 'svc-00042-abc' },
    });
    expect(String(line!['stack_trace'])).toMatch(/^TypeError: boom\n\s+at /);
    expect(JSON.stringify(line).split('at ').length).toBe(String(error.stack).split('at ').length);
    expect(line).not.toHaveProperty('@type');
  });

  it('should mark an ERROR line without a stack as a ReportedErrorEvent, and leave other levels alone', () => {
    const { logger, text } = capture();
    logger.failure('procurement call refused', { error: 'FAILED_PRECONDITION' });
    logger.error('Nest failed', new Error('nest').stack, 'ExceptionsHandler');
    logger.warning('slow', { error: new Error('w') });
    const [text1, nest, warning] = json(text());
    expect(text1).toMatchObject({
      '@type': 'type.googleapis.com/google.devtools.clouderrorreporting.v1beta1.ReportedErrorEvent',
      message: 'procurement call refused',
      serviceContext: { service: 'marketplace-entitlements' },
    });
    expect(nest).toMatchObject({ context: 'ExceptionsHandler', stack_trace: expect.stringMatching(/^Error: nest\n/) });
    expect(nest).not.toHaveProperty('stack');
    expect(warning).not.toHaveProperty('stack_trace');
    expect(warning).not.toHaveProperty('serviceContext');
  });

  it('should add the delivery’s trace, span and fields to every line inside its context, the call’s own fields first', async () => {
    const { logger, text } = capture();
    const context = { trace: 'projects/p/traces/' + 'a'.repeat(32), spanId: 'b'.repeat(16), sampled: true };
    await logContext.run(context, async () => {
      logContext.annotate({ eventKey: 'k1', entitlementId: 'gcp:e1' });
      await new Promise((resolve) => setImmediate(resolve));
      logger.info('one');
      logger.log('framework line', 'RouterExplorer');
      logger.info('two', { entitlementId: 'gcp:other' });
    });
    logger.info('outside');
    const [one, framework, two, outside] = json(text());
    const shared = {
      'logging.googleapis.com/trace': context.trace,
      'logging.googleapis.com/spanId': context.spanId,
      'logging.googleapis.com/trace_sampled': true,
      eventKey: 'k1',
    };
    expect(one).toMatchObject({ ...shared, entitlementId: 'gcp:e1' });
    expect(framework).toMatchObject({ ...shared, context: 'RouterExplorer' });
    expect(two).toMatchObject({ ...shared, entitlementId: 'gcp:other' });
    expect(Object.keys(outside!).filter((k) => k.startsWith('logging.googleapis.com/'))).toEqual([]);
    expect(context).not.toHaveProperty('message');
  });
});
