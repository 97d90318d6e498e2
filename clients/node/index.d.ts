// Types of hubsync-client. The JSON shapes are those of hubsync's DESIGN.md
// section 3.3 (the original app's IPC results) and 3.4 (the daemon's API);
// the daemon may add keys, so every object type allows more.

import type { ChildProcess } from 'node:child_process';

/** Rows pulled or pushed per table. */
export type TableCounts = Record<string, number>;

export interface SyncStats {
  pulled: TableCounts;
  pushed: TableCounts;
  conflicts: number;
  [key: string]: unknown;
}

/** A running sync (GET /api/sync/progress, status.progress). */
export interface SyncProgress {
  isSyncing?: boolean;
  /** what started it: 'manual', 'schedule', 'start', 'retry' */
  trigger: string;
  /** 'lock' (waiting for the master), 'push', 'pull', 'done' */
  phase: string;
  table: string | null;
  rows: number;
  startedAt: string;
  elapsedMs: number;
  [key: string]: unknown;
}

/** GET /api/sync/status: the 3.3 status plus the daemon's live keys. */
export interface SyncStatus {
  enabled: boolean;
  isSyncing: boolean;
  /** ISO time; null before the first sync */
  lastSyncTime: string | null;
  stats: SyncStats;
  scheduledSync: boolean;
  intervalMinutes: number;
  username: string;
  nasDbPath: string;
  nextSyncTime?: string | null;
  lastError?: string | null;
  unresolvedConflicts?: number;
  pendingChanges?: number;
  offline?: boolean;
  offlineSince?: string | null;
  lastAttemptTime?: string | null;
  paused?: boolean;
  /** present while a sync runs */
  progress?: SyncProgress;
  [key: string]: unknown;
}

/** POST /api/sync/manual. success is false when the sync ran and failed. */
export interface ManualResult {
  success: boolean;
  message: string;
  stats: SyncStats;
  /** e.g. "2.34s" */
  duration: string;
  [key: string]: unknown;
}

/** One sync_log row (GET /api/sync/history), newest first. */
export interface HistoryEntry {
  id: number;
  timestamp: string;
  direction: 'bidirectional' | 'pull' | 'push';
  status: 'success' | 'partial' | 'error';
  records_pulled: number;
  records_pushed: number;
  conflicts: number;
  duration_ms: number | null;
  error_message: string | null;
  [key: string]: unknown;
}

export interface Conflict {
  id: number;
  table: string;
  /** primary-key column → value */
  pk: Record<string, unknown>;
  /** null for a whole-row case such as delete-vs-update */
  column: string | null;
  local_value: unknown;
  remote_value: unknown;
  winner: 'local' | 'remote';
  local_user: string;
  remote_user: string;
  detected_at: string;
  resolved: boolean | number;
  [key: string]: unknown;
}

export interface Peer {
  site: string;
  user: string;
  lastSyncTime: string | null;
  thisPc: boolean;
  [key: string]: unknown;
}

/** One change of the audit trail (GET /api/sync/log, like `hubsync log --json`). */
export type LogEntry = Record<string, unknown>;

export interface LogFilter {
  table?: string;
  key?: string;
  user?: string;
  /** ISO time or a Date */
  since?: string | Date;
  limit?: number;
}

export type WatchEvent =
  | { type: 'status'; status: SyncStatus }
  | { type: 'progress'; progress: SyncProgress; status: SyncStatus }
  | { type: 'error'; error: HubsyncError };

export interface WatchOptions {
  /** poll interval while idle (default 5000 ms) */
  intervalMs?: number;
  /** poll interval while a sync runs (default 500 ms) */
  busyIntervalMs?: number;
}

export interface ClientOptions {
  /** e.g. "http://127.0.0.1:8765"; wins over portFile and dbPath */
  url?: string;
  /** Bearer token (daemon --token); default: $HUBSYNC_TOKEN */
  token?: string;
  /** the replica: the daemon's port file is DB.hubsync-port */
  dbPath?: string;
  /** a port file written by `hubsync daemon --port-file FILE` */
  portFile?: string;
  /** host used with a port file (default 127.0.0.1) */
  host?: string;
  /** per-request limit in ms except manual() (default 30000; 0 = none) */
  timeoutMs?: number;
}

export interface HubsyncClient {
  baseUrl(): Promise<string>;
  getStatus(): Promise<SyncStatus>;
  manual(): Promise<ManualResult>;
  setSchedule(minutes: number): Promise<{ success: true; intervalMinutes: number }>;
  getHistory(options?: { limit?: number }): Promise<HistoryEntry[]>;
  getConflicts(options?: { all?: boolean }): Promise<Conflict[]>;
  resolve(id: number | string, keep: 'local' | 'remote'): Promise<{ success: true; id: number; keep: 'local' | 'remote' }>;
  getPeers(): Promise<Peer[]>;
  getLog(filter?: LogFilter): Promise<LogEntry[]>;
  pause(paused: boolean): Promise<{ success: true; paused: boolean }>;
  getProgress(): Promise<{ isSyncing: boolean } & Partial<SyncProgress>>;
  /** Returns a function that stops watching. */
  watch(cb: (event: WatchEvent) => void, options?: WatchOptions): () => void;
}

export declare class HubsyncError extends Error {
  name: 'HubsyncError';
  /** HTTP status of the daemon's answer; 0 when it did not answer */
  status: number;
  method?: string;
  path?: string;
  /** the answer's JSON body ({"error": "..."}) */
  body?: unknown;
}

export declare function createClient(options?: ClientOptions): HubsyncClient;

export interface StartDaemonOptions {
  /** the hubsync program; default $HUBSYNC, else hubsync on PATH */
  binary?: string;
  /** --listen (default 127.0.0.1:0: a free loopback port) */
  listen?: string;
  /** default DB.hubsync-port */
  portFile?: string;
  /** default $HUBSYNC_TOKEN; given to the daemon through its environment */
  token?: string;
  /** more daemon options, e.g. ['--no-sync-at-start'] */
  args?: string[];
  /** each line the daemon logs */
  onLog?: (line: string) => void;
  /** how long to wait for it to answer (default 30000 ms) */
  timeoutMs?: number;
  /** stop(): SIGKILL after this long (default 150000 ms; a running sync finishes first) */
  stopTimeoutMs?: number;
  /** stop it when this process exits or gets SIGINT/SIGTERM/SIGHUP (default true) */
  stopOnExit?: boolean;
}

export interface DaemonHandle {
  url: string;
  client: HubsyncClient;
  /** false when a daemon was already running for this database (then stop() leaves it alone) */
  started: boolean;
  pid: number | null;
  process: ChildProcess | null;
  /** its last log lines */
  log(): string;
  /** SIGTERM, wait for exit; resolves to the exit code (null when not started here) */
  stop(): Promise<number | string | null>;
}

export declare function startDaemon(db: string, options?: StartDaemonOptions): Promise<DaemonHandle>;
export declare function findBinary(binary?: string): string;
export declare function portFileFor(dbPath: string): string;
export declare const DEFAULT_URL: string;
