/*
 * test_platform.c - the platform module (src/platform): path rules of
 * both systems (checked on either), and this system's files, identity,
 * rename over a file, the sync lock, random bytes and process liveness.
 * Runs on Linux and under wine (scripts/wine-test.sh).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <fcntl.h>
#include <unistd.h>

#include "platform.h"
#include "platform_path.h"

static void folder_is(const char *path, int windows, const char *want)
{
	char *got = hs_path_folder_as(path, windows);
	assert_non_null(got);
	assert_string_equal(got, want);
	free(got);
}

static void test_posix_paths(void **state)
{
	assert_true(hs_path_is_absolute_as("/a/b", 0));
	assert_false(hs_path_is_absolute_as("a/b", 0));
	assert_false(hs_path_is_absolute_as("C:\\a", 0));
	assert_string_equal(hs_path_file_as("/a/b.db", 0), "b.db");
	assert_string_equal(hs_path_file_as("a\\b.db", 0), "a\\b.db");
	folder_is("/a/b.db", 0, "/a");
	folder_is("/b.db", 0, "/");
	folder_is("b.db", 0, ".");
	folder_is("a//b.db", 0, "a");
}

static void test_windows_paths(void **state)
{
	assert_true(hs_path_is_absolute_as("Z:\\CTH\\server.db", 1));
	assert_true(hs_path_is_absolute_as("z:/CTH/server.db", 1));
	assert_true(hs_path_is_absolute_as("\\\\nas\\cth\\server.db", 1));
	assert_true(hs_path_is_absolute_as("//nas/cth/server.db", 1));
	assert_true(hs_path_is_absolute_as("\\\\?\\UNC\\nas\\cth\\s.db", 1));
	assert_true(hs_path_is_absolute_as("\\\\?\\C:\\s.db", 1));
	assert_false(hs_path_is_absolute_as("C:server.db", 1));
	assert_false(hs_path_is_absolute_as("\\server.db", 1));
	assert_false(hs_path_is_absolute_as("CTH\\server.db", 1));
	assert_string_equal(hs_path_file_as("Z:\\CTH\\server.db", 1), "server.db");
	assert_string_equal(hs_path_file_as("Z:server.db", 1), "server.db");
	assert_string_equal(hs_path_file_as("a/b\\c.db", 1), "c.db");
	folder_is("Z:\\CTH\\database\\server.db", 1, "Z:\\CTH\\database");
	folder_is("Z:\\server.db", 1, "Z:\\");
	folder_is("Z:server.db", 1, "Z:");
	folder_is("\\\\nas\\cth\\server.db", 1, "\\\\nas\\cth\\");
	folder_is("\\\\nas\\cth\\db\\server.db", 1, "\\\\nas\\cth\\db");
	folder_is("\\\\?\\UNC\\nas\\cth\\server.db", 1, "\\\\?\\UNC\\nas\\cth\\");
	folder_is("\\\\?\\C:\\x\\server.db", 1, "\\\\?\\C:\\x");
	folder_is("server.db", 1, ".");
}

/* A fresh folder for the file tests. */
static char *temp_folder(void)
{
	const char *base = getenv("TMPDIR");
	char *t = malloc(512);
	assert_non_null(t);
	snprintf(t, 512, "%s/hs-platform-XXXXXX", base && *base ? base : "/tmp");
	assert_non_null(hs_os_make_temp_folder(t));
	return t;
}

static char *join(const char *dir, const char *name)
{
	char *p = malloc(strlen(dir) + strlen(name) + 2);
	assert_non_null(p);
	sprintf(p, "%s/%s", dir, name);
	return p;
}

