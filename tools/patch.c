#include "tools/patch.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "src/buf.h"
#include "src/err.h"
#include "src/banned.h"

#define SHOW_BYTES 160

typedef struct pline {
	char op; /* ' ', '-', '+' */
	const char *s;
	size_t len;
	int raw_empty; /* an empty diff line read as blank context */
} pline;

typedef struct hunk {
	size_t old_start, old_count, new_start, new_count; /* from the header */
	const char *header;                                /* the "@@ ... @@" part */
	size_t header_len;
	pline *lines;
	size_t n, cap;
	size_t n_old, n_new; /* lines of the old / new side in the body */
	int old_no_eol, new_no_eol;
} hunk;

typedef struct section {
	char *old_path; /* NULL for /dev/null */
	char *new_path;
	hunk *h;
	size_t nh, cap;
} section;

typedef struct parsed {
	section *s;
	size_t n, cap;
} parsed;

void lc_patch_result_release(lc_patch_result *r)
{
	size_t i;

	if (!r)
		return;
	for (i = 0; i < r->n_files; i++) {
		free(r->files[i].path);
		free(r->files[i].old_path);
		free(r->files[i].old_text);
		free(r->files[i].text);
		free(r->files[i].ranges);
	}
	free(r->files);
	free(r->observation);
	memset(r, 0, sizeof(*r));
}

static void parsed_release(parsed *p)
{
	size_t i, k;

	for (i = 0; i < p->n; i++) {
		for (k = 0; k < p->s[i].nh; k++)
			free(p->s[i].h[k].lines);
		free(p->s[i].h);
		free(p->s[i].old_path);
		free(p->s[i].new_path);
	}
	free(p->s);
}

static int grow(void **v, size_t *cap, size_t n, size_t size)
{
	size_t ncap;
	void *p;

	if (n < *cap)
		return 0;
	ncap = *cap ? *cap * 2 : 8;
	if (ncap > SIZE_MAX / size)
		return LC_ENOMEM;
	p = realloc(*v, ncap * size);
	if (!p)
		return LC_ENOMEM;
	*v = p;
	*cap = ncap;
	return 0;
}

static int starts(const lc_line *l, const char *pre)
{
	size_t n = strlen(pre);

	return l->len >= n && memcmp(l->s, pre, n) == 0;
}

/* The path of a "--- " / "+++ " line: NULL for /dev/null (*is_null set). */
static int header_path(const lc_line *l, size_t lineno, char **out, int *is_null)
{
	const char *s = l->s + 4;
	size_t n = l->len - 4, k;
	char *p;

	while (n > 0 && (*s == ' ' || *s == '\t')) {
		s++;
		n--;
	}
	/* "path<TAB>timestamp" (GNU diff) */
	for (k = 0; k < n && s[k] != '\t'; k++)
		;
	n = lc_lines_rstrip(s, k);
	if (n >= 2 && s[0] == '"' && s[n - 1] == '"') {
		s++;
		n -= 2;
	}
	if (n == 0)
		return lc_err_set(LC_EPARSE, "patch: line %zu: no path after '%.3s'", lineno, l->s);
	*is_null = n == 9 && memcmp(s, "/dev/null", 9) == 0;
	if (*is_null) {
		*out = NULL;
		return 0;
	}
	p = malloc(n + 1);
	if (!p)
		return lc_err_set(LC_ENOMEM, "patch: out of memory");
	memcpy(p, s, n);
	p[n] = '\0';
	*out = p;
	return 0;
}

static void strip_prefix(char *p, char c)
{
	if (p && p[0] == c && p[1] == '/' && p[2] != '\0')
		memmove(p, p + 2, strlen(p + 2) + 1);
}

static int parse_num(const char **s, const char *end, size_t *out)
{
	size_t v = 0;
	int any = 0;

	while (*s < end && **s >= '0' && **s <= '9') {
		if (v > (SIZE_MAX - 9) / 10)
			return -1;
		v = v * 10 + (size_t)(**s - '0');
		(*s)++;
		any = 1;
	}
	*out = v;
	return any ? 0 : -1;
}

