#include "agent/toolcall.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "src/buf.h"
#include "src/err.h"
#include "src/banned.h"

/* Caps on what one message may carry. */
#define MSG_MAX (16u << 20)

const char *lc_call_format_name(enum lc_call_format fmt)
{
	switch (fmt) {
	case LC_CALL_HERMES:
		return "hermes";
	case LC_CALL_LLAMA3:
		return "llama3";
	case LC_CALL_MISTRAL:
		return "mistral";
	case LC_CALL_REACT:
		return "react";
	}
	return "unknown";
}

const cJSON *lc_toolcall_schema(const cJSON *tools, const char *name)
{
	const cJSON *t;

	cJSON_ArrayForEach(t, tools)
	{
		const cJSON *fn = cJSON_GetObjectItemCaseSensitive(t, "function");
		const cJSON *n = cJSON_GetObjectItemCaseSensitive(fn, "name");
		if (cJSON_IsString(n) && strcmp(n->valuestring, name) == 0)
			return cJSON_GetObjectItemCaseSensitive(fn, "parameters");
	}
	return NULL;
}

static int tool_known(const cJSON *tools, const char *name)
{
	const cJSON *t;

	cJSON_ArrayForEach(t, tools)
	{
		const cJSON *n = cJSON_GetObjectItemCaseSensitive(
		        cJSON_GetObjectItemCaseSensitive(t, "function"), "name");
		if (cJSON_IsString(n) && strcmp(n->valuestring, name) == 0)
			return 1;
	}
	return 0;
}

static int unknown_tool(const cJSON *tools, const char *name)
{
	char list[256];
	size_t n = 0;
	const cJSON *t;

	list[0] = '\0';
	cJSON_ArrayForEach(t, tools)
	{
		const cJSON *nm = cJSON_GetObjectItemCaseSensitive(
		        cJSON_GetObjectItemCaseSensitive(t, "function"), "name");
		int w;
		if (!cJSON_IsString(nm))
			continue;
		w = snprintf(list + n, sizeof(list) - n, "%s%s", n ? ", " : "", nm->valuestring);
		if (w < 0 || (size_t)w >= sizeof(list) - n)
			break;
		n += (size_t)w;
	}
	return lc_err_set(LC_ENOTFOUND, "unknown tool '%s'; the tools are: %s", name, list);
}

void lc_parsed_msg_release(lc_parsed_msg *msg)
{
	if (!msg)
		return;
	for (size_t i = 0; i < msg->n_calls; i++) {
		free(msg->calls[i].name);
		cJSON_Delete(msg->calls[i].args);
		free(msg->calls[i].canon);
	}
	free(msg->calls);
	free(msg->content);
	free(msg->thought);
	memset(msg, 0, sizeof(*msg));
}

/* Take ownership of name and args and append a call. */
static int add_call(lc_parsed_msg *msg, const cJSON *tools, char *name, cJSON *args)
{
	lc_tool_call *c;
	char *canon;

	if (!tool_known(tools, name)) {
		int rc = unknown_tool(tools, name);
		free(name);
		cJSON_Delete(args);
		return rc;
	}
	if (msg->n_calls == LC_CALLS_MAX) {
		free(name);
		cJSON_Delete(args);
		return lc_err_set(LC_ETOOBIG, "more than %d tool calls in one message",
		                  LC_CALLS_MAX);
	}
	canon = cJSON_PrintUnformatted(args);
	c = realloc(msg->calls, (msg->n_calls + 1) * sizeof(*c));
	if (!canon || !c) {
		free(canon);
		free(name);
		cJSON_Delete(args);
		if (c)
			msg->calls = c;
		return lc_err_set(LC_ENOMEM, "out of memory parsing tool calls");
	}
	msg->calls = c;
	c[msg->n_calls].name = name;
	c[msg->n_calls].args = args;
	c[msg->n_calls].canon = canon;
	msg->n_calls++;
	return 0;
}

static const char *find(const char *s, const char *end, const char *needle)
{
	size_t n = strlen(needle);

	for (; s + n <= end; s++)
		if (memcmp(s, needle, n) == 0)
			return s;
	return NULL;
}

static const char *skip_space(const char *s, const char *end)
{
	while (s < end && isspace((unsigned char)*s))
		s++;
	return s;
}

/* Copy [s, end) trimmed of white space into an owned string. */
static char *trimmed_dup(const char *s, const char *end)
{
	char *p;

	s = skip_space(s, end);
	while (end > s && isspace((unsigned char)end[-1]))
		end--;
	p = malloc((size_t)(end - s) + 1);
	if (p) {
		memcpy(p, s, (size_t)(end - s));
		p[end - s] = '\0';
	}
	return p;
}

