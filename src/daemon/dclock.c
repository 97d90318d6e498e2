/* dclock.c - wall and monotonic time for the daemon (see dclock.h). */
#include "dclock.h"

#include <stdio.h>
#include <time.h>

static int64_t clock_ms(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t hsd_wall_ms(void)
{
	return clock_ms(CLOCK_REALTIME);
}

int64_t hsd_mono_ms(void)
{
	return clock_ms(CLOCK_MONOTONIC);
}

int64_t hsd_mono_to_wall(int64_t mono_ms)
{
	return hsd_wall_ms() + (mono_ms - hsd_mono_ms());
}

void hsd_iso_time(int64_t wall_ms, char buf[HSD_ISO_LEN])
{
	time_t secs = (time_t)(wall_ms / 1000);
	struct tm tm;
	size_t n;

	gmtime_r(&secs, &tm);
	n = strftime(buf, HSD_ISO_LEN, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, HSD_ISO_LEN - n, ".%03dZ", (int)(wall_ms % 1000));
}
