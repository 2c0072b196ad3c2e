/*
 * test_dimse_cmd.c - DIMSE command sets (src/net/cmd.c): the bytes of a
 * C-ECHO-RQ as PS3.7 lays it out, round trips of every field, malformed
 * input.
 */
#include "net/dimse.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <string.h>

/* A C-ECHO-RQ as dcmtk's echoscu sends it (PS3.7 9.3.5.1). */
static const uint8_t echo_rq[] = {
	0x00, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x38, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x02, 0x00, 0x12, 0x00, 0x00, 0x00, '1', '.', '2', '.',
	'8', '4', '0', '.', '1', '0', '0', '0', '8', '.', '1', '.', '1', 0x00,
	0x00, 0x00, 0x00, 0x01, 0x02, 0x00, 0x00, 0x00, 0x30, 0x00,
	0x00, 0x00, 0x10, 0x01, 0x02, 0x00, 0x00, 0x00, 0x01, 0x00,
	0x00, 0x00, 0x00, 0x08, 0x02, 0x00, 0x00, 0x00, 0x01, 0x01,
};

static void test_echo_bytes(void **state)
{
	(void)state;
	struct dimse_cmd c;
	struct pc_err err = {0};

	assert_int_equal(dimse_cmd_decode(echo_rq, sizeof(echo_rq), &c, &err),
			 PC_OK);
	assert_int_equal(c.command, DIMSE_C_ECHO_RQ);
	assert_string_equal(c.affected_class, "1.2.840.10008.1.1");
	assert_int_equal(c.message_id, 1);
	assert_false(dimse_cmd_has_data(&c));
	assert_true(c.present & DIMSE_F_MESSAGE_ID);
	assert_false(c.present & DIMSE_F_STATUS);

	/* Our encoder writes the same bytes. */
	struct pc_buf b = PC_BUF_INIT;
	dimse_cmd_encode(&c, &b);
	assert_int_equal(pc_buf_status(&b), PC_OK);
	assert_int_equal(b.n, sizeof(echo_rq));
	assert_memory_equal(b.p, echo_rq, sizeof(echo_rq));
	pc_buf_cleanup(&b);
	assert_string_equal(dimse_command_name(c.command), "C-ECHO-RQ");
}

static void test_round_trip_all_fields(void **state)
{
	(void)state;
	struct dimse_cmd c = {0}, d;
	struct pc_buf b = PC_BUF_INIT;

	c.command = DIMSE_C_MOVE_RSP;
	c.data_set_type = DIMSE_NO_DATA_SET;
	c.present = DIMSE_F_AFFECTED_CLASS | DIMSE_F_MESSAGE_ID_RSP |
		    DIMSE_F_STATUS | DIMSE_F_ERROR_COMMENT |
		    DIMSE_F_REMAINING | DIMSE_F_COMPLETED | DIMSE_F_FAILED |
		    DIMSE_F_WARNING | DIMSE_F_AFFECTED_INSTANCE |
		    DIMSE_F_MOVE_DEST | DIMSE_F_MOVE_ORIG_AE |
		    DIMSE_F_MOVE_ORIG_ID | DIMSE_F_OFFENDING;
	memcpy(c.affected_class, "1.2.840.10008.5.1.4.1.2.2.2", 28);
	memcpy(c.affected_instance, "1.2.3", 6);
	memcpy(c.move_dest, "DEST", 5);
	memcpy(c.move_orig_ae, "ODD", 4);
	memcpy(c.error_comment, "one failed", 11);
	c.message_id_rsp = 42;
	c.status = DIMSE_WARNING_SUBOPS;
	c.remaining = 0;
	c.completed = 9;
	c.failed = 1;
	c.warning = 2;
	c.move_orig_id = 7;
	c.offending[0] = 0x00100010;
	c.offending[1] = 0x0020000D;
	c.n_offending = 2;
	dimse_cmd_encode(&c, &b);
	assert_int_equal(pc_buf_status(&b), PC_OK);
	/* Even lengths everywhere (PS3.5 7.1.1). */
	assert_int_equal(b.n % 2, 0);
	assert_int_equal(dimse_cmd_decode((uint8_t *)b.p, b.n, &d, NULL),
			 PC_OK);
	assert_int_equal(d.present, c.present);
	assert_int_equal(d.command, c.command);
	assert_string_equal(d.affected_class, c.affected_class);
	assert_string_equal(d.affected_instance, c.affected_instance);
	assert_string_equal(d.move_dest, "DEST");
	assert_string_equal(d.move_orig_ae, "ODD");
	assert_string_equal(d.error_comment, "one failed");
	assert_int_equal(d.status, DIMSE_WARNING_SUBOPS);
	assert_int_equal(d.completed, 9);
	assert_int_equal(d.failed, 1);
	assert_int_equal(d.warning, 2);
	assert_int_equal(d.move_orig_id, 7);
	assert_int_equal(d.n_offending, 2);
	assert_int_equal(d.offending[1], 0x0020000D);
	pc_buf_cleanup(&b);
}

static void test_malformed(void **state)
{
	(void)state;
	struct dimse_cmd c;
	struct pc_err err = {0};
	uint8_t buf[sizeof(echo_rq)];

	/* Every truncation inside an element is refused. */
	for (size_t cut = 1; cut < sizeof(echo_rq); cut++)
		assert_int_not_equal(dimse_cmd_decode(echo_rq, cut, &c, NULL),
				     PC_OK);
	/* A US of length 4. */
	memcpy(buf, echo_rq, sizeof(buf));
	buf[42] = 4;
	assert_int_equal(dimse_cmd_decode(buf, sizeof(buf), &c, &err),
			 PC_PARSE);
	/* An element outside group 0000. */
	memcpy(buf, echo_rq, sizeof(buf));
	buf[38] = 0x08;
	pc_err_clear(&err);
	assert_int_equal(dimse_cmd_decode(buf, sizeof(buf), &c, &err),
			 PC_PARSE);
	assert_non_null(strstr(err.msg, "outside group 0000"));
	/* A length running past the end. */
	memcpy(buf, echo_rq, sizeof(buf));
	buf[16] = 0xff;
	assert_int_equal(dimse_cmd_decode(buf, sizeof(buf), &c, NULL),
			 PC_PARSE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_echo_bytes),
		cmocka_unit_test(test_round_trip_all_fields),
		cmocka_unit_test(test_malformed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
