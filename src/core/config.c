/*
 * config.c - options of `pacsd serve` from defaults, a JSON file, the
 * environment and flags (in increasing precedence).
 *
 * DESIGN: `options[]` is the only list of options. Each entry names the
 * config file key; the environment variable is PACSD_ + the key in upper
 * case and the flag is given explicitly (usually the key with '-' for '_').
 * All sources are reduced to text (or, for the file, to a JSON value) and
 * go through one setter per type, so adding an option is adding a row.
 * Setters build the new value first and replace the old one only on
 * success, so the struct is always safe to clean up.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

enum opt_type {
	T_STRING,     /* char * */
	T_ADDR,       /* struct pc_config_addr */
	T_BOOL,       /* bool */
	T_SIZE,       /* uint64_t, with k/M/G suffixes */
	T_UINT,       /* uint32_t */
	T_AET,        /* char[PC_CONFIG_AET_MAX + 1] */
	T_REMOTE_AES, /* remote_aes + n_remote_aes; entries merge by name */
	T_LIST,       /* char ** array at off, its count (size_t) at off_n */
};

#define OPT_NOFILE 1u  /* cannot be set in the config file */

struct opt {
	const char *name;    /* config file key; env is PACSD_ + upper(name) */
	const char *flag;    /* without the leading "--" */
	const char *metavar; /* shown in --help; NULL for booleans */
	enum opt_type type;
	size_t off;          /* field offset in struct pc_config */
	const char *def;     /* default as text; NULL = none */
	uint64_t min, max;   /* bounds for T_SIZE and T_UINT */
	unsigned flags;
	const char *help;
	size_t off_n;        /* T_LIST: offset of the element count */
};

#define OFF(f) offsetof(struct pc_config, f)

static const struct opt options[] = {
	{"config", "config", "FILE", T_STRING, OFF(config_file), NULL, 0, 0,
	 OPT_NOFILE, "JSON config file with any of the keys below", 0},
	{"data_dir", "data-dir", "DIR", T_STRING, OFF(data_dir), "./pacsd-data",
	 0, 0, 0, "directory holding the blobs and the index", 0},
	{"http", "http", "ADDR:PORT", T_ADDR, OFF(http), "127.0.0.1:8080", 0, 0,
	 0, "DICOMweb listen address (\":PORT\", \"[::1]:PORT\" also work)", 0},
	{"dicom", "dicom", "ADDR:PORT", T_ADDR, OFF(dicom), "127.0.0.1:11112", 0,
	 0, 0, "DICOM (DIMSE) listen address", 0},
	{"aet", "aet", "AETITLE", T_AET, OFF(aet), "PACSD", 0, 0, 0,
	 "our AE title (1-16 characters)", 0},
	{"remote_aes", "remote-ae", "AET=HOST:PORT", T_REMOTE_AES,
	 OFF(remote_aes), NULL, 0, 0, 0,
	 "C-MOVE destination; repeatable. File: {\"AET\": {\"host\": H, "
	 "\"port\": P}}; env: comma-separated", 0},
	{"max_body", "max-body", "BYTES", T_SIZE, OFF(max_body), "1G", 1,
	 UINT64_MAX, 0, "largest accepted HTTP request body (suffix k, M, G)", 0},
	{"cors_origins", "cors-origins", "LIST", T_LIST, OFF(cors_origins), NULL,
	 0, 0, 0, "comma-separated origins allowed by CORS, or \"*\"",
	 OFF(n_cors_origins)},
	{"allowed_aes", "allowed-aes", "LIST", T_LIST, OFF(allowed_aes), NULL,
	 0, 0, 0,
	 "calling AE titles allowed to associate, \"AET\" or \"AET@HOST\", "
	 "comma-separated; empty allows every AE",
	 OFF(n_allowed_aes)},
	{"allow_overwrite", "allow-overwrite", NULL, T_BOOL,
	 OFF(allow_overwrite), "false", 0, 0, 0,
	 "let a new instance replace a stored one with the same UID", 0},
	{"sync_each", "sync-each", NULL, T_BOOL, OFF(sync_each), "false", 0, 0,
	 0,
	 "fsync each blob, its directory and each index commit on its own, "
	 "instead of one syncfs per group of instances (for a data directory "
	 "sharing its file system with heavy writers)",
	 0},
	{"qido_max_results", "qido-max-results", "N", T_UINT,
	 OFF(qido_max_results), "1000", 1, 1000000, 0,
	 "most results one QIDO-RS query returns", 0},
};

