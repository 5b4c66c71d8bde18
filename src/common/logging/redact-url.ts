/**
 * URLs as the service logs or echoes them (404 and 414 bodies, the error filter, refusal samples):
 * secrets and personal data removed by rule, whatever the route or parameter is called.
 *
 * - Every query value is replaced by `…`; the names stay (enough to see which template a caller
 *   used: `?event=…&email=…`). A name that itself looks like a token is replaced too.
 * - A path segment that could be a token or personal data is replaced by `…`: 16 characters or
 *   more (webhook path tokens are at least 24), an `@` (e-mails), or a run of 7 digits (phone
 *   numbers, long ids). Route words (`webhooks`, `getcourse`, `v1`) are shorter and stay.
 * - User info (`user:password@host`) and the fragment are dropped; scheme and host stay.
 */

const REDACTED = '…';
const MAX_SEGMENT = 16;
const DIGIT_RUN = /\d{7}/;
/** Longest URL text kept; the rest is cut (a 2 KB path says nothing more than its start). */
const MAX_LENGTH = 512;

function sensitive(segment: string): boolean {
  let text = segment;
  try {
    text = decodeURIComponent(segment);
  } catch {
    // Malformed escapes: judge the raw text.
  }
  return text.length >= MAX_SEGMENT || text.includes('@') || DIGIT_RUN.test(text);
}

function redactPath(path: string): string {
  return path
    .split('/')
    .map((s) => (s && sensitive(s) ? REDACTED : s))
    .join('/');
}

function redactQuery(query: string): string {
  return query
    .split('&')
    .map((pair) => {
      if (!pair) return pair;
      const eq = pair.indexOf('=');
      const name = eq === -1 ? pair : pair.slice(0, eq);
      const shownName = sensitive(name) ? REDACTED : name;
      if (eq === -1) return shownName;
      return eq === pair.length - 1 ? `${shownName}=` : `${shownName}=${REDACTED}`;
    })
    .join('&');
}

/** One URL or request target (`/a/b?c=d`, `https://host/a?b`), redacted. */
export function redactUrl(url: string): string {
  // Linear in the URL, which Node already bounds (16 KiB of headers); only the result is cut.
  let rest = url;
  const hash = rest.indexOf('#');
  if (hash !== -1) rest = rest.slice(0, hash);
  let origin = '';
  const absolute = /^([a-z][a-z0-9+.-]*:\/\/)([^/?]*)/i.exec(rest);
  if (absolute) {
    const host = absolute[2]!.slice(absolute[2]!.lastIndexOf('@') + 1);
    origin = `${absolute[1]}${host}`;
    rest = rest.slice(absolute[0].length);
  }
  const q = rest.indexOf('?');
  const path = q === -1 ? rest : rest.slice(0, q);
  const query = q === -1 ? undefined : rest.slice(q + 1);
  const redacted = `${origin}${redactPath(path)}${query === undefined ? '' : `?${redactQuery(query)}`}`;
  return redacted.length > MAX_LENGTH ? `${redacted.slice(0, MAX_LENGTH)}…` : redacted;
}

/**
 * Absolute URLs, and paths that start a word (`Cannot GET /webhooks/…`, `'/admin/…'`), up to the next
 * white space: a URL may hold quotes itself (`?a='x`), so only quotes that end it are given back.
 */
const URL_IN_TEXT = /[a-z][a-z0-9+.-]*:\/\/\S+|(?<![\w.~%/-])\/\S*/gi;
const CLOSING = /['"`)\],;.]+$/;

/** Free text (an error message) with every URL or path in it redacted by `redactUrl`. */
export function redactUrlsInText(text: string): string {
  if (!text.includes('/')) return text;
  return text.replace(URL_IN_TEXT, (match) => {
    const closing = CLOSING.exec(match)?.[0] ?? '';
    return redactUrl(match.slice(0, match.length - closing.length)) + closing;
  });
}
