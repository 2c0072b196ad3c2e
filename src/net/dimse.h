/*
 * dimse.h - DIMSE messages (PS3.7): command sets and, later, the services
 * built on them (C-ECHO, C-STORE, C-FIND, C-MOVE, C-GET as SCP and SCU).
 *
 * cmd.c encodes and decodes command sets: group 0000 elements, always
 * Implicit VR Little Endian (PS3.7 6.3.1), CommandGroupLength first. The
 * decoder reads only the fields below, checks every length against the
 * bytes that remain and the VR's size, and ignores other group 0000
 * elements (PS3.7 allows retired ones).
 *
 * Thread-safety: functions only touch their arguments.
 */
#ifndef PACSD_NET_DIMSE_H
#define PACSD_NET_DIMSE_H

#include "core/pc.h"
#include "net/dul.h"

/* Command Field values (PS3.7 E.1). */
enum dimse_command {
	DIMSE_C_STORE_RQ = 0x0001,
	DIMSE_C_STORE_RSP = 0x8001,
	DIMSE_C_GET_RQ = 0x0010,
	DIMSE_C_GET_RSP = 0x8010,
	DIMSE_C_FIND_RQ = 0x0020,
	DIMSE_C_FIND_RSP = 0x8020,
	DIMSE_C_MOVE_RQ = 0x0021,
	DIMSE_C_MOVE_RSP = 0x8021,
	DIMSE_C_ECHO_RQ = 0x0030,
	DIMSE_C_ECHO_RSP = 0x8030,
	DIMSE_C_CANCEL_RQ = 0x0FFF,
};

/* Command Data Set Type (0000,0800): any value but this one means a data
 * set follows (PS3.7 E.1). */
#define DIMSE_NO_DATA_SET 0x0101

/* Statuses (PS3.7 C, PS3.4 B.2.3, C.4). */
enum dimse_status {
	DIMSE_SUCCESS = 0x0000,
	DIMSE_PENDING = 0xFF00,
	DIMSE_PENDING_WARNING = 0xFF01,   /* optional keys not supported */
	DIMSE_CANCEL = 0xFE00,
	DIMSE_WARNING_SUBOPS = 0xB000,    /* sub-operations complete, one or
	                                     more failures or warnings */
	DIMSE_WARNING_COERCION = 0xB000,  /* C-STORE: coercion of elements */
	DIMSE_DUPLICATE_SOP = 0x0111,
	DIMSE_NO_SUCH_SOP_CLASS = 0x0118, /* also "SOP class not supported" */
	DIMSE_SOP_CLASS_NOT_SUPPORTED = 0x0122,
	DIMSE_OUT_OF_RESOURCES = 0xA700,
	DIMSE_OUT_OF_RESOURCES_MATCHES = 0xA701, /* C-MOVE: cannot count */
	DIMSE_OUT_OF_RESOURCES_SUBOPS = 0xA702,  /* C-MOVE/GET */
	DIMSE_MOVE_DEST_UNKNOWN = 0xA801,
	DIMSE_DATASET_MISMATCH = 0xA900,  /* data set does not match SOP
	                                     class / identifier wrong */
	DIMSE_CANNOT_UNDERSTAND = 0xC000,
	DIMSE_PROCESSING_FAILURE = 0x0110,
};

/* pacsd's implementation identity (PS3.7 D.3.3.2), in associations and
 * in the File Meta Information of what it stores. A UUID-derived UID
 * (PS3.5 B.2): unique without a registered root. */
#define DIMSE_IMPL_CLASS_UID "2.25.93469612590963369823310249761597352932"
#define DIMSE_IMPL_VERSION "PACSD_" PACSD_VERSION

#define DIMSE_UID_MAX 64
#define DIMSE_AE_MAX 16
#define DIMSE_COMMENT_MAX 64

