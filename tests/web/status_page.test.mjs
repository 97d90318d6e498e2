// Browser tests of the hubsync status page: the real `hubsync daemon` on a
// free loopback port, the real page in Debian's chromium driven by
// playwright-core, real replicas made with the sqlite3 tool and
// `hubsync init`, accessibility checked with axe-core injected into the
// page. Desktop 1280x900 and phone 390x844. Screenshots go to
// $HS_SCREENSHOTS (the build folder); HS_DOCS_SHOTS=DIR also writes the
// two of docs/ (status-page.png, status-page-phone.png) there.
//
// Each test names the defect of issue 12 it covers (D1..D11).
//
// Run by ctest (label "web"): HUBSYNC=path/to/hubsync node status_page.test.mjs
// Exits 77 (ctest: skipped) when chromium or playwright-core is missing;
// `make test` installs both (scripts/setup.sh).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const CHROMIUM = process.env.HS_CHROMIUM || '/usr/bin/chromium';
const HUBSYNC = process.env.HUBSYNC;
const SHOTS = process.env.HS_SCREENSHOTS || path.join(os.tmpdir(), 'hubsync-screenshots');

let chromium, AXE;
try {
  ({ chromium } = await import('playwright-core'));
  AXE = fs.readFileSync(new URL('./node_modules/axe-core/axe.min.js', import.meta.url), 'utf8');
} catch (e) {
  console.log('skip: playwright-core or axe-core is not installed (run: cd tests/web && npm ci)');
  process.exit(77);
}
if (!fs.existsSync(CHROMIUM)) {
  console.log('skip: ' + CHROMIUM + ' is missing (apt-get install chromium)');
  process.exit(77);
}
if (!HUBSYNC || !fs.existsSync(HUBSYNC)) {
  console.error('HUBSYNC must name the built hubsync binary');
  process.exit(1);
}