/* "@@ -l[,n] +l[,n] @@ ..." */
static int parse_header(const lc_line *l, hunk *h)
{
	const char *s = l->s + 2, *end = l->s + l->len;

	h->old_count = h->new_count = 1;
	while (s < end && *s == ' ')
		s++;
	if (s == end || *s++ != '-' || parse_num(&s, end, &h->old_start))
		return -1;
	if (s < end && *s == ',' && (s++, parse_num(&s, end, &h->old_count)))
		return -1;
	while (s < end && *s == ' ')
		s++;
	if (s == end || *s++ != '+' || parse_num(&s, end, &h->new_start))
		return -1;
	if (s < end && *s == ',' && (s++, parse_num(&s, end, &h->new_count)))
		return -1;
	while (s < end && *s == ' ')
		s++;
	if (end - s < 2 || s[0] != '@' || s[1] != '@')
		return -1;
	h->header = l->s;
	h->header_len = (size_t)(s + 2 - l->s);
	return 0;
}

static int is_file_header(const lc_line *l, size_t i, size_t n)
{
	return i + 1 < n && starts(&l[i], "--- ") && starts(&l[i + 1], "+++ ");
}

static int parse_diff(const lc_line *l, size_t n, parsed *p)
{
	size_t i = 0;
	section *cur = NULL;
	int rc, is_null;

	while (i < n) {
		if (is_file_header(l, i, n)) {
			section sec;

			memset(&sec, 0, sizeof(sec));
			if (p->n == LC_PATCH_MAX_FILES)
				return lc_err_set(LC_ETOOBIG, "patch: more than %d files",
				                  LC_PATCH_MAX_FILES);
			if (grow((void **)&p->s, &p->cap, p->n, sizeof(*p->s)))
				return lc_err_set(LC_ENOMEM, "patch: out of memory");
			rc = header_path(&l[i], i + 1, &sec.old_path, &is_null);
			if (rc)
				return rc;
			p->s[p->n++] = sec;
			cur = &p->s[p->n - 1];
			rc = header_path(&l[i + 1], i + 2, &cur->new_path, &is_null);
			if (rc)
				return rc;
			if (!cur->old_path && !cur->new_path)
				return lc_err_set(LC_EPARSE,
				                  "patch: line %zu: both paths are /dev/null",
				                  i + 1);
			if (cur->old_path && cur->new_path && cur->old_path[0] == 'a' &&
			    cur->new_path[0] == 'b') {
				strip_prefix(cur->old_path, 'a');
				strip_prefix(cur->new_path, 'b');
			} else if (!cur->old_path) {
				strip_prefix(cur->new_path, 'b');
			} else if (!cur->new_path) {
				strip_prefix(cur->old_path, 'a');
			}
			i += 2;
			continue;
		}
		if (starts(&l[i], "@@")) {
			hunk h;
			size_t start = i;

			memset(&h, 0, sizeof(h));
			if (!cur)
				return lc_err_set(LC_EPARSE,
				                  "patch: line %zu: hunk before any file header "
				                  "('--- ' and '+++ ' lines)",
				                  i + 1);
			if (parse_header(&l[i], &h))
				return lc_err_set(LC_EPARSE,
				                  "patch: line %zu: bad hunk header '%.*s'", i + 1,
				                  (int)(l[i].len > 80 ? 80 : l[i].len), l[i].s);
			for (i++; i < n; i++) {
				const lc_line *x = &l[i];
				pline pl;

				if (starts(x, "@@") || starts(x, "diff ") ||
				    is_file_header(l, i, n))
					break;
				if (x->len > 0 && x->s[0] == '\\') {
					if (h.n > 0) {
						char op = h.lines[h.n - 1].op;

						h.old_no_eol |= op != '+';
						h.new_no_eol |= op != '-';
					}
					continue;
				}
				if (x->len > 0 && x->s[0] != ' ' && x->s[0] != '-' &&
				    x->s[0] != '+')
					break;
				if (grow((void **)&h.lines, &h.cap, h.n, sizeof(*h.lines))) {
					free(h.lines);
					return lc_err_set(LC_ENOMEM, "patch: out of memory");
				}
				pl.raw_empty = x->len == 0;
				pl.op = pl.raw_empty ? ' ' : x->s[0];
				pl.s = pl.raw_empty ? x->s : x->s + 1;
				pl.len = pl.raw_empty ? 0 : x->len - 1;
				h.lines[h.n++] = pl;
				h.n_old += pl.op != '+';
				h.n_new += pl.op != '-';
			}
			/* Trailing empty lines belong to the hunk only when its counts say so. */
			while (h.n > 0 && h.lines[h.n - 1].raw_empty &&
			       (h.n_old > h.old_count || h.n_new > h.new_count)) {
				h.n--;
				h.n_old--;
				h.n_new--;
			}
			if (h.n == 0) {
				free(h.lines);
				return lc_err_set(LC_EPARSE,
				                  "patch: line %zu: hunk '%.*s' has no lines",
				                  start + 1, (int)h.header_len, h.header);
			}
			if (grow((void **)&cur->h, &cur->cap, cur->nh, sizeof(*cur->h))) {
				free(h.lines);
				return lc_err_set(LC_ENOMEM, "patch: out of memory");
			}
			cur->h[cur->nh++] = h;
			continue;
		}
		i++;
	}
	if (p->n == 0)
		return lc_err_set(LC_EPARSE, "patch: no file header ('--- ' and '+++ ' lines)");
	return 0;
}

