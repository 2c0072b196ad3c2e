/*
 * scu.c - the DIMSE service user (stub, being written).
 */
#include "scu.h"

scu_session *scu_open(const struct scu_peer *peer,
		      const struct scu_context *ctx, size_t n_ctx,
		      struct pc_err *err)
{
	(void)peer;
	(void)ctx;
	(void)n_ctx;
	pc_err_set(err, PC_UNSUPPORTED, 0, "scu_open: not implemented");
	return NULL;
}

enum pc_status scu_close(scu_session *s, struct pc_err *err)
{
	(void)s;
	(void)err;
	return PC_OK;
}

void scu_abort(scu_session *s)
{
	(void)s;
}

uint8_t scu_context_for(const scu_session *s, const char *abstract_syntax,
			const char *ts)
{
	(void)s;
	(void)abstract_syntax;
	(void)ts;
	return 0;
}

enum pc_status scu_echo(scu_session *s, uint16_t *status, struct pc_err *err)
{
	(void)s;
	(void)status;
	return pc_err_set(err, PC_UNSUPPORTED, 0, "not implemented");
}

enum pc_status scu_store(scu_session *s, const uint8_t *data, size_t n,
			 const char *move_orig_ae, uint16_t move_orig_id,
			 uint16_t *status, struct pc_err *err)
{
	(void)s;
	(void)data;
	(void)n;
	(void)move_orig_ae;
	(void)move_orig_id;
	(void)status;
	return pc_err_set(err, PC_UNSUPPORTED, 0, "not implemented");
}

enum pc_status scu_storage_contexts(pc_arena *arena,
				    const struct pc_span *files, size_t n,
				    struct scu_context **out, size_t *n_out,
				    struct pc_err *err)
{
	(void)arena;
	(void)files;
	(void)n;
	*out = NULL;
	*n_out = 0;
	return pc_err_set(err, PC_UNSUPPORTED, 0, "not implemented");
}

enum pc_status scu_find(scu_session *s, const char *model,
			const uint8_t *identifier, size_t n,
			scu_match_fn fn, void *ctx, uint16_t *status,
			struct pc_err *err)
{
	(void)s;
	(void)model;
	(void)identifier;
	(void)n;
	(void)fn;
	(void)ctx;
	(void)status;
	return pc_err_set(err, PC_UNSUPPORTED, 0, "not implemented");
}

enum pc_status scu_move(scu_session *s, const char *model,
			const char *dest_ae, const uint8_t *identifier,
			size_t n, scu_progress_fn progress, void *ctx,
			struct dimse_cmd *final, struct pc_err *err)
{
	(void)s;
	(void)model;
	(void)dest_ae;
	(void)identifier;
	(void)n;
	(void)progress;
	(void)ctx;
	(void)final;
	return pc_err_set(err, PC_UNSUPPORTED, 0, "not implemented");
}

enum pc_status scu_get(scu_session *s, const char *model,
		       const uint8_t *identifier, size_t n,
		       scu_store_fn store, void *store_ctx,
		       scu_progress_fn progress, void *ctx,
		       struct dimse_cmd *final, struct pc_err *err)
{
	(void)s;
	(void)model;
	(void)identifier;
	(void)n;
	(void)store;
	(void)store_ctx;
	(void)progress;
	(void)ctx;
	(void)final;
	return pc_err_set(err, PC_UNSUPPORTED, 0, "not implemented");
}
