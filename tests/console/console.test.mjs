// End-to-end test of the operator console in Debian's Chromium, driven by playwright-core.
//
// Run by tests/api/console.rs, which starts `snapqris serve --console-listen`, registers a
// partner, a merchant, QRs and an operator, and passes what the API said about them in the
// file named by EXPECTED. This script compares every page with what the CLI prints (it runs the
// same binary on the same database), performs each action and checks its audit entry, and
// checks the CSRF refusal, the session cookie, logout and the wrong-password lock. JavaScript
// is off in the browser: the console must work without it.
//
// Environment: CONSOLE_URL, SNAPQRIS_BIN, SNAPQRIS_DATABASE, OPERATOR, PASSWORD, EXPECTED,
// SCREENSHOTS (a directory), CHROMIUM (default /usr/bin/chromium).

import { chromium } from 'playwright-core';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import assert from 'node:assert/strict';

const env = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
};
const base = env('CONSOLE_URL');
const expected = JSON.parse(readFileSync(env('EXPECTED'), 'utf8'));
const shots = env('SCREENSHOTS');
mkdirSync(shots, { recursive: true });

/** `snapqris --database … ARGS`, its stdout. */
const cli = (...args) =>
  execFileSync(env('SNAPQRIS_BIN'), ['--database', env('SNAPQRIS_DATABASE'), ...args], {
    encoding: 'utf8',
  });

/** A tab-separated CLI table as objects keyed by its header row. */
const table = (text) => {
  const [header, ...rows] = text.trimEnd().split('\n');
  const names = header.split('\t');
  return rows.map((row) => Object.fromEntries(row.split('\t').map((v, i) => [names[i], v])));
};

const auditList = () => table(cli('admin', 'audit', 'list'));
/** Asserts the newest audit entry is `action` on `target` by the operator (CLI and page). */
const assertAudited = async (page, action, target, detail) => {
  const [newest] = auditList();
  assert.equal(newest.operator, env('OPERATOR'));
  assert.equal(newest.action, action);
  assert.equal(newest.target, target);
  if (detail !== undefined) assert.equal(newest.detail, detail);
  await page.goto(`${base}/audit`);
  const first = page.locator('#audit tbody tr').first();
  assert.equal((await first.locator('td.action').textContent()).trim(), action);
  assert.equal((await first.locator('td.target').textContent()).trim(), target);
  assert.equal((await first.locator('td').first().textContent()).trim(), newest.id);
};

const shot = (page, name) => page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });

