/*
 * find.c - `pacsd find [OPTIONS] -k KEY[=VALUE]... HOST PORT`: C-FIND
 * (PS3.4 C.4.1) in the Patient Root or Study Root model. Each match is
 * printed as "(gggg,eeee) VR [value]  # Keyword" lines, or all of them as
 * one DICOM JSON array (PS3.18 F.2) with --json.
 */
#include "cmd.h"
#include "scu_common.h"

#include <string.h>

struct find_out {
	const char *prog;
	bool json;
	size_t matches;
	struct pc_buf line;     /* one match's output */
	struct pc_buf hold;     /* bytes the parsed match borrows */
};

static enum pc_status on_match(void *ctx, const uint8_t *p, size_t n,
			       const char *ts)
{
	struct find_out *o = ctx;
	struct pc_err err = {0};
	enum pc_status st = PC_OK;
	dcm_file *f = scu_cli_parse(p, n, ts, &o->hold, &err);

	if (f == NULL) {
		/* One unreadable answer does not hide the others. */
		fprintf(stderr, "%s: match %zu unreadable: %s\n", o->prog,
			o->matches + 1, err.msg);
		o->matches++;
		return PC_OK;
	}
	pc_buf_reset(&o->line);
	if (o->json) {
		struct dcm_json_opts jo = {0};
		jo.pretty = true;
		pc_buf_puts(&o->line, o->matches == 0 ? "[\n" : ",\n");
		st = dcm_json_write(dcm_file_dataset(f), &jo, &o->line, &err);
	} else {
		pc_buf_printf(&o->line, "# Match %zu\n", o->matches + 1);
		scu_cli_print_dataset(dcm_file_dataset(f), 0, &o->line);
		pc_buf_putc(&o->line, '\n');
	}
	dcm_file_destroy(f);
	if (st == PC_OK)
		st = pc_buf_status(&o->line);
	if (st != PC_OK) {
		fprintf(stderr, "%s: %s\n", o->prog,
			err.msg[0] ? err.msg : pc_status_text(st));
		return st;
	}
	fwrite(o->line.p, 1, o->line.n, stdout);
	o->matches++;
	return PC_OK;
}

static void usage(FILE *out)
{
	fprintf(out,
		"usage: pacsd find [OPTIONS] -k KEY[=VALUE]... HOST PORT\n"
		"Queries a peer with C-FIND and prints each match.\n\n");
	scu_cli_usage_common(out, true);
	fprintf(out,
		"  --json          print the matches as a DICOM JSON array\n"
		"The level defaults to STUDY.\n"
		"Exit status: 0 success, 1 failure, 2 usage.\n");
}

int cmd_find(int argc, char **argv)
{
	struct find_out o = {"pacsd find", false, 0, PC_BUF_INIT, PC_BUF_INIT};
	struct pc_buf ident = PC_BUF_INIT;
	struct pc_err err = {0};
	struct scu_cli c;
	scu_session *s = NULL;
	uint16_t status = 0;
	int rc = 2;

	scu_cli_init(&c, "pacsd find", true);
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 ||
		    strcmp(argv[i], "-h") == 0) {
			usage(stdout);
			rc = 0;
			goto out;
		}
		if (strcmp(argv[i], "--json") == 0) {
			o.json = true;
			continue;
		}
		if (!scu_cli_arg(&c, argc, argv, &i, usage))
			goto out;
	}
	if (c.n_pos != 2 || !scu_cli_peer(&c)) {
		usage(stderr);
		goto out;
	}
	rc = 1;
	const char *model = scu_cli_model(&c, 'F');
	s = scu_cli_qr_open(&c, model, NULL, 0, "STUDY", &ident);
	if (s == NULL)
		goto out;
	if (scu_find(s, model, (const uint8_t *)ident.p, ident.n, on_match,
		     &o, &status, &err) != PC_OK) {
		fprintf(stderr, "pacsd find: %s\n", err.msg);
		scu_abort(s);
		s = NULL;
		goto out;
	}
	if (o.json)
		printf(o.matches == 0 ? "[]\n" : "\n]\n");
	/* With --json stdout holds only the array. */
	fflush(stdout);
	fprintf(o.json ? stderr : stdout,
		"%zu match%s, C-FIND status 0x%04X (%s)\n", o.matches, o.matches == 1 ? "" : "es", status,
		scu_status_text(status));
	rc = status == 0 ? 0 : 1;
out:
	if (s != NULL && scu_close(s, &err) != PC_OK)
		fprintf(stderr, "pacsd find: release: %s\n", err.msg);
	pc_buf_cleanup(&ident);
	pc_buf_cleanup(&o.line);
	pc_buf_cleanup(&o.hold);
	scu_cli_cleanup(&c);
	return rc;
}
