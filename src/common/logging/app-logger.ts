import type { LoggerService } from '@nestjs/common';
import { isatty } from 'node:tty';
import { pino, type Logger, type LevelWithSilent } from 'pino';
import type { Env } from '../../config/env.schema.js';
import { logContext } from './log-context.js';
import { prettyLine } from './pretty.js';
import { redact } from './redact.js';

const SEVERITY: Record<string, string> = {
  trace: 'DEBUG',
  debug: 'DEBUG',
  info: 'INFO',
  warn: 'WARNING',
  error: 'ERROR',
  fatal: 'CRITICAL',
};

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface LogFormat {
  /** `json` (production, tests) or `pretty`, one readable line per event (development; see pretty.ts). */
  format?: 'json' | 'pretty';
  /** Colours in the pretty format. */
  colour?: boolean;
  /** Written on ERROR lines, so Error Reporting groups them per service and revision. */
  serviceContext?: ServiceContext;
}

type LoggingEnv = Pick<Env, 'LOG_LEVEL' | 'LOG_FORMAT' | 'NODE_ENV' | 'NO_COLOR'> &
  Partial<Pick<Env, 'K_SERVICE' | 'K_REVISION'>>;

/** Error Reporting's name for the service and its version (Cloud Run sets K_SERVICE and K_REVISION). */
export interface ServiceContext {
  service: string;
  version?: string;
}

/** LOG_FORMAT, else pretty under NODE_ENV=development and JSON otherwise; colours on a terminal unless NO_COLOR. */
export function logFormatFor(
  env: Omit<LoggingEnv, 'LOG_LEVEL'>,
  stdoutIsTerminal = isatty(1),
): Required<Omit<LogFormat, 'serviceContext'>> {
  const format = env.LOG_FORMAT ?? (env.NODE_ENV === 'development' ? 'pretty' : 'json');
  return { format, colour: format === 'pretty' && stdoutIsTerminal && !env.NO_COLOR };
}

/** Cloud Logging's fields that tie a line to a trace and span (and so to the request's other lines). */
const TRACE_FIELD = 'logging.googleapis.com/trace';
const SPAN_FIELD = 'logging.googleapis.com/spanId';
const SAMPLED_FIELD = 'logging.googleapis.com/trace_sampled';
/** Error Reporting's type for an error reported as text (an ERROR line without a stack). */
export const REPORTED_ERROR_EVENT =
  'type.googleapis.com/google.devtools.clouderrorreporting.v1beta1.ReportedErrorEvent';
const ERROR_LEVEL = 50;

/**
 * JSON lines in Cloud Logging's structured shape: `severity`, `message`, and the caller's fields.
 * Every line written while a delivery is handled carries its trace, span, event key, message id and
 * entitlement id (log-context.ts), framework lines included. ERROR lines are in the shape Error
 * Reporting picks up: the error's stack in `stack_trace` (or, without one, the ReportedErrorEvent
 * `@type`) and `serviceContext`. Secrets are redacted by field name. Also Nest's logger, so framework
 * lines share the format. In development the same lines are written readably instead (`format:
 * 'pretty'`, see pretty.ts).
 */
export class AppLogger implements LoggerService {
  private readonly pino: Logger;
  private readonly reported = new WeakSet<Error>();

  /** The service's logger as configured (see logFormatFor). */
  static fromEnv(env: LoggingEnv): AppLogger {
    return new AppLogger(env.LOG_LEVEL, undefined, {
      ...logFormatFor(env),
      serviceContext: { service: env.K_SERVICE ?? 'marketplace-entitlements', version: env.K_REVISION },
    });
  }

