/*
 * cmd_service.c - `hubsync service`: run `hubsync daemon DB` at this user's
 * logon on Windows, and stop it.
 *
 * Why a per-user Run entry (HKCU\Software\Microsoft\Windows\CurrentVersion
 * \Run) and not a Windows service or a scheduled task: an office user is
 * no administrator, and creating a service or an at-logon task needs one;
 * and a service runs in another logon session, which does not see the
 * user's mapped drive Z: nor use the user's credentials for \\nas\share.
 * The Run entry starts the daemon in the user's own session at each logon,
 * without a window. Stopping uses the daemon's named stop event (platform.h
 * hs_os_stop_request), so the daemon finishes a sync in progress and
 * exits cleanly. On Linux the systemd units do this (docs/DAEMON.md).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "platform.h"
#include "report.h"

static const char usage[] =
	"usage: hubsync service install DB [DAEMON OPTIONS...]\n"
	"       hubsync service uninstall DB\n"
	"       hubsync service stop DB\n"
	"       hubsync service status DB\n"
	"\n"
	"Windows: run 'hubsync daemon DB' at each logon of this user, without a\n"
	"window (no administrator needed). install registers it and starts it\n"
	"now; the DAEMON OPTIONS (see 'hubsync daemon --help') are passed on,\n"
	"and the log goes to DB.daemon.log unless --log is given. uninstall\n"
	"stops the daemon cleanly and removes the registration; stop only\n"
	"stops it (it starts again at the next logon); status shows the\n"
	"registered command. On Linux use the systemd units (docs/DAEMON.md).\n";

/* The Run entry's name for the database at abs. */
static char *entry_name(const char *abs)
{
	size_t n = strlen(abs) + 16;
	char *name = cli_xmalloc(n);
	snprintf(name, n, "hubsync %s", abs);
	return name;
}

/* argv for `hubsync daemon [--log DB.daemon.log] OPTIONS... DB`. */
static const char **daemon_argv(const char *self, const char *abs, int nopt,
				char **opts, char **log)
{
	const char **av = cli_xmalloc(sizeof(*av) * ((size_t)nopt + 6));
	int n = 0, has_log = 0;
	av[n++] = self;
	av[n++] = "daemon";
	for (int i = 0; i < nopt; i++)
		has_log |= strcmp(opts[i], "--log") == 0 ||
			   strncmp(opts[i], "--log=", 6) == 0;
	*log = NULL;
	if (!has_log) {
		size_t len = strlen(abs) + 16;
		*log = cli_xmalloc(len);
		snprintf(*log, len, "%s.daemon.log", abs);
		av[n++] = "--log";
		av[n++] = *log;
	}
	for (int i = 0; i < nopt; i++)
		av[n++] = opts[i];
	av[n++] = abs;
	av[n] = NULL;
	return av;
}

/* The argv as one command line, each argument in double quotes. */
static char *command_line(const char **av)
{
	size_t n = 1;
	char *s, *p;
	for (int i = 0; av[i]; i++)
		n += strlen(av[i]) + 3;
	p = s = cli_xmalloc(n);
	for (int i = 0; av[i]; i++)
		p += sprintf(p, "%s\"%s\"", i ? " " : "", av[i]);
	return s;
}

static int install(const char *db, const char *abs, int nopt, char **opts)
{
	char *self = hs_os_self_path(), *log = NULL, *line, *name;
	const char **av;
	long pid;
	int code = CLI_EXIT_FAIL;

	if (!self)
		return cli_fail("service", "cannot find hubsync.exe's own path");
	for (int i = 0; i < nopt; i++)
		if (strchr(opts[i], '"'))
			return cli_fail("service", "an option contains a double "
					"quote: not supported in a logon entry");
	av = daemon_argv(self, abs, nopt, opts, &log);
	line = command_line(av);
	name = entry_name(abs);
	if (hs_os_autostart(name, line) != 0) {
		cli_fail("service", "cannot register the logon entry for %s: %s",
			 db, strerror(errno));
		goto cleanup;
	}
	hs_os_stop_request(abs); /* an older one: the new options apply */
	hs_os_sleep_ms(500);
	pid = hs_os_spawn_detached(av);
	if (pid < 0) {
		cli_fail("service", "registered, but cannot start it now: %s; it "
			 "starts at the next logon", strerror(errno));
		goto cleanup;
	}
	printf("installed: hubsync daemon for %s starts at each logon; started "
	       "now (process %ld)\nlog: %s\n", abs, pid,
	       log ? log : "as given by --log");
	code = CLI_EXIT_OK;
cleanup:
	free(name);
	free(line);
	free(log);
	free(av);
	free(self);
	return code;
}

int cli_cmd_service(int argc, char **argv)
{
	const char *action = argc > 1 ? argv[1] : "", *db = argc > 2 ? argv[2] : NULL;
	char *abs, *name;
	int code = CLI_EXIT_OK;

	if (!strcmp(action, "--help") || !strcmp(action, "-h")) {
		fputs(usage, stdout);
		return CLI_EXIT_OK;
	}
	if (!db || (strcmp(action, "install") && argc != 3) ||
	    (strcmp(action, "install") && strcmp(action, "uninstall") &&
	     strcmp(action, "stop") && strcmp(action, "status"))) {
		fprintf(stderr, "hubsync service: give install, uninstall, stop or "
			"status and the database; run 'hubsync service --help'\n");
		return CLI_EXIT_USAGE;
	}
	if (strcmp(hs_os_name(), "windows") != 0)
		return cli_fail("service", "hubsync service is for Windows; on "
				"Linux use the systemd units (docs/DAEMON.md)");
	if (!(abs = hs_os_path_absolute(db)))
		return cli_fail("service", "%s: its folder is not there; check the "
				"path", db);
	name = entry_name(abs);
	if (!strcmp(action, "install")) {
		code = install(db, abs, argc - 3, argv + 3);
	} else if (!strcmp(action, "status")) {
		char *line = hs_os_autostart_get(name);
		if (line)
			printf("installed: %s\n", line);
		else
			printf("not installed for %s\n", abs);
		free(line);
	} else {
		int running = hs_os_stop_request(abs) == 0;
		if (!strcmp(action, "uninstall") && hs_os_autostart(name, NULL) != 0)
			code = cli_fail("service", "cannot remove the logon entry "
					"of %s: %s", abs, strerror(errno));
		else
			printf("%s%s\n", running ? "stop requested; " : "not running; ",
			       strcmp(action, "uninstall") ? "still starts at logon"
							   : "uninstalled");
	}
	free(name);
	free(abs);
	return code;
}
