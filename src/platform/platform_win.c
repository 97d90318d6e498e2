/*
 * platform_win.c - platform.h on Windows (built with mingw-w64).
 *
 * Every path is UTF-8 here and becomes UTF-16 for the W functions (the
 * C runtime's narrow functions would use the ANSI code page). Files are
 * opened with CreateFileW sharing read, write and delete, then handed to
 * the C runtime as a descriptor (_open_osfhandle): other processes may
 * then delete or rename a file we hold open, as on POSIX (the lock's owner
 * file is read by every waiting PC and deleted by its owner).
 */
#ifdef _WIN32
#include "platform.h"

#include <winsock2.h>
#include <windows.h>
#include <bcrypt.h>
#include <errno.h>
#include <fcntl.h>
#include <io.h>
#include <shellapi.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

/* Windows error code -> errno. */
static int errno_of(DWORD e)
{
	switch (e) {
	case ERROR_FILE_NOT_FOUND:
	case ERROR_PATH_NOT_FOUND:
	case ERROR_INVALID_NAME:
	case ERROR_BAD_NETPATH:
	case ERROR_BAD_NET_NAME:
	case ERROR_INVALID_DRIVE:
		return ENOENT;
	case ERROR_ALREADY_EXISTS:
	case ERROR_FILE_EXISTS:
		return EEXIST;
	case ERROR_ACCESS_DENIED:
	case ERROR_SHARING_VIOLATION:
	case ERROR_LOCK_VIOLATION:
		return EACCES;
	case ERROR_WRITE_PROTECT:
		return EROFS;
	case ERROR_DISK_FULL:
	case ERROR_HANDLE_DISK_FULL:
		return ENOSPC;
	case ERROR_DIR_NOT_EMPTY:
		return ENOTEMPTY;
	case ERROR_DIRECTORY:
		return ENOTDIR;
	case ERROR_NOT_ENOUGH_MEMORY:
	case ERROR_OUTOFMEMORY:
		return ENOMEM;
	default:
		return EIO;
	}
}

static void set_errno_from_last(void) { errno = errno_of(GetLastError()); }

/* UTF-8 -> UTF-16, malloc'd; NULL with errno on failure. */
static wchar_t *wide(const char *s)
{
	int n = MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, s, -1, NULL, 0);
	wchar_t *w;
	if (n <= 0) {
		errno = EINVAL; /* not UTF-8 */
		return NULL;
	}
	if (!(w = malloc((size_t)n * sizeof(wchar_t)))) {
		errno = ENOMEM;
		return NULL;
	}
	MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, s, -1, w, n);
	/* In \\?\ paths '/' is no separator: we join with '/' elsewhere */
	if (wcsncmp(w, L"\\\\?\\", 4) == 0)
		for (wchar_t *c = w; *c; c++)
			if (*c == L'/')
				*c = L'\\';
	return w;
}

/* UTF-16 -> UTF-8, malloc'd; NULL on failure. */
static char *narrow(const wchar_t *w)
{
	int n = WideCharToMultiByte(CP_UTF8, 0, w, -1, NULL, 0, NULL, NULL);
	char *s;
	if (n <= 0 || !(s = malloc((size_t)n)))
		return NULL;
	WideCharToMultiByte(CP_UTF8, 0, w, -1, s, n, NULL, NULL);
	return s;
}

/* ---- start ---------------------------------------------------------- */

const char *hs_os_name(void) { return "windows"; }

void hs_os_init(int *argc, char ***argv)
{
	int n = 0;
	wchar_t **wargv = CommandLineToArgvW(GetCommandLineW(), &n);
	WSADATA wsa;

	if (wargv && n > 0) {
		char **args = calloc((size_t)n + 1, sizeof(char *));
		int ok = args != NULL;
		for (int i = 0; ok && i < n; i++)
			ok = (args[i] = narrow(wargv[i])) != NULL;
		if (ok) { /* kept until exit, like the real argv */
			*argc = n;
			*argv = args;
		}
		LocalFree(wargv);
	}
	_setmode(_fileno(stdout), _O_BINARY);
	_setmode(_fileno(stderr), _O_BINARY);
	_setmode(_fileno(stdin), _O_BINARY);
	SetConsoleOutputCP(CP_UTF8);
	WSAStartup(MAKEWORD(2, 2), &wsa);
}

/* ---- paths ---------------------------------------------------------- */

