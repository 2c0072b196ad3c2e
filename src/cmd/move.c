/*
 * move.c - `pacsd move [OPTIONS] --dest AE -k KEY=VALUE... HOST PORT`:
 * C-MOVE (PS3.4 C.4.2): the peer sends the matching instances to the AE
 * `--dest` (which it must know) over associations of its own. Progress is
 * printed from each pending response, then the final counts.
 */
#include "cmd.h"
#include "scu_common.h"

#include <string.h>

static void on_progress(void *ctx, const struct dimse_cmd *rsp)
{
	(void)ctx;
	if (rsp->status != 0xFF00 && rsp->status != 0xFF01)
		return;
	printf("pending: %u remaining, %u completed, %u failed, %u warning\n",
	       rsp->remaining, rsp->completed, rsp->failed, rsp->warning);
	fflush(stdout);
}

static void usage(FILE *out)
{
	fprintf(out,
		"usage: pacsd move [OPTIONS] --dest AE -k KEY=VALUE... HOST "
		"PORT\nAsks a peer with C-MOVE to send the matching instances "
		"to AE.\n\n");
	scu_cli_usage_common(out, true);
	fprintf(out,
		"  --dest AE       the move destination (known to the peer)\n"
		"The level defaults to the one of the most specific UID key.\n"
		"Exit status: 0 all moved, 1 a failure or failed "
		"sub-operations, 2 usage.\n");
}

int cmd_move(int argc, char **argv)
{
	struct pc_buf ident = PC_BUF_INIT;
	struct pc_err err = {0};
	struct dimse_cmd final;
	struct scu_cli c;
	scu_session *s = NULL;
	const char *dest = NULL;
	int rc = 2;

	memset(&final, 0, sizeof(final));
	scu_cli_init(&c, "pacsd move", true);
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 ||
		    strcmp(argv[i], "-h") == 0) {
			usage(stdout);
			rc = 0;
			goto out;
		}
		if (strcmp(argv[i], "--dest") == 0) {
			if (i + 1 >= argc || argv[i + 1][0] == '\0' ||
			    strlen(argv[i + 1]) > 16) {
				fprintf(stderr, "pacsd move: --dest needs an "
					"AE title of 1 to 16 characters\n");
				goto out;
			}
			dest = argv[++i];
			continue;
		}
		if (!scu_cli_arg(&c, argc, argv, &i, usage))
			goto out;
	}
	if (dest == NULL) {
		fprintf(stderr, "pacsd move: --dest AE is required\n");
		usage(stderr);
		goto out;
	}
	if (c.n_pos != 2 || !scu_cli_peer(&c)) {
		usage(stderr);
		goto out;
	}
	rc = 1;
	const char *model = scu_cli_model(&c, 'M');
	s = scu_cli_qr_open(&c, model, NULL, 0, NULL, &ident);
	if (s == NULL)
		goto out;
	if (scu_move(s, model, dest, (const uint8_t *)ident.p, ident.n,
		     on_progress, NULL, &final, &err) != PC_OK) {
		fprintf(stderr, "pacsd move: %s\n", err.msg);
		scu_abort(s);
		s = NULL;
		goto out;
	}
	scu_cli_print_final("C-MOVE", &final);
	rc = scu_status_is_failure(final.status) ||
			     final.status == 0xFE00 ||
			     ((final.present & DIMSE_F_FAILED) &&
			      final.failed > 0)
		     ? 1
		     : 0;
out:
	if (s != NULL && scu_close(s, &err) != PC_OK)
		fprintf(stderr, "pacsd move: release: %s\n", err.msg);
	pc_buf_cleanup(&ident);
	scu_cli_cleanup(&c);
	return rc;
}
