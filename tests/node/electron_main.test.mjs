// examples/electron-main.js: the old sync manager's four IPC handlers, served
// by hubsync-client from a real daemon. Electron itself is not loaded: a
// stand-in ipcMain records the handlers, and the test calls them the way
// Electron does (an event, then the renderer's arguments).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { registerSyncHandlers } from '../../examples/electron-main.js';
import { HUBSYNC, makeOffice, daemon, cleanup, sql, cli } from './office.mjs';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

after(cleanup);

function fakeIpcMain() {
  const handlers = new Map();
  return {
    handlers,
    handle(channel, fn) {
      assert.ok(!handlers.has(channel), `${channel} registered twice`);
      handlers.set(channel, fn);
    },
    invoke: (channel, ...args) => handlers.get(channel)({ sender: null }, ...args),
  };
}

async function appFor(user = 'alice') {
  const o = makeOffice(user);
  const d = await daemon(o.db[user]);
  const ipc = fakeIpcMain();
  registerSyncHandlers(ipc, d.client);
  return { o, d, ipc };
}

test('the four channels of the old sync manager, and only those', async () => {
  const { ipc } = await appFor();
  assert.deepEqual([...ipc.handlers.keys()].sort(),
    ['sync:getHistory', 'sync:getStatus', 'sync:manual', 'sync:setSchedule']);
});

test('sync:getStatus answers the old status object', async () => {
  const { ipc, o } = await appFor();
  const st = await ipc.invoke('sync:getStatus');
  assert.equal(st.enabled, true);
  assert.equal(st.isSyncing, false);
  assert.equal(st.lastSyncTime, null);
  assert.deepEqual(st.stats, { pulled: {}, pushed: {}, conflicts: 0 });
  assert.equal(st.scheduledSync, true);
  assert.equal(st.intervalMinutes, 120);
  assert.equal(st.username, 'alice');
  assert.equal(st.nasDbPath, o.master);
});

test('sync:manual answers {success, message, stats, duration}; a failed sync throws its reason', async () => {
  const { ipc, o } = await appFor();
  sql(o.db.alice, "INSERT INTO quotes(quoteId, projectName) VALUES ('Q1', 'Conveyor');");
  const r = await ipc.invoke('sync:manual');
  assert.equal(r.success, true);
  assert.equal(r.message, 'Sync completed successfully');
  assert.deepEqual(r.stats, { pulled: {}, pushed: { quotes: 1 }, conflicts: 0 });
  assert.match(r.duration, /s$/);
  // what the old renderer showed: `${result.stats.pulled.quotes} quotes updated`
  assert.equal(r.stats.pulled.quotes, undefined);

  o.unmount();
  await assert.rejects(ipc.invoke('sync:manual'), (e) => {
    assert.ok(e instanceof Error);
    assert.match(e.message, /is not there: is the share mounted\?/);
    return true;
  });
  o.mount();
  assert.equal((await ipc.invoke('sync:manual')).success, true);
});

test('sync:setSchedule answers {success, message}; the interval is the replica\'s', async () => {
  const { ipc, o } = await appFor();
  const r = await ipc.invoke('sync:setSchedule', 60);
  assert.equal(r.success, true);
  assert.equal(r.message, 'Sync schedule updated to 60 minutes');
  assert.equal(JSON.parse(cli('status', o.db.alice, '--json')).intervalMinutes, 60);
  assert.equal((await ipc.invoke('sync:getStatus')).intervalMinutes, 60);
  await assert.rejects(ipc.invoke('sync:setSchedule', 'hourly'), /intervalMinutes must be a whole number/);
  assert.equal(JSON.parse(cli('status', o.db.alice, '--json')).intervalMinutes, 60);
});

