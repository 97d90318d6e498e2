/*
 * lock.h - the master's writer lock: a directory created with mkdir next to
 * the master file (see lock.c for why, and for the lease rules).
 */
#ifndef HS_LOCK_H
#define HS_LOCK_H

#include "util.h"

#define HS_LOCK_LEASE_MS 120000 /* an owner silent this long is stale */
/* A lock nobody wrote an owner into (its sync killed between mkdir and
 * writing the owner). Long enough that a PC slowed down for seconds (a
 * loaded machine, a slow share) is never taken for dead while it writes
 * its owner: two PCs writing the master at once damage it. */
#define HS_LOCK_ORPHAN_MS 20000
/* How long a sync waits for other PCs' syncs by default: as long as a
 * lease, so that a busy office queues up rather than fails. */
#define HS_LOCK_WAIT_MS HS_LOCK_LEASE_MS

typedef struct hs_lock {
	char *dir;   /* MASTER.lock */
	char *owner; /* MASTER.lock/owner */
	char *clock; /* MASTER.clock: touched to read the share's clock */
	char *brk;   /* MASTER.lock.break: held while breaking a stale lock */
	int held;
	int broke;      /* a stale lock was moved aside to take this one */
	char line[400]; /* the owner line this process wrote */
} hs_lock;

/* Told, while a lock is waited for, who holds it ("HOST (process PID)",
 * or NULL when its owner is not known yet) and how long the wait lasts. */
typedef void (*hs_lock_wait_fn)(void *ctx, const char *holder,
				int64_t waited_ms);

/*
 * Take the lock of master_path, waiting up to timeout_ms (calling waiting,
 * may be NULL, about once a second meanwhile). Returns 0, or an hs_error
 * with a one-line message in err: HS_EBUSY (held by another PC for longer
 * than timeout_ms), HS_EIO (folder missing or not writable).
 */
int hs_lock_acquire(hs_lock *l, const char *master_path, int timeout_ms,
		    hs_lock_wait_fn waiting, void *waiting_ctx, hs_buf *err);
/* 1 if the lock is still this process's (not broken by another PC that
 * took this one for stale): check before committing. */
int hs_lock_held(const hs_lock *l);
/* Tell other PCs the owner is alive (call during long work). */
void hs_lock_refresh(hs_lock *l);
/* Release (if held) and free. Safe on a zeroed hs_lock. */
void hs_lock_release(hs_lock *l);

#endif
