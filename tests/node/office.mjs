// The office the Node tests work in: a master on a "share" folder and one
// replica per user, made with the sqlite3 tool and the real `hubsync init`;
// daemons started with hubsync-client's own startDaemon() on free loopback
// ports. HUBSYNC names the built binary (ctest passes it).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startDaemon } from '../../clients/node/index.js';

export const HUBSYNC = process.env.HUBSYNC;
if (!HUBSYNC || !fs.existsSync(HUBSYNC)) {
  console.error('HUBSYNC must name the built hubsync binary');
  process.exit(1);
}

const folders = [];
const running = new Set();

export function sql(db, text) {
  return execFileSync('sqlite3', ['-batch', '-bail', db, text], { encoding: 'utf8' }).trim();
}

export function cli(...args) {
  return execFileSync(HUBSYNC, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** A master in DIR/share and a replica DIR/USER.db of the quotes table per user. */
export function makeOffice(...users) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hubsync-node-'));
  folders.push(dir);
  const share = path.join(dir, 'share');
  fs.mkdirSync(share);
  const master = path.join(share, 'server.db');
  const db = Object.fromEntries(users.map((u) => [u, path.join(dir, `${u}.db`)]));
  for (const u of users) {
    sql(db[u], 'CREATE TABLE quotes (quoteId TEXT PRIMARY KEY, projectName TEXT, customer TEXT);');
    cli('init', db[u], '--master', master, '--user', u);
  }
  return {
    dir, db, master,
    // The share goes away (the NAS is off) and comes back.
    unmount: () => fs.renameSync(share, share + '.off'),
    mount: () => fs.renameSync(share + '.off', share),
    // Another process of this host holds the master's lock (src/lib/lock.c's
    // owner file: host, pid, time), so that a sync waits in phase "lock".
    lock: () => {
      fs.mkdirSync(master + '.lock');
      fs.writeFileSync(master + '.lock/owner', `${os.hostname()} ${process.pid} ${Date.now()}\n`);
    },
    unlock: () => fs.rmSync(master + '.lock', { recursive: true, force: true }),
  };
}

/**
 * alice and bob both change quote Q1's projectName after both saw it: bob
 * has synced his; alice's next sync finds the conflict (alice's value wins,
 * the later edit).
 */
export function prepareConflict(o) {
  sql(o.db.alice, "INSERT INTO quotes(quoteId, projectName, customer) VALUES ('Q1', 'Conveyor', 'ACME');");
  cli('sync', o.db.alice);
  cli('sync', o.db.bob);
  sql(o.db.bob, "UPDATE quotes SET projectName = 'Conveyor (bob)' WHERE quoteId = 'Q1';");
  sql(o.db.alice, "UPDATE quotes SET projectName = 'Conveyor (alice)' WHERE quoteId = 'Q1';");
  cli('sync', o.db.bob);
}

/** A daemon for db (no sync at start unless asked), stopped by cleanup(). */
export async function daemon(db, { args = [], ...options } = {}) {
  const d = await startDaemon(db, {
    binary: HUBSYNC, args: ['--no-sync-at-start', '--lock-timeout', '60000', ...args], ...options,
  });
  running.add(d);
  const stop = d.stop;
  d.stop = () => {
    running.delete(d);
    return stop();
  };
  return d;
}

export async function cleanup() {
  await Promise.all([...running].map((d) => d.stop()));
  for (const dir of folders.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
}

/** Resolve when check() gives a truthy value (polled), or fail after ms. */
export async function until(what, check, ms = 30000) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > end) throw new Error(`gave up waiting for ${what} after ${ms / 1000} s`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
