#include "src/buf.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "src/err.h"
#include "src/banned.h"

void lc_buf_init(lc_buf *b, size_t max)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	b->max = max;
}

void lc_buf_release(lc_buf *b)
{
	if (!b)
		return;
	free(b->data);
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
}

void lc_buf_reset(lc_buf *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = '\0';
}

void lc_buf_truncate(lc_buf *b, size_t len)
{
	if (len >= b->len)
		return;
	b->len = len;
	b->data[len] = '\0';
}

int lc_buf_grow(lc_buf *b, size_t extra)
{
	size_t need, cap;
	char *p;

	if (extra > b->max || b->len > b->max - extra)
		return LC_ETOOBIG;
	need = b->len + extra + 1; /* cannot overflow: max < SIZE_MAX in practice */
	if (need <= b->cap)
		return 0;
	cap = b->cap ? b->cap : 64;
	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	if (b->max < SIZE_MAX && cap > b->max + 1)
		cap = b->max + 1;
	p = realloc(b->data, cap);
	if (!p)
		return LC_ENOMEM;
	if (!b->data)
		p[0] = '\0';
	b->data = p;
	b->cap = cap;
	return 0;
}

int lc_buf_add(lc_buf *b, const void *data, size_t n)
{
	int rc = lc_buf_grow(b, n);

	if (rc)
		return rc;
	if (n)
		memcpy(b->data + b->len, data, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

int lc_buf_adds(lc_buf *b, const char *s)
{
	return lc_buf_add(b, s, strlen(s));
}

int lc_buf_addc(lc_buf *b, char c)
{
	return lc_buf_add(b, &c, 1);
}

int lc_buf_vaddf(lc_buf *b, const char *fmt, va_list ap)
{
	va_list ap2;
	int n, rc;

	va_copy(ap2, ap);
	n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n < 0)
		return LC_ERROR;
	rc = lc_buf_grow(b, (size_t)n);
	if (rc)
		return rc;
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
	return 0;
}

int lc_buf_addf(lc_buf *b, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = lc_buf_vaddf(b, fmt, ap);
	va_end(ap);
	return rc;
}

char *lc_buf_take(lc_buf *b, size_t *len_out)
{
	char *p = b->data;
	size_t len = b->len;

	if (!p) {
		p = calloc(1, 1);
		if (!p)
			return NULL;
	}
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	if (len_out)
		*len_out = len;
	return p;
}
