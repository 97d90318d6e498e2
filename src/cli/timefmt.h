/*
 * timefmt.h - times as people read them: "5 minutes ago", local wall time,
 * and the --since argument.
 *
 * The library writes times in UTC, as ISO-8601 ("2025-01-15T10:30:00.000Z",
 * the contract's format) or as SQLite's CURRENT_TIMESTAMP
 * ("2025-01-15 10:30:00", sync_log.timestamp); both are read here. Times are
 * int64 milliseconds since 1970 UTC.
 */
#ifndef HS_CLI_TIMEFMT_H
#define HS_CLI_TIMEFMT_H

#include <stddef.h>
#include <stdint.h>

int64_t cli_time_now_ms(void);

/*
 * Read "YYYY-MM-DD", optionally followed by "T" or " " and "HH:MM",
 * ":SS", ".fraction", and "Z" (the time is UTC either way). Returns 1 and sets
 * *ms, or 0 when text is not such a time.
 */
int cli_time_parse(const char *text, int64_t *ms);

/* "just now", "5 minutes ago", "in 2 hours", "3 days ago". */
void cli_time_ago(int64_t then_ms, int64_t now_ms, char *buf, size_t size);

/* "2025-01-15 11:30:00" in the local time zone. */
void cli_time_local(int64_t ms, char *buf, size_t size);

/* "2025-01-15T10:30:00.000Z" (UTC, the contract's format). */
void cli_time_iso(int64_t ms, char *buf, size_t size);

/*
 * The --since argument: an absolute time as in cli_time_parse, or an age
 * such as "90s", "30m", "2h", "7d" counted back from now_ms. Writes the ISO
 * form to buf and returns 1; 0 when arg is neither.
 */
int cli_time_since(const char *arg, int64_t now_ms, char *buf, size_t size);

/* Duration of a sync as shown to people: "0.12s", "2.3s", "1m05s". */
void cli_time_duration(int64_t ms, char *buf, size_t size);

#endif
