#include "agent/chat.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "src/err.h"
#include "src/banned.h"

/* Where text goes: template text, or message content whose span is recorded. */
struct out {
	lc_buf *buf;
	lc_chat_spans *spans;
};

static int tpl(struct out *o, const char *text)
{
	return lc_buf_adds(o->buf, text);
}

static int plain(struct out *o, const char *text)
{
	size_t off = o->buf->len, len = strlen(text);
	int rc = lc_buf_add(o->buf, text, len);

	if (rc || !o->spans || len == 0)
		return rc;
	if (o->spans->n == o->spans->cap) {
		size_t cap = o->spans->cap ? o->spans->cap * 2 : 32;
		lc_chat_span *v = realloc(o->spans->v, cap * sizeof(*v));
		if (!v)
			return LC_ENOMEM;
		o->spans->v = v;
		o->spans->cap = cap;
	}
	o->spans->v[o->spans->n].off = off;
	o->spans->v[o->spans->n].len = len;
	o->spans->n++;
	return 0;
}

void lc_chat_spans_release(lc_chat_spans *s)
{
	if (!s)
		return;
	free(s->v);
	memset(s, 0, sizeof(*s));
}

enum lc_call_format lc_chat_default_format(enum lc_template_family family)
{
	switch (family) {
	case LC_TEMPLATE_CHATML:
		return LC_CALL_HERMES;
	case LC_TEMPLATE_LLAMA3:
		return LC_CALL_LLAMA3;
	case LC_TEMPLATE_MISTRAL:
		return LC_CALL_MISTRAL;
	default:
		return LC_CALL_REACT;
	}
}

const char *lc_chat_turn_end(enum lc_template_family family)
{
	switch (family) {
	case LC_TEMPLATE_LLAMA3:
		return "<|eot_id|>";
	case LC_TEMPLATE_MISTRAL:
		return "</s>";
	case LC_TEMPLATE_DEEPSEEK_CODER:
		return "\n<|EOT|>";
	default:
		return "<|im_end|>";
	}
}

/* --- JSON as Python's json.dumps(ensure_ascii=False) writes it ------------ */

static int dump_string(const char *s, lc_buf *out)
{
	int rc = lc_buf_addc(out, '"');

	for (; *s && !rc; s++) {
		unsigned char ch = (unsigned char)*s;
		switch (ch) {
		case '"':
			rc = lc_buf_adds(out, "\\\"");
			break;
		case '\\':
			rc = lc_buf_adds(out, "\\\\");
			break;
		case '\n':
			rc = lc_buf_adds(out, "\\n");
			break;
		case '\r':
			rc = lc_buf_adds(out, "\\r");
			break;
		case '\t':
			rc = lc_buf_adds(out, "\\t");
			break;
		case '\b':
			rc = lc_buf_adds(out, "\\b");
			break;
		case '\f':
			rc = lc_buf_adds(out, "\\f");
			break;
		default:
			rc = ch < 0x20 ? lc_buf_addf(out, "\\u%04x", ch)
			               : lc_buf_addc(out, (char)ch);
		}
	}
	return rc ? rc : lc_buf_addc(out, '"');
}

static int newline_indent(lc_buf *out, int indent, int level)
{
	int rc = lc_buf_addc(out, '\n');

	for (int i = 0; i < indent * level && !rc; i++)
		rc = lc_buf_addc(out, ' ');
	return rc;
}

static int dump(const cJSON *v, int indent, int level, lc_buf *out)
{
	const cJSON *item;
	int rc = 0, first = 1, is_obj;

	if (cJSON_IsNull(v))
		return lc_buf_adds(out, "null");
	if (cJSON_IsTrue(v))
		return lc_buf_adds(out, "true");
	if (cJSON_IsFalse(v))
		return lc_buf_adds(out, "false");
	if (cJSON_IsNumber(v)) {
		double d = v->valuedouble;
		if (d == floor(d) && fabs(d) < 1e15)
			return lc_buf_addf(out, "%.0f", d);
		return lc_buf_addf(out, "%.17g", d);
	}
	if (cJSON_IsString(v))
		return dump_string(v->valuestring, out);
	is_obj = cJSON_IsObject(v);
	if (!is_obj && !cJSON_IsArray(v))
		return lc_buf_adds(out, "null");
	if (!v->child)
		return lc_buf_adds(out, is_obj ? "{}" : "[]");
	rc = lc_buf_addc(out, is_obj ? '{' : '[');
	cJSON_ArrayForEach(item, v)
	{
		if (!first && !rc)
			rc = lc_buf_adds(out, indent > 0 ? "," : ", ");
		first = 0;
		if (indent > 0 && !rc)
			rc = newline_indent(out, indent, level + 1);
		if (is_obj && !rc) {
			rc = dump_string(item->string, out);
			if (!rc)
				rc = lc_buf_adds(out, ": ");
		}
		if (!rc)
			rc = dump(item, indent, level + 1, out);
	}
	if (indent > 0 && !rc)
		rc = newline_indent(out, indent, level);
	return rc ? rc : lc_buf_addc(out, is_obj ? '}' : ']');
}

