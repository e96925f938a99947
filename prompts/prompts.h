/*
 * prompts.h - prompt text: built into the binary, overridable by files.
 *
 * The text files in prompts/ are embedded at build time, so an installed
 * lcode needs no data files. When the environment variable LCODE_PROMPT_DIR
 * names a directory that holds NAME.md, that file is used instead of the
 * built-in text for NAME.
 */
#ifndef LC_PROMPTS_H
#define LC_PROMPTS_H

#include <stddef.h>

#include "src/buf.h"

/* Largest prompt file accepted from LCODE_PROMPT_DIR, bytes. */
#define LC_PROMPT_MAX (1024 * 1024)

/*
 * Append the text of prompt name to out. Errors: LC_ENOTFOUND (no such
 * prompt), LC_ETOOBIG (override file over LC_PROMPT_MAX or out's cap),
 * LC_EIO (override file unreadable), LC_ENOMEM.
 */
int lc_prompt_load(const char *name, lc_buf *out);

/*
 * The built-in text of prompt name, or NULL when there is none. Static
 * storage, valid for the life of the program; NUL-terminated. *len_out,
 * if not NULL, gets the length.
 */
const char *lc_prompt_builtin(const char *name, size_t *len_out);

#endif
