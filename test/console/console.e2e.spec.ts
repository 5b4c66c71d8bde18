import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Page } from 'playwright-core';
import { LifecycleJobs } from '../../src/lifecycle/lifecycle-jobs.service.js';
import { APPROVER, startAdminStack, type AdminStack, type Caller } from '../admin/admin-stack.js';
import { launchBrowser, type Browser } from '../support/browser.js';
import { entitlementWhere, eventually, PRODUCT, PROVIDER } from '../support/marketplace.js';
import { GETCOURSE_TOKEN, getCourseCall, purchaseActive } from '../support/webhook-senders.js';

/** A Google OAuth client id: ADMIN_AUDIENCE, so the page offers Google sign-in and its CSP names Google's origin. */
const CLIENT_ID = '1234567890-entitlements-console.apps.googleusercontent.com';
const LOCAL_VIEWER_KEY = 'local-viewer-key-e2e-0123456789abcdef';
const LOCAL_APPROVER_KEY = 'local-approver-key-e2e-0123456789abcd';

/**
 * Google Identity Services as the page sees it, served in place of https://accounts.google.com/gsi/client (the
 * machine has no route to Google): `renderButton` draws a button whose click hands the page's callback an ID token
 * signed by the local issuer, exactly as Google's library hands over a real one. Everything after that is real.
 */
function fakeGis(token: string): string {
  return `window.google = { accounts: { id: {
    initialize(options) { this.options = options; },
    renderButton(parent) {
      const button = document.createElement('button');
      button.type = 'button';
      button.textContent = 'Sign in with Google';
      button.addEventListener('click', () => this.options.callback({ credential: ${JSON.stringify(token)}, select_by: 'btn' }));
      parent.append(button);
    },
    disableAutoSelect() {},
  } } };`;
}

/** Run in the page before its own scripts: every Content-Security-Policy violation is kept in `window.__csp`. */
const RECORD_CSP_VIOLATIONS = `window.__csp = [];
document.addEventListener('securitypolicyviolation', (e) => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));`;

/** Run in the page: every form control labelled, every button and link named, one h1, the document's language set. */
const ACCESSIBILITY_PROBLEMS = `(() => {
  const problems = [];
  if (!document.documentElement.lang) problems.push('html has no lang');
  const h1 = document.querySelectorAll('h1').length;
  if (h1 !== 1) problems.push(h1 + ' h1');
  for (const el of document.querySelectorAll('input, select, textarea')) {
    if (!el.labels?.length && !el.getAttribute('aria-label')) problems.push('unlabelled ' + el.outerHTML.slice(0, 80));
  }
  for (const el of document.querySelectorAll('button, a[href]')) {
    if (!(el.textContent ?? '').trim() && !el.getAttribute('aria-label')) problems.push('unnamed ' + el.outerHTML.slice(0, 80));
  }
  return problems;
})()`;

/**
 * The admin console in Debian's Chromium against the real service (real bootstrap, Firestore emulator, the fake
 * Procurement API, the local Google key issuer): one browser for the whole suite, a fresh page per case.
 */