char *hs_os_path_absolute(const char *path)
{
	wchar_t *w = wide(path), *full = NULL;
	char *out = NULL;
	DWORD n;
	if (!w)
		return NULL;
	n = GetFullPathNameW(w, 0, NULL, NULL);
	if (n && (full = malloc(((size_t)n + 1) * sizeof(wchar_t))) != NULL &&
	    GetFullPathNameW(w, n + 1, full, NULL) > 0)
		out = narrow(full);
	else
		set_errno_from_last();
	free(full);
	free(w);
	if (out) { /* its folder must exist, as realpath(3) checks */
		char *folder = hs_os_path_folder(out);
		hs_os_stat st;
		if (!folder || hs_os_stat_path(folder, &st) != 0 || !st.is_dir) {
			free(out);
			out = NULL;
			if (folder && errno != ENOENT)
				errno = ENOTDIR;
		}
		free(folder);
	}
	return out;
}

/* ---- files ---------------------------------------------------------- */

#define SHARE_ALL (FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE)

/* FILETIME (100 ns since 1601) as ns since 1970. */
static int64_t ns_of(FILETIME ft)
{
	int64_t t = ((int64_t)ft.dwHighDateTime << 32) | ft.dwLowDateTime;
	return (t - 116444736000000000LL) * 100;
}

int hs_os_stat_path(const char *path, hs_os_stat *out)
{
	wchar_t *w = wide(path);
	BY_HANDLE_FILE_INFORMATION fi;
	HANDLE h;
	if (!w)
		return -1;
	/* BACKUP_SEMANTICS: folders open too; no access right needed */
	h = CreateFileW(w, 0, SHARE_ALL, NULL, OPEN_EXISTING,
			FILE_FLAG_BACKUP_SEMANTICS, NULL);
	free(w);
	if (h == INVALID_HANDLE_VALUE) {
		set_errno_from_last();
		return -1;
	}
	if (!GetFileInformationByHandle(h, &fi)) {
		set_errno_from_last();
		CloseHandle(h);
		return -1;
	}
	CloseHandle(h);
	out->size = ((int64_t)fi.nFileSizeHigh << 32) | fi.nFileSizeLow;
	out->mtime_ns = ns_of(fi.ftLastWriteTime);
	out->dev = fi.dwVolumeSerialNumber;
	out->ino = ((uint64_t)fi.nFileIndexHigh << 32) | fi.nFileIndexLow;
	out->is_dir = (fi.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY) != 0;
	out->is_file = !out->is_dir;
	return 0;
}

int hs_os_open(const char *path, int flags, int mode)
{
	DWORD access = 0, disposition, attrs = FILE_ATTRIBUTE_NORMAL;
	int acc = flags & (O_RDONLY | O_WRONLY | O_RDWR), fd;
	wchar_t *w = wide(path);
	HANDLE h;
	if (!w)
		return -1;
	if (acc == O_RDONLY)
		access = GENERIC_READ;
	else if (acc == O_WRONLY)
		access = GENERIC_WRITE;
	else
		access = GENERIC_READ | GENERIC_WRITE;
	if (flags & O_APPEND)
		access = (access & ~GENERIC_WRITE) | FILE_APPEND_DATA;
	if ((flags & O_CREAT) && (flags & O_EXCL))
		disposition = CREATE_NEW;
	else if ((flags & O_CREAT) && (flags & O_TRUNC))
		disposition = CREATE_ALWAYS;
	else if (flags & O_CREAT)
		disposition = OPEN_ALWAYS;
	else if (flags & O_TRUNC)
		disposition = TRUNCATE_EXISTING;
	else
		disposition = OPEN_EXISTING;
	if ((flags & O_CREAT) && !(mode & 0200))
		attrs = FILE_ATTRIBUTE_READONLY;
	h = CreateFileW(w, access, SHARE_ALL, NULL, disposition, attrs, NULL);
	free(w);
	if (h == INVALID_HANDLE_VALUE) {
		set_errno_from_last();
		return -1;
	}
	fd = _open_osfhandle((intptr_t)h,
			     (flags & (O_RDONLY | O_WRONLY | O_RDWR | O_APPEND)) |
				     _O_BINARY | _O_NOINHERIT);
	if (fd < 0) {
		CloseHandle(h);
		errno = EMFILE;
	}
	return fd;
}

