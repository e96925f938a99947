/*
 * toolcall.h - find tool calls in a model's message, in the model's format.
 *
 * Formats (prompts/tool-formats.md shows each as the model sees it):
 *  - LC_CALL_HERMES: <tool_call>{"name": N, "arguments": {...}}</tool_call>,
 *    any number of them (Qwen2.5, Hermes; the Qwen chat template's format).
 *  - LC_CALL_LLAMA3: the whole message is {"name": N, "parameters": {...}},
 *    optionally after <|python_tag|> (Llama 3.1 JSON tool calling).
 *  - LC_CALL_MISTRAL: [TOOL_CALLS] followed by a JSON array of
 *    {"name": N, "arguments": {...}}, or by N[ARGS]{...} (newer templates).
 *  - LC_CALL_REACT: lcode's text format: "Thought:" lines, then
 *    "Action: NAME" and one argument per line, "key: value", or "key:" alone
 *    followed by a raw block between a line "<<<" and a line ">>>" that is
 *    taken byte for byte, so code never needs JSON escaping. Values are typed
 *    by the tool's JSON schema (integer, boolean, number, string; arrays and
 *    objects as JSON).
 *
 * <think>...</think> spans are never parsed for calls; they are dropped from
 * the content (an unclosed <think> runs to the end of the message).
 */
#ifndef LC_TOOLCALL_H
#define LC_TOOLCALL_H

#include <stddef.h>

#include <cjson/cJSON.h>

enum lc_call_format {
	LC_CALL_HERMES = 0,
	LC_CALL_LLAMA3 = 1,
	LC_CALL_MISTRAL = 2,
	LC_CALL_REACT = 3
};

typedef struct lc_tool_call {
	char *name;  /* owned */
	cJSON *args; /* owned; always an object */
	char *canon; /* owned: args printed unformatted, for the loop guard and logs */
} lc_tool_call;

typedef struct lc_parsed_msg {
	char *content;       /* owned: the text outside calls and <think> spans, trimmed */
	char *thought;       /* owned, may be NULL: <think> text, or ReAct's Thought lines */
	lc_tool_call *calls; /* owned array */
	size_t n_calls;
} lc_parsed_msg;

/* Largest number of calls taken from one message. */
#define LC_CALLS_MAX 16

/*
 * Parse a complete message of len bytes. tools is the OpenAI-style tool list
 * ([{"type": "function", "function": {"name", "description", "parameters"}}])
 * used to recognise names and, for ReAct, to type argument values.
 *
 * On success *out holds the content and calls (release with
 * lc_parsed_msg_release). A message with no call has n_calls == 0.
 * Errors: LC_EPARSE (a call that is malformed: the message says which call
 * and what is wrong), LC_ENOTFOUND (a call to a tool not in tools; the
 * message lists the tools), LC_ETOOBIG (more than LC_CALLS_MAX calls),
 * LC_ENOMEM. Arguments are not checked against the schema here: see
 * tools/schema.h.
 */
int lc_toolcall_parse(enum lc_call_format fmt, const char *text, size_t len, const cJSON *tools,
                      lc_parsed_msg *out);

void lc_parsed_msg_release(lc_parsed_msg *msg);

/* The parameters schema of tool name in tools, or NULL. Borrowed from tools. */
const cJSON *lc_toolcall_schema(const cJSON *tools, const char *name);

/* "hermes", "llama3", "mistral", "react". */
const char *lc_call_format_name(enum lc_call_format fmt);

#endif
