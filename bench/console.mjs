// npm run bench:console [-- --rounds 15 --pending 25]
//
// The admin console's size and first render (issue 20: its JavaScript under 100 KB gzip, first render under 1 s on
// the local stack). The service is the bundle the container runs (`node <CMD flags> dist/service.cjs`, built into a
// temporary directory as `npm run build` builds it), configured as `npm run local` configures it (NODE_ENV
// development, the local-only admin keys) on the Firestore emulator, with `--pending` purchases waiting for approval.
// Debian's Chromium (scripts/chromium.mjs) loads each page with its HTTP cache off, a fresh page per load, rounds
// interleaved:
//   baseline       /admin/console/baseline.html: a static page of one paragraph, served by the same route with the
//                  same headers and compression (the floor of "a page from this service in this browser")
//   first render   /admin/console/: navigation start to the console's first screen drawn (the sign-in page: HTML,
//                  script and style sheet loaded, config.json read, rendered)
//   signed in      from the sign-in click to the queue drawn with its data (GET /me, then the three queue lists)
// Sizes: every file the first render loads, raw, gzip and brotli as the build wrote them (the service sends brotli
// to Chromium).
import { Firestore } from '@google-cloud/firestore';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { brotliCompressSync, gzipSync } from 'node:zlib';
import { buildConsole } from '../console/build.mjs';
import { launchChromium } from '../scripts/chromium.mjs';
import {
  emulators,
  fmt,
  freePort,
  log,
  median,
  onExit,
  options,
  percentile,
  privateBuild,
  projectId,
  provenance,
  run,
  serviceCommand,
  sleep,
  startNode,
  table,
  verdict,
  waitForStatus,
  writeSection,
} from './lib/common.mjs';

const SIZE_BUDGET_KB = 100;
const RENDER_TARGET_MS = 1000;
const LOCAL_KEY = 'local-bench-approver-key-0123456789';
const BASELINE_HTML =
  '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>baseline</title></head><body><p>baseline</p></body></html>\n';

