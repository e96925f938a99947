/*
 * edit.h - SEARCH/REPLACE blocks applied to the text of one file.
 *
 * The text layer of the edit tool: old text plus blocks in, new text or a
 * refusal with a precise reason out. Nothing here reads or writes files.
 *
 * Block format (Aider's "diff" edit format): anything outside blocks (file
 * names, ``` fences, prose) is ignored; a block is
 *
 *     <<<<<<< SEARCH
 *     lines to find
 *     =======
 *     lines to put in their place
 *     >>>>>>> REPLACE
 *
 * Marker lines are 5 to 9 of the marker character, for the SEARCH and
 * REPLACE markers followed by the word; trailing whitespace is allowed. In
 * the REPLACE part a "=======" line is content.
 *
 * Matching is line-based. A SEARCH text is looked for at each level of a
 * cascade, most precise first, and must match exactly one place at the
 * first level where it matches at all:
 *
 *   LC_EDIT_MATCH_EXACT        the lines are equal (line endings aside)
 *   LC_EDIT_MATCH_TRAILING_WS  equal once trailing whitespace is dropped
 *   LC_EDIT_MATCH_INDENT       every non-blank SEARCH line is its file line
 *                              with one same whitespace prefix added or
 *                              removed (blank lines match blank lines); the
 *                              REPLACE lines get the same prefix added or
 *                              removed, so their relative indentation stays
 *   LC_EDIT_MATCH_WHITESPACE   equal once whitespace runs are collapsed and
 *                              leading/trailing whitespace dropped; REPLACE
 *                              lines are moved by the difference between the
 *                              first matched file line's indentation and the
 *                              first SEARCH line's
 *
 * The new lines take the file's dominant line ending (CRLF files stay CRLF);
 * a file without a final newline keeps that; bytes other than line endings
 * and re-indentation are copied as they are (UTF-8 untouched).
 *
 * An empty SEARCH (no lines, or only whitespace) appends the REPLACE lines
 * to the end of the text; on an empty text the result is the REPLACE text as
 * given (creating a file). LC_EDIT_MATCH_APPEND names that case.
 *
 * Several blocks apply in order, each to the text the previous ones made.
 * If one fails, nothing is applied and the refusal names the block.
 */
#ifndef LC_EDIT_H
#define LC_EDIT_H

#include <stddef.h>

#include "tools/lines.h"

/* Largest old or new text, bytes. */
#define LC_EDIT_MAX_TEXT ((size_t)64 << 20)

/* Most blocks in one edit. */
#define LC_EDIT_MAX_BLOCKS 256

enum lc_edit_match {
	LC_EDIT_MATCH_EXACT = 0,
	LC_EDIT_MATCH_TRAILING_WS = 1,
	LC_EDIT_MATCH_INDENT = 2,
	LC_EDIT_MATCH_WHITESPACE = 3,
	LC_EDIT_MATCH_APPEND = 4
};

/* One block; the strings are borrowed and need no NUL. */
typedef struct lc_edit_block {
	const char *search;
	size_t search_len;
	const char *replace;
	size_t replace_len;
} lc_edit_block;

/* What happened to one block. */
typedef struct lc_edit_applied {
	enum lc_edit_match match; /* cascade level that matched */
	size_t line;              /* 1-based first line replaced, in the text the block saw */
	size_t old_count;         /* lines replaced */
	size_t new_count;         /* lines put in their place */
} lc_edit_applied;

/*
 * Result of lc_edit_apply(). The caller owns the struct (LC_EDIT_RESULT_INIT
 * or zeroed, then lc_edit_result_release()); the struct owns the pointers.
 */
typedef struct lc_edit_result {
	char *text;              /* new text, NUL-terminated */
	size_t len;              /* bytes of text, NUL not counted */
	lc_edit_applied *blocks; /* n_blocks entries, in block order */
	size_t n_blocks;
	lc_line_range *ranges; /* changed lines in the new text, sorted, disjoint */
	size_t n_ranges;
	/*
	 * On a refusal (LC_ENOTFOUND, LC_EDENIED) the only field written: text
	 * for the model that says which block failed and why, with the closest
	 * lines of the file (numbered) or the line numbers of every match.
	 */
	char *observation;
	size_t failed_block; /* 0-based index of the failed block on a refusal */
} lc_edit_result;

#define LC_EDIT_RESULT_INIT                                                                        \
	{                                                                                          \
		NULL, 0, NULL, 0, NULL, 0, NULL, 0                                                 \
	}

/* Free the insides; the struct is empty afterwards. NULL is fine. */
void lc_edit_result_release(lc_edit_result *r);

/*
 * Parse len bytes of model output into blocks. *out is malloc'd (free with
 * free()); its strings point into text and are valid as long as text is.
 * SEARCH and REPLACE texts keep their line endings ("a\n" for one line "a").
 *
 * LC_EPARSE with a message naming the block or line: "edit: block 2: no
 * '=======' line", "edit: line 7: '>>>>>>> REPLACE' outside a block", "edit:
 * no '<<<<<<< SEARCH' block". LC_ETOOBIG past LC_EDIT_MAX_BLOCKS blocks,
 * LC_ENOMEM.
 */
int lc_edit_parse(const char *text, size_t len, lc_edit_block **out, size_t *n_out);

/*
 * Apply n blocks to len bytes of text (NULL with len 0 for an empty or new
 * file) and fill *out (which must be empty).
 *
 * Returns 0 with every field but observation set; LC_ENOTFOUND when a
 * SEARCH text matches nowhere; LC_EDENIED when it matches several places at
 * the first level that matches (ambiguous); both with out->observation and
 * out->failed_block set and a one-line summary in the error slot. LC_ETOOBIG
 * when a text passes LC_EDIT_MAX_TEXT, LC_ENOMEM.
 */
int lc_edit_apply(lc_edit_result *out, const char *text, size_t len, const lc_edit_block *blocks,
                  size_t n);

/* A fixed name for a match level: "exact", "trailing whitespace", ... */
const char *lc_edit_match_name(enum lc_edit_match m);

#endif
