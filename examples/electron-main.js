// The Electron main process of an app that used the old JavaScript sync
// manager (electron/sync-manager.js), moved to hubsync.
//
// The renderer keeps calling the same four IPC channels and gets the same
// results:
//   sync:getStatus    → the status object (enabled, isSyncing, lastSyncTime,
//                       stats, scheduledSync, intervalMinutes, username,
//                       nasDbPath, and more keys)
//   sync:manual       → {success: true, message, stats, duration}; a failed
//                       sync rejects with the reason, as the old one threw
//   sync:setSchedule  → {success: true, message: 'Sync schedule updated to N minutes'}
//   sync:getHistory   → the sync_log rows, newest first
//
// registerSyncHandlers() is all the glue; the block at the end is the app's
// start-up (run by Electron only, so that tests can load this file with a
// stand-in ipcMain and a client of a real daemon).

/** Install the four handlers of the old sync manager on ipcMain, served by a hubsync-client. */
export function registerSyncHandlers(ipcMain, sync) {
  ipcMain.handle('sync:getStatus', () => sync.getStatus());

  ipcMain.handle('sync:manual', async () => {
    const result = await sync.manual();
    if (!result.success) throw new Error(result.message);
    return result;
  });

  ipcMain.handle('sync:setSchedule', async (event, intervalMinutes) => {
    const { intervalMinutes: minutes } = await sync.setSchedule(intervalMinutes);
    return { success: true, message: `Sync schedule updated to ${minutes} minutes`, intervalMinutes: minutes };
  });

  ipcMain.handle('sync:getHistory', () => sync.getHistory());
}

if (process.versions.electron) {
  // In the app these are plain `import` lines at the top of the file.
  const { app, ipcMain } = await import('electron');
  const { createClient, startDaemon } = await import('hubsync-client');
  const path = await import('node:path');

  await app.whenReady();
  // The replica the old sync manager kept in %APPDATA%/craft-tools-hub/database,
  // once `hubsync init` has set it up (the installer does that).
  const db = path.join(app.getPath('userData'), 'database', 'server.db');
  // Uses a daemon already running for db, or starts one that stops with the
  // app. Should it fail (db not set up, hubsync missing), the app still runs
  // and the handlers answer with the reason.
  const daemon = await startDaemon(db).catch((e) => {
    console.error('hubsync:', e.message);
    return null;
  });
  registerSyncHandlers(ipcMain, daemon ? daemon.client : createClient({ dbPath: db }));
  app.on('will-quit', () => { daemon?.stop(); });
  // ... the app's windows, as before
}
