// The hubsync status page: reads the daemon's HTTP API (DESIGN.md 3.4) and
// draws it. Plain browser JavaScript, no libraries; every value from the API
// is put on the page as text (textContent), never as HTML.
//
// State at a glance: one state, the most urgent, drives the indicator, the
// tab title and the favicon (pageState). Conflict decisions wait UNDO_MS
// before they are sent, so that Undo is real (sent at once when the page
// is left).
'use strict';

const REFRESH_MS = 30000;
const PROGRESS_MS = 500;
const UNDO_MS = 6000;
const LOG_PAGE = 25; // recent changes shown, and added by Show more

const $ = (id) => document.getElementById(id);

// A token given as /#token=... (daemon started with --token) is kept for
// this tab only and removed from the address bar.
const token = (() => {
  const m = location.hash.match(/token=([^&]+)/);
  if (m) {
    sessionStorage.setItem('hubsyncToken', decodeURIComponent(m[1]));
    history.replaceState(null, '', location.pathname);
  }
  return sessionStorage.getItem('hubsyncToken');
})();

let lastStatus = null;
let reachable = true;
let unreachableSince = null;
let progressTimer = null;
let busy = false;           // a sync started from this page is running
let conflicts = [];         // unresolved, as the API last listed them
let peers = [];
let pendingDecisions = null; // {items: [{conflict, keep}], timer, text}
const openGroups = new Set();
let groupsTouched = false;

// ---- talking to the daemon ----

async function api(method, path, body, extra) {
  const headers = {};
  if (token) headers.Authorization = 'Bearer ' + token;
  const init = { method, headers, ...(extra || {}) };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path, init);
  } catch (e) {
    return { ok: false, status: 0, body: { error: 'no answer from the hubsync daemon: is it running?' } };
  }
  let data = null;
  try { data = await res.json(); } catch (e) { data = { error: 'the daemon answered ' + res.status + ' without JSON' }; }
  return { ok: res.ok, status: res.status, body: data };
}

// ---- formatting ----

// sync_log times may be SQLite's CURRENT_TIMESTAMP ("2025-01-15 10:30:00",
// UTC); the API's own are ISO ("2025-01-15T10:30:00.000Z").
function parseTime(s) {
  if (!s) return null;
  if (/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)?$/.test(s)) s = s.replace(' ', 'T') + 'Z';
  const d = new Date(s);
  return isNaN(d) ? null : d;
}

function span(seconds) {
  seconds = Math.round(Math.abs(seconds));
  if (seconds < 60) return seconds + ' s';
  const m = Math.round(seconds / 60);
  if (m < 60) return m + ' min';
  const h = Math.floor(m / 60);
  if (h < 48) return h + ' h' + (m % 60 ? ' ' + (m % 60) + ' min' : '');
  return Math.round(h / 24) + ' days';
}

function ago(d) {
  const s = (Date.now() - d.getTime()) / 1000;
  return s < 45 ? 'just now' : span(s) + ' ago';
}

const sameDay = (a, b) => a.toDateString() === b.toDateString();

// "14:03:27" today, "Nov 28, 14:03:27" another day (local time).
function clock(d, withSeconds = true) {
  const time = d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', ...(withSeconds ? { second: '2-digit' } : {}) });
  if (sameDay(d, new Date())) return time;
  const date = d.toLocaleDateString([], { month: 'short', day: 'numeric', ...(d.getFullYear() !== new Date().getFullYear() ? { year: 'numeric' } : {}) });
  return date + ', ' + time;
}

function fullTime(d) {
  return d.toLocaleString([], { dateStyle: 'full', timeStyle: 'medium' });
}

function seconds(ms) {
  return ms == null ? '' : (ms / 1000).toFixed(2) + ' s';
}

// A number as people write it: 33.239999999999995 -> 33.24.
function num(v) {
  if (Number.isInteger(v)) return String(v);
  return String(Number(v.toPrecision(12)));
}

// Any value from the database as short text.
function showValue(v) {
  if (v === null || v === undefined) return '(empty)';
  if (typeof v === 'number') return num(v);
  if (typeof v === 'string') return v;
  if (typeof v === 'boolean') return String(v);
  if (v && typeof v === 'object' && '$blob' in v) return '(binary, ' + v.$blob.length / 2 + ' bytes)';
  return JSON.stringify(v, (k, x) => (typeof x === 'number' ? Number(num(x)) : x));
}

function plural(n, word, many) {
  return n + ' ' + (n === 1 ? word : many || word + 's');
}

function sumCounts(obj) {
  return Object.values(obj || {}).reduce((a, b) => a + (Number(b) || 0), 0);
}

function describeCounts(obj) {
  const parts = Object.entries(obj || {}).filter(([, n]) => n).map(([t, n]) => t + ' ' + n);
  return parts.length ? ' (' + parts.join(', ') + ')' : '';
}

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined && text !== null) e.textContent = text;
  return e;
}

