import type { z } from 'zod';
import { AppError } from '../../common/errors/app-error.js';

/** Validates a payload; a 400 names every offending field (path and problem), never the values. */
export function parseBody<S extends z.ZodType>(schema: S, body: unknown): z.infer<S> {
  const result = schema.safeParse(body);
  if (result.success) return result.data;
  const fields = result.error.issues.map((i) => ({ field: i.path.join('.') || '(body)', problem: i.message }));
  throw new AppError(
    'validation_failed',
    `Invalid payload: ${fields.map((f) => `${f.field}: ${f.problem}`).join('; ')}`,
    { fields },
  );
}
