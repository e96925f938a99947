#include "tools/edit.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "src/arena.h"
#include "src/buf.h"
#include "src/err.h"
#include "src/banned.h"

/* Line pairs compared when looking for the closest window to a failed SEARCH. */
#define CLOSEST_BUDGET ((size_t)4 << 20)
/* Lines of the closest window and bytes per line shown in an observation. */
#define SHOW_LINES 40
#define SHOW_BYTES 200
/* Match positions listed for an ambiguous SEARCH. */
#define SHOW_MATCHES 10

static const char *const match_names[] = {"exact", "trailing whitespace", "indentation offset",
                                          "whitespace-normalised", "append"};

const char *lc_edit_match_name(enum lc_edit_match m)
{
	if ((unsigned)m < sizeof(match_names) / sizeof(match_names[0]))
		return match_names[m];
	return "unknown";
}

void lc_edit_result_release(lc_edit_result *r)
{
	if (!r)
		return;
	free(r->text);
	free(r->blocks);
	free(r->ranges);
	free(r->observation);
	memset(r, 0, sizeof(*r));
}

/* ---- parser ---------------------------------------------------------------------------- */

/* 1 when the line is 5..9 of ch, then (if word) blanks and word, then only whitespace. */
static int is_marker(const char *s, size_t len, char ch, const char *word)
{
	size_t i = 0, wl;

	len = lc_lines_rstrip(s, len);
	while (i < len && s[i] == ch)
		i++;
	if (i < 5 || i > 9)
		return 0;
	if (!word)
		return i == len;
	while (i < len && (s[i] == ' ' || s[i] == '\t'))
		i++;
	wl = strlen(word);
	return len - i == wl && memcmp(s + i, word, wl) == 0;
}

int lc_edit_parse(const char *text, size_t len, lc_edit_block **out, size_t *n_out)
{
	enum { OUTSIDE, IN_SEARCH, IN_REPLACE } st = OUTSIDE;
	lc_edit_block *v = NULL, cur = {NULL, 0, NULL, 0};
	size_t n = 0, cap = 0, pos = 0, lineno = 0;
	int rc = 0;

	while (pos < len) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t end = nl ? (size_t)(nl - text) + 1 : len;
		const char *s = text + pos;
		size_t sl = end - pos;
		int m_search = is_marker(s, sl, '<', "SEARCH");
		int m_div = is_marker(s, sl, '=', NULL);
		int m_repl = is_marker(s, sl, '>', "REPLACE");

		lineno++;
		switch (st) {
		case OUTSIDE:
			if (m_search) {
				if (n == LC_EDIT_MAX_BLOCKS) {
					rc = lc_err_set(LC_ETOOBIG, "edit: more than %d blocks",
					                LC_EDIT_MAX_BLOCKS);
					goto fail;
				}
				cur.search = text + end;
				st = IN_SEARCH;
			} else if (m_div || m_repl) {
				rc = lc_err_set(LC_EPARSE, "edit: line %zu: '%s' outside a block",
				                lineno, m_div ? "=======" : ">>>>>>> REPLACE");
				goto fail;
			}
			break;
		case IN_SEARCH:
			if (m_div) {
				cur.search_len = (size_t)(s - cur.search);
				cur.replace = text + end;
				st = IN_REPLACE;
			} else if (m_search || m_repl) {
				rc = lc_err_set(LC_EPARSE, "edit: block %zu: no '=======' line",
				                n + 1);
				goto fail;
			}
			break;
		case IN_REPLACE:
			if (m_repl) {
				cur.replace_len = (size_t)(s - cur.replace);
				if (n == cap) {
					size_t ncap = cap ? cap * 2 : 4;
					lc_edit_block *p = realloc(v, ncap * sizeof(*v));

					if (!p) {
						rc = lc_err_set(LC_ENOMEM, "edit: out of memory");
						goto fail;
					}
					v = p;
					cap = ncap;
				}
				v[n++] = cur;
				st = OUTSIDE;
			} else if (m_search) {
				rc = lc_err_set(LC_EPARSE,
				                "edit: block %zu: no '>>>>>>> REPLACE' line",
				                n + 1);
				goto fail;
			}
			break;
		}
		pos = end;
	}
	if (st == IN_SEARCH) {
		rc = lc_err_set(LC_EPARSE, "edit: block %zu: no '=======' line", n + 1);
		goto fail;
	}
	if (st == IN_REPLACE) {
		rc = lc_err_set(LC_EPARSE, "edit: block %zu: no '>>>>>>> REPLACE' line", n + 1);
		goto fail;
	}
	if (n == 0) {
		rc = lc_err_set(LC_EPARSE, "edit: no '<<<<<<< SEARCH' block");
		goto fail;
	}
	*out = v;
	*n_out = n;
	return 0;
