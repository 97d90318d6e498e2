// examples/electron-main.js: the old sync manager's four IPC handlers, served
// by hubsync-client from a real daemon. Electron itself is not loaded: a
// stand-in ipcMain records the handlers, and the test calls them the way
// Electron does (an event, then the renderer's arguments).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { registerSyncHandlers } from '../../examples/electron-main.js';
import { makeOffice, daemon, cleanup, sql, cli } from './office.mjs';

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
