/*
 * test_pdu.c - upper-layer PDUs (src/net/pdu.c): real A-ASSOCIATE-RQs
 * captured from dcmtk's echoscu, findscu and getscu, round trips through
 * the encoder, and malformed input.
 */
#include "net/dul.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint8_t *load(const char *name, size_t *n)
{
	char path[512];
	const char *src = getenv("PACSD_SOURCE_DIR");

	snprintf(path, sizeof(path), "%s/fuzz/corpus/pdu/%s",
		 src ? src : ".", name);
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	uint8_t *buf = malloc(1 << 20);
	assert_non_null(buf);
	*n = fread(buf, 1, 1 << 20, f);
	fclose(f);
	return buf;
}

static void decode_file(const char *name, pc_arena *arena,
			struct dul_assoc *a)
{
	size_t n;
	uint8_t *buf = load(name, &n);
	uint8_t type;
	uint32_t len;
	struct pc_err err = {0};

	assert_int_equal(dul_pdu_header(buf, &type, &len, 0, &err), PC_OK);
	assert_int_equal(type, DUL_PDU_ASSOCIATE_RQ);
	assert_int_equal(len, n - DUL_PDU_HEADER_LEN);
	assert_int_equal(dul_assoc_decode(type, buf + 6, len, arena, a, &err),
			 PC_OK);
	free(buf); /* decoded strings live in the arena */
}

static void test_echoscu(void **state)
{
	(void)state;
	pc_arena *arena = pc_arena_create(4096);
	struct dul_assoc a;

	decode_file("echoscu_rq.bin", arena, &a);
	assert_string_equal(a.called_ae, "YOU");
	assert_string_equal(a.calling_ae, "ME");
	assert_int_equal(a.protocol_version, 1);
	assert_string_equal(a.app_context, "1.2.840.10008.3.1.1.1");
	assert_int_equal(a.n_pcs, 1);
	assert_int_equal(a.pcs[0].id, 1);
	assert_string_equal(a.pcs[0].abstract_syntax, "1.2.840.10008.1.1");
	assert_true(a.pcs[0].n_ts >= 1);
	assert_int_equal(a.max_pdu, 16384);
	assert_non_null(a.impl_class_uid);
	/* dcmtk's implementation class UID root */
	assert_memory_equal(a.impl_class_uid, "1.2.276.0.7230010.3", 19);
	assert_non_null(a.impl_version);
	pc_arena_destroy(arena);
}

static void test_getscu_roles(void **state)
{
	(void)state;
	pc_arena *arena = pc_arena_create(4096);
	struct dul_assoc a;

	decode_file("getscu_rq.bin", arena, &a);
	/* getscu proposes the storage classes and asks for the SCP role on
	 * each (PS3.4 C.4.3.1): it must receive C-STORE sub-operations. */
	assert_true(a.n_pcs > 50);
	assert_true(a.n_roles > 50);
	for (size_t i = 0; i < a.n_roles; i++)
		assert_true(a.roles[i].scp);
	pc_arena_destroy(arena);
}

