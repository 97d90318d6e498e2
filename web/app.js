// The hubsync status page: reads the daemon's HTTP API (DESIGN.md 3.4) and
// draws it. Plain browser JavaScript, no libraries; every value from the API
// is put on the page as text (textContent), never as HTML.
'use strict';

const REFRESH_MS = 30000;
const PROGRESS_MS = 500;

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
let progressTimer = null;
let busy = false; // a request of ours that changes state is in flight

// ---- talking to the daemon ----

async function api(method, path, body) {
  const headers = {};
  if (token) headers.Authorization = 'Bearer ' + token;
  const init = { method, headers };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path, init);
  } catch (e) {
    return { ok: false, status: 0, body: { error: 'cannot reach the hubsync daemon (is it running?)' } };
  }
  let data = null;
  try { data = await res.json(); } catch (e) { data = { error: 'the daemon answered ' + res.status + ' without JSON' }; }
  return { ok: res.ok, status: res.status, body: data };
}

// ---- time ----

// sync_log times are SQLite's CURRENT_TIMESTAMP ("2025-01-15 10:30:00",
// UTC); the API's own are ISO ("2025-01-15T10:30:00.000Z").
function parseTime(s) {
  if (!s) return null;
  if (/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)?$/.test(s)) s = s.replace(' ', 'T') + 'Z';
  const d = new Date(s);
  return isNaN(d) ? null : d;
}

function span(seconds) {
  seconds = Math.round(Math.abs(seconds));
  if (seconds < 60) return seconds + 's';
  const m = Math.round(seconds / 60);
  if (m < 60) return m + 'm';
  const h = Math.floor(m / 60);
  if (h < 48) return h + 'h' + (m % 60 ? ' ' + (m % 60) + 'm' : '');
  return Math.round(h / 24) + 'd';
}

function ago(d) {
  const s = (Date.now() - d.getTime()) / 1000;
  return s < 45 ? 'just now' : span(s) + ' ago';
}

function clock(d) {
  const today = new Date().toDateString() === d.toDateString();
  return today ? d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })
    : d.toLocaleString([], { dateStyle: 'medium', timeStyle: 'short' });
}

// ---- status ----

function pageState(st) {
  if (st.isSyncing) return ['syncing', 'Syncing…'];
  if (st.offline) return ['offline', 'Offline'];
  if (st.lastError) return ['error', 'Sync failed'];
  if (!st.lastSyncTime) return ['never', 'Never synced'];
  return ['ok', 'Up to date'];
}

function sumCounts(obj) {
  return Object.values(obj || {}).reduce((a, b) => a + (Number(b) || 0), 0);
}

function plural(n, word) {
  return n + ' ' + word + (n === 1 ? '' : 's');
}

function describeCounts(obj) {
  const parts = Object.entries(obj || {}).filter(([, n]) => n).map(([t, n]) => t + ' ' + n);
  return parts.length ? ' (' + parts.join(', ') + ')' : '';
}

function renderStatus(st) {
  lastStatus = st;
  const [state, label] = pageState(st);
  const ind = $('indicator');
  ind.className = 'indicator state-' + state;
  ind.dataset.state = state;
  $('state-label').textContent = label;
  $('sync-now').disabled = st.isSyncing || busy;

  const who = [st.username && 'User ' + st.username, st.dbPath || st.replicaPath].filter(Boolean);
  $('who').textContent = who.join(' · ');
  $('master').textContent = st.nasDbPath || '–';
  renderTimes();

  const stats = st.stats || {};
  if (st.lastSyncTime) {
    $('last-stats').textContent = 'pulled ' + sumCounts(stats.pulled) + describeCounts(stats.pulled) +
      ', pushed ' + sumCounts(stats.pushed) + describeCounts(stats.pushed) +
      ', ' + plural(stats.conflicts || 0, 'conflict');
  } else {
    $('last-stats').textContent = '–';
  }

  if (state === 'offline' || state === 'error') {
    let text = st.lastError || 'the last sync failed';
    if (state === 'offline' && st.offlineSince) {
      const since = parseTime(st.offlineSince);
      text = 'The master cannot be reached since ' + clock(since) + ' (' + ago(since) + '): ' + text;
    }
    if (st.nextSyncTime) text += '\nhubsync tries again at ' + clock(parseTime(st.nextSyncTime)) + '.';
    showError(text);
  } else {
    hideError();
  }

  if (document.activeElement !== $('interval')) $('interval').value = st.intervalMinutes ?? 0;
  if (st.isSyncing) startProgress(st.progress);
  $('updated').textContent = 'Updated ' + new Date().toLocaleTimeString() + '.';
}