int lc_chat_json_dumps(const cJSON *v, int indent, lc_buf *out)
{
	return dump(v, indent, 0, out);
}

/* --- ReAct tool descriptions ------------------------------------------- */

static const char *type_text(const cJSON *prop)
{
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(prop, "type");

	if (cJSON_GetObjectItemCaseSensitive(prop, "enum"))
		return "one of";
	return cJSON_IsString(t) ? t->valuestring : "value";
}

static int is_required(const cJSON *params, const char *name)
{
	const cJSON *r;

	cJSON_ArrayForEach(r, cJSON_GetObjectItemCaseSensitive(params, "required"))
	{
		if (cJSON_IsString(r) && strcmp(r->valuestring, name) == 0)
			return 1;
	}
	return 0;
}

/* One paragraph per tool: name, description, then one line per argument. */
static int react_tools(const cJSON *tools, int compact, lc_buf *out)
{
	const cJSON *t, *p, *e;
	int rc = 0;

	cJSON_ArrayForEach(t, tools)
	{
		const cJSON *fn = cJSON_GetObjectItemCaseSensitive(t, "function");
		const cJSON *name = cJSON_GetObjectItemCaseSensitive(fn, "name");
		const cJSON *desc = cJSON_GetObjectItemCaseSensitive(fn, "description");
		const cJSON *params = cJSON_GetObjectItemCaseSensitive(fn, "parameters");

		if (!cJSON_IsString(name))
			continue;
		if (compact)
			rc = lc_buf_addf(out, "\n\n## %s", name->valuestring);
		else
			rc = lc_buf_addf(out, "\n\n## %s\n%s", name->valuestring,
			                 cJSON_IsString(desc) ? desc->valuestring : "");
		cJSON_ArrayForEach(p, cJSON_GetObjectItemCaseSensitive(params, "properties"))
		{
			const cJSON *pd = cJSON_GetObjectItemCaseSensitive(p, "description");
			if (rc)
				break;
			rc = lc_buf_addf(out, "\n- %s (%s", p->string, type_text(p));
			cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(p, "enum"))
			{
				if (!rc && cJSON_IsString(e))
					rc = lc_buf_addf(out, " %s", e->valuestring);
			}
			if (!rc)
				rc = lc_buf_addf(out, "%s)%s%s",
				                 is_required(params, p->string) ? ", required" : "",
				                 cJSON_IsString(pd) && !compact ? ": " : "",
				                 cJSON_IsString(pd) && !compact ? pd->valuestring
				                                                : "");
		}
		if (rc)
			break;
	}
	return rc;
}

/* The system text: system, then (ReAct) the tools described in prose. */
static int system_text(const lc_chat_style *st, const char *system, const cJSON *tools,
                       const char *react_intro, struct out *o)
{
	int rc = plain(o, system ? system : "");

	if (!rc && st->fmt == LC_CALL_REACT && cJSON_GetArraySize(tools) > 0) {
		rc = lc_buf_addf(o->buf, "%s%s", system && system[0] ? "\n\n" : "",
		                 react_intro ? react_intro : "");
		if (!rc)
			rc = react_tools(tools, st->compact, o->buf);
	}
	return rc;
}

static int has_tools(const lc_chat_style *st, const cJSON *tools)
{
	return st->fmt != LC_CALL_REACT && cJSON_GetArraySize(tools) > 0;
}

/* --- families ---------------------------------------------------------- */

static int render_chatml(const lc_chat_style *st, const char *system, const cJSON *tools,
                         const char *react_intro, const lc_chat_msg *m, size_t n, int gen,
                         struct out *o)
{
	const cJSON *t;
	int rc;