/* Encoding what was decoded and decoding it again changes nothing. */
static void test_round_trip(void **state)
{
	(void)state;
	const char *files[] = {"echoscu_rq.bin", "findscu_rq.bin",
			       "getscu_rq.bin", "storescu_rq.bin"};

	for (size_t f = 0; f < sizeof(files) / sizeof(*files); f++) {
		pc_arena *arena = pc_arena_create(4096);
		struct dul_assoc a, b;
		struct pc_buf out = PC_BUF_INIT;

		decode_file(files[f], arena, &a);
		dul_assoc_encode(DUL_PDU_ASSOCIATE_RQ, &a, &out);
		assert_int_equal(pc_buf_status(&out), PC_OK);
		assert_int_equal(dul_assoc_decode(DUL_PDU_ASSOCIATE_RQ,
						  (uint8_t *)out.p + 6,
						  out.n - 6, arena, &b, NULL),
				 PC_OK);
		assert_int_equal(b.n_pcs, a.n_pcs);
		for (size_t i = 0; i < a.n_pcs; i++) {
			assert_int_equal(b.pcs[i].id, a.pcs[i].id);
			assert_string_equal(b.pcs[i].abstract_syntax,
					    a.pcs[i].abstract_syntax);
			assert_int_equal(b.pcs[i].n_ts, a.pcs[i].n_ts);
			for (size_t t = 0; t < a.pcs[i].n_ts; t++)
				assert_string_equal(b.pcs[i].ts[t],
						    a.pcs[i].ts[t]);
		}
		assert_int_equal(b.n_roles, a.n_roles);
		assert_string_equal(b.impl_class_uid, a.impl_class_uid);
		assert_int_equal(b.max_pdu, a.max_pdu);
		pc_buf_cleanup(&out);
		pc_arena_destroy(arena);
	}
}

static void test_ac_encode(void **state)
{
	(void)state;
	const char *ts = "1.2.840.10008.1.2.1";
	struct dul_pc pcs[2] = {
		{1, DUL_PC_ACCEPTANCE, NULL, &ts, 1},
		{3, DUL_PC_ABSTRACT_SYNTAX_NOT_SUPPORTED, NULL, NULL, 0},
	};
	struct dul_assoc a = {0};
	struct pc_buf out = PC_BUF_INIT;
	pc_arena *arena = pc_arena_create(4096);
	struct dul_assoc b;

	memcpy(a.called_ae, "PACSD", 6);
	memcpy(a.calling_ae, "STORESCU", 9);
	a.pcs = pcs;
	a.n_pcs = 2;
	a.max_pdu = 65536;
	a.impl_class_uid = "1.2.3.4";
	dul_assoc_encode(DUL_PDU_ASSOCIATE_AC, &a, &out);
	assert_int_equal(pc_buf_status(&out), PC_OK);
	assert_int_equal(dul_assoc_decode(DUL_PDU_ASSOCIATE_AC,
					  (uint8_t *)out.p + 6, out.n - 6,
					  arena, &b, NULL),
			 PC_OK);
	assert_int_equal(b.n_pcs, 2);
	assert_int_equal(b.pcs[0].result, DUL_PC_ACCEPTANCE);
	assert_string_equal(b.pcs[0].ts[0], ts);
	assert_int_equal(b.pcs[1].result,
			 DUL_PC_ABSTRACT_SYNTAX_NOT_SUPPORTED);
	assert_int_equal(b.pcs[1].n_ts, 0);
	assert_string_equal(b.calling_ae, "STORESCU");
	assert_int_equal(b.max_pdu, 65536);
	pc_buf_cleanup(&out);
	pc_arena_destroy(arena);
}

static void test_small_pdus(void **state)
{
	(void)state;
	struct pc_buf out = PC_BUF_INIT;
	struct dul_reject rj = {1, 1, 3}, rj2;
	struct dul_abort ab = {2, 1}, ab2;

	dul_reject_encode(&rj, &out);
	assert_int_equal(out.n, 10);
	assert_int_equal(dul_reject_decode((uint8_t *)out.p + 6, 4, &rj2, NULL),
			 PC_OK);
	assert_int_equal(rj2.result, 1);
	assert_int_equal(rj2.reason, 3);
	pc_buf_reset(&out);
	dul_abort_encode(&ab, &out);
	assert_int_equal(dul_abort_decode((uint8_t *)out.p + 6, 4, &ab2, NULL),
			 PC_OK);
	assert_int_equal(ab2.source, 2);
	assert_int_equal(ab2.reason, 1);
	assert_int_not_equal(dul_abort_decode((uint8_t *)out.p + 6, 3, &ab2,
					      NULL),
			     PC_OK);

	/* A P-DATA-TF with one command PDV: header written, data appended. */
	pc_buf_reset(&out);
	dul_pdata_header_encode(5, true, true, 3, &out);
	pc_buf_append(&out, "abc", 3);
	uint8_t type;
	uint32_t len;
	assert_int_equal(dul_pdu_header((uint8_t *)out.p, &type, &len, 0, NULL),
			 PC_OK);
	assert_int_equal(type, DUL_PDU_P_DATA_TF);
	assert_int_equal(len, out.n - 6);
	size_t pos = 0;
	struct dul_pdv pdv;
	assert_int_equal(dul_pdv_next((uint8_t *)out.p + 6, len, &pos, &pdv,
				      NULL),
			 PC_OK);
	assert_int_equal(pdv.pc_id, 5);
	assert_true(pdv.command);
	assert_true(pdv.last);
	assert_memory_equal(pdv.data.p, "abc", 3);
	assert_int_equal(dul_pdv_next((uint8_t *)out.p + 6, len, &pos, &pdv,
				      NULL),
			 PC_STOP);
	pc_buf_cleanup(&out);
}