fail:
	free(v);
	return rc;
}

/* ---- the evolving text ----------------------------------------------------------------- */

typedef struct doc {
	lc_line *lines; /* current text; bytes in the old text, the blocks or the arena */
	size_t n, cap;
	enum lc_eol eol;       /* ending for new lines */
	lc_line_range *ranges; /* changed lines, 0-based starts in the current text */
	size_t n_ranges, cap_ranges;
	lc_arena arena; /* re-indented lines */
} doc;

/* Replace lines [at, at+nold) of d with the nnew lines in repl; track the changed range. */
static int doc_splice(doc *d, size_t at, size_t nold, const lc_line *repl, size_t nnew)
{
	size_t i, k, start, end, old_end = at + nold;
	int last_no_eol = d->n > 0 && old_end == d->n && d->lines[d->n - 1].eol == LC_EOL_NONE;

	if (nnew > nold && d->n + (nnew - nold) > d->cap) {
		size_t ncap = d->cap ? d->cap : 64;
		lc_line *p;

		while (ncap < d->n + (nnew - nold))
			ncap *= 2;
		if (ncap > SIZE_MAX / sizeof(*p))
			return lc_err_set(LC_ENOMEM, "edit: out of memory");
		p = realloc(d->lines, ncap * sizeof(*p));
		if (!p)
			return lc_err_set(LC_ENOMEM, "edit: out of memory");
		d->lines = p;
		d->cap = ncap;
	}
	if (d->n > old_end)
		memmove(d->lines + at + nnew, d->lines + old_end,
		        (d->n - old_end) * sizeof(*d->lines));
	if (nnew)
		memcpy(d->lines + at, repl, nnew * sizeof(*repl));
	d->n = d->n - nold + nnew;
	/* The text keeps its "no newline at end of file" when its end was replaced. */
	if (last_no_eol && d->n > 0)
		d->lines[d->n - 1].eol = LC_EOL_NONE;

	/* Merge ranges touching [at, old_end]; shift those after it. */
	start = at;
	end = at + nnew;
	for (i = 0, k = 0; i < d->n_ranges; i++) {
		lc_line_range r = d->ranges[i];
		size_t r_end = r.start + r.count;

		if (r_end < at) {
			d->ranges[k++] = r;
		} else if (r.start > old_end) {
			r.start = r.start + nnew - nold;
			d->ranges[k++] = r;
		} else {
			if (r.start < start)
				start = r.start;
			if (r_end > old_end && r_end + nnew - nold > end)
				end = r_end + nnew - nold;
		}
	}
	d->n_ranges = k;
	if (d->n_ranges == d->cap_ranges) {
		size_t ncap = d->cap_ranges ? d->cap_ranges * 2 : 8;
		lc_line_range *p = realloc(d->ranges, ncap * sizeof(*p));

		if (!p)
			return lc_err_set(LC_ENOMEM, "edit: out of memory");
		d->ranges = p;
		d->cap_ranges = ncap;
	}
	/* Keep the ranges sorted: insert before the first range after the new one. */
	for (i = 0; i < d->n_ranges && d->ranges[i].start < start; i++)
		;
	if (d->n_ranges > i)
		memmove(d->ranges + i + 1, d->ranges + i, (d->n_ranges - i) * sizeof(*d->ranges));
	d->ranges[i].start = start;
	d->ranges[i].count = end - start;
	d->n_ranges++;
	return 0;
}

