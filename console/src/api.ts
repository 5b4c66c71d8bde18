/**
 * The console's only way to the service: `/admin/v1` on this origin, with the caller's credential from memory
 * (never localStorage, sessionStorage or a cookie: a reload signs out). The API decides everything; the page
 * only hides what the caller's role cannot do.
 */

export type Role = 'viewer' | 'approver';

export interface Principal {
  kind: 'user' | 'api-key';
  id: string;
  role: Role;
}

export type Credential = { kind: 'google'; idToken: string } | { kind: 'local'; key: string };

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

/** An answer other than 2xx, with the API's stable `code` (`conflict`, `forbidden`, …) and its details. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: Record<string, unknown> | undefined,
    readonly errorId: string | undefined,
  ) {
    super(message);
  }

  /** 409: the action no longer applies, typically because someone else decided first. */
  get conflict(): boolean {
    return this.status === 409;
  }
}

let credential: Credential | null = null;
let onUnauthenticated: ((message: string) => void) | null = null;

export function setCredential(value: Credential | null): void {
  credential = value;
}

/** Called when the API answers 401 (an expired or revoked credential): the app signs out. */
export function onSignedOut(handler: (message: string) => void): void {
  onUnauthenticated = handler;
}

const BASE = '/admin/v1';

export async function api<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
  try {
    return await call<T>(method, path, body);
  } catch (error) {
    // A read refused by the API's rate limit is tried once more after the wait it names, if that is short
    // (a page makes a few reads at once). Decisions are never repeated by the page.
    const wait = error instanceof ApiError && error.status === 429 ? Number(error.details?.retryAfterSeconds) : NaN;
    if (method !== 'GET' || !(wait > 0 && wait <= 10)) throw error;
    await new Promise((resolve) => setTimeout(resolve, wait * 1000));
    return call<T>(method, path, body);
  }
}

async function call<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (credential?.kind === 'google') headers.authorization = `Bearer ${credential.idToken}`;
  if (credential?.kind === 'local') headers['x-api-key'] = credential.key;
  if (body !== undefined) headers['content-type'] = 'application/json';
  let response: Response;
  try {
    response = await fetch(`${BASE}${path}`, {
      method,
      headers,
      credentials: 'omit',
      cache: 'no-store',
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
  } catch {
    throw new ApiError(
      0,
      'network',
      'The service could not be reached. Check the connection and try again.',
      undefined,
      undefined,
    );
  }
  const text = await response.text();
  let json: Record<string, unknown>;
  try {
    json = text ? (JSON.parse(text) as Record<string, unknown>) : {};
  } catch {
    json = { message: text.slice(0, 200) };
  }
  if (!response.ok) {
    const retry = response.headers.get('retry-after');
    const message =
      typeof json.message === 'string' ? json.message : `${response.status} ${response.statusText}`.trim();
    const error = new ApiError(
      response.status,
      typeof json.code === 'string' ? json.code : 'error',
      response.status === 429 && retry ? `${message} (retry in ${retry} s)` : message,
      json.details as Record<string, unknown> | undefined,
      typeof json.errorId === 'string' ? json.errorId : undefined,
    );
    if (response.status === 401 && credential) onUnauthenticated?.(message);
    throw error;
  }
  return json as T;
}

/** Query string of the defined values only. */
export function query(params: Record<string, string | number | undefined | null>): string {
  const search = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') search.set(k, String(v));
  const text = search.toString();
  return text ? `?${text}` : '';
}

export const path = (...parts: string[]) => parts.map(encodeURIComponent).join('/');

/** What `/admin/console/config.json` says: which sign-in the page offers. */
export interface ConsoleSettings {
  googleClientId: string | null;
  localSignIn: boolean;
  maxReasonBytes: number;
}

export async function loadSettings(): Promise<ConsoleSettings> {
  const response = await fetch('config.json', { cache: 'no-store', credentials: 'omit' });
  if (!response.ok) throw new Error(`config.json: ${response.status}`);
  return (await response.json()) as ConsoleSettings;
}