#define N_OPTIONS (sizeof(options) / sizeof(options[0]))

static void free_list(char **v, size_t n);

/* Replaces the list option `o` of `cfg` by `nv` (taken over). */
static void list_set(struct pc_config *cfg, const struct opt *o, char **nv,
		     size_t n)
{
	char ***items = (char ***)((char *)cfg + o->off);
	size_t *count = (size_t *)((char *)cfg + o->off_n);

	free_list(*items, *count);
	*items = nv;
	*count = n;
}

/* ---- errors ------------------------------------------------------------- */

/* Reports `fmt` prefixed by where the value came from. */
static enum pc_status PC_PRINTF(4, 5)
	bad(struct pc_err *err, enum pc_status st, const char *where,
	    const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	st = pc_err_vsetp(err, st, 0, where, fmt, ap);
	va_end(ap);
	return st;
}

static enum pc_status nomem(struct pc_err *err, const char *where)
{
	return bad(err, PC_NOMEM, where, "out of memory");
}

static void env_name(const struct opt *o, char *out, size_t n)
{
	snprintf(out, n, "PACSD_%s", o->name);
	for (size_t j = 0; out[j] != '\0'; j++)
		out[j] = (char)toupper((unsigned char)out[j]);
}

/* ---- value parsers (text -> typed value) -------------------------------- */

static enum pc_status parse_uint(const char *s, uint64_t max, uint64_t *out,
				 const char **rest)
{
	uint64_t v = 0;
	const char *p = s;

	if (!isdigit((unsigned char)*p))
		return PC_INVAL;
	for (; isdigit((unsigned char)*p); p++) {
		if (__builtin_mul_overflow(v, 10, &v) ||
		    __builtin_add_overflow(v, (uint64_t)(*p - '0'), &v) ||
		    v > max)
			return PC_LIMIT;
	}
	*out = v;
	*rest = p;
	return PC_OK;
}

static enum pc_status parse_addr(const char *s, struct pc_config_addr *out,
				 struct pc_err *err, const char *where)
{
	const char *colon, *host = s, *rest;
	size_t hlen;
	uint64_t port = 0;
	char *h;
	enum pc_status st;

	if (s[0] == '[') {
		const char *close = strchr(s, ']');

		if (close == NULL || close[1] != ':')
			return bad(err, PC_INVAL, where,
				   "\"%s\" is not [IPv6]:PORT", s);
		host = s + 1;
		hlen = (size_t)(close - host);
		colon = close + 1;
		if (hlen == 0)
			return bad(err, PC_INVAL, where,
				   "empty host in \"%s\"", s);
	} else {
		colon = strrchr(s, ':');
		if (colon == NULL)
			return bad(err, PC_INVAL, where,
				   "\"%s\" has no port (expected HOST:PORT)", s);
		hlen = (size_t)(colon - s);
		if (memchr(s, ':', hlen) != NULL)
			return bad(err, PC_INVAL, where,
				   "IPv6 address in \"%s\" needs brackets "
				   "([::1]:PORT)", s);
	}
	for (size_t i = 0; i < hlen; i++) {
		if (isspace((unsigned char)host[i]) ||
		    iscntrl((unsigned char)host[i]))
			return bad(err, PC_INVAL, where,
				   "host in \"%s\" contains a space or control "
				   "character", s);
	}
	st = parse_uint(colon + 1, 99999999, &port, &rest);
	if (st == PC_INVAL || (st == PC_OK && *rest != '\0'))
		return bad(err, PC_INVAL, where, "port \"%s\" is not a number",
			   colon + 1);
	if (st != PC_OK || port < 1 || port > 65535)
		return bad(err, PC_INVAL, where,
			   "port %s is out of range (1-65535)", colon + 1);
	if (hlen == 0) {
		host = "127.0.0.1";
		hlen = strlen(host);
	}
	h = pc_malloc(hlen + 1);
	if (h == NULL)
		return nomem(err, where);
	memcpy(h, host, hlen);
	h[hlen] = '\0';
	pc_free(out->host);
	out->host = h;
	out->port = (uint16_t)port;
	return PC_OK;
}