/* ---- matching -------------------------------------------------------------------------- */

typedef struct reindent {
	const char *prefix; /* whitespace added (add) or removed (!add) */
	size_t len;
	int add;
	const char *from; /* whitespace level: SEARCH's first indentation ... */
	size_t from_len;
	const char *to; /* ... becomes the file's */
	size_t to_len;
} reindent;

static int match_indent(const lc_line *f, const lc_line *s, size_t n, reindent *ri)
{
	size_t k, have = 0;

	for (k = 0; k < n; k++) {
		size_t fl = lc_lines_rstrip(f[k].s, f[k].len),
		       sl = lc_lines_rstrip(s[k].s, s[k].len);
		size_t fi, si;

		if (fl == 0 || sl == 0) {
			if (fl != sl)
				return 0;
			continue;
		}
		fi = lc_lines_indent(f[k].s, fl);
		si = lc_lines_indent(s[k].s, sl);
		if (!have) {
			if (fi == si)
				return 0; /* no offset: the trailing-whitespace level decides */
			ri->add = fi > si;
			ri->prefix = ri->add ? f[k].s : s[k].s;
			ri->len = ri->add ? fi - si : si - fi;
			have = 1;
		}
		if (ri->add) {
			if (fl != sl + ri->len || memcmp(f[k].s, ri->prefix, ri->len) != 0 ||
			    memcmp(f[k].s + ri->len, s[k].s, sl) != 0)
				return 0;
		} else {
			if (sl != fl + ri->len || memcmp(s[k].s, ri->prefix, ri->len) != 0 ||
			    memcmp(s[k].s + ri->len, f[k].s, fl) != 0)
				return 0;
		}
	}
	return have;
}

static int match_at(const lc_line *f, const lc_line *s, size_t n, enum lc_edit_match level,
                    reindent *ri)
{
	size_t k;

	switch (level) {
	case LC_EDIT_MATCH_EXACT:
		for (k = 0; k < n; k++)
			if (f[k].len != s[k].len || memcmp(f[k].s, s[k].s, s[k].len) != 0)
				return 0;
		return 1;
	case LC_EDIT_MATCH_TRAILING_WS:
		for (k = 0; k < n; k++)
			if (!lc_lines_eq_rstrip(f[k].s, f[k].len, s[k].s, s[k].len))
				return 0;
		return 1;
	case LC_EDIT_MATCH_INDENT:
		return match_indent(f, s, n, ri);
	case LC_EDIT_MATCH_WHITESPACE:
		for (k = 0; k < n; k++)
			if (!lc_lines_eq_norm(f[k].s, f[k].len, s[k].s, s[k].len))
				return 0;
		for (k = 0; k < n && lc_lines_blank(s[k].s, s[k].len); k++)
			;
		ri->from = s[k].s;
		ri->from_len = lc_lines_indent(s[k].s, s[k].len);
		ri->to = f[k].s;
		ri->to_len = lc_lines_indent(f[k].s, f[k].len);
		return 1;
	case LC_EDIT_MATCH_APPEND:
		break;
	}
	return 0;
}

/* The REPLACE lines as they go into the file: re-indented, with the file's ending. */
static int build_replacement(doc *d, const lc_line *r, size_t nr, enum lc_edit_match level,
                             const reindent *ri, lc_line *out)
{
	size_t k;

	for (k = 0; k < nr; k++) {
		lc_line l = r[k];
		const char *pre = NULL;
		size_t pre_len = 0, cut = 0, ind = lc_lines_indent(l.s, l.len);
		char *p;

		l.eol = d->eol;
		if (!lc_lines_blank(l.s, l.len) && level == LC_EDIT_MATCH_INDENT) {
			if (ri->add) {
				pre = ri->prefix;
				pre_len = ri->len;
			} else {
				while (cut < ri->len && cut < ind && l.s[cut] == ri->prefix[cut])
					cut++;
			}
		} else if (!lc_lines_blank(l.s, l.len) && level == LC_EDIT_MATCH_WHITESPACE) {
			if (ind >= ri->from_len && memcmp(l.s, ri->from, ri->from_len) == 0) {
				cut = ri->from_len;
				pre = ri->to;
				pre_len = ri->to_len;
			}
		}
		if (pre_len || cut) {
			if (l.len - cut > SIZE_MAX - pre_len)
				return lc_err_set(LC_ETOOBIG, "edit: line too long");
			p = lc_arena_alloc(&d->arena, pre_len + l.len - cut + 1);
			if (!p)
				return LC_ETOOBIG;
			if (pre_len)
				memcpy(p, pre, pre_len);
			memcpy(p + pre_len, l.s + cut, l.len - cut);
			l.s = p;
			l.len = pre_len + l.len - cut;
		}
		out[k] = l;
	}
	return 0;
}

