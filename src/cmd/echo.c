/*
 * echo.c - `pacsd echo [--aet AE] [--aec AE] HOST PORT`: C-ECHO (PS3.4
 * A, PS3.7 9.1.5), the DICOM "ping". Prints the response status; exit 0
 * when it is Success.
 */
#include "cmd.h"
#include "scu_common.h"

#include "net/net_int.h"

#include <string.h>

static void usage(FILE *out)
{
	fprintf(out, "usage: pacsd echo [OPTIONS] HOST PORT\n"
		     "Sends a C-ECHO (verification) to a DICOM peer.\n\n");
	scu_cli_usage_common(out, false);
	fprintf(out, "Exit status: 0 success, 1 no association or a "
		     "non-success status, 2 usage.\n");
}

int cmd_echo(int argc, char **argv)
{
	static const char *const ts[] = {SCU_TS_EXPLICIT_LE,
					 SCU_TS_IMPLICIT_LE};
	const struct scu_context ctx = {NET_VERIFICATION, ts, 2, false};
	struct scu_cli c;
	struct pc_err err = {0};
	uint16_t status = 0;
	int rc = 2;

	scu_cli_init(&c, "pacsd echo", false);
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 ||
		    strcmp(argv[i], "-h") == 0) {
			usage(stdout);
			rc = 0;
			goto out;
		}
		if (!scu_cli_arg(&c, argc, argv, &i, usage))
			goto out;
	}
	if (c.n_pos != 2 || !scu_cli_peer(&c)) {
		usage(stderr);
		goto out;
	}
	rc = 1;
	scu_session *s = scu_open(&c.peer, &ctx, 1, &err);
	if (s == NULL) {
		fprintf(stderr, "pacsd echo: %s\n", err.msg);
		goto out;
	}
	if (scu_echo(s, &status, &err) != PC_OK) {
		fprintf(stderr, "pacsd echo: %s\n", err.msg);
		scu_abort(s);
		goto out;
	}
	printf("C-ECHO status 0x%04X (%s)\n", status, scu_status_text(status));
	if (scu_close(s, &err) != PC_OK)
		fprintf(stderr, "pacsd echo: release: %s\n", err.msg);
	rc = status == 0 ? 0 : 1;
out:
	scu_cli_cleanup(&c);
	return rc;
}
