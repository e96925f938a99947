#include "tools/validate.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "src/err.h"
#include "src/banned.h"

/* Python's own limit on nested indentation levels (Parser/tokenizer.c MAXINDENT). */
#define PY_MAX_INDENT 100
#define PY_MAX_PAREN  200 /* CPython's MAXLEVEL: nested brackets */
/* Longest periodic block the repeat rule looks for, lines. */
#define REPEAT_MAX_BLOCK 200

enum lang {
	LANG_OTHER,
	LANG_PY,
	LANG_C,
	LANG_CPP,
	LANG_JAVA,
	LANG_JS,
	LANG_GO,
	LANG_RUST,
	LANG_JSON
};

/* A refusal being built: the line (1-based) and the text. */
typedef struct finding {
	size_t line;
	char msg[384];
} finding;

static void say(finding *f, size_t line, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

static void say(finding *f, size_t line, const char *fmt, ...)
{
	va_list ap;

	f->line = line;
	va_start(ap, fmt);
	vsnprintf(f->msg, sizeof(f->msg), fmt, ap);
	va_end(ap);
}

static enum lang lang_of(const char *path)
{
	static const struct {
		const char *ext;
		enum lang lang;
	} map[] = {
	        {"py", LANG_PY},      {"pyi", LANG_PY},  {"c", LANG_C},     {"h", LANG_C},
	        {"cc", LANG_CPP},     {"cpp", LANG_CPP}, {"cxx", LANG_CPP}, {"hpp", LANG_CPP},
	        {"hh", LANG_CPP},     {"hxx", LANG_CPP}, {"c++", LANG_CPP}, {"ipp", LANG_CPP},
	        {"java", LANG_JAVA},  {"js", LANG_JS},   {"mjs", LANG_JS},  {"cjs", LANG_JS},
	        {"jsx", LANG_JS},     {"ts", LANG_JS},   {"tsx", LANG_JS},  {"mts", LANG_JS},
	        {"cts", LANG_JS},     {"go", LANG_GO},   {"rs", LANG_RUST}, {"json", LANG_JSON},
	        {"jsonc", LANG_JSON},
	};
	const char *base, *dot;
	size_t i;

	if (!path)
		return LANG_OTHER;
	base = strrchr(path, '/');
	base = base ? base + 1 : path;
	dot = strrchr(base, '.');
	if (!dot || dot == base)
		return LANG_OTHER;
	for (i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strcmp(dot + 1, map[i].ext) == 0)
			return map[i].lang;
	return LANG_OTHER;
}

static int in_ranges(const lc_line_range *r, size_t n, size_t line)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (line >= r[i].start && line < r[i].start + r[i].count)
			return 1;
	return 0;
}

/* ---- repeated blocks ------------------------------------------------------------------- */

static int line_eq(const lc_line *a, const lc_line *b)
{
	return a->len == b->len && memcmp(a->s, b->s, a->len) == 0;
}

/* Most copies in a row of block (p lines) anywhere in l. */
static size_t max_copies(const lc_line *l, size_t n, const lc_line *block, size_t p)
{
	size_t best = 0, j, k, c;

	for (j = 0; j + p <= n; j++) {
		for (c = 0; j + (c + 1) * p <= n; c++) {
			for (k = 0; k < p && line_eq(&l[j + c * p + k], &block[k]); k++)
				;
			if (k < p)
				break;
		}
		if (c > best)
			best = c;
	}
	return best;
}

