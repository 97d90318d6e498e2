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

#define DEMO_DEFAULT_DIR "hubsync-demo"

static const cli_spec demo_spec = {
	"demo",
	"[DIR]",
	"Create DIR (default: ./" DEMO_DEFAULT_DIR ") with a master and five user\n"
	"replicas of the Craft Tools Hub schema, load the component catalog, let\n"
	"the five users work (concurrent edits, offline periods, deletes, new\n"
	"quote numbers), sync them, and show that every replica converged.",
	{ "DIR" },
	0,
	{ { NULL, NULL, NULL } },
};

int cli_cmd_demo(int argc, char **argv)
{
	const char *dir;
	cli_args a;
	int code;

	if (!cli_args_parse(&a, &demo_spec, argc, argv, &code))
		return code;
	dir = a.pos[0] ? a.pos[0] : DEMO_DEFAULT_DIR;
	if (hs_demo_run(dir) != 0)
		return cli_fail("demo", "the demo in '%s' did not complete "
				"(see above); remove the folder and retry", dir);
	return CLI_EXIT_OK;
}