run(async () => {
  const o = options({ rounds: 15, pending: 25 });
  const build = await privateBuild();
  const assets = mkdtempSync(join(tmpdir(), 'console-bench-'));
  onExit(() => rmSync(assets, { recursive: true, force: true }));
  const files = await buildConsole(assets);
  writeFileSync(join(assets, 'baseline.html'), BASELINE_HTML);
  writeFileSync(join(assets, 'baseline.html.gz'), gzipSync(BASELINE_HTML, { level: 9 }));
  writeFileSync(join(assets, 'baseline.html.br'), brotliCompressSync(BASELINE_HTML));

  const emu = await emulators();
  const project = projectId('bench-console');
  await seedQueue(project, emu.firestoreHost, o.pending);
  const port = await freePort();
  const service = startNode('service', [...build.flags, build.main], {
    ...build.env,
    NODE_ENV: 'development',
    PORT: String(port),
    GOOGLE_CLOUD_PROJECT: project,
    FIRESTORE_EMULATOR_HOST: emu.firestoreHost,
    CONFIG_DIR: 'config',
    ADMIN_LOCAL_KEYS: `local-bench:approver:${LOCAL_KEY}`,
    ADMIN_CONSOLE_DIR: assets,
    LOG_LEVEL: 'warn',
  });
  const base = `http://127.0.0.1:${port}`;
  await waitForStatus(`${base}/health/ready`, { child: service });

  const chromium = await launchChromium();
  onExit(() => chromium.close());
  const measured = { baseline: [], firstRender: [], fcp: [], signedIn: [], transferred: [] };
  // One unmeasured load of each warms the service's first-request file read and Chromium's process pool.
  for (let round = -1; round < o.rounds; round++) {
    const baseline = await load(chromium.context, `${base}/admin/console/baseline.html`, 'p');
    const app = await load(chromium.context, `${base}/admin/console/`, '#app h1', { signIn: true });
    if (round < 0) continue;
    measured.baseline.push(baseline.rendered);
    measured.firstRender.push(app.rendered);
    measured.fcp.push(app.fcp);
    measured.signedIn.push(app.signedIn);
    measured.transferred.push(app.transferred);
  }
  await chromium.close();
  await service.stop();

  const js = files.filter((f) => f.file.endsWith('.js'));
  const jsGzipKB = js.reduce((s, f) => s + f.gzip, 0) / 1024;
  const firstRender = median(measured.firstRender);
  const baseline = median(measured.baseline);
  const sizeRows = files.map((f) => [
    `\`${f.file.replace(/-[A-Z0-9]{8}\./, '-<hash>.')}\``,
    fmt.n(f.bytes / 1024, 1),
    fmt.n(f.gzip / 1024, 1),
    fmt.n(f.brotli / 1024, 1),
  ]);
  const renderRows = [
    ['baseline (one-paragraph page, same route)', fmt.ms(baseline), fmt.ms(percentile(measured.baseline, 90)), '—'],
    [
      '**console first render** (sign-in screen drawn)',
      fmt.ms(firstRender),
      fmt.ms(percentile(measured.firstRender, 90)),
      signed(firstRender - baseline),
    ],
    [
      'console first contentful paint',
      fmt.ms(median(measured.fcp)),
      fmt.ms(percentile(measured.fcp, 90)),
      signed(median(measured.fcp) - baseline),
    ],
    [
      `signed in: queue drawn with ${o.pending} pending purchases (from the click)`,
      fmt.ms(median(measured.signedIn)),
      fmt.ms(percentile(measured.signedIn, 90)),
      '—',
    ],
  ];
  const markdown = `
## Admin console

${provenance('bench:console', `${o.rounds} rounds, interleaved, HTTP cache off, a fresh page per load; the service is \`${serviceCommand(build)}\` with NODE_ENV=development as \`npm run local\` runs it, on the Firestore emulator`)}

Targets (issue 20): the console's JavaScript under ${SIZE_BUDGET_KB} KB gzip, first render under ${fmt.ms(RENDER_TARGET_MS)} on the local stack.

| What | Result | Target | Met |
| --- | --- | --- | --- |
| JavaScript, gzip | ${fmt.n(jsGzipKB, 1)} KB | < ${SIZE_BUDGET_KB} KB | ${verdict(jsGzipKB < SIZE_BUDGET_KB)} |
| First render, median | ${fmt.ms(firstRender)} | < ${fmt.ms(RENDER_TARGET_MS)} | ${verdict(firstRender < RENDER_TARGET_MS)} |

Files of the first render (KB; the service sends the brotli copy to a browser that accepts it; a first render moved ${fmt.n(median(measured.transferred) / 1024, 1)} KB over the wire, headers and config.json included):

${table(['File', 'raw', 'gzip', 'brotli'], sizeRows)}

Times from navigation start (performance.now() in the page), ms:

${table(['Page', 'median', 'p90', 'vs baseline'], renderRows)}

First render counts from the navigation's start to the first frame after the console's heading is in the DOM
(HTML, the script and the style sheet, \`config.json\`, Preact's first render). The first contentful paint is the
"Loading the admin console…" line of the HTML, drawn before the script runs.
`;
  await writeSection('console', markdown);
  log(
    `JavaScript ${jsGzipKB.toFixed(1)} KB gzip; first render ${firstRender.toFixed(0)} ms (baseline ${baseline.toFixed(0)} ms)`,
  );
});

const signed = (ms) => `${ms >= 0 ? '+' : '−'}${fmt.ms(Math.abs(ms))}`;

/**
 * Loads `url` in a fresh page with the HTTP cache off; resolves when `selector` is drawn. `signIn`: then signs in
 * with the local key and times the queue.
 */
