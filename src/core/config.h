/*
 * config.h - the server configuration of `pacsd serve`.
 *
 * Every option is set, in increasing precedence, by its default, the JSON
 * config file (key "data_dir"), the environment (PACSD_DATA_DIR) and the
 * command line (--data-dir). One table in config.c describes all options;
 * --help, the file, the environment and the flags are all read through it.
 *
 * Invariants after a successful pc_config_load: every string field is
 * non-NULL and owned by the struct; every port is 1-65535; AE titles obey
 * PS3.5 6.2 (1-16 chars, no backslash or control characters, not all
 * spaces) and are stored without leading or trailing spaces.
 */
#ifndef PACSD_CORE_CONFIG_H
#define PACSD_CORE_CONFIG_H

#include "pc.h"

#include <stdio.h>

#define PC_CONFIG_AET_MAX 16

/* A listen or peer address: "host:port", "[::1]:port" or ":port". */
struct pc_config_addr {
	char *host;     /* owned; without brackets; "127.0.0.1" if omitted */
	uint16_t port;  /* 1-65535 */
};

/* A peer AE that C-MOVE may send to. */
struct pc_config_remote_ae {
	char aet[PC_CONFIG_AET_MAX + 1]; /* the move destination's AE title */
	struct pc_config_addr addr;      /* where it listens */
};

struct pc_config {
	bool help;                  /* --help/-h given: print usage, exit 0 */
	char *config_file;          /* owned; NULL when no file was read */
	char *data_dir;             /* owned; default "./pacsd-data" */
	struct pc_config_addr http; /* default 127.0.0.1:8080 */
	struct pc_config_addr dicom;/* default 127.0.0.1:11112 */
	char aet[PC_CONFIG_AET_MAX + 1]; /* our AE title; default "PACSD" */
	struct pc_config_remote_ae *remote_aes; /* owned array */
	size_t n_remote_aes;
	uint64_t max_body;          /* bytes; default 1 GiB */
	char **cors_origins;        /* owned array of owned strings */
	size_t n_cors_origins;
	char **allowed_aes;         /* owned; "AET" or "AET@HOST"; none =
	                               every calling AE may associate */
	size_t n_allowed_aes;
	bool allow_overwrite;       /* default false */
	bool sync_each;             /* default false: group syncs */
	uint32_t qido_max_results;  /* default 1000 */
};

/*
 * Fills `cfg` (any previous contents are ignored, not freed) from the
 * defaults, the config file, `envp` (a NULL-terminated "NAME=value" array;
 * may be NULL) and `argv` (the `argc` arguments after "serve"). The config
 * file is the one named by --config, else by PACSD_CONFIG, else none.
 *
 * If --help or -h is among the arguments, sets cfg->help and returns PC_OK
 * with only the defaults applied, so that help works with a broken config.
 *
 * Errors: PC_INVAL (bad value, unknown flag or key), PC_PARSE (the file is
 * not JSON; the message gives jansson's line and column), PC_IO (the file
 * cannot be read), PC_NOMEM. The message names where the bad value came
 * from: `config file /x.json: "http": ...`, `environment PACSD_HTTP: ...`
 * or `--http: ...`. On failure `cfg` holds nothing that needs freeing
 * (calling pc_config_cleanup on it is still safe).
 */
enum pc_status pc_config_load(struct pc_config *cfg, int argc, char **argv,
			      char **envp, struct pc_err *err) PC_WUR;

/* Frees everything `cfg` owns and zeroes it. Accepts a zeroed struct. */
void pc_config_cleanup(struct pc_config *cfg);

/* Writes the `pacsd serve --help` text: every option with its flag,
 * environment variable, config file key and default. */
void pc_config_usage(FILE *out);

/*
 * Whether a peer calling as `aet` from address `host` (numeric) may
 * associate: always when the allow-list is empty, else when an entry
 * names the AE title without a host, or with this host.
 */
bool pc_config_ae_allowed(const struct pc_config *cfg, const char *aet,
			  const char *host);

/* The remote AE named `aet` (trailing spaces ignored), or NULL. The pointer
 * is valid until pc_config_cleanup. */
const struct pc_config_remote_ae *
pc_config_find_remote_ae(const struct pc_config *cfg, const char *aet);

#endif