	rc = tpl(o, "<|im_start|>system\n");
	if (!rc)
		rc = system_text(st, system, tools, react_intro, o);
	if (!rc && has_tools(st, tools)) {
		rc = tpl(o, "\n\n# Tools\n\nYou may call one or more functions to assist with the "
		            "user query.\n\nYou are provided with function signatures within "
		            "<tools></tools> XML tags:\n<tools>");
		cJSON_ArrayForEach(t, tools)
		{
			if (!rc)
				rc = tpl(o, "\n");
			if (!rc)
				rc = lc_chat_json_dumps(t, 0, o->buf);
		}
		if (!rc)
			rc = tpl(o,
			         "\n</tools>\n\nFor each function call, return a json object with "
			         "function name and arguments within <tool_call></tool_call> XML "
			         "tags:\n<tool_call>\n{\"name\": <function-name>, \"arguments\": "
			         "<args-json-object>}\n</tool_call>");
	}
	if (!rc)
		rc = tpl(o, "<|im_end|>\n");
	for (size_t i = 0; i < n && !rc; i++) {
		switch (m[i].role) {
		case LC_ROLE_USER:
			if (!(rc = tpl(o, "<|im_start|>user\n")) && !(rc = plain(o, m[i].content)))
				rc = tpl(o, "<|im_end|>\n");
			break;
		case LC_ROLE_ASSISTANT:
			if (!(rc = tpl(o, "<|im_start|>assistant\n")) &&
			    !(rc = plain(o, m[i].content)))
				rc = tpl(o, "<|im_end|>\n");
			break;
		case LC_ROLE_TOOL:
			if (i == 0 || m[i - 1].role != LC_ROLE_TOOL)
				rc = tpl(o, "<|im_start|>user");
			if (!rc && !(rc = tpl(o, "\n<tool_response>\n")) &&
			    !(rc = plain(o, m[i].content)))
				rc = tpl(o, "\n</tool_response>");
			if (!rc && (i + 1 == n || m[i + 1].role != LC_ROLE_TOOL))
				rc = tpl(o, "<|im_end|>\n");
			break;
		default:
			return lc_err_set(LC_EPARSE, "chat: a system message after the first");
		}
	}
	if (!rc && gen)
		rc = tpl(o, "<|im_start|>assistant\n");
	return rc;
}

static int render_llama3(const lc_chat_style *st, const char *system, const cJSON *tools,
                         const char *react_intro, const lc_chat_msg *m, size_t n, int gen,
                         struct out *o)
{
	const cJSON *t;
	int rc, tools_done = !has_tools(st, tools);

	rc = tpl(o, "<|start_header_id|>system<|end_header_id|>\n\n");
	if (!rc && has_tools(st, tools))
		rc = tpl(o, "Environment: ipython\n");
	if (!rc)
		rc = tpl(o, "Cutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n");
	if (!rc)
		rc = system_text(st, system, tools, react_intro, o);
	if (!rc)
		rc = tpl(o, "<|eot_id|>");
	for (size_t i = 0; i < n && !rc; i++) {
		switch (m[i].role) {
		case LC_ROLE_USER:
			rc = tpl(o, "<|start_header_id|>user<|end_header_id|>\n\n");
			if (!rc && !tools_done) {
				rc = tpl(o,
				         "Given the following functions, please respond with a "
				         "JSON for a function call with its proper arguments that "
				         "best answers the given prompt.\n\nRespond in the format "
				         "{\"name\": function name, \"parameters\": dictionary of "
				         "argument name and its value}.Do not use variables.\n\n");
				cJSON_ArrayForEach(t, tools)
				{
					if (!rc)
						rc = lc_chat_json_dumps(t, 4, o->buf);
					if (!rc)
						rc = tpl(o, "\n\n");
				}
				tools_done = 1;
			}
			if (!rc && !(rc = plain(o, m[i].content)))
				rc = tpl(o, "<|eot_id|>");
			break;
		case LC_ROLE_ASSISTANT:
			if (!(rc = tpl(o, "<|start_header_id|>assistant<|end_header_id|>\n\n")) &&
			    !(rc = plain(o, m[i].content)))
				rc = tpl(o, "<|eot_id|>");
			break;
		case LC_ROLE_TOOL:
			if (!(rc = tpl(o, "<|start_header_id|>ipython<|end_header_id|>\n\n")) &&
			    !(rc = plain(o, m[i].content)))
				rc = tpl(o, "<|eot_id|>");
			break;
		default:
			return lc_err_set(LC_EPARSE, "chat: a system message after the first");
		}
	}
	if (!rc && gen)
		rc = tpl(o, "<|start_header_id|>assistant<|end_header_id|>\n\n");
	return rc;
}

static int render_mistral(const lc_chat_style *st, const char *system, const cJSON *tools,
                          const char *react_intro, const lc_chat_msg *m, size_t n, int gen,
                          struct out *o)
{
	lc_buf sys = LC_BUF_INIT(o->buf->max), json = LC_BUF_INIT(o->buf->max);
	struct out so = {&sys, NULL};
	cJSON *content;
	int rc, first_user = 1;