/* ---- matching -------------------------------------------------------------------------- */

/*
 * How one search pass compares a hunk with the file: ws, context lines by
 * whitespace-normalised text; lead and trail, context lines at the start and
 * the end of the hunk that are not compared at all (the fuzz factor, clipped
 * so that a context line next to a change is always compared).
 */
typedef struct match_mode {
	int ws;
	size_t lead, trail;
} match_mode;

/* Context lines before the first change and after the last one. */
static void outer_context(const hunk *h, size_t *lead, size_t *trail)
{
	size_t k;

	for (k = 0; k < h->n && h->lines[k].op == ' '; k++)
		;
	*lead = k;
	if (k == h->n) {
		*trail = 0; /* context only: one run, counted as leading */
		return;
	}
	for (k = h->n; k > 0 && h->lines[k - 1].op == ' '; k--)
		;
	*trail = h->n - k;
}

/* The lines fuzz factor fuzz lets pass uncompared at each end (GNU patch, --fuzz). */
static match_mode fuzz_mode(const hunk *h, int ws, size_t fuzz)
{
	match_mode m;
	size_t lead, trail;

	outer_context(h, &lead, &trail);
	m.ws = ws;
	/* The context line next to a change is never skipped. */
	m.lead = lead > 0 ? (fuzz < lead - 1 ? fuzz : lead - 1) : 0;
	m.trail = trail > 0 ? (fuzz < trail - 1 ? fuzz : trail - 1) : 0;
	return m;
}

/* Lines of a hunk matching file lines from pos: 1 when all compared lines do. */
static int hunk_at(const hunk *h, const lc_line *f, size_t pos, const match_mode *m)
{
	size_t k, j = pos;

	for (k = 0; k < h->n; k++) {
		const pline *x = &h->lines[k];

		if (x->op == '+')
			continue;
		if (k < m->lead || k >= h->n - m->trail) {
			/* outer context under fuzz: takes its file line, compared with nothing */
		} else if (x->op == '-' || !m->ws) {
			if (!lc_lines_eq_rstrip(f[j].s, f[j].len, x->s, x->len))
				return 0;
		} else if (!lc_lines_eq_norm(f[j].s, f[j].len, x->s, x->len)) {
			return 0;
		}
		j++;
	}
	return 1;
}

/* Matching lines at pos (fuzzy), and the first line that does not match. */
static size_t hunk_score(const hunk *h, const lc_line *f, size_t pos, size_t *first_bad,
                         size_t *bad_k)
{
	size_t k, j = pos, score = 0;

	*first_bad = SIZE_MAX;
	*bad_k = 0;
	for (k = 0; k < h->n; k++) {
		const pline *x = &h->lines[k];
		int ok;

		if (x->op == '+')
			continue;
		ok = x->op == '-' ? lc_lines_eq_rstrip(f[j].s, f[j].len, x->s, x->len)
		                  : lc_lines_eq_norm(f[j].s, f[j].len, x->s, x->len);
		if (ok) {
			score++;
		} else if (*first_bad == SIZE_MAX) {
			*first_bad = j;
			*bad_k = k;
		}
		j++;
	}
	return score;
}

