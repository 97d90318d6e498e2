// startDaemon() with the real hubsync binary: it starts a daemon once per
// database, waits until it answers, reports the daemon's own error, and the
// daemon ends with the app (exit, SIGTERM) or on stop().
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startDaemon, findBinary, createClient } from '../../clients/node/index.js';
import { HUBSYNC, makeOffice, cleanup, sql, until } from './office.mjs';

after(cleanup);

const INDEX = fileURLToPath(new URL('../../clients/node/index.js', import.meta.url));

// Gone, or a zombie nobody reaps (its parent ended first).
function ended(pid) {
  try {
    return fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1][0] === 'Z';
  } catch {
    return true;
  }
}

test('starts a daemon once per database, and stop() ends it', async () => {
  const o = makeOffice('alice');
  const d = await startDaemon(o.db.alice, { binary: HUBSYNC, args: ['--no-sync-at-start'] });
  try {
    assert.equal(d.started, true);
    assert.match(d.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(fs.readFileSync(o.db.alice + '.hubsync-port', 'utf8').trim(), d.url.split(':')[2]);
    assert.equal((await d.client.getStatus()).username, 'alice');
    assert.match(d.log(), /status page at http:\/\/127\.0\.0\.1:\d+\//);

    const again = await startDaemon(o.db.alice, { binary: HUBSYNC });
    assert.equal(again.started, false, 'the running daemon is used');
    assert.equal(again.url, d.url);
    assert.equal(await again.stop(), null, 'not ours to stop');
    assert.equal((await again.client.getStatus()).username, 'alice');
  } finally {
    assert.equal(await d.stop(), 0, 'exit status 0 after SIGTERM:\n' + d.log());
  }
  assert.ok(ended(d.pid));
  assert.equal(await d.stop(), 0, 'stop() twice is harmless');
  const e = await d.client.getStatus().then(() => null, (x) => x);
  assert.equal(e.status, 0);
});

test('HUBSYNC names the binary; the daemon\'s own error when it cannot start', async () => {
  const o = makeOffice('alice');
  const plain = path.join(o.dir, 'plain.db');
  sql(plain, 'CREATE TABLE t (id INTEGER PRIMARY KEY);');
  await assert.rejects(startDaemon(plain), (e) => {
    assert.match(e.message, /^hubsync daemon .*plain\.db exited \(1\) before answering: cannot use .*plain\.db: .*is not set up for sync: run hubsync init/);
    return true;
  });
  await assert.rejects(startDaemon(path.join(o.dir, 'missing.db')), /no database file at .*missing\.db: check the path/);
  await assert.rejects(startDaemon(o.db.alice, { args: ['--retry', 'soon'] }), /--retry wants a whole number/);
  await assert.rejects(startDaemon(''), TypeError);
});

test('findBinary: the option, then HUBSYNC, then PATH; a clear error otherwise', () => {
  const saved = { PATH: process.env.PATH, HUBSYNC: process.env.HUBSYNC };
  const text = path.join(makeOffice().dir, 'notes.txt');
  fs.writeFileSync(text, 'not a program\n', { mode: 0o644 });
  try {
    assert.equal(findBinary(HUBSYNC), HUBSYNC);
    assert.throws(() => findBinary(text), /notes\.txt \(the binary option\) is not an executable file/);
    process.env.HUBSYNC = HUBSYNC;
    assert.equal(findBinary(), HUBSYNC);
    delete process.env.HUBSYNC;
    process.env.PATH = `/nonexistent${path.delimiter}${path.dirname(HUBSYNC)}`;
    assert.equal(findBinary(), path.join(path.dirname(HUBSYNC), 'hubsync'));
    process.env.PATH = '/nonexistent';
    assert.throws(() => findBinary(), /^Error: hubsync is not on PATH: install it, set HUBSYNC=\/path\/to\/hubsync, or pass \{ binary \}$/);
  } finally {
    process.env.PATH = saved.PATH;
    process.env.HUBSYNC = saved.HUBSYNC;
  }
});

// An "app": a Node process that starts a daemon, says its pid and url, and
// then ends the way `how` says.
function app(db, how) {
  const code = `
    import { startDaemon } from ${JSON.stringify(INDEX)};
    const d = await startDaemon(${JSON.stringify(db)}, { args: ['--no-sync-at-start'] });
    console.log(JSON.stringify({ pid: d.pid, url: d.url }));
    ${how === 'exit' ? 'setTimeout(() => process.exit(0), 100);' : 'setInterval(() => {}, 1000);'}
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', code],
    { env: { ...process.env, HUBSYNC }, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (b) => { out += b; });
  const exited = new Promise((r) => child.on('exit', (c, s) => r(c ?? s)));
  return { child, exited, started: until('the app\'s daemon', () => out.includes('\n') && JSON.parse(out)) };
}

test('the daemon stops when the app exits', async () => {
  const o = makeOffice('alice');
  const a = app(o.db.alice, 'exit');
  const { pid, url } = await a.started;
  assert.equal(await a.exited, 0);
  await until('the daemon to end', () => ended(pid), 30000);
  const e = await createClient({ url }).getStatus().then(() => null, (x) => x);
  assert.equal(e.status, 0);
});

test('the daemon stops when the app is ended by SIGTERM', async () => {
  const o = makeOffice('alice');
  const a = app(o.db.alice, 'wait');
  const { pid } = await a.started;
  assert.ok(!ended(pid));
  a.child.kill('SIGTERM');
  assert.equal(await a.exited, 'SIGTERM', 'the app still ends by the signal');
  await until('the daemon to end', () => ended(pid), 30000);
});
