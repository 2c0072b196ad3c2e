/*
 * net_int.h - internals shared by the files of src/net/: SOP class tables
 * (sop_classes.c, generated) and the SCP's per-association context that
 * the service handlers (scp_*.c) receive. Private to src/net/.
 */
#ifndef PACSD_NET_NET_INT_H
#define PACSD_NET_NET_INT_H

#include "core/pc.h"
#include "net/dimse.h"
#include "net/scp.h"

struct net_sop_class {
	const char *uid;
	const char *keyword;
	bool retired;
};

/* Every storage SOP class of PS3.6, sorted by UID (strcmp order). */
extern const struct net_sop_class net_storage_classes[];
extern const size_t net_storage_class_count;

/* The storage class with this UID, or NULL (binary search). */
const struct net_sop_class *net__storage_class_find(const char *uid);

/* Well-known SOP classes (PS3.4, PS3.6 Annex A). */
#define NET_VERIFICATION "1.2.840.10008.1.1"
#define NET_PATIENT_ROOT_FIND "1.2.840.10008.5.1.4.1.2.1.1"
#define NET_PATIENT_ROOT_MOVE "1.2.840.10008.5.1.4.1.2.1.2"
#define NET_PATIENT_ROOT_GET "1.2.840.10008.5.1.4.1.2.1.3"
#define NET_STUDY_ROOT_FIND "1.2.840.10008.5.1.4.1.2.2.1"
#define NET_STUDY_ROOT_MOVE "1.2.840.10008.5.1.4.1.2.2.2"
#define NET_STUDY_ROOT_GET "1.2.840.10008.5.1.4.1.2.2.3"

/* One accepted association, as the service handlers see it. */
struct scp_assoc {
	dul_conn *conn;
	struct dimse_reader rd;
	const struct dimse_services *svc;
	const char *calling_ae;     /* the peer's AE title */
	const char *peer;           /* "host:port" */
	bool cancelled;             /* a C-CANCEL-RQ arrived (C-FIND/MOVE/GET
	                               handlers poll it between responses) */
};

/*
 * A service handler: `cmd` arrived on `pc_id` and its data set (if any)
 * has NOT been read yet: the handler reads it with dimse_recv_data*() and
 * sends every response. PC_OK keeps the association going; any other
 * status ends it (the handler has aborted it or it is gone).
 */
typedef enum pc_status (*scp_handler_fn)(struct scp_assoc *a,
					 const struct dimse_cmd *cmd,
					 uint8_t pc_id, struct pc_err *err);

/* scp_store.c */
enum pc_status scp__store(struct scp_assoc *a, const struct dimse_cmd *cmd,
			  uint8_t pc_id, struct pc_err *err);
/* scp_find.c; scp__level_of maps a QueryRetrieveLevel to the query level
 * (PATIENT only in the Patient Root model). */
bool scp__level_of(const char *text, bool patient_root,
		   enum qry_level *out);
enum pc_status scp__find(struct scp_assoc *a, const struct dimse_cmd *cmd,
			 uint8_t pc_id, struct pc_err *err);
/* scp_move.c / scp_get.c: C-MOVE and C-GET (PS3.4 C.4.2, C.4.3). */
enum pc_status scp__move(struct scp_assoc *a, const struct dimse_cmd *cmd,
			 uint8_t pc_id, struct pc_err *err);
enum pc_status scp__get(struct scp_assoc *a, const struct dimse_cmd *cmd,
			uint8_t pc_id, struct pc_err *err);

/* scp_qr.c: what C-MOVE and C-GET share. One retrieve request: the
 * instances its identifier names and the sub-operations' bookkeeping. */
struct scp_qr_item {                  /* one instance to send */
	char handle[IDX_HANDLE_LEN + 1];  /* blob key */
	char sop_uid[IDX_UID_MAX + 1];
	char sop_class[IDX_UID_MAX + 1];
	char ts[IDX_UID_MAX + 1];         /* as stored: sent as is */
};