/* PS3.5 6.2 AE: up to 16 characters, no backslash or control characters;
 * leading and trailing spaces are not significant, so all-spaces is empty. */
static enum pc_status parse_aet(const char *s, char *out, struct pc_err *err,
				const char *where)
{
	size_t n = strlen(s), b = 0;

	if (n == 0 || n > PC_CONFIG_AET_MAX)
		return bad(err, PC_INVAL, where,
			   "AE title \"%s\" must be 1-%d characters", s,
			   PC_CONFIG_AET_MAX);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '\\' || c < 0x20 || c >= 0x7f)
			return bad(err, PC_INVAL, where,
				   "AE title \"%s\" contains a backslash, control "
				   "or non-ASCII character", s);
	}
	while (s[b] == ' ')
		b++;
	while (n > b && s[n - 1] == ' ')
		n--;
	if (n == b)
		return bad(err, PC_INVAL, where,
			   "AE title must not be all spaces");
	memcpy(out, s + b, n - b);
	out[n - b] = '\0';
	return PC_OK;
}

static enum pc_status parse_bool(const char *s, bool *out, struct pc_err *err,
				 const char *where)
{
	static const char *const yes[] = {"true", "1", "yes", "on"};
	static const char *const no[] = {"false", "0", "no", "off"};

	for (size_t i = 0; i < 4; i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*out = true;
			return PC_OK;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*out = false;
			return PC_OK;
		}
	}
	return bad(err, PC_INVAL, where,
		   "\"%s\" is not a boolean (true/false, yes/no, on/off, 1/0)",
		   s);
}

static enum pc_status parse_number(const struct opt *o, const char *s,
				   uint64_t *out, struct pc_err *err,
				   const char *where)
{
	uint64_t v = 0, mult = 1;
	const char *rest;
	enum pc_status st = parse_uint(s, UINT64_MAX, &v, &rest);

	if (st == PC_INVAL)
		return bad(err, PC_INVAL, where, "\"%s\" is not a number", s);
	if (st == PC_OK && o->type == T_SIZE && *rest != '\0' &&
	    rest[1] == '\0') {
		switch (*rest) {
		case 'k': case 'K': mult = 1024u; rest++; break;
		case 'm': case 'M': mult = 1024u * 1024u; rest++; break;
		case 'g': case 'G': mult = 1024u * 1024u * 1024u; rest++; break;
		default: break;
		}
	}
	if (st == PC_OK && *rest != '\0')
		return bad(err, PC_INVAL, where,
			   o->type == T_SIZE
				   ? "\"%s\" is not a size (digits with an "
				     "optional k, M or G suffix)"
				   : "\"%s\" is not a number",
			   s);
	if (st != PC_OK || __builtin_mul_overflow(v, mult, &v) || v < o->min ||
	    v > o->max)
		return bad(err, PC_INVAL, where,
			   "%s is out of range (%" PRIu64 "-%" PRIu64 ")", s,
			   o->min, o->max);
	*out = v;
	return PC_OK;
}

/* ---- list-valued options ------------------------------------------------ */

static void free_list(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		pc_free(v[i]);
	pc_free(v);
}

