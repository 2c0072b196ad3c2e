/*
 * main.c - the pacsd binary: one executable, one subcommand per job.
 */
#include "cmd/cmd.h"

#include <stdio.h>
#include <string.h>

struct command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
};

static const struct command commands[] = {
	{"dump", cmd_dump, "print the elements of DICOM files (or DICOM JSON)"},
	{"convert", cmd_convert, "rewrite a DICOM file in another transfer syntax"},
	{"render", cmd_render, "render a frame to PNG or JPEG"},
	{"serve", cmd_serve, "run the server (DICOMweb, REST API)"},
	{"echo", cmd_echo, "C-ECHO: check that a DICOM peer answers"},
	{"store", cmd_store, "C-STORE: send DICOM files or folders to a peer"},
	{"find", cmd_find, "C-FIND: query a peer"},
	{"move", cmd_move, "C-MOVE: have a peer send instances to an AE"},
	{"get", cmd_get, "C-GET: retrieve instances from a peer into a folder"},
};

static void usage(FILE *out)
{
	fprintf(out, "usage: pacsd COMMAND [ARGS...]\n\ncommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(out, "  %-10s %s\n", commands[i].name,
			commands[i].summary);
	fprintf(out, "\n'pacsd COMMAND --help' describes a command.\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return 0;
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf("pacsd %s\n", PACSD_VERSION);
		return 0;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].run(argc - 1, argv + 1);
	fprintf(stderr, "pacsd: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return 2;
}
