/*
 * scu_common.c - shared parts of the DIMSE client commands: options,
 * query keys, the identifier data set, printing, statuses.
 */
#include "scu_common.h"

#include "net/net_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define TAG_QR_LEVEL DCM_TAG(0x0008, 0x0052)
#define TAG_PATIENT_ID DCM_TAG(0x0010, 0x0020)
#define TAG_STUDY_UID DCM_TAG(0x0020, 0x000D)
#define TAG_SERIES_UID DCM_TAG(0x0020, 0x000E)
#define TAG_SOP_INSTANCE DCM_TAG(0x0008, 0x0018)
#define MAX_KEYS 512

void scu_cli_init(struct scu_cli *c, const char *prog, bool qr)
{
	memset(c, 0, sizeof(*c));
	c->prog = prog;
	c->qr = qr;
	c->peer.calling_ae = SCU_DEFAULT_AET;
	c->peer.called_ae = SCU_DEFAULT_AEC;
}

bool scu_cli_arg(struct scu_cli *c, int argc, char **argv, int *i,
		 void (*usage)(FILE *out))
{
	if (argv[*i][0] != '-' || argv[*i][1] == '\0')
		return scu_cli_positional(c, argv[*i]);
	int r = scu_cli_option(c, argc, argv, i);
	if (r > 0)
		return true;
	if (r == 0) {
		fprintf(stderr, "%s: unknown option or missing value '%s'\n",
			c->prog, argv[*i]);
		usage(stderr);
	}
	return false;
}

void scu_cli_cleanup(struct scu_cli *c)
{
	pc_free(c->keys);
	pc_free(c->pos);
	c->keys = NULL;
	c->pos = NULL;
}

bool scu_cli_positional(struct scu_cli *c, char *arg)
{
	char **np = pc_realloc(c->pos, (c->n_pos + 1) * sizeof(*np));

	if (np == NULL) {
		fprintf(stderr, "%s: out of memory\n", c->prog);
		return false;
	}
	c->pos = np;
	c->pos[c->n_pos++] = arg;
	return true;
}

static bool hex16(const char *s, size_t n, uint16_t *out)
{
	unsigned v = 0;

	if (n != 4)
		return false;
	for (size_t i = 0; i < n; i++) {
		char ch = s[i];
		unsigned d;
		if (ch >= '0' && ch <= '9')
			d = (unsigned)(ch - '0');
		else if (ch >= 'a' && ch <= 'f')
			d = (unsigned)(ch - 'a' + 10);
		else if (ch >= 'A' && ch <= 'F')
			d = (unsigned)(ch - 'A' + 10);
		else
			return false;
		v = v * 16 + d;
	}
	*out = (uint16_t)v;
	return true;
}

/* "PatientName", "0010,0010" or "(0010,0010)", as findscu -k takes them. */
static bool parse_tag(const char *s, size_t n, uint32_t *tag)
{
	uint16_t g, e;
	char kw[96];

	if (n >= 2 && s[0] == '(' && s[n - 1] == ')') {
		s++;
		n -= 2;
	}
	if (n == 9 && s[4] == ',' && hex16(s, 4, &g) && hex16(s + 5, 4, &e)) {
		*tag = DCM_TAG(g, e);
		return true;
	}
	if (n == 0 || n >= sizeof(kw))
		return false;
	memcpy(kw, s, n);
	kw[n] = '\0';
	const struct dcm_dict_entry *d = dcm_dict_find_keyword(kw);
	if (d == NULL)
		return false;
	*tag = d->tag;
	return true;
}

