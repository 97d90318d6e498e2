/*
 * demo.h - `hubsync demo`: five simulated Craft Tools Hub users (DESIGN.md
 * section 3.5).
 *
 * The demo plays the app with plain SQLite writes and syncs through the
 * public hubsync API only. It creates, in DIR:
 *
 *   nas/server.db                      the master (as on the office NAS)
 *   alice.db bob.db carol.db dave.db erin.db   one replica per user
 *   .hubsync-demo                      marks the folder as the demo's
 *
 * then loads the real component catalog (compiled into the binary), lets the
 * users work (concurrent edits to the same quotes, an offline user, deletes,
 * new quote numbers), syncs everyone twice, checks that the master and the
 * five replicas hold identical rows in every synced table, and prints a
 * report. It takes a few seconds.
 */
#ifndef HS_DEMO_H
#define HS_DEMO_H

/*
 * Run the demo in dir: a new or empty folder, or the folder of an earlier
 * demo run (its databases are replaced; a non-empty folder that is not a
 * demo folder is refused). dir NULL: a fresh ./hubsync-demo-XXXXXX (or one
 * under $TMPDIR when the current folder is not writable); the folder used
 * is printed.
 *
 * Returns 0 when the demo ran, every replica converged and every check
 * passed; 1 when it ran but a check failed (the report says which); -1 when
 * it could not run (a one-line reason is printed on stderr).
 */
int hs_demo_run(const char *dir);

#endif