// The "5m ago" texts, also redrawn between refreshes.
function renderTimes() {
  const st = lastStatus;
  if (!st) return;
  const last = parseTime(st.lastSyncTime);
  const lastEl = $('last-sync');
  lastEl.textContent = last ? ago(last) : 'never';
  lastEl.title = last ? last.toLocaleString() : '';
  const next = parseTime(st.nextSyncTime);
  const nextEl = $('next-sync');
  if (st.isSyncing) nextEl.textContent = 'now';
  else if (!st.scheduledSync && !next) nextEl.textContent = 'off (only when asked)';
  else if (next) nextEl.textContent = clock(next) + (next > Date.now() ? ' (in ' + span((next - Date.now()) / 1000) + ')' : ' (due)');
  else nextEl.textContent = '–';
}

function showError(text) {
  $('error-text').textContent = text;
  $('error-box').hidden = false;
}

function hideError() {
  $('error-box').hidden = true;
}

function notice(text) {
  const el = $('notice');
  el.textContent = text;
  el.hidden = !text;
}

// ---- live progress ----

const PHASES = { lock: 'Waiting for the master', push: 'Sending changes', pull: 'Receiving changes', done: 'Finishing' };

function renderProgress(p) {
  $('progress').hidden = false;
  let text = PHASES[p.phase] || 'Starting';
  if (p.table) text += ' · ' + p.table;
  if (p.rows) text += ' · ' + p.rows + ' rows';
  if (p.elapsedMs !== undefined) text += ' · ' + (p.elapsedMs / 1000).toFixed(1) + ' s';
  $('progress-text').textContent = text;
}