/* Appends the comma-separated, space-trimmed, non-empty items of `s`. */
static enum pc_status list_add_csv(char ***v, size_t *n, const char *s,
				   struct pc_err *err, const char *where)
{
	while (*s != '\0') {
		const char *e = strchr(s, ',');
		size_t seg = e ? (size_t)(e - s) : strlen(s);
		size_t len = seg;
		const char *b = s;
		char **nv, *item;

		while (len > 0 && isspace((unsigned char)*b)) {
			b++;
			len--;
		}
		while (len > 0 && isspace((unsigned char)b[len - 1]))
			len--;
		for (size_t i = 0; i < len; i++) {
			if (isspace((unsigned char)b[i]) ||
			    iscntrl((unsigned char)b[i]))
				return bad(err, PC_INVAL, where,
					   "origin \"%.*s\" contains a space or "
					   "control character", (int)len, b);
		}
		if (len > 0) {
			item = pc_malloc(len + 1);
			if (item == NULL)
				return nomem(err, where);
			memcpy(item, b, len);
			item[len] = '\0';
			nv = pc_realloc(*v, (*n + 1) * sizeof(*nv));
			if (nv == NULL) {
				pc_free(item);
				return nomem(err, where);
			}
			nv[(*n)++] = item;
			*v = nv;
		}
		s += seg;
		if (*s == ',')
			s++;
	}
	return PC_OK;
}

/* Adds or replaces (by AE title) one remote AE; takes `ae->addr.host`. */
static enum pc_status remote_put(struct pc_config *cfg,
				 struct pc_config_remote_ae *ae,
				 struct pc_err *err, const char *where)
{
	struct pc_config_remote_ae *nv;

	for (size_t i = 0; i < cfg->n_remote_aes; i++) {
		if (strcmp(cfg->remote_aes[i].aet, ae->aet) == 0) {
			pc_free(cfg->remote_aes[i].addr.host);
			cfg->remote_aes[i] = *ae;
			ae->addr.host = NULL;
			return PC_OK;
		}
	}
	nv = pc_realloc(cfg->remote_aes, (cfg->n_remote_aes + 1) * sizeof(*nv));
	if (nv == NULL) {
		pc_free(ae->addr.host);
		ae->addr.host = NULL;
		return nomem(err, where);
	}
	nv[cfg->n_remote_aes++] = *ae;
	cfg->remote_aes = nv;
	ae->addr.host = NULL;
	return PC_OK;
}

/* One "AET=HOST:PORT" entry, `len` bytes of `s`. */
static enum pc_status remote_add_text(struct pc_config *cfg, const char *s,
				      size_t len, struct pc_err *err,
				      const char *where)
{
	char buf[300];
	char *eq;
	struct pc_config_remote_ae ae = {0};
	enum pc_status st;

	if (len >= sizeof(buf))
		return bad(err, PC_INVAL, where, "entry is too long");
	memcpy(buf, s, len);
	buf[len] = '\0';
	eq = strchr(buf, '=');
	if (eq == NULL)
		return bad(err, PC_INVAL, where,
			   "\"%s\" is not AET=HOST:PORT", buf);
	*eq = '\0';
	st = parse_aet(buf, ae.aet, err, where);
	if (st != PC_OK)
		return st;
	st = parse_addr(eq + 1, &ae.addr, err, where);
	if (st != PC_OK)
		return st;
	return remote_put(cfg, &ae, err, where);
}

/* ---- setting an option from text ---------------------------------------- */

