/*
 * cmd.c - DIMSE command sets (PS3.7 6.3, 9.3, E.1): group 0000 elements in
 * Implicit VR Little Endian, ascending tag order, CommandGroupLength
 * (0000,0000) first. A table names every field we read or write so that
 * the encoder and the decoder cannot disagree on a tag or a VR.
 */
#include "dimse.h"

#include <stddef.h>
#include <string.h>

enum kind { K_UI, K_AE, K_LO, K_US, K_AT };

struct field {
	uint16_t elem;       /* (0000,elem) */
	enum kind kind;
	uint32_t bit;        /* enum dimse_field, 0 = always written */
	size_t off;          /* offset of the value in struct dimse_cmd */
	size_t max;          /* string fields: capacity without the NUL */
};

#define STR(e, k, b, m) {e, k, b, offsetof(struct dimse_cmd, m), \
			 sizeof(((struct dimse_cmd *)0)->m) - 1}
#define U16(e, b, m) {e, K_US, b, offsetof(struct dimse_cmd, m), 0}

/* Ascending by element: the encoding order (PS3.5 7.1). */
static const struct field fields[] = {
	STR(0x0002, K_UI, DIMSE_F_AFFECTED_CLASS, affected_class),
	STR(0x0003, K_UI, DIMSE_F_REQUESTED_CLASS, requested_class),
	U16(0x0100, 0, command),
	U16(0x0110, DIMSE_F_MESSAGE_ID, message_id),
	U16(0x0120, DIMSE_F_MESSAGE_ID_RSP, message_id_rsp),
	STR(0x0600, K_AE, DIMSE_F_MOVE_DEST, move_dest),
	U16(0x0700, DIMSE_F_PRIORITY, priority),
	U16(0x0800, 0, data_set_type),
	U16(0x0900, DIMSE_F_STATUS, status),
	{0x0901, K_AT, DIMSE_F_OFFENDING, offsetof(struct dimse_cmd, offending),
	 0},
	STR(0x0902, K_LO, DIMSE_F_ERROR_COMMENT, error_comment),
	STR(0x1000, K_UI, DIMSE_F_AFFECTED_INSTANCE, affected_instance),
	STR(0x1001, K_UI, DIMSE_F_REQUESTED_INSTANCE, requested_instance),
	U16(0x1020, DIMSE_F_REMAINING, remaining),
	U16(0x1021, DIMSE_F_COMPLETED, completed),
	U16(0x1022, DIMSE_F_FAILED, failed),
	U16(0x1023, DIMSE_F_WARNING, warning),
	STR(0x1030, K_AE, DIMSE_F_MOVE_ORIG_AE, move_orig_ae),
	U16(0x1031, DIMSE_F_MOVE_ORIG_ID, move_orig_id),
};

static void put_le16(struct pc_buf *b, uint16_t v)
{
	uint8_t x[2] = {(uint8_t)v, (uint8_t)(v >> 8)};
	pc_buf_append(b, x, 2);
}

static void put_le32(struct pc_buf *b, uint32_t v)
{
	uint8_t x[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16),
			(uint8_t)(v >> 24)};
	pc_buf_append(b, x, 4);
}

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] | (unsigned)p[1] << 8);
}

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static void put_header(struct pc_buf *b, uint16_t elem, uint32_t len)
{
	put_le16(b, 0x0000);
	put_le16(b, elem);
	put_le32(b, len);
}

/* One element; strings padded to even length with NUL (UI) or space. */
static void put_field(struct pc_buf *b, const struct field *f,
		      const struct dimse_cmd *c)
{
	const char *base = (const char *)c + f->off;

	switch (f->kind) {
	case K_US: {
		uint16_t v;
		memcpy(&v, base, sizeof(v));
		put_header(b, f->elem, 2);
		put_le16(b, v);
		break;
	}
	case K_AT:
		put_header(b, f->elem, 4u * c->n_offending);
		for (size_t i = 0; i < c->n_offending && i < 8; i++) {
			put_le16(b, (uint16_t)(c->offending[i] >> 16));
			put_le16(b, (uint16_t)c->offending[i]);
		}
		break;
	default: {
		size_t n = strnlen(base, f->max);
		size_t padded = n + (n & 1);
		put_header(b, f->elem, (uint32_t)padded);
		pc_buf_append(b, base, n);
		if (padded != n)
			pc_buf_putc(b, f->kind == K_UI ? '\0' : ' ');
		break;
	}
	}
}

void dimse_cmd_encode(const struct dimse_cmd *c, struct pc_buf *out)
{
	size_t start = out->n;

	/* The group length's value is patched once the rest is written. */
	put_header(out, 0x0000, 4);
	put_le32(out, 0);
	for (size_t i = 0; i < sizeof(fields) / sizeof(*fields); i++) {
		const struct field *f = &fields[i];
		if (f->bit == 0 || (c->present & f->bit) != 0)
			put_field(out, f, c);
	}
	if (pc_buf_status(out) != PC_OK)
		return;
	uint32_t len = (uint32_t)(out->n - start - 12);
	uint8_t *p = (uint8_t *)out->p + start + 8;
	p[0] = (uint8_t)len;
	p[1] = (uint8_t)(len >> 8);
	p[2] = (uint8_t)(len >> 16);
	p[3] = (uint8_t)(len >> 24);
}

