#include "tools/tool.h"

#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "src/err.h"
#include "src/file.h"
#include "tools/edit.h"
#include "tools/exec.h"
#include "tools/fs.h"
#include "tools/git.h"
#include "tools/lines.h"
#include "tools/patch.h"
#include "tools/repo.h"
#include "tools/schema.h"
#include "tools/validate.h"
#include "src/banned.h"

#define CHANGED_MAX 4096

struct lc_toolbox {
	lc_repo *repo;
	lc_toolbox_opts opts;
	cJSON *schemas;
	char **changed;
	size_t n_changed;
	int change_open;
	lc_tool_edit *edits; /* the last call's; every string owned */
	size_t n_edits;
};

typedef int (*tool_fn)(lc_toolbox *tb, const cJSON *args, lc_buf *obs, enum lc_tool_status *st);

struct tool_def {
	const char *name;
	enum lc_tool_kind kind;
	const char *schema;
	tool_fn run;
};

/* --- helpers ------------------------------------------------------------ */

static const char *arg_str(const cJSON *args, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(args, key);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static long arg_int(const cJSON *args, const char *key, long dflt)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(args, key);
	return cJSON_IsNumber(v) ? (long)v->valuedouble : dflt;
}

static int arg_bool(const cJSON *args, const char *key)
{
	return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(args, key));
}

