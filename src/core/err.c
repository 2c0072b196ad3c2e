/* err.c - status names and the caller-owned error detail. */
#include "pc.h"

#include <stdio.h>
#include <string.h>

static const char *const status_text[] = {
#define PC__TEXT(name, text) text,
	PC_STATUS_MAP(PC__TEXT)
#undef PC__TEXT
};

static const char *const status_name[] = {
#define PC__NAME(name, text) #name,
	PC_STATUS_MAP(PC__NAME)
#undef PC__NAME
};

const char *pc_status_text(enum pc_status st)
{
	if ((unsigned)st >= PC_STATUS_COUNT)
		return "unknown status";
	return status_text[st];
}

const char *pc_status_name(enum pc_status st)
{
	if ((unsigned)st >= PC_STATUS_COUNT)
		return "UNKNOWN";
	return status_name[st];
}

enum pc_status pc_err_set(struct pc_err *err, enum pc_status st,
			  uint64_t offset, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || err->status != PC_OK)
		return st;
	err->status = st;
	err->offset = offset;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return st;
}

enum pc_status pc_err_vsetp(struct pc_err *err, enum pc_status st,
			    uint64_t offset, const char *prefix,
			    const char *fmt, va_list ap)
{
	char msg[sizeof(err->msg)];

	if (err == NULL || err->status != PC_OK)
		return st;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	return pc_err_set(err, st, offset, "%s: %s", prefix, msg);
}

void pc_err_clear(struct pc_err *err)
{
	if (err == NULL)
		return;
	err->status = PC_OK;
	err->offset = 0;
	err->msg[0] = '\0';
}
