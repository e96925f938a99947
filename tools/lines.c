#include "tools/lines.h"

#include <stdlib.h>
#include <string.h>

#include "src/err.h"
#include "src/banned.h"

/* Largest middle, in line pairs, the LCS table is built for (16 MiB of uint32). */
#define DIFF_MAX_CELLS ((size_t)4 << 20)

int lc_lines_split(const char *text, size_t len, lc_line **out, size_t *n_out)
{
	lc_line *lines = NULL;
	size_t n = 0, cap = 0, i = 0;

	while (i < len) {
		const char *nl = memchr(text + i, '\n', len - i);
		size_t end = nl ? (size_t)(nl - text) : len;
		lc_line l;

		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 64;
			lc_line *p;

			if (ncap > SIZE_MAX / sizeof(*lines)) {
				free(lines);
				return LC_ENOMEM;
			}
			p = realloc(lines, ncap * sizeof(*lines));
			if (!p) {
				free(lines);
				return LC_ENOMEM;
			}
			lines = p;
			cap = ncap;
		}
		l.s = text + i;
		l.len = end - i;
		l.eol = LC_EOL_NONE;
		if (nl) {
			l.eol = LC_EOL_LF;
			if (l.len > 0 && l.s[l.len - 1] == '\r') {
				l.len--;
				l.eol = LC_EOL_CRLF;
			}
		}
		lines[n++] = l;
		i = nl ? end + 1 : len;
	}
	*out = lines;
	*n_out = n;
	return 0;
}

enum lc_eol lc_lines_eol(const lc_line *lines, size_t n)
{
	size_t lf = 0, crlf = 0, i;

	for (i = 0; i < n; i++) {
		if (lines[i].eol == LC_EOL_LF)
			lf++;
		else if (lines[i].eol == LC_EOL_CRLF)
			crlf++;
	}
	return crlf > lf ? LC_EOL_CRLF : LC_EOL_LF;
}

int lc_lines_write(lc_buf *b, const lc_line *lines, size_t n)
{
	size_t i;
	int rc;

	for (i = 0; i < n; i++) {
		rc = lc_buf_add(b, lines[i].s, lines[i].len);
		if (!rc && lines[i].eol == LC_EOL_LF)
			rc = lc_buf_addc(b, '\n');
		else if (!rc && lines[i].eol == LC_EOL_CRLF)
			rc = lc_buf_add(b, "\r\n", 2);
		if (rc)
			return rc;
	}
	return 0;
}

static int is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v' || c == '\n';
}

size_t lc_lines_indent(const char *s, size_t len)
{
	size_t i = 0;

	while (i < len && (s[i] == ' ' || s[i] == '\t' || s[i] == '\f'))
		i++;
	return i;
}

size_t lc_lines_rstrip(const char *s, size_t len)
{
	while (len > 0 && is_ws(s[len - 1]))
		len--;
	return len;
}

int lc_lines_blank(const char *s, size_t len)
{
	return lc_lines_rstrip(s, len) == 0;
}

int lc_lines_eq_rstrip(const char *a, size_t alen, const char *b, size_t blen)
{
	alen = lc_lines_rstrip(a, alen);
	blen = lc_lines_rstrip(b, blen);
	return alen == blen && memcmp(a, b, alen) == 0;
}

/* Next byte of the normalised form from *i, -1 at the end. */
static int norm_next(const char *s, size_t len, size_t *i)
{
	if (*i >= len)
		return -1;
	if (is_ws(s[*i])) {
		while (*i < len && is_ws(s[*i]))
			(*i)++;
		return ' ';
	}
	return (unsigned char)s[(*i)++];
}

int lc_lines_eq_norm(const char *a, size_t alen, const char *b, size_t blen)
{
	size_t ia, ib;
	int ca, cb;

	ia = lc_lines_indent(a, alen);
	ib = lc_lines_indent(b, blen);
	alen = lc_lines_rstrip(a, alen);
	blen = lc_lines_rstrip(b, blen);
	do {
		ca = norm_next(a, alen, &ia);
		cb = norm_next(b, blen, &ib);
		if (ca != cb)
			return 0;
	} while (ca != -1);
	return 1;
}

uint64_t lc_lines_hash(const char *s, size_t len)
{
	uint64_t h = 14695981039346656037ull;
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= (unsigned char)s[i];
		h *= 1099511628211ull;
	}
	return h;
}

static int cmp_u16(const void *a, const void *b)
{
	uint16_t x = *(const uint16_t *)a, y = *(const uint16_t *)b;

	return (x > y) - (x < y);
}

/* Sorted bigrams of the normalised line into out (room for len entries); returns the count. */
static size_t bigrams(const char *s, size_t len, uint16_t *out)
{
	size_t i = lc_lines_indent(s, len), n = 0;
	int prev, c;

	len = lc_lines_rstrip(s, len);
	prev = norm_next(s, len, &i);
	while (prev != -1 && (c = norm_next(s, len, &i)) != -1) {
		out[n++] = (uint16_t)((unsigned)prev << 8 | (unsigned)c);
		prev = c;
	}
	qsort(out, n, sizeof(*out), cmp_u16);
	return n;
}