/* A refusal: the reason (the error slot's message, or fmt) becomes the observation. */
static int refuse(lc_buf *obs, enum lc_tool_status *st, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

static int refuse(lc_buf *obs, enum lc_tool_status *st, const char *fmt, ...)
{
	va_list ap;

	*st = LC_TOOL_REFUSED;
	lc_buf_adds(obs, "error: ");
	va_start(ap, fmt);
	lc_buf_vaddf(obs, fmt, ap);
	va_end(ap);
	lc_err_clear();
	return 0;
}

/* A lower layer failed with rc: pass stops on, turn the rest into a refusal. */
static int refuse_rc(lc_buf *obs, enum lc_tool_status *st, int rc)
{
	if (rc == LC_ENOMEM || rc == LC_ECANCELLED)
		return rc;
	return refuse(obs, st, "%s", lc_err_msg()[0] ? lc_err_msg() : lc_err_str(rc));
}

static int note_changed(lc_toolbox *tb, const char *rel)
{
	char **grown, *copy;

	for (size_t i = 0; i < tb->n_changed; i++)
		if (strcmp(tb->changed[i], rel) == 0)
			return 0;
	if (tb->n_changed == CHANGED_MAX)
		return 0;
	grown = realloc(tb->changed, (tb->n_changed + 1) * sizeof(*grown));
	copy = strdup(rel);
	if (!grown || !copy) {
		free(copy);
		if (grown)
			tb->changed = grown;
		return lc_err_set(LC_ENOMEM, "out of memory");
	}
	tb->changed = grown;
	tb->changed[tb->n_changed++] = copy;
	return 0;
}

static void clear_edits(lc_toolbox *tb)
{
	for (size_t i = 0; i < tb->n_edits; i++) {
		free((char *)tb->edits[i].path);
		free((char *)tb->edits[i].match);
		free((char *)tb->edits[i].diff);
	}
	free(tb->edits);
	tb->edits = NULL;
	tb->n_edits = 0;
}

/*
 * Keep what a call wrote to one file for lc_toolbox_edits: its path, how it
 * was matched (may be NULL) and the diff from old to text (a_path NULL: the
 * file was created; b_path NULL: deleted).
 */
static int record_edit(lc_toolbox *tb, const char *a_path, const char *old, size_t old_len,
                       const char *b_path, const char *text, size_t len, const char *match)
{
	lc_buf diff = LC_BUF_INIT(LC_TOOL_DIFF_MAX + 64);
	lc_tool_edit *grown, *e;
	int rc = lc_lines_unified(a_path, old, old_len, b_path, text, len, 3, LC_TOOL_DIFF_MAX,
	                          &diff);

	if (rc) {
		lc_buf_release(&diff);
		return rc;
	}
	if (!(grown = realloc(tb->edits, (tb->n_edits + 1) * sizeof(*grown)))) {
		lc_buf_release(&diff);
		return lc_err_set(LC_ENOMEM, "out of memory");
	}
	tb->edits = grown;
	e = &tb->edits[tb->n_edits];
	e->path = strdup(b_path ? b_path : a_path);
	e->match = match ? strdup(match) : NULL;
	e->diff = lc_buf_take(&diff, NULL);
	tb->n_edits++; /* counted even when a copy failed, so clear_edits frees the rest */
	if (!e->path || (match && !e->match) || !e->diff)
		return lc_err_set(LC_ENOMEM, "out of memory");
	return 0;
}

/* The least precise cascade level of an edit's blocks; "append" when every SEARCH was empty. */
static const char *edit_match(const lc_edit_result *res)
{
	int worst = -1;

	for (size_t i = 0; i < res->n_blocks; i++)
		if (res->blocks[i].match != LC_EDIT_MATCH_APPEND &&
		    (int)res->blocks[i].match > worst)
			worst = (int)res->blocks[i].match;
	return lc_edit_match_name(worst < 0 ? LC_EDIT_MATCH_APPEND : (enum lc_edit_match)worst);
}

/*
 * How a patched file's hunks were placed, into buf (see lc_tool_edit.match).
 * A hunk placed with fuzz is counted in n_fuzzed too (the fuzz passes compare
 * the rest of the context whitespace-normalised): only the hunks beyond
 * n_context_fuzzed needed whitespace alone.
 */
static const char *patch_match(const lc_patch_file *f, char *buf, size_t size)
{
	if (f->n_context_fuzzed && f->n_fuzzed > f->n_context_fuzzed)
		snprintf(buf, size, "%s, fuzz %zu", lc_edit_match_name(LC_EDIT_MATCH_WHITESPACE),
		         f->fuzz);
	else if (f->n_context_fuzzed)
		snprintf(buf, size, "fuzz %zu", f->fuzz);
	else if (f->n_fuzzed)
		snprintf(buf, size, "%s", lc_edit_match_name(LC_EDIT_MATCH_WHITESPACE));
	else
		snprintf(buf, size, "%s", lc_edit_match_name(LC_EDIT_MATCH_EXACT));
	return buf;
}

static int approve(lc_toolbox *tb, enum lc_tool_kind kind, const char *summary)
{
	if (!tb->opts.approve)
		return 1;
	return tb->opts.approve(tb->opts.approve_ud, kind, summary);
}

/*
 * Ask for approval of summary, then open the turn's undo change (a snapshot of
 * the work tree as it is) if it is not open yet. Returns 1 to go on, 0 after
 * a refusal observation, LC_ECANCELLED.
 */
static int approve_and_open(lc_toolbox *tb, enum lc_tool_kind kind, const char *summary,
                            lc_buf *obs, enum lc_tool_status *st)
{
	int rc = approve(tb, kind, summary);

	if (rc == LC_ECANCELLED)
		return rc;
	if (rc != 1)
		return refuse(obs, st, "not approved: %s", summary);
	if (!tb->change_open) {
		if (lc_git_change_begin(tb->repo))
			return refuse(obs, st,
			              "could not keep a snapshot of the work tree, so nothing was "
			              "done: %s",
			              lc_err_msg());
		tb->change_open = 1;
	}
	return 1;
}

/* One file a call wants to write (text) or delete (text NULL). */
struct pending {
	char abs[PATH_MAX];
	const char *rel;
	const char *text;
	size_t len;
};

/*
 * Make the missing directories of abs below the work-tree root, so a new
 * file may go in a new directory. abs was resolved by lc_repo_resolve for
 * writing: under the root, no link out, not in the git directory.
 * *made gets the length of the shortest directory path made here, 0 when
 * none was (remove_made_parents takes them away again).
 */
static int make_parents(lc_toolbox *tb, const char *abs, const char *rel, size_t *made)
{
	char dir[PATH_MAX];
	size_t i = strlen(lc_repo_root(tb->repo)) + 1;

	*made = 0;
	snprintf(dir, sizeof(dir), "%s", abs);
	for (; i < sizeof(dir) && dir[i]; i++) {
		if (dir[i] != '/')
			continue;
		dir[i] = '\0';
		if (mkdir(dir, 0777) == 0) {
			if (*made == 0)
				*made = i;
		} else if (errno != EEXIST) {
			return lc_err_set_errno(LC_EIO, errno, "cannot make the directory of '%s'",
			                        rel);
		}
		dir[i] = '/';
	}
	return 0;
}

/* Remove the directories make_parents made for abs (made: its *made), deepest first. */
static void remove_made_parents(const char *abs, size_t made)
{
	char dir[PATH_MAX];
	char *slash;

	if (made == 0)
		return;
	snprintf(dir, sizeof(dir), "%s", abs);
	while ((slash = strrchr(dir, '/')) && (size_t)(slash - dir) >= made) {
		*slash = '\0';
		if (rmdir(dir) < 0)
			break;
	}
}

/* 1 when opts.allowed_paths lets edits write abs (a path from lc_repo_resolve). */
static int allowed(lc_toolbox *tb, const char *abs)
{
	const char *rel = lc_repo_relative(tb->repo, abs);

	if (!tb->opts.allowed_paths)
		return 1;
	for (size_t i = 0; i < tb->opts.n_allowed_paths; i++)
		if (strcmp(tb->opts.allowed_paths[i], rel) == 0)
			return 1;
	return 0;
}

/* What write_pending keeps of one file to put it back. */
struct original {
	char *text; /* the bytes before the call (a deleted link: its target); NULL: no file */
	size_t len;
	mode_t mode; /* permission bits of the file */
	int is_link; /* a deleted path was a symbolic link */
	size_t made; /* directories made for the new file (make_parents) */
	lc_file_stage stage;
	int done; /* renamed into place, or deleted */
};

/* Keep in *o what p->abs holds now: what a write goes through, or what a deletion removes. */
static int keep_original(const struct pending *p, struct original *o)
{
	struct stat sb;
	ssize_t n;

	if (lstat(p->abs, &sb) < 0) {
		if (errno == ENOENT)
			return 0;
		return lc_err_set_errno(LC_EIO, errno, "cannot inspect '%s'", p->rel);
	}
	if (!p->text && S_ISLNK(sb.st_mode)) {
		if (!(o->text = malloc(PATH_MAX)))
			return lc_err_set(LC_ENOMEM, "out of memory");
		if ((n = readlink(p->abs, o->text, PATH_MAX - 1)) < 0)
			return lc_err_set_errno(LC_EIO, errno, "cannot read the link '%s'", p->rel);
		o->text[n] = '\0';
		o->len = (size_t)n;
		o->is_link = 1;
		return 0;
	}
	if (stat(p->abs, &sb) < 0)
		return lc_err_set_errno(LC_EIO, errno, "cannot inspect what '%s' links to", p->rel);
	o->mode = sb.st_mode & 07777;
	return lc_file_read(p->abs, LC_EDIT_MAX_TEXT, &o->text, &o->len);
}

/* Put back at p->abs what o kept, after p was written or deleted. */
static int put_back(const struct pending *p, const struct original *o)
{
	if (!o->text) {
		if (unlink(p->abs) < 0 && errno != ENOENT)
			return lc_err_set_errno(LC_EIO, errno, "cannot remove '%s'", p->rel);
		remove_made_parents(p->abs, o->made);
		return 0;
	}
	if (o->is_link) {
		if (symlink(o->text, p->abs) < 0)
			return lc_err_set_errno(LC_EIO, errno, "cannot recreate the link '%s'",
			                        p->rel);
		return 0;
	}
	if (lc_file_write_atomic(p->abs, o->text, o->len) < 0)
		return LC_EIO;
	if (chmod(p->abs, o->mode) < 0)
		return lc_err_set_errno(LC_EIO, errno, "cannot set the mode of '%s'", p->rel);
	return 0;
}

/*
 * Write every pending file, or none: the allowed paths, approval and the
 * undo snapshot come first. Then what each file holds now is kept in memory,
 * every new text goes to a synced temporary file beside its file (a failure
 * here removes them all: nothing changed), and only then are the temporary
 * files renamed into place and the deletions done, in order. When one of
 * those fails, the files already replaced or deleted are put back from
 * memory (modes and deleted links too; directories made for new files are
 * removed), so the call changes nothing. Should putting back fail as well,
 * the observation names the file: /undo restores the state before the call.
 */
static int write_pending(lc_toolbox *tb, struct pending *p, size_t n, const char *summary,
                         lc_buf *obs, enum lc_tool_status *st)
{
	struct original *o = NULL;
	char why[LC_ERR_MSG_MAX + 1], bad_why[LC_ERR_MSG_MAX + 1];
	size_t i, k, bad = SIZE_MAX, n_done = 0;
	int rc;

	for (i = 0; i < n; i++)
		if (!allowed(tb, p[i].abs))
			return refuse(
			        obs, st,
			        "'%s' is not among the files this run may change; nothing was "
			        "written",
			        p[i].rel);
	if ((rc = approve_and_open(tb, LC_TOOL_EDIT, summary, obs, st)) != 1)
		return rc;
	if (!(o = calloc(n ? n : 1, sizeof(*o))))
		return lc_err_set(LC_ENOMEM, "out of memory");
	for (i = 0; i < n; i++)
		if ((rc = keep_original(&p[i], &o[i])))
			goto undo;
	for (i = 0; i < n; i++)
		if (p[i].text &&
		    ((rc = make_parents(tb, p[i].abs, p[i].rel, &o[i].made)) ||
		     (rc = lc_file_stage_write(&o[i].stage, p[i].abs, p[i].text, p[i].len))))
			goto undo;
	for (i = 0; i < n; i++) {
		if (p[i].text)
			rc = lc_file_stage_commit(&o[i].stage);
		else if (unlink(p[i].abs) < 0)
			rc = lc_err_set_errno(LC_EIO, errno, "cannot delete '%s'", p[i].rel);
		if (rc)
			goto undo;
		o[i].done = 1;
	}
	for (i = 0; i < n && rc == 0; i++)
		rc = note_changed(tb, p[i].rel);
	goto out;

undo:
	snprintf(why, sizeof(why), "%s", lc_err_msg());
	/* Temporary files and made directories of what was not put in place, last first. */
	for (k = n; k-- > 0;) {
		if (o[k].done)
			continue;
		lc_file_stage_discard(&o[k].stage);
		remove_made_parents(p[k].abs, o[k].made);
	}
	/* What was replaced or deleted comes back, last first. */
	for (k = n; k-- > 0;) {
		if (!o[k].done)
			continue;
		n_done++;
		if (put_back(&p[k], &o[k]) != 0 && bad == SIZE_MAX) {
			bad = k;
			snprintf(bad_why, sizeof(bad_why), "%s", lc_err_msg());
		}
	}
	if (rc == LC_ENOMEM && bad == SIZE_MAX) {
		rc = lc_err_set(LC_ENOMEM, "%s", why);
		goto out;
	}
	if (bad == SIZE_MAX) {
		rc = refuse(obs, st, "%s; nothing was written%s", why,
		            n_done ? " (the files replaced before it were put back)" : "");
		goto out;
	}
	rc = refuse(obs, st,
	            "%s; putting back '%s' failed too (%s): /undo restores every file as it "
	            "was before this call",
	            why, p[bad].rel, bad_why);
	/* What the call did change stays known to the turn. */
	for (k = 0; k < n && rc == 0; k++)
		if (o[k].done)
			rc = note_changed(tb, p[k].rel);
out:
	for (i = 0; i < n; i++)
		free(o[i].text);
	free(o);
	return rc;
}

/* Read a file of the repository for editing; *text NULL when it does not exist. */
static int read_for_edit(lc_toolbox *tb, const char *rel, char *abs, char **text, size_t *len)
{
	int rc = lc_repo_resolve(tb->repo, rel, 1, abs, PATH_MAX);

	if (rc)
		return rc;
	*text = NULL;
	*len = 0;
	rc = lc_file_read(abs, LC_EDIT_MAX_TEXT, text, len);
	if (rc == LC_ENOTFOUND) {
		lc_err_clear();
		return 0;
	}
	return rc;
}

/* Check one file's new text; on refusal the observation says why. */
static int validate(const char *rel, const char *old, size_t old_len, const char *text, size_t len,
                    const lc_line_range *ranges, size_t n_ranges, lc_buf *obs,
                    enum lc_tool_status *st)
{
	char *reason = NULL;
	int rc = lc_validate(rel, old, old_len, text, len, ranges, n_ranges, NULL, &reason, NULL);

	if (rc == LC_EDENIED) {
		refuse(obs, st, "edit refused, nothing was written: %s", reason ? reason : "");
		free(reason);
		return 1;
	}
	free(reason);
	return rc;
}

/* --- the tools ---------------------------------------------------------- */

static int t_read_file(lc_toolbox *tb, const cJSON *args, lc_buf *obs, enum lc_tool_status *st)
{
	lc_fs_read_opts o = {0};
	int rc;

	o.first_line = (size_t)arg_int(args, "start", 0);
	o.last_line = (size_t)arg_int(args, "end", 0);
	o.max_lines = 400;
	o.max_line = 2000;
	o.max_bytes = tb->opts.obs_max;
	rc = lc_fs_read(tb->repo, arg_str(args, "path"), &o, obs);
	return rc ? refuse_rc(obs, st, rc) : 0;
}

static int t_list_files(lc_toolbox *tb, const cJSON *args, lc_buf *obs, enum lc_tool_status *st)
{
	lc_fs_list_opts o = {0};
	int rc;

	o.max_entries = 1000;
	o.max_bytes = tb->opts.obs_max;
	rc = lc_fs_list(tb->repo, arg_str(args, "dir"), arg_str(args, "glob"), &o, obs);
	return rc ? refuse_rc(obs, st, rc) : 0;
}

static int t_search(lc_toolbox *tb, const cJSON *args, lc_buf *obs, enum lc_tool_status *st)
{
	lc_fs_search_opts o = {0};
	int rc;

	o.ignore_case = arg_bool(args, "ignore_case");
	o.max_matches = 200;
	o.max_line = 300;
	o.max_bytes = tb->opts.obs_max;
	rc = lc_fs_search(tb->repo, arg_str(args, "pattern"), arg_str(args, "path"),
	                  arg_str(args, "glob"), &o, obs);
	return rc ? refuse_rc(obs, st, rc) : 0;
}

/* Show the lines around a change, numbered, so the model sees what it made. */
static void show_lines(lc_buf *obs, const char *text, size_t first, size_t count)
{
	size_t line = 1, from = first > 2 ? first - 2 : 1, to = first + count + 1;
	const char *p = text;

	if (to - from > 30)
		to = from + 30;
	while (*p && line <= to) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);
		if (line >= from)
			lc_buf_addf(obs, "%zu| %.*s\n", line, (int)(n > 200 ? 200 : n), p);
		p += n + (nl ? 1 : 0);
		line++;
	}
}