test('sync:getHistory answers the sync_log rows, newest first', async () => {
  const { ipc, o } = await appFor();
  assert.deepEqual(await ipc.invoke('sync:getHistory'), []);
  await ipc.invoke('sync:manual');
  o.unmount();
  await ipc.invoke('sync:manual').catch(() => {});
  const h = await ipc.invoke('sync:getHistory');
  assert.equal(h.length, 2);
  assert.deepEqual(h.map((r) => r.status), ['error', 'success']);
  for (const k of ['id', 'timestamp', 'direction', 'status', 'records_pulled', 'records_pushed',
    'conflicts', 'duration_ms', 'error_message']) assert.ok(k in h[1], `a history row lacks ${k}`);
  assert.match(h[0].error_message, /is the share mounted/);
  assert.equal(h[1].direction, 'bidirectional');
});

// The start-up block at the end of the example, in an app folder where
// `electron` is a stand-in (app.whenReady, app.getPath, app.on, ipcMain) and
// `hubsync-client` the real package: the daemon starts for
// userData/database/server.db, the handlers answer from it, and will-quit
// stops it.
test('under Electron the example starts the daemon, answers from it and stops it at will-quit', async () => {
  const o = makeOffice('alice');
  const userData = path.join(o.dir, 'userData');
  fs.mkdirSync(path.join(userData, 'database'), { recursive: true });
  const db = path.join(userData, 'database', 'server.db');
  sql(db, 'CREATE TABLE quotes (quoteId TEXT PRIMARY KEY, projectName TEXT);');
  cli('init', db, '--master', o.master, '--user', 'carol');

  const appDir = path.join(o.dir, 'app');
  const electron = path.join(appDir, 'node_modules', 'electron');
  fs.mkdirSync(electron, { recursive: true });
  fs.writeFileSync(path.join(appDir, 'package.json'), '{"type": "module"}\n');
  fs.copyFileSync(path.join(ROOT, 'examples', 'electron-main.js'), path.join(appDir, 'main.js'));
  fs.symlinkSync(path.join(ROOT, 'clients', 'node'), path.join(appDir, 'node_modules', 'hubsync-client'));
  fs.writeFileSync(path.join(electron, 'package.json'), '{"type": "module", "main": "index.js"}\n');
  fs.writeFileSync(path.join(electron, 'index.js'), `
    export const quitting = [];
    export const ipcMain = { handlers: new Map(), handle(ch, fn) { this.handlers.set(ch, fn); } };
    export const app = {
      whenReady: async () => {},
      getPath: (name) => name === 'userData' ? ${JSON.stringify(userData)} : null,
      on: (event, fn) => { if (event === 'will-quit') quitting.push(fn); },
    };`);
  fs.writeFileSync(path.join(appDir, 'run.js'), `
    process.versions.electron = '30.0.0';
    await import('./main.js');
    const { ipcMain, quitting } = await import('electron');
    const { createClient } = await import('hubsync-client');
    const status = await ipcMain.handlers.get('sync:getStatus')({});
    const manual = await ipcMain.handlers.get('sync:manual')({});
    const client = createClient({ dbPath: ${JSON.stringify(db)} });
    const url = await client.baseUrl();
    for (const fn of quitting) fn();
    let stopped = false;
    for (let i = 0; i < 300 && !stopped; i++) {
      stopped = await client.getStatus().then(() => false, (e) => e.status === 0);
      await new Promise((r) => setTimeout(r, 100));
    }
    console.log(JSON.stringify({ channels: [...ipcMain.handlers.keys()], user: status.username,
      success: manual.success, url, stopped }));
  `);
  const out = JSON.parse(execFileSync(process.execPath, ['run.js'], {
    cwd: appDir, encoding: 'utf8', env: { ...process.env, HUBSYNC },
  }));
  assert.deepEqual(out.channels.sort(), ['sync:getHistory', 'sync:getStatus', 'sync:manual', 'sync:setSchedule']);
  assert.equal(out.user, 'carol');
  assert.equal(out.success, true);
  assert.match(out.url, /^http:\/\/127\.0\.0\.1:\d+$/);
  assert.equal(out.stopped, true, 'will-quit stops the daemon');
  assert.equal(cli('history', db, '--json').includes('"success"'), true);
});