const CHROMIUM_ARGS = ['--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const WAIT = { timeout: 20000 };

let browser;
const daemons = new Set();
const dirs = [];

before(async () => {
  fs.mkdirSync(SHOTS, { recursive: true });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
});

after(async () => {
  for (const d of daemons) d.proc.kill('SIGTERM');
  if (browser) await browser.close();
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

// ---- the office: a master on a "share" and replicas ----

function sql(db, text) {
  execFileSync('sqlite3', ['-batch', '-bail', db, text]);
}

function hubsync(...args) {
  return execFileSync(HUBSYNC, args, { encoding: 'utf8' });
}

const QUOTES = `CREATE TABLE quotes (quoteId TEXT PRIMARY KEY, projectName TEXT,
      customer TEXT, created_at DATETIME DEFAULT CURRENT_TIMESTAMP,
      updated_at DATETIME DEFAULT CURRENT_TIMESTAMP);`;

function office(users, ddl = QUOTES) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hubsync-web-'));
  dirs.push(dir);
  fs.mkdirSync(path.join(dir, 'share'));
  const db = {};
  for (const u of users) {
    db[u] = path.join(dir, u + '.db');
    sql(db[u], ddl);
    hubsync('init', db[u], '--master', path.join(dir, 'share', 'server.db'), '--user', u);
  }
  return { dir, db, master: path.join(dir, 'share', 'server.db') };
}

// Take the master's lock as a live process of this host would (see
// src/lib/lock.c), so that a sync waits in its "lock" phase.
function holdLock(master) {
  fs.mkdirSync(master + '.lock');
  fs.writeFileSync(master + '.lock/owner', `${os.hostname()} ${process.pid} ${Date.now()}\n`);
}

function releaseLock(master) {
  fs.rmSync(master + '.lock', { recursive: true, force: true });
}

// ---- the daemon ----

async function startDaemon(db, ...args) {
  const portFile = db + '.port';
  fs.rmSync(portFile, { force: true });
  const proc = spawn(HUBSYNC, ['daemon', db, '--listen', '127.0.0.1:0', '--port-file', portFile,
    '--no-sync-at-start', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  const d = { proc, log: '' };
  proc.stderr.on('data', (b) => { d.log += b; });
  d.exited = new Promise((resolve) => proc.on('exit', (code) => resolve(code)));
  daemons.add(d);
  for (let i = 0; i < 200 && !fs.existsSync(portFile); i++) {
    if (proc.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.ok(fs.existsSync(portFile), 'the daemon did not start: ' + d.log);
  d.url = `http://127.0.0.1:${fs.readFileSync(portFile, 'utf8').trim()}/`;
  return d;
}

async function stopDaemon(d) {
  d.proc.kill('SIGTERM');
  const code = await d.exited;
  daemons.delete(d);
  assert.equal(code, 0, 'the daemon did not stop cleanly: ' + d.log);
}

const DESKTOP = { width: 1280, height: 900 };
const PHONE = { width: 390, height: 844 };

async function openPage(url, options = {}) {
  const context = await browser.newContext({ viewport: options.viewport || DESKTOP,
    ...(options.viewport === PHONE ? { isMobile: true, hasTouch: true, deviceScaleFactor: 2 } : {}) });
  const page = await context.newPage();
  const problems = [];
  page.on('pageerror', (e) => problems.push(e.message));
  page.on('console', (m) => { if (m.type() === 'error') problems.push(m.text()); });
  if (options.clock) {
    // A paused fake clock: page timers fire only when the test runs it, so
    // a slow machine cannot make the 30 s refresh come early.
    const now = Date.now();
    await page.clock.install({ time: now });
    await page.clock.pauseAt(now + 1000);
  }
  await page.goto(url);
  return { page, context, problems };
}

async function stateOf(page) {
  return page.locator('#indicator').getAttribute('data-state');
}

async function waitState(page, state) {
  await page.locator(`#indicator[data-state="${state}"]`).waitFor(WAIT);
}

async function shot(page, name) {
  await page.screenshot({ path: path.join(SHOTS, name + '.png'), fullPage: true });
}


async function apiGet(d, p) {
  const res = await fetch(d.url + p.replace(/^\//, ''));
  assert.equal(res.status, 200, p);
  return res.json();
}

// axe-core in the page: no serious or critical violation.
async function axe(page, where) {
  // evaluated through the debugger: the page's CSP (no inline script) stays on
  if (!(await page.evaluate(() => 'axe' in window))) await page.evaluate(AXE);
  const result = await page.evaluate(async () => {
    // eslint-disable-next-line no-undef
    const r = await axe.run(document, { resultTypes: ['violations'] });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.slice(0, 3).map((n) => n.target.join(' ')) }));
  });
  const bad = result.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  assert.deepEqual(bad, [], where + ': axe found ' + JSON.stringify(bad));
}

// Nothing wider than the screen (a phone scrolls only down).
async function noSideScroll(page, where) {
  const [sw, iw] = await page.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth]);
  assert.ok(sw <= iw, `${where}: the page is ${sw}px wide in a ${iw}px screen`);
}

// Two users' edits of the same rows: alice's daemon sees n conflicts
// (projectName of n rows) plus a price and a whole-row one.
function conflictOffice(n) {
  const o = office(['alice', 'bob'], `CREATE TABLE quotes (quoteId TEXT PRIMARY KEY,
    projectName TEXT, customer TEXT, price REAL, created_at DATETIME DEFAULT CURRENT_TIMESTAMP,
    updated_at DATETIME DEFAULT CURRENT_TIMESTAMP);
    CREATE TABLE customers (customerCode TEXT PRIMARY KEY, customerName TEXT);`);
  let rows = '';
  for (let i = 1; i <= n + 2; i++) rows += `${i > 1 ? ',' : ''}('CA2501150${String(i).padStart(2, '0')}', 'Line ${i}', '001', 10.5)`;
  sql(o.db.alice, `INSERT INTO quotes(quoteId, projectName, customer, price) VALUES ${rows};
    INSERT INTO customers(customerCode, customerName) VALUES ('001', 'Acme'), ('002', 'Globex');`);
  hubsync('sync', o.db.alice);
  hubsync('sync', o.db.bob);
  sql(o.db.bob, `UPDATE quotes SET projectName = projectName || ' (bob)';
    UPDATE quotes SET price = 33.239999999999995 WHERE quoteId = 'CA250115001';
    UPDATE customers SET customerName = 'Acme Ltd' WHERE customerCode = '001';`);
  sql(o.db.alice, `UPDATE quotes SET projectName = projectName || ' (alice)';
    UPDATE quotes SET price = 12.1 WHERE quoteId = 'CA250115001';
    DELETE FROM quotes WHERE quoteId = 'CA2501150${String(n + 2).padStart(2, '0')}';
    UPDATE customers SET customerName = 'Acme Inc' WHERE customerCode = '001';`);
  // the pulled quote n+2 was deleted by alice, edited by bob: whole row
  hubsync('sync', o.db.bob);
  hubsync('sync', o.db.alice);
  return o;
}

// ---- tests ----

test('D9, D10: a replica never synced; axe at both sizes; pending changes and tables shown', async () => {
  const o = office(['alice']);
  sql(o.db.alice, "INSERT INTO quotes(quoteId, projectName) VALUES ('Q1', 'Conveyor'), ('Q2', 'Palletizer');");
  const d = await startDaemon(o.db.alice);
  const { page, context, problems } = await openPage(d.url);
  await waitState(page, 'pending');
  assert.equal(await page.locator('#state-label').textContent(), '2 changes waiting');
  assert.match(await page.title(), /^2 changes waiting · hubsync$/);
  assert.match(await page.locator('#pending').textContent(), /2 changes made here/);
  assert.equal(await page.locator('#tables').textContent(), 'quotes');
  assert.equal(await page.locator('#last-sync').textContent(), 'never');
  assert.match(await page.locator('#next-sync').textContent(), /\(in 2 h\)/);
  assert.equal(await page.locator('#interval').inputValue(), '120');
  assert.ok(await page.locator('#no-history').isVisible());
  assert.equal(await page.locator('#conflict-count').textContent(), '0');
  assert.ok(await page.locator('#sync-now').isEnabled());
  assert.match(await page.locator('#who').textContent(), /alice/);
  const peers = await apiGet(d, '/api/sync/peers');
  assert.equal(peers.length, 1);
  assert.match(await page.locator('#peers li').first().textContent(), /alice.*this PC.*never synced/);
  // the pending changes are in Recent changes, marked
  await page.locator('#changes tbody tr.pending').first().waitFor(WAIT);
  assert.equal(await page.locator('#changes tbody tr.pending').count(), 2);
  assert.match(await page.locator('#changes tbody tr').first().textContent(), /waiting to be sent/);
  assert.match(await page.locator('#version').textContent(), /^hubsync \d+\.\d+\.\d+, running for/);
  // D9: no aria-live region rewritten with the whole card
  assert.equal(await page.locator('#status-card[aria-live]').count(), 0);
  await axe(page, 'desktop, never synced');
  await shot(page, 'never-synced');
  await page.setViewportSize(PHONE);
  await axe(page, 'phone, never synced');
  await noSideScroll(page, 'phone, never synced');
  assert.deepEqual(problems, []);
  await context.close();
  await stopDaemon(d);
});

test('D6, D7: Sync now shows its progress at once, then the history with seconds, trigger and a log-scale chart', async () => {
  const o = office(['alice']);
  sql(o.db.alice, "INSERT INTO quotes(quoteId, projectName) VALUES ('Q1', 'Conveyor'), ('Q2', 'Palletizer');");
  const d = await startDaemon(o.db.alice, '--lock-timeout', '30000');
  const { page, context, problems } = await openPage(d.url);
  await waitState(page, 'pending');

  holdLock(o.master);
  await page.click('#sync-now');
  // D6: never an empty progress line
  assert.notEqual((await page.locator('#progress-text').textContent()).trim(), '');
  await waitState(page, 'syncing');
  assert.ok(await page.locator('#sync-now').isDisabled(), 'Sync now stays enabled while syncing');
  await page.locator('#progress-text', { hasText: 'Waiting for the master' }).waitFor(WAIT);
  // D6: who holds the master, and how long hubsync will wait
  await page.locator('#progress-text', { hasText: `(process ${process.pid}) is syncing` }).waitFor(WAIT);
  assert.match(await page.locator('#progress-text').textContent(),
    new RegExp(`Waiting for the master: ${os.hostname()} \\(process ${process.pid}\\) is syncing; hubsync waits up to 30 s`));
  assert.equal(await page.locator('#next-sync').textContent(), 'running now');
  await shot(page, 'syncing');
  releaseLock(o.master);

  await waitState(page, 'ok');
  assert.equal(await page.title(), 'Up to date · hubsync');
  assert.match(await page.locator('#last-sync').textContent(), /^just now \(\d\d:\d\d:\d\d( [AP]M)?\)$/);
  // D7: one format for durations, "N.NN s"
  const msg = await page.locator('#notice').textContent();
  assert.match(msg, /Sync completed in \d+\.\d\d s: .*pushed 2/);
  assert.match(await page.locator('#last-stats').textContent(), /pushed 2 \(quotes 2\)/);
  assert.ok(await page.locator('#progress').isHidden());
  const row = page.locator('#history tbody tr').first();
  assert.equal(await page.locator('#history tbody tr').count(), 1);
  assert.equal(await row.locator('td.result').textContent(), 'success');
  assert.equal(await row.locator('td[data-label="Started by"]').textContent(), 'Sync now');
  assert.match(await row.locator('td.when').textContent(), /\d\d:\d\d:\d\d/);
  assert.match(await row.locator('td[data-label="Took"]').textContent(), /^\d+\.\d\d s$/);
  const hist = await apiGet(d, '/api/sync/history');
  assert.equal(hist[0].trigger, 'manual');
  assert.equal(await page.locator('#chart rect.bar-pushed').count(), 1);
  assert.ok(await page.locator('#chart text.axis').count() >= 2, 'the chart has an axis');
  assert.match(await page.locator('#chart svg').getAttribute('aria-label'), /Rows moved by the last 1 sync/);

  // D7: a big sync does not flatten a small one (log scale), values shown
  let many = '';
  for (let i = 0; i < 1277; i++) many += `${i ? ',' : ''}('B${i}', 'bulk')`;
  sql(o.db.alice, `INSERT INTO quotes(quoteId, projectName) VALUES ${many};`);
  await page.click('#sync-now');
  await page.locator('#history tbody tr').nth(1).waitFor(WAIT);
  sql(o.db.alice, "INSERT INTO quotes(quoteId, projectName) VALUES ('S1', 'small');");
  await page.click('#sync-now');
  await page.locator('#history tbody tr').nth(2).waitFor(WAIT);
  const heights = await page.locator('#chart rect.bar-pushed').evaluateAll((rs) => rs.map((r) => Number(r.getAttribute('height'))));
  assert.equal(heights.length, 3);
  assert.ok(Math.min(...heights) > Math.max(...heights) / 15, 'a 1-row push is visible next to a 1,277-row one: ' + heights);
  assert.ok((await page.locator('#chart text.value').allTextContents()).includes('1277'), 'values are written on the bars');
  const tip = await page.locator('#chart g.sync title').first().textContent();
  assert.doesNotMatch(tip, /Z:/, 'chart tooltips are local times, not UTC ISO');
  await axe(page, 'desktop, after syncs');
  assert.deepEqual(problems, []);
  await context.close();
  await stopDaemon(d);
});

test('D1, D4, D5, D9: conflicts grouped by row, filtered, collapsed, decided with undo; state, title and favicon', async () => {
  const o = conflictOffice(30);
  const d = await startDaemon(o.db.alice);
  const { page, context, problems } = await openPage(d.url);
  const api = await apiGet(d, '/api/sync/conflicts');
  const n = api.length;
  assert.ok(n >= 33, 'conflicts made: ' + n);
  // D1: the state says conflicts wait, everywhere
  await waitState(page, 'conflicts');
  assert.equal(await page.locator('#state-label').textContent(), n + ' conflicts need a decision');
  assert.equal(await page.title(), n + ' conflicts need a decision · hubsync');
  const icon = await page.locator('#favicon').getAttribute('href');
  assert.match(icon, /^data:image\/svg\+xml,/);
  assert.match(decodeURIComponent(icon), /#c05621/);
  // D5: grouped by row and collapsed: the page stays short
  const groups = page.locator('#conflicts details.group');
  const rowsWithConflicts = new Set(api.map((c) => c.table + JSON.stringify(c.pk))).size;
  assert.equal(await groups.count(), rowsWithConflicts);
  const height = (await page.locator('#conflicts-card').boundingBox()).height;
  assert.ok(height < 2000, 'the conflicts are ' + height + ' px high with ' + n + ' conflicts');
  // filters
  await page.selectOption('#cf-table', 'customers');
  assert.equal(await groups.count(), api.filter((c) => c.table === 'customers').length);
  await page.selectOption('#cf-table', '');
  await page.fill('#cf-key', 'CA250115001');
  assert.equal(await groups.count(), 1);
  const g1 = groups.first();
  await g1.locator('summary').click();
  // D5: numbers shown as people write them; the primary button keeps the value in use
  const priceItem = g1.locator('li.conflict', { hasText: 'price' });
  const priceText = await priceItem.textContent();
  assert.doesNotMatch(priceText, /33\.23999/);
  assert.match(priceText, /33\.24/);
  const price = api.find((c) => c.column === 'price');
  const primary = priceItem.locator('button.keep-winner');
  assert.equal(await primary.getAttribute('class'), 'keep-winner keep-' + price.winner);
  assert.match(await priceItem.locator('.value.winner').textContent(), /in use now/);
  // D9: each button is named with its conflict
  assert.match(await primary.getAttribute('aria-label'), /for quotes CA250115001 · price$/);
  const names = await page.locator('#conflicts button').evaluateAll((bs) => bs.map((b) => b.getAttribute('aria-label')));
  assert.equal(new Set(names).size, names.length, 'button names are unique');
  await page.fill('#cf-key', '');

  // the whole-row conflict marks what differs
  const whole = api.find((c) => c.column === null);
  assert.ok(whole, 'a whole-row conflict');
  await page.fill('#cf-key', whole.pk.quoteId);
  await groups.first().locator('summary').click();
  const wholeItem = groups.first().locator('li.conflict').first();
  assert.match(await wholeItem.textContent(), /\(row deleted\)/);
  assert.ok(await wholeItem.locator('dt.differs').count() >= 1);
  assert.match(await wholeItem.locator('dt.differs').first().textContent(), /\(differs\)/);
  await page.locator('#conflicts-card').screenshot({ path: path.join(SHOTS, 'conflict-row.png') });
  await page.fill('#cf-key', '');
  await axe(page, 'desktop, conflicts');
  await shot(page, 'conflicts');

  // D4: a decision gives feedback where the user is, focus stays, undo works
  await page.fill('#cf-key', 'CA250115002');
  await groups.first().locator('summary').click();
  const item = groups.first().locator('li.conflict').first();
  const id = Number(await item.getAttribute('data-id'));
  const loser = item.locator('button.keep-loser');
  await loser.focus();
  await page.keyboard.press('Enter');
  await page.locator('#undo-bar').waitFor({ state: 'visible', ...WAIT });
  assert.match(await page.locator('#undo-text').textContent(), /^Kept .* value for quotes CA250115002/);
  assert.notEqual(await page.evaluate(() => document.activeElement.tagName), 'BODY');
  assert.equal(await page.locator('#conflict-count').textContent(), String(n - 1));
  await page.click('#undo');
  assert.equal(await page.locator('#conflict-count').textContent(), String(n));
  assert.equal(await page.evaluate(() => document.activeElement.className), 'keep-winner keep-' + api.find((c) => c.id === id).winner);
  await new Promise((r) => setTimeout(r, 7000)); // past the undo time: nothing was sent
  assert.ok((await apiGet(d, '/api/sync/conflicts')).some((c) => c.id === id), 'undone decision was sent');
  // decide for real: sent after the undo time
  await page.locator(`li.conflict[data-id="${id}"] button.keep-loser`).click();
  await page.locator('#notice', { hasText: 'Everyone gets it with the next sync' }).waitFor(WAIT);
  assert.ok(!(await apiGet(d, '/api/sync/conflicts')).some((c) => c.id === id), 'the decision was sent');
  await page.fill('#cf-key', '');

  // D5: bulk keep the values in use for a filtered set
  await page.selectOption('#cf-table', 'customers');
  const bulk = page.locator('#cf-bulk');
  assert.match(await bulk.textContent(), /Keep the values in use \(\d+\)/);
  await bulk.click();
  await page.locator('#notice', { hasText: 'Kept the values in use' }).waitFor(WAIT).catch(async (e) => {
    throw new Error(e.message + '; error box: ' + await page.locator('#error-box').textContent() +
      '; notice: ' + await page.locator('#notice').textContent() + '; undo: ' + await page.locator('#undo-bar').isVisible() +
      '; api: ' + JSON.stringify((await apiGet(d, '/api/sync/conflicts')).filter((c) => c.table === 'customers')));
  });
  const left = await apiGet(d, '/api/sync/conflicts');
  assert.equal(left.filter((c) => c.table === 'customers').length, 0);
  assert.equal(left.length, n - 1 - api.filter((c) => c.table === 'customers').length);
  // D10: settled conflicts are listed
  assert.ok(await page.locator('#settled-list li').count() >= 2);
  await page.selectOption('#cf-table', '');
  await page.setViewportSize(PHONE);
  await axe(page, 'phone, conflicts');
  await noSideScroll(page, 'phone, conflicts');
  await shot(page, 'conflicts-phone');
  await page.locator('#conflicts-card').screenshot({ path: path.join(SHOTS, 'conflicts-card-phone.png') });
  assert.deepEqual(problems, []);
  await context.close();
  await stopDaemon(d);
});

test('the office\'s PCs and recent changes match the API, filters included', async () => {
  const o = office(['alice', 'bob', 'carol']);
  sql(o.db.bob, "INSERT INTO quotes(quoteId, projectName) VALUES ('Q1', 'Conveyor');");
  sql(o.db.carol, "INSERT INTO quotes(quoteId, projectName) VALUES ('Q2', 'Palletizer');");
  hubsync('sync', o.db.bob);
  hubsync('sync', o.db.carol);
  sql(o.db.alice, "INSERT INTO quotes(quoteId, projectName) VALUES ('Q3', 'Wrapper');");
  hubsync('sync', o.db.alice);
  sql(o.db.carol, "UPDATE quotes SET projectName = 'Palletizer 2' WHERE quoteId = 'Q2';");
  hubsync('sync', o.db.carol);
  hubsync('sync', o.db.alice);
  const d = await startDaemon(o.db.alice);
  const { page, context, problems } = await openPage(d.url);
  await waitState(page, 'ok');
  const peers = await apiGet(d, '/api/sync/peers');
  assert.equal(peers.length, 3);
  const items = page.locator('#peers li');
  await items.nth(2).waitFor(WAIT);
  for (let i = 0; i < peers.length; i++) {
    const t = await items.nth(i).textContent();
    assert.ok(t.startsWith(peers[i].user), t);
    assert.match(t, peers[i].behind ? /has changes to get/ : /up to date/);
    assert.ok(t.includes(peers[i].site.slice(0, 8)));
  }
  assert.match(await items.first().textContent(), /this PC/);
  assert.ok(peers.find((p) => p.user === 'bob').behind, 'bob has not seen carol\'s edit');

  const log = await apiGet(d, '/api/sync/log?limit=25');
  const rows = page.locator('#changes tbody tr');
  await rows.nth(log.length - 1).waitFor(WAIT);
  assert.equal(await rows.count(), log.length);
  assert.match(await rows.first().textContent(), new RegExp(log[0].user));
  const upd = rows.filter({ hasText: 'Palletizer 2' });
  assert.match(await upd.textContent(), /carol.*quotes · Q2.*changed: projectName: Palletizer → Palletizer 2/);
  await page.selectOption('#ch-user', 'carol');
  await page.locator('#changes tbody tr', { hasText: 'carol' }).first().waitFor(WAIT);
  const carols = (await apiGet(d, '/api/sync/log?user=carol&limit=25')).length;
  await page.waitForFunction((n) => document.querySelectorAll('#changes tbody tr').length === n, carols, WAIT);
  for (const t of await rows.allTextContents()) assert.match(t, /carol/);
  await page.selectOption('#ch-user', '');
  await page.fill('#ch-key', 'Q3');
  await page.click('#changes-form button[type=submit]');
  await page.waitForFunction(() => document.querySelectorAll('#changes tbody tr').length === 1, null, WAIT);
  assert.match(await rows.first().textContent(), /alice.*Q3/);
  await page.fill('#ch-key', '');
  await page.click('#changes-form button[type=submit]');
  await rows.nth(log.length - 1).waitFor(WAIT);
  await axe(page, 'desktop, peers and changes');
  await shot(page, 'office');
  process.env.HS_DOCS_SHOTS && await page.screenshot({ path: path.join(process.env.HS_DOCS_SHOTS, 'status-page.png'), fullPage: false });
  await page.setViewportSize(PHONE);
  await axe(page, 'phone, peers and changes');
  await noSideScroll(page, 'phone, peers and changes');
  process.env.HS_DOCS_SHOTS && await page.screenshot({ path: path.join(process.env.HS_DOCS_SHOTS, 'status-page-phone.png'), fullPage: false });
  assert.deepEqual(problems, []);
  await context.close();
  await stopDaemon(d);
});

test('D2, D8: an unreachable master: offline state and error alone; on a phone the reason is on screen', async () => {
  const o = office(['alice']);
  const d = await startDaemon(o.db.alice);
  const { page, context } = await openPage(d.url, { viewport: PHONE });
  await waitState(page, 'never');
  await page.click('#sync-now');
  await waitState(page, 'ok');
  assert.match(await page.locator('#notice').textContent(), /Sync completed/);
  fs.renameSync(path.join(o.dir, 'share'), path.join(o.dir, 'share.unmounted'));
  await page.click('#sync-now');
  await waitState(page, 'offline');
  assert.match(await page.locator('#state-label').textContent(), /^Offline since \d\d:\d\d/);
  assert.match(await page.title(), /^Offline since/);
  const box = page.locator('#error-box');
  assert.ok(await box.isVisible());
  const msg = await box.textContent();
  assert.match(msg, /cannot be reached since/);
  assert.match(msg, /is not there: is the share mounted\?/);
  // D2: the old success message is gone
  assert.ok(await page.locator('#notice').isHidden(), 'an old "Sync completed" stays beside the error');
  // D8: the failure reason is on screen, nothing scrolls sideways
  const reason = page.locator('#history tbody tr').first().locator('td.message');
  assert.match(await reason.textContent(), /is not there/);
  const rb = await reason.boundingBox();
  assert.ok(rb.x >= 0 && rb.x + rb.width <= PHONE.width, 'the reason is off-screen: ' + JSON.stringify(rb));
  await noSideScroll(page, 'phone, offline');
  // paths break between folders, not inside a name
  assert.ok(await page.locator('#master wbr').count() >= 2);
  assert.equal(await page.locator('#history tbody tr td.result').first().textContent(), 'error');
  assert.equal(await page.locator('#chart rect.bar-failed').count(), 1);
  await axe(page, 'phone, offline');
  await shot(page, 'offline-phone');

  fs.renameSync(path.join(o.dir, 'share.unmounted'), path.join(o.dir, 'share'));
  await page.click('#sync-now');
  await waitState(page, 'ok');
  assert.ok(await box.isHidden());
  await context.close();
  await stopDaemon(d);
});

test('D2, pause: the schedule and pause from the page; messages do not outlive the input', async () => {
  const o = office(['alice']);
  const d = await startDaemon(o.db.alice);
  const { page, context, problems } = await openPage(d.url);
  await waitState(page, 'never');
  await page.fill('#interval', '15');
  await page.click('#schedule-save');
  await page.locator('#schedule-msg', { hasText: 'Saved: every 15 minutes.' }).waitFor(WAIT);
  assert.equal(JSON.parse(hubsync('status', o.db.alice, '--json')).intervalMinutes, 15);
  await page.locator('#next-sync', { hasText: '(in 15 min)' }).waitFor(WAIT);
  // D2: a new value wipes the old "Saved"; an invalid one says why
  await page.fill('#interval', '99999');
  assert.equal(await page.locator('#schedule-msg').textContent(), '');
  await page.evaluate(() => document.getElementById('schedule-form').requestSubmit = null);
  await page.locator('#interval').evaluate((e) => e.removeAttribute('max'));
  await page.click('#schedule-save');
  await page.locator('#schedule-msg', { hasText: 'intervalMinutes must be' }).waitFor(WAIT);
  assert.doesNotMatch(await page.locator('#schedule-msg').textContent(), /Saved/);
  assert.equal(JSON.parse(hubsync('status', o.db.alice, '--json')).intervalMinutes, 15);
  await page.fill('#interval', '0');
  await page.click('#schedule-save');
  await page.locator('#schedule-msg', { hasText: 'scheduled sync is off' }).waitFor(WAIT);
  await page.locator('#next-sync', { hasText: 'off' }).waitFor(WAIT);
  await page.fill('#interval', '30');
  await page.click('#schedule-save');
  await page.locator('#schedule-msg', { hasText: 'every 30 minutes' }).waitFor(WAIT);
  // pause and resume
  await page.click('#pause');
  await page.locator('#next-sync', { hasText: 'paused' }).waitFor(WAIT);
  assert.equal(await page.locator('#pause').textContent(), 'Resume scheduled sync');
  assert.equal(await page.locator('#pause').getAttribute('aria-pressed'), 'true');
  assert.equal((await apiGet(d, '/api/sync/status')).paused, true);
  await page.click('#pause');
  await page.locator('#next-sync', { hasText: '(in 30 min)' }).waitFor(WAIT);
  assert.equal((await apiGet(d, '/api/sync/status')).paused, false);
  assert.deepEqual(problems.filter((p) => !/status of 400/.test(p)), []);
  await context.close();
  await stopDaemon(d);
});

test('D3: the daemon stops and comes back; an old error is shown with its time', async () => {
  const o = conflictOffice(2);
  let d = await startDaemon(o.db.alice);
  const { page, context } = await openPage(d.url, { clock: true });
  await waitState(page, 'conflicts');
  await page.locator('#conflicts details.group summary').first().click();
  const port = new URL(d.url).port;
  await stopDaemon(d);
  await page.clock.runFor(31000);
  await waitState(page, 'unreachable');
  assert.match(await page.locator('#state-label').textContent(), /^No answer from hubsync since/);
  assert.match(await page.title(), /^No answer/);
  assert.match(await page.locator('#next-sync').textContent(), /unknown/);
  assert.ok(await page.locator('#sync-now').isDisabled());
  for (const b of await page.locator('#conflicts button').all()) assert.ok(await b.isDisabled(), 'conflict buttons stay clickable');
  await shot(page, 'daemon-down');
  // back, on the same port, with the master missing: a failed start sync
  fs.renameSync(path.join(o.dir, 'share'), path.join(o.dir, 'share.unmounted'));
  hubsync('schedule', o.db.alice, '30');
  try { hubsync('sync', o.db.alice); } catch (e) { /* fails: offline */ }
  d = await startDaemon(o.db.alice, '--listen', '127.0.0.1:' + port);
  d.url = `http://127.0.0.1:${port}/`;
  await page.clock.runFor(31000);
  await waitState(page, 'error');
  const text = await page.locator('#error-text').textContent();
  assert.match(text, /^The last sync failed at \d\d:\d\d:\d\d/);
  assert.match(text, /is not there/);
  assert.ok(await page.locator('#sync-now').isEnabled());
  assert.ok(await page.locator('#conflicts button').first().isEnabled());
  fs.renameSync(path.join(o.dir, 'share.unmounted'), path.join(o.dir, 'share'));
  await page.click('#sync-now');
  await waitState(page, 'conflicts');
  assert.ok(await page.locator('#error-box').isHidden());
  await context.close();
  await stopDaemon(d);
});

test('the page refreshes by itself every 30 seconds', async () => {
  const o = office(['alice']);
  const d = await startDaemon(o.db.alice);
  const { page, context } = await openPage(d.url, { clock: true });
  await waitState(page, 'never');
  hubsync('sync', o.db.alice); // a sync the page did not start
  await page.clock.runFor(29000);
  assert.equal(await stateOf(page), 'never');
  await page.clock.runFor(2000);
  await waitState(page, 'ok');
  assert.equal(await page.locator('#history tbody tr').count(), 1);
  assert.equal(await page.locator('#history tbody tr td[data-label="Started by"]').textContent(), 'command line');
  await context.close();
  await stopDaemon(d);
});

test('with --token the page uses the token from its address', async () => {
  const o = office(['alice']);
  const token = 'web-test-token-0123456789';
  const d = await startDaemon(o.db.alice, '--token', token);
  let { page, context } = await openPage(d.url);
  await page.locator('#error-text', { hasText: 'missing or wrong token' }).waitFor(WAIT);
  await context.close();
  ({ page, context } = await openPage(d.url + '#token=' + token));
  await waitState(page, 'never');
  assert.equal(new URL(page.url()).hash, '', 'the token stays in the address bar');
  await page.click('#sync-now');
  await waitState(page, 'ok');
  await context.close();
  await stopDaemon(d);
});

// ---- a server master (hubsync serve) ----

async function startServer(store, port = 0) {
  const portFile = path.join(store + '.port');
  fs.rmSync(portFile, { force: true });
  const proc = spawn(HUBSYNC, ['serve', store, '--listen', '127.0.0.1:' + port, '--port-file', portFile,
    '--quiet'], { stdio: ['ignore', 'ignore', 'pipe'] });
  const s = { proc, log: '' };
  proc.stderr.on('data', (b) => { s.log += b; });
  s.exited = new Promise((resolve) => proc.on('exit', (code) => resolve(code)));
  daemons.add(s); // stopped at the end whatever happens
  for (let i = 0; i < 200 && !fs.existsSync(portFile); i++) {
    if (proc.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.ok(fs.existsSync(portFile), 'hubsync serve did not start: ' + s.log);
  s.port = fs.readFileSync(portFile, 'utf8').trim();
  s.url = 'http://127.0.0.1:' + s.port;
  return s;
}

// a server stops like a daemon: SIGTERM, exit 0
const stopServer = stopDaemon;

test('a server master: the real-time link, last sent and received, reconnecting', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hubsync-web-'));
  dirs.push(dir);
  const store = path.join(dir, 'store');
  const token = { alice: hubsync('user', 'add', store, 'alice').trim(), bob: hubsync('user', 'add', store, 'bob').trim() };
  let server = await startServer(store);
  const db = {};
  for (const u of ['alice', 'bob']) {
    db[u] = path.join(dir, u + '.db');
    sql(db[u], QUOTES);
    hubsync('init', db[u], '--master', server.url, '--token', token[u]);
  }
  const d = await startDaemon(db.alice);
  const { page, context, problems } = await openPage(d.url);
  await waitState(page, 'never');
  assert.match(await page.locator('#master').textContent(), /127\.0\.0\.1.*\(sync server\)/);
  await page.locator('#realtime[data-state="connected"]').waitFor(WAIT);
  assert.match(await page.locator('#realtime').textContent(), /^live/);
  assert.match(await page.locator('#push-pull').textContent(), /sent not yet, received not yet/);
  // bob's change reaches alice's database by itself (the server wakes her daemon)
  sql(db.bob, "INSERT INTO quotes(quoteId, projectName) VALUES ('CA250115001', 'Bench')");
  hubsync('sync', db.bob);
  for (let i = 0; i < 100; i++) {
    if (execFileSync('sqlite3', ['-cmd', '.timeout 5000', db.alice, "SELECT count(*) FROM quotes"], { encoding: 'utf8' }).trim() === '1') break;
    await new Promise((r) => setTimeout(r, 200));
  }
  await page.reload();
  await waitState(page, 'ok');
  assert.match(await page.locator('#push-pull').textContent(), /sent not yet, received (?!not yet)/);
  assert.equal(await page.locator('#history tbody tr td[data-label="Started by"]').first().textContent(), 'the server');
  await axe(page, 'server master');
  await shot(page, 'server-master');
  // the server goes away: the link says so, with the reason
  await stopServer(server);
  for (let i = 0; i < 100; i++) {
    if ((await apiGet(d, '/api/sync/status')).realtime.state === 'reconnecting') break;
    await new Promise((r) => setTimeout(r, 200));
  }
  await page.reload();
  await page.locator('#realtime[data-state="reconnecting"]').waitFor(WAIT);
  assert.match(await page.locator('#realtime').textContent(), /^reconnecting since .+: cannot reach the sync server/);
  await shot(page, 'server-master-reconnecting');
  server = await startServer(store, server.port);
  await context.close();
  await stopDaemon(d);
  await stopServer(server);
  assert.deepEqual(problems, []);
});

test('a file master: no real-time rows', async () => {
  const o = office(['alice']);
  const d = await startDaemon(o.db.alice);
  const { page, context } = await openPage(d.url);
  await waitState(page, 'never');
  assert.ok(await page.locator('#realtime').isHidden());
  assert.ok(await page.locator('#push-pull').isHidden());
  assert.doesNotMatch(await page.locator('#master').textContent(), /sync server/);
  await context.close();
  await stopDaemon(d);
});