static int check_repeat(const lc_line *o, size_t no, const lc_line *l, size_t n,
                        const lc_validate_opts *opts, finding *f)
{
	size_t p, i, maxp, limit = opts->max_repeats;

	if (opts->min_block_lines == 0 || limit == 0)
		return 0;
	maxp = n / (limit + 1);
	if (maxp > REPEAT_MAX_BLOCK)
		maxp = REPEAT_MAX_BLOCK;
	for (p = opts->min_block_lines; p <= maxp; p++) {
		size_t run = 0;
		int skip = 0;

		for (i = 0; i + p < n; i++) {
			size_t s, k, copies;
			int blank = 1;

			if (!line_eq(&l[i], &l[i + p])) {
				run = 0;
				skip = 0;
				continue;
			}
			run++;
			if (skip || run < limit * p)
				continue;
			s = i + 1 - run;
			for (k = 0; k < p; k++)
				if (!lc_lines_blank(l[s + k].s, l[s + k].len))
					blank = 0;
			if (blank || (o && max_copies(o, no, &l[s], p) > limit)) {
				skip = 1;
				continue;
			}
			copies = max_copies(l + s, n - s, &l[s], p);
			say(f, s + 1,
			    "the same %zu-line block is repeated %zu times in a row (lines "
			    "%zu-%zu); "
			    "the output looks like a loop",
			    p, copies, s + 1, s + copies * p);
			return 1;
		}
	}
	return 0;
}

/* ---- elision placeholders -------------------------------------------------------------- */

static int is_placeholder(const char *s, size_t len)
{
	static const char *const strong[] = {
	        "existing code",
	        "rest of the code",
	        "rest of code",
	        "rest of the file",
	        "rest of file",
	        "rest of the function",
	        "rest of function",
	        "rest of the class",
	        "rest of class",
	        "rest of the method",
	        "rest of method",
	        "rest of the implementation",
	        "rest of the body",
	        "rest unchanged",
	        "remains unchanged",
	        "remain unchanged",
	        "code unchanged",
	        "unchanged code",
	        "same as before",
	        "omitted for brevity",
	        "code omitted",
	        "previous code",
	        "remaining code",
	        "other methods",
	        "existing methods",
	        "existing implementation",
	        "existing imports",
	        "keep existing",
	        "remains the same",
	        "stays the same",
	        "rest of the file unchanged",
	        "lines omitted",
	        "unchanged lines",
	};
	static const char *const weak[] = {"unchanged", "rest", "existing", "remaining", "omitted",
	                                   "same",      "etc",  "other",    "more"};
	char norm[260];
	size_t i = lc_lines_indent(s, len), n = 1, k;
	int ellipsis = 0, leader = 0;
	const char *t = s + i;
	size_t tl;

	len = lc_lines_rstrip(s, len);
	tl = len > i ? len - i : 0;
	if (tl == 0)
		return 0;
	if (t[0] == '#' || t[0] == '*' || t[0] == ';' || t[0] == '[' ||
	    (tl >= 2 && (memcmp(t, "//", 2) == 0 || memcmp(t, "/*", 2) == 0 ||
	                 memcmp(t, "--", 2) == 0 || memcmp(t, "{/", 2) == 0)) ||
	    (tl >= 4 && memcmp(t, "<!--", 4) == 0) || (tl >= 3 && memcmp(t, "...", 3) == 0) ||
	    (tl >= 3 && memcmp(t, "\xe2\x80\xa6", 3) == 0))
		leader = 1;
	if (!leader)
		return 0;
	norm[0] = ' ';
	for (k = 0; k < tl && n < sizeof(norm) - 2; k++) {
		unsigned char c = (unsigned char)t[k];

		if (c == '.' && k + 2 < tl && t[k + 1] == '.' && t[k + 2] == '.')
			ellipsis = 1;
		if (c == 0xe2 && k + 2 < tl && (unsigned char)t[k + 1] == 0x80 &&
		    (unsigned char)t[k + 2] == 0xa6)
			ellipsis = 1;
		if (c >= 'A' && c <= 'Z')
			c = (unsigned char)(c - 'A' + 'a');
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')))
			c = ' ';
		if (c == ' ' && norm[n - 1] == ' ')
			continue;
		norm[n++] = (char)c;
	}
	if (norm[n - 1] != ' ')
		norm[n++] = ' ';
	norm[n] = '\0';
	for (k = 0; k < sizeof(strong) / sizeof(strong[0]); k++) {
		char pat[64];

		snprintf(pat, sizeof(pat), " %s ", strong[k]);
		if (strstr(norm, pat))
			return 1;
	}
	if (!ellipsis)
		return 0;
	for (k = 0; k < sizeof(weak) / sizeof(weak[0]); k++) {
		char pat[32];

		snprintf(pat, sizeof(pat), " %s ", weak[k]);
		if (strstr(norm, pat))
			return 1;
	}
	return 0;
}

