/*
 * scu.h - the DIMSE service user: what `pacsd echo|store|find|move|get`,
 * the C-MOVE SCP (sub-associations to the move destination) and, later,
 * the job pipeline (delivering reports) use to talk to another AE.
 *
 * An scu_session is one association that the caller opens with the
 * presentation contexts it needs, uses for any number of operations, and
 * releases. Transfer syntaxes for storage are proposed from the files
 * themselves (their own syntax, plus Explicit and Implicit VR Little
 * Endian for native ones), one context per (SOP class, syntax) pair, so a
 * file is always sent exactly as stored: no transcoding on the way out.
 *
 * Thread-safety: a session belongs to one thread.
 */
#ifndef PACSD_NET_SCU_H
#define PACSD_NET_SCU_H

#include "core/pc.h"
#include "net/dimse.h"

typedef struct scu_session scu_session;

struct scu_peer {
	const char *host;
	uint16_t port;
	const char *called_ae;      /* the peer's AE title */
	const char *calling_ae;     /* ours */
	unsigned timeout_ms;        /* connect/ARTIM and per-response wait;
	                               0 = 30000 */
};

/* One presentation context to propose: an abstract syntax and its
 * transfer syntaxes in order of preference. */
struct scu_context {
	const char *abstract_syntax;
	const char *const *ts;
	size_t n_ts;
	bool scp_role;              /* ask for the SCP role (C-GET receivers
	                               of storage classes, PS3.4 C.4.3) */
};

/*
 * Opens an association proposing `ctx` (at most 128). Returns NULL with
 * PC_IO (unreachable, timeout), PC_STOP (rejected: the message gives the
 * result/source/reason) or PC_UNSUPPORTED (accepted but no context was).
 */
scu_session *scu_open(const struct scu_peer *peer,
		      const struct scu_context *ctx, size_t n_ctx,
		      struct pc_err *err) PC_WUR;

/* Releases the association (A-RELEASE) and frees; NULL is a no-op. */
enum pc_status scu_close(scu_session *s, struct pc_err *err);
/* Aborts and frees; NULL is a no-op. */
void scu_abort(scu_session *s);

/* Whether the association is still up (false after a network or
 * protocol error, or when the peer released or aborted it). */
bool scu_established(const scu_session *s);

/* The accepted context for an abstract syntax whose accepted transfer
 * syntax is `ts` (NULL: any); 0 when none. */
uint8_t scu_context_for(const scu_session *s, const char *abstract_syntax,
			const char *ts);

/* The transfer syntax accepted for context `pc_id` (from
 * scu_context_for), or NULL. Valid until the session is closed. */
const char *scu_context_ts(const scu_session *s, uint8_t pc_id);

/* C-ECHO (PS3.7 9.1.5). *status receives the response status. */
enum pc_status scu_echo(scu_session *s, uint16_t *status,
			struct pc_err *err) PC_WUR;

/*
 * C-STORE of one Part 10 file held in memory (`data`, `n` bytes: the
 * preamble and meta are stripped, the data set sent as is, on the context
 * whose abstract syntax is the file's SOP class and whose transfer syntax
 * is the file's). `move_orig_ae`/`move_orig_id` (NULL/0 when not a C-MOVE
 * sub-operation) fill the Move Originator fields. *status receives the
 * peer's status. When the peer took Explicit or Implicit VR Little Endian
 * instead of a native file's own syntax (the fallbacks
 * scu_storage_contexts proposes), the data set is re-encoded in it, values
 * unchanged. A deflated data set of odd length gets its pad byte (PS3.5
 * A.5). PC_UNSUPPORTED when no accepted context fits the file; the
 * session stays usable then (see scu_established for other errors).
 */
enum pc_status scu_store(scu_session *s, const uint8_t *data, size_t n,
			 const char *move_orig_ae, uint16_t move_orig_id,
			 uint16_t *status, struct pc_err *err) PC_WUR;

/*
 * The contexts to propose for sending `files` (Part 10 files in memory):
 * one per distinct (SOP class, transfer syntax) of the files, each with
 * the file's syntax first and, for native syntaxes, Explicit then Implicit
 * VR Little Endian after it. Strings and the array live in `arena`.
 */
enum pc_status scu_storage_contexts(pc_arena *arena,
				    const struct pc_span *files, size_t n,
				    struct scu_context **out, size_t *n_out,
				    struct pc_err *err) PC_WUR;

/*
 * C-FIND (PS3.7 9.1.2): sends `identifier` (a data set encoded in the
 * context's transfer syntax) on the context of `model` (a FIND SOP class
 * UID) and calls `fn` with each pending response's identifier (encoded,
 * with its transfer syntax). Returns the final status in *status.
 */
typedef enum pc_status (*scu_match_fn)(void *ctx, const uint8_t *p,
				       size_t n, const char *ts);
enum pc_status scu_find(scu_session *s, const char *model,
			const uint8_t *identifier, size_t n,
			scu_match_fn fn, void *ctx, uint16_t *status,
			struct pc_err *err) PC_WUR;

/*
 * C-MOVE (PS3.7 9.1.4) to `dest_ae`; `progress` (may be NULL) sees each
 * response's sub-operation counts. *status and *final get the final
 * response.
 */
typedef void (*scu_progress_fn)(void *ctx, const struct dimse_cmd *rsp);
enum pc_status scu_move(scu_session *s, const char *model,
			const char *dest_ae, const uint8_t *identifier,
			size_t n, scu_progress_fn progress, void *ctx,
			struct dimse_cmd *final, struct pc_err *err) PC_WUR;

/*
 * C-GET (PS3.7 9.1.3): the peer sends the instances back on this
 * association as C-STORE sub-operations; `store` receives each (the SOP
 * class and instance UIDs, the context's transfer syntax and the data set
 * bytes as a Part 10 file with a meta we add) and returns the status to
 * answer with. The session must have been opened with the storage classes
 * proposed with scp_role.
 */
typedef uint16_t (*scu_store_fn)(void *ctx, const struct dimse_cmd *rq,
				 const uint8_t *part10, size_t n);
enum pc_status scu_get(scu_session *s, const char *model,
		       const uint8_t *identifier, size_t n,
		       scu_store_fn store, void *store_ctx,
		       scu_progress_fn progress, void *ctx,
		       struct dimse_cmd *final, struct pc_err *err) PC_WUR;

#endif
