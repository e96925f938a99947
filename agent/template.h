/*
 * template.h - which chat-template family a model's template belongs to.
 *
 * A GGUF model carries its chat template as Jinja source in
 * tokenizer.chat_template. lcode does not run Jinja: it recognises the
 * family by marker strings the families' templates are built from, and
 * renders the conversation itself in that family's format.
 *
 * Markers, from the families' published templates:
 *   "<|im_start|>"          ChatML (Qwen, Qwen2.5-Coder, many fine-tunes)
 *   "<|start_header_id|>"   Llama 3.x
 *   "### Instruction:"      DeepSeek-Coder 1.x instruct
 *   "[INST]"                Mistral / Mixtral (and Llama 2, same turn markers)
 */
#ifndef LC_TEMPLATE_H
#define LC_TEMPLATE_H

#include <stddef.h>

enum lc_template_family {
	LC_TEMPLATE_UNKNOWN = 0, /* no marker found: the caller falls back (ChatML) */
	LC_TEMPLATE_CHATML,
	LC_TEMPLATE_LLAMA3,
	LC_TEMPLATE_MISTRAL,
	LC_TEMPLATE_DEEPSEEK_CODER,
	LC_TEMPLATE_COUNT
};

/*
 * The family of the Jinja template source jinja[0..len) (need not be
 * NUL-terminated; NULL with len 0 is fine). When markers of several
 * families occur, the first family in the list above wins.
 */
enum lc_template_family lc_template_detect(const char *jinja, size_t len);

/* A fixed lowercase name: "chatml", "llama3", "mistral", "deepseek-coder", "unknown". */
const char *lc_template_family_name(enum lc_template_family family);

#endif