static int check_elision(const lc_line *o, size_t no, const lc_line *l, const lc_lines_hunk *h,
                         size_t nh, finding *f)
{
	size_t i, k, j;

	for (i = 0; i < nh; i++) {
		size_t removed = 0, added = 0, first = SIZE_MAX;

		for (k = 0; k < h[i].b_count; k++) {
			const lc_line *x = &l[h[i].b_start + k];
			int known = 0;

			if (lc_lines_blank(x->s, x->len))
				continue;
			if (!is_placeholder(x->s, x->len)) {
				added++;
				continue;
			}
			for (j = 0; j < no && !known; j++)
				known = lc_lines_eq_norm(o[j].s, o[j].len, x->s, x->len);
			if (!known && first == SIZE_MAX)
				first = h[i].b_start + k;
		}
		if (first == SIZE_MAX)
			continue;
		for (k = 0; k < h[i].a_count; k++)
			if (!lc_lines_blank(o[h[i].a_start + k].s, o[h[i].a_start + k].len))
				removed++;
		if (removed > added) {
			size_t ind = lc_lines_indent(l[first].s, l[first].len);
			size_t tl = lc_lines_rstrip(l[first].s, l[first].len) - ind;
			int w = tl > 80 ? 80 : (int)tl;

			say(f, first + 1,
			    "'%.*s' stands in for %zu removed line%s; write the code out in full "
			    "or leave those lines out of the edit",
			    w, l[first].s + ind, removed, removed == 1 ? "" : "s");
			return 1;
		}
	}
	return 0;
}

/* ---- Python indentation ---------------------------------------------------------------- */

/*
 * Python reference, 2.1.8: indentation of each logical line (tabs to the next
 * multiple of 8) is compared with a stack; the tokenizer also measures with a
 * tab size of 1 and reports inconsistent tabs/spaces when the two disagree.
 * Brackets outside strings and comments must match as CPython's tokenizer
 * has them (Parser/tokenizer.c; its messages), and a triple-quoted string
 * must end.
 */