/*
 * Parse the JSON value at [s, end). On success *out is the value and *next
 * the first byte after it. The error names the call and the byte offset.
 */
static int parse_json(const char *s, const char *end, int call_no, cJSON **out, const char **next)
{
	const char *stop = NULL;
	cJSON *v = cJSON_ParseWithLengthOpts(s, (size_t)(end - s), &stop, 0);

	if (!v) {
		size_t at = stop && stop >= s ? (size_t)(stop - s) : 0;
		return lc_err_set(LC_EPARSE, "tool call %d: invalid JSON at byte %zu of the call",
		                  call_no, at);
	}
	*out = v;
	*next = stop ? stop : end;
	return 0;
}

/* From a parsed {"name": ..., key: {...}} object, make a call. */
static int call_from_object(lc_parsed_msg *msg, const cJSON *tools, cJSON *obj, const char *key,
                            int call_no)
{
	cJSON *name = cJSON_GetObjectItemCaseSensitive(obj, "name");
	cJSON *args = cJSON_DetachItemFromObjectCaseSensitive(obj, key);
	char *nm;

	if (!cJSON_IsObject(obj) || !cJSON_IsString(name)) {
		cJSON_Delete(args);
		return lc_err_set(LC_EPARSE,
		                  "tool call %d: expected an object with a \"name\" string",
		                  call_no);
	}
	if (!args) {
		args = cJSON_CreateObject();
	} else if (cJSON_IsString(args)) {
		/* Some templates carry the arguments as a JSON string. */
		cJSON *inner = cJSON_Parse(args->valuestring);
		cJSON_Delete(args);
		args = inner;
	}
	if (!cJSON_IsObject(args)) {
		cJSON_Delete(args);
		return lc_err_set(LC_EPARSE, "tool call %d: \"%s\" must be a JSON object", call_no,
		                  key);
	}
	nm = strdup(name->valuestring);
	if (!nm) {
		cJSON_Delete(args);
		return lc_err_set(LC_ENOMEM, "out of memory");
	}
	return add_call(msg, tools, nm, args);
}

static int parse_hermes(const char *s, const char *end, const cJSON *tools, lc_parsed_msg *msg,
                        lc_buf *content)
{
	static const char close[] = "</tool_call>";
	const char *open, *body, *next;
	cJSON *obj;
	int rc, call_no = 0;

	while ((open = find(s, end, "<tool_call>"))) {
		if (lc_buf_add(content, s, (size_t)(open - s)))
			return lc_err_set(LC_ENOMEM, "out of memory");
		call_no++;
		body = skip_space(open + strlen("<tool_call>"), end);
		if (body == end || ((size_t)(end - body) >= strlen(close) &&
		                    memcmp(body, close, strlen(close)) == 0))
			return lc_err_set(LC_EPARSE, "tool call %d: <tool_call> holds nothing",
			                  call_no);
		/* The JSON decides where the call ends: its strings may hold "</tool_call>". */
		rc = parse_json(body, end, call_no, &obj, &next);
		if (rc)
			return rc;
		next = skip_space(next, end);
		if (next < end) {
			if ((size_t)(end - next) < strlen(close) ||
			    memcmp(next, close, strlen(close)) != 0) {
				cJSON_Delete(obj);
				return lc_err_set(
				        LC_EPARSE,
				        "tool call %d: text after the JSON object, before "
				        "</tool_call>",
				        call_no);
			}
			next += strlen(close);
		}
		rc = call_from_object(msg, tools, obj, "arguments", call_no);
		cJSON_Delete(obj);
		if (rc)
			return rc;
		s = next;
	}
	return lc_buf_add(content, s, (size_t)(end - s)) ? lc_err_set(LC_ENOMEM, "out of memory")
	                                                 : 0;
}

static int parse_llama3(const char *s, const char *end, const cJSON *tools, lc_parsed_msg *msg,
                        lc_buf *content)
{
	const char *p = skip_space(s, end), *next;
	const char *tag = "<|python_tag|>";
	cJSON *obj;
	int rc;

	if ((size_t)(end - p) >= strlen(tag) && memcmp(p, tag, strlen(tag)) == 0)
		p = skip_space(p + strlen(tag), end);
	/* Only a message that opens with {"name" is a call; other JSON is an answer. */
	if (p == end || *p != '{' || !find(p, end < p + 64 ? end : p + 64, "\"name\""))
		return lc_buf_add(content, s, (size_t)(end - s)) ? LC_ENOMEM : 0;
	rc = parse_json(p, end, 1, &obj, &next);
	if (rc)
		return rc;
	if (skip_space(next, end) != end) {
		cJSON_Delete(obj);
		return lc_err_set(LC_EPARSE, "tool call 1: text after the JSON object");
	}
	rc = call_from_object(msg, tools, obj,
	                      cJSON_GetObjectItemCaseSensitive(obj, "parameters") ? "parameters"
	                                                                          : "arguments",
	                      1);
	cJSON_Delete(obj);
	return rc;
}

