/*
 * dlog.h - the daemon's log: one timestamped line per event, to stderr and,
 * when asked, appended to a file (--log FILE).
 *
 * Line format: "2025-01-15T10:30:00.123Z LEVEL message", LEVEL one of
 * "info", "warn", "error". Safe to call from any thread; a line is written
 * whole with one write(2) per destination, so lines from several threads
 * never interleave. Messages must not contain newlines (they are replaced).
 */
#ifndef HSD_DLOG_H
#define HSD_DLOG_H

#include <stddef.h>

/*
 * Start logging; path NULL logs to stderr only. Returns 0, or -1 with a
 * one-line reason in err when the file cannot be opened for appending.
 */
int hsd_log_open(const char *path, char *err, size_t errlen);

/* Stop writing to the file (stderr keeps working). */
void hsd_log_close(void);

void hsd_log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void hsd_log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void hsd_log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
