import type { LoggerService } from '@nestjs/common';
import { pino, type Logger, type LevelWithSilent } from 'pino';
import { currentLogContext } from './log-context.js';
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

/**
 * JSON lines in Cloud Logging's structured shape: `severity`, `message`,
 * `logging.googleapis.com/trace`, plus the delivery's message or event id. Secrets are
 * redacted by field name. Also Nest's logger, so framework lines share the format.
 */
export class AppLogger implements LoggerService {
  private readonly pino: Logger;

  constructor(level: LogLevel = 'info', destination?: NodeJS.WritableStream) {
    this.pino = pino(
      {
        level,
        messageKey: 'message',
        base: undefined,
        timestamp: pino.stdTimeFunctions.isoTime,
        formatters: {
          level: (label) => ({ severity: SEVERITY[label] ?? 'DEFAULT' }),
          log: (object) => redact(object) as Record<string, unknown>,
        },
        mixin: () => {
          const ctx = currentLogContext();
          if (!ctx) return {};
          const { trace, ...rest } = ctx;
          return trace ? { 'logging.googleapis.com/trace': trace, ...rest } : rest;
        },
      },
      // Synchronous stdout: the last lines before an exit (SIGTERM on Cloud Run) must not be lost in a buffer.
      (destination as pino.DestinationStream | undefined) ?? pino.destination({ dest: 1, sync: true }),
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