static int check_python(const lc_line *l, size_t n, finding *f)
{
	size_t c8s[PY_MAX_INDENT + 1], c1s[PY_MAX_INDENT + 1];
	size_t top = 0, i, colon_line = 0;
	int depth = 0, cont = 0, pending = 0;
	char q = 0; /* open string quote */
	int triple = 0;
	size_t q_line = 0;
	char br[PY_MAX_PAREN]; /* the open brackets, and their lines */
	size_t br_line[PY_MAX_PAREN];

	c8s[0] = 0;
	c1s[0] = 0;
	for (i = 0; i < n; i++) {
		const char *s = l[i].s;
		size_t len = l[i].len, k = 0;
		char last = 0;

		if (!q && depth == 0 && !cont) {
			size_t c8 = 0, c1 = 0;

			for (k = 0; k < len && (s[k] == ' ' || s[k] == '\t' || s[k] == '\f'); k++) {
				if (s[k] == '\t') {
					c8 = (c8 / 8 + 1) * 8;
					c1++;
				} else if (s[k] == ' ') {
					c8++;
					c1++;
				} else {
					c8 = c1 = 0;
				}
			}
			if (k == len || s[k] == '#')
				continue; /* blank or comment-only: no INDENT/DEDENT */
			if (pending) {
				if (c8 <= c8s[top]) {
					say(f, i + 1, "expected an indented block after line %zu",
					    colon_line);
					return 1;
				}
				if (c1 <= c1s[top]) {
					say(f, i + 1,
					    "inconsistent use of tabs and spaces in indentation");
					return 1;
				}
				if (top == PY_MAX_INDENT) {
					say(f, i + 1, "too many levels of indentation");
					return 1;
				}
				top++;
				c8s[top] = c8;
				c1s[top] = c1;
			} else if (c8 > c8s[top]) {
				say(f, i + 1, "unexpected indent (no line ending in ':' opens it)");
				return 1;
			} else {
				while (top > 0 && c8 < c8s[top])
					top--;
				if (c8 != c8s[top]) {
					say(f, i + 1,
					    "unindent does not match any outer indentation level");
					return 1;
				}
				if (c1 != c1s[top]) {
					say(f, i + 1,
					    "inconsistent use of tabs and spaces in indentation");
					return 1;
				}
			}
			pending = 0;
		}
		cont = 0;
		for (; k < len; k++) {
			char c = s[k];

			if (q) {
				if (c == '\\') {
					k++;
				} else if (c == q && (!triple || (k + 2 < len && s[k + 1] == q &&
				                                  s[k + 2] == q))) {
					if (triple)
						k += 2;
					q = 0;
					last = c;
				}
				continue;
			}
			if (c == '#')
				break;
			if (c == '"' || c == '\'') {
				q = c;
				q_line = i + 1;
				triple = k + 2 < len && s[k + 1] == c && s[k + 2] == c;
				if (triple)
					k += 2;
				continue;
			}
			if (c == '\\' && k + 1 == len) {
				cont = 1;
				break;
			}
			if (c == '(' || c == '[' || c == '{') {
				if (depth == PY_MAX_PAREN) {
					say(f, i + 1, "too many nested parentheses");
					return 1;
				}
				br[depth] = c;
				br_line[depth++] = i + 1;
			} else if (c == ')' || c == ']' || c == '}') {
				char want = c == ')' ? '(' : c == ']' ? '[' : '{';
				if (depth == 0) {
					say(f, i + 1, "unmatched '%c'", c);
					return 1;
				}
				if (br[depth - 1] != want) {
					say(f, i + 1,
					    "closing parenthesis '%c' does not match opening "
					    "parenthesis '%c' on line %zu",
					    c, br[depth - 1], br_line[depth - 1]);
					return 1;
				}
				depth--;
			}
			if (c != ' ' && c != '\t' && c != '\f' && c != '\r')
				last = c;
		}
		/* A backslash before the line end continues a short string (rare); a bare newline
		 * ends it. */
		if (q && !triple) {
			if (len > 0 && s[len - 1] == '\\')
				cont = 1;
			else
				q = 0;
		}
		if (!q && depth == 0 && !cont && last != 0) {
			pending = last == ':';
			if (pending)
				colon_line = i + 1;
		}
	}
	if (q) {
		say(f, q_line, "unterminated triple-quoted string literal");
		return 1;
	}
	if (depth > 0) {
		say(f, br_line[depth - 1], "'%c' was never closed", br[depth - 1]);
		return 1;
	}
	if (pending) {
		say(f, colon_line, "expected an indented block after this line");
		return 1;
	}
	return 0;
}

/* ---- brackets, strings and comments ---------------------------------------------------- */

typedef struct open_br {
	char c;
	int tmpl; /* '{' of a JavaScript template's ${ */
	size_t line;
} open_br;

typedef struct scan {
	const char *t;
	size_t len, i, line;
	enum lang lang;
	open_br *st;
	size_t n, cap;
} scan;

static int is_ident(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || (unsigned char)c >= 0x80;
}

static int push_br(scan *z, char c, int tmpl)
{
	if (z->n == z->cap) {
		size_t ncap = z->cap ? z->cap * 2 : 64;
		open_br *p = realloc(z->st, ncap * sizeof(*p));

		if (!p)
			return LC_ENOMEM;
		z->st = p;
		z->cap = ncap;
	}
	z->st[z->n].c = c;
	z->st[z->n].tmpl = tmpl;
	z->st[z->n].line = z->line;
	z->n++;
	return 0;
}

/* Advance over t[i], counting lines. */
static void step(scan *z)
{
	if (z->t[z->i] == '\n')
		z->line++;
	z->i++;
}

/* Scan a quoted literal from just after the opening quote; 1 when it never closes. */
static int skip_quoted(scan *z, char q, int multiline, finding *f)
{
	size_t start = z->line;

	while (z->i < z->len) {
		char c = z->t[z->i];

		if (c == '\\' && z->i + 1 < z->len) {
			step(z);
			step(z);
			continue;
		}
		if (c == '\n' && !multiline) {
			say(f, start, "%s not closed on its line",
			    q == '\'' && z->lang != LANG_JS ? "character literal" : "string");
			return 1;
		}
		step(z);
		if (c == q)
			return 0;
	}
	say(f, start, "string opened here is never closed");
	return 1;
}

