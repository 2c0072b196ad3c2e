/*
 * dul.h - the DICOM upper layer (PS3.8): protocol data units (pdu.c) and
 * associations over TCP driven by the state machine of PS3.8 9.2 (assoc.c).
 *
 * pdu.c decodes and encodes the seven PDUs of PS3.8 9.3. Decoding works on
 * one complete PDU whose 6-byte header has been read and whose declared
 * length has been checked against the negotiated maximum by the caller
 * (dul_pdu_header): a peer's length field never sizes an allocation here.
 * Every variable item's length is checked against what remains before it
 * is read; strings are copied into the caller's arena.
 *
 * Thread-safety: functions only touch their arguments.
 */
#ifndef PACSD_NET_DUL_H
#define PACSD_NET_DUL_H

#include "core/pc.h"

/* PS3.8 9.3.1: PDU types. */
enum dul_pdu_type {
	DUL_PDU_ASSOCIATE_RQ = 0x01,
	DUL_PDU_ASSOCIATE_AC = 0x02,
	DUL_PDU_ASSOCIATE_RJ = 0x03,
	DUL_PDU_P_DATA_TF = 0x04,
	DUL_PDU_RELEASE_RQ = 0x05,
	DUL_PDU_RELEASE_RP = 0x06,
	DUL_PDU_ABORT = 0x07,
};

#define DUL_PDU_HEADER_LEN 6
#define DUL_AE_MAX 16
#define DUL_UID_MAX 64
#define DUL_MAX_CONTEXTS 128    /* odd ids 1..255 (PS3.8 9.3.2.2) */
#define DUL_MAX_TS_PER_CONTEXT 64
#define DUL_MAX_ROLES 128
#define DUL_MAX_EXT 128

/* PS3.8 9.3.3.2 presentation context results. */
enum dul_pc_result {
	DUL_PC_ACCEPTANCE = 0,
	DUL_PC_USER_REJECTION = 1,
	DUL_PC_NO_REASON = 2,
	DUL_PC_ABSTRACT_SYNTAX_NOT_SUPPORTED = 3,
	DUL_PC_TRANSFER_SYNTAXES_NOT_SUPPORTED = 4,
};

/* One presentation context: proposed (RQ) or answered (AC). */
struct dul_pc {
	uint8_t id;                  /* odd, 1-255 */
	uint8_t result;              /* AC only: enum dul_pc_result */
	const char *abstract_syntax; /* RQ only; NULL in AC */
	const char **ts;             /* RQ: proposed syntaxes; AC: the
	                                accepted one (n_ts 1) or none */
	size_t n_ts;
};

/* SCP/SCU Role Selection sub-item (PS3.7 D.3.3.4). */
struct dul_role {
	const char *sop_class;
	bool scu;
	bool scp;
};

/* SOP Class Extended Negotiation sub-item (PS3.7 D.3.3.5), passed through. */
struct dul_ext_neg {
	const char *sop_class;
	struct pc_span info;         /* application information, arena copy */
};

/* A-ASSOCIATE-RQ and -AC (PS3.8 9.3.2, 9.3.3). */
struct dul_assoc {
	uint16_t protocol_version;   /* bit 0 set: version 1 */
	char called_ae[DUL_AE_MAX + 1];  /* leading/trailing spaces removed */
	char calling_ae[DUL_AE_MAX + 1];
	const char *app_context;     /* "1.2.840.10008.3.1.1.1" */
	struct dul_pc *pcs;
	size_t n_pcs;
	/* User Information (PS3.8 9.3.2.3, PS3.7 Annex D.3.3) */
	uint32_t max_pdu;            /* 0 = no limit */
	const char *impl_class_uid;  /* required by PS3.7 D.3.3.2 */
	const char *impl_version;    /* NULL when absent */
	bool has_async;              /* asynchronous operations window */
	uint16_t async_invoked, async_performed;
	struct dul_role *roles;
	size_t n_roles;
	struct dul_ext_neg *ext;
	size_t n_ext;
	/* Sub-items we do not interpret (user identity 0x58/0x59, common
	 * extended negotiation 0x57): type and raw value, kept in order. */
	struct {
		uint8_t type;
		struct pc_span value;
	} *other;
	size_t n_other;
};

/* A-ASSOCIATE-RJ (PS3.8 9.3.4): result 1 permanent / 2 transient; source
 * 1 service user, 2 provider (ACSE), 3 provider (presentation); reason per
 * source (1: 1 no reason, 2 app context not supported, 3 calling AE not
 * recognised, 7 called AE not recognised; 2: 1 no reason, 2 protocol
 * version; 3: 1 temporary congestion, 2 local limit exceeded). */
