/* prompts_int.h - the embedded prompt table, written by embed.c at build time. */
#ifndef LC_PROMPTS_INT_H
#define LC_PROMPTS_INT_H

#include <stddef.h>

struct lc_prompt_entry {
	const char *name; /* file name without extension: "system" */
	const char *text; /* NUL-terminated */
	size_t len;       /* bytes, NUL not counted */
};

/* Ended by an entry whose name is NULL. */
extern const struct lc_prompt_entry lc_prompt_table[];

#endif