  constructor(level: LogLevel = 'info', destination?: NodeJS.WritableStream, options: LogFormat = {}) {
    // Synchronous stdout: the last lines before an exit (SIGTERM on Cloud Run) must not be lost in a buffer.
    const out = (destination as pino.DestinationStream | undefined) ?? pino.destination({ dest: 1, sync: true });
    const colour = options.colour ?? false;
    const serviceContext = options.serviceContext ?? { service: 'marketplace-entitlements' };
    this.pino = pino(
      {
        level,
        messageKey: 'message',
        base: undefined,
        timestamp: pino.stdTimeFunctions.isoTime,
        // The delivery's fields under the call's own (pino merges the call's fields over these).
        mixin: contextFields,
        formatters: {
          level: (label) => ({ severity: SEVERITY[label] ?? 'DEFAULT' }),
          log: (object) => {
            const fields = redact(object) as Record<string, unknown>;
            const { trace, spanId, sampled, ...rest } = fields;
            const line: Record<string, unknown> =
              trace === undefined
                ? rest
                : {
                    [TRACE_FIELD]: trace,
                    [SPAN_FIELD]: spanId,
                    ...(sampled ? { [SAMPLED_FIELD]: true } : {}),
                    ...rest,
                  };
            return line;
          },
        },
        hooks: {
          logMethod(args, method, levelValue) {
            if (levelValue >= ERROR_LEVEL)
              args[0] = errorReportingFields(args[0] as Record<string, unknown>, serviceContext);
            method.apply(this, args);
          },
        },
      },
      options.format === 'pretty' ? { write: (line: string) => out.write(prettyLine(line, colour)) } : out,
    );
  }

  setLevel(level: LevelWithSilent): void {
    this.pino.level = level;
  }

  info(message: string, fields?: Record<string, unknown>): void {
    this.pino.info(fields ?? {}, message);
  }

  warning(message: string, fields?: Record<string, unknown>): void {
    this.pino.warn(fields ?? {}, message);
  }

  /**
   * An ERROR line (Error Reporting). An error already reported once (a job's failure that reaches the
   * error filter too) is written again as a WARNING: one failure, one Error Reporting event.
   */
  failure(message: string, fields?: Record<string, unknown>): void {
    const error = fields?.['error'];
    if (error instanceof Error) {
      if (this.reported.has(error)) return this.pino.warn({ ...fields, reportedAbove: true }, message);
      this.reported.add(error);
    }
    this.pino.error(fields ?? {}, message);
  }

  // LoggerService (Nest framework lines): (message, ...optionalParams) with the context last.
  log(message: unknown, ...params: unknown[]): void {
    this.pino.info(nestFields(params), String(message));
  }
  error(message: unknown, ...params: unknown[]): void {
    this.pino.error(nestFields(params), String(message));
  }
  warn(message: unknown, ...params: unknown[]): void {
    this.pino.warn(nestFields(params), String(message));
  }
  debug(message: unknown, ...params: unknown[]): void {
    this.pino.debug(nestFields(params), String(message));
  }
  verbose(message: unknown, ...params: unknown[]): void {
    this.pino.trace(nestFields(params), String(message));
  }
}

function nestFields(params: unknown[]): Record<string, unknown> {
  const [first, second] = params;
  if (params.length === 1 && typeof first === 'string') return { context: first };
  if (params.length >= 2) return { stack: first, context: second };
  return {};
}

/** A copy: pino merges the call's fields into what the mixin returns. */
function contextFields(): object {
  const context = logContext.current();
  return context ? { ...context } : {};
}

/**
 * Error Reporting's fields on an ERROR line: the stack of the error it names (`error`, or Nest's
 * `stack`) as `stack_trace`, which Error Reporting reads first; an ERROR line with no stack is
 * marked as a ReportedErrorEvent, so it is still reported (as text). `serviceContext` groups them.
 */
function errorReportingFields(
  fields: Record<string, unknown>,
  serviceContext: ServiceContext,
): Record<string, unknown> {
  const error = fields['error'];
  const stack =
    error instanceof Error && error.stack
      ? error.stack
      : typeof fields['stack'] === 'string' && fields['stack']
        ? fields['stack']
        : undefined;
  if (stack) {
    // The stack once, where Error Reporting reads it; the error field keeps its name and message.
    const { stack: _nestStack, ...rest } = fields;
    if (error instanceof Error) rest['error'] = { name: error.name, message: error.message };
    return { ...rest, stack_trace: stack, serviceContext };
  }
  return { '@type': REPORTED_ERROR_EVENT, ...fields, serviceContext };
}
