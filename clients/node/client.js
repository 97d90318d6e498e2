// The HTTP client of `hubsync daemon` (API: DESIGN.md section 3.4 and
// docs/DAEMON.md). One method per endpoint; each resolves to the daemon's
// JSON as it is and rejects with a HubsyncError carrying the daemon's
// message and the HTTP status.
//
// The daemon's safety rules, as they concern a client: every /api/ request
// carries `Authorization: Bearer TOKEN` when the daemon has a token; a POST
// or PUT is `Content-Type: application/json`; the Host is the loopback
// address the daemon listens on (fetch sets it from the URL); no Origin is
// sent (Node's fetch sends none).
import { DEFAULT_URL, normalizeUrl, portFileFor, readPortFile } from './address.js';

/** An answer of the daemon that is not a success, or no answer at all. */
export class HubsyncError extends Error {
  constructor(message, { status = 0, method, path, body, cause } = {}) {
    super(message, cause ? { cause } : undefined);
    this.name = 'HubsyncError';
    /** HTTP status of the answer; 0 when the daemon did not answer. */
    this.status = status;
    this.method = method;
    this.path = path;
    /** The answer's JSON body, when there was one. */
    this.body = body;
  }
}

const IDLE_POLL_MS = 5000;
const BUSY_POLL_MS = 500;

// Why fetch failed, in words (Node's fetch says only "fetch failed").
function unreachable(base, method, path, err, timeoutMs) {
  const code = err?.cause?.code || err?.code || '';
  let why;
  if (err?.name === 'TimeoutError' || err?.name === 'AbortError')
    why = `did not answer ${method} ${path} within ${timeoutMs / 1000} s`;
  else if (code === 'UND_ERR_HEADERS_TIMEOUT')
    why = `did not answer ${method} ${path} within fetch's limit (300 s); ` +
      'a sync it started goes on: follow it with watch() or getStatus()';
  else if (code === 'ECONNREFUSED')
    why = 'refused the connection: is `hubsync daemon` running? (startDaemon() starts one)';
  else
    why = `cannot be reached (${code || err?.cause?.message || err?.message || 'unknown error'})`;
  return `the hubsync daemon at ${base} ${why}`;
}

/**
 * A client of one daemon.
 *
 * Address, first found: options.url; the port in options.portFile, or in
 * the port file of options.dbPath (DB.hubsync-port, written by a daemon that
 * startDaemon() started), read again at each request so that a restarted
 * daemon on another port is followed; else http://127.0.0.1:8765.
 * Token: options.token, else the HUBSYNC_TOKEN environment variable (the
 * daemon reads the same one).
 */
