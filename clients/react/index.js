// <SyncStatus/>: the sync widget of an app that syncs with hubsync.
//
// What the old widget had (status indicator, "Sync now", last sync time,
// errors, a refresh every 30 s), plus the count of conflicts waiting for a
// decision and the progress of a running sync. Plain ES module written with
// React.createElement, no JSX: it needs no build step of its own, and any
// bundler (or a browser with an import map for "react") takes it as it is.
//
// Data comes from `api`, an object with getStatus() and manual() giving the
// shapes of hubsync's DESIGN.md 3.3: in an Electron renderer the old IPC
// channels 'sync:getStatus' and 'sync:manual' (the default, through
// window.electron.ipcRenderer, or ipcApi(anyIpcRenderer)); elsewhere a
// hubsync-client or anything with the same two methods.
//
// Styles: sync-status.css beside this file; class names start with
// "hubsync-sync", colours are CSS variables (--hubsync-ok and so on) that the
// host app may set on any ancestor.
import { createElement as h, useCallback, useEffect, useRef, useState } from 'react';

const PHASES = {
  lock: 'Waiting for the master',
  push: 'Sending changes',
  pull: 'Receiving changes',
  done: 'Finishing',
};

/** The api of <SyncStatus/> over an Electron ipcRenderer (the old channels). */
export function ipcApi(ipcRenderer) {
  return {
    getStatus: () => ipcRenderer.invoke('sync:getStatus'),
    manual: () => ipcRenderer.invoke('sync:manual'),
  };
}

function defaultApi() {
  const ipc = typeof window !== 'undefined' && window.electron && window.electron.ipcRenderer;
  return ipc ? ipcApi(ipc) : null;
}

// Electron wraps a handler's error as "Error invoking remote method
// 'sync:manual': Error: <message>"; people need only the message.
function messageOf(err) {
  const text = String((err && err.message) || err || 'unknown error');
  return text.replace(/^Error invoking remote method '[^']*': (\w*Error: )?/, '');
}

function ago(iso, now) {
  const s = Math.max(0, (now - Date.parse(iso)) / 1000);
  if (s < 45) return 'just now';
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86400) return `${Math.round(s / 3600)} h ago`;
  const d = Math.round(s / 86400);
  return d === 1 ? 'yesterday' : `${d} days ago`;
}

function progressText(p) {
  if (!p) return 'Starting';
  let text = PHASES[p.phase] || 'Starting';
  if (p.table) text += ` · ${p.table}`;
  if (p.rows) text += ` · ${p.rows} rows`;
  return text;
}

// [data-state, label] for what the widget knows.
function stateOf(status, syncing, failed) {
  if (syncing) return ['syncing', 'Syncing…'];
  if (!status) return failed ? ['error', 'Sync unavailable'] : ['loading', 'Checking…'];
  if (status.offline) return ['offline', 'Offline'];
  if (failed || status.lastError) return ['error', 'Sync failed'];
  if (status.paused) return ['paused', 'Paused'];
  if (status.lastSyncTime) return ['ok', 'Up to date'];
  return ['never', 'Never synced'];
}

function plural(n, one, many) {
  return `${n} ${n === 1 ? one : many}`;
}

/**
 * Props: api ({getStatus, manual}; default: window.electron.ipcRenderer),
 * refreshMs (30000), busyRefreshMs (while a sync runs, 1000),
 * label (accessible name, "Data sync"), className, onShowConflicts (makes
 * the conflict count a button). api is read once, at the first render.
 */
