import type { z } from 'zod';
import { AppError } from '../../common/errors/app-error.js';

/** One refused field of a payload: its path and what is wrong (never its value). */
export interface FieldProblem {
  field: string;
  problem: string;
}

/** Validates a payload; a 400 names every offending field (path and problem), never the values. */
export function parseBody<S extends z.ZodType>(schema: S, body: unknown): z.infer<S> {
  const result = schema.safeParse(body);
  if (result.success) return result.data;
  throw invalidPayload(fieldProblems(result.error));
}

export function fieldProblems(error: z.ZodError): FieldProblem[] {
  return error.issues.map((i) => ({ field: i.path.join('.') || '(body)', problem: i.message }));
}

/** The 400 of a refused payload: `Invalid payload: field: problem; …`, with `details.fields`. */
export function invalidPayload(fields: FieldProblem[]): AppError {
  return new AppError(
    'validation_failed',
    `Invalid payload: ${fields.map((f) => `${f.field}: ${f.problem}`).join('; ')}`,
    { fields },
  );
}

/** The field names of a refusal built by `invalidPayload` (or `parseBody`), for the event record. */
export function refusedFieldsOf(error: unknown): string[] | undefined {
  if (!(error instanceof AppError) || error.code !== 'validation_failed') return undefined;
  const fields = (error.details as { fields?: FieldProblem[] } | undefined)?.fields;
  return Array.isArray(fields) && fields.length ? [...new Set(fields.map((f) => f.field))] : undefined;
}
