/*
 * platform.h - the operating system behind one set of functions.
 *
 * hubsync runs on Linux (platform_posix.c) and on Windows (platform_win.c,
 * cross-built with mingw-w64). Everything that differs between the two
 * lives behind these functions, so that no other file needs #ifdef _WIN32:
 * the library (src/lib), the command, the daemon and the demo all call
 * these. This is the one header below the public API that the command, the
 * daemon and the demo may include besides hubsync.h.
 *
 * Paths are UTF-8 on both systems. On Windows they go through the
 * wide-character API (MultiByteToWideChar, CreateFileW, _wopen), so that a
 * folder named "Angebote Müller" works whatever the ANSI code page; a path
 * may use '\' or '/', a drive letter (Z:\CTH\server.db) or UNC
 * (\\nas\cth\server.db). Functions that fail return -1 (or NULL) with errno
 * set, like the POSIX calls they replace, unless said otherwise.
 */
#ifndef HS_PLATFORM_H
#define HS_PLATFORM_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

/* Windows has no disk quota error code: a full quota is a full disk. */
#ifndef EDQUOT
#define EDQUOT ENOSPC
#endif

/* ---- start of a program -------------------------------------------- */

/* "linux" (any POSIX system) or "windows". */
const char *hs_os_name(void);

/* Call first in main: on Windows, argv becomes UTF-8 (from the wide
 * command line; the array lives until exit), stdout and stderr write bytes
 * as given (no CRLF) and the console shows UTF-8, sockets are ready. */
void hs_os_init(int *argc, char ***argv);

/* ---- paths ---------------------------------------------------------- */

/* '/' everywhere, also '\' on Windows. */
int hs_os_is_sep(char c);
/* An absolute path: /x on Linux; C:\x, C:/x, \\server\share\x or
 * //server/share/x on Windows. */
int hs_os_path_is_absolute(const char *path);
/* The part after the last separator (after "C:" for "C:name"). */
const char *hs_os_path_file(const char *path);
/* The folder part: "." when path has none; a root stays itself ("/",
 * "C:\", "\\server\share\"). malloc'd; NULL on out of memory. */
char *hs_os_path_folder(const char *path);
/* The absolute form of path, whose folder must exist (the file itself
 * need not). malloc'd; NULL with errno on failure. */
char *hs_os_path_absolute(const char *path);

/* ---- files ---------------------------------------------------------- */

typedef struct hs_os_stat {
	int64_t size;
	int64_t mtime_ns; /* last modification, ns since 1970 */
	/* Identity: two paths name the same file when both are equal
	 * (st_dev/st_ino; on Windows the volume serial number and the file
	 * index of GetFileInformationByHandle). */
	uint64_t dev, ino;
	int is_dir, is_file;
} hs_os_stat;

/* Follows symbolic links. */
int hs_os_stat_path(const char *path, hs_os_stat *out);
/* open(2) with O_* flags from <fcntl.h>; always binary and not inherited
 * by child processes. On Windows others may delete or rename the file
 * while it is open, as on POSIX. */
int hs_os_open(const char *path, int flags, int mode);
/* fopen(3), always binary (mode "r", "w", "a", "r+"...; a "b" is
 * accepted), with the same sharing as hs_os_open. */
FILE *hs_os_fopen(const char *path, const char *mode);
/* Flush fd's data to the disk; fd must be open for writing. */
int hs_os_fsync(int fd);
/* Flush the file at path to the disk (opened for writing, not changed). */
int hs_os_fsync_path(const char *path);
/* Make a rename or create in folder durable where the system can (POSIX:
 * fsync of the folder; Windows: nothing to do). Best effort: always 0. */
int hs_os_fsync_folder(const char *folder);
/* mkdir; a new folder gets the system's default permissions. */
int hs_os_mkdir(const char *path);
int hs_os_rmdir(const char *path);
int hs_os_unlink(const char *path);
/* rename, replacing a file at to if there (MoveFileExW with
 * MOVEFILE_REPLACE_EXISTING on Windows). */
int hs_os_rename(const char *from, const char *to);
/* Set the file's modification time to now (utimensat(..., NULL)). */
int hs_os_touch(const char *path);
/* 0 if the folder exists and this user may create files in it. */
int hs_os_folder_writable(const char *path);
/* 0 if something (file or folder) is at path. */
int hs_os_exists(const char *path);
/* Remove path and, for a folder, everything in it (symbolic links are
 * removed, not followed). 0 when nothing is left. */