/* Skip until the byte string end (after it); 1 when it never comes. */
static int skip_to(scan *z, const char *end, size_t elen, const char *what, finding *f)
{
	size_t start = z->line;

	while (z->i < z->len) {
		if (z->len - z->i >= elen && memcmp(z->t + z->i, end, elen) == 0) {
			z->i += elen;
			return 0;
		}
		step(z);
	}
	say(f, start, "%s opened here is never closed", what);
	return 1;
}

/* The last character before i that is not whitespace, 0 at the start. */
static char prev_sig(const scan *z)
{
	size_t j = z->i;

	while (j > 0) {
		char c = z->t[--j];

		if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
			return c;
	}
	return 0;
}

/* 1 when the identifier just before i is one after which '/' starts a regex. */
static int after_keyword(const scan *z)
{
	static const char *const kw[] = {"return", "typeof", "case",  "do",    "else",   "in",
	                                 "of",     "void",   "yield", "await", "delete", "throw"};
	size_t j = z->i, e, k;

	while (j > 0 && (z->t[j - 1] == ' ' || z->t[j - 1] == '\t'))
		j--;
	e = j;
	while (j > 0 && is_ident(z->t[j - 1]))
		j--;
	for (k = 0; k < sizeof(kw) / sizeof(kw[0]); k++)
		if (e - j == strlen(kw[k]) && memcmp(z->t + j, kw[k], e - j) == 0)
			return 1;
	return 0;
}

/* Template literal body from just after '`' or a closing '}' of ${; 1 on error. */
static int skip_template(scan *z, finding *f, int *opened_expr)
{
	size_t start = z->line;

	*opened_expr = 0;
	while (z->i < z->len) {
		char c = z->t[z->i];

		if (c == '\\' && z->i + 1 < z->len) {
			step(z);
			step(z);
			continue;
		}
		if (c == '`') {
			z->i++;
			return 0;
		}
		if (c == '$' && z->i + 1 < z->len && z->t[z->i + 1] == '{') {
			z->i += 2;
			*opened_expr = 1;
			return 0;
		}
		step(z);
	}
	say(f, start, "template string opened here is never closed");
	return 1;
}