static int t_edit(lc_toolbox *tb, const cJSON *args, lc_buf *obs, enum lc_tool_status *st)
{
	const char *rel = arg_str(args, "path"), *blocks_text = arg_str(args, "blocks");
	const char *search = arg_str(args, "search"), *replace = arg_str(args, "replace");
	lc_edit_result res = LC_EDIT_RESULT_INIT;
	lc_edit_block one, *blocks = NULL;
	struct pending p;
	size_t n_blocks = 0, old_len;
	char *old = NULL, summary[PATH_MAX + 16];
	int rc;

	if (!blocks_text && (!search || !replace))
		return refuse(obs, st, "edit needs 'search' and 'replace', or 'blocks'");
	if (blocks_text && (search || replace))
		return refuse(obs, st, "edit takes 'blocks' or 'search'/'replace', not both");
	if ((rc = read_for_edit(tb, rel, p.abs, &old, &old_len)))
		return refuse_rc(obs, st, rc);
	if (blocks_text) {
		if ((rc = lc_edit_parse(blocks_text, strlen(blocks_text), &blocks, &n_blocks))) {
			rc = refuse_rc(obs, st, rc);
			goto out;
		}
	} else {
		one.search = search;
		one.search_len = strlen(search);
		one.replace = replace;
		one.replace_len = strlen(replace);
		blocks = &one;
		n_blocks = 1;
	}
	if (!old && !(n_blocks == 1 && blocks[0].search_len == 0)) {
		rc = refuse(obs, st, "'%s' does not exist; create it with write_file", rel);
		goto out;
	}
	rc = lc_edit_apply(&res, old, old_len, blocks, n_blocks);
	if (rc == LC_ENOTFOUND || rc == LC_EDENIED) {
		*st = LC_TOOL_REFUSED;
		lc_buf_addf(obs, "error: edit of %s refused, nothing was written.\n%s", rel,
		            res.observation ? res.observation : lc_err_msg());
		lc_err_clear();
		rc = 0;
		goto out;
	}
	if (rc) {
		rc = refuse_rc(obs, st, rc);
		goto out;
	}
	if ((rc = validate(rel, old, old_len, res.text, res.len, res.ranges, res.n_ranges, obs,
	                   st))) {
		rc = rc == 1 ? 0 : rc;
		goto out;
	}
	p.rel = rel;
	p.text = res.text;
	p.len = res.len;
	snprintf(summary, sizeof(summary), "edit %s", rel);
	if ((rc = write_pending(tb, &p, 1, summary, obs, st)) || *st != LC_TOOL_OK)
		goto out;
	if ((rc = record_edit(tb, old ? rel : NULL, old, old_len, rel, res.text, res.len,
	                      edit_match(&res))))
		goto out;
	lc_buf_addf(obs, "edited %s:", rel);
	for (size_t i = 0; i < res.n_blocks; i++)
		lc_buf_addf(obs, "%s block %zu at line %zu (%s match): %zu line%s replaced by %zu",
		            i ? ";" : "", i + 1, res.blocks[i].line,
		            lc_edit_match_name(res.blocks[i].match), res.blocks[i].old_count,
		            res.blocks[i].old_count == 1 ? "" : "s", res.blocks[i].new_count);
	lc_buf_addc(obs, '\n');
	if (res.n_blocks == 1)
		show_lines(obs, res.text, res.blocks[0].line, res.blocks[0].new_count);
out:
	if (blocks != &one)
		free(blocks);
	lc_edit_result_release(&res);
	free(old);
	return rc;
}