static const struct field *find_field(uint16_t elem)
{
	for (size_t i = 0; i < sizeof(fields) / sizeof(*fields); i++)
		if (fields[i].elem == elem)
			return &fields[i];
	return NULL;
}

/* Copies a string value without its padding (PS3.5 6.2: trailing spaces
 * and, for UI, the trailing NUL; AE titles also lose leading spaces). */
static enum pc_status get_string(const struct field *f, const uint8_t *v,
				 uint32_t len, struct dimse_cmd *out,
				 size_t off, struct pc_err *err)
{
	size_t a = 0, b = len;

	while (b > a && (v[b - 1] == ' ' || v[b - 1] == '\0'))
		b--;
	if (f->kind == K_AE)
		while (a < b && v[a] == ' ')
			a++;
	if (b - a > f->max)
		return pc_err_set(err, PC_PARSE, off,
				  "(0000,%04X) at offset %zu: value of %zu bytes "
				  "longer than %zu", f->elem, off, b - a,
				  f->max);
	if (memchr(v + a, '\0', b - a) != NULL)
		return pc_err_set(err, PC_PARSE, off,
				  "(0000,%04X) at offset %zu: NUL inside the "
				  "value", f->elem, off);
	char *dst = (char *)out + f->off;
	memcpy(dst, v + a, b - a);
	dst[b - a] = '\0';
	return PC_OK;
}

enum pc_status dimse_cmd_decode(const uint8_t *p, size_t n,
				struct dimse_cmd *out, struct pc_err *err)
{
	size_t pos = 0;
	bool have_command = false, have_type = false;

	memset(out, 0, sizeof(*out));
	while (pos < n) {
		if (n - pos < 8)
			return pc_err_set(err, PC_PARSE, pos,
					  "command set: element header at offset "
					  "%zu runs past the end", pos);
		uint16_t group = rd16(p + pos);
		uint16_t elem = rd16(p + pos + 2);
		uint32_t len = rd32(p + pos + 4);
		if (group != 0x0000)
			return pc_err_set(err, PC_PARSE, pos,
					  "command set: (%04X,%04X) at offset "
					  "%zu is outside group 0000",
					  group, elem, pos);
		if (len > n - pos - 8)
			return pc_err_set(err, PC_PARSE, pos,
					  "(0000,%04X) at offset %zu: length %u "
					  "runs past the end (%zu bytes left)",
					  elem, pos, len, n - pos - 8);
		const uint8_t *v = p + pos + 8;
		const struct field *f = find_field(elem);
		if (f != NULL) {
			enum pc_status st = PC_OK;
			switch (f->kind) {
			case K_US:
				if (len != 2)
					return pc_err_set(
						err, PC_PARSE, pos,
						"(0000,%04X) at offset %zu: "
						"US of length %u", elem, pos,
						len);
				uint16_t u = rd16(v);
				memcpy((char *)out + f->off, &u, sizeof(u));
				break;
			case K_AT:
				if (len % 4 != 0 || len / 4 > 8)
					return pc_err_set(
						err, PC_PARSE, pos,
						"(0000,%04X) at offset %zu: "
						"AT of length %u", elem, pos,
						len);
				out->n_offending = (uint8_t)(len / 4);
				for (uint32_t i = 0; i < len / 4; i++)
					out->offending[i] =
						(uint32_t)rd16(v + 4 * i) << 16 |
						rd16(v + 4 * i + 2);
				break;
			default:
				st = get_string(f, v, len, out, pos, err);
				break;
			}
			if (st != PC_OK)
				return st;
			out->present |= f->bit;
			have_command |= elem == 0x0100;
			have_type |= elem == 0x0800;
		}
		pos += 8 + (size_t)len;
	}
	if (!have_command || !have_type)
		return pc_err_set(err, PC_PARSE, 0,
				  "command set without %s",
				  have_command ? "Command Data Set Type "
						 "(0000,0800)"
					       : "Command Field (0000,0100)");
	return PC_OK;
}

const char *dimse_command_name(uint16_t command)
{
	switch (command) {
	case DIMSE_C_STORE_RQ: return "C-STORE-RQ";
	case DIMSE_C_STORE_RSP: return "C-STORE-RSP";
	case DIMSE_C_GET_RQ: return "C-GET-RQ";
	case DIMSE_C_GET_RSP: return "C-GET-RSP";
	case DIMSE_C_FIND_RQ: return "C-FIND-RQ";
	case DIMSE_C_FIND_RSP: return "C-FIND-RSP";
	case DIMSE_C_MOVE_RQ: return "C-MOVE-RQ";
	case DIMSE_C_MOVE_RSP: return "C-MOVE-RSP";
	case DIMSE_C_ECHO_RQ: return "C-ECHO-RQ";
	case DIMSE_C_ECHO_RSP: return "C-ECHO-RSP";
	case DIMSE_C_CANCEL_RQ: return "C-CANCEL-RQ";
	default: return "unknown";
	}
}