export function createClient(options = {}) {
  const { url, dbPath, host = '127.0.0.1', timeoutMs = 30000 } = options;
  const token = options.token ?? (process.env.HUBSYNC_TOKEN || undefined);
  const portFile = options.portFile ?? (dbPath ? portFileFor(dbPath) : undefined);
  const fixed = url ? normalizeUrl(url) : null;
  const watchers = new Set();
  let manualRuns = 0;

  async function baseUrl() {
    if (fixed) return fixed;
    if (portFile) {
      const port = await readPortFile(portFile);
      if (port) return `http://${host}:${port}`;
    }
    return DEFAULT_URL;
  }

  async function request(method, path, body, { timeout = timeoutMs } = {}) {
    const base = await baseUrl();
    const headers = { Accept: 'application/json' };
    const init = { method, headers };
    if (token) headers.Authorization = 'Bearer ' + token;
    if (body !== undefined) {
      headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    if (timeout) init.signal = AbortSignal.timeout(timeout);
    let res, text;
    try {
      res = await fetch(base + path, init);
      text = await res.text();
    } catch (e) {
      throw new HubsyncError(unreachable(base, method, path, e, timeout),
        { method, path, cause: e });
    }
    let doc;
    try {
      doc = text ? JSON.parse(text) : null;
    } catch {
      doc = undefined;
    }
    if (!res.ok) {
      const msg = typeof doc?.error === 'string' ? doc.error
        : `${method} ${path} failed: HTTP ${res.status} ${res.statusText}`;
      throw new HubsyncError(msg, { status: res.status, method, path, body: doc ?? undefined });
    }
    if (doc === undefined || doc === null)
      throw new HubsyncError(`the answer to ${method} ${path} from ${base} is not JSON: is that a hubsync daemon?`,
        { status: res.status, method, path });
    return doc;
  }

  const client = {
    /** The daemon's base URL, as the next request will use it. */
    baseUrl,

    /** 3.3 status, plus the daemon's live keys (isSyncing, progress, ...). */
    getStatus: () => request('GET', '/api/sync/status'),

    /**
     * Sync now; resolves when the sync has ended, to the 3.3 manual result.
     * A sync that ran and failed resolves too, with success false and the
     * reason in message; a sync already running rejects with status 409.
     */
    async manual() {
      manualRuns++;
      for (const w of watchers) w.kick();
      try {
        return await request('POST', '/api/sync/manual', {}, { timeout: 0 });
      } finally {
        manualRuns--;
      }
    },

    /** Scheduled sync every `minutes` (0 = off) → {success, intervalMinutes}. */
    setSchedule: (minutes) => request('PUT', '/api/sync/schedule', { intervalMinutes: minutes }),

    /** The last syncs, newest first (default 50, at most 1000). */
    getHistory({ limit } = {}) {
      return request('GET', '/api/sync/history' + query({ limit }));
    },

    /** Unresolved conflicts; { all: true } lists resolved ones too. */
    getConflicts({ all = false } = {}) {
      return request('GET', '/api/sync/conflicts' + (all ? '?all=1' : ''));
    },

    /** Settle conflict `id` keeping 'local' or 'remote'. */
    resolve(id, keep) {
      return request('POST', `/api/sync/conflicts/${encodeURIComponent(String(id))}/resolve`, { keep });
    },

    /** The PCs syncing with this master: [{site, user, lastSyncTime, thisPc}]. */
    getPeers: () => request('GET', '/api/sync/peers'),

    /** Recent changes (the audit trail); filter: {table, key, user, since, limit}. */
    getLog(filter = {}) {
      const { table, key, user, since, limit } = filter;
      return request('GET', '/api/sync/log' +
        query({ table, key, user, since: since instanceof Date ? since.toISOString() : since, limit }));
    },

    /** Pause (true) or resume (false) scheduled sync → {success, paused}. */
    pause: (paused) => request('PUT', '/api/sync/pause', { paused }),

    /** The running sync: {isSyncing, trigger, phase, table, rows, startedAt, elapsedMs}. */
    getProgress: () => request('GET', '/api/sync/progress'),

    /**
     * Follow the daemon by polling its status: every options.intervalMs
     * (default 5 s), and every options.busyIntervalMs (default 0.5 s) while a
     * sync runs or a manual() of this client is waiting. cb gets
     *   {type: 'status', status}    the first status and each change of it
     *   {type: 'progress', progress, status}   each poll during a sync
     *   {type: 'error', error}      the daemon stopped answering (once, until it answers again)
     * Returns a function that stops watching.
     */
    watch(cb, { intervalMs = IDLE_POLL_MS, busyIntervalMs = BUSY_POLL_MS } = {}) {
      let stopped = false, timer = null, polling = false, again = false;
      let lastKey = null, failing = false;

      const emit = (event) => {
        try {
          cb(event);
        } catch (e) {
          queueMicrotask(() => { throw e; }); // the caller's bug, not ours to hide
        }
      };
      const schedule = (busy) => {
        if (!stopped) timer = setTimeout(poll, busy || manualRuns > 0 ? busyIntervalMs : intervalMs);
      };
      async function poll() {
        timer = null;
        polling = true;
        let status = null;
        try {
          status = await client.getStatus();
        } catch (error) {
          if (!stopped && !failing) emit({ type: 'error', error });
          failing = true;
        }
        polling = false;
        if (stopped) return;
        if (status) {
          failing = false;
          const { progress, ...rest } = status;
          const key = JSON.stringify(rest);
          if (key !== lastKey) {
            lastKey = key;
            emit({ type: 'status', status });
          }
          if (status.isSyncing && progress) emit({ type: 'progress', progress, status });
        }
        if (again) {
          again = false;
          schedule(true);
        } else {
          schedule(status?.isSyncing);
        }
      }
      const w = {
        kick() {
          if (polling) {
            again = true;
          } else if (timer) {
            clearTimeout(timer);
            timer = setTimeout(poll, 0);
          }
        },
      };
      watchers.add(w);
      timer = setTimeout(poll, 0);
      return function stop() {
        stopped = true;
        watchers.delete(w);
        if (timer) clearTimeout(timer);
        timer = null;
      };
    },
  };
  return client;
}

// "?a=1&b=x" from the keys whose value is given, or "".
function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params))
    if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? '?' + s : '';
}
