// Browser tests of the hubsync status page: the real `hubsync daemon` on a
// free loopback port, the real page in Debian's chromium driven by
// playwright-core, real replicas made with the sqlite3 tool and
// `hubsync init`. Screenshots go to $HS_SCREENSHOTS (the build folder).
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

let chromium;
try {
  ({ chromium } = await import('playwright-core'));
} catch (e) {
  console.log('skip: playwright-core is not installed (run: cd tests/web && npm ci)');
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

function office(users) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hubsync-web-'));
  dirs.push(dir);
  fs.mkdirSync(path.join(dir, 'share'));
  const db = {};
  for (const u of users) {
    db[u] = path.join(dir, u + '.db');
    sql(db[u], `CREATE TABLE quotes (quoteId TEXT PRIMARY KEY, projectName TEXT,
      customer TEXT, created_at DATETIME DEFAULT CURRENT_TIMESTAMP,
      updated_at DATETIME DEFAULT CURRENT_TIMESTAMP);`);
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

async function openPage(url, options = {}) {
  const context = await browser.newContext({ viewport: { width: 1100, height: 800 } });
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

// ---- tests ----

test('the page shows the status of a replica never synced', async () => {
  const o = office(['alice']);
  const d = await startDaemon(o.db.alice);
  const { page, context, problems } = await openPage(d.url);
  await waitState(page, 'never');
  assert.equal(await page.locator('#state-label').textContent(), 'Never synced');
  assert.equal(await page.locator('#last-sync').textContent(), 'never');
  assert.match(await page.locator('#next-sync').textContent(), /\(in 2h\)/);
  assert.equal(await page.locator('#interval').inputValue(), '120');
  assert.ok(await page.locator('#no-history').isVisible());
  assert.equal(await page.locator('#conflict-count').textContent(), '0');
  assert.ok(await page.locator('#sync-now').isEnabled());
  assert.match(await page.locator('#who').textContent(), /alice/);
  await shot(page, 'never-synced');
  assert.deepEqual(problems, []);
  await context.close();
  await stopDaemon(d);
});

test('Sync now runs a sync, shows its progress, and the page updates', async () => {
  const o = office(['alice']);
  sql(o.db.alice, "INSERT INTO quotes(quoteId, projectName) VALUES ('Q1', 'Conveyor'), ('Q2', 'Palletizer');");
  const d = await startDaemon(o.db.alice, '--lock-timeout', '30000');
  const { page, context, problems } = await openPage(d.url);
  await waitState(page, 'never');

  holdLock(o.master);
  await page.click('#sync-now');
  await waitState(page, 'syncing');
  assert.ok(await page.locator('#sync-now').isDisabled(), 'Sync now stays enabled while syncing');
  await page.locator('#progress-text', { hasText: 'Waiting for the master' }).waitFor(WAIT);
  assert.ok(await page.locator('#progress').isVisible());
  await shot(page, 'syncing');
  releaseLock(o.master);

  await waitState(page, 'ok');
  assert.equal(await page.locator('#state-label').textContent(), 'Up to date');
  assert.equal(await page.locator('#last-sync').textContent(), 'just now');
  assert.match(await page.locator('#notice').textContent(), /Sync completed in .*pushed 2/);
  assert.match(await page.locator('#last-stats').textContent(), /pushed 2 \(quotes 2\)/);
  assert.ok(await page.locator('#sync-now').isEnabled());
  assert.ok(await page.locator('#progress').isHidden());
  assert.equal(await page.locator('#history tbody tr').count(), 1);
  assert.equal(await page.locator('#history tbody tr td.result').textContent(), 'success');
  assert.equal(await page.locator('#chart rect.bar-pushed').count(), 1);
  assert.equal(fs.existsSync(o.master), true);
  assert.equal(execFileSync('sqlite3', [o.master, 'SELECT count(*) FROM quotes'], { encoding: 'utf8' }).trim(), '2');
  assert.deepEqual(problems, []);
  await context.close();
  await stopDaemon(d);
});

test('conflicts are shown with both values and resolved from the page', async () => {
  const o = office(['alice', 'bob']);
  sql(o.db.alice, `INSERT INTO quotes(quoteId, projectName, customer) VALUES
    ('CA250115001', 'Conveyor line', '001'), ('CA250115002', 'Palletizer', '002');`);
  hubsync('sync', o.db.alice);
  hubsync('sync', o.db.bob);
  // the same value edited by both; a row deleted by alice, edited by bob
  sql(o.db.alice, "UPDATE quotes SET projectName = 'Conveyor line (alice)' WHERE quoteId = 'CA250115001';");
  sql(o.db.alice, "DELETE FROM quotes WHERE quoteId = 'CA250115002';");
  sql(o.db.bob, "UPDATE quotes SET projectName = 'Conveyor line (bob)' WHERE quoteId = 'CA250115001';");
  sql(o.db.bob, "UPDATE quotes SET customer = '003' WHERE quoteId = 'CA250115002';");
  hubsync('sync', o.db.bob);

  const d = await startDaemon(o.db.alice);
  const { page, context, problems } = await openPage(d.url);
  await waitState(page, 'ok');
  await page.click('#sync-now');
  const items = page.locator('#conflicts li.conflict');
  await items.nth(1).waitFor(WAIT);
  assert.equal(await items.count(), 2);
  assert.equal(await page.locator('#conflict-count').textContent(), '2');
  const item = items.filter({ hasText: 'CA250115001' });
  const text = await item.textContent();
  assert.match(text, /quotes quoteId=CA250115001 · projectName/);
  assert.match(text, /Conveyor line \(alice\)/);
  assert.match(text, /Conveyor line \(bob\)/);
  assert.match(await item.locator('.value.winner').textContent(), /in use now/);
  const row = items.filter({ hasText: 'CA250115002' });
  const rowText = await row.textContent();
  assert.match(rowText, /quotes quoteId=CA250115002 \(whole row\)/);
  assert.match(rowText, /\(row deleted\)/);
  assert.match(rowText, /customer: 003/);
  await shot(page, 'conflict');

  await item.locator('button.keep-local').click();
  await page.locator('#conflict-count', { hasText: '1' }).waitFor(WAIT);
  assert.match(await page.locator('#notice').textContent(), /Kept your value for quotes quoteId=CA250115001/);
  // bob's edit of the row alice deleted comes back
  await row.locator('button.keep-remote').click();
  await page.locator('#no-conflicts').waitFor({ state: 'visible', ...WAIT });
  assert.equal(await page.locator('#conflicts li').count(), 0);
  const back = execFileSync('sqlite3', [o.db.alice,
    "SELECT customer FROM quotes WHERE quoteId = 'CA250115002'"], { encoding: 'utf8' }).trim();
  assert.equal(back, '003');
  const value = execFileSync('sqlite3', [o.db.alice,
    "SELECT projectName FROM quotes WHERE quoteId = 'CA250115001'"], { encoding: 'utf8' }).trim();
  assert.equal(value, 'Conveyor line (alice)');
  // The resolution travels with the next sync, started from the page.
  await page.click('#sync-now');
  await page.locator('#history tbody tr').nth(2).waitFor(WAIT);
  await waitState(page, 'ok');
  hubsync('sync', o.db.bob);
  const atBob = execFileSync('sqlite3', [o.db.bob,
    "SELECT projectName FROM quotes WHERE quoteId = 'CA250115001'"], { encoding: 'utf8' }).trim();
  assert.equal(atBob, 'Conveyor line (alice)');
  await shot(page, 'status-page');
  assert.deepEqual(problems, []);
  await context.close();
  await stopDaemon(d);
});

test('an unreachable master shows the error and offline state', async () => {
  const o = office(['alice']);
  const d = await startDaemon(o.db.alice);
  const { page, context } = await openPage(d.url);
  await waitState(page, 'never');
  fs.renameSync(path.join(o.dir, 'share'), path.join(o.dir, 'share.unmounted'));
  await page.click('#sync-now');
  await waitState(page, 'offline');
  assert.equal(await page.locator('#state-label').textContent(), 'Offline');
  const box = page.locator('#error-box');
  assert.ok(await box.isVisible());
  const msg = await box.textContent();
  assert.match(msg, /cannot be reached since/);
  assert.match(msg, /is not there: is the share mounted\?/);
  assert.equal(await page.locator('#history tbody tr td.result').first().textContent(), 'error');
  assert.equal(await page.locator('#chart rect.bar-failed').count(), 1);
  await shot(page, 'offline');

  fs.renameSync(path.join(o.dir, 'share.unmounted'), path.join(o.dir, 'share'));
  await page.click('#sync-now');
  await waitState(page, 'ok');
  assert.ok(await box.isHidden());
  await context.close();
  await stopDaemon(d);
});

test('the schedule is edited from the page', async () => {
  const o = office(['alice']);
  const d = await startDaemon(o.db.alice);
  const { page, context, problems } = await openPage(d.url);
  await waitState(page, 'never');
  await page.fill('#interval', '15');
  await page.click('#schedule-save');
  await page.locator('#schedule-msg', { hasText: 'Saved: every 15 minutes.' }).waitFor(WAIT);
  assert.equal(JSON.parse(hubsync('status', o.db.alice, '--json')).intervalMinutes, 15);
  await page.locator('#next-sync', { hasText: '(in 15m)' }).waitFor(WAIT);
  await page.fill('#interval', '0');
  await page.click('#schedule-save');
  await page.locator('#schedule-msg', { hasText: 'scheduled sync is off' }).waitFor(WAIT);
  await page.locator('#next-sync', { hasText: 'off' }).waitFor(WAIT);
  assert.equal(JSON.parse(hubsync('status', o.db.alice, '--json')).intervalMinutes, 0);
  assert.deepEqual(problems, []);
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
