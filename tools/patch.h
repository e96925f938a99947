/*
 * patch.h - apply a unified diff to one or more files, all or nothing.
 *
 * The text layer of the apply_patch tool. Input: a unified diff (GNU diff /
 * git format: "--- a/x" and "+++ b/x" headers, "@@ -l,n +l,n @@" hunks,
 * ' ', '-', '+' lines, "\ No newline at end of file", "/dev/null" for a
 * created or deleted file; "diff --git", "index" lines and any prose around
 * the diff are skipped). Output: every file's new text; nothing is written
 * here, and if any hunk fails the caller gets no text at all.
 *
 * Leniency, for diffs written by a model:
 *   - hunk line counts are advisory: a hunk body runs to the next "@@",
 *     "diff ", "---"/"+++" pair or non-diff line; an empty line in a body is
 *     a blank context line (trailing ones only when the counts want them);
 *   - a hunk is tried at its stated line (shifted by where the previous hunk
 *     of the file landed), then at lines up to LC_PATCH_NEAR away, nearest
 *     first, then anywhere in the file where it matches exactly one place;
 *   - context lines may differ from the file in whitespace (second pass,
 *     whitespace-normalised), and the file's own context lines are kept;
 *   - fuzz, as GNU patch's --fuzz (diffutils manual, "Helping patch Find
 *     Inexact Matches"): when no place matches, the search is repeated
 *     with fuzz factor 1, then 2 (LC_PATCH_FUZZ), leaving that many context
 *     lines uncompared at the start and at the end of the hunk. Unlike GNU
 *     patch, the context line next to a change is always compared (so a
 *     hunk with one line of context on a side gets no fuzz on that side),
 *     and context lines between two changes of a hunk are never skipped.
 *     Skipped lines keep the file's text; the factor a hunk needed is
 *     reported in lc_patch_file.fuzz;
 *   - removed lines are never fuzzed: they must equal the file's lines
 *     exactly, except for trailing whitespace (space, tab, CR, FF, VT).
 * Hunks of one file apply in order and must not overlap. The new lines take
 * the file's dominant line ending. A path that appears in two sections is
 * patched twice, the second time on the first section's result.
 */
#ifndef LC_PATCH_H
#define LC_PATCH_H

#include <stddef.h>

#include "tools/lines.h"

/* Largest diff and largest file text, bytes. */
#define LC_PATCH_MAX_TEXT ((size_t)64 << 20)
/* Most file sections in one diff. */
#define LC_PATCH_MAX_FILES 256
/* Lines away from the stated position a hunk is tried before "anywhere unique". */
#define LC_PATCH_NEAR 50
/* Largest fuzz factor: outer context lines a hunk may leave uncompared at each end. */
#define LC_PATCH_FUZZ 2

enum lc_patch_kind {
	LC_PATCH_MODIFY, /* path gets text */
	LC_PATCH_CREATE, /* path is new ("--- /dev/null"), gets text */
	LC_PATCH_DELETE, /* path is removed ("+++ /dev/null"); text is NULL */
	LC_PATCH_RENAME  /* old_path is removed, path gets text */
};

/*
 * The current text of path: set *text (malloc'd; lc_patch_apply() takes
 * ownership) and *len, return 0; return LC_ENOTFOUND when there is no such
 * file; any other negative code stops lc_patch_apply(), which returns it.
 */
typedef int (*lc_patch_read_fn)(void *ctx, const char *path, char **text, size_t *len);

typedef struct lc_patch_file {
	enum lc_patch_kind kind;
	char *path;     /* the file to write (or delete), from the diff, a/ b/ prefixes removed */
	char *old_path; /* RENAME: the file to remove; else NULL */
	char *old_text; /* text before (NULL for CREATE), NUL-terminated */
	size_t old_len;
	char *text; /* text after (NULL for DELETE), NUL-terminated */
	size_t len;
	lc_line_range *ranges; /* changed lines in text, sorted */
	size_t n_ranges;
	size_t n_hunks;          /* hunks applied */
	size_t n_moved;          /* ... of which away from the stated line */
	size_t n_fuzzed;         /* ... of which with whitespace-differing context */
	size_t n_context_fuzzed; /* ... of which with outer context lines uncompared */
	size_t fuzz;             /* the largest fuzz factor a hunk needed, 0..LC_PATCH_FUZZ */
} lc_patch_file;

/* Caller owns the struct (LC_PATCH_RESULT_INIT), the struct owns the pointers. */
typedef struct lc_patch_result {
	lc_patch_file *files; /* in the order of the diff */
	size_t n_files;
	/*
	 * On a failed hunk (LC_ENOTFOUND, LC_EDENIED) the only field written:
	 * text for the model naming the file, the hunk header and the nearest
	 * place tried, with numbered file lines.
	 */
	char *observation;
} lc_patch_result;

#define LC_PATCH_RESULT_INIT                                                                       \
	{                                                                                          \
		NULL, 0, NULL                                                                      \
	}

/* Free the insides; the struct is empty afterwards. NULL is fine. */
void lc_patch_result_release(lc_patch_result *r);

/*
 * Apply the diff (len bytes) to the files read through read(ctx, ...) and
 * fill *out, which must be empty.
 *
 * Returns 0 with files and n_files set. LC_EPARSE for a malformed diff
 * ("patch: line 12: bad hunk header '@@ -x +1 @@'", "patch: no file header
 * ('--- ' and '+++ ' lines)"). LC_ENOTFOUND when a hunk matches nowhere or
 * a file to change is missing; LC_EDENIED when a hunk matches several places
 * far from its line, when a created file exists already, or when a deletion
 * leaves lines; both with out->observation set. LC_ETOOBIG, LC_ENOMEM, or
 * the code read returned. The error slot holds one line naming the file.
 */
int lc_patch_apply(lc_patch_result *out, const char *diff, size_t len, lc_patch_read_fn read,
                   void *ctx);

#endif
