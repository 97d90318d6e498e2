/*
 * platform_path.c - splitting paths, for both systems' rules (platform.h).
 *
 * The rules are written once with a "windows" switch, so that the unit
 * test checks the Windows rules on Linux too (hs_path_*_as); the
 * hs_os_path_* functions apply this system's.
 *
 * Windows paths: a drive "C:" then "\" or "/" (absolute) or not ("C:x" is
 * relative to C:'s current folder); UNC "\\server\share\..." (also
 * "\\?\C:\..." and "\\?\UNC\server\share\..."), whose root is the share.
 */
#include "platform.h"
#include "platform_path.h"

#include <stdlib.h>
#include <string.h>

#ifdef _WIN32
#define NATIVE_WINDOWS 1
#else
#define NATIVE_WINDOWS 0
#endif

int hs_path_is_sep_as(char c, int windows)
{
	return c == '/' || (windows && c == '\\');
}

static int is_letter(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* Length of the root of path: "/" 1; "C:\" 3; "C:" 2; "\\srv\share\" up
 * to and with the separator after the share; 0 for a relative path. */
size_t hs_path_root_len_as(const char *p, int windows)
{
	if (!windows)
		return p[0] == '/' ? 1 : 0;
	if (hs_path_is_sep_as(p[0], 1) && hs_path_is_sep_as(p[1], 1)) {
		/* \\?\C:\ and \\?\UNC\server\share\ */
		size_t i = 2, parts = 2;
		if ((p[2] == '?' || p[2] == '.') && hs_path_is_sep_as(p[3], 1)) {
			if (is_letter(p[4]) && p[5] == ':')
				return hs_path_is_sep_as(p[6], 1) ? 7 : 6;
			i = 4;
			if (strncmp(p + 4, "UNC", 3) == 0 &&
			    hs_path_is_sep_as(p[7], 1))
				i = 8;
			else
				parts = 1;
		}
		for (; parts > 0; parts--) {
			while (p[i] && !hs_path_is_sep_as(p[i], 1))
				i++;
			if (p[i])
				i++;
		}
		return i;
	}
	if (is_letter(p[0]) && p[1] == ':')
		return hs_path_is_sep_as(p[2], 1) ? 3 : 2;
	return hs_path_is_sep_as(p[0], 1) ? 1 : 0;
}

int hs_path_is_absolute_as(const char *p, int windows)
{
	size_t root = hs_path_root_len_as(p, windows);
	if (!windows)
		return root == 1;
	/* "\x" (current drive) and "C:x" (drive's current folder) are not */
	return root > 2 || (root == 2 && hs_path_is_sep_as(p[0], 1));
}

const char *hs_path_file_as(const char *p, int windows)
{
	const char *file = p + hs_path_root_len_as(p, windows);
	for (const char *c = file; *c; c++)
		if (hs_path_is_sep_as(*c, windows))
			file = c + 1;
	return file;
}

char *hs_path_folder_as(const char *p, int windows)
{
	size_t root = hs_path_root_len_as(p, windows);
	const char *file = hs_path_file_as(p, windows);
	size_t n = (size_t)(file - p);
	char *out;
	/* drop the separators between the folder and the file */
	while (n > root && hs_path_is_sep_as(p[n - 1], windows))
		n--;
	if (n == 0) {
		p = ".";
		n = 1;
	}
	out = malloc(n + 1);
	if (out) {
		memcpy(out, p, n);
		out[n] = 0;
	}
	return out;
}

int hs_os_is_sep(char c) { return hs_path_is_sep_as(c, NATIVE_WINDOWS); }

int hs_os_path_is_absolute(const char *path)
{
	return hs_path_is_absolute_as(path, NATIVE_WINDOWS);
}

const char *hs_os_path_file(const char *path)
{
	return hs_path_file_as(path, NATIVE_WINDOWS);
}

char *hs_os_path_folder(const char *path)
{
	return hs_path_folder_as(path, NATIVE_WINDOWS);
}