static bool add_key(struct scu_cli *c, const char *arg)
{
	const char *eq = strchr(arg, '=');
	size_t n = eq ? (size_t)(eq - arg) : strlen(arg);
	uint32_t tag;

	if (!parse_tag(arg, n, &tag)) {
		fprintf(stderr,
			"%s: -k %s: unknown attribute (a keyword such as "
			"PatientName or gggg,eeee)\n",
			c->prog, arg);
		return false;
	}
	if (DCM_TAG_GROUP(tag) == 0x0000 || DCM_TAG_GROUP(tag) == 0x0002) {
		fprintf(stderr, "%s: -k %s: groups 0000 and 0002 are not "
			"query keys\n", c->prog, arg);
		return false;
	}
	for (size_t i = 0; i < c->n_keys; i++) {
		if (c->keys[i].tag == tag) {
			c->keys[i].value = eq ? eq + 1 : "";
			return true;
		}
	}
	if (c->n_keys >= MAX_KEYS) {
		fprintf(stderr, "%s: more than %d keys\n", c->prog, MAX_KEYS);
		return false;
	}
	struct scu_key *nk = pc_realloc(c->keys, (c->n_keys + 1) * sizeof(*nk));
	if (nk == NULL) {
		fprintf(stderr, "%s: out of memory\n", c->prog);
		return false;
	}
	c->keys = nk;
	c->keys[c->n_keys].tag = tag;
	c->keys[c->n_keys].value = eq ? eq + 1 : "";
	c->n_keys++;
	return true;
}

static bool valid_ae(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 16)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == '\\' ||
		    (unsigned char)s[i] > 0x7E)
			return false;
	return true;
}

int scu_cli_option(struct scu_cli *c, int argc, char **argv, int *i)
{
	const char *a = argv[*i];
	bool has_val = *i + 1 < argc;
	const char *val = has_val ? argv[*i + 1] : NULL;

	if (strcmp(a, "--aet") == 0 || strcmp(a, "--aec") == 0) {
		if (!has_val || !valid_ae(val)) {
			fprintf(stderr, "%s: %s needs an AE title of 1 to 16 "
				"characters\n", c->prog, a);
			return -1;
		}
		if (a[4] == 't')
			c->peer.calling_ae = val;
		else
			c->peer.called_ae = val;
		(*i)++;
		return 1;
	}
	if (strcmp(a, "--timeout") == 0 || strcmp(a, "-t") == 0) {
		char *end;
		unsigned long v = has_val ? strtoul(val, &end, 10) : 0;
		if (!has_val || *end != '\0' || v == 0 || v > 86400) {
			fprintf(stderr, "%s: %s needs seconds (1-86400)\n",
				c->prog, a);
			return -1;
		}
		c->peer.timeout_ms = (unsigned)v * 1000u;
		(*i)++;
		return 1;
	}
	if (!c->qr)
		return 0;
	if (strcmp(a, "-P") == 0 || strcmp(a, "--patient") == 0) {
		c->patient_root = true;
		return 1;
	}
	if (strcmp(a, "-S") == 0 || strcmp(a, "--study") == 0) {
		c->patient_root = false;
		return 1;
	}
	if (strcmp(a, "-L") == 0 || strcmp(a, "--level") == 0) {
		if (!has_val || (strcmp(val, "PATIENT") != 0 &&
				 strcmp(val, "STUDY") != 0 &&
				 strcmp(val, "SERIES") != 0 &&
				 strcmp(val, "IMAGE") != 0)) {
			fprintf(stderr, "%s: %s needs PATIENT, STUDY, SERIES "
				"or IMAGE\n", c->prog, a);
			return -1;
		}
		c->level = val;
		(*i)++;
		return 1;
	}
	if (strcmp(a, "-k") == 0 || strcmp(a, "--key") == 0) {
		if (!has_val) {
			fprintf(stderr, "%s: %s needs KEY[=VALUE]\n", c->prog,
				a);
			return -1;
		}
		(*i)++;
		return add_key(c, val) ? 1 : -1;
	}
	return 0;
}

bool scu_cli_peer(struct scu_cli *c)
{
	char *end;
	unsigned long port;

	if (c->n_pos < 2) {
		fprintf(stderr, "%s: HOST and PORT are required\n", c->prog);
		return false;
	}
	errno = 0;
	port = strtoul(c->pos[1], &end, 10);
	if (errno != 0 || *end != '\0' || port == 0 || port > 65535) {
		fprintf(stderr, "%s: bad port '%s'\n", c->prog, c->pos[1]);
		return false;
	}
	c->peer.host = c->pos[0];
	c->peer.port = (uint16_t)port;
	return true;
}

