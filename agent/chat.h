/*
 * chat.h - render a conversation in a model family's chat format.
 *
 * The text produced is what the family's own chat template
 * (tokenizer.chat_template) produces for the same messages and tools, so
 * the model sees the format it was trained on:
 *
 *  LC_TEMPLATE_CHATML (Qwen2/2.5): <|im_start|>ROLE\n...<|im_end|>\n; tools
 *    in the system message inside <tools></tools>, one JSON object per line
 *    (Python json.dumps spacing, as the template's tojson writes it); tool
 *    results as a user turn of <tool_response> blocks, consecutive results
 *    merged into one turn.
 *  LC_TEMPLATE_LLAMA3 (Llama 3.1/3.2): <|start_header_id|>ROLE
 *    <|end_header_id|>\n\n...<|eot_id|>; "Environment: ipython" and the
 *    knowledge-date lines in the system turn; tool definitions in the first
 *    user turn (the template's tools_in_user_message default), indented JSON;
 *    tool results in "ipython" turns.
 *  LC_TEMPLATE_MISTRAL (Mistral v0.3 tool format): [AVAILABLE_TOOLS] ...
 *    [/AVAILABLE_TOOLS] before the first [INST] (the template puts it
 *    before the last one; the first keeps every earlier turn's rendering
 *    unchanged, so the KV cache keeps its prefix), the system text at the
 *    head of the first [INST], assistant turns ended by </s>, results in
 *    [TOOL_RESULTS] {"content": ...}[/TOOL_RESULTS].
 *  LC_TEMPLATE_DEEPSEEK_CODER: the system text, then "### Instruction:\n"
 *    and "### Response:\n" turns, each response ended by "\n<|EOT|>\n";
 *    tool results as an instruction turn that starts "Observation:".
 *  LC_TEMPLATE_UNKNOWN (the documented fallback): ChatML, as above.
 *
 * With the ReAct call format (toolcall.h) the tools are described in the
 * system text instead (prompts/react.md and one paragraph per tool), in
 * every family.
 *
 * BOS is not part of the text: the caller adds it when the tokenizer asks for
 * it. Rendering is append-only: the text for messages [0, n) followed by
 * the generation prompt is a prefix of the text for [0, n + k), once the
 * assistant message n holds exactly the text the model generated plus its
 * end-of-turn token text. So a caller can keep the tokens of a conversation
 * and the KV cache, and tokenize only what a turn adds.
 */
#ifndef LC_CHAT_H
#define LC_CHAT_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "agent/template.h"
#include "agent/toolcall.h"
#include "src/buf.h"

enum lc_chat_role { LC_ROLE_SYSTEM = 0, LC_ROLE_USER = 1, LC_ROLE_ASSISTANT = 2, LC_ROLE_TOOL = 3 };

/* One message; strings borrowed, content NUL-terminated. */
typedef struct lc_chat_msg {
	enum lc_chat_role role;
	const char *content; /* assistant: the text the model generated, as generated */
} lc_chat_msg;

/* Byte ranges of a rendering that hold message content, not template text. */
typedef struct lc_chat_span {
	size_t off, len; /* into the output buffer */
} lc_chat_span;

/* Caller owns the struct (zero it first); release frees v. */
typedef struct lc_chat_spans {
	lc_chat_span *v;
	size_t n, cap;
} lc_chat_spans;

void lc_chat_spans_release(lc_chat_spans *s);

typedef struct lc_chat_style {
	enum lc_template_family family;
	enum lc_call_format fmt;
	int compact; /* ReAct tool list without descriptions (the compact prompt profile) */
} lc_chat_style;

/* The call format a family's models are trained on (ReAct for those with none). */
enum lc_call_format lc_chat_default_format(enum lc_template_family family);

/*
 * Append to out the rendering of system (may be NULL), the tool list tools
 * (OpenAI style, with descriptions; may be NULL or empty), messages
 * msgs[0..n) (no system messages among them), and, when gen_prompt is set,
 * the opening of an assistant turn. react_intro is the text that introduces
 * the tools in the ReAct format (prompts/react.md), used only with
 * LC_CALL_REACT. When plain is not NULL, the byte ranges of out that hold
 * message content (and the system text) are appended to it: a tokenizer must
 * read them as plain text, never as special tokens, so a file that contains
 * "<|im_end|>" cannot end a turn. Errors: LC_ETOOBIG (out's cap), LC_ENOMEM,
 * LC_EPARSE (a system message among msgs); out and plain are unchanged then.
 */
int lc_chat_render(const lc_chat_style *style, const char *system, const cJSON *tools,
                   const char *react_intro, const lc_chat_msg *msgs, size_t n, int gen_prompt,
                   lc_buf *out, lc_chat_spans *plain);

/*
 * The text that ends an assistant turn in this family, as the model
 * generates it ("<|im_end|>", "<|eot_id|>", "</s>", "\n<|EOT|>"): what the
 * caller appends to a generated message when the model stopped on an
 * end-of-generation token whose text the detokenizer does not give.
 */
const char *lc_chat_turn_end(enum lc_template_family family);

/*
 * Append v to out as Python's json.dumps writes it (", " and ": "
 * separators, non-ASCII kept as UTF-8), which is how Jinja chat templates
 * print tool definitions. indent > 0 breaks lines and indents by that many
 * spaces per level. Errors as lc_buf.
 */
int lc_chat_json_dumps(const cJSON *v, int indent, lc_buf *out);

#endif