static int parse_mistral(const char *s, const char *end, const cJSON *tools, lc_parsed_msg *msg,
                         lc_buf *content)
{
	const char *mark = find(s, end, "[TOOL_CALLS]"), *p, *next;
	cJSON *arr, *item;
	int rc = 0, call_no = 0;

	if (!mark)
		return lc_buf_add(content, s, (size_t)(end - s)) ? LC_ENOMEM : 0;
	if (lc_buf_add(content, s, (size_t)(mark - s)))
		return LC_ENOMEM;
	p = skip_space(mark + strlen("[TOOL_CALLS]"), end);
	if (p < end && *p == '[') {
		rc = parse_json(p, end, 1, &arr, &next);
		if (rc)
			return rc;
		if (!cJSON_IsArray(arr)) {
			cJSON_Delete(arr);
			return lc_err_set(LC_EPARSE,
			                  "tool call 1: [TOOL_CALLS] needs a JSON array");
		}
		cJSON_ArrayForEach(item, arr)
		{
			if ((rc = call_from_object(msg, tools, item, "arguments", ++call_no)))
				break;
		}
		cJSON_Delete(arr);
		return rc;
	}
	/* NAME[ARGS]{...}, possibly repeated after further [TOOL_CALLS] marks. */
	while (p < end) {
		const char *args = find(p, end, "[ARGS]");
		char *name;
		cJSON *obj;
		call_no++;
		if (!args)
			return lc_err_set(LC_EPARSE, "tool call %d: no [ARGS] after the tool name",
			                  call_no);
		name = trimmed_dup(p, args);
		if (!name)
			return LC_ENOMEM;
		rc = parse_json(args + strlen("[ARGS]"), end, call_no, &obj, &next);
		if (rc) {
			free(name);
			return rc;
		}
		if (!cJSON_IsObject(obj)) {
			free(name);
			cJSON_Delete(obj);
			return lc_err_set(LC_EPARSE, "tool call %d: [ARGS] must be a JSON object",
			                  call_no);
		}
		if ((rc = add_call(msg, tools, name, obj)))
			return rc;
		p = skip_space(next, end);
		if ((size_t)(end - p) >= strlen("[TOOL_CALLS]") &&
		    memcmp(p, "[TOOL_CALLS]", strlen("[TOOL_CALLS]")) == 0)
			p = skip_space(p + strlen("[TOOL_CALLS]"), end);
	}
	return 0;
}

/* --- ReAct ------------------------------------------------------------- */

struct line {
	const char *s, *e; /* without the newline */
	const char *next;  /* start of the following line */
};

static int next_line(const char *p, const char *end, struct line *l)
{
	const char *nl;

	if (p >= end)
		return 0;
	nl = memchr(p, '\n', (size_t)(end - p));
	l->s = p;
	l->e = nl ? nl : end;
	l->next = nl ? nl + 1 : end;
	if (l->e > l->s && l->e[-1] == '\r')
		l->e--;
	return 1;
}

static int line_is(const struct line *l, const char *text)
{
	const char *e = l->e;

	while (e > l->s && (e[-1] == ' ' || e[-1] == '\t'))
		e--;
	return (size_t)(e - l->s) == strlen(text) && memcmp(l->s, text, strlen(text)) == 0;
}

static int line_starts(const struct line *l, const char *prefix)
{
	size_t n = strlen(prefix);
	return (size_t)(l->e - l->s) >= n && memcmp(l->s, prefix, n) == 0;
}

/* The JSON type a schema gives property key, or NULL. */
static const char *prop_type(const cJSON *schema, const char *key)
{
	const cJSON *p = cJSON_GetObjectItemCaseSensitive(
	        cJSON_GetObjectItemCaseSensitive(schema, "properties"), key);
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(p, "type");

	if (cJSON_IsString(t))
		return t->valuestring;
	if (cJSON_IsArray(t)) {
		const cJSON *x;
		cJSON_ArrayForEach(x, t)
		{
			if (cJSON_IsString(x) && strcmp(x->valuestring, "null") != 0)
				return x->valuestring;
		}
	}
	return NULL;
}

