/*
 * scu_common.h - what the DIMSE client commands (`pacsd echo|store|find|
 * move|get`) share: the common options (--aet, --aec, --timeout, and for
 * Query/Retrieve -P, -S, -L, -k), query keys given as dcmtk's findscu -k
 * takes them, the identifier data set built from them, printing of
 * received data sets and of DIMSE statuses. Private to src/cmd/.
 */
#ifndef PACSD_CMD_SCU_COMMON_H
#define PACSD_CMD_SCU_COMMON_H

#include "core/pc.h"
#include "dicom/dcm.h"
#include "net/scu.h"

#include <stdio.h>

#define SCU_DEFAULT_AET "PACSD"
#define SCU_DEFAULT_AEC "ANY-SCP"

/* Common Query/Retrieve transfer syntax proposals. */
#define SCU_TS_IMPLICIT_LE "1.2.840.10008.1.2"
#define SCU_TS_EXPLICIT_LE "1.2.840.10008.1.2.1"
#define SCU_TS_EXPLICIT_BE "1.2.840.10008.1.2.2"

struct scu_key {
	uint32_t tag;
	const char *value;      /* borrowed from argv; "" = return key */
};

struct scu_cli {
	const char *prog;       /* "pacsd find", prefixes every message */
	struct scu_peer peer;
	bool qr;                /* accepts -P -S -L -k */
	bool patient_root;      /* -P; default Study Root */
	const char *level;      /* -L, or NULL */
	struct scu_key *keys;
	size_t n_keys;
	char **pos;             /* positional arguments, borrowed */
	size_t n_pos;
};

/* `qr`: the command takes the Query/Retrieve options. */
void scu_cli_init(struct scu_cli *c, const char *prog, bool qr);
void scu_cli_cleanup(struct scu_cli *c);

/*
 * Looks at argv[*i]: a common option (consuming its value and advancing
 * *i) returns 1, something else 0, a bad option value -1 (the message was
 * printed). Arguments not starting with '-' are collected as positional
 * by scu_cli_positional().
 */
int scu_cli_option(struct scu_cli *c, int argc, char **argv, int *i);
/*
 * The common part of every command's argument loop, for argv[*i] that the
 * command did not take itself: a common option (advancing *i past its
 * value) or a positional argument. False, with the message and `usage`
 * printed, for an unknown or bad option (or out of memory).
 */
bool scu_cli_arg(struct scu_cli *c, int argc, char **argv, int *i,
		 void (*usage)(FILE *out));
/* Collects argv[i] as a positional argument; false on out of memory. */
bool scu_cli_positional(struct scu_cli *c, char *arg);
/* Takes HOST PORT from the first two positional arguments; false (with a
 * message) when they are missing or the port is not a number 1-65535. */
bool scu_cli_peer(struct scu_cli *c);

/* The help text of the common options (and the Q/R ones when qr). */
void scu_cli_usage_common(FILE *out, bool qr);

/* The Query/Retrieve SOP class of the chosen model: 'F' find, 'M' move,
 * 'G' get. */
const char *scu_cli_model(const struct scu_cli *c, char service);

/*
 * The identifier of the -k keys with the QueryRetrieveLevel (from -L,
 * else a QueryRetrieveLevel key, else `default_level` or, when that is
 * NULL, the level inferred from the unique keys given values), encoded in
 * `ts_uid` without preamble or meta, appended to `out`. Returns false
 * (message printed) on error.
 */
bool scu_cli_identifier(const struct scu_cli *c, const char *ts_uid,
			const char *default_level, struct pc_buf *out);

/*
 * Opens the association of a Query/Retrieve command: the `model` context
 * first (Explicit then Implicit VR Little Endian) followed by `extra`
 * (C-GET's storage contexts), and encodes the identifier (see
 * scu_cli_identifier) in the syntax the peer chose for the model. NULL
 * with the message printed.
 */
scu_session *scu_cli_qr_open(const struct scu_cli *c, const char *model,
			     const struct scu_context *extra, size_t n_extra,
			     const char *default_level, struct pc_buf *ident);

/* The last line of a C-MOVE or C-GET: status and sub-operation counts. */
void scu_cli_print_final(const char *what, const struct dimse_cmd *rsp);

/*
 * Parses a data set received on a context with transfer syntax `ts` (a
 * C-FIND identifier). The file borrows `hold`, which must outlive it:
 * destroy the file, then clean up `hold`. NULL with `err`.
 */
dcm_file *scu_cli_parse(const uint8_t *p, size_t n, const char *ts,
			struct pc_buf *hold, struct pc_err *err);
/* Appends the data set as lines "(gggg,eeee) VR [value]  # Keyword",
 * sequences indented. */
void scu_cli_print_dataset(const dcm_dataset *ds, unsigned depth,
			   struct pc_buf *out);

/* PS3.4 / PS3.7 Annex C: what a status means, e.g. "success", "warning",
 * "failure: out of resources". */
const char *scu_status_text(uint16_t status);
/* Status categories (PS3.7 C.1). */
bool scu_status_is_failure(uint16_t status);
bool scu_status_is_warning(uint16_t status);

/* Maps a file read-only; *p NULL for an empty file. Returns false with
 * `err` filled. scu_cli_unmap releases it. */
bool scu_cli_map(const char *path, const uint8_t **p, size_t *n,
		 struct pc_err *err);
void scu_cli_unmap(const uint8_t *p, size_t n);

#endif
