/*
 * daemon.h - `hubsync daemon`: scheduled sync, the HTTP API of DESIGN.md
 * section 3.4 and the status page, for one replica.
 *
 * The daemon uses only the public API (hubsync.h). The hubsync command calls
 * hs_daemon_main from its command table.
 */
#ifndef HS_DAEMON_H
#define HS_DAEMON_H

/*
 * Run the daemon until SIGINT or SIGTERM. argv[0] is the command name
 * ("daemon"), the rest the command line after it:
 *
 *   DB [--listen HOST:PORT] [--token TOKEN] [--log FILE]
 *      [--no-sync-at-start] [--retry SECONDS] [--lock-timeout MS]
 *      [--port-file FILE] [--backup-every HOURS [--backup-keep N]]
 *
 * Returns the exit status: 0 after a clean shutdown, 1 when the replica
 * cannot be used or the port cannot be bound, 2 on a usage error (one line
 * on stderr says what and what to do). Blocks SIGINT and SIGTERM in the
 * calling thread while it runs; call it before starting other threads.
 */
int hs_daemon_main(int argc, char **argv);

#endif