// A path that may break after its separators, never inside a name.
function pathNode(path) {
  const frag = document.createDocumentFragment();
  String(path).split(/(?<=[/\\])/).forEach((part, i) => {
    if (i) frag.append(document.createElement('wbr'));
    frag.append(part);
  });
  return frag;
}

function keyText(pk) {
  return Object.values(pk || {}).map(showValue).join(' | ');
}

// ---- state at a glance ----

const STATES = {
  unreachable: { color: '#c53030', glyph: '×' },
  syncing: { color: '#2b6cb0', glyph: '' },
  offline: { color: '#b7791f', glyph: '!' },
  error: { color: '#c53030', glyph: '!' },
  conflicts: { color: '#c05621', glyph: '?' },
  pending: { color: '#2b6cb0', glyph: '↑' },
  never: { color: '#718096', glyph: '' },
  ok: { color: '#1f9d55', glyph: '' },
};

// The most urgent state first: [state, label].
function pageState(st) {
  if (!reachable) return ['unreachable', 'No answer from hubsync' + (unreachableSince ? ' since ' + clock(unreachableSince) : '')];
  if (st.isSyncing || busy) return ['syncing', 'Syncing…'];
  if (st.offline) {
    const since = parseTime(st.offlineSince);
    return ['offline', 'Offline' + (since ? ' since ' + clock(since, false) : '')];
  }
  if (st.lastError) return ['error', 'Sync failed'];
  const nc = st.unresolvedConflicts || 0;
  if (nc) return ['conflicts', plural(nc, 'conflict') + (nc === 1 ? ' needs' : ' need') + ' a decision'];
  const np = st.pendingChanges || 0;
  if (np) return ['pending', plural(np, 'change') + ' waiting'];
  if (!st.lastSyncTime) return ['never', 'Never synced'];
  return ['ok', 'Up to date'];
}

function favicon(state) {
  const s = STATES[state] || STATES.never;
  const svg = '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32">' +
    '<circle cx="16" cy="16" r="14" fill="' + s.color + '"/>' +
    (s.glyph ? '<text x="16" y="22" font-size="18" font-family="sans-serif" font-weight="bold" text-anchor="middle" fill="#fff">' + s.glyph + '</text>' : '') +
    '</svg>';
  $('favicon').href = 'data:image/svg+xml,' + encodeURIComponent(svg);
}

let shownState = '';
function showState(state, label) {
  const ind = $('indicator');
  ind.className = 'indicator state-' + state;
  ind.dataset.state = state;
  $('state-label').textContent = label;
  document.title = label + ' · hubsync';
  favicon(state);
  document.body.classList.toggle('stale', state === 'unreachable');
  if (label !== shownState) {
    // announced once per change, not at every refresh
    $('state-live').textContent = label;
    shownState = label;
  }
  const down = state === 'unreachable';
  for (const b of document.querySelectorAll('button, input, select')) {
    if (b.id === 'undo' || b.closest('#settled')) continue;
    if (down) { if (!b.disabled) { b.disabled = true; b.dataset.downDisabled = '1'; } }
    else if (b.dataset.downDisabled) { b.disabled = false; delete b.dataset.downDisabled; }
  }
  $('sync-now').disabled = down || state === 'syncing';
}

// ---- status ----

function renderStatus(st) {
  lastStatus = st;
  const [state, label] = pageState(st);
  showState(state, label);

  const who = [st.username && 'User ' + st.username].filter(Boolean);
  $('who').textContent = who.join(' · ');
  $('master').replaceChildren(pathNode(st.nasDbPath || '–'));
  const server = st.masterKind === 'server';
  if (server) $('master').append(' (sync server)');
  for (const el of document.querySelectorAll('.server-only')) el.hidden = !server;
  if (server) renderRealtime(st);
  $('tables').textContent = (st.trackedTables || []).join(', ') || '–';
  const np = st.pendingChanges || 0;
  $('pending').textContent = np ? plural(np, 'change') + ' made here, sent with the next sync' : 'nothing';
  renderTimes();

  const stats = st.stats || {};
  $('last-stats').textContent = st.lastSyncTime
    ? 'pulled ' + sumCounts(stats.pulled) + describeCounts(stats.pulled) +
      ', pushed ' + sumCounts(stats.pushed) + describeCounts(stats.pushed) +
      ', ' + plural(stats.conflicts || 0, 'conflict')
    : '–';

  if (state === 'offline' || state === 'error') {
    let text = st.lastError || 'the last sync failed';
    const at = parseTime(st.lastAttemptTime);
    if (state === 'offline' && st.offlineSince) {
      const since = parseTime(st.offlineSince);
      text = 'The master cannot be reached since ' + clock(since) + ' (' + ago(since) + '): ' + text;
    } else if (at) {
      text = 'The sync at ' + clock(at) + ' failed: ' + text;
    } else {
      // an error the daemon did not see itself: the last sync before it started
      text = 'The last sync failed' + lastFailureTime() + ': ' + text;
    }
    if (st.nextSyncTime) text += '\nhubsync tries again at ' + clock(parseTime(st.nextSyncTime)) + '.';
    else if (st.paused) text += '\nScheduled sync is paused: press Sync now to try again.';
    showError(state === 'offline' ? 'Offline' : 'Sync problem', text);
  } else {
    hideError();
  }

  if (document.activeElement !== $('interval') && !$('interval').dataset.dirty) $('interval').value = st.intervalMinutes ?? 0;
  $('pause').textContent = st.paused ? 'Resume scheduled sync' : 'Pause scheduled sync';
  $('pause').setAttribute('aria-pressed', st.paused ? 'true' : 'false');
  $('pause-msg').textContent = st.paused ? 'Scheduled sync is paused; Sync now still works.' : '';
  if (st.isSyncing) startProgress(st.progress);
  $('updated').textContent = 'Updated ' + new Date().toLocaleTimeString() + '.';
  $('version').textContent = st.version ? 'hubsync ' + st.version + (st.uptimeSeconds != null ? ', running for ' + span(st.uptimeSeconds) : '') + '.' : '';
}