/* Which optional fields a command set carries (bits of `present`). */
enum dimse_field {
	DIMSE_F_AFFECTED_CLASS = 1u << 0,     /* (0000,0002) */
	DIMSE_F_REQUESTED_CLASS = 1u << 1,    /* (0000,0003) */
	DIMSE_F_MESSAGE_ID = 1u << 2,         /* (0000,0110) */
	DIMSE_F_MESSAGE_ID_RSP = 1u << 3,     /* (0000,0120) */
	DIMSE_F_MOVE_DEST = 1u << 4,          /* (0000,0600) */
	DIMSE_F_PRIORITY = 1u << 5,           /* (0000,0700) */
	DIMSE_F_STATUS = 1u << 6,             /* (0000,0900) */
	DIMSE_F_ERROR_COMMENT = 1u << 7,      /* (0000,0902) */
	DIMSE_F_AFFECTED_INSTANCE = 1u << 8,  /* (0000,1000) */
	DIMSE_F_REQUESTED_INSTANCE = 1u << 9, /* (0000,1001) */
	DIMSE_F_REMAINING = 1u << 10,         /* (0000,1020) */
	DIMSE_F_COMPLETED = 1u << 11,         /* (0000,1021) */
	DIMSE_F_FAILED = 1u << 12,            /* (0000,1022) */
	DIMSE_F_WARNING = 1u << 13,           /* (0000,1023) */
	DIMSE_F_MOVE_ORIG_AE = 1u << 14,      /* (0000,1030) */
	DIMSE_F_MOVE_ORIG_ID = 1u << 15,      /* (0000,1031) */
	DIMSE_F_OFFENDING = 1u << 16,         /* (0000,0901) */
};

/* A command set, fields by value; `present` says which optional ones are
 * set. Strings are NUL-terminated without padding. */
struct dimse_cmd {
	uint16_t command;                 /* enum dimse_command */
	uint16_t data_set_type;           /* DIMSE_NO_DATA_SET or another */
	uint32_t present;                 /* enum dimse_field bits */
	char affected_class[DIMSE_UID_MAX + 1];
	char requested_class[DIMSE_UID_MAX + 1];
	char affected_instance[DIMSE_UID_MAX + 1];
	char requested_instance[DIMSE_UID_MAX + 1];
	uint16_t message_id;
	uint16_t message_id_rsp;
	char move_dest[DIMSE_AE_MAX + 1];
	uint16_t priority;                /* 0 medium, 1 high, 2 low */
	uint16_t status;
	char error_comment[DIMSE_COMMENT_MAX + 1];
	uint32_t offending[8];            /* Offending Element tags */
	uint8_t n_offending;
	uint16_t remaining, completed, failed, warning; /* sub-operations */
	char move_orig_ae[DIMSE_AE_MAX + 1];
	uint16_t move_orig_id;
};

/* Whether the command set announces a data set. */
static inline bool dimse_cmd_has_data(const struct dimse_cmd *c)
{
	return c->data_set_type != DIMSE_NO_DATA_SET;
}

/* Appends the encoded command set (Implicit VR LE, with its group length)
 * to `out`; errors are left in the buffer's sticky status. */
void dimse_cmd_encode(const struct dimse_cmd *c, struct pc_buf *out);

/*
 * Decodes a complete command set. PC_PARSE (message naming the tag and
 * offset) for a truncated element, a length that does not fit its VR, a
 * string too long for its field, or a missing Command Field or Command
 * Data Set Type; unknown group 0000 elements are skipped.
 */
enum pc_status dimse_cmd_decode(const uint8_t *p, size_t n,
				struct dimse_cmd *out,
				struct pc_err *err) PC_WUR;

/* "C-STORE-RQ" etc., "unknown" for others; for logs. */
const char *dimse_command_name(uint16_t command);

/* ---- messages over an association (msg.c) ------------------------------- */

/*
 * Receives the DIMSE messages of one association (PS3.7 9.3, PS3.8 E.2):
 * the command fragments are gathered (a command set is small: bounded by
 * DIMSE_CMD_MAX) and decoded; the data set that follows is handed to the
 * caller fragment by fragment, never gathered, so a 2 GB C-STORE streams.
 * One reader per association; it keeps the PDU being consumed, because a
 * PDU may carry the end of one message and the start of the next.
 */
