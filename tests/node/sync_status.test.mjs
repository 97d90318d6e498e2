// <SyncStatus/> (clients/react) in Debian's chromium, driven by
// playwright-core, against a real `hubsync daemon`.
//
// The page is an app's renderer: React 19 and the component bundled by
// esbuild, and a window.electron.ipcRenderer like the one an Electron preload
// exposes. Its invoke() reaches this process over HTTP (Electron would carry
// it over IPC), where the handlers of examples/electron-main.js answer with
// hubsync-client from the daemon: renderer → IPC → main → daemon, as in the
// app. Screenshots go to $HS_SCREENSHOTS.
//
// Run by ctest (labels web, node): HUBSYNC=path/to/hubsync node sync_status.test.mjs
// Exits 77 (skipped) when chromium or tests/node/node_modules is missing.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '../..');
const CHROMIUM = process.env.HS_CHROMIUM || '/usr/bin/chromium';
const SHOTS = process.env.HS_SCREENSHOTS || path.join(os.tmpdir(), 'hubsync-screenshots');

let chromium, esbuild;
try {
  ({ chromium } = await import('playwright-core'));
  esbuild = await import('esbuild');
} catch (e) {
  console.log('skip: tests/node/node_modules is missing (run: cd tests/node && npm ci)');
  process.exit(77);
}
if (!fs.existsSync(CHROMIUM)) {
  console.log('skip: ' + CHROMIUM + ' is missing (apt-get install chromium)');
  process.exit(77);
}

const { registerSyncHandlers } = await import('../../examples/electron-main.js');
const { makeOffice, prepareConflict, daemon, cleanup, sql, cli } = await import('./office.mjs');

