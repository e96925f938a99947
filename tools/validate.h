/*
 * validate.h - checks an edited text must pass before it is written.
 *
 * lc_validate() compares the old and the new text of one file and refuses
 * the new one, with a reason naming the line, when the edit
 *
 *   LC_VALIDATE_NOCHANGE  changes nothing;
 *   LC_VALIDATE_REPEAT    repeats a block of >= min_block_lines lines more
 *                         than max_repeats times in a row (looping output),
 *                         where the old text had no such run of that block;
 *   LC_VALIDATE_ELISION   puts an elision placeholder ("... rest of the code
 *                         ...", "# existing code here", "[rest unchanged]")
 *                         where real lines were removed;
 *   LC_VALIDATE_PYTHON    breaks Python's indentation rules in a .py/.pyi
 *                         file (unexpected indent, a dedent to a level that
 *                         never opened, no indented block after ':',
 *                         inconsistent tabs and spaces: Python reference,
 *                         "Lexical analysis", 2.1.8 Indentation), or its
 *                         brackets (unmatched, mismatched or never closed,
 *                         outside strings and comments) or leaves a
 *                         triple-quoted string open, with CPython's messages;
 *   LC_VALIDATE_BRACKETS  unbalances (), [], {} - or leaves a string or
 *                         comment open - in C, C++, Java, JavaScript,
 *                         TypeScript, Go, Rust or JSON (by extension);
 *   LC_VALIDATE_INDENT    mixes tabs and spaces at the start of lines where
 *                         the old text used one of them, or re-indents lines
 *                         the edit did not target (outside ranges).
 *
 * Each rule compares old with new: a rule the old text already broke does
 * not refuse the new one (an already broken file can still be edited).
 * Lines whose indentation is a single space (" * " in C comments) are not
 * counted by the tabs/spaces rule.
 */
#ifndef LC_VALIDATE_H
#define LC_VALIDATE_H

#include <stddef.h>

#include "tools/lines.h"

enum lc_validate_rule {
	LC_VALIDATE_NOCHANGE = 1 << 0,
	LC_VALIDATE_REPEAT = 1 << 1,
	LC_VALIDATE_ELISION = 1 << 2,
	LC_VALIDATE_PYTHON = 1 << 3,
	LC_VALIDATE_BRACKETS = 1 << 4,
	LC_VALIDATE_INDENT = 1 << 5,
	LC_VALIDATE_ALL = (1 << 6) - 1
};

typedef struct lc_validate_opts {
	unsigned rules;           /* LC_VALIDATE_* bits of the rules to check */
	unsigned max_repeats;     /* a block may appear this many times in a row */
	unsigned min_block_lines; /* smallest block the repeat rule looks at */
} lc_validate_opts;

#define LC_VALIDATE_OPTS_INIT                                                                      \
	{                                                                                          \
		LC_VALIDATE_ALL, 3, 2                                                              \
	}

/*
 * Check new_text (new_len bytes) against old_text (old_len bytes; NULL for
 * a file being created). path picks the language by its extension only.
 * ranges/n_ranges: the lines the edit changed in the new text (as from
 * lc_edit_apply() or lc_patch_apply()); NULL when unknown, then the lines
 * between the first and the last difference count as targeted. opts NULL
 * means LC_VALIDATE_OPTS_INIT.
 *
 * Returns 0 when the new text passes. LC_EDENIED when it is refused: the
 * error slot holds "validate: <path>:<line>: <reason>" and *reason, if
 * reason is not NULL, gets the same text without "validate: " (malloc'd,
 * free with free()). *rule_out, if not NULL, gets the LC_VALIDATE_* bit of
 * the rule that refused. LC_ENOMEM. Nothing is written on success.
 */
int lc_validate(const char *path, const char *old_text, size_t old_len, const char *new_text,
                size_t new_len, const lc_line_range *ranges, size_t n_ranges,
                const lc_validate_opts *opts, char **reason, unsigned *rule_out);

#endif
