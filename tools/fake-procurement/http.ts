/** Small node:http helpers shared by the Procurement API and the control API. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { errorBody, errors, fail, ok, type ApiError, type Result } from './errors.js';

const MAX_BODY_BYTES = 1024 * 1024;

export interface JsonResponse {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

export function json(body: unknown, status = 200): JsonResponse {
  return { status, body };
}

export function errorResponse(error: ApiError, headers?: Record<string, string>): JsonResponse {
  return { status: error.code, body: errorBody(error), ...(headers ? { headers } : {}) };
}

export async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new RangeError('Request body too large');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** An absent body counts as `{}`: the generated client omits it when `requestBody` is not given. */
export function parseJsonObject(text: string): Result<Record<string, unknown>> {
  if (text.trim() === '') return ok({});
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
      return ok(value as Record<string, unknown>);
    }
  } catch {
    // refused below, with the front end's wording
  }
  return fail(errors.invalidArgument('Invalid JSON payload received. Expected an object.'));
}

export function send(response: ServerResponse, result: JsonResponse): void {
  const payload = JSON.stringify(result.body);
  response.writeHead(result.status, {
    'Content-Type': 'application/json; charset=UTF-8',
    'Content-Length': Buffer.byteLength(payload),
    ...result.headers,
  });
  response.end(payload);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
