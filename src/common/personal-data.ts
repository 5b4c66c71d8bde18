/**
 * Personal data found by rule in free text (raw payloads, samples of refused requests, admin reasons),
 * whatever field it came in: e-mail addresses.
 */

/** An e-mail address inside any text: `local@domain.tld`, bounded so a hostile text cannot make it slow. */
const EMAIL_IN_TEXT = /[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63}){1,8}/g;
/** What is left of an address a cut went through: `…jane.doe@exa` at the very end of the text. */
const CUT_EMAIL_AT_END = /[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[A-Za-z0-9.-]{0,255}$/;

export const EMAIL_PLACEHOLDER = '[email]';

/** Every distinct e-mail address in `text`, as written (at most `limit`). */
export function emailsIn(text: string, limit = 20): string[] {
  if (!text.includes('@')) return [];
  const found = new Set<string>();
  for (const match of text.matchAll(EMAIL_IN_TEXT)) {
    found.add(match[0]);
    if (found.size >= limit) break;
  }
  return [...found];
}

/** `text` with every e-mail address replaced; `trailing` also replaces one cut off at the end. */
export function redactEmails(text: string, options: { trailing?: boolean } = {}): string {
  if (!text.includes('@')) return text;
  const out = text.replace(EMAIL_IN_TEXT, EMAIL_PLACEHOLDER);
  return options.trailing ? out.replace(CUT_EMAIL_AT_END, EMAIL_PLACEHOLDER) : out;
}