FILE *hs_os_fopen(const char *path, const char *mode)
{
	int flags, plus = strchr(mode, '+') != NULL, fd;
	char m[4] = {mode[0], 'b', plus ? '+' : 0, 0};
	FILE *f;
	switch (mode[0]) {
	case 'r':
		flags = plus ? O_RDWR : O_RDONLY;
		break;
	case 'w':
		flags = (plus ? O_RDWR : O_WRONLY) | O_CREAT | O_TRUNC;
		break;
	case 'a':
		flags = (plus ? O_RDWR : O_WRONLY) | O_CREAT | O_APPEND;
		break;
	default:
		errno = EINVAL;
		return NULL;
	}
	if ((fd = hs_os_open(path, flags, 0666)) < 0)
		return NULL;
	if (!(f = _fdopen(fd, m)))
		_close(fd);
	return f;
}

FILE *hs_os_tmpfile(void)
{
	wchar_t dir[MAX_PATH + 1], name[MAX_PATH + 1];
	DWORD n = GetTempPathW(MAX_PATH + 1, dir);
	HANDLE h;
	int fd;
	FILE *f;
	if (n == 0 || n > MAX_PATH || !GetTempFileNameW(dir, L"hs", 0, name)) {
		set_errno_from_last();
		return NULL;
	}
	h = CreateFileW(name, GENERIC_READ | GENERIC_WRITE, 0, NULL, CREATE_ALWAYS,
			FILE_ATTRIBUTE_TEMPORARY | FILE_FLAG_DELETE_ON_CLOSE, NULL);
	if (h == INVALID_HANDLE_VALUE) {
		set_errno_from_last();
		DeleteFileW(name);
		return NULL;
	}
	if ((fd = _open_osfhandle((intptr_t)h, _O_RDWR | _O_BINARY)) < 0) {
		CloseHandle(h);
		return NULL;
	}
	if (!(f = _fdopen(fd, "w+b")))
		_close(fd);
	return f;
}

int hs_os_fsync(int fd)
{
	HANDLE h = (HANDLE)_get_osfhandle(fd);
	if (h == INVALID_HANDLE_VALUE || !FlushFileBuffers(h)) {
		set_errno_from_last();
		return -1;
	}
	return 0;
}

int hs_os_fsync_path(const char *path)
{
	/* FlushFileBuffers needs a handle open for writing */
	int fd = hs_os_open(path, O_WRONLY, 0), rc;
	if (fd < 0)
		return -1;
	rc = hs_os_fsync(fd);
	_close(fd);
	return rc;
}

int hs_os_fsync_folder(const char *folder) { return 0; }

/* Retry briefly what a virus scanner or an indexer holding the file for a
 * moment makes fail: a sharing violation, access denied, a folder not yet
 * empty because a deleted file is still open somewhere. */
#define RETRY_TRIES 20
#define RETRY_MS 50

static int transient(DWORD e)
{
	return e == ERROR_SHARING_VIOLATION || e == ERROR_ACCESS_DENIED ||
	       e == ERROR_LOCK_VIOLATION || e == ERROR_DIR_NOT_EMPTY;
}

int hs_os_mkdir(const char *path)
{
	wchar_t *w = wide(path);
	int ok;
	if (!w)
		return -1;
	ok = CreateDirectoryW(w, NULL);
	if (!ok)
		set_errno_from_last();
	free(w);
	return ok ? 0 : -1;
}

/* op(path), retrying what is transient; for a delete, a read-only file
 * loses that attribute first (POSIX deletes those). */
static int retrying(BOOL(WINAPI *op)(LPCWSTR), const char *path,
		    int clear_readonly)
{
	wchar_t *w = wide(path);
	int ok = 0;
	if (!w)
		return -1;
	for (int i = 0; i < RETRY_TRIES && !(ok = op(w)); i++) {
		DWORD e = GetLastError(), a;
		if (clear_readonly && e == ERROR_ACCESS_DENIED &&
		    (a = GetFileAttributesW(w)) != INVALID_FILE_ATTRIBUTES &&
		    (a & FILE_ATTRIBUTE_READONLY) &&
		    SetFileAttributesW(w, a & ~FILE_ATTRIBUTE_READONLY))
			continue;
		if (!transient(e)) {
			SetLastError(e);
			break;
		}
		Sleep(RETRY_MS);
	}
	if (!ok)
		set_errno_from_last();
	free(w);
	return ok ? 0 : -1;
}

int hs_os_rmdir(const char *path)
{
	return retrying(RemoveDirectoryW, path, 0);
}