	rc = system_text(st, system, tools, react_intro, &so);
	if (!rc && has_tools(st, tools)) {
		rc = tpl(o, "[AVAILABLE_TOOLS] ");
		if (!rc)
			rc = lc_chat_json_dumps(tools, 0, o->buf);
		if (!rc)
			rc = tpl(o, "[/AVAILABLE_TOOLS]");
	}
	for (size_t i = 0; i < n && !rc; i++) {
		switch (m[i].role) {
		case LC_ROLE_USER:
			rc = tpl(o, "[INST] ");
			if (!rc && first_user && sys.len && !(rc = plain(o, sys.data)))
				rc = tpl(o, "\n\n");
			first_user = 0;
			if (!rc && !(rc = plain(o, m[i].content)))
				rc = tpl(o, " [/INST]");
			break;
		case LC_ROLE_ASSISTANT:
			if (!(rc = plain(o, m[i].content)))
				rc = tpl(o, "</s>");
			break;
		case LC_ROLE_TOOL:
			content = cJSON_CreateObject();
			if (!content ||
			    !cJSON_AddStringToObject(content, "content", m[i].content)) {
				cJSON_Delete(content);
				rc = LC_ENOMEM;
				break;
			}
			lc_buf_reset(&json);
			rc = lc_chat_json_dumps(content, 0, &json);
			cJSON_Delete(content);
			if (!rc && !(rc = tpl(o, "[TOOL_RESULTS] ")) && !(rc = plain(o, json.data)))
				rc = tpl(o, "[/TOOL_RESULTS]");
			break;
		default:
			rc = lc_err_set(LC_EPARSE, "chat: a system message after the first");
		}
	}
	(void)gen; /* the [/INST] or [/TOOL_RESULTS] already opens the answer */
	lc_buf_release(&sys);
	lc_buf_release(&json);
	return rc;
}

static int render_deepseek(const lc_chat_style *st, const char *system, const cJSON *tools,
                           const char *react_intro, const lc_chat_msg *m, size_t n, int gen,
                           struct out *o)
{
	int rc = system_text(st, system, tools, react_intro, o);

	if (!rc)
		rc = tpl(o, "\n");
	for (size_t i = 0; i < n && !rc; i++) {
		const char *head = m[i].role == LC_ROLE_USER   ? "### Instruction:\n"
		                   : m[i].role == LC_ROLE_TOOL ? "### Instruction:\nObservation:\n"
		                   : m[i].role == LC_ROLE_ASSISTANT ? "### Response:\n"
		                                                    : NULL;
		if (!head)
			return lc_err_set(LC_EPARSE, "chat: a system message after the first");
		if (!(rc = tpl(o, head)) && !(rc = plain(o, m[i].content)))
			rc = tpl(o, m[i].role == LC_ROLE_ASSISTANT ? "\n<|EOT|>\n" : "\n");
	}
	if (!rc && gen)
		rc = tpl(o, "### Response:\n");
	return rc;
}

int lc_chat_render(const lc_chat_style *style, const char *system, const cJSON *tools,
                   const char *react_intro, const lc_chat_msg *msgs, size_t n, int gen_prompt,
                   lc_buf *out, lc_chat_spans *plain_spans)
{
	struct out o = {out, plain_spans};
	size_t start = out->len, n_spans = plain_spans ? plain_spans->n : 0;
	int rc;

	switch (style->family) {
	case LC_TEMPLATE_LLAMA3:
		rc = render_llama3(style, system, tools, react_intro, msgs, n, gen_prompt, &o);
		break;
	case LC_TEMPLATE_MISTRAL:
		rc = render_mistral(style, system, tools, react_intro, msgs, n, gen_prompt, &o);
		break;
	case LC_TEMPLATE_DEEPSEEK_CODER:
		rc = render_deepseek(style, system, tools, react_intro, msgs, n, gen_prompt, &o);
		break;
	default:
		rc = render_chatml(style, system, tools, react_intro, msgs, n, gen_prompt, &o);
		break;
	}
	if (rc) {
		lc_buf_truncate(out, start);
		if (plain_spans)
			plain_spans->n = n_spans;
		if (rc == LC_ETOOBIG)
			return lc_err_set(LC_ETOOBIG,
			                  "chat: the conversation does not fit in %zu bytes",
			                  out->max);
		if (rc == LC_ENOMEM)
			return lc_err_set(LC_ENOMEM, "chat: out of memory");
	}
	return rc;
}