static enum pc_status set_text(struct pc_config *cfg, const struct opt *o,
			       const char *s, struct pc_err *err,
			       const char *where)
{
	void *field = (char *)cfg + o->off;
	uint64_t v = 0;
	enum pc_status st;

	switch (o->type) {
	case T_STRING: {
		char *d;

		if (s[0] == '\0')
			return bad(err, PC_INVAL, where, "must not be empty");
		d = pc_strdup(s);
		if (d == NULL)
			return nomem(err, where);
		pc_free(*(char **)field);
		*(char **)field = d;
		return PC_OK;
	}
	case T_ADDR:
		return parse_addr(s, field, err, where);
	case T_AET:
		return parse_aet(s, field, err, where);
	case T_BOOL:
		return parse_bool(s, field, err, where);
	case T_SIZE:
	case T_UINT:
		st = parse_number(o, s, &v, err, where);
		if (st != PC_OK)
			return st;
		if (o->type == T_SIZE)
			*(uint64_t *)field = v;
		else
			*(uint32_t *)field = (uint32_t)v;
		return PC_OK;
	case T_LIST: {
		char **nv = NULL;
		size_t n = 0;

		st = list_add_csv(&nv, &n, s, err, where);
		if (st != PC_OK) {
			free_list(nv, n);
			return st;
		}
		list_set(cfg, o, nv, n);
		return PC_OK;
	}
	case T_REMOTE_AES:
		while (*s != '\0') {
			const char *e = strchr(s, ',');
			size_t len = e ? (size_t)(e - s) : strlen(s);

			if (len > 0) {
				st = remote_add_text(cfg, s, len, err, where);
				if (st != PC_OK)
					return st;
			}
			s += len;
			if (*s == ',')
				s++;
		}
		return PC_OK;
	}
	return bad(err, PC_INVAL, where, "unknown option type");
}

/* ---- the config file ---------------------------------------------------- */

static const char *json_kind(const json_t *j)
{
	switch (json_typeof(j)) {
	case JSON_OBJECT: return "an object";
	case JSON_ARRAY: return "an array";
	case JSON_STRING: return "a string";
	case JSON_INTEGER: return "an integer";
	case JSON_REAL: return "a real number";
	case JSON_TRUE:
	case JSON_FALSE: return "a boolean";
	case JSON_NULL: return "null";
	}
	return "unknown";
}

static enum pc_status wrong_type(struct pc_err *err, const char *where,
				 const char *want, const json_t *j)
{
	return bad(err, PC_INVAL, where, "expected %s, got %s", want,
		   json_kind(j));
}

/* One entry of "remote_aes": {"host": H, "port": P} or "HOST:PORT". */
static enum pc_status remote_add_json(struct pc_config *cfg, const char *aet,
				      json_t *j, struct pc_err *err,
				      const char *where)
{
	struct pc_config_remote_ae ae = {0};
	const char *key;
	json_t *v;
	const char *host = "127.0.0.1";
	json_int_t port = -1;
	char addr[300];
	enum pc_status st;

	st = parse_aet(aet, ae.aet, err, where);
	if (st != PC_OK)
		return st;
	if (json_is_string(j)) {
		st = parse_addr(json_string_value(j), &ae.addr, err, where);
		if (st != PC_OK)
			return st;
		return remote_put(cfg, &ae, err, where);
	}
	if (!json_is_object(j))
		return wrong_type(err, where,
				  "an object {\"host\": ..., \"port\": ...}", j);
	json_object_foreach(j, key, v) {
		if (strcmp(key, "host") == 0 && json_is_string(v))
			host = json_string_value(v);
		else if (strcmp(key, "port") == 0 && json_is_integer(v))
			port = json_integer_value(v);
		else if (strcmp(key, "host") == 0)
			return wrong_type(err, where, "a string for \"host\"",
					  v);
		else if (strcmp(key, "port") == 0)
			return wrong_type(err, where, "an integer for \"port\"",
					  v);
		else
			return bad(err, PC_INVAL, where,
				   "unknown key \"%s\" (expected \"host\", "
				   "\"port\")", key);
	}
	if (port < 0 && json_object_get(j, "port") == NULL)
		return bad(err, PC_INVAL, where, "\"port\" is missing");
	if (strchr(host, ':') != NULL && host[0] != '[')
		snprintf(addr, sizeof(addr), "[%s]:%" JSON_INTEGER_FORMAT, host,
			 port);
	else
		snprintf(addr, sizeof(addr), "%s:%" JSON_INTEGER_FORMAT, host,
			 port);
	st = parse_addr(addr, &ae.addr, err, where);
	if (st != PC_OK)
		return st;
	return remote_put(cfg, &ae, err, where);
}

