/** List paging as Google's list methods do it: default and maximum sizes, opaque query-bound tokens. */
import { errors, refuse } from './errors.js';

export const PAGE_SIZES = {
  entitlements: { default: 200, max: 1000 },
  accounts: { default: 25, max: 200 },
} as const;

export interface ListRequest {
  filter?: string;
  pageSize?: number;
  pageToken?: string;
}

interface PageToken {
  scope: string;
  after: number;
}

/**
 * One page of `records` (in `seq` order). `scope` names the query; a token from another query is refused.
 * Paging by `seq` keeps pages stable when records are added or removed between calls.
 */
export function paginate<R extends { seq: number }>(
  records: R[],
  scope: string,
  request: ListRequest,
  sizes: { default: number; max: number },
): { items: R[]; nextPageToken?: string } {
  const pageSize = request.pageSize ?? 0;
  if (!Number.isInteger(pageSize) || pageSize < 0) refuse(errors.invalidArgument());
  const size = Math.min(pageSize === 0 ? sizes.default : pageSize, sizes.max);
  const after = request.pageToken ? decodePageToken(request.pageToken, scope) : 0;
  const remaining = records.filter((r) => r.seq > after);
  const items = remaining.slice(0, size);
  const last = items.at(-1);
  if (remaining.length <= size || !last) return { items };
  return { items, nextPageToken: encodePageToken({ scope, after: last.seq }) };
}

/** Google omits empty repeated fields, so an empty page is `{}`. */
export function withPage<K extends string, T>(
  key: K,
  items: T[],
  nextPageToken: string | undefined,
): { [P in K]?: T[] } & { nextPageToken?: string } {
  return {
    ...(items.length > 0 ? { [key]: items } : {}),
    ...(nextPageToken ? { nextPageToken } : {}),
  } as { [P in K]?: T[] } & { nextPageToken?: string };
}

function encodePageToken(token: PageToken): string {
  return Buffer.from(JSON.stringify(token)).toString('base64url');
}

function decodePageToken(token: string, scope: string): number {
  try {
    const decoded = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as Partial<PageToken>;
    if (decoded.scope === scope && typeof decoded.after === 'number') return decoded.after;
  } catch {
    // refused below
  }
  return refuse(errors.invalidArgument('The page token is invalid.'));
}