int hs_os_unlink(const char *path) { return retrying(DeleteFileW, path, 1); }

int hs_os_rename(const char *from, const char *to)
{
	wchar_t *wf = wide(from), *wt = wide(to);
	int ok = 0;
	if (wf && wt) {
		for (int i = 0; i < RETRY_TRIES; i++) {
			ok = MoveFileExW(wf, wt, MOVEFILE_REPLACE_EXISTING |
						       MOVEFILE_WRITE_THROUGH);
			if (ok || !transient(GetLastError()))
				break;
			Sleep(RETRY_MS);
		}
		if (!ok)
			set_errno_from_last();
	}
	free(wf);
	free(wt);
	return ok ? 0 : -1;
}

int hs_os_touch(const char *path)
{
	wchar_t *w = wide(path);
	FILETIME now;
	HANDLE h;
	int ok;
	if (!w)
		return -1;
	h = CreateFileW(w, FILE_WRITE_ATTRIBUTES, SHARE_ALL, NULL, OPEN_EXISTING,
			FILE_FLAG_BACKUP_SEMANTICS, NULL);
	free(w);
	if (h == INVALID_HANDLE_VALUE) {
		set_errno_from_last();
		return -1;
	}
	GetSystemTimeAsFileTime(&now);
	ok = SetFileTime(h, NULL, NULL, &now);
	if (!ok)
		set_errno_from_last();
	CloseHandle(h);
	return ok ? 0 : -1;
}

int hs_os_folder_writable(const char *path)
{
	/* ACLs decide, and only trying tells: create and delete a file */
	char probe[64];
	hs_os_stat st;
	size_t n = strlen(path);
	char *p;
	int fd;
	if (hs_os_stat_path(path, &st) != 0)
		return -1;
	if (!st.is_dir) {
		errno = ENOTDIR;
		return -1;
	}
	snprintf(probe, sizeof probe, "\\.hubsync-probe-%lu-%lu",
		 (unsigned long)GetCurrentProcessId(),
		 (unsigned long)GetTickCount());
	if (!(p = malloc(n + sizeof probe)))
		return -1;
	memcpy(p, path, n);
	strcpy(p + n, probe);
	fd = hs_os_open(p, O_WRONLY | O_CREAT | O_EXCL, 0666);
	if (fd >= 0) {
		_close(fd);
		hs_os_unlink(p);
	}
	free(p);
	return fd >= 0 ? 0 : -1;
}

int hs_os_exists(const char *path)
{
	wchar_t *w = wide(path);
	DWORD a;
	if (!w)
		return -1;
	a = GetFileAttributesW(w);
	free(w);
	if (a == INVALID_FILE_ATTRIBUTES) {
		set_errno_from_last();
		return -1;
	}
	return 0;
}

/* ---- folders -------------------------------------------------------- */

struct hs_os_dir {
	HANDLE h;
	WIN32_FIND_DATAW fd;
	int first; /* fd holds an entry not yet returned */
	char *name;
};

hs_os_dir *hs_os_dir_open(const char *path)
{
	size_t n = strlen(path);
	char *pattern = malloc(n + 3);
	wchar_t *w;
	hs_os_dir *d;
	if (!pattern)
		return NULL;
	memcpy(pattern, path, n);
	strcpy(pattern + n, n && hs_os_is_sep(path[n - 1]) ? "*" : "\\*");
	w = wide(pattern);
	free(pattern);
	if (!w || !(d = calloc(1, sizeof(*d)))) {
		free(w);
		return NULL;
	}
	d->h = FindFirstFileW(w, &d->fd);
	free(w);
	if (d->h == INVALID_HANDLE_VALUE) {
		set_errno_from_last();
		free(d);
		return NULL;
	}
	d->first = 1;
	return d;
}

const char *hs_os_dir_next(hs_os_dir *d)
{
	for (;;) {
		if (!d->first && !FindNextFileW(d->h, &d->fd))
			return NULL;
		d->first = 0;
		if (wcscmp(d->fd.cFileName, L".") == 0 ||
		    wcscmp(d->fd.cFileName, L"..") == 0)
			continue;
		free(d->name);
		d->name = narrow(d->fd.cFileName);
		if (d->name)
			return d->name;
	}
}

void hs_os_dir_close(hs_os_dir *d)
{
	if (d) {
		FindClose(d->h);
		free(d->name);
		free(d);
	}
}