const CHROMIUM_ARGS = ['--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const WAIT = { timeout: 20000 };

// The renderer's entry: what an app's index.jsx does, and the preload's bridge.
const ENTRY = `
import { createElement as h, StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { SyncStatus } from 'hubsync-react';

window.electron = {
  ipcRenderer: {
    async invoke(channel, ...args) {
      const res = await fetch('/ipc/' + channel, {
        method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(args),
      });
      const answer = await res.json();
      // Electron rejects with the handler's error wrapped like this
      if (!answer.ok) throw new Error("Error invoking remote method '" + channel + "': Error: " + answer.message);
      return answer.value;
    },
  },
};
createRoot(document.getElementById('sync')).render(h(StrictMode, null, h(SyncStatus)));
`;

// A host app's header: its own font and colours, hubsync's variables set.
const PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Craft Tools Hub</title><link rel="icon" href="data:,">
<link rel="stylesheet" href="/sync-status.css">
<style>
  body { margin: 0; font: 14px/1.4 system-ui, sans-serif; color: #1f2328; }
  header { display: flex; align-items: center; gap: 24px; padding: 10px 16px;
    background: #24292f; color: #f6f8fa; --hubsync-ok: #3fb950; --hubsync-error: #ff7b72;
    --hubsync-warning: #d29922; --hubsync-error-bg: rgba(255, 123, 114, 0.15); }
  header h1 { font-size: 16px; margin: 0; white-space: nowrap; }
  main { padding: 16px; }
</style></head>
<body><header><h1>Craft Tools Hub</h1><div id="sync"></div></header>
<main><p>Quotes, projects, components…</p></main>
<script src="/app.js"></script></body></html>`;

let browser, bundle;
const servers = [];

before(async () => {
  fs.mkdirSync(SHOTS, { recursive: true });
  const built = await esbuild.build({
    stdin: { contents: ENTRY, resolveDir: HERE, loader: 'js' },
    bundle: true, write: false, format: 'iife', target: 'chrome100',
    alias: { 'hubsync-react': path.join(ROOT, 'clients/react/index.js') },
    nodePaths: [path.join(HERE, 'node_modules')], // react, seen from clients/react
    define: { 'process.env.NODE_ENV': '"development"' },
    logLevel: 'silent',
  });
  bundle = built.outputFiles[0].text;
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
});

after(async () => {
  if (browser) await browser.close();
  for (const s of servers) s.close();
  await cleanup();
});

// The app's main process: serves the renderer and answers its IPC calls with
// the handlers of examples/electron-main.js.
async function appFor(client) {
  const handlers = new Map();
  registerSyncHandlers({ handle: (ch, fn) => handlers.set(ch, fn) }, client);
  const css = fs.readFileSync(path.join(ROOT, 'clients/react/sync-status.css'));
  const server = http.createServer((req, res) => {
    const send = (code, type, body) => {
      res.writeHead(code, { 'Content-Type': type, 'Cache-Control': 'no-store' });
      res.end(body);
    };
    if (req.method === 'GET' && req.url === '/') return send(200, 'text/html', PAGE);
    if (req.method === 'GET' && req.url === '/app.js') return send(200, 'text/javascript', bundle);
    if (req.method === 'GET' && req.url === '/sync-status.css') return send(200, 'text/css', css);
    const m = req.url.match(/^\/ipc\/(sync:\w+)$/);
    if (req.method !== 'POST' || !m || !handlers.has(m[1])) return send(404, 'text/plain', 'not found');
    let body = '';
    req.on('data', (b) => { body += b; });
    req.on('end', async () => {
      let answer;
      try {
        answer = { ok: true, value: await handlers.get(m[1])({ sender: null }, ...JSON.parse(body)) };
      } catch (e) {
        answer = { ok: false, message: e.message };
      }
      send(200, 'application/json', JSON.stringify(answer));
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  servers.push(server);
  return `http://127.0.0.1:${server.address().port}/`;
}

async function open(url, { clock = false } = {}) {
  const context = await browser.newContext({ viewport: { width: 900, height: 240 } });
  const page = await context.newPage();
  const problems = [];
  page.on('pageerror', (e) => problems.push(e.message));
  page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') problems.push(m.text()); });
  if (clock) {
    // A paused fake clock: timers fire only when the test runs it, so a
    // loaded machine cannot make the 30 s refresh come early.
    const now = Date.now();
    await page.clock.install({ time: now });
    await page.clock.pauseAt(now + 1000);
  }
  await page.goto(url);
  const widget = page.getByRole('region', { name: 'Data sync' });
  return { page, context, problems, widget };
}

const stateIs = (widget, state) =>
  widget.page().locator(`.hubsync-sync[data-state="${state}"]`).waitFor(WAIT);

async function shot(page, name) {
  await page.screenshot({ path: path.join(SHOTS, name + '.png') });
}

test('shows the status of the replica: indicator, last sync, Sync now', async () => {
  const o = makeOffice('alice');
  const d = await daemon(o.db.alice);
  const { page, context, problems, widget } = await open(await appFor(d.client));
  await stateIs(widget, 'never');
  assert.equal(await widget.locator('.hubsync-sync__label').textContent(), 'Never synced');
  assert.equal(await widget.locator('.hubsync-sync__last').textContent(), 'Last sync: never');
  const button = widget.getByRole('button', { name: 'Sync now' });
  assert.ok(await button.isEnabled());
  assert.equal(await widget.locator('.hubsync-sync__conflicts').count(), 0);
  assert.equal(await widget.locator('.hubsync-sync__error').count(), 0);
  assert.equal(await widget.locator('[aria-live]').textContent(), '', 'nothing announced on load');
  await shot(page, 'sync-status-never');
  assert.deepEqual(problems, []);
  await context.close();
});

test('Sync now syncs, shows the progress while it runs, then the new state', async () => {
  const o = makeOffice('alice');
  sql(o.db.alice, "INSERT INTO quotes(quoteId, projectName) VALUES ('Q1', 'Conveyor'), ('Q2', 'Palletizer');");
  const d = await daemon(o.db.alice);
  const { page, context, problems, widget } = await open(await appFor(d.client));
  await stateIs(widget, 'never');

  o.lock(); // the sync waits for the master: time to see it run
  await widget.getByRole('button', { name: 'Sync now' }).click();
  await stateIs(widget, 'syncing');
  assert.equal(await widget.getAttribute('aria-busy'), 'true');
  assert.ok(await widget.getByRole('button', { name: 'Sync now' }).isDisabled());
  await widget.locator('.hubsync-sync__phase', { hasText: 'Waiting for the master' }).waitFor(WAIT);
  assert.equal(await widget.getByRole('progressbar', { name: 'Sync progress' }).count(), 1);
  await shot(page, 'sync-status-syncing');
  o.unlock();

  await stateIs(widget, 'ok');
  assert.equal(await widget.locator('.hubsync-sync__label').textContent(), 'Up to date');
  assert.equal(await widget.locator('.hubsync-sync__last').textContent(), 'Last sync: just now');
  assert.match(await widget.locator('time').getAttribute('datetime'), /^\d{4}-\d\d-\d\dT/);
  await widget.locator('[aria-live]', { hasText: 'Sync completed.' }).waitFor({ state: 'attached', ...WAIT });
  assert.equal(await widget.locator('.hubsync-sync__progress').count(), 0);
  assert.ok(await widget.getByRole('button', { name: 'Sync now' }).isEnabled());
  assert.equal(sql(o.master, 'SELECT count(*) FROM quotes'), '2');
  assert.equal((await d.client.getHistory()).length, 1);
  await shot(page, 'sync-status-ok');
  assert.deepEqual(problems, []);
  await context.close();
});

test('a failed sync shows its reason; the next good one clears it', async () => {
  const o = makeOffice('alice');
  const d = await daemon(o.db.alice);
  const { page, context, problems, widget } = await open(await appFor(d.client));
  await stateIs(widget, 'never');
  o.unmount();
  await widget.getByRole('button', { name: 'Sync now' }).click();
  await stateIs(widget, 'offline');
  assert.equal(await widget.locator('.hubsync-sync__label').textContent(), 'Offline');
  const error = await widget.locator('.hubsync-sync__error').textContent();
  assert.match(error, /is not there: is the share mounted\?/);
  assert.doesNotMatch(error, /Error invoking remote method/);
  assert.match(await widget.locator('[aria-live]').textContent(), /^Sync failed: .*is the share mounted\?/);
  await shot(page, 'sync-status-error');

  o.mount();
  await widget.getByRole('button', { name: 'Sync now' }).click();
  await stateIs(widget, 'ok');
  assert.equal(await widget.locator('.hubsync-sync__error').count(), 0);
  assert.deepEqual(problems, []);
  await context.close();
});

test('conflicts found by a sync are counted', async () => {
  const o = makeOffice('alice', 'bob');
  prepareConflict(o);
  const d = await daemon(o.db.alice);
  const { page, context, problems, widget } = await open(await appFor(d.client));
  await stateIs(widget, 'ok');
  await widget.getByRole('button', { name: 'Sync now' }).click();
  await widget.locator('.hubsync-sync__conflicts', { hasText: '1 conflict' }).waitFor(WAIT);
  await widget.locator('[aria-live]', { hasText: 'Sync completed. 1 conflict to review.' })
    .waitFor({ state: 'attached', ...WAIT });
  await stateIs(widget, 'ok');
  await shot(page, 'sync-status-conflict');
  assert.deepEqual(problems, []);
  await context.close();
});

test('refreshes by itself every 30 seconds', async () => {
  const o = makeOffice('alice', 'bob');
  prepareConflict(o);
  const d = await daemon(o.db.alice);
  const { context, problems, widget } = await open(await appFor(d.client), { clock: true });
  await stateIs(widget, 'ok');
  await widget.locator('.hubsync-sync__conflicts').waitFor({ state: 'detached', ...WAIT });
  cli('sync', o.db.alice); // a sync the widget did not start finds the conflict
  await widget.page().clock.runFor(29000);
  assert.equal(await widget.locator('.hubsync-sync__conflicts').count(), 0);
  await widget.page().clock.runFor(2000);
  await widget.locator('.hubsync-sync__conflicts', { hasText: '1 conflict' }).waitFor(WAIT);
  assert.equal(await widget.locator('[aria-live]').textContent(), '', 'a refresh announces nothing');
  assert.deepEqual(problems, []);
  await context.close();
});