/* Turn the text of a ReAct value into JSON of the schema's type. */
static cJSON *typed_value(const char *type, const char *v, int call_no, const char *key)
{
	char *endp;
	cJSON *j;

	if (!type || strcmp(type, "string") == 0)
		return cJSON_CreateString(v);
	if (strcmp(type, "integer") == 0) {
		long long x;
		errno = 0;
		x = strtoll(v, &endp, 10);
		if (errno || endp == v || *endp) {
			lc_err_set(LC_EPARSE, "tool call %d: '%s' must be an integer, not '%.40s'",
			           call_no, key, v);
			return NULL;
		}
		return cJSON_CreateNumber((double)x);
	}
	if (strcmp(type, "number") == 0) {
		double x = strtod(v, &endp);
		if (endp == v || *endp) {
			lc_err_set(LC_EPARSE, "tool call %d: '%s' must be a number, not '%.40s'",
			           call_no, key, v);
			return NULL;
		}
		return cJSON_CreateNumber(x);
	}
	if (strcmp(type, "boolean") == 0) {
		if (strcmp(v, "true") == 0 || strcmp(v, "false") == 0)
			return cJSON_CreateBool(v[0] == 't');
		lc_err_set(LC_EPARSE, "tool call %d: '%s' must be true or false, not '%.40s'",
		           call_no, key, v);
		return NULL;
	}
	j = cJSON_Parse(v);
	if (!j)
		lc_err_set(LC_EPARSE, "tool call %d: '%s' must be JSON (%s)", call_no, key, type);
	return j;
}

static int is_key(const char *s, const char *e)
{
	if (s == e || !(isalpha((unsigned char)*s) || *s == '_'))
		return 0;
	for (; s < e; s++)
		if (!(isalnum((unsigned char)*s) || *s == '_'))
			return 0;
	return 1;
}

/* Parse the argument lines of one Action, from p; returns where it stopped. */
static int react_args(const char *p, const char *end, const cJSON *schema, int call_no, cJSON *args,
                      const char **stop)
{
	struct line l;
	lc_buf raw = LC_BUF_INIT(MSG_MAX);
	int rc = 0;

	while (next_line(p, end, &l)) {
		const char *colon;
		char key[64], *val = NULL;
		cJSON *jv;

		if (line_starts(&l, "Action:"))
			break;
		if (l.s == l.e || line_is(&l, "")) {
			p = l.next;
			continue;
		}
		colon = memchr(l.s, ':', (size_t)(l.e - l.s));
		if (!colon || !is_key(l.s, colon) || (size_t)(colon - l.s) >= sizeof(key)) {
			rc = lc_err_set(LC_EPARSE,
			                "tool call %d: expected 'key: value' or 'key:' before a "
			                "<<< block, got '%.60s'",
			                call_no, l.s);
			goto out;
		}
		memcpy(key, l.s, (size_t)(colon - l.s));
		key[colon - l.s] = '\0';
		if (cJSON_GetObjectItemCaseSensitive(args, key)) {
			rc = lc_err_set(LC_EPARSE, "tool call %d: argument '%s' given twice",
			                call_no, key);
			goto out;
		}
		if (skip_space(colon + 1, l.e) == l.e) {
			/* key: then a raw block, byte for byte, lines kept whole. */
			struct line b;
			lc_buf_reset(&raw);
			if (!next_line(l.next, end, &b) || !line_is(&b, "<<<")) {
				rc = lc_err_set(LC_EPARSE,
				                "tool call %d: '%s:' must be followed by a line "
				                "'<<<'",
				                call_no, key);
				goto out;
			}
			p = b.next;
			for (;;) {
				if (!next_line(p, end, &b)) {
					rc = lc_err_set(LC_EPARSE,
					                "tool call %d: the block of '%s' has no "
					                "closing '>>>' line",
					                call_no, key);
					goto out;
				}
				if (line_is(&b, ">>>"))
					break;
				if (lc_buf_add(&raw, b.s, (size_t)(b.next - b.s))) {
					rc = lc_err_set(LC_ETOOBIG, "tool call %d: block too big",
					                call_no);
					goto out;
				}
				p = b.next;
			}
			p = b.next;
			val = lc_buf_take(&raw, NULL);
		} else {
			val = trimmed_dup(colon + 1, l.e);
			p = l.next;
		}
		if (!val) {
			rc = lc_err_set(LC_ENOMEM, "out of memory");
			goto out;
		}
		jv = typed_value(prop_type(schema, key), val, call_no, key);
		free(val);
		if (!jv) {
			rc = lc_err_code() ? lc_err_code() : LC_ENOMEM;
			goto out;
		}
		cJSON_AddItemToObject(args, key, jv);
	}
out:
	lc_buf_release(&raw);
	*stop = p;
	return rc;
}