export function SyncStatus(props) {
  const {
    api, refreshMs = 30000, busyRefreshMs = 1000, label = 'Data sync', className,
    onShowConflicts,
  } = props;
  const [source] = useState(() => api || defaultApi());
  const [status, setStatus] = useState(null);
  const [loadError, setLoadError] = useState(null);
  const [actionError, setActionError] = useState(null);
  const [running, setRunning] = useState(false);
  const [announcement, setAnnouncement] = useState('');
  const alive = useRef(true);
  const inFlight = useRef(false);
  const seq = useRef(0); // only the newest answer counts

  useEffect(() => {
    alive.current = true; // again after StrictMode's trial unmount
    return () => { alive.current = false; };
  }, []);

  // force: ask even though an earlier request has not answered yet.
  const refresh = useCallback(async (force) => {
    if (!source || (inFlight.current && force !== true)) return;
    const mine = ++seq.current;
    inFlight.current = true;
    try {
      const st = await source.getStatus();
      if (!alive.current || mine !== seq.current) return;
      setStatus(st);
      setLoadError(null);
      if (st && !st.lastError && !st.isSyncing) setActionError(null);
    } catch (e) {
      if (alive.current && mine === seq.current) setLoadError(messageOf(e));
    } finally {
      if (mine === seq.current) inFlight.current = false;
    }
  }, [source]);

  const syncing = running || !!(status && status.isSyncing);

  useEffect(() => { refresh(); }, [refresh]);
  useEffect(() => {
    const id = setInterval(refresh, syncing ? busyRefreshMs : refreshMs);
    return () => clearInterval(id);
  }, [refresh, syncing, refreshMs, busyRefreshMs]);

  const syncNow = useCallback(async () => {
    if (!source || syncing) return;
    setRunning(true);
    setActionError(null);
    setAnnouncement('');
    refresh(true);
    try {
      const result = await source.manual();
      if (result && result.success === false) throw new Error(result.message);
      const found = result && result.stats && result.stats.conflicts;
      if (alive.current)
        setAnnouncement('Sync completed.' + (found ? ` ${plural(found, 'conflict', 'conflicts')} to review.` : ''));
    } catch (e) {
      if (alive.current) {
        setActionError(messageOf(e));
        setAnnouncement('Sync failed: ' + messageOf(e));
      }
    } finally {
      if (alive.current) setRunning(false);
      refresh(true); // the sync's outcome
    }
  }, [source, syncing, refresh]);

  const noApi = !source && 'No sync connection: pass api to <SyncStatus/> (see ipcApi).';
  const error = noApi || actionError || (status && status.lastError) || loadError;
  const [state, stateLabel] = stateOf(status, syncing, !!(noApi || actionError || loadError));
  const conflicts = (status && status.unresolvedConflicts) || 0;
  const last = status && status.lastSyncTime;
  const now = Date.now();

  const conflictText = plural(conflicts, 'conflict', 'conflicts');
  let conflictEl = null;
  if (conflicts > 0)
    conflictEl = onShowConflicts
      ? h('button', { type: 'button', className: 'hubsync-sync__conflicts', onClick: onShowConflicts }, conflictText)
      : h('span', { className: 'hubsync-sync__conflicts' }, conflictText);

  const ptext = progressText(status && status.progress);
  return h('section', {
    className: 'hubsync-sync' + (className ? ' ' + className : ''),
    role: 'region',
    'aria-label': label,
    'aria-busy': syncing,
    'data-state': state,
  },
  h('span', { className: 'hubsync-sync__indicator' },
    h('span', { className: 'hubsync-sync__dot', 'aria-hidden': true }),
    h('span', { className: 'hubsync-sync__label' }, stateLabel)),
  h('span', { className: 'hubsync-sync__last' }, 'Last sync: ',
    last ? h('time', { dateTime: last, title: new Date(last).toLocaleString() }, ago(last, now)) : 'never'),
  conflictEl,
  h('button', {
    type: 'button', className: 'hubsync-sync__button', onClick: syncNow, disabled: syncing || !source,
  }, 'Sync now'),
  syncing ? h('span', { className: 'hubsync-sync__progress' },
    h('progress', { className: 'hubsync-sync__bar', 'aria-label': 'Sync progress', 'aria-valuetext': ptext }),
    h('span', { className: 'hubsync-sync__phase' }, ptext)) : null,
  error ? h('p', { className: 'hubsync-sync__error' }, error) : null,
  h('span', { className: 'hubsync-sync__sr', 'aria-live': 'polite', 'aria-atomic': true }, announcement));
}

export default SyncStatus;