double lc_lines_similarity(const char *a, size_t alen, const char *b, size_t blen)
{
	uint16_t sa[256], sb[256];
	size_t na, nb, i = 0, j = 0, common = 0;

	/* Long lines are compared by their first 257 bytes: a hint, not a proof. */
	if (alen > 257)
		alen = 257;
	if (blen > 257)
		blen = 257;
	if (lc_lines_blank(a, alen) && lc_lines_blank(b, blen))
		return 1.0;
	if (lc_lines_eq_norm(a, alen, b, blen))
		return 1.0;
	na = bigrams(a, alen, sa);
	nb = bigrams(b, blen, sb);
	if (na + nb == 0)
		return 0.0;
	while (i < na && j < nb) {
		if (sa[i] == sb[j]) {
			common++;
			i++;
			j++;
		} else if (sa[i] < sb[j]) {
			i++;
		} else {
			j++;
		}
	}
	return 2.0 * (double)common / (double)(na + nb);
}

static int line_eq(const lc_line *x, const lc_line *y)
{
	return x->len == y->len && memcmp(x->s, y->s, x->len) == 0;
}

static int push_hunk(lc_lines_hunk **v, size_t *n, size_t *cap, size_t as, size_t ac, size_t bs,
                     size_t bc)
{
	if (ac == 0 && bc == 0)
		return 0;
	if (*n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 16;
		lc_lines_hunk *p = realloc(*v, ncap * sizeof(**v));

		if (!p)
			return LC_ENOMEM;
		*v = p;
		*cap = ncap;
	}
	(*v)[*n].a_start = as;
	(*v)[*n].a_count = ac;
	(*v)[*n].b_start = bs;
	(*v)[*n].b_count = bc;
	(*n)++;
	return 0;
}

int lc_lines_diff(const lc_line *a, size_t na, const lc_line *b, size_t nb, lc_lines_hunk **out,
                  size_t *n_out)
{
	lc_lines_hunk *v = NULL;
	size_t n = 0, cap = 0, pre = 0, suf = 0, ma, mb, i, j, w;
	uint32_t *t = NULL;
	uint64_t *ha = NULL, *hb = NULL;
	int rc = 0;

	while (pre < na && pre < nb && line_eq(&a[pre], &b[pre]))
		pre++;
	while (suf < na - pre && suf < nb - pre && line_eq(&a[na - 1 - suf], &b[nb - 1 - suf]))
		suf++;
	ma = na - pre - suf;
	mb = nb - pre - suf;
	if (ma == 0 || mb == 0 || ma > DIFF_MAX_CELLS / mb) {
		rc = push_hunk(&v, &n, &cap, pre, ma, pre, mb);
		goto done;
	}
	/* t[i][j] = LCS length of a[pre+i..] and b[pre+j..] (suffixes), width mb+1. */
	w = mb + 1;
	t = calloc((ma + 1) * w, sizeof(*t));
	ha = malloc(ma * sizeof(*ha));
	hb = malloc(mb * sizeof(*hb));
	if (!t || !ha || !hb) {
		rc = LC_ENOMEM;
		goto done;
	}
	for (i = 0; i < ma; i++)
		ha[i] = lc_lines_hash(a[pre + i].s, a[pre + i].len);
	for (j = 0; j < mb; j++)
		hb[j] = lc_lines_hash(b[pre + j].s, b[pre + j].len);
	for (i = ma; i-- > 0;) {
		for (j = mb; j-- > 0;) {
			if (ha[i] == hb[j] && line_eq(&a[pre + i], &b[pre + j]))
				t[i * w + j] = t[(i + 1) * w + j + 1] + 1;
			else if (t[(i + 1) * w + j] >= t[i * w + j + 1])
				t[i * w + j] = t[(i + 1) * w + j];
			else
				t[i * w + j] = t[i * w + j + 1];
		}
	}
	i = 0;
	j = 0;
	while (i < ma || j < mb) {
		size_t si = i, sj = j;

		while (i < ma || j < mb) {
			if (i < ma && j < mb && ha[i] == hb[j] &&
			    line_eq(&a[pre + i], &b[pre + j]) &&
			    t[i * w + j] == t[(i + 1) * w + j + 1] + 1)
				break;
			if (j >= mb || (i < ma && t[(i + 1) * w + j] >= t[i * w + j + 1]))
				i++;
			else
				j++;
		}
		rc = push_hunk(&v, &n, &cap, pre + si, i - si, pre + sj, j - sj);
		if (rc)
			goto done;
		if (i < ma && j < mb) {
			i++;
			j++;
		}
	}
done:
	free(t);
	free(ha);
	free(hb);
	if (rc) {
		free(v);
		return rc;
	}
	*out = v;
	*n_out = n;
	return 0;
}
