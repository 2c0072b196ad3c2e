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
/* scp_find.c */
enum pc_status scp__find(struct scp_assoc *a, const struct dimse_cmd *cmd,
			 uint8_t pc_id, struct pc_err *err);
/* scp_move.c / scp_get.c: C-MOVE and C-GET (PS3.4 C.4.2, C.4.3). */
enum pc_status scp__move(struct scp_assoc *a, const struct dimse_cmd *cmd,
			 uint8_t pc_id, struct pc_err *err);
enum pc_status scp__get(struct scp_assoc *a, const struct dimse_cmd *cmd,
			uint8_t pc_id, struct pc_err *err);

/*
 * Fills the response to `rq` that every handler sends: command field,
 * message id being responded to, affected SOP class (and instance when the
 * request had one), no data set, `status`.
 */
void scp__response(const struct dimse_cmd *rq, uint16_t status,
		   struct dimse_cmd *rsp);

#endif