int hs_os_remove_tree(const char *path);
/* A new temporary file, open for reading and writing, removed when it is
 * closed (tmpfile(3); on Windows in the user's temp folder: the C
 * runtime's tmpfile creates it in the root of the drive, which ordinary
 * users may not write). NULL with errno on failure. */
FILE *hs_os_tmpfile(void);
/* mkdtemp(3): templ ends in XXXXXX, replaced with the new folder's name. */
char *hs_os_make_temp_folder(char *templ);

/* The names in a folder, "." and ".." left out. */
typedef struct hs_os_dir hs_os_dir;
hs_os_dir *hs_os_dir_open(const char *path);
/* The next name (valid until the next call), NULL at the end. */
const char *hs_os_dir_next(hs_os_dir *d);
void hs_os_dir_close(hs_os_dir *d);

/*
 * The one-sync-at-a-time lock of a replica: lock the local file at path
 * (created if missing) for this process without waiting (flock on Linux,
 * LockFileEx on Windows). Returns a descriptor to hs_os_unlock_file, -1
 * with errno EWOULDBLOCK when another process holds the lock, -2 when the
 * file cannot be made or locked.
 */
int hs_os_lock_file(const char *path);
void hs_os_unlock_file(int fd);

/* ---- time ----------------------------------------------------------- */

int64_t hs_os_now_ms(void);
void hs_os_sleep_ms(int ms);
/* timegm(3): the UTC broken-down time as seconds since 1970. */
time_t hs_os_timegm(struct tm *tm);

/* ---- this process, this PC, this user ------------------------------ */

long hs_os_pid(void);
/* Is process pid on this PC still running? 1 yes, 0 no, -1 cannot tell. */
int hs_os_pid_alive(long pid);
/* This PC's name (gethostname / GetComputerNameExW), "?" if unknown. */
void hs_os_hostname(char *buf, size_t n);
/* The login name: $USER or the password entry on Linux, %USERNAME% or
 * GetUserNameW on Windows; "user" if none. malloc'd (NULL on oom). */
char *hs_os_user(void);
/* n random bytes from the system (getrandom or /dev/urandom;
 * BCryptGenRandom). 0, or -1. */
int hs_os_random(void *buf, size_t n);

/* ---- stopping a long-running program (the daemon) ------------------- */

/*
 * Call before starting threads: from now on the stop requests are
 * delivered to hs_os_stop_wait only. POSIX: SIGINT and SIGTERM (blocked in
 * every thread, SIGPIPE ignored). Windows: Ctrl+C, Ctrl+Break, closing the
 * console, logoff and shutdown, and hs_os_stop_request(key) from another
 * process. key names this program instance for hs_os_stop_request (the
 * daemon uses its database's absolute path); may be NULL.
 */
void hs_os_stop_begin(const char *key);
/* Wait for a stop request; returns what it was ("SIGTERM", "Ctrl+C"...).
 * From then on a second request ends the process at once. */
const char *hs_os_stop_wait(void);
/* The program has cleaned up (Windows lets the process end now when the
 * console is closing); back to the default handling. */
void hs_os_stop_end(void);
/* Ask the program started with key to stop (Windows; POSIX sends no
 * signal by name: -1, ENOSYS). 0 sent, -1 with errno ENOENT when none
 * runs. */
int hs_os_stop_request(const char *key);

/* ---- child processes ----------------------------------------------- */

/* Start argv[0] (a path) with argv, sharing this console, stdout and
 * stderr. Its pid, or -1. */
long hs_os_spawn(const char *const *argv);
/* Wait for a child of hs_os_spawn: its exit code, 128 + N when POSIX
 * signal N ended it, -1 on failure. */
int hs_os_wait(long pid);
/* setenv(name, value, 1). */
int hs_os_setenv(const char *name, const char *value);

/* ---- starting at logon (hubsync service, Windows) ------------------- */

/* The path of this program's executable; malloc'd. */
char *hs_os_self_path(void);
/* Start argv[0] with argv, detached from this console and without a
 * window, not waiting for it. The child's pid, or -1. */
long hs_os_spawn_detached(const char *const *argv);
/* Register (command != NULL) or remove (command NULL) the command line
 * run at this user's logon under name (HKCU\...\Run on Windows: no
 * administrator needed). -1 with ENOSYS elsewhere; removing a name that is
 * not there is 0. */
int hs_os_autostart(const char *name, const char *command);
/* The command line registered under name, malloc'd, or NULL. */
char *hs_os_autostart_get(const char *name);

#endif