const step = async (name, body) => {
  process.stdout.write(`console: ${name} … `);
  await body();
  process.stdout.write('ok\n');
};

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox'],
});
try {
  const context = await browser.newContext({
    javaScriptEnabled: false,
    viewport: { width: 1360, height: 900 },
  });
  const page = await context.newPage();
  // Nothing may be fetched from anywhere but the console itself.
  const foreign = [];
  page.on('request', (request) => {
    if (!request.url().startsWith(base)) foreign.push(request.url());
  });

  const login = async (name, password) => {
    await page.goto(`${base}/login`);
    await page.fill('#name', name);
    await page.fill('#password', password);
    return Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]).then(
      ([response]) => response,
    );
  };

  await step('a page without a session leads to the login page', async () => {
    const response = await page.goto(`${base}/partners`);
    assert.equal(new URL(page.url()).pathname, '/login');
    assert.equal(response.status(), 200);
    await shot(page, 'login');
  });

  await step('a wrong password is refused', async () => {
    const response = await login(env('OPERATOR'), 'not the password');
    assert.equal(response.status(), 401);
    assert.match(await page.textContent('.error'), /Wrong name or password/);
    assert.equal((await context.cookies()).length, 0);
  });

  await step('the right password logs in with a strict session cookie', async () => {
    await login(env('OPERATOR'), env('PASSWORD'));
    assert.equal(new URL(page.url()).pathname, '/');
    const cookies = await context.cookies();
    assert.equal(cookies.length, 1);
    const [cookie] = cookies;
    assert.equal(cookie.httpOnly, true);
    assert.equal(cookie.sameSite, 'Strict');
    assert.equal(cookie.path, '/');
    const [entry] = auditList();
    assert.equal(entry.action, 'login');
  });

  await step('the overview charts this node’s requests', async () => {
    await page.goto(`${base}/`);
    const total = Number(await page.textContent('#requests-hour'));
    assert.ok(total >= expected.api_requests, `${total} < ${expected.api_requests}`);
    assert.ok(Number(await page.textContent('[data-class="2xx"]')) >= 1);
    assert.match(await page.textContent('#p50'), /ms$/);
    assert.ok((await page.locator('figure svg').count()) >= 3);
    await shot(page, 'overview');
  });

  const partnerRow = () => page.locator(`#partners tr[data-client-id="${expected.partner}"]`);

  await step('the partners page shows what admin partner list says, and no secret', async () => {
    await page.goto(`${base}/partners`);
    const listed = table(cli('admin', 'partner', 'list'));
    assert.equal(await page.locator('#partners tbody tr').count(), listed.length);
    for (const p of listed) {
      const row = page.locator(`#partners tr[data-client-id="${p.client_id}"]`);
      const cells = (await row.locator('td').allTextContents()).map((t) => t.trim());
      assert.equal(cells[0], p.client_id);
      assert.equal(cells[1], p.signature);
      assert.equal(cells[2], p.services);
      assert.equal(cells[3], p.enabled === 'true' ? 'yes' : 'no');
      assert.equal(cells[4], p.callback_url || '—');
    }
    const html = await page.content();
    assert.ok(!html.includes(expected.secret), 'the client secret is on the page');
    assert.ok(!html.includes('BEGIN PUBLIC KEY') && !html.includes('PRIVATE KEY'));
    await shot(page, 'partners');
  });

  await step('disable and enable a partner, each audited', async () => {
    await page.goto(`${base}/partners`);
    await Promise.all([page.waitForNavigation(), partnerRow().locator('button').click()]);
    assert.equal((await partnerRow().locator('td.enabled').textContent()).trim(), 'no');
    const disabled = table(cli('admin', 'partner', 'list')).find((p) => p.client_id === expected.partner);
    assert.equal(disabled.enabled, 'false');
    await assertAudited(page, 'partner.disable', expected.partner);
    await page.goto(`${base}/partners`);
    await Promise.all([page.waitForNavigation(), partnerRow().locator('button').click()]);
    assert.equal((await partnerRow().locator('td.enabled').textContent()).trim(), 'yes');
    await assertAudited(page, 'partner.enable', expected.partner);
  });

  await step('a form without this session’s CSRF token is refused and changes nothing', async () => {
    const before = auditList().length;
    for (const form of [{}, { csrf: 'forged' }]) {
      const response = await page.request.post(`${base}/partners/${expected.partner}/disable`, {
        form,
        maxRedirects: 0,
      });
      assert.equal(response.status(), 403);
      assert.match(await response.text(), /CSRF/);
    }
    const partner = table(cli('admin', 'partner', 'list')).find((p) => p.client_id === expected.partner);
    assert.equal(partner.enabled, 'true');
    assert.equal(auditList().length, before);
    await page.goto(`${base}/partners`);
  });

  const merchantRow = () => page.locator(`#merchants tr[data-merchant-id="${expected.merchant}"]`);

  await step('the merchants page shows what admin merchant list says', async () => {
    await page.goto(`${base}/merchants?partner=${expected.partner}`);
    const listed = table(cli('admin', 'merchant', 'list', '--client-id', expected.partner));
    assert.equal(await page.locator('#merchants tbody tr').count(), listed.length);
    for (const m of listed) {
      const cells = (
        await page.locator(`#merchants tr[data-merchant-id="${m.merchant_id}"] td`).allTextContents()
      ).map((t) => t.trim());
      assert.deepEqual(cells.slice(0, 4), [m.merchant_id, m.client_id, m.name, m.city]);
      assert.equal(cells[4], m.blacklisted === 'no' ? 'no' : cells[4]);
    }
    await shot(page, 'merchants');
  });

  await step('blacklist with a reason and unblacklist a merchant, each audited', async () => {
    await page.goto(`${base}/merchants`);
    await merchantRow().locator('input[name=reason]').fill('chargebacks under review');
    await Promise.all([page.waitForNavigation(), merchantRow().locator('button').click()]);
    assert.match(await merchantRow().locator('td.blacklisted').textContent(), /chargebacks under review/);
    const listed = table(cli('admin', 'merchant', 'list'));
    assert.match(listed.find((m) => m.merchant_id === expected.merchant).blacklisted, /chargebacks under review/);
    await assertAudited(page, 'merchant.blacklist', expected.merchant, 'chargebacks under review');
    await shot(page, 'audit');
    await page.goto(`${base}/merchants`);
    await Promise.all([page.waitForNavigation(), merchantRow().locator('button').click()]);
    assert.equal((await merchantRow().locator('td.blacklisted').textContent()).trim(), 'no');
    assert.equal(table(cli('admin', 'merchant', 'list')).find((m) => m.merchant_id === expected.merchant).blacklisted, 'no');
    await assertAudited(page, 'merchant.unblacklist', expected.merchant, '');
  });

  await step('the merchant day lists what service 90 lists, with service 51’s statuses', async () => {
    await page.goto(`${base}/merchants`);
    await Promise.all([page.waitForNavigation(), merchantRow().locator('a').click()]);
    const rows = page.locator('#qrs tbody tr');
    const ids = await rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-id-qr')));
    assert.deepEqual(ids, expected.qrs.map((qr) => qr.id_qr));
    for (const qr of expected.qrs) {
      const row = page.locator(`#qrs tr[data-id-qr="${qr.id_qr}"]`);
      const status = (await row.locator('td.status').textContent()).trim();
      assert.ok(status.startsWith(qr.status), `${qr.id_qr}: ${status} is not ${qr.status}`);
      assert.equal((await row.locator('td.payments').textContent()).trim(), String(qr.payments));
      // The image loaded (lazy images in view load without script).
      await row.locator('img.qr').scrollIntoViewIfNeeded();
    }
    await page.locator('#qrs').scrollIntoViewIfNeeded();
    await shot(page, 'merchant-day');
  });

  await step('a QR image decodes back to its payload (zbarimg)', async () => {
    for (const qr of expected.qrs) {
      const url = `${base}/merchants/${expected.merchant}/qr/${qr.id_qr}`;
      const svg = await page.request.get(url);
      assert.equal(svg.status(), 200);
      assert.equal(svg.headers()['content-type'], 'image/svg+xml');
      const png = await page.request.get(`${url}?format=png`);
      assert.equal(png.headers()['content-type'], 'image/png');
      const file = join(shots, `qr-${qr.id_qr}.png`);
      writeFileSync(file, await png.body());
      const decoded = execFileSync('zbarimg', ['--raw', '-q', file], { encoding: 'utf8' });
      assert.equal(decoded.trimEnd(), qr.payload);
    }
  });

  await step('the notifications page shows what admin notify list says', async () => {
    await page.goto(`${base}/notifications`);
    const listed = table(cli('admin', 'notify', 'list'));
    assert.ok(listed.length >= 1, 'the payment made a notification');
    for (const n of listed) {
      const row = page.locator(`tr[data-notification-id="${n.notification_id}"]`);
      assert.equal(await row.count(), 1, `notification ${n.notification_id} is listed once`);
      assert.equal((await row.locator('td.status').textContent()).trim(), n.status);
      assert.equal((await row.locator('td.attempts').textContent()).trim(), n.attempts);
    }
    await shot(page, 'notifications');
    const [first] = listed;
    await Promise.all([
      page.waitForNavigation(),
      page.locator(`tr[data-notification-id="${first.notification_id}"] a`).click(),
    ]);
    const shown = cli('admin', 'notify', 'show', first.notification_id);
    const body = shown.split('\n').find((line) => line.startsWith('body: ')).slice('body: '.length);
    assert.equal((await page.textContent('#body')).trim(), body);
    await shot(page, 'notification');
  });

  await step('logout ends the session in the store too', async () => {
    const [cookie] = await context.cookies();
    await page.goto(`${base}/partners`);
    await Promise.all([page.waitForNavigation(), page.click('form.logout button')]);
    assert.equal(new URL(page.url()).pathname, '/login');
    assert.equal(auditList()[0].action, 'logout');
    // The old cookie, sent again, is no longer a session.
    const replay = await browser.newContext({ javaScriptEnabled: false });
    await replay.addCookies([cookie]);
    const again = await replay.newPage();
    await again.goto(`${base}/partners`);
    assert.equal(new URL(again.url()).pathname, '/login');
    await replay.close();
  });

  await step('five wrong passwords lock the name, the right one included', async () => {
    // The wrong try made above was forgotten when the right password came.
    for (let i = 0; i < 5; i += 1) {
      const response = await login(env('OPERATOR'), `wrong ${i}`);
      assert.equal(response.status(), 401);
    }
    const locked = await login(env('OPERATOR'), env('PASSWORD'));
    assert.equal(locked.status(), 429);
    assert.match(await page.textContent('.error'), /locked/);
    assert.equal((await context.cookies()).length, 0);
  });

  assert.deepEqual(foreign, [], 'requests left the console');
  await context.close();
  console.log('console: all browser checks passed');
} finally {
  await browser.close();
}