static int scan_code(scan *z, finding *f)
{
	enum lang lg = z->lang;
	int c_like = lg == LANG_C || lg == LANG_CPP;
	int line_start = 1, rc;

	while (z->i < z->len) {
		char c = z->t[z->i];
		char nx = z->i + 1 < z->len ? z->t[z->i + 1] : 0;

		if (c == '\n') {
			step(z);
			line_start = 1;
			continue;
		}
		if (c == ' ' || c == '\t' || c == '\r' || c == '\f') {
			z->i++;
			continue;
		}
		/* C preprocessor lines (with their continuations) are not code: skip them. */
		if (c_like && line_start && c == '#') {
			while (z->i < z->len && z->t[z->i] != '\n') {
				if (z->t[z->i] == '\\' && z->i + 1 < z->len &&
				    z->t[z->i + 1] == '\n')
					step(z);
				else if (z->t[z->i] == '\\' && z->i + 2 < z->len &&
				         z->t[z->i + 1] == '\r' && z->t[z->i + 2] == '\n')
					z->i++;
				step(z);
			}
			continue;
		}
		line_start = 0;
		if (c == '/' && nx == '/') {
			while (z->i < z->len && z->t[z->i] != '\n')
				z->i++;
			continue;
		}
		if (c == '/' && nx == '*') {
			size_t start = z->line, nest = 1;

			z->i += 2;
			while (z->i < z->len && nest > 0) {
				if (z->t[z->i] == '*' && z->i + 1 < z->len &&
				    z->t[z->i + 1] == '/') {
					nest--;
					z->i += 2;
				} else if (lg == LANG_RUST && z->t[z->i] == '/' &&
				           z->i + 1 < z->len && z->t[z->i + 1] == '*') {
					nest++;
					z->i += 2;
				} else {
					step(z);
				}
			}
			if (nest > 0) {
				say(f, start, "comment opened here is never closed");
				return 1;
			}
			continue;
		}
		if (c == '"') {
			if (lg == LANG_JAVA && nx == '"' && z->i + 2 < z->len &&
			    z->t[z->i + 2] == '"') {
				z->i += 3;
				if (skip_to(z, "\"\"\"", 3, "text block", f))
					return 1;
				continue;
			}
			/* C++ raw string R"delim( ... )delim" */
			if (lg == LANG_CPP && z->i > 0 && z->t[z->i - 1] == 'R' &&
			    (z->i < 2 || !is_ident(z->t[z->i - 2]) || z->t[z->i - 2] == '8' ||
			     z->t[z->i - 2] == 'u' || z->t[z->i - 2] == 'U' ||
			     z->t[z->i - 2] == 'L')) {
				char end[20];
				size_t d = 0;

				z->i++;
				while (z->i + d < z->len && d < 16 && z->t[z->i + d] != '(')
					d++;
				if (z->i + d < z->len && z->t[z->i + d] == '(') {
					end[0] = ')';
					memcpy(end + 1, z->t + z->i, d);
					end[d + 1] = '"';
					z->i += d + 1;
					if (skip_to(z, end, d + 2, "raw string", f))
						return 1;
					continue;
				}
				z->i--;
			}
			z->i++;
			if (skip_quoted(z, '"', lg == LANG_RUST, f))
				return 1;
			continue;
		}
		if (lg == LANG_RUST && c == 'r' && (nx == '#' || nx == '"') &&
		    (z->i == 0 || !is_ident(z->t[z->i - 1]) || z->t[z->i - 1] == 'b')) {
			size_t h = 0;
			char end[260];

			while (z->i + 1 + h < z->len && z->t[z->i + 1 + h] == '#' && h < 255)
				h++;
			if (z->i + 1 + h < z->len && z->t[z->i + 1 + h] == '"') {
				end[0] = '"';
				memset(end + 1, '#', h);
				z->i += 2 + h;
				if (skip_to(z, end, h + 1, "raw string", f))
					return 1;
				continue;
			}
		}
		if (c == '\'') {
			if (lg == LANG_JSON) {
				z->i++;
				continue;
			}
			if (lg == LANG_RUST) {
				/* 'x', '\n', '\u{..}' are characters; 'a without a closing quote a
				 * lifetime. */
				size_t k = z->i + 1, cl;

				if (k < z->len && z->t[k] != '\\') {
					cl = 1;
					while (k + cl < z->len &&
					       ((unsigned char)z->t[k + cl] & 0xc0) == 0x80)
						cl++;
					if (k + cl >= z->len || z->t[k + cl] != '\'') {
						z->i++;
						continue;
					}
				}
			}
			if (c_like && z->i > 0 && is_ident(z->t[z->i - 1])) {
				/* 1'000'000 (C23, C++14): a separator when the token began with a
				 * digit */
				size_t j = z->i;

				while (j > 0 && (is_ident(z->t[j - 1]) || z->t[j - 1] == '\''))
					j--;
				if (z->t[j] >= '0' && z->t[j] <= '9') {
					z->i++;
					continue;
				}
			}
			z->i++;
			if (skip_quoted(z, '\'', 0, f))
				return 1;
			continue;
		}
		if (c == '`' && (lg == LANG_GO || lg == LANG_JS)) {
			z->i++;
			if (lg == LANG_GO) {
				if (skip_to(z, "`", 1, "raw string", f))
					return 1;
			} else {
				int expr;

				if (skip_template(z, f, &expr))
					return 1;
				if (expr && push_br(z, '{', 1))
					return LC_ENOMEM;
			}
			continue;
		}
		if (c == '/' && lg == LANG_JS) {
			char p = prev_sig(z);

			if (p == 0 || strchr("(,=:[!&|?{};+-*%~^", p) || after_keyword(z)) {
				size_t start = z->line;
				int cls = 0;

				z->i++;
				while (z->i < z->len && z->t[z->i] != '\n') {
					char r = z->t[z->i];

					if (r == '\\') {
						z->i += 2;
						continue;
					}
					z->i++;
					if (r == '[')
						cls = 1;
					else if (r == ']')
						cls = 0;
					else if (r == '/' && !cls)
						break;
				}
				if (z->i > z->len || z->t[z->i - 1] != '/') {
					say(f, start, "regular expression not closed on its line");
					return 1;
				}
				continue;
			}
		}
		if (c == '(' || c == '[' || c == '{') {
			rc = push_br(z, c, 0);
			if (rc)
				return rc;
			z->i++;
			continue;
		}
		if (c == ')' || c == ']' || c == '}') {
			char want = c == ')' ? '(' : c == ']' ? '[' : '{';

			if (z->n == 0) {
				say(f, z->line, "'%c' has no opening '%c'", c, want);
				return 1;
			}
			if (z->st[z->n - 1].c != want) {
				say(f, z->line, "'%c' does not match the '%c' opened on line %zu",
				    c, z->st[z->n - 1].c, z->st[z->n - 1].line);
				return 1;
			}
			z->n--;
			z->i++;
			if (z->st[z->n].tmpl) {
				int expr;

				if (skip_template(z, f, &expr))
					return 1;
				if (expr && push_br(z, '{', 1))
					return LC_ENOMEM;
			}
			continue;
		}
		z->i++;
	}
	if (z->n > 0) {
		say(f, z->st[0].line, "'%c' opened here is never closed", z->st[0].c);
		return 1;
	}
	return 0;
}

