/*
 * pc.h - core services shared by every pacsd module: the status type, error
 * detail, byte spans, growable buffers, arenas, the allocator hook and logging.
 *
 * Invariants: nothing here aborts; every allocation goes through pc_malloc /
 * pc_realloc so that tests can make the n-th allocation fail and prove that
 * callers report PC_NOMEM instead of crashing.
 */
#ifndef PACSD_CORE_PC_H
#define PACSD_CORE_PC_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PC_WUR __attribute__((warn_unused_result))
#define PC_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))

/* One status type for the whole project (the libuv UV_ERRNO_MAP pattern). */
#define PC_STATUS_MAP(X)                                                       \
	X(OK, "success")                                                       \
	X(NOMEM, "out of memory")                                              \
	X(INVAL, "invalid argument")                                           \
	X(IO, "input/output error")                                            \
	X(PARSE, "malformed data")                                             \
	X(TRUNC, "truncated data")                                             \
	X(LIMIT, "limit exceeded")                                             \
	X(UNSUPPORTED, "unsupported")                                          \
	X(NOTFOUND, "not found")                                               \
	X(CHARSET, "character set error")                                      \
	X(STOP, "stopped by caller")

enum pc_status {
#define PC__ENUM(name, text) PC_##name,
	PC_STATUS_MAP(PC__ENUM)
#undef PC__ENUM
	PC_STATUS_COUNT
};

/* The status's short description ("truncated data"); never NULL. */
const char *pc_status_text(enum pc_status st);
/* The status's name ("TRUNC"); never NULL. */
const char *pc_status_name(enum pc_status st);

/*
 * Error detail filled by a callee, owned by the caller, and never allocated:
 * an out-of-memory error can be reported like any other. Every API taking a
 * `struct pc_err *` accepts NULL.
 */
struct pc_err {
	enum pc_status status;
	uint64_t offset;   /* byte offset in the input, when it applies */
	char msg[200];     /* full sentence, NUL-terminated, may be truncated */
};

/*
 * Records `st` and a formatted message in `err` (if non-NULL) and returns
 * `st`, so that callers can write `return pc_err_set(err, PC_PARSE, ...)`.
 * The first error wins: a later call does not overwrite an earlier one.
 */
enum pc_status pc_err_set(struct pc_err *err, enum pc_status st,
			  uint64_t offset, const char *fmt, ...) PC_PRINTF(4, 5);
/*
 * The same with a prefix naming where the error is ("(0010,0010)",
 * "--http", "config file x.json: \"http\""): the message becomes
 * "prefix: formatted text". For callers that wrap errors in context.
 */
enum pc_status pc_err_vsetp(struct pc_err *err, enum pc_status st,
			    uint64_t offset, const char *prefix,
			    const char *fmt, va_list ap) PC_PRINTF(5, 0);
void pc_err_clear(struct pc_err *err);

/* A borrowed run of bytes; passed by value. */
struct pc_span {
	const uint8_t *p;
	size_t n;
};
static inline struct pc_span pc_span_make(const void *p, size_t n)
{
	struct pc_span s = {(const uint8_t *)p, n};
	return s;
}

/* ---- allocator ---------------------------------------------------------- */

void *pc_malloc(size_t n) PC_WUR;
void *pc_calloc(size_t count, size_t size) PC_WUR;
void *pc_realloc(void *p, size_t n) PC_WUR;
void pc_free(void *p);
char *pc_strdup(const char *s) PC_WUR;

/*
 * Test hook: the n-th allocation from now on (1 = the next) and every one
 * after it fails; 0 switches failure injection off. Returns how many
 * allocations have been made since the last call, so a test can loop
 * n = 1..count to fail each one in turn. Not thread-safe: tests only.
 */
uint64_t pc_alloc_fail_after(uint64_t n);

/* ---- growable buffer ---------------------------------------------------- */

/*
 * A growable byte buffer that is always NUL-terminated when non-empty. Errors
 * are sticky (like stdio's ferror): appends after a failure do nothing, and
 * the caller checks pc_buf_status() once at the end. This keeps formatting
 * code (JSON, dumps) readable without a check after every append.
 */
struct pc_buf {
	char *p;          /* contents, NUL-terminated; NULL while empty */
	size_t n;         /* bytes used, excluding the NUL */
	size_t cap;       /* bytes allocated */
	size_t max;       /* 0 = unbounded; else appends past it fail with LIMIT */
	enum pc_status st;/* first failure, PC_OK while none */
};
#define PC_BUF_INIT {NULL, 0, 0, 0, PC_OK}

