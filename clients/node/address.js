// Where a hubsync daemon answers.
//
// `hubsync daemon DB --port-file FILE` writes the port it listens on to FILE
// (one line: the decimal port and a newline) once it listens; it never
// removes the file. startDaemon() asks the daemon for the port file
// `DB.hubsync-port` beside the database, and createClient({ dbPath }) reads
// the same file, so an app that starts the daemon on a free port (port 0)
// finds it again. A daemon started without a port file (the systemd unit)
// listens on the default address 127.0.0.1:8765.
import { readFile } from 'node:fs/promises';

export const DEFAULT_URL = 'http://127.0.0.1:8765';

/** The port file startDaemon() uses for the database at dbPath. */
export function portFileFor(dbPath) {
  return dbPath + '.hubsync-port';
}

/**
 * The port in a port file, or null when the file does not exist.
 * Throws when it exists but holds no port.
 */
export async function readPortFile(file) {
  let text;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    if (e.code === 'ENOENT') return null;
    throw e;
  }
  const port = Number(text.trim());
  if (!Number.isInteger(port) || port < 1 || port > 65535)
    throw new Error(`the port file ${file} does not hold a port (it holds '${text.trim().slice(0, 40)}'); ` +
      'delete it and start the daemon again');
  return port;
}

/** "http://host:port" without a trailing slash, from a URL the caller gave. */
export function normalizeUrl(url) {
  let u;
  try {
    u = new URL(url);
  } catch {
    throw new TypeError(`url '${url}' is not a URL; pass for example http://127.0.0.1:8765`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:')
    throw new TypeError(`url '${url}' must start with http:// or https://`);
  return u.origin;
}