// A server master: the real-time link and when rows last moved.
const LINK = {
  connected: 'live: changes arrive within seconds',
  connecting: 'connecting…',
  paused: 'closed while scheduled sync is paused',
  off: 'off',
};
function renderRealtime(st) {
  const rt = st.realtime || { state: 'off' };
  let text = LINK[rt.state] || rt.state;
  if (rt.state === 'reconnecting') {
    const since = parseTime(rt.since);
    text = 'reconnecting' + (since ? ' since ' + clock(since) : '') + (rt.lastError ? ': ' + rt.lastError : '');
  }
  $('realtime').textContent = text;
  $('realtime').dataset.state = rt.state;
  const when = (t) => { const d = parseTime(t); return d ? ago(d) + ' (' + clock(d) + ')' : 'not yet'; };
  $('push-pull').textContent = 'sent ' + when(st.lastPushTime) + ', received ' + when(st.lastPullTime);
}

let lastHistory = [];
function lastFailureTime() {
  const r = lastHistory.find((h) => h.status !== 'success');
  const d = r && parseTime(r.timestamp);
  return d ? ' at ' + clock(d) : '';
}

// The "5 min ago" texts, also redrawn between refreshes.
function renderTimes() {
  const st = lastStatus;
  if (!st) return;
  const last = parseTime(st.lastSyncTime);
  const lastEl = $('last-sync');
  lastEl.textContent = last ? ago(last) + ' (' + clock(last) + ')' : 'never';
  lastEl.title = last ? fullTime(last) : '';
  const next = parseTime(st.nextSyncTime);
  const nextEl = $('next-sync');
  if (!reachable) nextEl.textContent = 'unknown (no answer from hubsync)';
  else if (st.isSyncing || busy) nextEl.textContent = 'running now';
  else if (st.paused) nextEl.textContent = 'paused (only when asked)';
  else if (!st.scheduledSync && !next) nextEl.textContent = 'off (only when asked)';
  else if (next) nextEl.textContent = clock(next) + (next > Date.now() ? ' (in ' + span((next - Date.now()) / 1000) + ')' : ' (due)');
  else nextEl.textContent = '–';
}

function showError(title, text) {
  $('error-title').textContent = title;
  $('error-text').textContent = text;
  $('error-box').hidden = false;
  notice(''); // an old success message never stands next to an error
}

function hideError() {
  $('error-box').hidden = true;
}

function notice(text) {
  const n = $('notice');
  n.textContent = text;
  n.hidden = !text;
}

// ---- live progress ----

function progressText(p) {
  if (!p || !p.phase) return 'Starting…';
  let text;
  if (p.phase === 'lock') {
    // table: who holds the master (library: "HOST (process PID)"); rows: ms waited
    text = 'Waiting for the master: ' + (p.table || 'another PC') + ' is syncing';
    if (p.lockWaitMs) text += '; hubsync waits up to ' + span(p.lockWaitMs / 1000);
  } else {
    text = { push: 'Sending changes', pull: 'Receiving changes', done: 'Finishing' }[p.phase] || 'Working';
    if (p.table) text += ' · ' + p.table;
    if (p.rows) text += ' · ' + plural(p.rows, 'row');
  }
  if (p.elapsedMs !== undefined) text += ' · ' + span(p.elapsedMs / 1000);
  return text;
}

function startProgress(p) {
  $('progress').hidden = false;
  $('progress-text').textContent = progressText(p);
  if (progressTimer) return;
  progressTimer = setInterval(async () => {
    const res = await api('GET', '/api/sync/progress');
    if (res.ok && res.body.isSyncing) {
      $('progress-text').textContent = progressText(res.body);
    } else if (res.ok && !busy) {
      stopProgress();
      refresh();
    }
  }, PROGRESS_MS);
}

function stopProgress() {
  clearInterval(progressTimer);
  progressTimer = null;
  $('progress').hidden = true;
  $('progress-text').textContent = 'Starting…';
}

// ---- actions ----

