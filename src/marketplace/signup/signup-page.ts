import type { AppError } from '../../common/errors/app-error.js';
import { header, type HttpRequest } from '../../common/http.js';

/**
 * The sign-up endpoint is posted to by the buyer's browser: a refusal gets a short page a person can
 * read (what happened, what to do) when the browser asks for HTML; other clients get the API's JSON
 * error body. The page loads nothing and runs nothing.
 */
export function wantsHtml(request: Pick<HttpRequest, 'headers'>): boolean {
  return /\btext\/html\b/i.test(header(request, 'accept') ?? '');
}

const TITLES: Partial<Record<AppError['code'], string>> = {
  conflict: 'This sign-up link was used already',
  unauthenticated: 'This sign-up link is not valid',
  validation_failed: 'This sign-up link is not valid',
  not_found: 'Sign-up is not available',
  unavailable: 'Sign-up is unavailable for a moment',
};

export function refusalPage(error: AppError, errorId: string): string {
  const title = TITLES[error.code] ?? 'Sign-up failed';
  const advice =
    error.code === 'unavailable'
      ? 'Please reload this page in a few seconds.'
      : 'Go back to Google Cloud Marketplace and open the product from there again (“Manage on provider”): Google then sends a fresh sign-up link.';
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${escape(title)}</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 3rem auto; padding: 0 1rem; line-height: 1.5">
<h1 style="font-size: 1.4rem">${escape(title)}</h1>
<p>${escape(error.message)}</p>
<p>${escape(advice)}</p>
<p style="color: #666; font-size: 0.85rem">Reference: ${escape(errorId)}</p>
</body>
</html>
`;
}

function escape(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