int hs_os_remove_tree(const char *path)
{
	wchar_t *w = wide(path);
	DWORD a;
	if (!w)
		return -1;
	a = GetFileAttributesW(w);
	free(w);
	if (a == INVALID_FILE_ATTRIBUTES)
		return 0;
	/* a link to a folder (junction, symlink) is removed, not entered */
	if (!(a & FILE_ATTRIBUTE_DIRECTORY))
		return hs_os_unlink(path);
	if (!(a & FILE_ATTRIBUTE_REPARSE_POINT)) {
		hs_os_dir *d = hs_os_dir_open(path);
		const char *name;
		int rc = 0;
		if (!d)
			return -1;
		while (rc == 0 && (name = hs_os_dir_next(d)) != NULL) {
			size_t n = strlen(path) + strlen(name) + 2;
			char *child = malloc(n);
			if (!child) {
				rc = -1;
				break;
			}
			snprintf(child, n, "%s\\%s", path, name);
			rc = hs_os_remove_tree(child);
			free(child);
		}
		hs_os_dir_close(d);
		if (rc != 0)
			return -1;
	}
	return hs_os_rmdir(path);
}

char *hs_os_make_temp_folder(char *templ)
{
	size_t n = strlen(templ);
	static const char digits[] = "0123456789abcdefghijklmnopqrstuvwxyz";
	if (n < 6 || strcmp(templ + n - 6, "XXXXXX") != 0) {
		errno = EINVAL;
		return NULL;
	}
	for (int tries = 0; tries < 100; tries++) {
		unsigned char r[6];
		if (hs_os_random(r, sizeof r) != 0)
			return NULL;
		for (int i = 0; i < 6; i++)
			templ[n - 6 + i] = digits[r[i] % 36];
		if (hs_os_mkdir(templ) == 0)
			return templ;
		if (errno != EEXIST)
			return NULL;
	}
	return NULL;
}

/* ---- the replica's sync lock ---------------------------------------- */

int hs_os_lock_file(const char *path)
{
	int fd = hs_os_open(path, O_RDWR | O_CREAT, 0666);
	OVERLAPPED ov;
	if (fd < 0)
		return -2;
	memset(&ov, 0, sizeof ov);
	if (!LockFileEx((HANDLE)_get_osfhandle(fd),
			LOCKFILE_EXCLUSIVE_LOCK | LOCKFILE_FAIL_IMMEDIATELY, 0, 1,
			0, &ov)) {
		DWORD e = GetLastError();
		_close(fd);
		errno = EWOULDBLOCK;
		return e == ERROR_LOCK_VIOLATION || e == ERROR_IO_PENDING ? -1 : -2;
	}
	return fd;
}

void hs_os_unlock_file(int fd)
{
	if (fd >= 0)
		_close(fd); /* closing the handle releases the lock */
}

/* ---- time ----------------------------------------------------------- */

int64_t hs_os_now_ms(void)
{
	FILETIME ft;
	GetSystemTimePreciseAsFileTime(&ft);
	return ns_of(ft) / 1000000;
}

void hs_os_sleep_ms(int ms) { Sleep(ms > 0 ? (DWORD)ms : 0); }

time_t hs_os_timegm(struct tm *tm) { return _mkgmtime(tm); }

/* ---- process, PC, user ---------------------------------------------- */

long hs_os_pid(void) { return (long)GetCurrentProcessId(); }

int hs_os_pid_alive(long pid)
{
	DWORD code;
	HANDLE h;
	if (pid <= 0)
		return -1;
	h = OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, FALSE, (DWORD)pid);
	if (!h)
		return GetLastError() == ERROR_INVALID_PARAMETER ? 0 : 1;
	int alive = GetExitCodeProcess(h, &code) ? code == STILL_ACTIVE : -1;
	CloseHandle(h);
	return alive;
}

void hs_os_hostname(char *buf, size_t n)
{
	wchar_t w[256];
	DWORD len = 256;
	char *s;
	if (n == 0)
		return;
	snprintf(buf, n, "?");
	if (GetComputerNameExW(ComputerNameDnsHostname, w, &len) &&
	    (s = narrow(w)) != NULL) {
		snprintf(buf, n, "%s", s);
		free(s);
	}
}

char *hs_os_user(void)
{
	const wchar_t *env = _wgetenv(L"USERNAME");
	wchar_t w[257];
	DWORD len = 257;
	if (env && *env)
		return narrow(env);
	if (GetUserNameW(w, &len))
		return narrow(w);
	return strdup("user");
}