/* 1 with f set when the text is unbalanced, 0 when balanced, LC_ENOMEM. */
static int check_brackets(const char *t, size_t len, enum lang lg, finding *f)
{
	scan z;
	int rc;

	memset(&z, 0, sizeof(z));
	z.t = t;
	z.len = len;
	z.line = 1;
	z.lang = lg;
	rc = scan_code(&z, f);
	free(z.st);
	return rc;
}

/* ---- tabs and spaces ------------------------------------------------------------------- */

/* ' ' or '\t' for the character that starts an indentation, 0 for none or one lone space. */
static char indent_kind(const lc_line *x)
{
	size_t ind = lc_lines_indent(x->s, x->len);

	if (ind == 0 || lc_lines_blank(x->s, x->len))
		return 0;
	if (ind == 1 && x->s[0] == ' ')
		return 0;
	return x->s[0] == '\t' ? '\t' : x->s[0] == ' ' ? ' ' : 0;
}

static int check_indent(const lc_line *o, size_t no, const lc_line *l, size_t n,
                        const lc_lines_hunk *h, size_t nh, const lc_line_range *r, size_t nr,
                        finding *f)
{
	char old_kind = 0, want;
	int old_mixed = 0, new_tab = 0, new_space = 0;
	size_t i, k, bad = SIZE_MAX;

	/* Lines the edit did not target must keep their indentation. */
	for (i = 0; r && i < nh; i++) {
		for (k = 0; k < h[i].a_count && k < h[i].b_count; k++) {
			const lc_line *a = &o[h[i].a_start + k], *b = &l[h[i].b_start + k];
			size_t ia = lc_lines_indent(a->s, a->len),
			       ib = lc_lines_indent(b->s, b->len);

			if (in_ranges(r, nr, h[i].b_start + k + 1) || lc_lines_blank(a->s, a->len))
				continue;
			if ((ia != ib || memcmp(a->s, b->s, ia) != 0) &&
			    lc_lines_eq_rstrip(a->s + ia, a->len - ia, b->s + ib, b->len - ib)) {
				say(f, h[i].b_start + k + 1,
				    "indentation changed on a line the edit did not target");
				return 1;
			}
		}
	}
	for (i = 0; i < no; i++) {
		char kd = indent_kind(&o[i]);

		if (kd && old_kind && kd != old_kind)
			old_mixed = 1;
		if (kd && !old_kind)
			old_kind = kd;
	}
	if (old_mixed)
		return 0;
	for (i = 0; i < n; i++) {
		char kd = indent_kind(&l[i]);

		new_tab |= kd == '\t';
		new_space |= kd == ' ';
	}
	if (!new_tab || !new_space)
		return 0;
	want = old_kind;
	for (i = 0; !want && i < n; i++)
		want = indent_kind(&l[i]);
	/* Name a line the edit made if there is one, else the first odd line. */
	for (i = 0; i < n; i++) {
		char kd = indent_kind(&l[i]);

		if (!kd || kd == want)
			continue;
		if (bad == SIZE_MAX)
			bad = i;
		if (!r || in_ranges(r, nr, i + 1)) {
			bad = i;
			break;
		}
	}
	say(f, bad + 1, "indented with %s where the file indents with %s",
	    want == '\t' ? "spaces" : "tabs", want == '\t' ? "tabs" : "spaces");
	return 1;
}