static int t_write_file(lc_toolbox *tb, const cJSON *args, lc_buf *obs, enum lc_tool_status *st)
{
	const char *rel = arg_str(args, "path"), *content = arg_str(args, "content");
	struct pending p;
	char *old = NULL, summary[PATH_MAX + 16];
	size_t old_len;
	int rc;

	if ((rc = read_for_edit(tb, rel, p.abs, &old, &old_len)))
		return refuse_rc(obs, st, rc);
	if (old && !arg_bool(args, "overwrite")) {
		free(old);
		return refuse(obs, st, "'%s' exists; change it with edit, or pass overwrite: true",
		              rel);
	}
	rc = validate(rel, old, old_len, content, strlen(content), NULL, 0, obs, st);
	if (rc) {
		free(old);
		return rc == 1 ? 0 : rc;
	}
	p.rel = rel;
	p.text = content;
	p.len = strlen(content);
	snprintf(summary, sizeof(summary), "%s %s", old ? "overwrite" : "create", rel);
	rc = write_pending(tb, &p, 1, summary, obs, st);
	if (!rc && *st == LC_TOOL_OK)
		rc = record_edit(tb, old ? rel : NULL, old, old_len, rel, content, p.len, NULL);
	if (!rc && *st == LC_TOOL_OK)
		lc_buf_addf(obs, "%s %s (%zu bytes)", old ? "overwrote" : "created", rel, p.len);
	free(old);
	return rc;
}