/* ---- observations ---------------------------------------------------------------------- */

static int show_lines(lc_buf *b, const lc_line *l, size_t first, size_t count)
{
	size_t k;
	int rc = 0;

	for (k = 0; k < count && k < SHOW_LINES && !rc; k++) {
		const lc_line *x = &l[first + k];
		int w = x->len > SHOW_BYTES ? SHOW_BYTES : (int)x->len;

		rc = lc_buf_addf(b, "%5zu| %.*s%s\n", first + k + 1, w, x->s,
		                 x->len > SHOW_BYTES ? " [...]" : "");
	}
	if (!rc && count > SHOW_LINES)
		rc = lc_buf_addf(b, "      [%zu more lines]\n", count - SHOW_LINES);
	return rc;
}

/* The window of the file most like s: *at, *count, similarity in [0,1] as return. */
static double closest(const lc_line *f, size_t nf, const lc_line *s, size_t ns, size_t *at,
                      size_t *count)
{
	size_t w = ns < nf ? ns : nf, p, k, step = 1, npos = nf - w + 1;
	double best = -1.0;

	*at = 0;
	*count = w;
	if (w == 0)
		return 0.0;
	if (npos > CLOSEST_BUDGET / w)
		step = npos / (CLOSEST_BUDGET / w) + 1;
	for (p = 0; p < npos; p += step) {
		double sum = 0.0;

		for (k = 0; k < w; k++)
			sum += lc_lines_similarity(f[p + k].s, f[p + k].len, s[k].s, s[k].len);
		sum /= (double)ns;
		if (sum > best) {
			best = sum;
			*at = p;
		}
	}
	return best;
}

static int observe_missing(lc_edit_result *out, const doc *d, size_t bi, size_t nb,
                           const lc_line *s, size_t ns)
{
	lc_buf b = LC_BUF_INIT(1 << 20);
	size_t at, count;
	double sim;
	int rc;

	sim = closest(d->lines, d->n, s, ns, &at, &count);
	rc = lc_buf_addf(&b,
	                 "block %zu: the SEARCH text (%zu line%s) matches no place in the file, "
	                 "not even with whitespace ignored.%s\n",
	                 bi + 1, ns, ns == 1 ? "" : "s", nb > 1 ? " No block was applied." : "");
	if (!rc && d->n == 0)
		rc = lc_buf_adds(&b, "The file is empty; an empty SEARCH appends to it.\n");
	else if (!rc)
		rc = lc_buf_addf(&b, "The closest lines are %zu-%zu (%d%% similar):\n", at + 1,
		                 at + count, (int)(sim * 100.0 + 0.5));
	if (!rc && d->n > 0)
		rc = show_lines(&b, d->lines, at, count);
	if (!rc)
		rc = lc_buf_adds(&b, "Copy the SEARCH lines exactly from the file as it is now.\n");
	if (rc) {
		lc_buf_release(&b);
		return lc_err_set(LC_ENOMEM, "edit: out of memory");
	}
	out->observation = lc_buf_take(&b, NULL);
	out->failed_block = bi;
	if (d->n == 0)
		return lc_err_set(LC_ENOTFOUND,
		                  "edit: block %zu: SEARCH text not found (file empty)", bi + 1);
	return lc_err_set(LC_ENOTFOUND,
	                  "edit: block %zu: SEARCH text not found (closest: lines %zu-%zu)", bi + 1,
	                  at + 1, at + count);
}

