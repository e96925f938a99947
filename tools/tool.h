/*
 * tool.h - the tools the model acts through, behind one interface.
 *
 * A toolbox holds the repository, the shell executor and the policy
 * callback, and runs calls by name with JSON arguments:
 *
 *   read_file   {path, start?, end?}            numbered lines, capped
 *   list_files  {dir?, glob?}                   tracked and untracked, .gitignore honoured
 *   search      {pattern, path?, glob?, ignore_case?}   PCRE2, file:line:text
 *   edit        {path, search?, replace?, blocks?}      SEARCH/REPLACE, validated
 *   apply_patch {patch}                          unified diff, one or more files
 *   write_file  {path, content, overwrite?}      create (replace only when asked)
 *   shell       {command, timeout?}              sandboxed, time limit, capped output
 *
 * Every call's arguments are checked against the tool's JSON schema first.
 * Edits are matched, validated (tools/validate.h) and written atomically
 * only when every file of the call passed; before the first write to a file
 * with uncommitted changes, the work tree is kept in a snapshot (tools/git.h)
 * so nothing the user had is lost. A call's result is an observation: capped
 * text for the model and a status.
 */
#ifndef LC_TOOL_H
#define LC_TOOL_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "src/buf.h"

typedef struct lc_toolbox lc_toolbox;
struct lc_exec;
struct lc_repo;

/* What a tool does, for the approval policy. */
enum lc_tool_kind {
	LC_TOOL_READ = 0, /* looks, changes nothing */
	LC_TOOL_EDIT = 1, /* writes files in the repository */
	LC_TOOL_EXEC = 2  /* runs a command */
};

enum lc_tool_status {
	LC_TOOL_OK = 0,      /* done */
	LC_TOOL_REFUSED = 1, /* not done: bad arguments, no match, validation, policy */
	LC_TOOL_FAILED = 2   /* done, but it failed: a command exited non-zero, timed out */
};

/*
 * Asked before a call of kind EDIT or EXEC runs; summary describes it
 * ("edit a.py", "run: make test"). Returns 1 to allow, 0 to refuse (the
 * observation then says so), LC_ECANCELLED to stop the request.
 */
typedef int (*lc_tool_approve_fn)(void *ud, enum lc_tool_kind kind, const char *summary);

typedef struct lc_toolbox_opts {
	const char *repo_path;      /* a directory inside the repository */
	struct lc_exec *exec;       /* borrowed; NULL: shell refuses every command */
	lc_tool_approve_fn approve; /* NULL: everything allowed */
	void *approve_ud;
	size_t obs_max;            /* bytes of one observation; 0: LC_TOOL_OBS_MAX */
	unsigned shell_timeout_ms; /* default time limit of a command; 0: 120 s */
	/*
	 * NULL: edits may write any file the path policy allows. Otherwise the
	 * only files edits may write or delete, as repository-relative paths
	 * ("src/a.c"); any other is refused with "... is not among the files
	 * this run may change" and nothing of the call is written. Borrowed:
	 * valid while the toolbox lives.
	 */
	const char *const *allowed_paths;
	size_t n_allowed_paths;
} lc_toolbox_opts;

#define LC_TOOL_OBS_MAX (16 * 1024)

/*
 * Open the repository and build the tools. On success *out is owned (free
 * with lc_toolbox_free). Errors: LC_ENOTFOUND (not inside a git
 * repository), LC_EIO, LC_ENOMEM.
 */
int lc_toolbox_new(lc_toolbox **out, const lc_toolbox_opts *opts);
void lc_toolbox_free(lc_toolbox *tb);

/*
 * The tools as an OpenAI-style list: [{"type": "function", "function":
 * {"name", "parameters"}}], without descriptions (the agent adds them from
 * prompts/). Borrowed, valid until lc_toolbox_free.
 */
const cJSON *lc_toolbox_schemas(const lc_toolbox *tb);

/* The kind of tool name, or -1 when there is no such tool. */
int lc_toolbox_kind(const lc_toolbox *tb, const char *name);

/*
 * Run tool name with args. The observation text is appended to obs (capped
 * at obs_max; a cut says how much was left out) and *status set. Returns 0
 * whenever an observation was produced - a refusal is an observation too,
 * with the precise reason. Returns an error only when the request must stop:
 * LC_ECANCELLED (the user stopped it), LC_ENOMEM.
 */
int lc_toolbox_call(lc_toolbox *tb, const char *name, const cJSON *args, lc_buf *obs,
                    enum lc_tool_status *status);

/* Bytes of one file's diff in an lc_tool_edit; a longer diff is cut (tools/lines.h). */
#define LC_TOOL_DIFF_MAX (32 * 1024)

/* One file a call wrote or deleted. Strings borrowed from the toolbox. */
typedef struct lc_tool_edit {
	const char *path; /* repository-relative: the file written (deleted: the file removed) */
	/*
	 * How the change was placed, the least precise level any part needed:
	 * edit: a level of tools/edit.h's cascade ("exact", "trailing
	 * whitespace", "indentation offset", "whitespace-normalised", or
	 * "append" for an empty SEARCH); apply_patch: "exact",
	 * "whitespace-normalised" (context matched with whitespace ignored),
	 * "fuzz N" (up to N outer context lines left uncompared, the rest
	 * compared with whitespace ignored: tools/patch.h), or both joined by
	 * ", " when some hunks needed one and others the other. NULL where
	 * nothing was matched: write_file, a file a patch creates or deletes.
	 */
	const char *match;
	/*
	 * The unified diff of the file, old to new (lc_lines_unified, 3 lines
	 * of context, at most LC_TOOL_DIFF_MAX bytes).
	 */
	const char *diff;
} lc_tool_edit;

/*
 * The files the last lc_toolbox_call wrote or deleted, in the order it wrote
 * them; none when it wrote nothing (a read, a refusal, a command). *n_out
 * gets the count. Borrowed: valid until the next lc_toolbox_call or
 * lc_toolbox_free.
 */
const lc_tool_edit *lc_toolbox_edits(const lc_toolbox *tb, size_t *n_out);

/* The repository's work-tree root. Borrowed. */
const char *lc_toolbox_root(const lc_toolbox *tb);

/* The repository, for git operations (tools/git.h). Borrowed. */
struct lc_repo *lc_toolbox_repo(lc_toolbox *tb);

/*
 * The first write of a turn opens an undo change (lc_git_change_begin: a
 * snapshot of the work tree as it was); this closes it, so /undo can take the
 * turn back. *n_files_out (may be NULL) gets the files the turn changed.
 * Nothing to do when the turn wrote nothing. Errors: LC_EIO, LC_ENOMEM.
 */
int lc_toolbox_turn_end(lc_toolbox *tb, size_t *n_files_out);

/*
 * Paths (relative to the root) the tools wrote or deleted since the toolbox
 * was made or lc_toolbox_forget_changes was called, in order, without
 * repeats. Borrowed; *n_out gets the count.
 */
const char *const *lc_toolbox_changed(const lc_toolbox *tb, size_t *n_out);
void lc_toolbox_forget_changes(lc_toolbox *tb);

#endif
