// Types of hubsync-react. Status and result shapes: hubsync's DESIGN.md 3.3
// (the same as hubsync-client's SyncStatus and ManualResult).
import type { ReactElement } from 'react';

/** What <SyncStatus/> reads: the old IPC channels' results. */
export interface SyncStatusApi {
  /** {enabled, isSyncing, lastSyncTime, ..., unresolvedConflicts?, lastError?, offline?, progress?} */
  getStatus(): Promise<Record<string, unknown>>;
  /** resolves when the sync ended; rejects, or resolves with success false, when it failed */
  manual(): Promise<{ success: boolean; message: string; [key: string]: unknown }>;
}

export interface IpcRendererLike {
  invoke(channel: string, ...args: unknown[]): Promise<any>;
}

export interface SyncStatusProps {
  /** default: the old channels through window.electron.ipcRenderer; read once */
  api?: SyncStatusApi;
  /** refresh interval (default 30000 ms) */
  refreshMs?: number;
  /** refresh interval while a sync runs (default 1000 ms) */
  busyRefreshMs?: number;
  /** accessible name of the region (default "Data sync") */
  label?: string;
  className?: string;
  /** when given, the conflict count is a button calling it */
  onShowConflicts?: () => void;
}

/** 'sync:getStatus' and 'sync:manual' over an Electron ipcRenderer. */
export declare function ipcApi(ipcRenderer: IpcRendererLike): SyncStatusApi;
export declare function SyncStatus(props: SyncStatusProps): ReactElement;
export default SyncStatus;