struct dul_reject {
	uint8_t result, source, reason;
};

/* A-ABORT (PS3.8 9.3.8): source 0 service user, 2 service provider;
 * reason (provider only) 0 not specified, 1 unrecognized PDU, 2 unexpected
 * PDU, 4 unrecognized PDU parameter, 5 unexpected PDU parameter, 6 invalid
 * PDU parameter value. */
struct dul_abort {
	uint8_t source, reason;
};

/* One presentation data value of a P-DATA-TF (PS3.8 9.3.5.1, E.2). */
struct dul_pdv {
	uint8_t pc_id;
	bool command;                /* message control header bit 0 */
	bool last;                   /* bit 1: last fragment */
	struct pc_span data;         /* slice of the PDU */
};

/* ---- decoding ----------------------------------------------------------- */

/*
 * Reads the 6-byte PDU header at `p` (at least DUL_PDU_HEADER_LEN bytes):
 * type and the length of what follows. PC_PARSE for an unknown type,
 * PC_LIMIT when the length exceeds `max_len` (0 = no limit), so the caller
 * never reads or allocates by an unchecked length.
 */
enum pc_status dul_pdu_header(const uint8_t *p, uint8_t *type, uint32_t *len,
			      uint32_t max_len, struct pc_err *err) PC_WUR;

/* Decodes the body (after the header) of an A-ASSOCIATE-RQ or -AC; strings
 * and arrays go to `arena`. PC_PARSE names the item and offset. */
enum pc_status dul_assoc_decode(uint8_t type, const uint8_t *body, size_t n,
				pc_arena *arena, struct dul_assoc *out,
				struct pc_err *err) PC_WUR;
enum pc_status dul_reject_decode(const uint8_t *body, size_t n,
				 struct dul_reject *out,
				 struct pc_err *err) PC_WUR;
enum pc_status dul_abort_decode(const uint8_t *body, size_t n,
				struct dul_abort *out,
				struct pc_err *err) PC_WUR;

/* Iterates over the PDVs of a P-DATA-TF body: `*pos` starts at 0. Returns
 * PC_OK with `out` filled, PC_STOP at the end, PC_PARSE for a bad item (a
 * PDV length below 2 or past the end, pc id even or 0). */
enum pc_status dul_pdv_next(const uint8_t *body, size_t n, size_t *pos,
			    struct dul_pdv *out, struct pc_err *err) PC_WUR;

/* ---- encoding (appended to `out`, whose sticky error the caller checks) */

void dul_assoc_encode(uint8_t type, const struct dul_assoc *a,
		      struct pc_buf *out);
void dul_reject_encode(const struct dul_reject *rj, struct pc_buf *out);
void dul_abort_encode(const struct dul_abort *ab, struct pc_buf *out);
/* A-RELEASE-RQ or -RP. */
void dul_release_encode(uint8_t type, struct pc_buf *out);
/* The PDU header and one PDV header of a P-DATA-TF carrying `n` bytes that
 * the caller appends next (so data is never copied twice). */
void dul_pdata_header_encode(uint8_t pc_id, bool command, bool last,
			     size_t n, struct pc_buf *out);

/* ---- associations (assoc.c) --------------------------------------------- */

typedef struct dul_conn dul_conn;

struct dul_conn_opts {
	uint32_t max_pdu;   /* the largest PDU we accept (announced in our
	                       user information); 0 = 262144 */
	unsigned artim_ms;  /* ARTIM (PS3.8 9.1.5): waiting for the
	                       A-ASSOCIATE-RQ after a connection opens, for an
	                       answer to our RQ, and for the peer to close
	                       after a reject/abort; 0 = 30000 */
	unsigned idle_ms;   /* an established association with no PDU for
	                       this long is aborted; 0 = 300000 */
	const char *impl_class_uid;  /* ours; NULL = pacsd's */
	const char *impl_version;    /* NULL = "PACSD_<version>" */
};

/*
 * Decides an A-ASSOCIATE-RQ (PS3.8 AE-6) from `peer_host` (numeric
 * address): fill `ac->pcs` (the arena holds
 * room for rq->n_pcs entries already: one answer per proposed context, same
 * ids, result and transfer syntax) and `ac->roles` if wanted, and return
 * PC_OK to accept; or fill `rj` and return PC_STOP to reject. Strings put
 * into `ac` must live in `arena` or be static.
 */
typedef enum pc_status (*dul_negotiate_fn)(void *ctx, pc_arena *arena,
					   const char *peer_host,
					   const struct dul_assoc *rq,
					   struct dul_assoc *ac,
					   struct dul_reject *rj);

