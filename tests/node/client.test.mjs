// hubsync-client against a real `hubsync daemon` on 127.0.0.1: every
// method, the shapes of DESIGN.md 3.3, the daemon's errors as HubsyncError,
// live progress through watch(), the token, and finding the daemon.
//
// Run by ctest: HUBSYNC=build/hubsync node --test tests/node/client.test.mjs
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { createClient, HubsyncError, DEFAULT_URL } from '../../clients/node/index.js';
import { makeOffice, prepareConflict, daemon, cleanup, sql, cli, until } from './office.mjs';

after(cleanup);

const STATUS_KEYS = ['enabled', 'isSyncing', 'lastSyncTime', 'stats', 'scheduledSync',
  'intervalMinutes', 'username', 'nasDbPath'];
const HISTORY_KEYS = ['id', 'timestamp', 'direction', 'status', 'records_pulled',
  'records_pushed', 'conflicts', 'duration_ms', 'error_message'];

test('getStatus gives the 3.3 status of a replica never synced', async () => {
  const o = makeOffice('alice');
  const d = await daemon(o.db.alice);
  const st = await d.client.getStatus();
  for (const k of STATUS_KEYS) assert.ok(k in st, `status lacks ${k}`);
  assert.equal(st.lastSyncTime, null);
  assert.equal(st.isSyncing, false);
  assert.equal(st.username, 'alice');
  assert.equal(st.nasDbPath, o.master);
  assert.equal(st.intervalMinutes, 120);
  assert.deepEqual(st.stats, { pulled: {}, pushed: {}, conflicts: 0 });
});

test('manual syncs and answers with the 3.3 result; history lists it', async () => {
  const o = makeOffice('alice');
  sql(o.db.alice, "INSERT INTO quotes(quoteId, projectName, customer) VALUES ('Q1', 'Conveyor', 'ACME'), ('Q2', 'Palletizer', 'ACME');");
  const d = await daemon(o.db.alice);
  const r = await d.client.manual();
  assert.equal(r.success, true);
  assert.equal(r.message, 'Sync completed successfully');
  assert.deepEqual(r.stats.pushed, { quotes: 2 });
  assert.match(r.duration, /^\d+\.\d\ds$/);
  assert.equal(sql(o.master, 'SELECT count(*) FROM quotes'), '2');

  const st = await d.client.getStatus();
  assert.ok(Date.parse(st.lastSyncTime) > Date.now() - 600000);
  const history = await d.client.getHistory();
  assert.equal(history.length, 1);
  for (const k of HISTORY_KEYS) assert.ok(k in history[0], `history row lacks ${k}`);
  assert.equal(history[0].status, 'success');
  assert.equal(history[0].records_pushed, 2);
  await d.client.manual();
  const two = await d.client.getHistory();
  assert.equal(two.length, 2);
  assert.ok(two[0].id > two[1].id, 'newest first');
  assert.deepEqual(await d.client.getHistory({ limit: 1 }), [two[0]]);
});

test('a failed sync resolves with success false and the reason; status says offline', async () => {
  const o = makeOffice('alice');
  const d = await daemon(o.db.alice);
  o.unmount();
  const r = await d.client.manual();
  assert.equal(r.success, false);
  assert.match(r.message, /is not there: is the share mounted\?/);
  const st = await d.client.getStatus();
  assert.equal(st.offline, true);
  assert.match(st.lastError, /is the share mounted/);
  assert.equal((await d.client.getHistory())[0].status, 'error');
  o.mount();
  assert.equal((await d.client.manual()).success, true);
  assert.equal((await d.client.getStatus()).offline, false);
});