describe('Admin console in a real browser', () => {
  let stack: AdminStack;
  let browser: Browser;
  const robot: Caller = {};
  const violations: string[] = [];

  beforeAll(async () => {
    [stack, browser] = await Promise.all([
      startAdminStack({
        env: {
          ADMIN_AUDIENCE: CLIENT_ID,
          ADMIN_LOCAL_KEYS: `local-viewer:viewer:${LOCAL_VIEWER_KEY},local-approver:approver:${LOCAL_APPROVER_KEY}`,
          GETCOURSE_PATH_TOKEN: GETCOURSE_TOKEN,
          // One approver clicks through every page of the suite within seconds: more than a person does.
          ADMIN_RATE_LIMIT_BURST: '1000',
          ADMIN_RATE_LIMIT_PER_MINUTE: '6000',
        },
      }),
      launchBrowser(),
    ]);
    robot.apiKey = stack.keys.approver;
  });
  afterAll(async () => {
    await browser?.close();
    await stack?.close();
  });

  const consoleUrl = () => `${stack.app.url}/admin/console/`;

  /** A page that records every CSP violation and script error it sees. */
  async function openPage(options?: { width?: number; height?: number }): Promise<Page> {
    const page = await browser.newPage(options);
    await page.addInitScript({ content: RECORD_CSP_VIOLATIONS });
    page.on('pageerror', (error) => violations.push(`page error: ${error.message}`));
    return page;
  }

  async function cspViolations(page: Page): Promise<string[]> {
    return page.evaluate<string[]>('window.__csp ?? []');
  }

  /** Google's sign-in library, as it would hand `email`'s ID token to the page (see fakeGis). */
  async function fakeGoogle(page: Page, email: string): Promise<void> {
    const token = await stack.idToken(email, { aud: CLIENT_ID });
    await page.route('https://accounts.google.com/gsi/client', (route) =>
      route.fulfill({ status: 200, contentType: 'text/javascript', body: fakeGis(token) }),
    );
  }

  async function signInWithGoogle(page: Page, email: string, { navigate = true } = {}): Promise<void> {
    if (navigate) {
      await fakeGoogle(page, email);
      await page.goto(consoleUrl());
    }
    await page.getByRole('button', { name: 'Sign in with Google' }).click();
    await page.getByRole('heading', { name: 'Waiting for a decision' }).waitFor();
  }

  async function signInLocally(page: Page, key: string): Promise<void> {
    await page.goto(consoleUrl());
    await page.getByLabel('Local admin key').fill(key);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.getByRole('heading', { name: 'Waiting for a decision' }).waitFor();
  }

  /** A Marketplace purchase of a manual plan on an approved account: parked for an admin. */
  async function parkedPurchase(): Promise<{ id: string; accountId: string }> {
    const { accountId } = await stack.deliver.signUpAccount();
    expect((await stack.call('POST', `/admin/v1/accounts/${accountId}/approve`, robot)).status).toBe(200);
    const { entitlementId } = await stack.deliver.buy({ accountId, product: PRODUCT, plan: 'enterprise' });
    await entitlementWhere(stack.store, entitlementId!, (e) => e.status === 'pending_approval');
    return { id: `gcp:${entitlementId}`, accountId: accountId! };
  }

  const row = (page: Page, id: string) =>
    page.locator('tr', { has: page.getByRole('link', { name: id, exact: true }) });

  async function accessibilityProblems(page: Page): Promise<string[]> {
    return page.evaluate<string[]>(ACCESSIBILITY_PROBLEMS);
  }

  it('should sign an approver in with Google, show the parked purchase with its age and reason, approve it by keyboard, and show it active once Google activates it', async () => {
    const { id, accountId } = await parkedPurchase();
    const page = await openPage();
    await fakeGoogle(page, APPROVER);
    await page.goto(consoleUrl());
    await page.getByRole('button', { name: 'Sign in with Google' }).waitFor();
    await page.getByRole('heading', { name: 'Local sandbox' }).waitFor();
    await browser.screenshot(page, '01-sign-in');

    await signInWithGoogle(page, APPROVER, { navigate: false });
    await page.getByText(`${APPROVER}`).first().waitFor();
    const parked = row(page, id);
    await parked.waitFor();
    expect(await parked.textContent()).toContain('Manual approval: the policy leaves demo / enterprise to an approver');
    expect(await parked.locator('time').first().textContent()).toMatch(/just now|\d+ min/);
    expect(await parked.textContent()).toContain(accountId);
    await browser.screenshot(page, '02-queue-approver');

    // Keyboard only: the row's Approve button, the reason, Tab to the dialog's Approve, Enter.
    await parked.getByRole('button', { name: 'Approve' }).focus();
    await page.keyboard.press('Enter');
    const dialog = page.getByRole('dialog', { name: `Approve ${id}?` });
    await dialog.waitFor();
    expect(await page.evaluate<string | undefined>('document.activeElement?.id')).toBe('decision-reason');
    await page.keyboard.type('Contract signed (order 42)');
    expect(await dialog.getByText('26 / 256 bytes').count()).toBe(1);
    await browser.screenshot(page, '03-approve-dialog', { fullPage: false });
    await page.keyboard.press('Tab');
    await page.keyboard.press('Tab');
    expect(await page.evaluate<string | undefined>('document.activeElement?.textContent')).toBe('Approve');
    await page.keyboard.press('Enter');
    await page.getByRole('status').getByText(`Approved ${id}; Google activates it next.`).waitFor();
    await dialog.waitFor({ state: 'detached' });
    await eventually(async () => (await parked.textContent())?.includes('Approved; waiting for Google to activate it'));
    expect(await parked.getByRole('button').count()).toBe(0);
    expect(stack.fake.countCalls('entitlements.approve', id.slice(4))).toBe(1);

    await stack.deliver.activate(id.slice(4));
    await entitlementWhere(stack.store, id.slice(4), (e) => e.active);
    await page.goto(`${consoleUrl()}#/entitlements/${encodeURIComponent(id)}`);
    await page.getByRole('heading', { name: `Entitlement ${id}` }).waitFor();
    await page.locator('.title-row .badge', { hasText: 'active' }).first().waitFor();
    const history = page.locator('.timeline');
    expect(await history.textContent()).toContain('ADMIN_ENTITLEMENT_APPROVED');
    expect(await history.textContent()).toContain(`by admin ${APPROVER}`);
    await page.getByRole('region', { name: 'Decisions' }).getByText('Contract signed (order 42)').waitFor();
    await page.getByRole('region', { name: 'Inbound events' }).getByRole('button', { name: 'Show' }).first().click();
    expect(await page.locator('pre.raw').first().textContent()).toContain('"eventType"');
    await browser.screenshot(page, '04-entitlement-active');

    // The credential stays in memory: nothing in storage or cookies, and a reload signs out.
    const stored = await page.evaluate<string>(
      'JSON.stringify([{ ...localStorage }, { ...sessionStorage }, document.cookie])',
    );
    expect(stored).toBe('[{},{},""]');
    expect(await accessibilityProblems(page)).toEqual([]);
    expect(await cspViolations(page)).toEqual([]);
    await page.reload();
    await page.getByRole('button', { name: 'Sign in with Google' }).waitFor();
    await page.close();
  });

  it('should show a viewer no decision buttons anywhere (signed in with the local key)', async () => {
    const { id } = await parkedPurchase();
    const page = await openPage();
    await signInLocally(page, LOCAL_VIEWER_KEY);
    await page.locator('.who').getByText('local-viewer').waitFor();
    await row(page, id).waitFor();
    expect(await page.getByRole('button', { name: /^(Approve|Reject)/ }).count()).toBe(0);
    await browser.screenshot(page, '05-queue-viewer');
    await page.goto(`${consoleUrl()}#/entitlements/${encodeURIComponent(id)}`);
    await page.getByRole('heading', { name: `Entitlement ${id}` }).waitFor();
    await page.getByText('Manual approval').waitFor();
    expect(await page.getByRole('button', { name: /^(Approve|Reject)/ }).count()).toBe(0);
    await page.goto(`${consoleUrl()}#/events`);
    await page.getByRole('heading', { name: 'Invalid events' }).waitFor();
    expect(await page.getByRole('button', { name: /^(Replay|Resolve)/ }).count()).toBe(0);
    // The API refuses the viewer anyway (docs/admin-api.md): the page only hides what it cannot do.
    expect(
      (await stack.call('POST', `/admin/v1/entitlements/${id}/approve`, { apiKey: LOCAL_VIEWER_KEY })).status,
    ).toBe(403);
    expect(await cspViolations(page)).toEqual([]);
    await page.close();
  });

  it('should reject with a reason, counting it in bytes as the Procurement API does', async () => {
    const { id } = await parkedPurchase();
    const page = await openPage();
    await signInWithGoogle(page, APPROVER);
    await row(page, id).getByRole('button', { name: 'Reject' }).click();
    const dialog = page.getByRole('dialog', { name: `Reject ${id}?` });
    const confirm = dialog.getByRole('button', { name: 'Reject', exact: true });
    expect(await confirm.isDisabled()).toBe(true);
    // 129 characters, 258 bytes of UTF-8: over the limit although under 256 characters.
    await dialog.getByLabel('Reason (required)').fill('é'.repeat(129));
    await dialog.getByText(/258 \/ 256 bytes — too long/).waitFor();
    expect(await confirm.isDisabled()).toBe(true);
    await browser.screenshot(page, '06-reject-too-long', { fullPage: false });
    await dialog.getByLabel('Reason (required)').fill('Duplicate order: the customer bought it twice');
    await confirm.click();
    await page.getByRole('status').getByText(`Rejected ${id}.`).waitFor();
    expect(stack.fake.countCalls('entitlements.reject', id.slice(4))).toBe(1);
    await eventually(async () => (await row(page, id).count()) === 0);

    // The first read of the audit trail meets the API's rate limit: the page waits the second it names and reads again.
    let limited = 0;
    await page.route('**/admin/v1/audit?*', async (route) => {
      if (limited++ > 0) return route.continue();
      await route.fulfill({
        status: 429,
        contentType: 'application/json',
        headers: { 'retry-after': '1' },
        body: JSON.stringify({
          code: 'rate_limited',
          message: 'Too many requests',
          errorId: 'e',
          details: { retryAfterSeconds: 1 },
        }),
      });
    });
    await page.goto(`${consoleUrl()}#/audit`);
    const audited = page.locator('tr', { hasText: 'Duplicate order: the customer bought it twice' });
    await audited.waitFor();
    expect(await audited.textContent()).toContain(APPROVER);
    expect(await audited.textContent()).toContain('entitlement.reject');
    expect(limited).toBe(2);
    await browser.screenshot(page, '07-audit');
    expect(await accessibilityProblems(page)).toEqual([]);
    await page.close();
  });

  it('should replay an invalid event once its cause is fixed', async () => {
    const { accountId } = await stack.deliver.signUpAccount();
    await stack.call('POST', `/admin/v1/accounts/${accountId}/approve`, robot);
    // A plan config/products.yaml does not list: recorded invalid, then the plan is put right in Google's record.
    const { entitlementId, messages } = await stack.deliver.buy({ accountId, product: PRODUCT, plan: 'platinum' });
    const eventId = `gcp:${messages.find((m) => m.eventType === 'ENTITLEMENT_CREATION_REQUESTED')!.eventId}`;
    await eventually(async () => (await stack.db.collection('events').doc(eventId).get()).get('outcome') === 'invalid');
    stack.fake.state.setEntitlement(PROVIDER, entitlementId!, { plan: 'pro' });

    const page = await openPage();
    await signInWithGoogle(page, APPROVER);
    await page.getByRole('link', { name: 'Events' }).click();
    await page.getByRole('heading', { name: 'Invalid events' }).waitFor();
    const invalid = page.locator('tr', { hasText: 'unknown plan "platinum"' }).first();
    await invalid.waitFor();
    await page.locator('figure.chart svg').waitFor();
    expect(await page.locator('figure.chart svg').getAttribute('aria-label')).toMatch(/gcp \d+/);
    await browser.screenshot(page, '08-events');
    await invalid.getByRole('button', { name: 'Replay' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Replay', exact: true }).click();
    await page.getByRole('status').getByText(`Replayed ${eventId}: applied.`).waitFor();
    await eventually(async () => (await page.locator('tr', { hasText: eventId }).count()) === 0);
    const entitlement = await entitlementWhere(stack.store, entitlementId!, (e) => e.plan === 'pro');
    expect(entitlement.status).toBe('pending_approval');

    await page.goto(`${consoleUrl()}#/events/${encodeURIComponent(eventId)}`);
    await page.getByRole('heading', { name: `Event ${eventId}` }).waitFor();
    await page.locator('.title-row .badge', { hasText: 'applied' }).waitFor();
    expect(await page.locator('pre.raw').textContent()).toContain('ENTITLEMENT_CREATION_REQUESTED');
    await browser.screenshot(page, '09-event');
    expect(await cspViolations(page)).toEqual([]);
    await page.close();
  });

  it('should approve a pending sign-up and reject a plan change from the queue', async () => {
    const { accountId: signingUp } = await stack.deliver.signUpAccount();
    const { accountId } = await stack.deliver.signUpAccount();
    await stack.call('POST', `/admin/v1/accounts/${accountId}/approve`, robot);
    const { entitlementId } = await stack.deliver.buy({ accountId, product: PRODUCT, plan: 'basic' });
    const id = entitlementId!;
    await stack.deliver.activate(id);
    await stack.deliver.changePlan(id, 'enterprise');
    await entitlementWhere(stack.store, id, (e) => e.status === 'pending_plan_change');

    const page = await openPage();
    await signInWithGoogle(page, APPROVER);
    const signup = page.getByRole('region', { name: 'Marketplace sign-ups waiting for approval' }).locator('tr', {
      hasText: signingUp!,
    });
    await signup.getByRole('button', { name: 'Approve sign-up' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Approve sign-up' }).click();
    await page.getByRole('status').getByText(`Approved the sign-up of ${signingUp}.`).waitFor();
    await eventually(async () => (await signup.count()) === 0);
    expect(stack.fake.countCalls('accounts.approve', signingUp)).toBe(1);

    const change = row(page, `gcp:${id}`);
    expect(await change.textContent()).toContain('basic → enterprise');
    expect(await change.textContent()).toContain('Manual approval: the policy leaves changes to demo / enterprise');
    await change.getByRole('button', { name: 'Reject change' }).click();
    const dialog = page.getByRole('dialog', { name: `Reject the change of gcp:${id} to enterprise?` });
    await dialog.getByLabel('Reason (required)').fill('Enterprise needs a signed contract');
    await dialog.getByRole('button', { name: 'Reject change' }).click();
    await page.getByRole('status').getByText(`Rejected the plan change of gcp:${id}.`).waitFor();
    expect(stack.fake.countCalls('entitlements.rejectPlanChange', id)).toBe(1);
    await entitlementWhere(stack.store, id, (e) => e.status === 'active' && e.plan === 'basic');
    await eventually(async () => (await change.count()) === 0);
    await page.close();
  });

  it("should erase a person's data from a search by e-mail, and reset a test account from its page", async () => {
    const email = `erase.${Date.now()}@example.com`;
    expect((await getCourseCall(stack.app, purchaseActive(`e-${Date.now()}`, email))).status).toBe(200);
    const { accountId } = await stack.deliver.signUpAccount();
    await stack.call('POST', `/admin/v1/accounts/${accountId}/approve`, robot);
    const { entitlementId } = await stack.deliver.buy({ accountId, product: PRODUCT, plan: 'basic' });
    await stack.deliver.activate(entitlementId!);
    await entitlementWhere(stack.store, entitlementId!, (e) => e.active);

    const page = await openPage();
    await signInWithGoogle(page, APPROVER);
    await page.goto(`${consoleUrl()}#/search/${encodeURIComponent(email)}`);
    await page.getByRole('region', { name: 'Entitlements' }).locator('tbody tr').first().waitFor();
    await page.getByRole('button', { name: "Erase this person's data…" }).click();
    const erase = page.getByRole('dialog', { name: `Erase the personal data of ${email}?` });
    await erase.getByLabel('Reason (required)').fill('Deletion request, ticket 1234');
    const confirm = erase.getByRole('button', { name: 'Erase', exact: true });
    expect(await confirm.isDisabled()).toBe(true);
    await erase.getByLabel('Type ERASE to confirm').fill('ERASE');
    await browser.screenshot(page, '15-erase-dialog', { fullPage: false });
    await confirm.click();
    await page.getByRole('status').getByText(`Erased ${email}: 1 entitlement(s)`).waitFor();
    await page.getByText(`Nothing matches “${email}”.`).waitFor();

    await page.goto(`${consoleUrl()}#/accounts/${encodeURIComponent(accountId!)}`);
    await page.getByRole('heading', { name: `Account ${accountId}` }).waitFor();
    await page.getByRole('button', { name: 'Reset test account…' }).click();
    const reset = page.getByRole('dialog', { name: `Reset the test account ${accountId}?` });
    await reset.getByLabel('Reason (required)').fill('Re-testing the purchase flow');
    await reset.getByLabel(/This is one of our own test accounts/).check();
    await reset.getByRole('button', { name: 'Reset account' }).click();
    await page.getByRole('status').getByText(`Reset the test account ${accountId}.`).waitFor();
    expect(stack.fake.countCalls('accounts.reset', accountId)).toBe(1);
    await page.locator('.title-row .badge', { hasText: 'PENDING' }).waitFor();
    await entitlementWhere(stack.store, entitlementId!, (e) => e.status === 'cancelled');
    expect(await cspViolations(page)).toEqual([]);
    await page.close();
  });

  it('should say plainly when someone else decided first (409), and change nothing', async () => {
    const { id } = await parkedPurchase();
    const page = await openPage();
    await signInWithGoogle(page, APPROVER);
    await row(page, id).getByRole('button', { name: 'Approve' }).click();
    const dialog = page.getByRole('dialog', { name: `Approve ${id}?` });
    await dialog.waitFor();
    // Meanwhile another approver (the robot key) approves it.
    expect((await stack.call('POST', `/admin/v1/entitlements/${id}/approve`, robot, {})).status).toBe(200);
    await dialog.getByRole('button', { name: 'Approve', exact: true }).click();
    const conflict = page.getByRole('dialog').getByRole('alert');
    await conflict.getByRole('heading', { name: 'Someone else decided first' }).waitFor();
    expect(await conflict.textContent()).toContain('robot-approver');
    expect(await conflict.textContent()).toContain('ENTITLEMENT_ACTIVATION_REQUESTED');
    await browser.screenshot(page, '10-conflict', { fullPage: false });
    expect(stack.fake.countCalls('entitlements.approve', id.slice(4))).toBe(1);
    await conflict.getByRole('button', { name: 'Close and refresh' }).click();
    await eventually(async () => (await row(page, id).textContent())?.includes('Approved; waiting for Google'));
    await page.close();
  });

  it('should find by e-mail and account, show an account and the lifecycle runs, and fit a phone', async () => {
    const email = `Search.${Date.now()}@example.com`;
    expect((await getCourseCall(stack.app, purchaseActive(`s-${Date.now()}`, email))).status).toBe(200);
    const { id, accountId } = await parkedPurchase();
    const jobs = stack.app.app.get(LifecycleJobs);
    await jobs.expire();
    await jobs.reconcile();

    const page = await openPage();
    await signInLocally(page, LOCAL_APPROVER_KEY);
    await page.keyboard.press('/');
    expect(await page.evaluate<string | undefined>('document.activeElement?.id')).toBe('search');
    await page.keyboard.type(email.toUpperCase());
    await page.keyboard.press('Enter');
    await page.getByText('Read as: e-mail.').waitFor();
    const found = page.getByRole('region', { name: 'Entitlements' }).locator('tbody tr');
    await found.first().waitFor();
    expect(await found.count()).toBe(1);
    expect(await found.textContent()).toContain(email.toLowerCase());
    await browser.screenshot(page, '11-search');

    await page.getByLabel(/Search by entitlement id/).fill(accountId);
    await page.getByLabel(/Search by entitlement id/).press('Enter');
    await page.getByRole('link', { name: accountId }).first().click();
    await page.getByRole('heading', { name: `Account ${accountId}` }).waitFor();
    await page.getByRole('link', { name: id }).waitFor();
    await browser.screenshot(page, '12-account');

    await page.getByRole('link', { name: 'Lifecycle runs' }).click();
    await page.getByRole('heading', { name: 'Lifecycle runs' }).waitFor();
    await page.locator('tr', { hasText: 'reconciliation' }).first().waitFor();
    expect(await page.locator('tr', { hasText: 'expiry sweep' }).first().textContent()).toContain('expired');
    expect(await page.locator('tr', { hasText: 'reconciliation' }).first().textContent()).toContain('checked');
    await browser.screenshot(page, '13-runs');
    expect(await accessibilityProblems(page)).toEqual([]);
    await page.close();

    const phone = await openPage({ width: 390, height: 844 });
    await signInLocally(phone, LOCAL_APPROVER_KEY);
    await row(phone, id).waitFor();
    // Nothing wider than the screen but the tables, which scroll inside their own box.
    const overflow = await phone.evaluate<number>('document.documentElement.scrollWidth - window.innerWidth');
    expect(overflow).toBeLessThanOrEqual(0);
    await browser.screenshot(phone, '14-queue-phone');
    expect(await cspViolations(phone)).toEqual([]);
    await phone.close();
    expect(violations).toEqual([]);
  });
});