static int parse_react(const char *s, const char *end, const cJSON *tools, lc_parsed_msg *msg,
                       lc_buf *content, lc_buf *thought)
{
	struct line l;
	const char *p = s;
	int rc, call_no = 0;

	while (next_line(p, end, &l)) {
		if (line_starts(&l, "Thought:")) {
			const char *t = skip_space(l.s + strlen("Thought:"), l.e);
			if ((thought->len && lc_buf_addc(thought, '\n')) ||
			    lc_buf_add(thought, t, (size_t)(l.e - t)))
				return LC_ENOMEM;
			p = l.next;
			continue;
		}
		if (line_starts(&l, "Action:")) {
			char *name = trimmed_dup(l.s + strlen("Action:"), l.e);
			cJSON *args = cJSON_CreateObject();
			call_no++;
			if (!name || !args) {
				free(name);
				cJSON_Delete(args);
				return lc_err_set(LC_ENOMEM, "out of memory");
			}
			if (!name[0]) {
				free(name);
				cJSON_Delete(args);
				return lc_err_set(LC_EPARSE,
				                  "tool call %d: 'Action:' names no tool", call_no);
			}
			if (!tool_known(tools, name)) {
				rc = unknown_tool(tools, name);
				free(name);
				cJSON_Delete(args);
				return rc;
			}
			rc = react_args(l.next, end, lc_toolcall_schema(tools, name), call_no, args,
			                &p);
			if (rc) {
				free(name);
				cJSON_Delete(args);
				return rc;
			}
			if ((rc = add_call(msg, tools, name, args)))
				return rc;
			continue;
		}
		if (lc_buf_add(content, l.s, (size_t)(l.next - l.s)))
			return LC_ENOMEM;
		p = l.next;
	}
	return 0;
}

/* Split text into what lies outside <think> spans and what lies inside. */
static int strip_think(const char *s, const char *end, lc_buf *outside, lc_buf *inside)
{
	const char *open;

	while ((open = find(s, end, "<think>"))) {
		const char *body = open + strlen("<think>");
		const char *close = find(body, end, "</think>");
		if (lc_buf_add(outside, s, (size_t)(open - s)))
			return LC_ENOMEM;
		if (!close)
			close = end;
		if (lc_buf_add(inside, body, (size_t)(close - body)))
			return LC_ENOMEM;
		s = close == end ? end : close + strlen("</think>");
	}
	return lc_buf_add(outside, s, (size_t)(end - s)) ? LC_ENOMEM : 0;
}

int lc_toolcall_parse(enum lc_call_format fmt, const char *text, size_t len, const cJSON *tools,
                      lc_parsed_msg *out)
{
	lc_buf visible = LC_BUF_INIT(MSG_MAX), thought = LC_BUF_INIT(MSG_MAX);
	lc_buf content = LC_BUF_INIT(MSG_MAX);
	lc_parsed_msg msg = {0};
	const char *s, *e;
	int rc;

	if (len > MSG_MAX)
		return lc_err_set(LC_ETOOBIG, "model message of %zu bytes is too big", len);
	if ((rc = strip_think(text, text + len, &visible, &thought)))
		goto fail;
	s = visible.data ? visible.data : "";
	e = s + visible.len;
	switch (fmt) {
	case LC_CALL_HERMES:
		rc = parse_hermes(s, e, tools, &msg, &content);
		break;
	case LC_CALL_LLAMA3:
		rc = parse_llama3(s, e, tools, &msg, &content);
		break;
	case LC_CALL_MISTRAL:
		rc = parse_mistral(s, e, tools, &msg, &content);
		break;
	case LC_CALL_REACT:
		rc = parse_react(s, e, tools, &msg, &content, &thought);
		break;
	}
	if (rc)
		goto fail;
	msg.content = trimmed_dup(content.data ? content.data : "",
	                          (content.data ? content.data : "") + content.len);
	if (!msg.content) {
		rc = lc_err_set(LC_ENOMEM, "out of memory");
		goto fail;
	}
	if (thought.len && !(msg.thought = trimmed_dup(thought.data, thought.data + thought.len))) {
		rc = lc_err_set(LC_ENOMEM, "out of memory");
		goto fail;
	}
	*out = msg;
	rc = 0;
	goto done;
fail:
	if (rc == LC_ENOMEM)
		lc_err_set(LC_ENOMEM, "out of memory parsing a model message");
	lc_parsed_msg_release(&msg);
done:
	lc_buf_release(&visible);
	lc_buf_release(&thought);
	lc_buf_release(&content);
	return rc;
}
