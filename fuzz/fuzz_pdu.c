/*
 * fuzz_pdu.c - the upper-layer PDU decoder (src/net/pdu.c) on arbitrary
 * bytes: one PDU with its 6-byte header. Every decoded A-ASSOCIATE is
 * encoded again and re-decoded; the second decode must succeed and agree
 * with the first, so encoder and decoder are checked against each other.
 */
#include "net/dimse.h"
#include "net/dul.h"

#include <stdlib.h>
#include <string.h>

static void check_assoc(uint8_t type, const struct dul_assoc *a)
{
	struct pc_buf b = PC_BUF_INIT;
	pc_arena *arena = pc_arena_create(4096);
	struct dul_assoc back;

	if (arena == NULL)
		abort();
	dul_assoc_encode(type, a, &b);
	if (pc_buf_status(&b) != PC_OK)
		goto out; /* an over-long item: refused, not wrapped */
	uint8_t t;
	uint32_t len;
	const uint8_t *p = (const uint8_t *)b.p;
	if (dul_pdu_header(p, &t, &len, 0, NULL) != PC_OK || t != type ||
	    len != b.n - DUL_PDU_HEADER_LEN)
		abort();
	if (dul_assoc_decode(t, p + DUL_PDU_HEADER_LEN, len, arena, &back,
			     NULL) != PC_OK)
		abort();
	if (back.n_pcs != a->n_pcs || back.n_roles != a->n_roles ||
	    back.n_ext != a->n_ext || back.max_pdu != a->max_pdu ||
	    strcmp(back.called_ae, a->called_ae) != 0 ||
	    strcmp(back.calling_ae, a->calling_ae) != 0)
		abort();
	for (size_t i = 0; i < a->n_pcs; i++)
		if (back.pcs[i].id != a->pcs[i].id ||
		    back.pcs[i].n_ts != a->pcs[i].n_ts)
			abort();
out:
	pc_buf_cleanup(&b);
	pc_arena_destroy(arena);
}

static void check_command(struct pc_span data)
{
	struct dimse_cmd c, back;
	struct pc_buf b = PC_BUF_INIT;

	if (dimse_cmd_decode(data.p, data.n, &c, NULL) != PC_OK)
		return;
	dimse_cmd_encode(&c, &b);
	if (pc_buf_status(&b) != PC_OK)
		abort();
	if (dimse_cmd_decode((const uint8_t *)b.p, b.n, &back, NULL) != PC_OK)
		abort();
	if (back.command != c.command || back.present != c.present ||
	    back.data_set_type != c.data_set_type ||
	    back.message_id != c.message_id || back.status != c.status ||
	    strcmp(back.affected_class, c.affected_class) != 0 ||
	    strcmp(back.affected_instance, c.affected_instance) != 0 ||
	    strcmp(back.move_dest, c.move_dest) != 0 ||
	    strcmp(back.error_comment, c.error_comment) != 0)
		abort();
	pc_buf_cleanup(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t type;
	uint32_t len;

	if (size < DUL_PDU_HEADER_LEN)
		return 0;
	if (dul_pdu_header(data, &type, &len, 1u << 20, NULL) != PC_OK)
		return 0;
	const uint8_t *body = data + DUL_PDU_HEADER_LEN;
	size_t n = size - DUL_PDU_HEADER_LEN;
	if (len < n)
		n = len; /* trailing bytes would be the next PDU */

	switch (type) {
	case DUL_PDU_ASSOCIATE_RQ:
	case DUL_PDU_ASSOCIATE_AC: {
		pc_arena *arena = pc_arena_create(4096);
		struct dul_assoc a;
		if (arena == NULL)
			abort();
		if (dul_assoc_decode(type, body, n, arena, &a, NULL) == PC_OK)
			check_assoc(type, &a);
		pc_arena_destroy(arena);
		break;
	}
	case DUL_PDU_ASSOCIATE_RJ: {
		struct dul_reject rj;
		if (dul_reject_decode(body, n, &rj, NULL) == PC_OK && rj.result > 2)
			break; /* reported by the caller; nothing to check */
		break;
	}
	case DUL_PDU_ABORT: {
		struct dul_abort ab;
		if (dul_abort_decode(body, n, &ab, NULL) == PC_OK && ab.source > 2)
			break;
		break;
	}
	case DUL_PDU_P_DATA_TF: {
		size_t pos = 0;
		struct dul_pdv pdv;
		size_t total = 0;
		while (dul_pdv_next(body, n, &pos, &pdv, NULL) == PC_OK) {
			/* Touch every byte the decoder hands out. */
			for (size_t i = 0; i < pdv.data.n; i++)
				total += pdv.data.p[i];
			if (pdv.command)
				check_command(pdv.data);
		}
		(void)total;
		break;
	}
	default:
		break;
	}
	return 0;
}