void scu_cli_usage_common(FILE *out, bool qr)
{
	fprintf(out,
		"  --aet AE        our (calling) AE title (default "
		SCU_DEFAULT_AET ")\n"
		"  --aec AE        the peer's (called) AE title (default "
		SCU_DEFAULT_AEC ")\n"
		"  -t, --timeout S connect and per-response timeout in "
		"seconds (default 30)\n");
	if (qr)
		fprintf(out,
			"  -P, --patient   Patient Root information model\n"
			"  -S, --study     Study Root information model "
			"(default)\n"
			"  -L, --level L   QueryRetrieveLevel: PATIENT, STUDY, "
			"SERIES or IMAGE\n"
			"  -k KEY[=VALUE]  a key: keyword (PatientName) or "
			"gggg,eeee; no value = return key\n");
}

const char *scu_cli_model(const struct scu_cli *c, char service)
{
	switch (service) {
	case 'F':
		return c->patient_root ? NET_PATIENT_ROOT_FIND
				       : NET_STUDY_ROOT_FIND;
	case 'M':
		return c->patient_root ? NET_PATIENT_ROOT_MOVE
				       : NET_STUDY_ROOT_MOVE;
	default:
		return c->patient_root ? NET_PATIENT_ROOT_GET
				       : NET_STUDY_ROOT_GET;
	}
}

static const struct scu_key *find_key(const struct scu_cli *c, uint32_t tag)
{
	for (size_t i = 0; i < c->n_keys; i++)
		if (c->keys[i].tag == tag)
			return &c->keys[i];
	return NULL;
}

static bool key_has_value(const struct scu_cli *c, uint32_t tag)
{
	const struct scu_key *k = find_key(c, tag);

	return k != NULL && k->value[0] != '\0';
}

/* PS3.4 C.4.2.2.1: a retrieve names the level of the unique keys it
 * gives; the most specific one given wins. */
static const char *infer_level(const struct scu_cli *c)
{
	if (key_has_value(c, TAG_SOP_INSTANCE))
		return "IMAGE";
	if (key_has_value(c, TAG_SERIES_UID))
		return "SERIES";
	if (key_has_value(c, TAG_STUDY_UID))
		return "STUDY";
	return c->patient_root ? "PATIENT" : "STUDY";
}

/* Binary numbers from backslash-separated text, little endian. */
static enum pc_status set_number(dcm_dataset *ds, uint32_t tag, enum dcm_vr vr,
				 const char *text)
{
	const struct dcm_vr_info *vi = dcm_vr_info(vr);
	uint8_t buf[8 * 64];
	size_t n = 0;
	const char *p = text;

	while (*p != '\0') {
		char *end;
		uint8_t v[8];
		if (n + vi->size > sizeof(buf))
			return PC_LIMIT;
		if (vr == DCM_VR_FL || vr == DCM_VR_FD) {
			double d = strtod(p, &end);
			if (vr == DCM_VR_FL) {
				float f = (float)d;
				memcpy(v, &f, 4);
			} else {
				memcpy(v, &d, 8);
			}
		} else {
			errno = 0;
			long long x = strtoll(p, &end, 0);
			if (errno != 0)
				return PC_PARSE;
			uint64_t u = (uint64_t)x;
			for (size_t k = 0; k < vi->size; k++)
				v[k] = (uint8_t)(u >> (8 * k));
		}
		if (end == p || (*end != '\0' && *end != '\\'))
			return PC_PARSE;
		memcpy(buf + n, v, vi->size);
		n += vi->size;
		p = *end == '\\' ? end + 1 : end;
	}
	return dcm_dataset_set(ds, tag, vr, buf, n);
}

static enum pc_status set_key(dcm_dataset *ds, uint32_t tag, const char *value)
{
	const struct dcm_dict_entry *d = dcm_dict_find(tag);
	enum dcm_vr vr = d != NULL ? d->vr : DCM_VR_UN;
	const struct dcm_vr_info *vi = dcm_vr_info(vr);

	if (vi == NULL)
		return PC_UNSUPPORTED;
	if (vi->cls == DCM_VRC_SEQUENCE) {
		dcm_elem *seq;
		/* An empty sequence asks for the sequence's items. */
		if (value[0] != '\0')
			return PC_UNSUPPORTED;
		return dcm_dataset_set_sequence(ds, tag, &seq);
	}
	if (vi->cls == DCM_VRC_NUMBER && vr != DCM_VR_AT)
		return set_number(ds, tag, vr, value);
	if (vi->cls == DCM_VRC_BYTES || vr == DCM_VR_AT) {
		if (value[0] != '\0')
			return PC_UNSUPPORTED;
		return dcm_dataset_set(ds, tag, vr, NULL, 0);
	}
	return dcm_dataset_set_string(ds, tag, vr, value);
}

