#include "tools/fs.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <git2.h>
#include <pcre2.h>

#include "src/err.h"
#include "src/file.h"
#include "tools/repo_int.h"
#include "src/banned.h"

/* Room kept at the end of every output for the closing note. */
#define NOTE_RESERVE 200

/* Most paths collected from the index and the work tree. */
#define COLLECT_MAX 2000000

/* PCRE2 limits against patterns that backtrack without end. */
#define SEARCH_MATCH_LIMIT 1000000
#define SEARCH_DEPTH_LIMIT 10000

/* ---- output with a byte budget ---------------------------------------- */

/*
 * The observation being written: out->len may grow up to end; the last
 * NOTE_RESERVE bytes of the allowance are kept for the closing note.
 */
struct sink {
	lc_buf *out;
	size_t end;  /* out->len stays <= end while writing body text */
	size_t hard; /* out->len stays <= hard, notes included */
};

static void sink_init(struct sink *k, lc_buf *out, size_t max_bytes)
{
	size_t room = out->max > out->len ? out->max - out->len : 0;

	if (max_bytes < room)
		room = max_bytes;
	k->out = out;
	k->hard = out->len + room;
	k->end = room > NOTE_RESERVE ? k->hard - NOTE_RESERVE : out->len;
}

/* 1 when n more body bytes fit. */
static int sink_fits(const struct sink *k, size_t n)
{
	return n <= k->end - k->out->len;
}

static int sink_add(struct sink *k, const void *p, size_t n)
{
	int rc = lc_buf_add(k->out, p, n);

	return rc == LC_ENOMEM ? lc_err_set(rc, "out of memory writing tool output") : rc;
}