typedef struct placed {
	size_t pos; /* first file line the hunk's old side covers */
	int moved, fuzzed;
	size_t fuzz; /* outer context lines left uncompared at either end */
} placed;

static int fail_hunk(lc_patch_result *out, const char *path, const hunk *h, const lc_line *f,
                     size_t nf, size_t expect, size_t lo, int code, size_t nmatch,
                     const size_t *where)
{
	lc_buf b = LC_BUF_INIT(1 << 20);
	size_t p, best = SIZE_MAX, best_score = 0, bad = SIZE_MAX, bad_k = 0, k;
	int rc;

	rc = lc_buf_addf(&b, "%s: hunk '%.*s' does not apply", path, (int)h->header_len, h->header);
	if (!rc && code == LC_EDENIED) {
		rc = lc_buf_addf(&b, ": its lines match %zu places far from line %zu (lines",
		                 nmatch, h->old_start);
		for (k = 0; k < nmatch && k < 10 && !rc; k++)
			rc = lc_buf_addf(&b, " %zu", where[k] + 1);
		if (!rc)
			rc = lc_buf_adds(&b, "); give more context or the right line number.\n");
	} else if (!rc) {
		for (p = lo; h->n_old <= nf && p <= nf - h->n_old; p++) {
			size_t fb, fk, sc = hunk_score(h, f, p, &fb, &fk);
			size_t dist = p > expect ? p - expect : expect - p;
			size_t bdist = best == SIZE_MAX ? SIZE_MAX
			               : best > expect  ? best - expect
			                                : expect - best;

			if (sc > best_score || (sc == best_score && sc > 0 && dist < bdist)) {
				best = p;
				best_score = sc;
				bad = fb;
				bad_k = fk;
			}
		}
		if (best == SIZE_MAX || bad == SIZE_MAX) {
			rc = lc_buf_addf(&b,
			                 ": none of its %zu context and removed lines is in the "
			                 "file (%zu lines).\n",
			                 h->n_old, nf);
		} else {
			const pline *x = &h->lines[bad_k];
			const lc_line *y = &f[bad];

			rc = lc_buf_addf(&b,
			                 ": the nearest place tried is line %zu (%zu of %zu lines "
			                 "match), where line %zu is\n%5zu| %.*s\nbut the hunk %s\n"
			                 "     | %.*s\n",
			                 best + 1, best_score, h->n_old, bad + 1, bad + 1,
			                 (int)(y->len > SHOW_BYTES ? SHOW_BYTES : y->len), y->s,
			                 x->op == '-' ? "removes (removed lines must match exactly)"
			                              : "has the context line",
			                 (int)(x->len > SHOW_BYTES ? SHOW_BYTES : x->len), x->s);
		}
		if (!rc)
			rc = lc_buf_adds(&b,
			                 "No file was changed. Read the file again and make the "
			                 "hunk's '-' and ' ' lines copy it exactly.\n");
	}
	if (rc) {
		lc_buf_release(&b);
		return lc_err_set(LC_ENOMEM, "patch: out of memory");
	}
	out->observation = lc_buf_take(&b, NULL);
	if (code == LC_EDENIED)
		return lc_err_set(code, "patch: %s: hunk '%.*s' matches %zu places", path,
		                  (int)h->header_len, h->header, nmatch);
	if (best != SIZE_MAX && bad != SIZE_MAX)
		return lc_err_set(code, "patch: %s: hunk '%.*s' does not apply (nearest: line %zu)",
		                  path, (int)h->header_len, h->header, best + 1);
	return lc_err_set(code, "patch: %s: hunk '%.*s' does not apply", path, (int)h->header_len,
	                  h->header);
}