function startProgress(p) {
  if (p) renderProgress(p);
  else $('progress').hidden = false;
  if (progressTimer) return;
  progressTimer = setInterval(async () => {
    const res = await api('GET', '/api/sync/progress');
    if (res.ok && res.body.isSyncing) {
      renderProgress(res.body);
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
}

// ---- actions ----

async function syncNow() {
  busy = true;
  notice('');
  $('sync-now').disabled = true;
  const ind = $('indicator');
  ind.className = 'indicator state-syncing';
  ind.dataset.state = 'syncing';
  $('state-label').textContent = 'Syncing…';
  $('next-sync').textContent = 'now';
  startProgress();
  const res = await api('POST', '/api/sync/manual', {});
  busy = false;
  stopProgress();
  if (res.status === 409) {
    notice('A sync is already running; the page shows it when it ends.');
  } else if (res.ok && res.body.success) {
    const s = res.body.stats || {};
    notice('Sync completed in ' + (res.body.duration || '?') + ': pulled ' + sumCounts(s.pulled) +
      ', pushed ' + sumCounts(s.pushed) + ', ' + plural(s.conflicts || 0, 'conflict') + '.');
  } else {
    notice('');
    showError(res.body.message || res.body.error || 'the sync failed');
  }
  await refresh();
}

async function saveSchedule(ev) {
  ev.preventDefault();
  const minutes = Number($('interval').value);
  const res = await api('PUT', '/api/sync/schedule', { intervalMinutes: minutes });
  $('schedule-msg').textContent = res.ok
    ? (minutes ? 'Saved: every ' + minutes + ' minutes.' : 'Saved: scheduled sync is off.')
    : res.body.error;
  $('interval').blur();
  await refresh();
}

async function resolve(conflict, keep) {
  const res = await api('POST', '/api/sync/conflicts/' + conflict.id + '/resolve', { keep });
  if (res.ok) {
    const user = keep === 'local' ? conflict.local_user : conflict.remote_user;
    const whose = lastStatus && user === lastStatus.username ? 'your' : (user ? user + "'s" : 'the');
    notice('Kept ' + whose + ' value for ' + where(conflict) +
      '. Everyone gets it with the next sync.');
  } else {
    showError(res.body.error);
  }
  await refresh();
}

// ---- conflicts ----

function where(c) {
  const key = Object.entries(c.pk || {}).map(([k, v]) => k + '=' + v).join(', ');
  return c.table + ' ' + key + (c.column ? ' · ' + c.column : ' (whole row)');
}

// A conflict value: a column's value, or for a whole-row conflict
// (column null) the row as "column: value" lines, null meaning deleted.
function showValue(v, wholeRow) {
  if (v === null || v === undefined) return wholeRow ? '(row deleted)' : '(empty)';
  if (typeof v === 'string') return v;
  if (wholeRow && typeof v === 'object') {
    return Object.entries(v).map(([k, x]) => k + ': ' + (x === null ? '' : typeof x === 'object' ? JSON.stringify(x) : x)).join('\n');
  }
  return JSON.stringify(v);
}

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

function valueBox(title, value, wholeRow, user, isWinner) {
  const box = el('div', 'value' + (isWinner ? ' winner' : ''));
  box.append(el('h3', null, title + (user ? ' · ' + user : '') + (isWinner ? ' · in use now' : '')));
  box.append(el('pre', null, showValue(value, wholeRow)));
  return box;
}

function renderConflicts(list) {
  const ul = $('conflicts');
  ul.replaceChildren();
  $('conflict-count').textContent = list.length;
  $('conflict-count').className = 'count' + (list.length ? ' some' : '');
  $('no-conflicts').hidden = list.length > 0;
  for (const c of list) {
    const li = el('li', 'conflict');
    li.dataset.id = c.id;
    li.append(el('div', 'where', where(c)));
    const when = parseTime(c.detected_at);
    if (when) li.append(el('div', 'muted', 'found ' + ago(when)));
    const values = el('div', 'values');
    // "local" is the side of the user who pushed the losing edit: this
    // replica's user when the conflict arose here, else someone else.
    const me = lastStatus && lastStatus.username;
    const localName = c.local_user === me ? 'Mine' : c.local_user || 'One side';
    const remoteName = c.remote_user === me ? 'Mine' : c.remote_user || 'Other side';
    const wholeRow = c.column === null;
    values.append(valueBox(localName, c.local_value, wholeRow, c.local_user === me ? me : '', c.winner === 'local'));
    values.append(valueBox(remoteName, c.remote_value, wholeRow, c.remote_user === me ? me : '', c.winner === 'remote'));
    li.append(values);
    const actions = el('div', 'actions');
    const keepLabel = (name) => name === 'Mine' ? 'Keep mine' : 'Keep ' + name + "'s";
    const mine = el('button', 'keep-local', keepLabel(localName));
    const theirs = el('button', 'keep-remote secondary', keepLabel(remoteName));
    mine.type = theirs.type = 'button';
    mine.addEventListener('click', () => resolve(c, 'local'));
    theirs.addEventListener('click', () => resolve(c, 'remote'));
    actions.append(mine, theirs);
    li.append(actions);
    ul.append(li);
  }
}

// ---- history ----

function renderHistory(rows) {
  const tbody = $('history').tBodies[0];
  tbody.replaceChildren();
  $('no-history').hidden = rows.length > 0;
  for (const id of ['history', 'chart', 'legend']) $(id).hidden = rows.length === 0;
  for (const r of rows) {
    const tr = el('tr', 'status-' + r.status);
    const when = parseTime(r.timestamp);
    const whenCell = el('td', 'when', when ? clock(when) : r.timestamp);
    if (when) whenCell.title = when.toLocaleString();
    tr.append(whenCell, el('td', 'result', r.status),
      el('td', 'num', r.records_pulled ?? 0), el('td', 'num', r.records_pushed ?? 0),
      el('td', 'num', r.conflicts ?? 0),
      el('td', 'num', r.duration_ms != null ? (r.duration_ms / 1000).toFixed(2) + ' s' : ''),
      el('td', null, r.error_message || ''));
    tbody.append(tr);
  }
  drawChart(rows.slice().reverse());
}

// Bars of rows pulled and pushed per sync, oldest on the left; a failed
// sync is a red bar. Drawn as SVG.
function drawChart(rows) {
  const NS = 'http://www.w3.org/2000/svg';
  const W = 1000, H = 140, slots = 50;
  const svg = document.createElementNS(NS, 'svg');
  svg.setAttribute('viewBox', '0 0 ' + W + ' ' + H);
  svg.setAttribute('preserveAspectRatio', 'none');
  svg.setAttribute('role', 'img');
  const max = Math.max(1, ...rows.map((r) => (r.records_pulled || 0) + (r.records_pushed || 0)));
  const slot = W / slots, bw = slot * 0.7;
  const rect = (x, y, w, h, cls, fill) => {
    const e = document.createElementNS(NS, 'rect');
    e.setAttribute('x', x); e.setAttribute('y', y);
    e.setAttribute('width', w); e.setAttribute('height', Math.max(h, 0));
    e.setAttribute('fill', fill);
    e.setAttribute('class', cls);
    return e;
  };
  const base = document.createElementNS(NS, 'line');
  base.setAttribute('x1', 0); base.setAttribute('x2', W);
  base.setAttribute('y1', H - 0.5); base.setAttribute('y2', H - 0.5);
  base.setAttribute('stroke', '#dde1e7');
  svg.append(base);
  rows.slice(-slots).forEach((r, i) => {
    const g = document.createElementNS(NS, 'g');
    const title = document.createElementNS(NS, 'title');
    title.textContent = r.timestamp + ': ' + r.status + ', pulled ' + (r.records_pulled || 0) +
      ', pushed ' + (r.records_pushed || 0);
    g.append(title);
    const x = i * slot + (slot - bw) / 2;
    if (r.status === 'error') {
      g.append(rect(x, H * 0.15, bw, H * 0.85, 'bar-failed', '#c53030'));
    } else {
      const hp = (r.records_pulled || 0) / max * (H - 10);
      const hs = (r.records_pushed || 0) / max * (H - 10);
      g.append(rect(x, H - hp, bw, hp, 'bar-pulled', '#3182ce'));
      g.append(rect(x, H - hp - hs, bw, hs, 'bar-pushed', '#38a169'));
      if (!hp && !hs) g.append(rect(x, H - 2, bw, 2, 'bar-empty', '#a0aec0'));
    }
    svg.append(g);
  });
  $('chart').replaceChildren(svg);
}

// ---- refresh ----

async function refresh() {
  const [st, hist, conf] = await Promise.all([
    api('GET', '/api/sync/status'),
    api('GET', '/api/sync/history?limit=50'),
    api('GET', '/api/sync/conflicts'),
  ]);
  if (!st.ok) {
    const ind = $('indicator');
    ind.className = 'indicator state-error';
    ind.dataset.state = 'unreachable';
    $('state-label').textContent = 'No answer';
    showError(st.body.error);
    return;
  }
  renderStatus(st.body);
  if (hist.ok) renderHistory(hist.body);
  if (conf.ok) renderConflicts(conf.body);
}

document.addEventListener('DOMContentLoaded', () => {
  $('sync-now').addEventListener('click', syncNow);
  $('schedule-form').addEventListener('submit', saveSchedule);
  refresh();
  setInterval(refresh, REFRESH_MS);
  setInterval(renderTimes, 15000);
});