int hs_os_random(void *buf, size_t n)
{
	NTSTATUS st = BCryptGenRandom(NULL, buf, (ULONG)n,
				      BCRYPT_USE_SYSTEM_PREFERRED_RNG);
	return st == 0 ? 0 : -1;
}

/* ---- stopping ------------------------------------------------------- */

/* Set by the console handler or by hs_os_stop_request from another
 * process (a named event "Local\hubsync-stop-HASH" of the key). */
static HANDLE stop_event;
static HANDLE stopped_event; /* the program finished its cleanup */
static volatile LONG stop_why = -1;
static const char *const stop_names[] = {
	"Ctrl+C", "Ctrl+Break", "console closed", "", "", "logoff", "shutdown",
};

static BOOL WINAPI on_console(DWORD type)
{
	if (type > CTRL_SHUTDOWN_EVENT)
		return FALSE;
	if (InterlockedCompareExchange(&stop_why, (LONG)type, -1) != -1)
		return FALSE; /* a second one: the default, end the process */
	SetEvent(stop_event);
	/* After this returns, Windows ends the process for close, logoff and
	 * shutdown: give the cleanup its time (the system allows ~5 s). */
	if (type >= CTRL_CLOSE_EVENT)
		WaitForSingleObject(stopped_event, 4500);
	return TRUE;
}

static void event_name(const char *key, wchar_t out[64])
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a, case-insensitive */
	for (const char *p = key; *p; p++) {
		char c = *p >= 'A' && *p <= 'Z' ? (char)(*p + 32) : *p;
		if (c == '/')
			c = '\\';
		h = (h ^ (unsigned char)c) * 1099511628211ULL;
	}
	swprintf(out, 64, L"Local\\hubsync-stop-%016llx", (unsigned long long)h);
}

void hs_os_stop_begin(const char *key)
{
	wchar_t name[64];
	if (key)
		event_name(key, name);
	stop_event = CreateEventW(NULL, TRUE, FALSE, key ? name : NULL);
	stopped_event = CreateEventW(NULL, TRUE, FALSE, NULL);
	SetConsoleCtrlHandler(on_console, TRUE);
}

const char *hs_os_stop_wait(void)
{
	WaitForSingleObject(stop_event, INFINITE);
	LONG why = stop_why;
	return why >= 0 && why <= CTRL_SHUTDOWN_EVENT ? stop_names[why]
						       : "stop request";
}

void hs_os_stop_end(void)
{
	SetEvent(stopped_event);
	SetConsoleCtrlHandler(on_console, FALSE);
}

int hs_os_stop_request(const char *key)
{
	wchar_t name[64];
	HANDLE h;
	event_name(key, name);
	h = OpenEventW(EVENT_MODIFY_STATE, FALSE, name);
	if (!h) {
		errno = ENOENT;
		return -1;
	}
	SetEvent(h);
	CloseHandle(h);
	return 0;
}

/* ---- starting at logon ---------------------------------------------- */

char *hs_os_self_path(void)
{
	wchar_t w[32768];
	DWORD n = GetModuleFileNameW(NULL, w, 32768);
	return n > 0 && n < 32768 ? narrow(w) : NULL;
}

/* Append arg to the command line b quoted the way CommandLineToArgvW
 * reads it back. */
static void quote_arg(char **b, size_t *len, const char *arg)
{
	size_t need = *len + 2 * strlen(arg) + 4;
	char *s = realloc(*b, need), *o;
	if (!s)
		return;
	*b = s;
	o = s + *len;
	if (*len)
		*o++ = ' ';
	*o++ = '"';
	for (const char *p = arg;; p++) {
		size_t slashes = 0;
		while (*p == '\\') {
			p++;
			slashes++;
		}
		if (!*p) { /* double the backslashes before the closing quote */
			for (size_t i = 0; i < 2 * slashes; i++)
				*o++ = '\\';
			break;
		}
		if (*p == '"') {
			for (size_t i = 0; i < 2 * slashes + 1; i++)
				*o++ = '\\';
		} else {
			for (size_t i = 0; i < slashes; i++)
				*o++ = '\\';
		}
		*o++ = *p;
	}
	*o++ = '"';
	*o = 0;
	*len = (size_t)(o - s);
}

/* CreateProcessW of argv with flags; the process handle to *proc when
 * wanted (else closed). The pid, or -1. */