/* Find where hunk h goes in f, at or after lo; expect is where its header says. */
static int place_hunk(lc_patch_result *out, const char *path, const hunk *h, const lc_line *f,
                      size_t nf, size_t lo, size_t expect, placed *pl)
{
	size_t where[10], nmatch = 0, p, d, hi, fuzz = 0;
	match_mode m, prev = {0, 0, 0};
	int pass;

	if (h->n_old == 0) {
		/* Pure insertion "-l,0": after line l. */
		pl->pos = expect < lo ? lo : expect > nf ? nf : expect;
		pl->moved = pl->pos != expect;
		pl->fuzzed = 0;
		pl->fuzz = 0;
		return 0;
	}
	if (h->n_old > nf || lo > nf - h->n_old)
		return fail_hunk(out, path, h, f, nf, expect, lo, LC_ENOTFOUND, 0, NULL);
	hi = nf - h->n_old;
	if (expect > hi)
		expect = hi;
	if (expect < lo)
		expect = lo;
	/*
	 * Pass 0: every line up to trailing whitespace. Pass 1: context by
	 * whitespace-normalised text. Passes 2..: fuzz factor 1.. on top.
	 */
	for (pass = 0; pass <= 1 + LC_PATCH_FUZZ; pass++) {
		fuzz = pass > 1 ? (size_t)pass - 1 : 0;
		m = fuzz_mode(h, pass > 0, fuzz);
		if (pass > 1 && m.lead == prev.lead && m.trail == prev.trail)
			continue; /* too little outer context for this factor: nothing new */
		prev = m;
		for (d = 0; d <= LC_PATCH_NEAR; d++) {
			if (expect >= lo + d && hunk_at(h, f, expect - d, &m)) {
				pl->pos = expect - d;
				goto found;
			}
			if (d > 0 && expect + d <= hi && hunk_at(h, f, expect + d, &m)) {
				pl->pos = expect + d;
				goto found;
			}
		}
		for (p = lo; p <= hi; p++) {
			if (!hunk_at(h, f, p, &m))
				continue;
			if (nmatch < 10)
				where[nmatch] = p;
			nmatch++;
		}
		if (nmatch == 1) {
			pl->pos = where[0];
			goto found;
		}
		if (nmatch > 1)
			return fail_hunk(out, path, h, f, nf, expect, lo, LC_EDENIED, nmatch,
			                 where);
	}
	return fail_hunk(out, path, h, f, nf, expect, lo, LC_ENOTFOUND, 0, NULL);
found:
	pl->fuzzed = pass > 0;
	pl->fuzz = m.lead > m.trail ? m.lead : m.trail;
	pl->moved = pl->pos != expect;
	return 0;
}

/* ---- one file -------------------------------------------------------------------------- */

static int add_range(lc_patch_file *pf, size_t *cap, size_t start, size_t count)
{
	if (grow((void **)&pf->ranges, cap, pf->n_ranges, sizeof(*pf->ranges)))
		return lc_err_set(LC_ENOMEM, "patch: out of memory");
	pf->ranges[pf->n_ranges].start = start + 1;
	pf->ranges[pf->n_ranges].count = count;
	pf->n_ranges++;
	return 0;
}

static int refuse(lc_patch_result *out, int code, const char *path, const char *what)
{
	lc_buf b = LC_BUF_INIT(1 << 12);

	if (lc_buf_addf(&b, "%s: %s No file was changed.\n", path, what) == 0)
		out->observation = lc_buf_take(&b, NULL);
	lc_buf_release(&b);
	return code;
}

