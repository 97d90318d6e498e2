// hubsync-client's view of the office against a real daemon: the PCs
// syncing with the master (getPeers), the audit trail (getLog) and pausing
// scheduled sync (pause).
//
// Run by ctest: HUBSYNC=build/hubsync node client_office.test.mjs. Exits 77
// (skipped) while the daemon lacks these endpoints of DESIGN.md 3.4 (they
// come with helper "page"'s daemon work, issue 12); runs once it has them.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { HubsyncError } from '../../clients/node/index.js';
import { makeOffice, daemon, cleanup, sql, cli } from './office.mjs';

{
  const d = await daemon(makeOffice('probe').db.probe);
  const missing = await d.client.getPeers().then(() => false, (e) => e.status === 404);
  await cleanup();
  if (missing) {
    console.log('skip: this hubsync daemon has no GET /api/sync/peers yet (DESIGN.md 3.4)');
    process.exit(77);
  }
}

after(cleanup);

// alice adds Q1, bob sets its customer; alice's daemon has pulled that.
async function officeWithHistory() {
  const o = makeOffice('alice', 'bob');
  const d = await daemon(o.db.alice);
  sql(o.db.alice, "INSERT INTO quotes(quoteId, projectName) VALUES ('Q1', 'Conveyor'), ('Q2', 'Palletizer');");
  assert.equal((await d.client.manual()).success, true);
  cli('sync', o.db.bob);
  sql(o.db.bob, "UPDATE quotes SET customer = 'ACME' WHERE quoteId = 'Q1';");
  cli('sync', o.db.bob);
  const r = await d.client.manual();
  assert.deepEqual(r.stats.pulled, { quotes: 1 });
  return { o, d };
}

test('getPeers lists the PCs syncing with the master, this one marked', async () => {
  const { d } = await officeWithHistory();
  const peers = await d.client.getPeers();
  assert.equal(peers.length, 2);
  const byUser = Object.fromEntries(peers.map((p) => [p.user, p]));
  assert.deepEqual(Object.keys(byUser).sort(), ['alice', 'bob']);
  assert.equal(byUser.alice.thisPc, true);
  assert.equal(byUser.bob.thisPc, false);
  for (const p of peers) {
    assert.match(p.site, /^[0-9a-f]+$/);
    assert.ok(Date.parse(p.lastSyncTime) > Date.now() - 600000, `lastSyncTime ${p.lastSyncTime}`);
  }
  assert.notEqual(byUser.alice.site, byUser.bob.site);
});

test('getLog gives the audit trail, filtered by table, key, user and limit', async () => {
  const { d } = await officeWithHistory();
  const all = await d.client.getLog();
  assert.ok(all.length >= 3, `${all.length} changes`);
  const byBob = await d.client.getLog({ user: 'bob' });
  assert.equal(byBob.length, 1);
  assert.equal(byBob[0].table, 'quotes');
  assert.deepEqual(byBob[0].pk, { quoteId: 'Q1' });
  assert.equal(byBob[0].user, 'bob');
  const q2 = await d.client.getLog({ table: 'quotes', key: 'Q2' });
  assert.ok(q2.length >= 1 && q2.every((c) => c.pk.quoteId === 'Q2'));
  assert.equal((await d.client.getLog({ limit: 1 })).length, 1);
  assert.deepEqual(await d.client.getLog({ table: 'quotes', user: 'nobody' }), []);
  const bad = await d.client.getLog({ limit: 0 }).then(() => null, (e) => e);
  assert.ok(bad instanceof HubsyncError);
  assert.equal(bad.status, 400);
  assert.match(bad.message, /^limit must be a whole number/);
});

test('pause stops scheduled sync and resume brings it back; status says so', async () => {
  const o = makeOffice('alice');
  const d = await daemon(o.db.alice);
  assert.deepEqual(await d.client.pause(true), { success: true, paused: true });
  let st = await d.client.getStatus();
  assert.equal(st.paused, true);
  assert.equal(st.nextSyncTime, null);
  assert.equal((await d.client.manual()).success, true, 'Sync now still works while paused');
  assert.deepEqual(await d.client.pause(false), { success: true, paused: false });
  st = await d.client.getStatus();
  assert.equal(st.paused, false);
  assert.ok(st.nextSyncTime);
  const bad = await d.client.pause('yes').then(() => null, (e) => e);
  assert.equal(bad.status, 400);
  assert.match(bad.message, /^paused must be true/);
});