async function load(context, url, selector, { signIn = false } = {}) {
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Network.setCacheDisabled', { cacheDisabled: true });
  let transferred = 0;
  const urls = new Map();
  cdp.on('Network.requestWillBeSent', (e) => urls.set(e.requestId, e.request.url));
  cdp.on('Network.loadingFinished', (e) => {
    transferred += e.encodedDataLength;
    if (process.env.BENCH_DEBUG) log(`${urls.get(e.requestId)} ${e.encodedDataLength}`);
  });
  await page.addInitScript({
    content: `new MutationObserver((_, observer) => {
      if (document.querySelector(${JSON.stringify(selector)})) {
        observer.disconnect();
        requestAnimationFrame(() => { window.__rendered = performance.now(); });
      }
    }).observe(document, { childList: true, subtree: true });`,
  });
  await page.goto(url, { waitUntil: 'load' });
  // Polled from here: waitForFunction would evaluate a string in the page, which the console's CSP forbids.
  let rendered;
  for (let i = 0; i < 1000 && rendered === undefined; i++) {
    rendered = await page.evaluate('window.__rendered');
    if (rendered === undefined) await sleep(5);
  }
  if (rendered === undefined) throw new Error(`${url}: ${selector} was never drawn`);
  const fcp = await page.evaluate("performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? NaN");
  const firstLoad = transferred;
  let signedIn = NaN;
  if (signIn) {
    await page.fill('#local-key', LOCAL_KEY);
    signedIn = await page.evaluate(`new Promise((resolve, reject) => {
      const t0 = performance.now();
      document.querySelector('.local-form button[type=submit]').click();
      const done = () => {
        const sections = document.querySelectorAll('main section.panel');
        const loading = document.querySelectorAll('main [role=status]').length;
        if (sections.length === 3 && !loading && document.querySelector('#queue-purchases .count')) {
          requestAnimationFrame(() => resolve(performance.now() - t0));
        } else if (performance.now() - t0 > 20000) {
          reject(new Error('the queue was not drawn within 20 s: ' + document.querySelector('main, #app')?.textContent.slice(0, 300)));
        } else setTimeout(done, 2);
      };
      done();
    })`);
    const rows = await page.locator('section[aria-labelledby=queue-purchases] tbody tr').count();
    if (rows === 0) throw new Error('the queue rendered no pending purchase');
  }
  await page.close();
  return { rendered, fcp, signedIn, transferred: firstLoad };
}

/** `pending` Marketplace purchases waiting for an admin, as the ledger stores them (docs/firestore.md). */
async function seedQueue(project, host, pending) {
  process.env.FIRESTORE_EMULATOR_HOST = host;
  const db = new Firestore({ projectId: project });
  const now = new Date();
  const batch = db.batch();
  for (let i = 0; i < pending; i++) {
    const externalId = `bench-${String(i).padStart(4, '0')}`;
    const created = new Date(now.getTime() - i * 3_600_000);
    batch.set(db.collection('entitlements').doc(`gcp:${externalId}`), {
      id: `gcp:${externalId}`,
      source: 'gcp',
      externalId,
      subject: { key: `gcp-account:acct-${i}`, accountId: `acct-${i}` },
      product: 'demo',
      plan: 'enterprise',
      providerProduct: 'demo-product.endpoints.demo-entitlements.cloud.goog',
      providerPlan: 'enterprise',
      pendingPlan: null,
      status: 'pending_approval',
      active: false,
      providerState: 'ENTITLEMENT_ACTIVATION_REQUESTED',
      validFrom: null,
      validUntil: null,
      periodEnd: null,
      sourceUpdatedAt: created,
      version: 1,
      createdAt: created,
      updatedAt: created,
      lastEvent: { key: `e-${i}`, type: 'ENTITLEMENT_CREATION_REQUESTED', at: created },
      details: { marketplace: { accountId: `acct-${i}`, approval: 'awaiting_admin' } },
      erasedAt: null,
    });
  }
  await batch.commit();
  await db.terminate();
  log(`seeded ${pending} pending purchases`);
}
