/*
 * fleet.h - a small office of PCs for the tests that drive the real
 * hubsync binary (test_crash.c, test_concurrency.c, test_smb.sh through
 * test_concurrency): each PC has a local replica written by an app
 * (workload.h) and syncs it with `hubsync sync`, through its own path to
 * the master (on a real SMB share every PC has its own client mount).
 *
 * Everything runs on the real clock: the binary reads the system time,
 * and so do the app's connections (default VFS).
 */
#ifndef HS_FLEET_H
#define HS_FLEET_H

#include <stdint.h>

#include <sqlite3.h>

#include "workload.h"

typedef struct fl_site {
	char name[32];    /* user name: pc0, pc1, ... */
	char path[600];   /* the local replica */
	char master[700]; /* the master, as this PC reaches it */
	char token[72];   /* its user's token for a server master, or "" */
	sqlite3 *app;     /* the app's connection, NULL while closed */
	wl_app w;         /* what this PC's app committed */
} fl_site;

typedef struct fleet {
	const char *bin; /* the hubsync binary */
	int n;
	fl_site s[WL_MAX_SITES];
} fleet;

/*
 * n PCs with replicas dir/pcK.db; PC k reaches the master at masters[k]
 * (a server master: with tokens[k], a token of the user pcK; tokens may be
 * NULL).
 * Creates the app's tables, runs `hubsync init` on each (PC 0 first: it
 * creates the master) and syncs each once (everyone has the shared rows
 * before writing them). nkeys: items keys per PC; seed: the apps' PRNG.
 */
void fl_open(fleet *f, const char *bin, const char *dir, int n,
	     const char *const *masters, const char *const *tokens, int nkeys,
	     uint64_t seed);
/* Close the app connections and free the ledgers. */
void fl_close(fleet *f);

/* The app's connection of PC k (busy timeout 5 s, like an app's). */
void fl_app_open(fleet *f, int k);
void fl_app_close(fleet *f, int k);

/* `hubsync sync` of PC k: its exit status; output in *out if not NULL. */
int fl_sync(const fleet *f, int k, char **out);
/* The same, requiring success. */
void fl_sync_ok(const fleet *f, int k);
/* Every PC syncs in turn, twice (no writes meanwhile): all converge. */
void fl_settle(const fleet *f);

/*
 * integrity_check of every replica and of the master (through PC 0's
 * path) is ok, and each holds exactly what the apps committed. when says
 * what just happened (in failure messages).
 */
void fl_check(fleet *f, const char *when);

/* Rows of sync_log of PC k whose status is not 'success'; the newest
 * one's message goes to *last (malloc'd) when not NULL. */
int64_t fl_failed_syncs(fleet *f, int k, char **last);

#endif