void pc_buf_init(struct pc_buf *b);
void pc_buf_cleanup(struct pc_buf *b);
/* Empties the buffer, keeps its memory and clears the sticky error. */
void pc_buf_reset(struct pc_buf *b);
void pc_buf_append(struct pc_buf *b, const void *p, size_t n);
void pc_buf_puts(struct pc_buf *b, const char *s);
void pc_buf_putc(struct pc_buf *b, char c);
void pc_buf_printf(struct pc_buf *b, const char *fmt, ...) PC_PRINTF(2, 3);
void pc_buf_vprintf(struct pc_buf *b, const char *fmt, va_list ap)
	PC_PRINTF(2, 0);
/* Makes room for `n` more bytes and returns where they go (or NULL). The
 * caller writes them and then calls pc_buf_commit(b, n). */
uint8_t *pc_buf_reserve(struct pc_buf *b, size_t n);
void pc_buf_commit(struct pc_buf *b, size_t n);
/* Drops bytes from the end. */
void pc_buf_truncate(struct pc_buf *b, size_t n);
enum pc_status pc_buf_status(const struct pc_buf *b) PC_WUR;
/* Contents as a C string; "" when empty. Valid until the next append. */
const char *pc_buf_str(const struct pc_buf *b);
/* Hands the contents to the caller (pc_free them) and empties the buffer. */
char *pc_buf_steal(struct pc_buf *b, size_t *len);

/* ---- arena -------------------------------------------------------------- */

/*
 * Bump allocator: many small allocations freed together. Used for parsed
 * datasets so that reading a file costs a handful of mallocs, not one per
 * element. Not thread-safe.
 */
typedef struct pc_arena pc_arena;

pc_arena *pc_arena_create(size_t chunk_size) PC_WUR;
void pc_arena_destroy(pc_arena *a);
/* Returns `n` bytes aligned for any type, or NULL on out of memory. */
void *pc_arena_alloc(pc_arena *a, size_t n) PC_WUR;
void *pc_arena_memdup(pc_arena *a, const void *p, size_t n) PC_WUR;
/* A NUL-terminated copy of the `n` bytes at `s` (which need not be
 * terminated), or NULL on out of memory. */
char *pc_arena_strndup(pc_arena *a, const char *s, size_t n) PC_WUR;
/* Bytes obtained from the system so far (for limits and metrics). */
size_t pc_arena_size(const pc_arena *a);

/* ---- checked arithmetic ------------------------------------------------- */

static inline bool pc_add_ok(size_t a, size_t b, size_t *out)
{
	return !__builtin_add_overflow(a, b, out);
}
static inline bool pc_mul_ok(size_t a, size_t b, size_t *out)
{
	return !__builtin_mul_overflow(a, b, out);
}

/* ---- URLs (url.c) ------------------------------------------------------- */

/*
 * Appends the percent-decoding of `n` bytes at `s` to `out`; with `form`,
 * '+' decodes to a space (query strings). PC_INVAL for a malformed escape
 * or an encoded NUL; `out` is NUL-terminated on success.
 */
enum pc_status pc_url_decode(const char *s, size_t n, bool form,
			     struct pc_buf *out, struct pc_err *err) PC_WUR;

/* Iterates over the "name=value" pairs of a raw query string. */
struct pc_qs {
	const char *p;
	const char *end;
};
static inline struct pc_qs pc_qs_make(const char *s, size_t n)
{
	struct pc_qs it = {s, s + n};
	return it;
}
/*
 * The next pair, still encoded: `name` and `value` are slices of the input
 * (value empty when there is no '='). Empty pairs ("a=1&&b=2") are
 * skipped. False at the end.
 */
bool pc_qs_next(struct pc_qs *it, struct pc_span *name, struct pc_span *value);

/* ---- logging ------------------------------------------------------------ */

enum pc_log_level { PC_LOG_DEBUG, PC_LOG_INFO, PC_LOG_WARN, PC_LOG_ERROR };

void pc_log_set_level(enum pc_log_level level);
/* One line to stderr: time, level, message. Thread-safe. */
void pc_log(enum pc_log_level level, const char *fmt, ...) PC_PRINTF(2, 3);

#endif