static int apply_section(lc_patch_result *out, const section *sec, lc_patch_file *pf)
{
	lc_line *f = NULL, *nl = NULL;
	placed *pls = NULL;
	size_t nf = 0, n_new = 0, cap_new = 0, rcap = 0, i, k, lo = 0, src;
	long long offset = 0;
	enum lc_eol eol;
	lc_buf b = LC_BUF_INIT(LC_PATCH_MAX_TEXT);
	int rc;

	rc = lc_lines_split(pf->old_text, pf->old_len, &f, &nf);
	pls = calloc(sec->nh ? sec->nh : 1, sizeof(*pls));
	if (rc || !pls) {
		rc = lc_err_set(LC_ENOMEM, "patch: out of memory");
		goto done;
	}
	eol = lc_lines_eol(f, nf);
	for (i = 0; i < sec->nh; i++) {
		const hunk *h = &sec->h[i];
		/* The header's line, moved as far as the previous hunk was. */
		long long stated = h->n_old == 0 ? (long long)h->old_start
		                                 : (long long)h->old_start - (h->old_start > 0);
		long long e = stated + offset;
		size_t expect = e < 0 ? 0 : (size_t)e;

		rc = place_hunk(out, pf->path, h, f, nf, lo, expect, &pls[i]);
		if (rc)
			goto done;
		offset = (long long)pls[i].pos - stated;
		lo = pls[i].pos + h->n_old;
		pf->n_moved += pls[i].moved;
		pf->n_fuzzed += pls[i].fuzzed;
		if (pls[i].fuzz > 0) {
			pf->n_context_fuzzed++;
			if (pls[i].fuzz > pf->fuzz)
				pf->fuzz = pls[i].fuzz;
		}
	}
	/* Build the new line array. */
	src = 0;
	for (i = 0; i < sec->nh; i++) {
		const hunk *h = &sec->h[i];
		size_t j = pls[i].pos, first = SIZE_MAX, last = 0;
		int at_end = pls[i].pos + h->n_old == nf;

		for (; src < j; src++) {
			if (grow((void **)&nl, &cap_new, n_new, sizeof(*nl)))
				goto nomem;
			nl[n_new++] = f[src];
		}
		for (k = 0; k < h->n; k++) {
			const pline *x = &h->lines[k];

			if (x->op == '-') {
				if (first == SIZE_MAX)
					first = n_new;
				last = n_new;
				j++;
				continue;
			}
			if (grow((void **)&nl, &cap_new, n_new, sizeof(*nl)))
				goto nomem;
			if (x->op == ' ') {
				nl[n_new++] = f[j++];
				continue;
			}
			if (first == SIZE_MAX)
				first = n_new;
			nl[n_new].s = x->s;
			nl[n_new].len = x->len;
			nl[n_new].eol = eol;
			n_new++;
			last = n_new;
		}
		src = j;
		/*
		 * The end of the file: "\ No newline" markers decide; without them
		 * the file keeps what it had (models leave the markers out).
		 */
		if (at_end && n_new > 0) {
			if (h->new_no_eol)
				nl[n_new - 1].eol = LC_EOL_NONE;
			else if (h->old_no_eol)
				nl[n_new - 1].eol = eol;
			else if (nf > 0 && f[nf - 1].eol == LC_EOL_NONE)
				nl[n_new - 1].eol = LC_EOL_NONE;
			else if (nl[n_new - 1].eol == LC_EOL_NONE)
				nl[n_new - 1].eol = eol;
		}
		if (first != SIZE_MAX) {
			rc = add_range(pf, &rcap, first, last - first);
			if (rc)
				goto done;
		}
	}
	for (; src < nf; src++) {
		if (grow((void **)&nl, &cap_new, n_new, sizeof(*nl)))
			goto nomem;
		nl[n_new++] = f[src];
	}
	if (pf->kind == LC_PATCH_DELETE) {
		if (sec->nh > 0 && n_new > 0) {
			rc = lc_err_set(LC_EDENIED, "patch: %s: deletion leaves %zu lines",
			                pf->path, n_new);
			refuse(out, rc, pf->path,
			       "the diff deletes the file ('+++ /dev/null') but its hunks do not "
			       "remove every line.");
		}
		goto done;
	}
	rc = lc_lines_write(&b, nl, n_new);
	if (rc) {
		rc = rc == LC_ETOOBIG ? lc_err_set(rc, "patch: %s: new text too large", pf->path)
		                      : lc_err_set(rc, "patch: out of memory");
		goto done;
	}
	pf->text = lc_buf_take(&b, &pf->len);
	if (!pf->text)
		goto nomem;
	pf->n_hunks = sec->nh;
	goto done;
nomem:
	rc = lc_err_set(LC_ENOMEM, "patch: out of memory");
done:
	lc_buf_release(&b);
	free(f);
	free(nl);
	free(pls);
	return rc;
}

static char *dup_str(const char *s)
{
	size_t n = strlen(s);
	char *p = malloc(n + 1);

	if (p)
		memcpy(p, s, n + 1);
	return p;
}