test('watch reports live progress and the status after the sync; a second sync now is 409', async () => {
  const o = makeOffice('alice');
  sql(o.db.alice, "INSERT INTO quotes(quoteId, projectName, customer) VALUES ('Q1', 'Conveyor', 'ACME');");
  const d = await daemon(o.db.alice);
  const events = [];
  const stop = d.client.watch((e) => events.push(e), { intervalMs: 200, busyIntervalMs: 100 });
  try {
    await until('the first status', () => events.find((e) => e.type === 'status'));
    o.lock();
    const first = d.client.manual();
    const waiting = await until('progress in phase lock',
      () => events.find((e) => e.type === 'progress' && e.progress.phase === 'lock'));
    assert.equal(waiting.progress.trigger, 'manual');
    assert.equal(waiting.status.isSyncing, true);
    assert.equal((await d.client.getProgress()).phase, 'lock');

    const busy = await d.client.manual().then(() => null, (e) => e);
    assert.ok(busy instanceof HubsyncError, 'a second sync now is refused');
    assert.equal(busy.status, 409);
    assert.match(busy.message, /a sync is already running/);

    o.unlock();
    assert.equal((await first).success, true);
    const done = await until('a status after the sync', () => events.find((e) =>
      e.type === 'status' && !e.status.isSyncing && e.status.lastSyncTime));
    assert.equal(done.status.stats.pushed.quotes, 1);
    assert.deepEqual(await d.client.getProgress(), { isSyncing: false });
  } finally {
    stop();
    o.unlock();
  }
  const seen = events.length;
  await new Promise((r) => setTimeout(r, 400));
  assert.equal(events.length, seen, 'no event after stop()');
  assert.ok(!events.some((e) => e.type === 'error'), 'no error event');
});

test('watch reports once that the daemon stopped answering, and its return', async () => {
  const o = makeOffice('alice');
  let d = await daemon(o.db.alice);
  const client = createClient({ dbPath: o.db.alice });
  const events = [];
  const stop = client.watch((e) => events.push(e), { intervalMs: 50 });
  try {
    await until('the first status', () => events.length > 0);
    await d.stop();
    const err = await until('an error event', () => events.find((e) => e.type === 'error'));
    assert.equal(err.error.status, 0);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(events.filter((e) => e.type === 'error').length, 1, 'one error event while it is down');
    d = await daemon(o.db.alice); // on another port: the port file tells
    cli('sync', o.db.alice);
    await until('a status after the restart', () => events.find((e) => e.type === 'status' && e.status.lastSyncTime));
  } finally {
    stop();
  }
});

test('setSchedule changes the interval; a bad one is the daemon\'s 400', async () => {
  const o = makeOffice('alice');
  const d = await daemon(o.db.alice);
  assert.deepEqual(await d.client.setSchedule(15), { success: true, intervalMinutes: 15 });
  assert.equal(JSON.parse(cli('status', o.db.alice, '--json')).intervalMinutes, 15);
  assert.equal((await d.client.getStatus()).intervalMinutes, 15);
  for (const bad of [-1, 10081, '60', 1.5]) {
    const e = await d.client.setSchedule(bad).then(() => null, (x) => x);
    assert.ok(e instanceof HubsyncError && e instanceof Error);
    assert.equal(e.status, 400);
    assert.match(e.message, /^intervalMinutes must be a whole number of minutes from 0/);
    assert.deepEqual(e.body, { error: e.message });
  }
  assert.equal(JSON.parse(cli('status', o.db.alice, '--json')).intervalMinutes, 15);
});

test('getConflicts lists a conflict; resolve settles it', async () => {
  const o = makeOffice('alice', 'bob');
  prepareConflict(o);
  const d = await daemon(o.db.alice);
  assert.deepEqual(await d.client.getConflicts(), []);
  const r = await d.client.manual();
  assert.equal(r.stats.conflicts, 1);
  assert.equal((await d.client.getStatus()).unresolvedConflicts, 1);
  const [c, ...more] = await d.client.getConflicts();
  assert.equal(more.length, 0);
  assert.equal(c.table, 'quotes');
  assert.deepEqual(c.pk, { quoteId: 'Q1' });
  assert.equal(c.column, 'projectName');
  assert.equal(c.winner, 'local');
  assert.equal(c.local_user, 'alice');
  assert.equal(c.remote_user, 'bob');
  for (const k of ['local_value', 'remote_value', 'detected_at', 'resolved']) assert.ok(k in c, k);

  const bad = await d.client.resolve(c.id, 'mine').then(() => null, (e) => e);
  assert.equal(bad.status, 400);
  assert.equal(bad.message, 'keep must be "local" or "remote"');
  const missing = await d.client.resolve(c.id + 1000, 'local').then(() => null, (e) => e);
  assert.equal(missing.status, 404);
  const notId = await d.client.resolve('../status', 'local').then(() => null, (e) => e);
  assert.ok(notId.status === 400 || notId.status === 404, `status ${notId.status}`);

  assert.deepEqual(await d.client.resolve(c.id, 'remote'), { success: true, id: c.id, keep: 'remote' });
  assert.equal(sql(o.db.alice, "SELECT projectName FROM quotes WHERE quoteId = 'Q1'"), 'Conveyor (bob)');
  assert.deepEqual(await d.client.getConflicts(), []);
  const all = await d.client.getConflicts({ all: true });
  assert.equal(all.length, 1);
  assert.ok(all[0].resolved);
  assert.equal((await d.client.getStatus()).unresolvedConflicts, 0);
});

