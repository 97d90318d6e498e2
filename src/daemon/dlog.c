/* dlog.c - timestamped log lines to stderr and a file (see dlog.h). */
#include "dlog.h"
#include "dclock.h"
#include "platform.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int log_fd = -1;

int hsd_log_open(const char *path, char *err, size_t errlen)
{
	if (!path)
		return 0;
	log_fd = hs_os_open(path, O_WRONLY | O_CREAT | O_APPEND, 0644);
	if (log_fd < 0) {
		snprintf(err, errlen,
			 "cannot open log file %s: %s; check the folder exists and is writable",
			 path, strerror(errno));
		return -1;
	}
	return 0;
}

void hsd_log_close(void)
{
	if (log_fd >= 0)
		close(log_fd);
	log_fd = -1;
}

static void write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return; /* nowhere left to report a failing log */
		buf += n;
		len -= (size_t)n;
	}
}

static void log_line(const char *level, const char *fmt, va_list ap)
{
	char line[2048], stamp[HSD_ISO_LEN];
	int head, len;

	hsd_iso_time(hsd_wall_ms(), stamp);
	head = snprintf(line, sizeof(line), "%s %s ", stamp, level);
	len = vsnprintf(line + head, sizeof(line) - (size_t)head - 1, fmt, ap);
	if (len < 0)
		len = 0;
	len += head;
	if (len > (int)sizeof(line) - 2)
		len = (int)sizeof(line) - 2;
	for (int i = head; i < len; i++)
		if (line[i] == '\n' || line[i] == '\r')
			line[i] = ' ';
	line[len++] = '\n';
	write_all(STDERR_FILENO, line, (size_t)len);
	if (log_fd >= 0)
		write_all(log_fd, line, (size_t)len);
}

void hsd_log_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_line("info", fmt, ap);
	va_end(ap);
}

void hsd_log_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_line("warn", fmt, ap);
	va_end(ap);
}

void hsd_log_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_line("error", fmt, ap);
	va_end(ap);
}
