/*
 * platform_posix.c - platform.h on Linux (and other POSIX systems).
 */
#ifndef _WIN32
#define _GNU_SOURCE
#include "platform.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

void hs_os_init(int *argc, char ***argv) {}

const char *hs_os_name(void) { return "linux"; }

char *hs_os_path_absolute(const char *path)
{
	char real[PATH_MAX], *dir, *out;
	const char *file = hs_os_path_file(path);
	if (hs_os_path_is_absolute(path))
		return strdup(path);
	if (!(dir = hs_os_path_folder(path)))
		return NULL;
	if (!realpath(dir, real)) {
		free(dir);
		return NULL;
	}
	free(dir);
	size_t n = strlen(real) + 1 + strlen(file) + 1;
	if ((out = malloc(n)) != NULL)
		snprintf(out, n, "%s%s%s", real,
			 strcmp(real, "/") == 0 || !*file ? "" : "/", file);
	return out;
}

int hs_os_stat_path(const char *path, hs_os_stat *out)
{
	struct stat st;
	if (stat(path, &st) != 0)
		return -1;
	out->size = (int64_t)st.st_size;
	out->mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 +
			st.st_mtim.tv_nsec;
	out->dev = (uint64_t)st.st_dev;
	out->ino = (uint64_t)st.st_ino;
	out->is_dir = S_ISDIR(st.st_mode);
	out->is_file = S_ISREG(st.st_mode);
	return 0;
}

int hs_os_open(const char *path, int flags, int mode)
{
	return open(path, flags | O_CLOEXEC, mode);
}

FILE *hs_os_fopen(const char *path, const char *mode)
{
	char m[8];
	snprintf(m, sizeof m, "%se", mode); /* e: O_CLOEXEC */
	return fopen(path, m);
}

FILE *hs_os_tmpfile(void) { return tmpfile(); }

int hs_os_fsync(int fd) { return fsync(fd); }

int hs_os_fsync_path(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	int rc = fsync(fd);
	close(fd);
	return rc;
}

int hs_os_fsync_folder(const char *folder)
{
	int fd = open(folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		/* some shares cannot: the rename is still atomic there */
		(void)fsync(fd);
		close(fd);
	}
	return 0;
}

int hs_os_mkdir(const char *path) { return mkdir(path, 0777); }
int hs_os_rmdir(const char *path) { return rmdir(path); }
int hs_os_unlink(const char *path) { return unlink(path); }
int hs_os_rename(const char *from, const char *to) { return rename(from, to); }

int hs_os_touch(const char *path)
{
	return utimensat(AT_FDCWD, path, NULL, 0);
}

int hs_os_folder_writable(const char *path)
{
	return access(path, W_OK | X_OK);
}

int hs_os_exists(const char *path)
{
	struct stat st;
	return lstat(path, &st);
}

static int remove_entry(const char *path, const struct stat *sb, int type,
			struct FTW *ftw)
{
	return remove(path) == 0 ? 0 : -1;
}

int hs_os_remove_tree(const char *path)
{
	struct stat st;
	if (lstat(path, &st) != 0)
		return errno == ENOENT ? 0 : -1;
	return nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

char *hs_os_make_temp_folder(char *templ) { return mkdtemp(templ); }

struct hs_os_dir {
	DIR *d;
};

hs_os_dir *hs_os_dir_open(const char *path)
{
	hs_os_dir *d = malloc(sizeof(*d));
	if (d && !(d->d = opendir(path))) {
		free(d);
		d = NULL;
	}
	return d;
}

const char *hs_os_dir_next(hs_os_dir *d)
{
	struct dirent *e;
	while ((e = readdir(d->d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			return e->d_name;
	return NULL;
}

void hs_os_dir_close(hs_os_dir *d)
{
	if (d) {
		closedir(d->d);
		free(d);
	}
}

int hs_os_lock_file(const char *path)
{
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
	if (fd < 0)
		return -2;
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		int busy = errno == EWOULDBLOCK;
		close(fd);
		errno = EWOULDBLOCK;
		return busy ? -1 : -2;
	}
	return fd;
}

void hs_os_unlock_file(int fd)
{
	if (fd >= 0)
		close(fd);
}

int64_t hs_os_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void hs_os_sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

time_t hs_os_timegm(struct tm *tm) { return timegm(tm); }

long hs_os_pid(void) { return (long)getpid(); }

int hs_os_pid_alive(long pid)
{
	if (pid <= 0)
		return -1;
	if (kill((pid_t)pid, 0) == 0)
		return 1;
	return errno == ESRCH ? 0 : errno == EPERM ? 1 : -1;
}

void hs_os_hostname(char *buf, size_t n)
{
	if (n == 0)
		return;
	if (gethostname(buf, n - 1) != 0 || !buf[0])
		snprintf(buf, n, "?");
	buf[n - 1] = 0;
}

char *hs_os_user(void)
{
	const char *u = getenv("USER");
	struct passwd *pw;
	if (u && *u)
		return strdup(u);
	pw = getpwuid(getuid());
	return strdup(pw ? pw->pw_name : "user");
}

int hs_os_random(void *buf, size_t n)
{
	unsigned char *p = buf;
	while (n > 0) {
		ssize_t got = getrandom(p, n, 0);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			break;
		p += got;
		n -= (size_t)got;
	}
	if (n == 0)
		return 0;
	/* a kernel without getrandom */
	int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	while (n > 0) {
		ssize_t got = read(fd, p, n);
		if (got <= 0) {
			close(fd);
			return -1;
		}
		p += got;
		n -= (size_t)got;
	}
	close(fd);
	return 0;
}

/* ---- stopping: SIGINT and SIGTERM, taken by sigwait ---------------- */

static sigset_t stop_set, stop_old;

void hs_os_stop_begin(const char *key)
{
	sigemptyset(&stop_set);
	sigaddset(&stop_set, SIGINT);
	sigaddset(&stop_set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &stop_set, &stop_old);
	signal(SIGPIPE, SIG_IGN);
}

const char *hs_os_stop_wait(void)
{
	int sig = 0;
	while (sigwait(&stop_set, &sig) != 0)
		;
	/* a second one ends the process at once */
	pthread_sigmask(SIG_SETMASK, &stop_old, NULL);
	return sig == SIGINT ? "SIGINT" : "SIGTERM";
}

void hs_os_stop_end(void) { pthread_sigmask(SIG_SETMASK, &stop_old, NULL); }

int hs_os_stop_request(const char *key)
{
	errno = ENOSYS;
	return -1;
}

/* ---- child processes ----------------------------------------------- */

long hs_os_spawn(const char *const *argv)
{
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	if (pid == 0) {
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	return pid > 0 ? (long)pid : -1;
}

int hs_os_wait(long pid)
{
	int status = 0;
	while (waitpid((pid_t)pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int hs_os_setenv(const char *name, const char *value)
{
	return setenv(name, value, 1);
}

/* ---- starting at logon: systemd's business on Linux --------------- */

char *hs_os_self_path(void)
{
	char buf[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
	if (n <= 0)
		return NULL;
	buf[n] = 0;
	return strdup(buf);
}

long hs_os_spawn_detached(const char *const *argv)
{
	errno = ENOSYS;
	return -1;
}

int hs_os_autostart(const char *name, const char *command)
{
	errno = ENOSYS;
	return -1;
}

char *hs_os_autostart_get(const char *name) { return NULL; }
#endif