async function syncNow() {
  busy = true;
  notice('');
  if (lastStatus) renderStatus(lastStatus);
  startProgress(null);
  const res = await api('POST', '/api/sync/manual', {});
  busy = false;
  stopProgress();
  if (res.status === 409) {
    notice('A sync is already running; the page shows it when it ends.');
  } else if (res.ok && res.body.success) {
    const s = res.body.stats || {};
    notice('Sync completed in ' + (res.body.durationMs != null ? seconds(res.body.durationMs) : res.body.duration) +
      ': pulled ' + sumCounts(s.pulled) + ', pushed ' + sumCounts(s.pushed) + ', ' +
      plural(s.conflicts || 0, 'conflict') + '.');
  } else if (res.status !== 0) {
    showError('Sync problem', res.body.message || res.body.error || 'the sync failed');
  }
  await refresh();
}

async function saveSchedule(ev) {
  ev.preventDefault();
  const minutes = Number($('interval').value);
  const res = await api('PUT', '/api/sync/schedule', { intervalMinutes: minutes });
  delete $('interval').dataset.dirty;
  $('schedule-msg').textContent = res.ok
    ? (minutes ? 'Saved: every ' + minutes + ' minutes.' : 'Saved: scheduled sync is off.')
    : res.body.error;
  $('schedule-msg').className = res.ok ? 'muted' : 'bad';
  await refresh();
}

async function togglePause() {
  const paused = !(lastStatus && lastStatus.paused);
  const res = await api('PUT', '/api/sync/pause', { paused });
  if (!res.ok) $('pause-msg').textContent = res.body.error;
  await refresh();
  $('pause').focus();
}

// ---- conflicts ----

function rowKey(c) {
  return c.table + '\u0000' + JSON.stringify(c.pk);
}

function sideName(c, side) {
  const me = lastStatus && lastStatus.username;
  const user = side === 'local' ? c.local_user : c.remote_user;
  if (user && user === me && side === 'local') return 'yours';
  return user ? user + "'s" : side === 'local' ? 'this side' : 'the other side';
}

function where(c) {
  return c.table + ' ' + keyText(c.pk) + (c.column ? ' · ' + c.column : ' (whole row)');
}