bool scu_cli_identifier(const struct scu_cli *c, const char *ts_uid,
			const char *default_level, struct pc_buf *out)
{
	dcm_dataset *ds = dcm_dataset_create();
	struct pc_err err = {0};
	bool non_ascii = false;
	bool ok = false;

	if (ds == NULL) {
		fprintf(stderr, "%s: out of memory\n", c->prog);
		return false;
	}
	for (size_t i = 0; i < c->n_keys; i++) {
		const struct scu_key *k = &c->keys[i];
		enum pc_status st = set_key(ds, k->tag, k->value);
		if (st != PC_OK) {
			fprintf(stderr, "%s: key (%04X,%04X)=%s: %s\n",
				c->prog, DCM_TAG_GROUP(k->tag),
				DCM_TAG_ELEM(k->tag), k->value,
				st == PC_UNSUPPORTED
					? "this attribute cannot take a "
					  "value here"
					: pc_status_text(st));
			goto out;
		}
		for (const char *p = k->value; *p; p++)
			non_ascii |= (unsigned char)*p >= 0x80;
	}
	const char *level = c->level;
	if (level == NULL && find_key(c, TAG_QR_LEVEL) == NULL)
		level = default_level != NULL ? default_level
					      : infer_level(c);
	if (level != NULL &&
	    dcm_dataset_set_string(ds, TAG_QR_LEVEL, DCM_VR_CS, level) !=
		    PC_OK) {
		fprintf(stderr, "%s: out of memory\n", c->prog);
		goto out;
	}
	/* Values from the command line are UTF-8 (PS3.5 6.1.2.3). */
	if (non_ascii && find_key(c, DCM_TAG_SPECIFIC_CHARSET) == NULL &&
	    dcm_dataset_set_string(ds, DCM_TAG_SPECIFIC_CHARSET, DCM_VR_CS,
				   "ISO_IR 192") != PC_OK) {
		fprintf(stderr, "%s: out of memory\n", c->prog);
		goto out;
	}
	struct dcm_write_opts wo = {0};
	wo.ts = dcm_ts_find(ts_uid, strlen(ts_uid));
	wo.no_preamble = true;
	if (wo.ts == NULL) {
		fprintf(stderr, "%s: the peer chose transfer syntax %s, which "
			"pacsd cannot encode\n", c->prog, ts_uid);
		goto out;
	}
	if (dcm_file_write(NULL, ds, &wo, out, &err) != PC_OK) {
		fprintf(stderr, "%s: encoding the identifier: %s\n", c->prog,
			err.msg);
		goto out;
	}
	ok = true;
out:
	dcm_dataset_destroy(ds);
	return ok;
}

scu_session *scu_cli_qr_open(const struct scu_cli *c, const char *model,
			     const struct scu_context *extra, size_t n_extra,
			     const char *default_level, struct pc_buf *ident)
{
	static const char *const ts[] = {SCU_TS_EXPLICIT_LE,
					 SCU_TS_IMPLICIT_LE};
	struct scu_context *ctx = pc_calloc(n_extra + 1, sizeof(*ctx));
	struct pc_err err = {0};
	scu_session *s;

	if (ctx == NULL) {
		fprintf(stderr, "%s: out of memory\n", c->prog);
		return NULL;
	}
	ctx[0].abstract_syntax = model;
	ctx[0].ts = ts;
	ctx[0].n_ts = 2;
	for (size_t i = 0; i < n_extra; i++)
		ctx[i + 1] = extra[i];
	s = scu_open(&c->peer, ctx, n_extra + 1, &err);
	pc_free(ctx);
	if (s == NULL) {
		fprintf(stderr, "%s: %s\n", c->prog, err.msg);
		return NULL;
	}
	uint8_t pc = scu_context_for(s, model, NULL);
	if (pc == 0) {
		fprintf(stderr, "%s: the peer does not support the %s "
			"information model (SOP class %s)\n", c->prog,
			c->patient_root ? "Patient Root" : "Study Root", model);
		goto fail;
	}
	if (!scu_cli_identifier(c, scu_context_ts(s, pc), default_level,
				ident))
		goto fail;
	return s;
fail:
	if (scu_close(s, &err) != PC_OK)
		fprintf(stderr, "%s: release: %s\n", c->prog, err.msg);
	return NULL;
}

