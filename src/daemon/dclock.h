/*
 * dclock.h - the daemon's two clocks and its one time format.
 *
 * Deadlines (next scheduled sync, retry backoff) are kept on the monotonic
 * clock so that a wall-clock jump (NTP, a laptop waking up) neither fires a
 * burst of syncs nor delays one forever. Times shown to people and in JSON
 * are wall-clock UTC in the contract's format, 2025-01-15T10:30:00.000Z.
 */
#ifndef HSD_DCLOCK_H
#define HSD_DCLOCK_H

#include <stddef.h>
#include <stdint.h>

/* Milliseconds since 1970 (wall clock). */
int64_t hsd_wall_ms(void);

/* Milliseconds on CLOCK_MONOTONIC; only differences mean anything. */
int64_t hsd_mono_ms(void);

/* The wall time that monotonic time mono_ms corresponds to, now. */
int64_t hsd_mono_to_wall(int64_t mono_ms);

#define HSD_ISO_LEN 32
/* Write wall_ms as ISO-8601 UTC with milliseconds into buf (HSD_ISO_LEN). */
void hsd_iso_time(int64_t wall_ms, char buf[HSD_ISO_LEN]);

#endif
