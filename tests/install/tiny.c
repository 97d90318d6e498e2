/*
 * tiny.c - a program of someone else's, built against the *installed*
 * libhubsync with `pkg-config --cflags --libs hubsync` (test_install.sh).
 *
 * usage: tiny MASTER DB...   init every DB as a replica of MASTER (user
 * "userN"), then sync them in turn, then the first one again so that it
 * also receives the others' rows. Prints each sync's result JSON; exits 1
 * with the library's message on the first failure.
 */
#include <stdio.h>

#include <hubsync.h>

static int fail(hs_replica *r, const char *what, const char *db)
{
	fprintf(stderr, "tiny: %s %s: %s\n", what, db,
		r ? hs_replica_errmsg(r) : "out of memory");
	hs_replica_free(r);
	return 1;
}

static int init_one(const char *master, const char *db, int n)
{
	hs_replica *r = NULL;
	hs_init_options opts = HS_INIT_OPTIONS_INIT;
	char user[32];

	if (hs_replica_open(&r, db, NULL) != HS_OK)
		return fail(r, "open", db);
	snprintf(user, sizeof(user), "user%d", n);
	opts.master_path = master;
	opts.user = user;
	if (hs_replica_init(r, &opts) != HS_OK)
		return fail(r, "init", db);
	hs_replica_free(r);
	return 0;
}

static int sync_one(const char *db)
{
	hs_replica *r = NULL;
	char *result = NULL;

	if (hs_replica_open(&r, db, NULL) != HS_OK)
		return fail(r, "open", db);
	if (hs_replica_sync(r, NULL, &result) != HS_OK) {
		hs_free(result);
		return fail(r, "sync", db);
	}
	printf("%s %s\n", db, result);
	hs_free(result);
	hs_replica_free(r);
	return 0;
}

int main(int argc, char **argv)
{
	int i;

	if (argc < 3) {
		fprintf(stderr, "usage: tiny MASTER DB...\n");
		return 2;
	}
	printf("libhubsync %s\n", hs_version());
	for (i = 2; i < argc; i++) {
		if (init_one(argv[1], argv[i], i - 1) != 0)
			return 1;
	}
	for (i = 2; i < argc; i++) {
		if (sync_one(argv[i]) != 0)
			return 1;
	}
	return sync_one(argv[2]);
}