static enum pc_status set_json(struct pc_config *cfg, const struct opt *o,
			       json_t *j, struct pc_err *err,
			       const char *where)
{
	char num[32];

	switch (o->type) {
	case T_STRING:
	case T_ADDR:
	case T_AET:
		if (!json_is_string(j))
			return wrong_type(err, where, "a string", j);
		return set_text(cfg, o, json_string_value(j), err, where);
	case T_BOOL:
		if (!json_is_boolean(j))
			return wrong_type(err, where, "true or false", j);
		*(bool *)((char *)cfg + o->off) = json_is_true(j);
		return PC_OK;
	case T_SIZE:
	case T_UINT:
		if (json_is_string(j) && o->type == T_SIZE)
			return set_text(cfg, o, json_string_value(j), err,
					where);
		if (!json_is_integer(j))
			return wrong_type(err, where,
					  o->type == T_SIZE
						  ? "an integer or a string "
						    "like \"1G\""
						  : "an integer",
					  j);
		snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT,
			 json_integer_value(j));
		return set_text(cfg, o, num, err, where);
	case T_LIST: {
		char **nv = NULL;
		size_t n = 0, i;
		json_t *v;
		enum pc_status st = PC_OK;

		if (json_is_string(j))
			return set_text(cfg, o, json_string_value(j), err,
					where);
		if (!json_is_array(j))
			return wrong_type(err, where,
					  "an array of strings or a string", j);
		json_array_foreach(j, i, v) {
			if (!json_is_string(v)) {
				st = wrong_type(err, where,
						"an array of strings", v);
				break;
			}
			st = list_add_csv(&nv, &n, json_string_value(v), err,
					  where);
			if (st != PC_OK)
				break;
		}
		if (st != PC_OK) {
			free_list(nv, n);
			return st;
		}
		list_set(cfg, o, nv, n);
		return PC_OK;
	}
	case T_REMOTE_AES: {
		const char *key;
		json_t *v;

		if (!json_is_object(j))
			return wrong_type(err, where, "an object", j);
		json_object_foreach(j, key, v) {
			enum pc_status st = remote_add_json(cfg, key, v, err,
							    where);
			if (st != PC_OK)
				return st;
		}
		return PC_OK;
	}
	}
	return bad(err, PC_INVAL, where, "unknown option type");
}

static const struct opt *find_key(const char *name)
{
	for (size_t i = 0; i < N_OPTIONS; i++) {
		if (strcmp(options[i].name, name) == 0)
			return &options[i];
	}
	return NULL;
}

static enum pc_status load_file(struct pc_config *cfg, const char *path,
				struct pc_err *err)
{
	json_error_t jerr;
	json_t *root, *v;
	const char *key;
	char where[300];
	enum pc_status st = PC_OK;

	root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL) {
		if (json_error_code(&jerr) == json_error_cannot_open_file)
			return pc_err_set(err, PC_IO, 0, "config file %s: %s",
					  path, jerr.text);
		if (json_error_code(&jerr) == json_error_out_of_memory)
			return pc_err_set(err, PC_NOMEM, 0,
					  "config file %s: out of memory",
					  path);
		return pc_err_set(err, PC_PARSE, (uint64_t)jerr.position,
				  "config file %s: line %d column %d: %s", path,
				  jerr.line, jerr.column, jerr.text);
	}
	if (!json_is_object(root)) {
		st = pc_err_set(err, PC_INVAL, 0,
				"config file %s: line 1 column 1: expected an "
				"object at the top level, got %s",
				path, json_kind(root));
		goto done;
	}
	json_object_foreach(root, key, v) {
		const struct opt *o = find_key(key);

		snprintf(where, sizeof(where), "config file %s: \"%s\"", path,
			 key);
		if (o == NULL || (o->flags & OPT_NOFILE) != 0) {
			st = pc_err_set(err, PC_INVAL, 0,
					"config file %s: unknown key \"%s\"",
					path, key);
			goto done;
		}
		st = set_json(cfg, o, v, err, where);
		if (st != PC_OK)
			goto done;
	}