static int patch_read(void *ctx, const char *path, char **text, size_t *len)
{
	lc_toolbox *tb = ctx;
	char abs[PATH_MAX];
	int rc = read_for_edit(tb, path, abs, text, len);

	if (rc)
		return rc;
	return *text ? 0 : LC_ENOTFOUND;
}

static int t_apply_patch(lc_toolbox *tb, const cJSON *args, lc_buf *obs, enum lc_tool_status *st)
{
	const char *diff = arg_str(args, "patch");
	lc_patch_result res;
	struct pending *p = NULL;
	size_t n = 0;
	int rc;

	memset(&res, 0, sizeof(res));
	rc = lc_patch_apply(&res, diff, strlen(diff), patch_read, tb);
	if ((rc == LC_ENOTFOUND || rc == LC_EDENIED) && res.observation) {
		/* The detailed refusal: nearest place, the line that differs, and why. */
		*st = LC_TOOL_REFUSED;
		lc_buf_addf(obs, "error: patch refused, nothing was written.\n%s", res.observation);
		lc_err_clear();
		rc = 0;
		goto out;
	}
	if (rc) {
		rc = refuse_rc(obs, st, rc);
		goto out;
	}
	p = calloc(2 * res.n_files + 1, sizeof(*p));
	if (!p) {
		rc = lc_err_set(LC_ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < res.n_files; i++) {
		lc_patch_file *f = &res.files[i];
		if ((rc = lc_repo_resolve(tb->repo, f->path, 1, p[n].abs, PATH_MAX))) {
			rc = refuse_rc(obs, st, rc);
			goto out;
		}
		if (f->text && (rc = validate(f->path, f->old_text, f->old_len, f->text, f->len,
		                              f->ranges, f->n_ranges, obs, st))) {
			rc = rc == 1 ? 0 : rc;
			goto out;
		}
		p[n].rel = f->path;
		p[n].text = f->text;
		p[n].len = f->len;
		n++;
		if (f->kind == LC_PATCH_RENAME) {
			if ((rc = lc_repo_resolve(tb->repo, f->old_path, 1, p[n].abs, PATH_MAX))) {
				rc = refuse_rc(obs, st, rc);
				goto out;
			}
			p[n].rel = f->old_path;
			p[n].text = NULL;
			n++;
		}
	}
	rc = write_pending(tb, p, n, "apply a patch", obs, st);
	if (rc || *st != LC_TOOL_OK)
		goto out;
	for (size_t i = 0; i < res.n_files && !rc; i++) {
		const lc_patch_file *f = &res.files[i];
		char match[64];
		int matched = f->kind == LC_PATCH_MODIFY || f->kind == LC_PATCH_RENAME;

		rc = record_edit(tb,
		                 f->kind == LC_PATCH_CREATE   ? NULL
		                 : f->kind == LC_PATCH_RENAME ? f->old_path
		                                              : f->path,
		                 f->old_text, f->old_len,
		                 f->kind == LC_PATCH_DELETE ? NULL : f->path, f->text, f->len,
		                 matched ? patch_match(f, match, sizeof(match)) : NULL);
	}
	if (rc)
		goto out;
	lc_buf_addf(obs, "patch applied:");
	for (size_t i = 0; i < res.n_files; i++) {
		static const char *const verbs[] = {"modified", "created", "deleted", "renamed"};
		const lc_patch_file *pf = &res.files[i];

		lc_buf_addf(obs, "%s %s %s", i ? "," : "", verbs[pf->kind], pf->path);
		if (pf->n_context_fuzzed)
			lc_buf_addf(
			        obs,
			        " (%zu hunk%s applied with fuzz %zu: up to %zu outer context "
			        "line%s per end not compared; the file's lines there were kept)",
			        pf->n_context_fuzzed, pf->n_context_fuzzed == 1 ? "" : "s",
			        pf->fuzz, pf->fuzz, pf->fuzz == 1 ? "" : "s");
	}
out:
	free(p);
	lc_patch_result_release(&res);
	return rc;
}

static int t_shell(lc_toolbox *tb, const cJSON *args, lc_buf *obs, enum lc_tool_status *st)
{
	const char *command = arg_str(args, "command");
	lc_exec_cmd cmd = {0};
	lc_exec_result res;
	char summary[256];
	int rc;

	if (!tb->opts.exec)
		return refuse(obs, st, "running commands is not available in this session");
	snprintf(summary, sizeof(summary), "run: %.200s", command);
	/* A command may change files: the turn's undo snapshot comes first. */
	if ((rc = approve_and_open(tb, LC_TOOL_EXEC, summary, obs, st)) != 1)
		return rc;
	cmd.command = command;
	cmd.timeout_ms = (unsigned)arg_int(args, "timeout", 0) * 1000u;
	if (!cmd.timeout_ms)
		cmd.timeout_ms = tb->opts.shell_timeout_ms;
	cmd.output_max = tb->opts.obs_max > 256 ? tb->opts.obs_max - 256 : tb->opts.obs_max;
	memset(&res, 0, sizeof(res));
	if ((rc = lc_exec_run(tb->opts.exec, &cmd, &res))) {
		lc_exec_result_release(&res);
		return refuse_rc(obs, st, rc);
	}
	if (res.cancelled) {
		lc_exec_result_release(&res);
		return lc_err_set(LC_ECANCELLED, "command stopped");
	}
	if (res.timed_out)
		lc_buf_addf(obs, "timed out after %u s; the command and its children were killed\n",
		            cmd.timeout_ms / 1000);
	else if (res.proc_limited)
		lc_buf_addf(obs, "killed: it started too many processes\n");
	else if (res.signal)
		lc_buf_addf(obs, "killed by signal %d\n", res.signal);
	else
		lc_buf_addf(obs, "exit status %d\n", res.exit_status);
	lc_buf_add(obs, res.output, res.output_len);
	*st = (res.timed_out || res.signal || res.exit_status) ? LC_TOOL_FAILED : LC_TOOL_OK;
	lc_exec_result_release(&res);
	return 0;
}

/* --- registry ------------------------------------------------------------ */

#define PATH_ARG                                                                                   \
	"\"path\":{\"type\":\"string\",\"description\":\"relative to the repository root\"}"

static const struct tool_def tools[] = {
        {"read_file", LC_TOOL_READ,
         "{\"type\":\"object\",\"properties\":{" PATH_ARG ","
         "\"start\":{\"type\":\"integer\",\"minimum\":1,\"description\":\"first line\"},"
         "\"end\":{\"type\":\"integer\",\"minimum\":1,\"description\":\"last line\"}},"
         "\"required\":[\"path\"],\"additionalProperties\":false}",
         t_read_file},
        {"list_files", LC_TOOL_READ,
         "{\"type\":\"object\",\"properties\":{"
         "\"dir\":{\"type\":\"string\",\"description\":\"directory, default the root\"},"
         "\"glob\":{\"type\":\"string\",\"description\":\"e.g. *.py\"}},"
         "\"additionalProperties\":false}",
         t_list_files},
        {"search", LC_TOOL_READ,
         "{\"type\":\"object\",\"properties\":{"
         "\"pattern\":{\"type\":\"string\",\"minLength\":1,\"description\":\"a regular "
         "expression (PCRE2)\"},"
         "\"path\":{\"type\":\"string\",\"description\":\"file or directory to search\"},"
         "\"glob\":{\"type\":\"string\",\"description\":\"only files matching, e.g. *.c\"},"
         "\"ignore_case\":{\"type\":\"boolean\"}},"
         "\"required\":[\"pattern\"],\"additionalProperties\":false}",
         t_search},
        {"edit", LC_TOOL_EDIT,
         "{\"type\":\"object\",\"properties\":{" PATH_ARG ","
         "\"search\":{\"type\":\"string\",\"description\":\"exact lines to replace\"},"
         "\"replace\":{\"type\":\"string\",\"description\":\"the lines to put instead\"},"
         "\"blocks\":{\"type\":\"string\",\"description\":\"several SEARCH/REPLACE blocks\"}},"
         "\"required\":[\"path\"],"
         "\"dependentRequired\":{\"search\":[\"replace\"],\"replace\":[\"search\"]},"
         "\"additionalProperties\":false}",
         t_edit},
        {"apply_patch", LC_TOOL_EDIT,
         "{\"type\":\"object\",\"properties\":{"
         "\"patch\":{\"type\":\"string\",\"minLength\":1,\"description\":\"a unified diff\"}},"
         "\"required\":[\"patch\"],\"additionalProperties\":false}",
         t_apply_patch},
        {"write_file", LC_TOOL_EDIT,
         "{\"type\":\"object\",\"properties\":{" PATH_ARG ","
         "\"content\":{\"type\":\"string\"},"
         "\"overwrite\":{\"type\":\"boolean\",\"description\":\"replace an existing file\"}},"
         "\"required\":[\"path\",\"content\"],\"additionalProperties\":false}",
         t_write_file},
        {"shell", LC_TOOL_EXEC,
         "{\"type\":\"object\",\"properties\":{"
         "\"command\":{\"type\":\"string\",\"minLength\":1},"
         "\"timeout\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":3600,"
         "\"description\":\"seconds\"}},"
         "\"required\":[\"command\"],\"additionalProperties\":false}",
         t_shell},
};

#define N_TOOLS (sizeof(tools) / sizeof(tools[0]))

static const struct tool_def *find_tool(const char *name)
{
	for (size_t i = 0; i < N_TOOLS; i++)
		if (strcmp(tools[i].name, name) == 0)
			return &tools[i];
	return NULL;
}

int lc_toolbox_new(lc_toolbox **out, const lc_toolbox_opts *opts)
{
	lc_toolbox *tb = calloc(1, sizeof(*tb));
	int rc;

	if (!tb)
		return lc_err_set(LC_ENOMEM, "out of memory");
	tb->opts = *opts;
	if (!tb->opts.obs_max)
		tb->opts.obs_max = LC_TOOL_OBS_MAX;
	if (!tb->opts.shell_timeout_ms)
		tb->opts.shell_timeout_ms = LC_EXEC_TIMEOUT_DEFAULT_MS;
	if ((rc = lc_repo_open(&tb->repo, opts->repo_path)))
		goto fail;
	tb->schemas = cJSON_CreateArray();
	if (!tb->schemas) {
		rc = lc_err_set(LC_ENOMEM, "out of memory");
		goto fail;
	}
	for (size_t i = 0; i < N_TOOLS; i++) {
		cJSON *t = cJSON_CreateObject(), *fn = cJSON_CreateObject();
		cJSON *params = cJSON_Parse(tools[i].schema);
		assert(params); /* the schemas above are constants */
		if (!t || !fn || !params) {
			cJSON_Delete(t);
			cJSON_Delete(fn);
			cJSON_Delete(params);
			rc = lc_err_set(LC_ENOMEM, "out of memory");
			goto fail;
		}
		cJSON_AddStringToObject(t, "type", "function");
		cJSON_AddStringToObject(fn, "name", tools[i].name);
		cJSON_AddItemToObject(fn, "parameters", params);
		cJSON_AddItemToObject(t, "function", fn);
		cJSON_AddItemToArray(tb->schemas, t);
	}
	*out = tb;
	return 0;
fail:
	lc_toolbox_free(tb);
	return rc;
}

void lc_toolbox_free(lc_toolbox *tb)
{
	if (!tb)
		return;
	lc_toolbox_forget_changes(tb);
	free(tb->changed);
	clear_edits(tb);
	cJSON_Delete(tb->schemas);
	lc_repo_free(tb->repo);
	free(tb);
}

const cJSON *lc_toolbox_schemas(const lc_toolbox *tb)
{
	return tb->schemas;
}

int lc_toolbox_kind(const lc_toolbox *tb, const char *name)
{
	const struct tool_def *t = find_tool(name);
	return t ? (int)t->kind : -1;
}

int lc_toolbox_call(lc_toolbox *tb, const char *name, const cJSON *args, lc_buf *obs,
                    enum lc_tool_status *status)
{
	const struct tool_def *t = find_tool(name);
	/* Tools cap their own output near obs_max; the slack keeps their notes whole. */
	lc_buf out = LC_BUF_INIT(tb->opts.obs_max * 2);
	const cJSON *schema;
	int rc;

	*status = LC_TOOL_OK;
	clear_edits(tb);
	if (!t) {
		rc = refuse(&out, status, "unknown tool '%s'", name);
		goto done;
	}
	schema = cJSON_GetObjectItemCaseSensitive(
	        cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(tb->schemas, (int)(t - tools)),
	                                         "function"),
	        "parameters");
	if (lc_schema_validate(schema, args)) {
		rc = refuse(&out, status, "%s: %s", name, lc_err_msg());
		goto done;
	}
	rc = t->run(tb, args, &out, status);
done:
	if (out.len > tb->opts.obs_max) {
		size_t cut = out.len - tb->opts.obs_max;
		lc_buf_truncate(&out, tb->opts.obs_max);
		lc_buf_addf(&out, "\n[... %zu more bytes cut]", cut);
	}
	if (!rc && out.len && lc_buf_add(obs, out.data, out.len))
		rc = lc_err_set(LC_ENOMEM, "observation does not fit");
	lc_buf_release(&out);
	return rc;
}

const lc_tool_edit *lc_toolbox_edits(const lc_toolbox *tb, size_t *n_out)
{
	*n_out = tb->n_edits;
	return tb->edits;
}

const char *lc_toolbox_root(const lc_toolbox *tb)
{
	return lc_repo_root(tb->repo);
}

struct lc_repo *lc_toolbox_repo(lc_toolbox *tb)
{
	return tb->repo;
}

int lc_toolbox_turn_end(lc_toolbox *tb, size_t *n_files_out)
{
	int rc;

	if (n_files_out)
		*n_files_out = 0;
	if (!tb->change_open)
		return 0;
	tb->change_open = 0;
	rc = lc_git_change_end(tb->repo, n_files_out);
	return rc;
}

const char *const *lc_toolbox_changed(const lc_toolbox *tb, size_t *n_out)
{
	*n_out = tb->n_changed;
	return (const char *const *)tb->changed;
}

void lc_toolbox_forget_changes(lc_toolbox *tb)
{
	for (size_t i = 0; i < tb->n_changed; i++)
		free(tb->changed[i]);
	tb->n_changed = 0;
}