// One side of a conflict. A whole-row side lists the columns, the ones
// that differ from the other side marked (and first).
function valueBox(c, side) {
  const isWinner = c.winner === side;
  const box = el('div', 'value' + (isWinner ? ' winner' : ''));
  box.append(el('h4', null, (sideName(c, side) === 'yours' ? 'Yours' : sideName(c, side).replace(/'s$/, '')) + (isWinner ? ' · in use now' : '')));
  const v = side === 'local' ? c.local_value : c.remote_value;
  const other = side === 'local' ? c.remote_value : c.local_value;
  if (c.column !== null) {
    // a path inside a JSON column (pricing.margin, bom[sku=A-1]): the
    // values are JSON text, null where that side has nothing there
    const inJson = /[.[]/.test(c.column);
    box.append(el('pre', null, inJson && v === null ? '(not there)' : showValue(v)));
    return box;
  }
  if (v === null || typeof v !== 'object') {
    box.append(el('pre', null, v === null ? '(row deleted)' : showValue(v)));
    return box;
  }
  const diff = [], same = [];
  for (const [k, x] of Object.entries(v)) {
    const differs = !other || typeof other !== 'object' || JSON.stringify(other[k]) !== JSON.stringify(x);
    (differs ? diff : same).push([k, x]);
  }
  const list = el('dl', 'row-values');
  for (const [k, x] of diff) {
    const dt = el('dt', 'differs', k);
    dt.append(el('span', 'sr-only', ' (differs)'));
    list.append(dt, el('dd', 'differs', showValue(x)));
  }
  box.append(list);
  if (same.length) {
    const more = el('details', 'same-cols');
    more.append(el('summary', null, plural(same.length, 'column') + ' the same on both sides'));
    const sl = el('dl', 'row-values');
    for (const [k, x] of same) sl.append(el('dt', null, k), el('dd', null, showValue(x)));
    more.append(sl);
    box.append(more);
  }
  return box;
}

function conflictItem(c) {
  const li = el('li', 'conflict');
  li.dataset.id = c.id;
  const head = el('div', 'where', c.column ? c.column : 'whole row');
  const when = parseTime(c.detected_at);
  if (when) head.append(el('span', 'muted small', ' · found ' + ago(when)));
  li.append(head);
  const values = el('div', 'values');
  const sides = c.winner === 'remote' ? ['remote', 'local'] : ['local', 'remote'];
  for (const s of sides) values.append(valueBox(c, s));
  li.append(values);
  const actions = el('div', 'actions');
  const loser = c.winner === 'local' ? 'remote' : 'local';
  const keepIt = el('button', 'keep-winner keep-' + c.winner, 'Keep ' + sideName(c, c.winner) + ' (in use)');
  const useOther = el('button', 'keep-loser keep-' + loser + ' secondary', 'Use ' + sideName(c, loser) + ' instead');
  keepIt.type = useOther.type = 'button';
  keepIt.setAttribute('aria-label', keepIt.textContent + ' for ' + where(c));
  useOther.setAttribute('aria-label', useOther.textContent + ' for ' + where(c));
  keepIt.addEventListener('click', () => decide([{ conflict: c, keep: c.winner }], li));
  useOther.addEventListener('click', () => decide([{ conflict: c, keep: loser }], li));
  actions.append(keepIt, useOther);
  li.append(actions);
  return li;
}

function filteredConflicts() {
  const t = $('cf-table').value, u = $('cf-user').value, k = $('cf-key').value.trim().toLowerCase();
  const waiting = new Set((pendingDecisions ? pendingDecisions.items : []).map((d) => d.conflict.id));
  return conflicts.filter((c) => !waiting.has(c.id) &&
    (!t || c.table === t) && (!u || c.local_user === u || c.remote_user === u) &&
    (!k || keyText(c.pk).toLowerCase().includes(k)));
}

function fillSelect(sel, values) {
  const cur = sel.value;
  const want = [''].concat([...new Set(values)].filter(Boolean).sort());
  const have = [...sel.options].map((o) => o.value);
  if (JSON.stringify(want) !== JSON.stringify(have)) {
    sel.replaceChildren(...want.map((v) => { const o = el('option', null, v || 'all'); o.value = v; return o; }));
  }
  sel.value = want.includes(cur) ? cur : '';
}

let drawnConflicts = '';
function renderConflicts(force) {
  fillSelect($('cf-table'), conflicts.map((c) => c.table));
  fillSelect($('cf-user'), conflicts.flatMap((c) => [c.local_user, c.remote_user]));
  const shown = filteredConflicts();
  const waiting = pendingDecisions ? pendingDecisions.items.length : 0;
  const open = conflicts.length - waiting;
  $('conflict-count').textContent = open;
  $('conflict-count').className = 'count' + (open ? ' some' : '');
  $('no-conflicts').hidden = open > 0;
  $('conflicts-help').hidden = open === 0;
  $('conflict-tools').hidden = open < 2;
  $('cf-shown').hidden = shown.length === open;
  $('cf-shown').textContent = 'Showing ' + shown.length + ' of ' + open + '.';
  $('cf-bulk').textContent = 'Keep the values in use (' + shown.length + ')';
  $('cf-bulk').disabled = !shown.length || !reachable;

  // Redraw only when something changed: a refresh must not close what the
  // user opened or take the keyboard focus away.
  const sig = JSON.stringify(shown.map((c) => c.id)) + JSON.stringify(lastStatus && lastStatus.username);
  if (!force && sig === drawnConflicts) return;
  drawnConflicts = sig;
  const focused = document.activeElement && document.activeElement.closest && document.activeElement.closest('#conflicts li.conflict');
  const focusKey = focused ? focused.dataset.id + '|' + document.activeElement.className : null;

  const groups = new Map();
  for (const c of shown) {
    const k = rowKey(c);
    if (!groups.has(k)) groups.set(k, []);
    groups.get(k).push(c);
  }
  const wrap = $('conflicts');
  wrap.replaceChildren();
  const autoOpen = groups.size <= 3;
  for (const [k, list] of groups) {
    const c0 = list[0];
    const g = el('details', 'group');
    g.dataset.key = k;
    g.open = groupsTouched ? openGroups.has(k) : autoOpen;
    g.addEventListener('toggle', () => { groupsTouched = true; if (g.open) openGroups.add(k); else openGroups.delete(k); });
    const sum = el('summary');
    sum.append(el('span', 'row-name', c0.table + ' · ' + keyText(c0.pk)));
    const cols = [...new Set(list.map((c) => c.column || 'whole row'))];
    const users = [...new Set(list.flatMap((c) => [c.local_user, c.remote_user]).filter(Boolean))];
    sum.append(el('span', 'muted small', ' — ' + cols.join(', ') + ' · ' + users.join(' and ') +
      (list.length > 1 ? ' · ' + list.length + ' conflicts' : '')));
    g.append(sum);
    const byCol = {};
    for (const c of list) (byCol[c.column] = byCol[c.column] || []).push(c);
    if (Object.values(byCol).some((v) => v.length > 1)) {
      g.append(el('p', 'note small', 'The same value was in conflict more than once: decide them in order (oldest first); the last decision is the one that stays.'));
    }
    const ul = el('ul', 'conflict-list');
    for (const c of list.slice().sort((a, b) => a.id - b.id)) ul.append(conflictItem(c));
    g.append(ul);
    wrap.append(g);
  }
  if (focusKey) {
    const [id, cls] = focusKey.split('|');
    const again = wrap.querySelector('li.conflict[data-id="' + id + '"] button.' + cls.split(' ')[0]);
    if (again) again.focus();
  }
}

// Decide conflicts: hidden at once, sent after UNDO_MS unless undone.
function decide(items, li) {
  flushDecisions(); // one undo at a time: an earlier choice is sent now
  const next = li && nextFocusTarget(li);
  const one = li ? items[0] : null;
  const text = one
    ? 'Kept ' + sideName(one.conflict, one.keep).replace(/^yours$/, 'your') + ' value for ' + where(one.conflict) + '.'
    : 'Kept the values in use for ' + plural(items.length, 'conflict') + '.';
  pendingDecisions = { items, text, timer: setTimeout(flushDecisions, UNDO_MS) };
  $('undo-text').textContent = text + ' Sent in a few seconds; everyone gets it with the next sync.';
  $('undo-bar').hidden = false;
  renderConflicts(true);
  const target = next && document.querySelector('li.conflict[data-id="' + next + '"] button.keep-winner');
  (target || $('undo')).focus();
}

function nextFocusTarget(li) {
  const all = [...document.querySelectorAll('#conflicts li.conflict')];
  const i = all.indexOf(li);
  const n = all[i + 1] || all[i - 1];
  return n ? n.dataset.id : null;
}

function undo() {
  if (!pendingDecisions) return;
  clearTimeout(pendingDecisions.timer);
  const first = pendingDecisions.items[0].conflict.id;
  pendingDecisions = null;
  $('undo-bar').hidden = true;
  notice('Undone: nothing was changed.');
  renderConflicts(true);
  const b = document.querySelector('li.conflict[data-id="' + first + '"] button.keep-winner');
  if (b) { b.closest('details').open = true; b.focus(); }
}

async function flushDecisions(leaving) {
  const p = pendingDecisions;
  if (!p) return;
  clearTimeout(p.timer);
  pendingDecisions = null;
  $('undo-bar').hidden = true;
  const hadFocus = document.activeElement === $('undo');
  let failed = null;
  for (const d of p.items) {
    const res = await api('POST', '/api/sync/conflicts/' + d.conflict.id + '/resolve', { keep: d.keep },
      leaving ? { keepalive: true } : undefined);
    if (!res.ok && res.status !== 404) failed = res.body.error;
  }
  if (leaving) return;
  if (failed) showError('Conflict not saved', failed);
  else notice(p.text + ' Everyone gets it with the next sync.');
  await refresh();
  if (hadFocus) $('conflicts-h').focus();
}

function bulkKeep() {
  const shown = filteredConflicts();
  if (!shown.length) return;
  decide(shown.map((c) => ({ conflict: c, keep: c.winner })), null);
}

function renderSettled(list) {
  const ul = $('settled-list');
  ul.replaceChildren();
  const settled = list.filter((c) => c.resolved).slice(-50).reverse();
  $('settled').hidden = settled.length === 0;
  for (const c of settled) {
    const when = parseTime(c.resolved_at);
    ul.append(el('li', null, where(c) + ': ' + showValue(c.winner === 'local' ? c.local_value : c.remote_value) +
      ' was in use' + (when ? '; settled ' + clock(when) : '')));
  }
}

// ---- the office's PCs ----

function renderPeers(list) {
  peers = list;
  const ul = $('peers');
  ul.replaceChildren();
  for (const p of list) {
    const li = el('li', 'peer' + (p.thisPc ? ' this-pc' : ''));
    const name = el('span', 'peer-user', p.user || '(unknown user)');
    if (p.thisPc) name.append(el('span', 'badge', 'this PC'));
    li.append(name);
    const last = parseTime(p.lastSyncTime);
    const state = !last ? 'never synced' : p.behind ? 'has changes to get' : 'up to date';
    const st = el('span', 'peer-state ' + (!last ? 'never' : p.behind ? 'behind' : 'current'), state);
    li.append(st);
    const when = el('span', 'peer-when muted', last ? 'last sync ' + ago(last) + ' (' + clock(last) + ')' : '');
    if (last) when.title = fullTime(last);
    li.append(when);
    li.append(el('span', 'peer-site muted small', 'PC ' + String(p.site).slice(0, 8)));
    ul.append(li);
  }
}

// ---- recent changes ----

function changeText(r) {
  const ch = r.changes && typeof r.changes === 'object' ? Object.entries(r.changes) : [];
  const book = new Set(['updated_at', 'updated_by', 'synced_at']);
  const main = ch.filter(([k]) => !book.has(k));
  const parts = (main.length ? main : ch).map(([k, pair]) => {
    if (!Array.isArray(pair)) return k;
    const [o, n] = pair;
    if (r.op === 'insert' || o === null) return k + ' = ' + showValue(n);
    if (r.op === 'delete') return k + ' was ' + showValue(o);
    return k + ': ' + showValue(o) + ' → ' + showValue(n);
  });
  if (!parts.length && Array.isArray(r.columns) && r.columns.length) parts.push(r.columns.join(', ') + ' changed');
  const verb = { insert: 'added', update: 'changed', delete: 'deleted' }[r.op] || r.op;
  return verb + (parts.length ? ': ' + parts.join('; ') : '');
}

function cell(label, content, cls) {
  const td = el('td', cls);
  td.dataset.label = label;
  if (content instanceof Node) td.append(content); else td.textContent = content;
  return td;
}

let logLimit = LOG_PAGE;
async function loadChanges(more) {
  logLimit = more === true ? logLimit + LOG_PAGE : more === false ? logLimit : LOG_PAGE;
  const q = new URLSearchParams({ limit: String(logLimit) });
  for (const [id, name] of [['ch-table', 'table'], ['ch-user', 'user'], ['ch-key', 'key']]) {
    const v = $(id).value.trim();
    if (v) q.set(name, v);
  }
  const res = await api('GET', '/api/sync/log?' + q);
  if (!res.ok) {
    if (res.status) $('changes-msg').textContent = res.body.error;
    return;
  }
  const rows = res.body;
  const tbody = $('changes').tBodies[0];
  tbody.replaceChildren();
  $('changes-msg').textContent = rows.length ? (rows.length === logLimit ? 'The newest ' + logLimit + ' changes.' : '') : 'No changes match.';
  $('changes-more').hidden = rows.length < logLimit;
  for (const r of rows) {
    const tr = el('tr', r.pending ? 'pending' : '');
    const at = parseTime(r.at);
    const whenCell = cell('When', at ? clock(at) : r.at || '', 'when');
    if (at) whenCell.title = fullTime(at);
    const rowCell = cell('Row', r.table + ' · ' + (r.key || keyText(r.pk)));
    const what = el('span', null, changeText(r));
    const chCell = cell('Change', what);
    if (r.pending) chCell.append(el('span', 'badge waiting', 'waiting to be sent'));
    tr.append(whenCell, cell('Who', r.user || ''), rowCell, chCell);
    tbody.append(tr);
  }
}

function fillChangeFilters() {
  const st = lastStatus || {};
  fillSelect($('ch-table'), st.trackedTables || []);
  fillSelect($('ch-user'), peers.map((p) => p.user).concat(st.username ? [st.username] : []));
}

// ---- history ----

const TRIGGERS = { manual: 'Sync now', scheduled: 'schedule', retry: 'retry', start: 'daemon start', command: 'command line',
  change: 'a change here', realtime: 'the server' };

function renderHistory(rows) {
  lastHistory = rows;
  const tbody = $('history').tBodies[0];
  tbody.replaceChildren();
  $('no-history').hidden = rows.length > 0;
  for (const id of ['history', 'chart', 'legend']) $(id).hidden = rows.length === 0;
  for (const r of rows) {
    const tr = el('tr', 'status-' + r.status);
    const when = parseTime(r.timestamp);
    const whenCell = cell('When', when ? clock(when) : r.timestamp, 'when');
    if (when) whenCell.title = fullTime(when);
    tr.append(whenCell, cell('Started by', TRIGGERS[r.trigger] || r.trigger || '–'),
      cell('Result', r.status, 'result'),
      cell('Pulled', String(r.records_pulled ?? 0), 'num'), cell('Pushed', String(r.records_pushed ?? 0), 'num'),
      cell('Conflicts', String(r.conflicts ?? 0), 'num'),
      cell('Took', seconds(r.duration_ms), 'num'),
      cell('Message', r.error_message || '', 'message'));
    tbody.append(tr);
  }
  drawChart(rows.slice(0, 50).reverse());
}

// Rows pulled and pushed per sync, oldest on the left, side by side on a
// log scale (one 1,277-row push does not flatten the rest), with the axis
// and each value; a failed sync is a red mark. Drawn in pixels of the
// chart's own width, so text is never stretched.
function drawChart(rows) {
  const NS = 'http://www.w3.org/2000/svg';
  const box = $('chart');
  const W = Math.max(280, Math.round(box.clientWidth || 600)), H = 170;
  const left = 40, top = 16, bottom = 22, plotH = H - top - bottom, plotW = W - left - 6;
  const svg = document.createElementNS(NS, 'svg');
  svg.setAttribute('viewBox', '0 0 ' + W + ' ' + H);
  svg.setAttribute('width', W);
  svg.setAttribute('height', H);
  svg.setAttribute('role', 'img');
  const max = Math.max(1, ...rows.map((r) => Math.max(r.records_pulled || 0, r.records_pushed || 0)));
  const failed = rows.filter((r) => r.status === 'error').length;
  const label = 'Rows moved by the last ' + plural(rows.length, 'sync') + ', oldest first: at most ' +
    num(max) + ' in one sync' + (failed ? '; ' + plural(failed, 'sync') + ' failed' : '') + '. The table below lists each.';
  svg.setAttribute('aria-label', label);
  const title = document.createElementNS(NS, 'title');
  title.textContent = label;
  svg.append(title);
  const decades = Math.max(1, Math.ceil(Math.log10(max + 1)));
  const y = (v) => top + plotH - (Math.log10(v + 1) / decades) * plotH;
  const mk = (tag, attrs, text) => {
    const e = document.createElementNS(NS, tag);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
    if (text !== undefined) e.textContent = text;
    return e;
  };
  for (let d = 0; d <= decades; d++) {
    const v = d === 0 ? 0 : Math.pow(10, d);
    const yy = d === 0 ? top + plotH : y(v);
    svg.append(mk('line', { x1: left, x2: W - 6, y1: yy, y2: yy, stroke: '#dde1e7', class: 'grid' }));
    svg.append(mk('text', { x: left - 5, y: yy + 4, 'text-anchor': 'end', class: 'axis' }, v >= 1000 ? v / 1000 + 'k' : String(v)));
  }
  const slots = Math.max(rows.length, 10);
  const slot = plotW / slots, bw = Math.max(2, Math.min(18, slot * 0.38));
  const showValues = slot >= 26;
  rows.forEach((r, i) => {
    const g = mk('g', { class: 'sync' });
    const when = parseTime(r.timestamp);
    g.append(mk('title', {}, (when ? clock(when) : r.timestamp) + ': ' + r.status + ', pulled ' +
      (r.records_pulled || 0) + ', pushed ' + (r.records_pushed || 0)));
    const x0 = left + i * slot + slot / 2 - bw;
    if (r.status === 'error') {
      g.append(mk('rect', { x: x0, y: top, width: bw * 2, height: plotH, fill: '#c53030', opacity: 0.85, class: 'bar-failed' }));
    } else {
      [['records_pulled', '#2b6cb0', 'bar-pulled', 0], ['records_pushed', '#2f855a', 'bar-pushed', bw]].forEach(([k, color, cls, dx]) => {
        const v = r[k] || 0;
        const yy = y(v);
        g.append(mk('rect', { x: x0 + dx, y: yy, width: bw - 1, height: Math.max(v ? 2 : 1, top + plotH - yy), fill: v ? color : '#a0aec0', class: v ? cls : 'bar-empty' }));
        if (v && showValues) g.append(mk('text', { x: x0 + dx + bw / 2, y: yy - 3, 'text-anchor': 'middle', class: 'value' }, num(v)));
      });
    }
    svg.append(g);
  });
  const first = rows.length && parseTime(rows[0].timestamp), last = rows.length && parseTime(rows[rows.length - 1].timestamp);
  if (first) svg.append(mk('text', { x: left, y: H - 5, class: 'axis' }, clock(first, false)));
  if (last && rows.length > 1) svg.append(mk('text', { x: W - 6, y: H - 5, 'text-anchor': 'end', class: 'axis' }, clock(last, false)));
  box.replaceChildren(svg);
}

// ---- refresh ----

async function refresh() {
  const [st, hist, conf, all, peer] = await Promise.all([
    api('GET', '/api/sync/status'),
    api('GET', '/api/sync/history?limit=50'),
    api('GET', '/api/sync/conflicts'),
    api('GET', '/api/sync/conflicts?all=1'),
    api('GET', '/api/sync/peers'),
  ]);
  if (!st.ok) {
    if (st.status === 0) {
      if (reachable) unreachableSince = new Date();
      reachable = false;
      stopProgress();
      showState(...pageState(lastStatus || {}));
      renderTimes();
      showError('No answer', 'The hubsync daemon does not answer' + (unreachableSince ? ' since ' + clock(unreachableSince) : '') +
        '. Start it again (hubsync daemon DB); this page retries every 30 seconds. What is shown below may be out of date.');
    } else {
      showState('unreachable', 'No answer from hubsync');
      showError('Cannot read the status', st.body.error);
    }
    return;
  }
  reachable = true;
  unreachableSince = null;
  if (hist.ok) lastHistory = hist.body;
  renderStatus(st.body);
  if (hist.ok) renderHistory(hist.body);
  if (peer.ok) renderPeers(peer.body);
  if (conf.ok) { conflicts = conf.body; renderConflicts(); }
  if (all.ok) renderSettled(all.body);
  fillChangeFilters();
  await loadChanges(false);
}

document.addEventListener('DOMContentLoaded', () => {
  $('sync-now').addEventListener('click', syncNow);
  $('schedule-form').addEventListener('submit', saveSchedule);
  $('interval').addEventListener('input', () => { $('schedule-msg').textContent = ''; $('interval').dataset.dirty = '1'; });
  $('pause').addEventListener('click', togglePause);
  for (const id of ['cf-table', 'cf-user']) $(id).addEventListener('change', () => renderConflicts(true));
  $('cf-key').addEventListener('input', () => renderConflicts(true));
  $('cf-expand').addEventListener('click', () => { groupsTouched = true; for (const g of document.querySelectorAll('#conflicts details.group')) g.open = true; });
  $('cf-collapse').addEventListener('click', () => { groupsTouched = true; for (const g of document.querySelectorAll('#conflicts details.group')) g.open = false; });
  $('cf-bulk').addEventListener('click', bulkKeep);
  $('undo').addEventListener('click', undo);
  $('changes-form').addEventListener('submit', (ev) => { ev.preventDefault(); loadChanges(); });
  for (const id of ['ch-table', 'ch-user']) $(id).addEventListener('change', () => loadChanges());
  $('changes-more').addEventListener('click', () => loadChanges(true));
  $('conflicts-h').tabIndex = -1;
  window.addEventListener('pagehide', () => flushDecisions(true));
  let resizeTimer = null;
  window.addEventListener('resize', () => { clearTimeout(resizeTimer); resizeTimer = setTimeout(() => drawChart(lastHistory.slice(0, 50).reverse()), 150); });
  refresh();
  setInterval(refresh, REFRESH_MS);
  setInterval(renderTimes, 15000);
});