done:
	json_decref(root);
	return st;
}

/* ---- environment and flags ---------------------------------------------- */

static const char *env_get(char **envp, const char *name)
{
	size_t n = strlen(name);

	for (size_t i = 0; envp != NULL && envp[i] != NULL; i++) {
		if (strncmp(envp[i], name, n) == 0 && envp[i][n] == '=')
			return envp[i] + n + 1;
	}
	return NULL;
}

/*
 * Reads the flag at argv[*i]: sets *o and *value (NULL for a boolean
 * without "=value") and advances *i past it and its value. --help and -h
 * give *o = NULL.
 */
static enum pc_status next_flag(int argc, char **argv, int *i,
				const struct opt **o, const char **value,
				struct pc_err *err)
{
	const char *a = argv[*i], *eq;
	size_t n;

	*o = NULL;
	*value = NULL;
	(*i)++;
	if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0)
		return PC_OK;
	if (strncmp(a, "--", 2) != 0)
		return pc_err_set(err, PC_INVAL, 0,
				  "unexpected argument \"%s\" (see --help)", a);
	a += 2;
	eq = strchr(a, '=');
	n = eq ? (size_t)(eq - a) : strlen(a);
	for (size_t k = 0; k < N_OPTIONS; k++) {
		if (strlen(options[k].flag) == n &&
		    strncmp(options[k].flag, a, n) == 0) {
			*o = &options[k];
			break;
		}
	}
	if (*o == NULL)
		return pc_err_set(err, PC_INVAL, 0,
				  "unknown option --%.*s (see --help)", (int)n,
				  a);
	if (eq != NULL) {
		*value = eq + 1;
	} else if ((*o)->type != T_BOOL) {
		if (*i >= argc)
			return pc_err_set(err, PC_INVAL, 0,
					  "--%s: missing value %s", (*o)->flag,
					  (*o)->metavar);
		*value = argv[(*i)++];
	}
	return PC_OK;
}

/* ---- public ------------------------------------------------------------- */

enum pc_status pc_config_load(struct pc_config *cfg, int argc, char **argv,
			      char **envp, struct pc_err *err)
{
	const struct opt *o;
	const char *value, *file = NULL;
	char where[80];
	enum pc_status st = PC_OK;
	int i;

	memset(cfg, 0, sizeof(*cfg));
	for (size_t k = 0; k < N_OPTIONS; k++) {
		if (options[k].def == NULL)
			continue;
		snprintf(where, sizeof(where), "default for %s",
			 options[k].name);
		st = set_text(cfg, &options[k], options[k].def, err, where);
		if (st != PC_OK)
			goto fail;
	}

	/* Pass 1: syntax of every flag, --help, and which file to read. */
	file = env_get(envp, "PACSD_CONFIG");
	for (i = 0; i < argc;) {
		st = next_flag(argc, argv, &i, &o, &value, err);
		if (st != PC_OK)
			goto fail;
		if (o == NULL) {
			cfg->help = true;
			return PC_OK;
		}
		if (strcmp(o->name, "config") == 0)
			file = value;
	}
	if (file != NULL) {
		st = set_text(cfg, find_key("config"), file, err,
			      file == env_get(envp, "PACSD_CONFIG")
				      ? "environment PACSD_CONFIG"
				      : "--config");
		if (st != PC_OK)
			goto fail;
		st = load_file(cfg, file, err);
		if (st != PC_OK)
			goto fail;
	}

	for (size_t k = 0; k < N_OPTIONS; k++) {
		char name[64];

		if (strcmp(options[k].name, "config") == 0)
			continue;
		env_name(&options[k], name, sizeof(name));
		value = env_get(envp, name);
		if (value == NULL)
			continue;
		snprintf(where, sizeof(where), "environment %s", name);
		st = set_text(cfg, &options[k], value, err, where);
		if (st != PC_OK)
			goto fail;
	}

	for (i = 0; i < argc;) {
		st = next_flag(argc, argv, &i, &o, &value, err);
		if (st != PC_OK)
			goto fail;
		if (o == NULL || strcmp(o->name, "config") == 0)
			continue;
		snprintf(where, sizeof(where), "--%s", o->flag);
		st = set_text(cfg, o, value ? value : "true", err, where);
		if (st != PC_OK)
			goto fail;
	}
	return PC_OK;
fail:
	pc_config_cleanup(cfg);
	return st;
}

