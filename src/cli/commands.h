/*
 * commands.h - the entry points of the hubsync commands, one per command,
 * grouped by the file that implements them. main.c lists them in its command
 * table; each has the signature of cli_command.run (cli.h).
 */
#ifndef HS_CLI_COMMANDS_H
#define HS_CLI_COMMANDS_H

/* cmd_setup.c: configuring a replica */
int cli_cmd_init(int argc, char **argv);
int cli_cmd_schedule(int argc, char **argv);

/* cmd_tables.c: living with the app */
int cli_cmd_track(int argc, char **argv);
int cli_cmd_untrack(int argc, char **argv);
int cli_cmd_uninstall(int argc, char **argv);
int cli_cmd_relocate(int argc, char **argv);

/* cmd_sync.c */
int cli_cmd_sync(int argc, char **argv);

/* cmd_status.c: what the replica's sync looks like */
int cli_cmd_status(int argc, char **argv);
int cli_cmd_history(int argc, char **argv);

/* cmd_conflicts.c */
int cli_cmd_conflicts(int argc, char **argv);
int cli_cmd_resolve(int argc, char **argv);

/* cmd_merge.c: columns merged inside JSON */
int cli_cmd_merge(int argc, char **argv);

/* cmd_number.c: numbered series (quote and project numbers) */
int cli_cmd_number(int argc, char **argv);

/* cmd_log.c: the audit trail */
int cli_cmd_log(int argc, char **argv);

/* cmd_serve.c: the sync server and its users */
int cli_cmd_serve(int argc, char **argv);
int cli_cmd_user(int argc, char **argv);
int cli_cmd_migrate(int argc, char **argv);

/* cmd_backup.c: copies of the master */
int cli_cmd_backup(int argc, char **argv);
int cli_cmd_restore(int argc, char **argv);

/* cmd_service.c: the daemon at logon (Windows) */
int cli_cmd_service(int argc, char **argv);

/* cmd_demo.c */
int cli_cmd_demo(int argc, char **argv);

#endif