static void test_malformed(void **state)
{
	(void)state;
	size_t n;
	uint8_t *buf = load("echoscu_rq.bin", &n);
	pc_arena *arena = pc_arena_create(4096);
	struct dul_assoc a;
	struct pc_err err = {0};
	uint8_t type;
	uint32_t len;

	/* Header checks: unknown type, length over the maximum. */
	uint8_t bad[6] = {0x09, 0, 0, 0, 0, 4};
	assert_int_equal(dul_pdu_header(bad, &type, &len, 0, &err), PC_PARSE);
	uint8_t big[6] = {0x04, 0, 0x7f, 0xff, 0xff, 0xff};
	assert_int_equal(dul_pdu_header(big, &type, &len, 16384, NULL),
			 PC_LIMIT);

	/* Every truncation of a valid RQ is refused, never read past. */
	for (size_t cut = 0; cut < n - 6; cut++) {
		uint8_t *copy = malloc(cut ? cut : 1);
		memcpy(copy, buf + 6, cut);
		enum pc_status st = dul_assoc_decode(
			DUL_PDU_ASSOCIATE_RQ, copy, cut, arena, &a, NULL);
		/* Cutting exactly between items can leave a valid PDU. */
		if (st == PC_OK)
			assert_true(cut >= 68);
		free(copy);
	}

	/* An even presentation context id (PS3.8 9.3.2.2). */
	size_t pc_at = 0;
	for (size_t i = 6 + 68; i < n; i++)
		if (buf[i] == 0x20) {
			pc_at = i;
			break;
		}
	assert_true(pc_at > 0);
	buf[pc_at + 4] = 2;
	pc_err_clear(&err);
	assert_int_equal(dul_assoc_decode(DUL_PDU_ASSOCIATE_RQ, buf + 6, n - 6,
					  arena, &a, &err),
			 PC_PARSE);
	assert_non_null(strstr(err.msg, "not odd"));
	free(buf);
	pc_arena_destroy(arena);
}

/* Every allocation failure is reported, never a crash. */
static void test_alloc_failures(void **state)
{
	(void)state;
	size_t n;
	uint8_t *buf = load("getscu_rq.bin", &n);

	for (uint64_t k = 1;; k++) {
		pc_arena *arena = pc_arena_create(256);
		if (arena == NULL)
			continue;
		struct dul_assoc a;
		pc_alloc_fail_after(k);
		enum pc_status st = dul_assoc_decode(
			DUL_PDU_ASSOCIATE_RQ, buf + 6, n - 6, arena, &a, NULL);
		pc_alloc_fail_after(0);
		pc_arena_destroy(arena);
		if (st == PC_OK)
			break;
		assert_int_equal(st, PC_NOMEM);
	}
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_echoscu),
		cmocka_unit_test(test_getscu_roles),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_ac_encode),
		cmocka_unit_test(test_small_pdus),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_alloc_failures),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