int lc_patch_apply(lc_patch_result *out, const char *diff, size_t len, lc_patch_read_fn read,
                   void *ctx)
{
	parsed p = {NULL, 0, 0};
	lc_line *dl = NULL;
	lc_patch_result tmp = LC_PATCH_RESULT_INIT;
	size_t ndl = 0, i, k, fcap = 0;
	int rc;

	if (len > LC_PATCH_MAX_TEXT) {
		rc = lc_err_set(LC_ETOOBIG, "patch: diff of %zu bytes is larger than %zu", len,
		                LC_PATCH_MAX_TEXT);
		goto done;
	}
	if (lc_lines_split(diff, len, &dl, &ndl)) {
		rc = lc_err_set(LC_ENOMEM, "patch: out of memory");
		goto done;
	}
	rc = parse_diff(dl, ndl, &p);
	if (rc)
		goto done;
	for (i = 0; i < p.n; i++) {
		const section *sec = &p.s[i];
		lc_patch_file pf;
		const char *src_path = sec->old_path ? sec->old_path : sec->new_path;
		const lc_patch_file *prev = NULL;

		memset(&pf, 0, sizeof(pf));
		pf.kind = !sec->old_path                         ? LC_PATCH_CREATE
		          : !sec->new_path                       ? LC_PATCH_DELETE
		          : strcmp(sec->old_path, sec->new_path) ? LC_PATCH_RENAME
		                                                 : LC_PATCH_MODIFY;
		pf.path = dup_str(sec->new_path ? sec->new_path : sec->old_path);
		pf.old_path = pf.kind == LC_PATCH_RENAME ? dup_str(sec->old_path) : NULL;
		if (!pf.path || (pf.kind == LC_PATCH_RENAME && !pf.old_path)) {
			free(pf.path);
			free(pf.old_path);
			rc = lc_err_set(LC_ENOMEM, "patch: out of memory");
			goto done;
		}
		/* Keep pf in tmp at once so that one release frees it on every path. */
		if (grow((void **)&tmp.files, &fcap, tmp.n_files, sizeof(*tmp.files))) {
			free(pf.path);
			free(pf.old_path);
			rc = lc_err_set(LC_ENOMEM, "patch: out of memory");
			goto done;
		}
		tmp.files[tmp.n_files++] = pf;
		/* An earlier section's result for the same file is the text to patch. */
		for (k = 0; k < tmp.n_files - 1; k++)
			if (strcmp(tmp.files[k].path, src_path) == 0)
				prev = &tmp.files[k];
		if (prev && prev->text) {
			char *t = malloc(prev->len + 1);

			if (!t) {
				rc = lc_err_set(LC_ENOMEM, "patch: out of memory");
				goto done;
			}
			memcpy(t, prev->text, prev->len + 1);
			tmp.files[i].old_text = t;
			tmp.files[i].old_len = prev->len;
			rc = 0;
		} else if (prev) {
			rc = LC_ENOTFOUND; /* deleted by an earlier section */
		} else {
			rc = read(ctx, src_path, &tmp.files[i].old_text, &tmp.files[i].old_len);
		}
		if (rc == LC_ENOTFOUND && pf.kind == LC_PATCH_CREATE) {
			lc_err_clear();
			rc = 0;
		} else if (rc == 0 && pf.kind == LC_PATCH_CREATE && tmp.files[i].old_len > 0) {
			rc = lc_err_set(LC_EDENIED, "patch: %s: the diff creates it but it exists",
			                pf.path);
			rc = refuse(&tmp, rc, pf.path,
			            "the diff creates this file ('--- /dev/null') but it exists "
			            "already.");
			goto done;
		} else if (rc == LC_ENOTFOUND) {
			lc_err_clear();
			rc = lc_err_set(LC_ENOTFOUND, "patch: %s: no such file", src_path);
			rc = refuse(&tmp, rc, src_path, "no such file.");
			goto done;
		} else if (rc) {
			goto done;
		}
		if (pf.kind == LC_PATCH_CREATE) {
			free(tmp.files[i].old_text);
			tmp.files[i].old_text = NULL;
			tmp.files[i].old_len = 0;
		}
		if (sec->nh == 0 && pf.kind != LC_PATCH_DELETE && pf.kind != LC_PATCH_RENAME &&
		    pf.kind != LC_PATCH_CREATE) {
			rc = lc_err_set(LC_EPARSE, "patch: %s: no hunks", pf.path);
			goto done;
		}
		rc = apply_section(&tmp, sec, &tmp.files[i]);
		if (rc)
			goto done;
	}
	out->files = tmp.files;
	out->n_files = tmp.n_files;
	tmp.files = NULL;
	tmp.n_files = 0;
done:
	if (rc && tmp.observation) {
		out->observation = tmp.observation;
		tmp.observation = NULL;
	}
	lc_patch_result_release(&tmp);
	parsed_release(&p);
	free(dl);
	return rc;
}