static long create_process(const char *const *argv, DWORD flags,
			   HANDLE *proc)
{
	char *line = NULL;
	size_t len = 0;
	wchar_t *w;
	STARTUPINFOW si;
	PROCESS_INFORMATION pi;
	long pid = -1;
	for (int i = 0; argv[i]; i++)
		quote_arg(&line, &len, argv[i]);
	if (!line || !(w = wide(line))) {
		free(line);
		return -1;
	}
	free(line);
	memset(&si, 0, sizeof si);
	si.cb = sizeof si;
	fflush(stdout);
	fflush(stderr);
	if (CreateProcessW(NULL, w, NULL, NULL, FALSE, flags, NULL, NULL, &si,
			   &pi)) {
		pid = (long)pi.dwProcessId;
		CloseHandle(pi.hThread);
		if (proc)
			*proc = pi.hProcess;
		else
			CloseHandle(pi.hProcess);
	} else {
		set_errno_from_last();
	}
	free(w);
	return pid;
}

long hs_os_spawn_detached(const char *const *argv)
{
	return create_process(argv, CREATE_NO_WINDOW | CREATE_NEW_PROCESS_GROUP,
			      NULL);
}

/* The children of hs_os_spawn not yet waited for: their handles keep
 * the exit code readable after they end. */
static struct {
	long pid;
	HANDLE h;
} children[64];

long hs_os_spawn(const char *const *argv)
{
	HANDLE h = NULL;
	long pid = create_process(argv, 0, &h);
	if (pid < 0)
		return -1;
	for (size_t i = 0; i < sizeof children / sizeof children[0]; i++)
		if (!children[i].h) {
			children[i].pid = pid;
			children[i].h = h;
			return pid;
		}
	CloseHandle(h);
	return pid; /* hs_os_wait may not read its exit code */
}

int hs_os_wait(long pid)
{
	HANDLE h = NULL;
	DWORD code = 0;
	for (size_t i = 0; i < sizeof children / sizeof children[0]; i++)
		if (children[i].h && children[i].pid == pid) {
			h = children[i].h;
			children[i].h = NULL;
		}
	if (!h && !(h = OpenProcess(SYNCHRONIZE |
					    PROCESS_QUERY_LIMITED_INFORMATION,
				    FALSE, (DWORD)pid)))
		return -1;
	WaitForSingleObject(h, INFINITE);
	int ok = GetExitCodeProcess(h, &code);
	CloseHandle(h);
	return ok ? (int)code : -1;
}

int hs_os_setenv(const char *name, const char *value)
{
	wchar_t *wn = wide(name), *wv = wide(value);
	int rc = wn && wv && _wputenv_s(wn, wv) == 0 ? 0 : -1;
	free(wn);
	free(wv);
	return rc;
}

#define RUN_KEY L"Software\\Microsoft\\Windows\\CurrentVersion\\Run"

int hs_os_autostart(const char *name, const char *command)
{
	wchar_t *wn = wide(name), *wc = command ? wide(command) : NULL;
	HKEY key;
	LONG r = ERROR_OUTOFMEMORY;
	if (wn && (wc || !command)) {
		r = RegCreateKeyExW(HKEY_CURRENT_USER, RUN_KEY, 0, NULL, 0,
				    KEY_SET_VALUE, NULL, &key, NULL);
		if (r == ERROR_SUCCESS) {
			if (wc)
				r = RegSetValueExW(key, wn, 0, REG_SZ,
						   (const BYTE *)wc,
						   (DWORD)((wcslen(wc) + 1) *
							   sizeof(wchar_t)));
			else if ((r = RegDeleteValueW(key, wn)) ==
				 ERROR_FILE_NOT_FOUND)
				r = ERROR_SUCCESS;
			RegCloseKey(key);
		}
	}
	free(wn);
	free(wc);
	if (r != ERROR_SUCCESS) {
		errno = errno_of((DWORD)r);
		return -1;
	}
	return 0;
}

char *hs_os_autostart_get(const char *name)
{
	wchar_t *wn = wide(name), buf[4096];
	DWORD size = sizeof buf, type = 0;
	char *out = NULL;
	if (wn && RegGetValueW(HKEY_CURRENT_USER, RUN_KEY, wn, RRF_RT_REG_SZ,
			       &type, buf, &size) == ERROR_SUCCESS)
		out = narrow(buf);
	free(wn);
	return out;
}
#endif
