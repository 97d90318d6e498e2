/*
 * platform_path.h - the path rules of either system, for the unit test
 * (tests/unit/test_platform.c) and platform_*.c. windows: 1 for Windows'
 * rules, 0 for POSIX'. See platform.h for what each function does.
 */
#ifndef HS_PLATFORM_PATH_H
#define HS_PLATFORM_PATH_H

#include <stddef.h>

int hs_path_is_sep_as(char c, int windows);
size_t hs_path_root_len_as(const char *path, int windows);
int hs_path_is_absolute_as(const char *path, int windows);
const char *hs_path_file_as(const char *path, int windows);
char *hs_path_folder_as(const char *path, int windows);

#endif