void scu_cli_print_final(const char *what, const struct dimse_cmd *rsp)
{
	printf("%s status 0x%04X (%s)", what, rsp->status,
	       scu_status_text(rsp->status));
	if (rsp->present & DIMSE_F_COMPLETED)
		printf(": %u completed", rsp->completed);
	if (rsp->present & DIMSE_F_FAILED)
		printf(", %u failed", rsp->failed);
	if (rsp->present & DIMSE_F_WARNING)
		printf(", %u warning", rsp->warning);
	if ((rsp->present & DIMSE_F_REMAINING) && rsp->remaining > 0)
		printf(", %u remaining", rsp->remaining);
	if (rsp->present & DIMSE_F_ERROR_COMMENT)
		printf(" (%s)", rsp->error_comment);
	printf("\n");
}

dcm_file *scu_cli_parse(const uint8_t *p, size_t n, const char *ts,
			struct pc_buf *hold, struct pc_err *err)
{
	/* A meta naming the context's syntax makes the reader decode the
	 * bytes as negotiated instead of guessing (PS3.10 7.1). */
	pc_buf_reset(hold);
	dimse_part10_header(hold, NET_STUDY_ROOT_FIND, "1.2", ts, "");
	pc_buf_append(hold, p, n);
	if (pc_buf_status(hold) != PC_OK) {
		pc_err_set(err, PC_NOMEM, 0, "out of memory");
		return NULL;
	}
	return dcm_file_parse((const uint8_t *)hold->p, hold->n, NULL, err);
}

static void indent(struct pc_buf *out, unsigned depth)
{
	for (unsigned i = 0; i < depth; i++)
		pc_buf_puts(out, "  ");
}

static void print_value(const dcm_dataset *ds, const dcm_elem *e,
			struct pc_buf *out)
{
	enum dcm_vr vr = dcm_elem_vr(e);
	const struct dcm_vr_info *vi = dcm_vr_info(vr);
	size_t vm = dcm_elem_vm(e);

	if (vi == NULL || vi->cls == DCM_VRC_BYTES) {
		pc_buf_printf(out, "(%zu bytes)", dcm_elem_value(e).n);
		return;
	}
	if (vm == 0) {
		pc_buf_puts(out, "(no value available)");
		return;
	}
	if (vi->cls == DCM_VRC_NUMBER) {
		for (size_t i = 0; i < vm && i < 16; i++) {
			uint64_t u;
			int64_t s;
			double d;
			if (i > 0)
				pc_buf_putc(out, '\\');
			if (vr == DCM_VR_AT &&
			    dcm_elem_get_uint(e, i, &u) == PC_OK)
				pc_buf_printf(out, "(%04x,%04x)",
					      (unsigned)(u >> 16),
					      (unsigned)(u & 0xFFFF));
			else if ((vr == DCM_VR_FL || vr == DCM_VR_FD) &&
				 dcm_elem_get_double(e, i, &d) == PC_OK)
				pc_buf_printf(out, "%.*g",
					      vr == DCM_VR_FL ? 9 : 17, d);
			else if ((vr == DCM_VR_US || vr == DCM_VR_UL ||
				  vr == DCM_VR_UV) &&
				 dcm_elem_get_uint(e, i, &u) == PC_OK)
				pc_buf_printf(out, "%llu",
					      (unsigned long long)u);
			else if (dcm_elem_get_int(e, i, &s) == PC_OK)
				pc_buf_printf(out, "%lld", (long long)s);
			else
				pc_buf_putc(out, '?');
		}
		if (vm > 16)
			pc_buf_puts(out, "...");
		return;
	}
	struct pc_buf v = PC_BUF_INIT;
	if (dcm_elem_get_string(ds, e, SIZE_MAX, &v) == PC_OK)
		pc_buf_printf(out, "[%s]", pc_buf_str(&v));
	else
		pc_buf_puts(out, "(undecodable value)");
	pc_buf_cleanup(&v);
}

