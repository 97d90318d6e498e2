/*
 * cmd_demo.c - `hubsync demo [DIR]`: five simulated Craft Tools Hub users
 * working and syncing through one master (DESIGN.md 3.5). The simulation
 * lives in src/demo; this file only hands it the folder.
 */
#include "args.h"
#include "cli.h"
#include "commands.h"
#include "demo.h"
#include "report.h"

static const cli_spec demo_spec = {
	"demo",
	"[DIR]",
	"Create DIR (default: a new ./hubsync-demo-XXXXXX) with a master and\n"
	"five user replicas of the Craft Tools Hub schema, load the component\n"
	"catalog, let the five users work (concurrent edits, offline periods,\n"
	"deletes, new quote numbers), sync them, and show that every replica\n"
	"converged. DIR may be the folder of an earlier demo run (it is\n"
	"replaced); another non-empty folder is refused.",
	{ "DIR" },
	0,
	{ { NULL, NULL, NULL } },
};

int cli_cmd_demo(int argc, char **argv)
{
	cli_args a;
	int code, rc;

	if (!cli_args_parse(&a, &demo_spec, argc, argv, &code))
		return code;
	rc = hs_demo_run(a.pos[0]); /* NULL: the demo picks a new folder */
	if (rc == 0)
		return CLI_EXIT_OK;
	if (rc > 0) /* it ran; its report names the failed check */
		return cli_fail("demo", "a check failed (see the report "
				"above); please report it");
	return CLI_EXIT_FAIL; /* could not run: it printed why */
}
