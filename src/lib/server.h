/*
 * server.h - what the library's own modules may tell a running sync server
 * (server.c) beyond the public hs_server_* calls of hubsync.h.
 */
#ifndef HS_SERVER_INTERNAL_H
#define HS_SERVER_INTERNAL_H

#include "hubsync.h"

#include <stdint.h>

/*
 * The store s serves committed a change: its sequence is now seq. Wakes
 * every client waiting on the real-time channel (hs_server_wait) whose
 * cursor is below seq. The one entry point for commits the server did not
 * make itself (another serve process on the same store, announced by the
 * store); server.c calls it after each of its own commits. Never moves the
 * sequence back; takes only the channel's lock, does no I/O: callable from
 * any thread, at any time between hs_server_open and hs_server_free.
 */
void hs_server_notify_change(hs_server *s, int64_t seq);

#endif
