/*
 * constrain.h - constrained decoding of tool calls.
 *
 * A byte-level recogniser for the tool-call syntax of one format (see
 * toolcall.h) over a set of tools with JSON schemas. Outside a call the
 * model writes freely; once the text of a call begins (the trigger:
 * "<tool_call>" for Hermes, "Action:" at the start of a line for ReAct, a
 * message opening with '{' for Llama 3.1 JSON, "[TOOL_CALLS]" for Mistral),
 * only bytes that keep the text a valid prefix of a call to a registered tool
 * with schema-valid arguments are allowed: tool names, argument names, value
 * types (string, integer, number, boolean, enum, nested objects and arrays),
 * required arguments before the call may close (with "dependentRequired":
 * an argument given makes the ones it lists required), and the bounds of
 * lc_schema_validate's subset (tools/schema.h): minimum/maximum of integers,
 * minLength/maxLength of strings in code points (as schema.c counts them,
 * after JSON unescaping or ReAct trimming), minItems/maxItems of arrays.
 * Bounds are kept at the first byte after which no value within them
 * remains possible: an integer prefix is allowed iff some integer it can
 * still become (at most 15 digits) is in range, so with minimum 1 and maximum 3600 "0" and the
 * fourth digit of "9999" are refused while "360" is not. \u escapes follow cJSON: a surrogate pair
 * is one character, lone surrogates and U+0000 are refused. A call the recogniser accepted in full
 * parses with lc_toolcall_parse and satisfies its schema, except minimum/maximum of non-integer
 * numbers, which lc_schema_validate checks after.
 *
 * Use while sampling: lc_sampler_sample_constrained (runtime/sampler.h)
 * asks lc_constraint_allows(c, piece, len) (or lc_constraint_allows_end for
 * an end-of-generation token) for candidates in descending logit order, so
 * the cost follows the number of rejections, not the vocabulary size; then
 * lc_constraint_feed the chosen piece.
 *
 * The state is a small value (no allocation while decoding): checking a
 * candidate copies it and feeds the bytes to the copy.
 */
#ifndef LC_CONSTRAIN_H
#define LC_CONSTRAIN_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "agent/toolcall.h"

typedef struct lc_constraint lc_constraint;

/*
 * A recogniser for calls in format fmt to the tools in tools (OpenAI-style
 * list, as for lc_toolcall_parse; borrowed, must outlive the recogniser).
 * Starts outside any call. Errors: LC_ENOMEM, LC_EUNSUPPORTED (a schema too
 * deep or with too many properties: more than 64 per object).
 */
int lc_constraint_new(lc_constraint **out, enum lc_call_format fmt, const cJSON *tools);
void lc_constraint_free(lc_constraint *c);

/*
 * Repository files that ReAct calls may name and quote. For each binding,
 * the tool's argument path_arg must be written as one of paths exactly, and
 * its argument quote_arg (may be NULL), when given after path_arg, must be a
 * <<< block whose lines are consecutive whole lines of that file, byte for
 * byte (a last line without a newline counts as having one) - so the search
 * text of an edit always matches. Other call formats are not affected.
 * read(ud, i, &text, &len) gives the content of paths[i]; it is called while
 * checking candidates, so it should cache; a nonzero return, or an empty
 * file, leaves that file's quote unconstrained.
 */
typedef struct lc_constraint_bind {
	const char *tool, *path_arg, *quote_arg;
	int dirs; /* path_arg may also name a directory holding listed files, or "." */
} lc_constraint_bind;

typedef struct lc_constraint_files {
	const char *const *paths; /* repository-relative, at most 255 bytes each */
	size_t n_paths;
	const lc_constraint_bind *binds;
	size_t n_binds;
	int (*read)(void *ud, size_t i, const char **text, size_t *len);
	void *ud;
} lc_constraint_files;

/*
 * Use files (copied; the arrays and what read returns are borrowed and must
 * stay valid until the next call). NULL or no paths: no file constraint.
 * Takes effect at the next call that starts; set it between messages.
 */
void lc_constraint_set_files(lc_constraint *c, const lc_constraint_files *files);

/* Back to the start of a message, outside any call. */
void lc_constraint_reset(lc_constraint *c);

/* 1 when the next n bytes would be valid, 0 when not. Does not change c. */
int lc_constraint_allows(const lc_constraint *c, const char *bytes, size_t n);

/* 1 when the message may end here (no call open, or the call is complete). */
int lc_constraint_allows_end(const lc_constraint *c);

/* Take n bytes. LC_EDENIED (state unchanged) when they are not allowed. */
int lc_constraint_feed(lc_constraint *c, const char *bytes, size_t n);

/* 1 while inside a call, where choices are constrained. */
int lc_constraint_in_call(const lc_constraint *c);

/* Number of complete calls seen since the last reset. */
int lc_constraint_n_calls(const lc_constraint *c);

#endif
