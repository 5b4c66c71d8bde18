import type { LoggerService } from '@nestjs/common';
import { isatty } from 'node:tty';
import { pino, type Logger, type LevelWithSilent } from 'pino';
import type { Env } from '../../config/env.schema.js';
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
}

type LoggingEnv = Pick<Env, 'LOG_LEVEL' | 'LOG_FORMAT' | 'NODE_ENV' | 'NO_COLOR'>;

/** LOG_FORMAT, else pretty under NODE_ENV=development and JSON otherwise; colours on a terminal unless NO_COLOR. */
export function logFormatFor(env: Omit<LoggingEnv, 'LOG_LEVEL'>, stdoutIsTerminal = isatty(1)): Required<LogFormat> {
  const format = env.LOG_FORMAT ?? (env.NODE_ENV === 'development' ? 'pretty' : 'json');
  return { format, colour: format === 'pretty' && stdoutIsTerminal && !env.NO_COLOR };
}

/** Cloud Logging's field for the trace a line belongs to; callers pass it as `trace`. */
const TRACE_FIELD = 'logging.googleapis.com/trace';

/**
 * JSON lines in Cloud Logging's structured shape: `severity`, `message`, and the caller's fields;
 * a `trace` field (see trace.ts) is written as `logging.googleapis.com/trace`. Secrets are
 * redacted by field name. Also Nest's logger, so framework lines share the format. In development
 * the same lines are written readably instead (`format: 'pretty'`, see pretty.ts).
 */
export class AppLogger implements LoggerService {
  private readonly pino: Logger;

  /** The service's logger as configured (see logFormatFor). */
  static fromEnv(env: LoggingEnv): AppLogger {
    return new AppLogger(env.LOG_LEVEL, undefined, logFormatFor(env));
  }

  constructor(level: LogLevel = 'info', destination?: NodeJS.WritableStream, options: LogFormat = {}) {
    // Synchronous stdout: the last lines before an exit (SIGTERM on Cloud Run) must not be lost in a buffer.
    const out = (destination as pino.DestinationStream | undefined) ?? pino.destination({ dest: 1, sync: true });
    const colour = options.colour ?? false;
    this.pino = pino(
      {
        level,
        messageKey: 'message',
        base: undefined,
        timestamp: pino.stdTimeFunctions.isoTime,
        formatters: {
          level: (label) => ({ severity: SEVERITY[label] ?? 'DEFAULT' }),
          log: (object) => {
            const fields = redact(object) as Record<string, unknown>;
            if (!('trace' in fields)) return fields;
            const { trace, ...rest } = fields;
            return trace === undefined ? rest : { [TRACE_FIELD]: trace, ...rest };
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

  failure(message: string, fields?: Record<string, unknown>): void {
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