static int observe_ambiguous(lc_edit_result *out, size_t bi, size_t nb, enum lc_edit_match level,
                             const size_t *pos, size_t npos, size_t nmatch, size_t ns)
{
	lc_buf b = LC_BUF_INIT(1 << 16);
	lc_buf lines = LC_BUF_INIT(1 << 12);
	size_t k;
	int rc = 0;

	for (k = 0; k < npos && !rc; k++) {
		if (ns == 1)
			rc = lc_buf_addf(&lines, "%s%zu", k ? ", " : "", pos[k] + 1);
		else
			rc = lc_buf_addf(&lines, "%s%zu-%zu", k ? ", " : "", pos[k] + 1,
			                 pos[k] + ns);
	}
	if (!rc && nmatch > npos)
		rc = lc_buf_addf(&lines, ", ...");
	if (!rc)
		rc = lc_buf_addf(&b,
		                 "block %zu: the SEARCH text matches %zu places (%s match), lines "
		                 "%s.%s\nAdd lines around it so that it matches one place only.\n",
		                 bi + 1, nmatch, lc_edit_match_name(level), lines.data,
		                 nb > 1 ? " No block was applied." : "");
	if (rc) {
		lc_buf_release(&b);
		lc_buf_release(&lines);
		return lc_err_set(LC_ENOMEM, "edit: out of memory");
	}
	out->observation = lc_buf_take(&b, NULL);
	out->failed_block = bi;
	rc = lc_err_set(LC_EDENIED, "edit: block %zu: SEARCH text matches %zu places (lines %s)",
	                bi + 1, nmatch, lines.data);
	lc_buf_release(&lines);
	return rc;
}

/* ---- applying -------------------------------------------------------------------------- */

static int apply_block(lc_edit_result *out, doc *d, const lc_edit_block *blk, size_t bi, size_t nb,
                       lc_edit_applied *applied)
{
	lc_line *s = NULL, *r = NULL, *repl = NULL;
	size_t ns = 0, nr = 0, k, nmatch = 0, npos = 0;
	size_t pos[SHOW_MATCHES];
	reindent ri, ri_found;
	int rc, level, search_blank = 1;

	memset(&ri, 0, sizeof(ri));
	memset(&ri_found, 0, sizeof(ri_found));
	rc = lc_lines_split(blk->search, blk->search_len, &s, &ns);
	if (!rc)
		rc = lc_lines_split(blk->replace, blk->replace_len, &r, &nr);
	if (rc) {
		rc = lc_err_set(LC_ENOMEM, "edit: out of memory");
		goto done;
	}
	repl = malloc((nr ? nr : 1) * sizeof(*repl));
	if (!repl) {
		rc = lc_err_set(LC_ENOMEM, "edit: out of memory");
		goto done;
	}
	for (k = 0; k < ns; k++)
		if (!lc_lines_blank(s[k].s, s[k].len))
			search_blank = 0;

	if (search_blank) {
		applied->match = LC_EDIT_MATCH_APPEND;
		applied->old_count = 0;
		applied->new_count = nr;
		if (d->n == 0) {
			/* A new file: the REPLACE text exactly as given. */
			if (nr)
				memcpy(repl, r, nr * sizeof(*r));
			applied->line = 1;
			rc = doc_splice(d, 0, 0, repl, nr);
			goto done;
		}
		rc = build_replacement(d, r, nr, LC_EDIT_MATCH_EXACT, &ri, repl);
		if (rc)
			goto done;
		if (d->lines[d->n - 1].eol == LC_EOL_NONE && nr > 0) {
			d->lines[d->n - 1].eol = d->eol;
			repl[nr - 1].eol = LC_EOL_NONE;
		}
		applied->line = d->n + 1;
		rc = doc_splice(d, d->n, 0, repl, nr);
		goto done;
	}

	for (level = LC_EDIT_MATCH_EXACT; level <= LC_EDIT_MATCH_WHITESPACE; level++) {
		size_t p;

		for (p = 0; ns <= d->n && p <= d->n - ns; p++) {
			if (!match_at(d->lines + p, s, ns, (enum lc_edit_match)level, &ri))
				continue;
			if (nmatch == 0)
				ri_found = ri;
			if (npos < SHOW_MATCHES)
				pos[npos++] = p;
			nmatch++;
		}
		if (nmatch)
			break;
	}
	if (nmatch == 0) {
		rc = observe_missing(out, d, bi, nb, s, ns);
		goto done;
	}
	if (nmatch > 1) {
		rc = observe_ambiguous(out, bi, nb, (enum lc_edit_match)level, pos, npos, nmatch,
		                       ns);
		goto done;
	}
	rc = build_replacement(d, r, nr, (enum lc_edit_match)level, &ri_found, repl);
	if (rc)
		goto done;
	applied->match = (enum lc_edit_match)level;
	applied->line = pos[0] + 1;
	applied->old_count = ns;
	applied->new_count = nr;
	rc = doc_splice(d, pos[0], ns, repl, nr);
done:
	free(s);
	free(r);
	free(repl);
	return rc;
}

