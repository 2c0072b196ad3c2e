/*
 * cmd.h - the pacsd subcommands. Each takes the arguments after its name
 * (argv[0] is the subcommand name) and returns the process exit status:
 * 0 on success, 1 when some input was bad, 2 on usage errors.
 */
#ifndef PACSD_CMD_CMD_H
#define PACSD_CMD_CMD_H

int cmd_dump(int argc, char **argv);
int cmd_convert(int argc, char **argv);
int cmd_render(int argc, char **argv);
int cmd_serve(int argc, char **argv);
int cmd_echo(int argc, char **argv);
int cmd_store(int argc, char **argv);
int cmd_find(int argc, char **argv);
int cmd_move(int argc, char **argv);
int cmd_get(int argc, char **argv);

#endif
