/* scp_get.c - stub, being written. */
#include "net/net_int.h"

enum pc_status scp__get(struct scp_assoc *a, const struct dimse_cmd *cmd,
		       uint8_t pc_id, struct pc_err *err)
{
	(void)a;
	(void)cmd;
	(void)pc_id;
	return pc_err_set(err, PC_UNSUPPORTED, 0, "not written yet");
}