/* ---- the entry point ------------------------------------------------------------------- */

int lc_validate(const char *path, const char *old_text, size_t old_len, const char *new_text,
                size_t new_len, const lc_line_range *ranges, size_t n_ranges,
                const lc_validate_opts *opts, char **reason, unsigned *rule_out)
{
	lc_validate_opts def = LC_VALIDATE_OPTS_INIT;
	lc_line *o = NULL, *l = NULL;
	lc_lines_hunk *h = NULL;
	size_t no = 0, n = 0, nh = 0;
	enum lang lg = lang_of(path);
	finding f, g;
	unsigned rule = 0;
	int rc = 0, hit;

	if (!opts)
		opts = &def;
	memset(&f, 0, sizeof(f));
	if ((opts->rules & LC_VALIDATE_NOCHANGE) && old_text && old_len == new_len &&
	    (old_len == 0 || memcmp(old_text, new_text, old_len) == 0)) {
		rule = LC_VALIDATE_NOCHANGE;
		say(&f, 1, "the edit changes nothing");
		goto refuse;
	}
	if (lc_lines_split(old_text, old_len, &o, &no) ||
	    lc_lines_split(new_text, new_len, &l, &n) || lc_lines_diff(o, no, l, n, &h, &nh)) {
		rc = lc_err_set(LC_ENOMEM, "validate: out of memory");
		goto done;
	}
	if ((opts->rules & LC_VALIDATE_REPEAT) && check_repeat(o, no, l, n, opts, &f)) {
		rule = LC_VALIDATE_REPEAT;
		goto refuse;
	}
	if ((opts->rules & LC_VALIDATE_ELISION) && check_elision(o, no, l, h, nh, &f)) {
		rule = LC_VALIDATE_ELISION;
		goto refuse;
	}
	if ((opts->rules & LC_VALIDATE_PYTHON) && lg == LANG_PY && !check_python(o, no, &g) &&
	    check_python(l, n, &f)) {
		rule = LC_VALIDATE_PYTHON;
		goto refuse;
	}
	if ((opts->rules & LC_VALIDATE_BRACKETS) && lg != LANG_PY && lg != LANG_OTHER) {
		hit = check_brackets(new_text, new_len, lg, &f);
		if (hit < 0 || (hit && (rc = check_brackets(old_text, old_len, lg, &g)) < 0)) {
			rc = lc_err_set(LC_ENOMEM, "validate: out of memory");
			goto done;
		}
		if (hit && rc == 0) {
			rule = LC_VALIDATE_BRACKETS;
			goto refuse;
		}
		rc = 0;
	}
	if ((opts->rules & LC_VALIDATE_INDENT) &&
	    check_indent(o, no, l, n, h, nh, ranges, n_ranges, &f)) {
		rule = LC_VALIDATE_INDENT;
		goto refuse;
	}
	goto done;
refuse:
	rc = lc_err_set(LC_EDENIED, "validate: %s:%zu: %s", path ? path : "(text)", f.line, f.msg);
	if (reason) {
		size_t need = strlen(f.msg) + (path ? strlen(path) : 6) + 32;
		char *p = malloc(need);

		if (!p) {
			rc = LC_ENOMEM;
			goto done;
		}
		snprintf(p, need, "%s:%zu: %s", path ? path : "(text)", f.line, f.msg);
		*reason = p;
	}
	if (rule_out)
		*rule_out = rule;
done:
	free(o);
	free(l);
	free(h);
	return rc;
}