/* A closing note; it is dropped when even the reserve cannot hold it. */
static int sink_note(struct sink *k, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int sink_note(struct sink *k, const char *fmt, ...)
{
	char note[NOTE_RESERVE];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(note, sizeof(note), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(note) || (size_t)n > k->hard - k->out->len)
		return 0;
	return sink_add(k, note, (size_t)n);
}

/* Length of s cut to at most max bytes without splitting a UTF-8 sequence. */
static size_t utf8_cut(const char *s, size_t len, size_t max)
{
	if (len <= max)
		return len;
	while (max > 0 && ((unsigned char)s[max] & 0xC0) == 0x80)
		max--;
	return max;
}

static size_t digits(size_t v)
{
	size_t d = 1;

	while (v >= 10) {
		v /= 10;
		d++;
	}
	return d;
}

/* ---- globs -------------------------------------------------------------- */

/* Match a "[...]" class at *pp against c; advances *pp past ']'. -1: no ']' (literal). */
static int class_match(const char **pp, char c)
{
	const char *p = *pp + 1;
	int neg = 0, hit = 0;

	if (*p == '!' || *p == '^') {
		neg = 1;
		p++;
	}
	if (*p == ']') { /* a leading ']' is literal */
		hit |= c == ']';
		p++;
	}
	while (*p && *p != ']') {
		if (p[1] == '-' && p[2] && p[2] != ']') {
			hit |= (unsigned char)c >= (unsigned char)p[0] &&
			       (unsigned char)c <= (unsigned char)p[2];
			p += 3;
		} else {
			hit |= c == *p;
			p++;
		}
	}
	if (*p != ']')
		return -1;
	*pp = p + 1;
	return hit != neg;
}

static int glob_at(const char *p, const char *s, long *steps);

/* "{a,b}rest": try "a" + rest and "b" + rest. p points at '{'. -1: not a brace group. */
static int brace_match(const char *p, const char *s, long *steps)
{
	const char *close = p + 1, *alt;
	char pat[512];
	size_t rest_len;

	while (*close && *close != '}' && *close != '{')
		close++;
	if (*close != '}')
		return -1;
	rest_len = strlen(close + 1);
	alt = p + 1;
	for (;;) {
		size_t n = strcspn(alt, ",}");

		if (n + rest_len + 1 > sizeof(pat))
			return 0;
		memcpy(pat, alt, n);
		memcpy(pat + n, close + 1, rest_len + 1);
		if (glob_at(pat, s, steps) == 1)
			return 1;
		alt += n;
		if (*alt == '}')
			return 0;
		alt++;
	}
}

static int glob_at(const char *p, const char *s, long *steps)
{
	for (;;) {
		if (--*steps < 0)
			return 0;
		switch (*p) {
		case '\0':
			return *s == '\0';
		case '*':
			if (p[1] == '*') {
				const char *q = p + 2;

				/* "**" + "/" may match no directory at all */
				if (*q == '/' && glob_at(q + 1, s, steps))
					return 1;
				for (;; s++) {
					if (glob_at(q, s, steps))
						return 1;
					if (!*s)
						return 0;
				}
			}
			p++;
			for (;; s++) {
				if (glob_at(p, s, steps))
					return 1;
				if (!*s || *s == '/')
					return 0;
			}
		case '?':
			if (!*s || *s == '/')
				return 0;
			p++;
			s++;
			break;
		case '[': {
			int m;

			if (!*s || *s == '/')
				return 0;
			m = class_match(&p, *s);
			if (m == 0)
				return 0;
			if (m < 0) { /* no closing ']': a literal '[' */
				if (*s != '[')
					return 0;
				p++;
			}
			s++;
			break;
		}
		case '{': {
			int m = brace_match(p, s, steps);

			if (m >= 0)
				return m;
			if (*s != '{')
				return 0;
			p++;
			s++;
			break;
		}
		default:
			if (*p != *s)
				return 0;
			p++;
			s++;
		}
	}
}

int lc_fs_glob_match(const char *glob, const char *path)
{
	long steps = 200000;
	const char *base;

	if (!strchr(glob, '/')) {
		base = strrchr(path, '/');
		path = base ? base + 1 : path;
	} else if (glob[0] == '/') {
		glob++; /* anchored at the root, as in gitignore */
	}
	return glob_at(glob, path, &steps) == 1;
}

/* ---- the set of files ------------------------------------------------- */

struct pathvec {
	char **v;
	size_t n, cap;
};

static void pathvec_release(struct pathvec *pv)
{
	size_t i;

	for (i = 0; i < pv->n; i++)
		free(pv->v[i]);
	free(pv->v);
	pv->v = NULL;
	pv->n = pv->cap = 0;
}

static int pathvec_push(struct pathvec *pv, const char *s)
{
	if (pv->n == pv->cap) {
		size_t ncap = pv->cap ? pv->cap * 2 : 256;
		char **nv;

		if (ncap > COLLECT_MAX)
			return lc_err_set(LC_ETOOBIG, "more than %d files in the repository",
			                  COLLECT_MAX);
		nv = realloc(pv->v, ncap * sizeof(*nv));
		if (!nv)
			return lc_err_set(LC_ENOMEM, "out of memory listing files");
		pv->v = nv;
		pv->cap = ncap;
	}
	if (!(pv->v[pv->n] = strdup(s)))
		return lc_err_set(LC_ENOMEM, "out of memory listing files");
	pv->n++;
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* 1 when rel is prefix or lies below it ("" = everything). */
static int under_prefix(const char *rel, const char *prefix)
{
	size_t n = strlen(prefix);

	if (n == 0)
		return 1;
	return strncmp(rel, prefix, n) == 0 && (rel[n] == '\0' || rel[n] == '/');
}

/* 1 when a file (any type but a directory) is at root/rel. */
static int present(const char *root, const char *rel)
{
	char p[LC_REPO_PATH_MAX];
	struct stat st;
	int n = snprintf(p, sizeof(p), "%s/%s", root, rel);

	if (n < 0 || (size_t)n >= sizeof(p))
		return 0;
	return lstat(p, &st) == 0 && !S_ISDIR(st.st_mode);
}

/*
 * The files of `git ls-files --cached --others --exclude-standard` below
 * prefix that match glob (NULL = all), sorted, without duplicates.
 */
static int collect(lc_repo *repo, const char *prefix, const char *glob, struct pathvec *pv)
{
	git_repository *git = lc_repo_git(repo);
	git_status_options so;
	git_status_list *st = NULL;
	git_index *idx = NULL;
	char *spec[1];
	size_t i, n, w;
	int rc = 0;

	git_status_options_init(&so, GIT_STATUS_OPTIONS_VERSION);
	if (git_repository_index(&idx, git) < 0 || git_index_read(idx, 0) < 0) {
		rc = lc_repo_git_error(LC_EIO, "cannot read the index");
		goto out;
	}
	n = git_index_entrycount(idx);
	for (i = 0; i < n; i++) {
		const git_index_entry *e = git_index_get_byindex(idx, i);

		if (!e || e->mode == GIT_FILEMODE_COMMIT || !under_prefix(e->path, prefix))
			continue;
		if (glob && !lc_fs_glob_match(glob, e->path))
			continue;
		if (!present(lc_repo_root(repo), e->path))
			continue; /* deleted in the work tree */
		if ((rc = pathvec_push(pv, e->path)) < 0)
			goto out;
	}

	so.show = GIT_STATUS_SHOW_WORKDIR_ONLY;
	so.flags = GIT_STATUS_OPT_INCLUDE_UNTRACKED | GIT_STATUS_OPT_RECURSE_UNTRACKED_DIRS |
	           GIT_STATUS_OPT_EXCLUDE_SUBMODULES | GIT_STATUS_OPT_DISABLE_PATHSPEC_MATCH;
	if (*prefix) {
		spec[0] = (char *)prefix;
		so.pathspec.strings = spec;
		so.pathspec.count = 1;
	}
	if (git_status_list_new(&st, git, &so) < 0) {
		rc = lc_repo_git_error(LC_EIO, "cannot read the work tree status");
		goto out;
	}
	n = git_status_list_entrycount(st);
	for (i = 0; i < n; i++) {
		const git_status_entry *e = git_status_byindex(st, i);
		const char *p;
		size_t len;

		if (!e || !(e->status & GIT_STATUS_WT_NEW) || !e->index_to_workdir)
			continue;
		p = e->index_to_workdir->new_file.path;
		len = strlen(p);
		if (len == 0 || p[len - 1] == '/')
			continue; /* a nested repository */
		if (!under_prefix(p, prefix) || (glob && !lc_fs_glob_match(glob, p)))
			continue;
		if ((rc = pathvec_push(pv, p)) < 0)
			goto out;
	}

	if (pv->n > 1) {
		qsort(pv->v, pv->n, sizeof(*pv->v), cmp_str);
		for (i = 1, w = 1; i < pv->n; i++) {
			if (strcmp(pv->v[i], pv->v[w - 1]) == 0)
				free(pv->v[i]);
			else
				pv->v[w++] = pv->v[i];
		}
		pv->n = w;
	}
out:
	git_status_list_free(st);
	git_index_free(idx);
	return rc;
}

/*
 * Resolve a path argument for list_files / search: *prefix_out gets the
 * normalised repository-relative path ("" for the root) in buf.
 */
static int resolve_scope(lc_repo *repo, const char *tool, const char *path, char *buf, size_t cap,
                         const char **prefix_out)
{
	struct stat st;
	int rc;

	rc = lc_repo_resolve(repo, path ? path : "", 0, buf, cap);
	if (rc < 0)
		return rc;
	if (stat(buf, &st) < 0)
		return lc_err_set(LC_ENOTFOUND, "%s: no such file or directory '%s'", tool, path);
	*prefix_out = lc_repo_relative(repo, buf);
	return 0;
}

/* ---- read_file ---------------------------------------------------------- */

/* Append one numbered line; returns 1 when it did not fit (nothing appended). */
static int read_emit_line(struct sink *k, size_t num, int width, const char *s, size_t len,
                          size_t max_line, int *rc)
{
	char head[48], tail[48];
	size_t keep = utf8_cut(s, len, max_line);
	int hn, tn = 0;

	hn = snprintf(head, sizeof(head), "%*zu| ", width, num);
	if (keep < len)
		tn = snprintf(tail, sizeof(tail), " [... %zu more bytes]", len - keep);
	if (hn < 0 || tn < 0 || !sink_fits(k, (size_t)hn + keep + (size_t)tn + 1))
		return 1;
	if ((*rc = sink_add(k, head, (size_t)hn)) < 0 || (*rc = sink_add(k, s, keep)) < 0 ||
	    (*rc = sink_add(k, tail, (size_t)tn)) < 0 || (*rc = sink_add(k, "\n", 1)) < 0)
		return 1;
	return 0;
}

int lc_fs_read(lc_repo *repo, const char *path, const lc_fs_read_opts *opts, lc_buf *out)
{
	lc_fs_read_opts o = LC_FS_READ_OPTS_INIT;
	char abs[LC_REPO_PATH_MAX];
	struct sink k;
	struct stat st;
	char *data = NULL;
	size_t len = 0, total = 0, first, last, shown = 0, num, i, pos;
	int width, rc;

	if (opts)
		o = *opts;
	if (!path || !*path)
		return lc_err_set(LC_EPARSE, "read_file: a path is required");
	if ((rc = lc_repo_resolve(repo, path, 0, abs, sizeof(abs))) < 0)
		return rc;
	if (stat(abs, &st) < 0)
		return lc_err_set(errno == ENOENT || errno == ENOTDIR ? LC_ENOTFOUND : LC_EIO,
		                  "read_file: no such file '%s'", path);
	if (S_ISDIR(st.st_mode))
		return lc_err_set(LC_EPARSE, "read_file: '%s' is a directory; use list_files",
		                  path);
	if ((uintmax_t)st.st_size > LC_FS_FILE_MAX)
		return lc_err_set(LC_ETOOBIG,
		                  "read_file: '%s' has %jd bytes, more than the limit of %u; use "
		                  "search to find the part you need",
		                  path, (intmax_t)st.st_size, LC_FS_FILE_MAX);
	if ((rc = lc_file_read(abs, LC_FS_FILE_MAX, &data, &len)) < 0)
		return rc;
	if (memchr(data, '\0', len < LC_FS_BINARY_PROBE ? len : LC_FS_BINARY_PROBE)) {
		rc = lc_err_set(LC_EUNSUPPORTED, "read_file: '%s' is a binary file (%zu bytes)",
		                path, len);
		goto out;
	}

	for (i = 0; i < len; i++)
		total += data[i] == '\n';
	if (len > 0 && data[len - 1] != '\n')
		total++;
	sink_init(&k, out, o.max_bytes);
	if (total == 0) {
		rc = o.first_line > 1 ? lc_err_set(LC_EPARSE,
		                                   "read_file: '%s' is empty; there is no line %zu",
		                                   path, o.first_line)
		                      : sink_note(&k, "[empty file]\n");
		goto out;
	}
	first = o.first_line ? o.first_line : 1;
	last = o.last_line && o.last_line < total ? o.last_line : total;
	if (first > total) {
		rc = lc_err_set(LC_EPARSE,
		                "read_file: start=%zu is past the end of '%s' (%zu lines)", first,
		                path, total);
		goto out;
	}
	if (last < first) {
		rc = lc_err_set(LC_EPARSE, "read_file: end=%zu comes before start=%zu", last,
		                first);
		goto out;
	}
	width = (int)digits(total);

	/* Skip to the first line, then emit until the range or a cap ends. */
	for (pos = 0, num = 1; num < first; num++)
		pos = (size_t)((char *)memchr(data + pos, '\n', len - pos) - data) + 1;
	rc = 0;
	for (; num <= last; num++) {
		const char *nl = memchr(data + pos, '\n', len - pos);
		size_t end = nl ? (size_t)(nl - data) : len, tl = end - pos;

		if (tl > 0 && data[pos + tl - 1] == '\r')
			tl--;
		if (shown == o.max_lines ||
		    read_emit_line(&k, num, width, data + pos, tl, o.max_line, &rc))
			break;
		shown++;
		pos = end + 1;
	}
	if (rc < 0)
		goto out;
	if (num <= last)
		rc = sink_note(&k, "[... %zu more lines; read with start=%zu]\n", total - num + 1,
		               num);
	else if (shown == 0)
		rc = sink_note(&k, "[nothing shown: the output limit is too small]\n");
out:
	free(data);
	return rc;
}

/* ---- list_files ----------------------------------------------------------- */

int lc_fs_list(lc_repo *repo, const char *dir, const char *glob, const lc_fs_list_opts *opts,
               lc_buf *out)
{
	lc_fs_list_opts o = LC_FS_LIST_OPTS_INIT;
	char abs[LC_REPO_PATH_MAX];
	struct pathvec pv = {0};
	const char *prefix;
	struct sink k;
	size_t i;
	int rc;

	if (opts)
		o = *opts;
	if (glob && !*glob)
		glob = NULL;
	if ((rc = resolve_scope(repo, "list_files", dir, abs, sizeof(abs), &prefix)) < 0)
		return rc;
	if ((rc = collect(repo, prefix, glob, &pv)) < 0)
		goto out;
	sink_init(&k, out, o.max_bytes);
	for (i = 0; i < pv.n; i++) {
		size_t n = strlen(pv.v[i]);

		if (i == o.max_entries || !sink_fits(&k, n + 1))
			break;
		if ((rc = sink_add(&k, pv.v[i], n)) < 0 || (rc = sink_add(&k, "\n", 1)) < 0)
			goto out;
	}
	if (pv.n == 0)
		rc = sink_note(&k, "[no files]\n");
	else if (i < pv.n)
		rc = sink_note(&k, "[... %zu more files; narrow with dir or glob]\n", pv.n - i);
out:
	pathvec_release(&pv);
	return rc;
}

/* ---- search ------------------------------------------------------------- */

struct search {
	pcre2_code *code;
	pcre2_match_data *md;
	pcre2_match_context *mctx;
	struct sink k;
	size_t max_line;
	size_t max_matches;
	size_t matches; /* lines shown */
	size_t binary;  /* files skipped as binary */
	size_t big;     /* files skipped for size */
	size_t failed;  /* lines PCRE2 gave up on (match or depth limit) */
	int full;       /* a cap was reached */
};

/* Search one file's text; rc < 0 on a hard error. */
static int search_text(struct search *s, const char *rel, const char *data, size_t len)
{
	size_t pos = 0, num = 1;
	int rc = 0;

	while (pos < len) {
		const char *nl = memchr(data + pos, '\n', len - pos);
		size_t end = nl ? (size_t)(nl - data) : len, tl = end - pos;
		int m = pcre2_match(s->code, (PCRE2_SPTR)(data + pos), tl, 0, 0, s->md, s->mctx);

		if (m >= 0) {
			char head[64];
			size_t shown = tl, keep;
			int hn;

			if (shown > 0 && data[pos + shown - 1] == '\r')
				shown--;
			keep = utf8_cut(data + pos, shown, s->max_line);
			hn = snprintf(head, sizeof(head), ":%zu:", num);
			if (s->matches == s->max_matches ||
			    !sink_fits(&s->k, strlen(rel) + (size_t)hn + keep + 8)) {
				s->full = 1;
				return 0;
			}
			if ((rc = sink_add(&s->k, rel, strlen(rel))) < 0 ||
			    (rc = sink_add(&s->k, head, (size_t)hn)) < 0 ||
			    (rc = sink_add(&s->k, data + pos, keep)) < 0 ||
			    (keep < shown && (rc = sink_add(&s->k, " [...]", 6)) < 0) ||
			    (rc = sink_add(&s->k, "\n", 1)) < 0)
				return rc;
			s->matches++;
		} else if (m != PCRE2_ERROR_NOMATCH) {
			s->failed++;
		}
		pos = end + 1;
		num++;
	}
	return 0;
}

static int search_file(struct search *s, lc_repo *repo, const char *rel)
{
	char abs[LC_REPO_PATH_MAX];
	struct stat st;
	char *data = NULL;
	size_t len = 0;
	int rc;

	/* A tracked link that leads outside is skipped, not searched. */
	if (lc_repo_resolve(repo, rel, 0, abs, sizeof(abs)) < 0) {
		lc_err_clear();
		return 0;
	}
	if (stat(abs, &st) < 0 || !S_ISREG(st.st_mode))
		return 0;
	if ((uintmax_t)st.st_size > LC_FS_FILE_MAX) {
		s->big++;
		return 0;
	}
	rc = lc_file_read(abs, LC_FS_FILE_MAX, &data, &len);
	if (rc == LC_ENOMEM)
		return rc;
	if (rc < 0) { /* vanished or unreadable since the listing */
		lc_err_clear();
		return 0;
	}
	if (memchr(data, '\0', len < LC_FS_BINARY_PROBE ? len : LC_FS_BINARY_PROBE))
		s->binary++;
	else
		rc = search_text(s, rel, data, len);
	free(data);
	return rc;
}

int lc_fs_search(lc_repo *repo, const char *pattern, const char *path, const char *glob,
                 const lc_fs_search_opts *opts, lc_buf *out)
{
	lc_fs_search_opts o = LC_FS_SEARCH_OPTS_INIT;
	char abs[LC_REPO_PATH_MAX];
	struct search s = {0};
	struct pathvec pv = {0};
	const char *prefix;
	PCRE2_SIZE erroff = 0;
	uint32_t flags = PCRE2_UTF | PCRE2_MATCH_INVALID_UTF;
	size_t i;
	int errcode = 0, rc;

	if (opts)
		o = *opts;
	if (!pattern)
		return lc_err_set(LC_EPARSE, "search: a pattern is required");
	if (glob && !*glob)
		glob = NULL;
	if (o.ignore_case)
		flags |= PCRE2_CASELESS;
	s.code = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED, flags, &errcode, &erroff,
	                       NULL);
	if (!s.code) {
		PCRE2_UCHAR msg[256];

		if (pcre2_get_error_message(errcode, msg, sizeof(msg)) < 0)
			msg[0] = '\0';
		return lc_err_set(LC_EPARSE, "search: bad regex at offset %zu: %s", (size_t)erroff,
		                  (const char *)msg);
	}
	/* Without JIT (some platforms) the interpreter runs the same pattern. */
	(void)pcre2_jit_compile(s.code, PCRE2_JIT_COMPLETE);
	s.md = pcre2_match_data_create_from_pattern(s.code, NULL);
	s.mctx = pcre2_match_context_create(NULL);
	if (!s.md || !s.mctx) {
		rc = lc_err_set(LC_ENOMEM, "search: out of memory");
		goto out;
	}
	pcre2_set_match_limit(s.mctx, SEARCH_MATCH_LIMIT);
	pcre2_set_depth_limit(s.mctx, SEARCH_DEPTH_LIMIT);
	s.max_line = o.max_line;
	s.max_matches = o.max_matches;

	if ((rc = resolve_scope(repo, "search", path, abs, sizeof(abs), &prefix)) < 0)
		goto out;
	if ((rc = collect(repo, prefix, glob, &pv)) < 0)
		goto out;
	sink_init(&s.k, out, o.max_bytes);
	for (i = 0; i < pv.n && !s.full; i++)
		if ((rc = search_file(&s, repo, pv.v[i])) < 0)
			goto out;
	rc = 0;
	if (s.full)
		rc = sink_note(&s.k, "[... more matches not shown; narrow the pattern, path or "
		                     "glob]\n");
	else if (s.matches == 0)
		rc = sink_note(&s.k, "[no matches]\n");
	if (rc == 0 && (s.binary || s.big))
		rc = sink_note(&s.k, "[skipped %zu binary file(s), %zu file(s) over %u bytes]\n",
		               s.binary, s.big, LC_FS_FILE_MAX);
	if (rc == 0 && s.failed)
		rc = sink_note(&s.k, "[%zu line(s) hit the regex backtracking limit]\n", s.failed);
out:
	pathvec_release(&pv);
	pcre2_match_context_free(s.mctx);
	pcre2_match_data_free(s.md);
	pcre2_code_free(s.code);
	return rc;
}
