// startDaemon(): run `hubsync daemon` for one database while the app runs.
//
// A daemon already answering at the database's port file is used as it is
// (and left running). Otherwise one is started on a free loopback port with
// --port-file DB.hubsync-port, and startDaemon() resolves once it answers
// GET /api/sync/status. It is stopped by stop(), and when this process
// exits or is ended by SIGINT/SIGTERM/SIGHUP (see stopOnExit). SIGTERM lets
// a running sync finish first (docs/DAEMON.md); a process killed with
// SIGKILL cannot stop its daemon: the next startDaemon() finds that one
// through the port file and uses it.
import { spawn } from 'node:child_process';
import { accessSync, constants, statSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { portFileFor, readPortFile } from './address.js';
import { createClient } from './client.js';

const LOG_TAIL = 20;

function isExecutable(file) {
  try {
    accessSync(file, constants.X_OK);
    return statSync(file).isFile();
  } catch {
    return false;
  }
}

/**
 * The hubsync binary: `binary` if given, else $HUBSYNC, else `hubsync` on
 * PATH. Throws an Error saying how to point at it when there is none.
 */
export function findBinary(binary) {
  const given = binary || process.env.HUBSYNC;
  if (given) {
    if (!isExecutable(given))
      throw new Error(`${given} (${binary ? 'the binary option' : 'from HUBSYNC'}) is not an executable file; ` +
        'point it at the hubsync program');
    return given;
  }
  const exts = process.platform === 'win32'
    ? (process.env.PATHEXT || '.EXE').split(';').filter(Boolean) : [''];
  for (const dir of (process.env.PATH || '').split(path.delimiter)) {
    if (!dir) continue;
    for (const ext of exts) {
      const file = path.join(dir, 'hubsync' + ext);
      if (isExecutable(file)) return file;
    }
  }
  throw new Error('hubsync is not on PATH: install it, set HUBSYNC=/path/to/hubsync, or pass { binary }');
}

// The address a client uses for a --listen value: a wildcard listen is
// reached on loopback.
function clientHost(listen) {
  const host = listen.startsWith('[') ? listen.slice(0, listen.indexOf(']') + 1)
    : listen.slice(0, listen.lastIndexOf(':'));
  if (host === '0.0.0.0' || host === '') return '127.0.0.1';
  if (host === '[::]') return '[::1]';
  return host;
}

// ---- daemons this process owns, stopped when it ends ----

const owned = new Set();
const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'];
let hooked = false;

function killOwned() {
  for (const child of owned) if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
  owned.clear();
}

function onSignal(sig) {
  killOwned();
  unhook();
  // Nobody else listens: end the way the signal would have without us.
  if (process.listenerCount(sig) === 0) process.kill(process.pid, sig);
}

function hook() {
  if (hooked) return;
  hooked = true;
  process.on('exit', killOwned);
  // A listener would keep the process from ending on the signal: add ours
  // only where the app has none (it then decides, and exit stops the daemon).
  for (const sig of SIGNALS)
    if (process.platform !== 'win32' && process.listenerCount(sig) === 0) process.on(sig, onSignal);
}

function unhook() {
  if (!hooked) return;
  hooked = false;
  process.off('exit', killOwned);
  for (const sig of SIGNALS) process.off(sig, onSignal);
}

// ---- starting ----

function delay(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Start `hubsync daemon db` unless one answers at db's port file. Resolves to
 * {url, client, started, pid, process, log(), stop()}; rejects with the
 * daemon's own one-line error when it exits before answering.
 */
export async function startDaemon(db, options = {}) {
  if (typeof db !== 'string' || !db)
    throw new TypeError('startDaemon(db): db must be the path of the database that `hubsync init` set up');
  const {
    binary, listen = '127.0.0.1:0', args = [], onLog,
    portFile = portFileFor(db),
    token = process.env.HUBSYNC_TOKEN || undefined,
    timeoutMs = 30000, stopTimeoutMs = 150000, stopOnExit = true,
  } = options;
  const host = clientHost(listen);

  // One already running for this database?
  const port = await readPortFile(portFile).catch(() => null);
  if (port) {
    const client = createClient({ url: `http://${host}:${port}`, token, timeoutMs: 5000 });
    const running = await client.getStatus().then(() => true, (e) => {
      if (e.status === 401) throw e; // it runs, with another token
      return false;
    });
    if (running)
      return {
        url: `http://${host}:${port}`, client: createClient({ url: `http://${host}:${port}`, token }),
        started: false, pid: null, process: null, log: () => '', stop: async () => null,
      };
  }

  const bin = findBinary(binary);
  await rm(portFile, { force: true });
  const env = { ...process.env };
  if (token) env.HUBSYNC_TOKEN = token; // not on the command line: ps shows that
  const child = spawn(bin, ['daemon', db, '--listen', listen, '--port-file', portFile, ...args],
    { stdio: ['ignore', 'ignore', 'pipe'], env, windowsHide: true });

  // The daemon logs to stderr: read it always (a full pipe would block it).
  const tail = [];
  let partial = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk) => {
    const lines = (partial + chunk).split('\n');
    partial = lines.pop();
    for (const line of lines) {
      tail.push(line);
      if (tail.length > LOG_TAIL) tail.shift();
      if (onLog) onLog(line);
    }
  });
  let spawnError = null;
  child.on('error', (e) => { spawnError = e; });
  const exited = new Promise((resolve) => child.on('close', (code, signal) => resolve(code ?? signal)));
  const lastLine = () => (partial || tail[tail.length - 1] || '').replace(/^\S+Z (info|warn|error) /, '');

  if (stopOnExit) {
    owned.add(child);
    hook();
    child.on('exit', () => owned.delete(child));
  }

  // Wait until it answers.
  const deadline = Date.now() + timeoutMs;
  let url = null, client = null;
  for (;;) {
    if (spawnError)
      throw new Error(`cannot run ${bin}: ${spawnError.message}`);
    if (child.exitCode !== null || child.signalCode !== null) {
      const code = await exited;
      owned.delete(child);
      throw new Error(`hubsync daemon ${db} exited (${code}) before answering: ${lastLine() || 'no message'}`);
    }
    const p = await readPortFile(portFile).catch(() => null);
    if (p) {
      url = `http://${host}:${p}`;
      client = createClient({ url, token });
      try {
        await client.getStatus();
        break;
      } catch (e) {
        if (e.status) { // it answers, but not with a status
          child.kill('SIGTERM');
          owned.delete(child);
          throw e;
        }
      }
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      owned.delete(child);
      throw new Error(`hubsync daemon ${db} did not answer within ${timeoutMs / 1000} s` +
        (lastLine() ? `; its last words: ${lastLine()}` : ''));
    }
    await delay(50);
  }

  let stopping = null;
  function stop() {
    if (stopping) return stopping;
    owned.delete(child);
    if (owned.size === 0) unhook();
    stopping = (async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM'); // a running sync finishes first
        const timer = setTimeout(() => child.kill('SIGKILL'), stopTimeoutMs);
        try {
          return await exited;
        } finally {
          clearTimeout(timer);
        }
      }
      return exited;
    })();
    return stopping;
  }

  return {
    url, client, started: true, pid: child.pid, process: child,
    /** The daemon's last log lines (stderr). */
    log: () => tail.concat(partial ? [partial] : []).join('\n'),
    stop,
  };
}