void scu_cli_print_dataset(const dcm_dataset *ds, unsigned depth,
			   struct pc_buf *out)
{
	for (size_t i = 0; i < dcm_dataset_count(ds); i++) {
		const dcm_elem *e = dcm_dataset_at(ds, i);
		uint32_t tag = dcm_elem_tag(e);
		const struct dcm_dict_entry *d = dcm_dict_find(tag);
		size_t start;

		indent(out, depth);
		start = out->n;
		pc_buf_printf(out, "(%04x,%04x) %s ", DCM_TAG_GROUP(tag),
			      DCM_TAG_ELEM(tag), dcm_vr_name(dcm_elem_vr(e)));
		if (dcm_elem_is_sequence(e))
			pc_buf_printf(out, "(Sequence with %zu items)",
				      dcm_elem_item_count(e));
		else
			print_value(ds, e, out);
		/* Align the keyword column as dcmdump does. */
		while (out->n - start < 40)
			pc_buf_putc(out, ' ');
		pc_buf_printf(out, " # %s\n",
			      d != NULL && d->keyword[0] != '\0' ? d->keyword
								 : "Unknown");
		if (!dcm_elem_is_sequence(e))
			continue;
		for (size_t k = 0; k < dcm_elem_item_count(e); k++) {
			indent(out, depth + 1);
			pc_buf_printf(out, "(fffe,e000) na (Item %zu)\n", k + 1);
			scu_cli_print_dataset(dcm_elem_item(e, k), depth + 2,
					      out);
		}
	}
}

/* PS3.7 C, PS3.4 B.2.3, C.4: statuses by code or range. */
const char *scu_status_text(uint16_t st)
{
	switch (st) {
	case 0x0000: return "success";
	case 0xFF00: return "pending";
	case 0xFF01: return "pending: optional keys not supported";
	case 0xFE00: return "cancel: sub-operations terminated";
	case 0x0001: return "warning: requested optional attributes not "
			    "supported";
	case 0xB000: return "warning: sub-operations complete, one or more "
			    "failures or warnings";
	case 0xB006: return "warning: elements discarded";
	case 0xB007: return "warning: data set does not match SOP class";
	case 0x0110: return "failure: processing failure";
	case 0x0111: return "failure: duplicate SOP instance";
	case 0x0117: return "failure: invalid object instance";
	case 0x0118: return "failure: no such SOP class";
	case 0x0122: return "failure: SOP class not supported";
	case 0x0124: return "failure: not authorized";
	case 0x0210: return "failure: duplicate invocation";
	case 0x0211: return "failure: unrecognized operation";
	case 0x0212: return "failure: mistyped argument";
	case 0x0213: return "failure: resource limitation";
	case 0xA701: return "failure: out of resources, unable to calculate "
			    "number of matches";
	case 0xA702: return "failure: out of resources, unable to perform "
			    "sub-operations";
	case 0xA801: return "failure: move destination unknown";
	default: break;
	}
	if ((st & 0xFF00) == 0xA700)
		return "failure: out of resources";
	if ((st & 0xFF00) == 0xA900)
		return "failure: data set does not match SOP class";
	if ((st & 0xF000) == 0xC000)
		return "failure: cannot understand";
	if ((st & 0xF000) == 0xB000)
		return "warning";
	return "failure";
}

bool scu_status_is_warning(uint16_t st)
{
	return st == 0x0001 || (st & 0xF000) == 0xB000;
}

bool scu_status_is_failure(uint16_t st)
{
	return st != 0x0000 && st != 0xFF00 && st != 0xFF01 &&
	       st != 0xFE00 && !scu_status_is_warning(st);
}

bool scu_cli_map(const char *path, const uint8_t **p, size_t *n,
		 struct pc_err *err)
{
	struct stat sb;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	*p = NULL;
	*n = 0;
	if (fd < 0) {
		pc_err_set(err, PC_IO, 0, "%s", strerror(errno));
		return false;
	}
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		pc_err_set(err, PC_IO, 0, "not a regular file");
		close(fd);
		return false;
	}
	if (sb.st_size > 0) {
		void *m = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE,
			       fd, 0);
		if (m == MAP_FAILED) {
			pc_err_set(err, PC_IO, 0, "%s", strerror(errno));
			close(fd);
			return false;
		}
		*p = m;
		*n = (size_t)sb.st_size;
	}
	close(fd);
	return true;
}

void scu_cli_unmap(const uint8_t *p, size_t n)
{
	if (p != NULL)
		munmap((void *)p, n);
}
