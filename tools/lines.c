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

/* "l,n" of a hunk header for lines [start, start + count), 0-based, as GNU diff writes it. */
static int unified_range(lc_buf *out, size_t start, size_t count)
{
	if (count == 1)
		return lc_buf_addf(out, "%zu", start + 1);
	/* an empty range names the line before it */
	return lc_buf_addf(out, "%zu,%zu", count ? start + 1 : start, count);
}

/* One diff line: mark, content, newline, and git's note when the line had no ending. */
static int unified_line(lc_buf *out, char mark, const lc_line *l)
{
	int rc = lc_buf_addc(out, mark);

	if (!rc)
		rc = lc_buf_add(out, l->s, l->len);
	if (!rc)
		rc = lc_buf_addc(out, '\n');
	if (!rc && l->eol == LC_EOL_NONE)
		rc = lc_buf_adds(out, "\\ No newline at end of file\n");
	return rc;
}

/*
 * The hunks of a against b, plus one for the last line when only its final
 * newline differs (lc_lines_diff compares content, endings aside).
 */
static int unified_hunks(const lc_line *a, size_t na, const lc_line *b, size_t nb,
                         lc_lines_hunk **out, size_t *n_out)
{
	lc_lines_hunk *h = NULL, *grown;
	size_t n = 0;
	int rc = lc_lines_diff(a, na, b, nb, &h, &n);

	if (rc)
		return lc_err_set(LC_ENOMEM, "out of memory");
	if (na && nb && (a[na - 1].eol == LC_EOL_NONE) != (b[nb - 1].eol == LC_EOL_NONE) &&
	    (n == 0 || h[n - 1].a_start + h[n - 1].a_count < na)) {
		if (!(grown = realloc(h, (n + 1) * sizeof(*h)))) {
			free(h);
			return lc_err_set(LC_ENOMEM, "out of memory");
		}
		h = grown;
		h[n].a_start = na - 1;
		h[n].a_count = 1;
		h[n].b_start = nb - 1;
		h[n].b_count = 1;
		n++;
	}
	*out = h;
	*n_out = n;
	return 0;
}

int lc_lines_unified(const char *a_path, const char *a, size_t a_len, const char *b_path,
                     const char *b, size_t b_len, size_t context, size_t max_bytes, lc_buf *out)
{
	lc_line *la = NULL, *lb = NULL;
	lc_lines_hunk *h = NULL;
	size_t na = 0, nb = 0, nh = 0, start = out->len, i, j, k;
	lc_buf d = LC_BUF_INIT(max_bytes);
	int rc;

	if (lc_lines_split(a ? a : "", a ? a_len : 0, &la, &na) ||
	    lc_lines_split(b ? b : "", b ? b_len : 0, &lb, &nb)) {
		rc = lc_err_set(LC_ENOMEM, "out of memory");
		goto out;
	}
	if ((rc = unified_hunks(la, na, lb, nb, &h, &nh)) || nh == 0)
		goto out;
	rc = lc_buf_addf(&d, "--- %s%s\n+++ %s%s\n", a_path ? "a/" : "",
	                 a_path ? a_path : "/dev/null", b_path ? "b/" : "",
	                 b_path ? b_path : "/dev/null");
	for (i = 0; i < nh && !rc; i = j + 1) {
		size_t as, bs, ae, be, pos;

		/* Changes closer than two contexts share a hunk, as in GNU diff. */
		for (j = i;
		     j + 1 < nh && h[j + 1].a_start - (h[j].a_start + h[j].a_count) <= 2 * context;
		     j++)
			;
		as = h[i].a_start > context ? h[i].a_start - context : 0;
		bs = h[i].b_start - (h[i].a_start - as);
		ae = h[j].a_start + h[j].a_count + context;
		if (ae > na)
			ae = na;
		be = h[j].b_start + h[j].b_count + (ae - (h[j].a_start + h[j].a_count));
		if (!(rc = lc_buf_adds(&d, "@@ -")) && !(rc = unified_range(&d, as, ae - as)) &&
		    !(rc = lc_buf_adds(&d, " +")) && !(rc = unified_range(&d, bs, be - bs)))
			rc = lc_buf_adds(&d, " @@\n");
		for (pos = as, k = i; k <= j && !rc; k++) {
			for (; pos < h[k].a_start && !rc; pos++)
				rc = unified_line(&d, ' ', &la[pos]);
			for (size_t x = 0; x < h[k].a_count && !rc; x++)
				rc = unified_line(&d, '-', &la[h[k].a_start + x]);
			for (size_t x = 0; x < h[k].b_count && !rc; x++)
				rc = unified_line(&d, '+', &lb[h[k].b_start + x]);
			pos = h[k].a_start + h[k].a_count;
		}
		for (; pos < ae && !rc; pos++)
			rc = unified_line(&d, ' ', &la[pos]);
	}
	if (rc == LC_ETOOBIG) {
		/* Cut at the last whole line; the note says the diff goes on. */
		size_t keep = d.len;
		while (keep > 0 && d.data[keep - 1] != '\n')
			keep--;
		lc_buf_truncate(&d, keep);
		lc_err_clear();
		rc = 0;
		if (lc_buf_add(out, d.data, d.len) ||
		    lc_buf_addf(out, "[... diff cut at %zu bytes]\n", max_bytes))
			rc = lc_err_set(LC_ETOOBIG, "diff: the output buffer is full");
		goto out;
	}
	if (rc) {
		rc = lc_err_set(LC_ENOMEM, "out of memory");
		goto out;
	}
	if (d.len && lc_buf_add(out, d.data, d.len))
		rc = lc_err_set(LC_ETOOBIG, "diff: the output buffer is full");
out:
	if (rc)
		lc_buf_truncate(out, start);
	lc_buf_release(&d);
	free(la);
	free(lb);
	free(h);
	return rc;
}