struct scp_retrieve {
	struct scp_assoc *a;
	const struct dimse_cmd *rq;       /* the C-MOVE-RQ or C-GET-RQ */
	uint8_t pc_id;                    /* its presentation context */
	const char *what;                 /* "C-MOVE" or "C-GET", for logs */
	char level[8];                    /* QueryRetrieveLevel as given */
	enum qry_level qlevel;            /* ... as a level */
	dcm_file *ident;                  /* the parsed identifier */
	struct pc_buf raw;                /* its bytes (behind a Part 10
	                                     header), which `ident` slices */
	struct scp_qr_item *items;        /* what to send, in index order */
	size_t n_items, cap;
	const char *dest;                 /* C-MOVE: the Move Destination */
	bool counting;                    /* sub-operations were counted:
	                                     responses carry the counts */
	bool cancelled;                   /* C-CANCEL-RQ (or release) came */
	bool release_asked;               /* A-RELEASE-RQ came meanwhile */
	uint16_t remaining, completed, failed, warning;
	struct pc_buf failed_uids;        /* backslash-separated UIDs (PS3.4
	                                     C.4.2.1.3.1), at most 64 KiB */
	struct pc_err *err;
};

/* A stored instance opened for sending: mapped read-only, or read into
 * memory when the store has no descriptor. */
struct scp_qr_file {
	blob_reader *br;
	void *map;                        /* mmap, or NULL */
	uint8_t *copy;                    /* pc_malloc'd, or NULL */
	const uint8_t *p;                 /* the Part 10 file */
	size_t n;
	size_t data_off;                  /* where its data set starts */
};

void scp__retrieve_init(struct scp_retrieve *r, struct scp_assoc *a,
			const struct dimse_cmd *rq, uint8_t pc_id,
			const char *what, struct pc_err *err);
void scp__retrieve_cleanup(struct scp_retrieve *r);
/* Reads the identifier and checks it against the model (`patient_root`)
 * and PS3.4 C.4.2.2.1. PC_OK with *status 0, or with *status the refusal
 * (A900, A700, C000) and `comment` to answer with; any other return: the
 * association broke. */
enum pc_status scp__retrieve_read(struct scp_retrieve *r, bool patient_root,
				  uint16_t *status,
				  char comment[DIMSE_COMMENT_MAX + 1]);
/* Fills r->items from the index and starts counting (remaining = all).
 * PC_OK, or *status A701 (too many) / C000 (index failure) to refuse. */
enum pc_status scp__retrieve_resolve(struct scp_retrieve *r,
				     uint16_t *status,
				     char comment[DIMSE_COMMENT_MAX + 1]);
/* Counts sub-operation `i` as done with the C-STORE status `store_status`
 * (PS3.7 C: success, warning or failure); a sub-operation that could not
 * be attempted is counted with DIMSE_PROCESSING_FAILURE. */
void scp__retrieve_count(struct scp_retrieve *r, size_t i,
			 uint16_t store_status);
/* Sends a Pending response with the counts (PS3.4 C.4.2.1.6-9). */
enum pc_status scp__retrieve_pending(struct scp_retrieve *r);
/* Between sub-operations: looks for the request's C-CANCEL-RQ (or a
 * release or abort of the peer) and sets *stop. PC_IO when the peer
 * aborted; other errors: the association broke. */
enum pc_status scp__retrieve_poll(struct scp_retrieve *r, bool *stop);
/* Refuses the request before any sub-operation (A801, A900, A70x, Cxxx)
 * with `comment`, and logs it. */
enum pc_status scp__retrieve_refuse(struct scp_retrieve *r, uint16_t status,
				    const char *comment);
/* Sends the final response: Cancel when r->cancelled, else Success,
 * Warning (B000) or, when every sub-operation failed, A702 (PS3.4
 * C.4.2.2.1: Failure or Refused) with `comment` (NULL: one counting
 * the failures); with the Failed SOP
 * Instance UID List when some failed. Logs the request's one line. A
 * release the peer asked for meanwhile is answered, and PC_STOP returned
 * (the association is over). */
enum pc_status scp__retrieve_finish(struct scp_retrieve *r,
				    const char *comment);
/* Opens and maps one stored instance; *f is zeroed first. */
enum pc_status scp__qr_file_open(blob_store *bs, const struct scp_qr_item *it,
				 struct scp_qr_file *f, struct pc_err *err);
void scp__qr_file_close(struct scp_qr_file *f);

/*
 * Fills the response to `rq` that every handler sends: command field,
 * message id being responded to, affected SOP class (and instance when the
 * request had one), no data set, `status`.
 */
void scp__response(const struct dimse_cmd *rq, uint16_t status,
		   struct dimse_cmd *rsp);

#endif