#define DIMSE_CMD_MAX 65536

struct dimse_reader {
	dul_conn *conn;
	struct dul_event ev;   /* the P-DATA-TF being consumed */
	size_t pos;            /* next PDV in ev.body */
	bool have;             /* ev holds unread PDVs */
	struct pc_buf cmd;     /* command fragments gathered */
};

void dimse_reader_init(struct dimse_reader *r, dul_conn *conn);
void dimse_reader_cleanup(struct dimse_reader *r);

enum dimse_next {
	DIMSE_NEXT_COMMAND,  /* *cmd and *pc_id hold a command */
	DIMSE_NEXT_RELEASE,  /* the peer asks to release */
	DIMSE_NEXT_ABORTED,  /* the peer aborted */
};

/*
 * Waits for the next command. PC_PARSE (a malformed command set, data
 * where a command must start, a fragment on another context, or a context
 * that was not accepted: the association was aborted), PC_IO (timeout,
 * closed connection), PC_LIMIT (a command set above DIMSE_CMD_MAX).
 */
enum pc_status dimse_recv_command(struct dimse_reader *r, struct dimse_cmd *cmd,
				  uint8_t *pc_id, enum dimse_next *next,
				  struct pc_err *err) PC_WUR;

/*
 * After a command announcing a data set: calls `fn` for each fragment of
 * it, `last` on the final one (which may be empty). A status other than
 * PC_OK from `fn` stops the delivery: the rest of the data set is read and
 * dropped so that the association stays usable, and that status is
 * returned (the caller answers with a failure status).
 */
typedef enum pc_status (*dimse_data_fn)(void *ctx, const uint8_t *p, size_t n,
					bool last);
enum pc_status dimse_recv_data(struct dimse_reader *r, uint8_t pc_id,
			       dimse_data_fn fn, void *ctx,
			       struct pc_err *err) PC_WUR;

/* Gathers a whole (small) data set: C-FIND identifiers. PC_LIMIT above
 * `max` bytes (the rest is dropped as above). */
enum pc_status dimse_recv_data_buf(struct dimse_reader *r, uint8_t pc_id,
				   struct pc_buf *out, size_t max,
				   struct pc_err *err) PC_WUR;

/*
 * Between the responses of a C-FIND, C-MOVE or C-GET: reads a command if
 * one is waiting (never blocks otherwise) and sets *cancelled when it is
 * the C-CANCEL-RQ for `message_id` (PS3.7 9.3.2.3). Other commands cannot
 * arrive without asynchronous operations, which we do not negotiate: they
 * are a protocol error (PC_PARSE, association aborted). A release or abort
 * request also sets *cancelled and *next.
 */
enum pc_status dimse_poll_cancel(struct dimse_reader *r, uint16_t message_id,
				 bool *cancelled, enum dimse_next *next,
				 struct pc_err *err) PC_WUR;

/*
 * The 128-byte preamble, "DICM" and File Meta Information (PS3.10 7.1)
 * that make a data set received on a context with transfer syntax `ts` a
 * Part 10 file, appended to `out`. `source_ae` may be "".
 */
void dimse_part10_header(struct pc_buf *out, const char *sop_class,
			 const char *sop_instance, const char *ts,
			 const char *source_ae);

/* Reads and drops a data set (a refused request's), keeping the
 * association in step. */
enum pc_status dimse_recv_discard(struct dimse_reader *r, uint8_t pc_id,
				  struct pc_err *err) PC_WUR;

/* Sends a command and, when `data` is non-NULL, the data set of `n` bytes
 * (encoded in the context's transfer syntax by the caller). The command's
 * data_set_type must agree. */
enum pc_status dimse_send(dul_conn *c, uint8_t pc_id,
			  const struct dimse_cmd *cmd, const void *data,
			  size_t n, struct pc_err *err) PC_WUR;

#endif
