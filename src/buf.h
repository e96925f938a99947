/*
 * buf.h - a growable byte buffer with a cap, after curl's dynbuf.
 *
 * Every buffer fed by the outside world has a cap: appending past it fails
 * with LC_ETOOBIG and appends nothing, so the contents stay what they were.
 * data is NUL-terminated whenever it is not NULL; len does not count the NUL.
 *
 * The caller owns the struct (init/release); the buffer owns data until
 * lc_buf_take() hands it over. The functions here set no error message: the
 * caller knows what was too big and says so.
 */
#ifndef LC_BUF_H
#define LC_BUF_H

#include <stdarg.h>
#include <stddef.h>

typedef struct lc_buf {
	char *data; /* NULL until the first append; NUL-terminated after */
	size_t len; /* bytes in data, NUL not counted */
	size_t cap; /* bytes allocated for data */
	size_t max; /* largest len allowed */
} lc_buf;

#define LC_BUF_INIT(max_bytes)                                                                     \
	{                                                                                          \
		NULL, 0, 0, (max_bytes)                                                            \
	}

/* Empty buffer that holds at most max bytes. Allocates nothing. */
void lc_buf_init(lc_buf *b, size_t max);

/* Free data; the buffer is empty with the same cap afterwards. NULL is fine. */
void lc_buf_release(lc_buf *b);

/* len = 0, keep the allocation. */
void lc_buf_reset(lc_buf *b);

/* Shorten to len bytes (len <= b->len). */
void lc_buf_truncate(lc_buf *b, size_t len);

/*
 * Make room for extra more bytes. Returns 0, LC_ETOOBIG when len + extra
 * would pass the cap, LC_ENOMEM when allocation fails.
 */
int lc_buf_grow(lc_buf *b, size_t extra);

/* Append n bytes. Errors as lc_buf_grow(); on error nothing is appended. */
int lc_buf_add(lc_buf *b, const void *data, size_t n);

/* Append a NUL-terminated string. */
int lc_buf_adds(lc_buf *b, const char *s);

/* Append one byte. */
int lc_buf_addc(lc_buf *b, char c);

/* Append printf-formatted text. On error nothing is appended. */
int lc_buf_addf(lc_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int lc_buf_vaddf(lc_buf *b, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

/*
 * Hand data to the caller (free with free()) and empty the buffer. Never
 * returns NULL for an empty buffer: it returns an allocated "" then, or NULL
 * only when that allocation fails. *len_out, if not NULL, gets the length.
 */
char *lc_buf_take(lc_buf *b, size_t *len_out);

#endif