void pc_config_cleanup(struct pc_config *cfg)
{
	if (cfg == NULL)
		return;
	pc_free(cfg->config_file);
	pc_free(cfg->data_dir);
	pc_free(cfg->http.host);
	pc_free(cfg->dicom.host);
	for (size_t i = 0; i < cfg->n_remote_aes; i++)
		pc_free(cfg->remote_aes[i].addr.host);
	pc_free(cfg->remote_aes);
	free_list(cfg->cors_origins, cfg->n_cors_origins);
	free_list(cfg->allowed_aes, cfg->n_allowed_aes);
	memset(cfg, 0, sizeof(*cfg));
}

void pc_config_usage(FILE *out)
{
	fputs("Usage: pacsd serve [OPTIONS]\n\n"
	      "Each option can also be set by a config file key and an "
	      "environment\nvariable. Precedence: default < config file < "
	      "environment < flag.\n\n",
	      out);
	for (size_t k = 0; k < N_OPTIONS; k++) {
		const struct opt *o = &options[k];
		char left[64], env[64];

		env_name(o, env, sizeof(env));
		if (o->metavar != NULL)
			snprintf(left, sizeof(left), "--%s %s", o->flag,
				 o->metavar);
		else
			snprintf(left, sizeof(left), "--%s[=BOOL]", o->flag);
		fprintf(out, "  %-32s %s\n", left, o->help);
		fprintf(out, "  %-32s env %s", "", env);
		if ((o->flags & OPT_NOFILE) == 0)
			fprintf(out, ", key \"%s\"", o->name);
		if (o->def != NULL)
			fprintf(out, ", default %s", o->def);
		fputc('\n', out);
	}
	fprintf(out, "  %-32s %s\n", "--help, -h", "show this help");
}

bool pc_config_ae_allowed(const struct pc_config *cfg, const char *aet,
			  const char *host)
{
	if (cfg->n_allowed_aes == 0)
		return true;
	for (size_t i = 0; i < cfg->n_allowed_aes; i++) {
		const char *e = cfg->allowed_aes[i];
		const char *at = strchr(e, '@');
		size_t n = at ? (size_t)(at - e) : strlen(e);
		if (strlen(aet) != n || strncmp(e, aet, n) != 0)
			continue;
		if (at == NULL || strcmp(at + 1, host) == 0)
			return true;
	}
	return false;
}

const struct pc_config_remote_ae *
pc_config_find_remote_ae(const struct pc_config *cfg, const char *aet)
{
	size_t n = strlen(aet);

	while (n > 0 && aet[n - 1] == ' ')
		n--;
	for (size_t i = 0; i < cfg->n_remote_aes; i++) {
		if (strlen(cfg->remote_aes[i].aet) == n &&
		    strncmp(cfg->remote_aes[i].aet, aet, n) == 0)
			return &cfg->remote_aes[i];
	}
	return NULL;
}