int lc_edit_apply(lc_edit_result *out, const char *text, size_t len, const lc_edit_block *blocks,
                  size_t n)
{
	doc d;
	lc_edit_applied *applied = NULL;
	lc_buf b = LC_BUF_INIT(LC_EDIT_MAX_TEXT);
	lc_edit_result tmp = LC_EDIT_RESULT_INIT;
	size_t i;
	int rc;

	memset(&d, 0, sizeof(d));
	lc_arena_init(&d.arena, 2 * LC_EDIT_MAX_TEXT);
	if (len > LC_EDIT_MAX_TEXT) {
		rc = lc_err_set(LC_ETOOBIG, "edit: text of %zu bytes is larger than %zu", len,
		                LC_EDIT_MAX_TEXT);
		goto done;
	}
	if (n > LC_EDIT_MAX_BLOCKS) {
		rc = lc_err_set(LC_ETOOBIG, "edit: more than %d blocks", LC_EDIT_MAX_BLOCKS);
		goto done;
	}
	rc = lc_lines_split(text, len, &d.lines, &d.n);
	if (rc) {
		rc = lc_err_set(LC_ENOMEM, "edit: out of memory");
		goto done;
	}
	d.cap = d.n;
	d.eol = lc_lines_eol(d.lines, d.n);
	applied = calloc(n ? n : 1, sizeof(*applied));
	if (!applied) {
		rc = lc_err_set(LC_ENOMEM, "edit: out of memory");
		goto done;
	}
	for (i = 0; i < n; i++) {
		rc = apply_block(&tmp, &d, &blocks[i], i, n, &applied[i]);
		if (rc) {
			if (tmp.observation) {
				out->observation = tmp.observation;
				out->failed_block = tmp.failed_block;
				tmp.observation = NULL;
			}
			goto done;
		}
	}
	rc = lc_lines_write(&b, d.lines, d.n);
	if (rc) {
		rc = rc == LC_ETOOBIG ? lc_err_set(rc, "edit: new text larger than %zu bytes",
		                                   LC_EDIT_MAX_TEXT)
		                      : lc_err_set(rc, "edit: out of memory");
		goto done;
	}
	out->text = lc_buf_take(&b, &out->len);
	if (!out->text) {
		rc = lc_err_set(LC_ENOMEM, "edit: out of memory");
		goto done;
	}
	for (i = 0; i < d.n_ranges; i++)
		d.ranges[i].start++;
	out->blocks = applied;
	out->n_blocks = n;
	out->ranges = d.ranges;
	out->n_ranges = d.n_ranges;
	applied = NULL;
	d.ranges = NULL;
done:
	lc_buf_release(&b);
	free(applied);
	free(d.lines);
	free(d.ranges);
	lc_arena_release(&d.arena);
	return rc;
}