/*
 * The acceptor side of one association on the connected socket `fd`
 * (taken over: closed on failure or by dul_close): waits for the
 * A-ASSOCIATE-RQ within ARTIM, lets `negotiate` decide, sends the AC or RJ.
 * `negotiate` NULL rejects every association as "transient, local limit
 * exceeded" (PS3.8 9.3.4): for connections over the server's bound.
 * Returns the established association, or NULL: PC_STOP when it was
 * rejected (the RJ was sent), PC_IO for a timeout or a closed connection,
 * PC_PARSE for a malformed PDU (an A-ABORT was sent).
 */
dul_conn *dul_accept(int fd, const struct dul_conn_opts *opts,
		     dul_negotiate_fn negotiate, void *ctx,
		     struct pc_err *err) PC_WUR;

/*
 * The requestor side: connects to host:port, sends `rq` (our max PDU and
 * implementation identity are filled in from `opts`), waits for the
 * answer. Returns the established association, or NULL: PC_STOP when the
 * peer rejected it (`err` gives result/source/reason), PC_IO when the
 * connection failed.
 */
dul_conn *dul_connect(const char *host, uint16_t port,
		      const struct dul_assoc *rq,
		      const struct dul_conn_opts *opts,
		      struct pc_err *err) PC_WUR;

/* The negotiated A-ASSOCIATE-RQ and -AC (valid until dul_close). */
const struct dul_assoc *dul_conn_rq(const dul_conn *c);
const struct dul_assoc *dul_conn_ac(const dul_conn *c);
/* The accepted transfer syntax of presentation context `pc_id`, or NULL
 * when it was not accepted. */
const char *dul_conn_ts(const dul_conn *c, uint8_t pc_id);
/* The abstract syntax proposed for `pc_id`, or NULL. */
const char *dul_conn_abstract(const dul_conn *c, uint8_t pc_id);
/* The peer's address "host:port", for logs. */
const char *dul_conn_peer(const dul_conn *c);

enum dul_event_kind {
	DUL_EV_DATA,     /* P-DATA-TF: iterate its PDVs with dul_pdv_next over
	                    ev->body, valid until the next dul_next() */
	DUL_EV_RELEASE,  /* the peer asks to release; answer with
	                    dul_release_respond() */
	DUL_EV_RELEASED, /* our A-RELEASE-RQ was confirmed: close */
	DUL_EV_ABORTED,  /* the peer aborted (ev->abort); the transport is
	                    closed */
};

struct dul_event {
	enum dul_event_kind kind;
	const uint8_t *body;
	size_t n;
	struct dul_abort abort;
};

/*
 * Waits for the next PDU (at most idle_ms) and runs it through the state
 * machine. Errors: PC_IO (timeout: an A-ABORT was sent; connection
 * closed), PC_PARSE or PC_LIMIT (invalid or oversized PDU, or one not
 * allowed in this state: an A-ABORT was sent, PS3.8 AA-8). After an error
 * or DUL_EV_ABORTED only dul_close() is allowed.
 */
enum pc_status dul_next(dul_conn *c, struct dul_event *ev,
			struct pc_err *err) PC_WUR;

/*
 * Sends `n` bytes as the PDVs of one message fragment stream on `pc_id`,
 * split to the peer's maximum PDU length. `last` marks the final fragment
 * of the command or data set (set it on the call carrying its end; a
 * zero-length call with last = true is allowed). No copy of `p` is made.
 */
enum pc_status dul_send_pdv(dul_conn *c, uint8_t pc_id, bool command,
			    const void *p, size_t n, bool last,
			    struct pc_err *err) PC_WUR;

/* Requestor: A-RELEASE-RQ, wait for the RP (PS3.8 AR-1, AR-3; a release
 * collision is resolved as the standard says). */
enum pc_status dul_release(dul_conn *c, struct pc_err *err) PC_WUR;
/* Acceptor after DUL_EV_RELEASE: A-RELEASE-RP, then wait (ARTIM) for the
 * peer to close (PS3.8 AR-4). */
enum pc_status dul_release_respond(dul_conn *c, struct pc_err *err) PC_WUR;
/* Sends an A-ABORT (service user, or provider with `reason`) unless the
 * association is already gone. */
void dul_abort(dul_conn *c, bool provider, uint8_t reason);
/* Closes the transport and frees; NULL is a no-op. */
void dul_close(dul_conn *c);

/* Whether a PDU has started to arrive (poll with no wait): lets a busy
 * handler notice a C-CANCEL-RQ between responses. */
bool dul_conn_readable(const dul_conn *c);

/* Whether the association is established (Sta6): responses can be sent. */
bool dul_conn_established(const dul_conn *c);

/* The PS3.8 state the association is in (1-13), for tests and logs. */
int dul_conn_state(const dul_conn *c);

#endif