test('with a token: refused without it (401), served with it', async () => {
  const o = makeOffice('alice');
  const token = 'node-test-token-0123456789';
  const d = await daemon(o.db.alice, { token });
  assert.ok(!fs.readFileSync(`/proc/${d.pid}/cmdline`, 'utf8').includes(token), 'the token is not on the command line');
  const e = await createClient({ url: d.url, token: '' }).getStatus().then(() => null, (x) => x);
  assert.equal(e.status, 401);
  assert.match(e.message, /missing or wrong token/);
  const wrong = await createClient({ url: d.url, token: 'x'.repeat(26) }).manual().then(() => null, (x) => x);
  assert.equal(wrong.status, 401);
  assert.equal((await d.client.getStatus()).username, 'alice');
  assert.deepEqual(await createClient({ url: d.url, token }).setSchedule(30), { success: true, intervalMinutes: 30 });
  const saved = process.env.HUBSYNC_TOKEN;
  process.env.HUBSYNC_TOKEN = token;
  try {
    assert.equal((await createClient({ dbPath: o.db.alice }).manual()).success, true, 'HUBSYNC_TOKEN is the default');
  } finally {
    if (saved === undefined) delete process.env.HUBSYNC_TOKEN;
    else process.env.HUBSYNC_TOKEN = saved;
  }
});

test('the address: url, the database\'s port file, the default; errors when nothing answers', async () => {
  assert.equal(await createClient().baseUrl(), DEFAULT_URL);
  assert.equal(await createClient({ url: 'http://127.0.0.1:9/x/' }).baseUrl(), 'http://127.0.0.1:9');
  assert.throws(() => createClient({ url: 'not a url' }), /is not a URL/);
  assert.throws(() => createClient({ url: 'ftp://127.0.0.1/' }), /must start with http/);

  const o = makeOffice('alice');
  const d = await daemon(o.db.alice);
  const client = createClient({ dbPath: o.db.alice });
  assert.equal(await client.baseUrl(), d.url);
  assert.equal((await client.getStatus()).username, 'alice');
  await d.stop();
  const e = await client.getStatus().then(() => null, (x) => x);
  assert.ok(e instanceof HubsyncError);
  assert.equal(e.status, 0);
  assert.match(e.message, /^the hubsync daemon at http:\/\/127\.0\.0\.1:\d+ refused the connection: is `hubsync daemon` running\?/);

  fs.writeFileSync(o.db.alice + '.hubsync-port', 'garbage\n');
  await assert.rejects(client.getStatus(), /does not hold a port/);
});

test('the packages: hubsync-client imports by its name, every export typed; no runtime dependencies', async () => {
  const { execFileSync } = await import('node:child_process');
  const dir = new URL('../../clients/node/', import.meta.url);
  const names = execFileSync(process.execPath, ['--input-type=module', '-e',
    "const m = await import('hubsync-client'); console.log(Object.keys(m).join(' '))"],
  { cwd: dir, encoding: 'utf8' }).trim().split(' ');
  const dts = fs.readFileSync(new URL('index.d.ts', dir), 'utf8');
  for (const n of names) assert.match(dts, new RegExp(`export declare (function|class|const) ${n}\\b`), `${n} is not in index.d.ts`);
  for (const pkgDir of ['../../clients/node/', '../../clients/react/']) {
    const base = new URL(pkgDir, import.meta.url);
    const pkg = JSON.parse(fs.readFileSync(new URL('package.json', base), 'utf8'));
    assert.equal(pkg.type, 'module');
    assert.equal(pkg.dependencies, undefined, `${pkg.name} has runtime dependencies`);
    for (const f of pkg.files) assert.ok(fs.existsSync(new URL(f, base)), `${pkg.name}: ${f} is missing`);
    for (const target of Object.values(pkg.exports).flatMap((e) => (typeof e === 'string' ? [e] : Object.values(e))))
      assert.ok(fs.existsSync(new URL(target, base)), `${pkg.name}: ${target} is missing`);
  }
});