static void write_file(const char *path, const char *text)
{
	FILE *f = hs_os_fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

static void test_files(void **state)
{
	char *dir = temp_folder();
	/* UTF-8 names through the wide API on Windows */
	char *a = join(dir, "Angebote M\xc3\xbcller.db"), *b = join(dir, "b.db");
	char *sub = join(dir, "sub"), *lock = join(dir, "x.hubsync-lock");
	hs_os_stat sa, sb;
	hs_os_dir *d;
	const char *name;
	int seen = 0;

	write_file(a, "line\n"); /* binary: no CR added */
	assert_int_equal(hs_os_stat_path(a, &sa), 0);
	assert_int_equal(sa.size, 5);
	assert_true(sa.is_file);
	write_file(b, "other\n");
	assert_int_equal(hs_os_stat_path(b, &sb), 0);
	assert_false(sa.dev == sb.dev && sa.ino == sb.ino);
	assert_int_equal(hs_os_stat_path(a, &sb), 0);
	assert_true(sa.dev == sb.dev && sa.ino == sb.ino); /* same file */
	assert_int_equal(hs_os_rename(b, a), 0);           /* replaces a */
	assert_int_equal(hs_os_stat_path(a, &sa), 0);
	assert_int_equal(sa.size, 6);
	assert_int_not_equal(hs_os_exists(b), 0);
	assert_int_equal(hs_os_fsync_path(a), 0);
	assert_int_equal(hs_os_touch(a), 0);
	assert_int_equal(hs_os_mkdir(sub), 0);
	assert_int_equal(hs_os_mkdir(sub), -1);
	assert_int_equal(errno, EEXIST);
	assert_int_equal(hs_os_folder_writable(dir), 0);
	d = hs_os_dir_open(dir);
	assert_non_null(d);
	while ((name = hs_os_dir_next(d)) != NULL)
		seen += !strcmp(name, "Angebote M\xc3\xbcller.db") + !strcmp(name, "sub");
	hs_os_dir_close(d);
	assert_int_equal(seen, 2);

	/* the sync lock: a second taker in the same process is refused too
	 * (flock and LockFileEx both lock per open file) */
	int fd = hs_os_lock_file(lock);
	assert_true(fd >= 0);
	assert_int_equal(hs_os_lock_file(lock), -1);
	hs_os_unlock_file(fd);
	fd = hs_os_lock_file(lock);
	assert_true(fd >= 0);
	hs_os_unlock_file(fd);

	/* a temporary file: written, read back, gone when closed */
	char back[8] = "";
	FILE *t = hs_os_tmpfile();
	assert_non_null(t);
	assert_int_equal(fwrite("spool", 1, 5, t), 5);
	rewind(t);
	assert_int_equal(fread(back, 1, 5, t), 5);
	assert_string_equal(back, "spool");
	assert_int_equal(fclose(t), 0);

	assert_int_equal(hs_os_remove_tree(dir), 0);
	assert_int_not_equal(hs_os_exists(dir), 0);
	free(a);
	free(b);
	free(sub);
	free(lock);
	free(dir);
}

static void test_process(void **state)
{
	unsigned char r1[16], r2[16];
	char host[256];
	char *user = hs_os_user();
	assert_int_equal(hs_os_random(r1, sizeof r1), 0);
	assert_int_equal(hs_os_random(r2, sizeof r2), 0);
	assert_memory_not_equal(r1, r2, sizeof r1);
	assert_int_equal(hs_os_pid_alive(hs_os_pid()), 1);
	hs_os_hostname(host, sizeof host);
	assert_true(host[0] != 0);
	assert_non_null(user);
	assert_true(user[0] != 0);
	free(user);
	char *self = hs_os_self_path();
	assert_non_null(self);
	assert_true(hs_os_path_is_absolute(self));
	free(self);
	struct tm tm = {0};
	tm.tm_year = 2025 - 1900;
	tm.tm_mon = 0;
	tm.tm_mday = 15;
	tm.tm_hour = 10;
	assert_int_equal((long long)hs_os_timegm(&tm), 1736935200LL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_posix_paths),
		cmocka_unit_test(test_windows_paths),
		cmocka_unit_test(test_files),
		cmocka_unit_test(test_process),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
