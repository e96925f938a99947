/*
 * remote.c - the HTTP backend (remote.h): OpenAI-compatible servers, and Ollama's own API.
 *
 * Formats followed: OpenAI's chat completions API, streaming chunks
 * ("chat.completion.chunk" objects as server-sent events, tool-call deltas
 * keyed by "index"); Ollama's OpenAI compatibility (the same endpoint under
 * /v1) - Ollama may send every call of a batch under index 0 with distinct
 * ids, so a new id at a known index opens a new call; Ollama's own API
 * (ollama/ollama docs/api.md: "Generate a chat completion" with its
 * "Streaming with tools" and "With history, with tools" examples, "Show
 * Model Information"; docs/api/streaming.mdx, docs/api/errors.mdx;
 * api/types.go for Message.tool_name / tool_call_id and ToolCall.id); llama-server's README (GET
 * /props, default_generation_settings.n_ctx; the same /v1/chat/completions); vLLM's ModelCard
 * (vllm/entrypoints/openai/protocol.py: max_model_len in each /v1/models entry); LM Studio's REST
 * API docs (lmstudio-ai/docs, 1_developer/2_rest/list.md: GET /api/v1/models,
 * loaded_instances[].config. context_length and max_context_length; endpoints.md: GET
 * /api/v0/models, max_context_length).
 */
#include "agent/remote.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "agent/chat.h"
#include "agent/toolcall.h"
#include "src/err.h"
#include "src/log.h"
#include "src/banned.h"

#define RESPONSE_MAX    ((size_t)16 << 20)
#define EVENT_MAX       ((size_t)4 << 20)
#define MSG_MAX         ((size_t)1 << 20)
#define ERRBODY_MAX     ((size_t)64 << 10)
#define PROBE_MAX       ((size_t)4 << 20)
#define BODY_MAX        ((size_t)64 << 20)
#define MEMO_MAX        256
#define DEFAULT_CTX     8192
#define BACKOFF_MAX     30.0
#define RETRY_AFTER_MAX 120.0
#define PROBE_MS        5000L

struct memo_call {
	char *id, *name, *args; /* owned */
	int server_id;          /* id came from the server (else it is lcode's own) */
};

/* A message complete() returned that came with structured tool calls. */
struct memo {
	unsigned long seq; /* 0: empty slot */
	char *text;        /* exactly the text returned */
	char *content;     /* the content part, as the server sent it */
	struct memo_call *calls;
	size_t n_calls;
};

struct remote {
	char *base, *root, *model;
	char *auth; /* "Authorization: Bearer KEY", or NULL; never logged */
	int n_ctx, max_tokens, seed, retries;
	int ollama; /* 1: Ollama's own POST {root}/api/chat instead of {base}/chat/completions */
	int call_format;  /* -1: find it in each message; else the lc_call_format to parse */
	lc_backend *self; /* the backend this is the inside of: its style.fmt is set per message */
	float temp;
	long connect_ms, idle_ms, probe_ms;
	volatile sig_atomic_t *cancel; /* start-up's: may be NULL */
	int ctx_unknown; /* LM Studio told the trained length only, not the loaded context */
	double bytes_per_token;
	struct memo memos[MEMO_MAX];
	unsigned long next_seq;
};

/* One tool call being assembled from deltas. */
struct call {
	long index; /* the server's index */
	lc_buf id, name, args;
};

struct stream {
	struct remote *r;
	const lc_backend_req *req;
	CURL *curl;
	long status;
	int mode; /* 0 unknown, 1 server-sent events, 2 one JSON body, 3 error body, 4 NDJSON */
	lc_buf line, data, raw, content;
	size_t total;
	struct call calls[LC_CALLS_MAX];
	size_t n_calls;
	int done, streamed, err;
	char finish[32];
	long usage_prompt, usage_gen, n_deltas;
	double t0, t_first, last_rx;
	curl_off_t last_ul;
	int timed_out, cancelled;
	double retry_after; /* seconds, < 0 when not sent */
};

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

/* --- the memo of structured calls ------------------------------------------ */

static void memo_clear(struct memo *m)
{
	for (size_t i = 0; i < m->n_calls; i++) {
		free(m->calls[i].id);
		free(m->calls[i].name);
		free(m->calls[i].args);
	}
	free(m->calls);
	free(m->text);
	free(m->content);
	memset(m, 0, sizeof(*m));
}

/* The oldest memo after seq whose text is text, or NULL. */
static const struct memo *memo_find(const struct remote *r, unsigned long after, const char *text)
{
	const struct memo *best = NULL;

	for (size_t i = 0; i < MEMO_MAX; i++) {
		const struct memo *m = &r->memos[i];
		if (m->seq > after && (!best || m->seq < best->seq) && strcmp(m->text, text) == 0)
			best = m;
	}
	return best;
}

static int memo_add(struct remote *r, const char *text, const struct stream *s)
{
	struct memo *m = &r->memos[r->next_seq % MEMO_MAX];

	memo_clear(m);
	m->text = strdup(text);
	m->content = strdup(s->content.data ? s->content.data : "");
	m->calls = calloc(s->n_calls, sizeof(*m->calls));
	if (!m->text || !m->content || !m->calls)
		goto nomem;
	m->n_calls = s->n_calls;
	for (size_t i = 0; i < s->n_calls; i++) {
		char id[32];
		const struct call *c = &s->calls[i];
		snprintf(id, sizeof(id), "call_%lu_%zu", r->next_seq, i);
		m->calls[i].id = strdup(c->id.len ? c->id.data : id);
		m->calls[i].server_id = c->id.len > 0;
		m->calls[i].name = strdup(c->name.data ? c->name.data : "");
		m->calls[i].args = strdup(c->args.data ? c->args.data : "");
		if (!m->calls[i].id || !m->calls[i].name || !m->calls[i].args)
			goto nomem;
	}
	m->seq = ++r->next_seq;
	return 0;
nomem:
	memo_clear(m);
	return lc_err_set(LC_ENOMEM, "out of memory");
}

/* --- the request body ------------------------------------------------------ */

static int add_msg(cJSON *arr, const char *role, const char *content)
{
	cJSON *m = cJSON_CreateObject();

	if (!m || !cJSON_AddStringToObject(m, "role", role) ||
	    !cJSON_AddStringToObject(m, "content", content)) {
		cJSON_Delete(m);
		return -1;
	}
	cJSON_AddItemToArray(arr, m);
	return 0;
}

/*
 * An assistant message with its structured calls. OpenAI: tool_calls[] of
 * {"id", "type": "function", "function": {"name", "arguments": JSON text}};
 * Ollama: {"id" when it gave one, "function": {"name", "arguments": object}}.
 */
static cJSON *assistant_with_calls(const struct remote *r, const struct memo *m)
{
	cJSON *msg = cJSON_CreateObject(), *calls = cJSON_CreateArray();

	if (!msg || !calls)
		goto fail;
	cJSON_AddStringToObject(msg, "role", "assistant");
	cJSON_AddStringToObject(msg, "content", m->content);
	for (size_t i = 0; i < m->n_calls; i++) {
		cJSON *c = cJSON_CreateObject(), *fn = cJSON_CreateObject();
		if (!c || !fn) {
			cJSON_Delete(c);
			cJSON_Delete(fn);
			goto fail;
		}
		cJSON_AddItemToObject(c, "function", fn);
		cJSON_AddStringToObject(fn, "name", m->calls[i].name);
		if (r->ollama) {
			cJSON *args = cJSON_Parse(m->calls[i].args);
			if (m->calls[i].server_id)
				cJSON_AddStringToObject(c, "id", m->calls[i].id);
			if (!cJSON_IsObject(args)) {
				/* Ollama takes objects only; the agent refused this call anyway */
				cJSON_Delete(args);
				args = cJSON_CreateObject();
			}
			cJSON_AddItemToObject(fn, "arguments", args);
		} else {
			cJSON_AddStringToObject(c, "id", m->calls[i].id);
			cJSON_AddStringToObject(c, "type", "function");
			cJSON_AddStringToObject(fn, "arguments",
			                        m->calls[i].args[0] ? m->calls[i].args : "{}");
		}
		cJSON_AddItemToArray(calls, c);
	}
	cJSON_AddItemToObject(msg, "tool_calls", calls);
	return msg;
fail:
	cJSON_Delete(msg);
	cJSON_Delete(calls);
	return NULL;
}

/* A "tool" message: OpenAI's names the call's id, Ollama's the tool (and the id it gave). */
static int add_tool_result(const struct remote *r, cJSON *arr, const struct memo_call *call,
                           const char *content)
{
	cJSON *m = cJSON_CreateObject();

	if (!m)
		return -1;
	cJSON_AddStringToObject(m, "role", "tool");
	if (!r->ollama || call->server_id)
		cJSON_AddStringToObject(m, "tool_call_id", call->id);
	if (r->ollama)
		cJSON_AddStringToObject(m, "tool_name", call->name);
	cJSON_AddStringToObject(m, "content", content);
	cJSON_AddItemToArray(arr, m);
	return 0;
}

/*
 * The messages: structured calls keep their ids; tool results after a plain
 * message become one user message of <tool_response> blocks, since
 * alternating-role templates refuse two user turns in a row.
 */
static int build_messages(const struct remote *r, const lc_backend_req *req, cJSON *arr)
{
	const struct memo *group = NULL; /* the structured message the results answer */
	unsigned long seq = 0;
	size_t n_results = 0, i;
	lc_buf text = LC_BUF_INIT(BODY_MAX);
	int rc = -1;

	if (r->call_format == LC_CALL_REACT) {
		/*
		 * No server template describes lcode's ReAct format: the system text
		 * does, as it does for a local model (agent/chat.h). The DeepSeek Coder
		 * rendering of no messages is exactly that system text and a newline.
		 */
		lc_chat_style st = {LC_TEMPLATE_DEEPSEEK_CODER, LC_CALL_REACT, 0};
		if (lc_chat_render(&st, req->system, req->tools, req->react_intro, NULL, 0, 0,
		                   &text, NULL))
			goto out;
		while (text.len && text.data[text.len - 1] == '\n')
			text.data[--text.len] = '\0';
		if (text.len && add_msg(arr, "system", text.data))
			goto out;
		lc_buf_reset(&text);
	} else if (req->system && req->system[0] && add_msg(arr, "system", req->system)) {
		goto out;
	}
	for (i = 0; i <= req->n_msgs; i++) {
		const lc_chat_msg *m = i < req->n_msgs ? &req->msgs[i] : NULL;
		/* close the group of results that ends here */
		if ((!m || m->role != LC_ROLE_TOOL) && group) {
			for (; n_results < group->n_calls; n_results++)
				if (add_tool_result(r, arr, &group->calls[n_results],
				                    "error: this call was not run"))
					goto out;
			group = NULL;
		}
		if ((!m || m->role != LC_ROLE_TOOL) && text.len) {
			if (add_msg(arr, "user", text.data))
				goto out;
			lc_buf_reset(&text);
		}
		if (!m)
			break;
		if (m->role == LC_ROLE_TOOL) {
			if (group && n_results < group->n_calls) {
				if (add_tool_result(r, arr, &group->calls[n_results++], m->content))
					goto out;
			} else if (lc_buf_addf(&text, "%s<tool_response>\n%s\n</tool_response>",
			                       text.len ? "\n" : "", m->content)) {
				goto out;
			}
		} else if (m->role == LC_ROLE_ASSISTANT) {
			const struct memo *mm = memo_find(r, seq, m->content);
			if (mm) {
				cJSON *a = assistant_with_calls(r, mm);
				if (!a)
					goto out;
				cJSON_AddItemToArray(arr, a);
				group = mm;
				n_results = 0;
				seq = mm->seq;
			} else if (add_msg(arr, "assistant", m->content)) {
				goto out;
			}
		} else if (add_msg(arr, m->role == LC_ROLE_SYSTEM ? "system" : "user",
		                   m->content)) {
			goto out;
		}
	}
	rc = 0;
out:
	lc_buf_release(&text);
	return rc;
}

/* The JSON body of a request; owned, free with free(). */
static int build_body(const struct remote *r, const lc_backend_req *req, char **out, size_t *len)
{
	cJSON *body = cJSON_CreateObject(), *msgs = cJSON_CreateArray(), *o;
	char *s = NULL;
	int rc = LC_ENOMEM;

	if (!body || !msgs) {
		cJSON_Delete(msgs);
		goto nomem;
	}
	cJSON_AddStringToObject(body, "model", r->model);
	cJSON_AddItemToObject(body, "messages", msgs);
	if (build_messages(r, req, msgs))
		goto nomem;
	if (req->tools && cJSON_GetArraySize(req->tools) > 0 && r->call_format != LC_CALL_REACT)
		cJSON_AddItemToObject(body, "tools", cJSON_CreateArrayReference(req->tools->child));
	cJSON_AddBoolToObject(body, "stream", 1);
	if (r->ollama) {
		/* the context size can only be set here: Ollama's /v1 has no "options" */
		o = cJSON_AddObjectToObject(body, "options");
		if (!o)
			goto nomem;
		cJSON_AddNumberToObject(o, "num_ctx", r->n_ctx);
		cJSON_AddNumberToObject(o, "num_predict", r->max_tokens);
		cJSON_AddNumberToObject(o, "temperature", r->temp);
		if (r->seed >= 0)
			cJSON_AddNumberToObject(o, "seed", r->seed);
	} else {
		o = cJSON_AddObjectToObject(body, "stream_options");
		if (o)
			cJSON_AddBoolToObject(o, "include_usage", 1);
		cJSON_AddNumberToObject(body, "max_tokens", r->max_tokens);
		cJSON_AddNumberToObject(body, "temperature", r->temp);
		if (r->seed >= 0)
			cJSON_AddNumberToObject(body, "seed", r->seed);
	}
	s = cJSON_PrintUnformatted(body);
	if (!s)
		goto nomem;
	if (strlen(s) > BODY_MAX) {
		free(s);
		rc = lc_err_set(LC_ETOOBIG, "remote: the request is larger than %zu MiB",
		                BODY_MAX >> 20);
		goto out;
	}
	*len = strlen(s);
	*out = s;
	rc = 0;
	goto out;
nomem:
	rc = lc_err_set(LC_ENOMEM, "out of memory");
out:
	cJSON_Delete(body);
	return rc;
}

/* --- the response ---------------------------------------------------------- */

static const char *json_str(const cJSON *obj, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* The slot for a tool-call delta (server index idx, id possibly NULL). */
static struct call *call_slot(struct stream *s, long idx, const char *id)
{
	struct call *c = NULL;

	for (size_t i = s->n_calls; i-- > 0;)
		if (s->calls[i].index == idx) {
			c = &s->calls[i];
			break;
		}
	if (c && (!id || !id[0] || c->id.len == 0 || strcmp(c->id.data, id) == 0))
		return c;
	if (s->n_calls == LC_CALLS_MAX)
		return NULL;
	c = &s->calls[s->n_calls++];
	c->index = idx;
	lc_buf_init(&c->id, 256);
	lc_buf_init(&c->name, 256);
	lc_buf_init(&c->args, MSG_MAX);
	return c;
}

static int add_content(struct stream *s, const char *text)
{
	size_t n = strlen(text);

	if (!n)
		return 0;
	if (lc_buf_add(&s->content, text, n))
		return lc_err_set(LC_ETOOBIG, "remote: the model's message is longer than %zu KiB",
		                  MSG_MAX >> 10);
	s->streamed = 1;
	if (s->req->on_text)
		s->req->on_text(s->req->ud, text, n);
	return 0;
}

/*
 * Tool calls from one event: OpenAI's deltas, pieces of calls told apart by
 * index (and id); or, whole != 0, Ollama's complete calls, each a new one.
 */
static int add_calls(struct stream *s, const cJSON *calls, int whole)
{
	const cJSON *tc;
	long pos = 0;

	cJSON_ArrayForEach(tc, calls)
	{
		const cJSON *idx = cJSON_GetObjectItemCaseSensitive(tc, "index");
		const cJSON *fn = cJSON_GetObjectItemCaseSensitive(tc, "function");
		const char *id = json_str(tc, "id"), *name = json_str(fn, "name");
		const char *args = json_str(fn, "arguments");
		struct call *c = call_slot(s,
		                           whole                 ? -1 - (long)s->n_calls
		                           : cJSON_IsNumber(idx) ? (long)idx->valuedouble
		                                                 : pos,
		                           whole ? NULL : id);

		pos++;
		if (!c)
			return lc_err_set(LC_ETOOBIG,
			                  "remote: more than %d tool calls in one message",
			                  LC_CALLS_MAX);
		if (!args) {
			/* non-streamed shape: arguments as an object */
			const cJSON *a = cJSON_GetObjectItemCaseSensitive(fn, "arguments");
			if (cJSON_IsObject(a)) {
				char *p = cJSON_PrintUnformatted(a);
				int bad = !p || lc_buf_adds(&c->args, p);
				free(p);
				if (bad)
					return lc_err_set(LC_ETOOBIG, "remote: tool-call arguments "
					                              "too long");
			}
		}
		if ((id && !c->id.len && lc_buf_adds(&c->id, id)) ||
		    (name && lc_buf_adds(&c->name, name)) || (args && lc_buf_adds(&c->args, args)))
			return lc_err_set(LC_ETOOBIG, "remote: a tool call is too long");
		s->streamed = 1;
	}
	return 0;
}

/* An error object's text: {"error": {"message": M}}, {"error": M}, {"message": M}, {"detail": M}.
 */
static const char *error_text(const cJSON *j)
{
	const cJSON *e = cJSON_GetObjectItemCaseSensitive(j, "error");
	const char *m;

	if (cJSON_IsString(e))
		return e->valuestring;
	if ((m = json_str(e, "message")))
		return m;
	if ((m = json_str(j, "message")))
		return m;
	return json_str(j, "detail");
}

/* One chat.completion.chunk (or a whole chat.completion). */
static int handle_chunk(struct stream *s, const cJSON *j)
{
	const cJSON *choices = cJSON_GetObjectItemCaseSensitive(j, "choices");
	const cJSON *usage = cJSON_GetObjectItemCaseSensitive(j, "usage");
	const cJSON *ch = cJSON_GetArrayItem(choices, 0), *delta, *v;
	const char *fin, *err;
	int rc;

	if (cJSON_GetObjectItemCaseSensitive(j, "error") && (err = error_text(j)))
		return lc_err_set(LC_EIO, "remote: server error: %.300s", err);
	if (cJSON_IsObject(usage)) {
		if (cJSON_IsNumber(v = cJSON_GetObjectItemCaseSensitive(usage, "prompt_tokens")))
			s->usage_prompt = (long)v->valuedouble;
		if (cJSON_IsNumber(
		            v = cJSON_GetObjectItemCaseSensitive(usage, "completion_tokens")))
			s->usage_gen = (long)v->valuedouble;
	}
	if (!ch)
		return 0;
	delta = cJSON_GetObjectItemCaseSensitive(ch, "delta");
	if (!delta)
		delta = cJSON_GetObjectItemCaseSensitive(ch, "message");
	if (cJSON_IsString(v = cJSON_GetObjectItemCaseSensitive(delta, "content"))) {
		if ((rc = add_content(s, v->valuestring)))
			return rc;
		s->n_deltas++;
	}
	if (cJSON_IsArray(v = cJSON_GetObjectItemCaseSensitive(delta, "tool_calls")) &&
	    (rc = add_calls(s, v, 0)))
		return rc;
	if ((fin = json_str(ch, "finish_reason")))
		snprintf(s->finish, sizeof(s->finish), "%s", fin);
	return 0;
}

/*
 * One line of Ollama's /api/chat stream (application/x-ndjson): an object
 * with message.content, message.tool_calls (whole calls, arguments as an
 * object), and at the end "done": true with done_reason, prompt_eval_count
 * and eval_count; or {"error": M}, which may come in the middle.
 */
static int handle_ollama_line(struct stream *s, const char *line, size_t len)
{
	cJSON *j, *msg, *v;
	const char *err, *why;
	int rc = 0;

	while (len && isspace((unsigned char)line[len - 1]))
		len--;
	if (!len)
		return 0;
	if (!(j = cJSON_ParseWithLength(line, len)))
		return lc_err_set(LC_EPARSE,
		                  "remote: the server sent a line that is not JSON: %.80s", line);
	if ((err = json_str(j, "error"))) {
		rc = lc_err_set(LC_EIO, "remote: server error: %.300s", err);
		goto out;
	}
	msg = cJSON_GetObjectItemCaseSensitive(j, "message");
	if (cJSON_IsString(v = cJSON_GetObjectItemCaseSensitive(msg, "content")) &&
	    v->valuestring[0]) {
		if ((rc = add_content(s, v->valuestring)))
			goto out;
		s->n_deltas++;
	}
	if (cJSON_IsArray(v = cJSON_GetObjectItemCaseSensitive(msg, "tool_calls")) &&
	    (rc = add_calls(s, v, 1)))
		goto out;
	if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "done"))) {
		s->done = 1;
		why = json_str(j, "done_reason");
		snprintf(s->finish, sizeof(s->finish), "%s", why && why[0] ? why : "stop");
		if (cJSON_IsNumber(v = cJSON_GetObjectItemCaseSensitive(j, "prompt_eval_count")))
			s->usage_prompt = (long)v->valuedouble;
		if (cJSON_IsNumber(v = cJSON_GetObjectItemCaseSensitive(j, "eval_count")))
			s->usage_gen = (long)v->valuedouble;
	}
out:
	cJSON_Delete(j);
	return rc;
}

static int dispatch_event(struct stream *s)
{
	cJSON *j;
	int rc;

	if (s->data.len == 0)
		return 0;
	if (strcmp(s->data.data, "[DONE]") == 0) {
		s->done = 1;
		lc_buf_reset(&s->data);
		return 0;
	}
	j = cJSON_ParseWithLength(s->data.data, s->data.len);
	if (!j)
		return lc_err_set(LC_EPARSE,
		                  "remote: the server sent an event that is not JSON: %.80s",
		                  s->data.data);
	rc = handle_chunk(s, j);
	cJSON_Delete(j);
	lc_buf_reset(&s->data);
	return rc;
}

/* One line of the event stream, without its end of line. */
static int handle_line(struct stream *s, char *line, size_t len)
{
	if (len && line[len - 1] == '\r')
		line[--len] = '\0';
	if (len == 0)
		return dispatch_event(s);
	if (line[0] == ':')
		return 0; /* a comment: keep-alive */
	if (len >= 5 && memcmp(line, "data:", 5) == 0) {
		const char *v = line + 5;
		if (*v == ' ')
			v++;
		if ((s->data.len && lc_buf_addc(&s->data, '\n')) || lc_buf_adds(&s->data, v))
			return lc_err_set(LC_ETOOBIG, "remote: one event is larger than %zu MiB",
			                  EVENT_MAX >> 20);
	}
	return 0; /* event:, id:, retry: carry nothing we use */
}

/* Split the body into lines: server-sent events (mode 1) or Ollama's NDJSON (mode 4). */
static int feed_lines(struct stream *s, const char *p, size_t n)
{
	while (n) {
		const char *nl = memchr(p, '\n', n);
		size_t k = nl ? (size_t)(nl - p) : n;
		int rc;

		if (lc_buf_add(&s->line, p, k))
			return lc_err_set(LC_ETOOBIG,
			                  "remote: one event line is larger than %zu MiB",
			                  EVENT_MAX >> 20);
		if (!nl)
			return 0;
		rc = s->mode == 4
		             ? handle_ollama_line(s, s->line.data ? s->line.data : "", s->line.len)
		             : handle_line(s, s->line.data ? s->line.data : (char *)"",
		                           s->line.len);
		lc_buf_reset(&s->line);
		if (rc)
			return rc;
		p += k + 1;
		n -= k + 1;
	}
	return 0;
}

static size_t on_body(char *p, size_t size, size_t nmemb, void *ud)
{
	struct stream *s = ud;
	size_t n = size * nmemb;

	s->last_rx = now_s();
	if (!s->t_first)
		s->t_first = s->last_rx;
	if (s->mode == 0) {
		size_t i = 0;
		curl_easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, &s->status);
		while (i < n && isspace((unsigned char)p[i]))
			i++;
		if (s->status >= 300)
			s->mode = 3;
		else if (s->r->ollama)
			s->mode = 4;
		else if (i < n)
			s->mode = p[i] == '{' ? 2 : 1;
	}
	if (n > RESPONSE_MAX - s->total) {
		s->err = lc_err_set(LC_ETOOBIG, "remote: the response is larger than %zu MiB",
		                    RESPONSE_MAX >> 20);
		return 0;
	}
	s->total += n;
	if (s->mode == 3) {
		if (s->raw.len < ERRBODY_MAX)
			lc_buf_add(&s->raw, p,
			           n < ERRBODY_MAX - s->raw.len ? n : ERRBODY_MAX - s->raw.len);
		return n;
	}
	if (s->mode == 2) {
		if (lc_buf_add(&s->raw, p, n)) {
			s->err = lc_err_set(LC_ENOMEM, "out of memory");
			return 0;
		}
		return n;
	}
	if ((s->mode == 1 || s->mode == 4) && (s->err = feed_lines(s, p, n)))
		return 0;
	return n;
}

static size_t on_header(char *p, size_t size, size_t nmemb, void *ud)
{
	struct stream *s = ud;
	size_t n = size * nmemb;
	static const char ra[] = "retry-after:";

	if (n > sizeof(ra) && strncasecmp(p, ra, sizeof(ra) - 1) == 0) {
		char v[32], *end;
		double sec;
		snprintf(v, sizeof(v), "%.*s", (int)(n - (sizeof(ra) - 1)), p + sizeof(ra) - 1);
		sec = strtod(v, &end);
		/* only delta-seconds; an HTTP date falls back to the backoff */
		if (end != v && sec >= 0)
			s->retry_after = sec < RETRY_AFTER_MAX ? sec : RETRY_AFTER_MAX;
	}
	return n;
}

static int on_progress(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
	struct stream *s = ud;
	double t = now_s();

	(void)dltotal;
	(void)dlnow;
	(void)ultotal;
	if (ulnow != s->last_ul) {
		s->last_ul = ulnow;
		s->last_rx = t; /* sending counts as activity */
	}
	if (s->req && s->req->cancel && *s->req->cancel) {
		s->cancelled = 1;
		return 1;
	}
	if ((t - s->last_rx) * 1000.0 > (double)s->r->idle_ms) {
		s->timed_out = 1;
		return 1;
	}
	return 0;
}

static void stream_release(struct stream *s)
{
	lc_buf_release(&s->line);
	lc_buf_release(&s->data);
	lc_buf_release(&s->raw);
	lc_buf_release(&s->content);
	for (size_t i = 0; i < s->n_calls; i++) {
		lc_buf_release(&s->calls[i].id);
		lc_buf_release(&s->calls[i].name);
		lc_buf_release(&s->calls[i].args);
	}
	s->n_calls = 0;
}

static void stream_init(struct stream *s, struct remote *r, const lc_backend_req *req)
{
	memset(s, 0, sizeof(*s));
	s->r = r;
	s->req = req;
	lc_buf_init(&s->line, EVENT_MAX);
	lc_buf_init(&s->data, EVENT_MAX);
	lc_buf_init(&s->raw, RESPONSE_MAX);
	lc_buf_init(&s->content, MSG_MAX);
	s->retry_after = -1;
}

/* The server's own words from an error body, cleaned to one line. */
static void server_words(const lc_buf *raw, char *out, size_t cap)
{
	cJSON *j = raw->len ? cJSON_ParseWithLength(raw->data, raw->len) : NULL;
	const char *m = j ? error_text(j) : NULL;
	size_t i;

	snprintf(out, cap, "%s", m ? m : raw->data ? raw->data : "");
	cJSON_Delete(j);
	for (i = 0; out[i]; i++)
		if ((unsigned char)out[i] < 0x20)
			out[i] = ' ';
	while (i > 0 && out[i - 1] == ' ')
		out[--i] = '\0';
}

enum { RETRY = 1 };

/*
 * One POST of body to url. Returns 0, RETRY (with the reason in the slot,
 * to be cleared before trying again), or an error.
 */
static int perform(struct remote *r, struct stream *s, const char *url, const char *body,
                   size_t body_len)
{
	struct curl_slist *h = NULL;
	CURLcode cc;
	char words[320];
	int rc = 0;

	s->curl = curl_easy_init();
	if (!s->curl)
		return lc_err_set(LC_ENOMEM, "remote: cannot start libcurl");
	h = curl_slist_append(h, "Content-Type: application/json");
	h = curl_slist_append(h, r->ollama ? "Accept: application/x-ndjson"
	                                   : "Accept: text/event-stream");
	h = curl_slist_append(h, "Expect:");
	if (r->auth)
		h = curl_slist_append(h, r->auth);
	curl_easy_setopt(s->curl, CURLOPT_URL, url);
	curl_easy_setopt(s->curl, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(s->curl, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(s->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
	curl_easy_setopt(s->curl, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(s->curl, CURLOPT_WRITEDATA, s);
	curl_easy_setopt(s->curl, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(s->curl, CURLOPT_HEADERDATA, s);
	curl_easy_setopt(s->curl, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(s->curl, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(s->curl, CURLOPT_XFERINFODATA, s);
	curl_easy_setopt(s->curl, CURLOPT_CONNECTTIMEOUT_MS, r->connect_ms);
	curl_easy_setopt(s->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(s->curl, CURLOPT_USERAGENT, "lcode");
	s->t0 = s->last_rx = now_s();
	cc = curl_easy_perform(s->curl);
	if (!s->status)
		curl_easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, &s->status);
	if (cc == CURLE_OK && s->mode == 1 && s->line.len)
		s->err = handle_line(s, s->line.data, s->line.len);
	if (cc == CURLE_OK && s->mode == 4 && s->line.len)
		s->err = handle_ollama_line(s, s->line.data, s->line.len);
	if (cc == CURLE_OK && s->mode == 1 && !s->err)
		s->err = dispatch_event(s); /* a last event without its blank line */
	if (s->err) {
		rc = s->err;
	} else if (s->cancelled) {
		rc = lc_err_set(LC_ECANCELLED, "cancelled");
	} else if (s->timed_out) {
		rc = lc_err_set(LC_ETIMEOUT, "remote: no answer from %s for %ld s", r->base,
		                r->idle_ms / 1000);
	} else if (cc != CURLE_OK) {
		int broke = s->streamed;
		rc = lc_err_set(cc == CURLE_OPERATION_TIMEDOUT ? LC_ETIMEOUT : LC_EIO,
		                broke ? "remote: the stream from %s broke off: %s"
		                      : "remote: cannot reach %s: %s",
		                r->base, curl_easy_strerror(cc));
		if (!broke)
			rc = RETRY;
	} else if (s->status == 429 || s->status == 502 || s->status == 503 || s->status == 504) {
		server_words(&s->raw, words, sizeof(words));
		lc_err_set(LC_EIO, "remote: HTTP %ld from %s%s%s", s->status, r->base,
		           words[0] ? ": " : "", words);
		rc = RETRY;
	} else if (s->status >= 400 || s->status < 200) {
		server_words(&s->raw, words, sizeof(words));
		rc = lc_err_set(LC_EIO, "remote: HTTP %ld from %s%s%s%s", s->status, r->base,
		                words[0] ? ": " : "", words,
		                s->status == 401 || s->status == 403 ? " (check LCODE_API_KEY)"
		                                                     : "");
	} else if (s->mode == 2) {
		cJSON *j = cJSON_ParseWithLength(s->raw.data, s->raw.len);
		if (!j)
			rc = lc_err_set(LC_EPARSE, "remote: the server's answer is not JSON");
		else
			rc = handle_chunk(s, j);
		cJSON_Delete(j);
		if (!rc && !s->finish[0])
			snprintf(s->finish, sizeof(s->finish), "stop");
	} else if (!s->done && !s->finish[0]) {
		rc = lc_err_set(LC_EIO, "remote: the stream from %s ended before the message did",
		                r->base);
		if (!s->streamed)
			rc = RETRY;
	}
	curl_easy_cleanup(s->curl);
	s->curl = NULL;
	curl_slist_free_all(h);
	return rc;
}

/* Sleep sec seconds in short naps; LC_ECANCELLED when the user stops it. */
static int nap(double sec, volatile sig_atomic_t *cancel)
{
	double end = now_s() + sec;

	while (now_s() < end) {
		struct timespec ts = {0, 50 * 1000 * 1000};
		if (cancel && *cancel)
			return lc_err_set(LC_ECANCELLED, "cancelled");
		nanosleep(&ts, NULL);
	}
	return 0;
}

/* Text of one structured call in the Hermes form. */
static int render_call(const struct call *c, lc_buf *out)
{
	cJSON *obj = cJSON_CreateObject(), *args = NULL;
	const char *a = c->args.data ? c->args.data : "";
	int rc;

	while (isspace((unsigned char)*a))
		a++;
	if (!*a)
		args = cJSON_CreateObject();
	else if (!(args = cJSON_Parse(a)) || !cJSON_IsObject(args)) {
		/* leave it to the parser to say what is wrong, with the text as sent */
		cJSON_Delete(args);
		args = cJSON_CreateString(c->args.data);
	}
	if (!obj || !args) {
		cJSON_Delete(obj);
		cJSON_Delete(args);
		return lc_err_set(LC_ENOMEM, "out of memory");
	}
	cJSON_AddStringToObject(obj, "name", c->name.data ? c->name.data : "");
	cJSON_AddItemToObject(obj, "arguments", args);
	rc = lc_buf_adds(out, "<tool_call>\n");
	if (!rc)
		rc = lc_chat_json_dumps(obj, 0, out);
	if (!rc)
		rc = lc_buf_adds(out, "\n</tool_call>");
	cJSON_Delete(obj);
	return rc ? lc_err_set(LC_ETOOBIG, "the model's message is too long") : 0;
}

/*
 * The format calls written as text are parsed in: the one configured, else
 * the first of Hermes, Llama 3.1 JSON, Mistral and ReAct that finds a call
 * in msg, else the first that finds a malformed one (so the model hears
 * what was wrong), else Hermes.
 */
static enum lc_call_format text_format(const struct remote *r, const cJSON *tools,
                                       const lc_buf *msg)
{
	static const enum lc_call_format order[] = {LC_CALL_HERMES, LC_CALL_LLAMA3, LC_CALL_MISTRAL,
	                                            LC_CALL_REACT};
	int malformed = -1;

	if (r->call_format >= 0)
		return (enum lc_call_format)r->call_format;
	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		lc_parsed_msg pm = {0};
		int rc = lc_toolcall_parse(order[i], msg->data ? msg->data : "", msg->len, tools,
		                           &pm);
		size_t n = rc ? 0 : pm.n_calls;
		if (!rc)
			lc_parsed_msg_release(&pm);
		lc_err_clear();
		if (n)
			return order[i];
		if (rc && rc != LC_ENOMEM && malformed < 0)
			malformed = (int)order[i];
	}
	return malformed >= 0 ? (enum lc_call_format)malformed : LC_CALL_HERMES;
}

static int remote_complete(void *self, const lc_backend_req *req, lc_buf *out, lc_gen_stats *st)
{
	struct remote *r = self;
	struct stream s;
	lc_buf msg = LC_BUF_INIT(MSG_MAX + LC_CALLS_MAX * 4096);
	char url[4096], *body = NULL;
	size_t body_len = 0;
	double backoff = 0.5;
	int rc, attempt;

	memset(&s, 0, sizeof(s));
	if ((size_t)snprintf(url, sizeof(url), r->ollama ? "%s/api/chat" : "%s/chat/completions",
	                     r->ollama ? r->root : r->base) >= sizeof(url))
		return lc_err_set(LC_EPARSE, "remote: base URL too long");
	if ((rc = build_body(r, req, &body, &body_len)))
		return rc;
	for (attempt = 0;; attempt++) {
		stream_init(&s, r, req);
		rc = perform(r, &s, url, body, body_len);
		if (rc != RETRY)
			break;
		if (attempt >= r->retries) {
			rc = lc_err_code(); /* the reason perform() left in the slot */
			if (!rc)
				rc = lc_err_set(LC_EIO, "remote: %s failed", url);
			break;
		}
		{
			double wait = s.retry_after >= 0 ? s.retry_after : backoff;
			/* the message already names its subject ("remote: ...") */
			lc_info("%s; trying again in %.1f s", lc_err_msg(), wait);
			lc_err_clear();
			stream_release(&s);
			if ((rc = nap(wait, req->cancel)))
				goto out;
			backoff = backoff * 2 < BACKOFF_MAX ? backoff * 2 : BACKOFF_MAX;
		}
	}
	if (rc)
		goto out;
	if (lc_buf_add(&msg, s.content.data ? s.content.data : "", s.content.len))
		goto too_big;
	for (size_t i = 0; i < s.n_calls; i++) {
		size_t before = msg.len;
		if (msg.len && msg.data[msg.len - 1] != '\n' && lc_buf_addc(&msg, '\n'))
			goto too_big;
		if ((rc = render_call(&s.calls[i], &msg)))
			goto out;
		if (req->on_text)
			req->on_text(req->ud, msg.data + before, msg.len - before);
	}
	if (s.n_calls && (rc = memo_add(r, msg.data, &s)))
		goto out;
	if (lc_buf_add(out, msg.data ? msg.data : "", msg.len))
		goto too_big;
	r->self->style.fmt = s.n_calls ? LC_CALL_HERMES : text_format(r, req->tools, &msg);
	if (s.usage_prompt > 0 && body_len > 0) {
		/* a measured ratio, less a tenth so that estimates err on the high side */
		double bpt = (double)body_len / (double)s.usage_prompt * 0.9;
		r->bytes_per_token = bpt < 1.5 ? 1.5 : bpt > 8 ? 8 : bpt;
	}
	if (st) {
		double t_end = now_s(), t_first = s.t_first ? s.t_first : t_end;
		memset(st, 0, sizeof(*st));
		st->n_prompt = (int)s.usage_prompt;
		st->n_gen = (int)(s.usage_gen ? s.usage_gen : s.n_deltas);
		st->stopped_eog = strcmp(s.finish, "length") != 0;
		st->t_prompt = t_first - s.t0;
		st->t_gen = t_end - t_first;
	}
	if (strcmp(s.finish, "length") == 0)
		lc_warn("remote: the message was cut at %d tokens", r->max_tokens);
	rc = 0;
	goto out;
too_big:
	rc = lc_err_set(LC_ETOOBIG, "the model's message is too long");
out:
	stream_release(&s);
	lc_buf_release(&msg);
	free(body);
	return rc;
}

static long remote_count(void *self, const lc_backend_req *req)
{
	struct remote *r = self;
	char *body;
	size_t len;
	int rc = build_body(r, req, &body, &len);

	if (rc)
		return rc;
	free(body);
	return (long)((double)len / r->bytes_per_token) + 1;
}

static int remote_n_ctx(void *self)
{
	return ((struct remote *)self)->n_ctx;
}

static void remote_free(void *self)
{
	struct remote *r = self;

	if (!r)
		return;
	for (size_t i = 0; i < MEMO_MAX; i++)
		memo_clear(&r->memos[i]);
	if (r->auth) {
		explicit_bzero(r->auth, strlen(r->auth));
		free(r->auth);
	}
	free(r->base);
	free(r->root);
	free(r->model);
	free(r);
}

static const struct lc_backend_ops remote_ops = {remote_complete, remote_count, remote_n_ctx,
                                                 remote_free};

/* --- set-up: the probes ---------------------------------------------------- */

static size_t on_probe_body(char *p, size_t size, size_t nmemb, void *ud)
{
	return lc_buf_add(ud, p, size * nmemb) ? 0 : size * nmemb;
}

static int on_probe_progress(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                             curl_off_t ulnow)
{
	volatile sig_atomic_t *cancel = ud;

	(void)dltotal;
	(void)dlnow;
	(void)ultotal;
	(void)ulnow;
	return cancel && *cancel;
}

/*
 * A short GET (post == NULL) or POST, over in r->probe_ms at most; *status 0
 * when the server did not answer. Returns 0 or LC_ECANCELLED.
 */
static int probe(const struct remote *r, const char *url, const char *post, lc_buf *body,
                 long *status)
{
	CURL *c = curl_easy_init();
	struct curl_slist *h = NULL;
	CURLcode cc;

	*status = 0;
	if (r->cancel && *r->cancel)
		return lc_err_set(LC_ECANCELLED, "cancelled");
	if (!c)
		return 0;
	h = curl_slist_append(h, "Content-Type: application/json");
	h = curl_slist_append(h, "Expect:");
	if (r->auth)
		h = curl_slist_append(h, r->auth);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	if (post)
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, post);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_probe_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, body);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
	                 r->connect_ms < r->probe_ms ? r->connect_ms : r->probe_ms);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, r->probe_ms);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "lcode");
	curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_probe_progress);
	curl_easy_setopt(c, CURLOPT_XFERINFODATA, (void *)r->cancel);
	cc = curl_easy_perform(c);
	if (cc == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
	curl_easy_cleanup(c);
	curl_slist_free_all(h);
	if (cc == CURLE_ABORTED_BY_CALLBACK)
		return lc_err_set(LC_ECANCELLED, "cancelled");
	if (cc == CURLE_OPERATION_TIMEDOUT)
		lc_info("remote: %s did not answer in %ld ms", url, r->probe_ms);
	return 0;
}

/* probe() with the answer parsed: *out a JSON value, or NULL (not HTTP 200, not JSON). */
static int probe_json(const struct remote *r, const char *url, const char *post, cJSON **out,
                      long *status)
{
	lc_buf body = LC_BUF_INIT(PROBE_MAX);
	int rc = probe(r, url, post, &body, status);

	*out = !rc && *status == 200 ? cJSON_ParseWithLength(body.data, body.len) : NULL;
	lc_buf_release(&body);
	return rc;
}

/* A whole number of tokens from a JSON value, else 0. */
static int json_tokens(const cJSON *v)
{
	return cJSON_IsNumber(v) && v->valuedouble >= 1 && v->valuedouble < 1e9
	               ? (int)v->valuedouble
	               : 0;
}

/* The entry of list (an array of objects) whose key is name, or NULL. */
static const cJSON *entry_named(const cJSON *list, const char *key, const char *name)
{
	const cJSON *e;

	cJSON_ArrayForEach(e, list)
	{
		const char *v = json_str(e, key);
		if (v && name && strcmp(v, name) == 0)
			return e;
	}
	return NULL;
}

/*
 * GET {base}/models: the first model when none was named (required then),
 * and vLLM's max_model_len for the model (its ModelCard, a hard limit).
 */
static int probe_models(struct remote *r, int required, int *hard)
{
	char url[4200];
	cJSON *j = NULL;
	const char *id;
	long status;
	int rc;

	snprintf(url, sizeof(url), "%s/models", r->base);
	if ((rc = probe_json(r, url, NULL, &j, &status)))
		goto out;
	if (!required)
		goto found;
	if (status == 0) {
		rc = lc_err_set(LC_EIO, "remote: cannot reach %s to list its models", r->base);
		goto out;
	}
	id = json_str(cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(j, "data"), 0), "id");
	if (!id) {
		rc = lc_err_set(
		        LC_ENOTFOUND,
		        "remote: %s lists no model (HTTP %ld); name one with --remote-model",
		        r->base, status);
		goto out;
	}
	if (!(r->model = strdup(id))) {
		rc = lc_err_set(LC_ENOMEM, "out of memory");
		goto out;
	}
found:
	*hard = json_tokens(cJSON_GetObjectItemCaseSensitive(
	        entry_named(cJSON_GetObjectItemCaseSensitive(j, "data"), "id", r->model),
	        "max_model_len"));
out:
	cJSON_Delete(j);
	return rc;
}

/*
 * LM Studio: GET {root}/api/v1/models (0.4 and later): the context the model
 * is loaded with (models[].loaded_instances[].config.context_length, a hard
 * limit) and max_context_length (what it was trained for); else GET
 * {root}/api/v0/models (0.3.6 and later): data[].max_context_length.
 */
static int probe_lmstudio(struct remote *r, int *hard, int *trained)
{
	char url[4200];
	cJSON *j = NULL;
	const cJSON *e;
	long status;
	int rc;

	snprintf(url, sizeof(url), "%s/api/v1/models", r->root);
	if ((rc = probe_json(r, url, NULL, &j, &status)))
		return rc;
	e = entry_named(cJSON_GetObjectItemCaseSensitive(j, "models"), "key", r->model);
	if (e) {
		const cJSON *inst = cJSON_GetArrayItem(
		        cJSON_GetObjectItemCaseSensitive(e, "loaded_instances"), 0);
		*hard = json_tokens(cJSON_GetObjectItemCaseSensitive(
		        cJSON_GetObjectItemCaseSensitive(inst, "config"), "context_length"));
		*trained = json_tokens(cJSON_GetObjectItemCaseSensitive(e, "max_context_length"));
		r->ctx_unknown = !*hard; /* not loaded yet */
		cJSON_Delete(j);
		return 0;
	}
	cJSON_Delete(j);
	snprintf(url, sizeof(url), "%s/api/v0/models", r->root);
	if ((rc = probe_json(r, url, NULL, &j, &status)))
		return rc;
	e = entry_named(cJSON_GetObjectItemCaseSensitive(j, "data"), "id", r->model);
	*trained = json_tokens(cJSON_GetObjectItemCaseSensitive(e, "max_context_length"));
	r->ctx_unknown = *trained > 0; /* before 0.4: the loaded context is not told */
	cJSON_Delete(j);
	return 0;
}

/* "num_ctx N" among the lines "KEY   VALUE" of /api/show's parameters, else 0. */
static int modelfile_num_ctx(const char *params)
{
	const char *p = params;

	while (p && *p) {
		char key[16];
		long v;
		if (sscanf(p, "%15s %ld", key, &v) == 2 && strcmp(key, "num_ctx") == 0 && v >= 1 &&
		    v < 1000000000L)
			return (int)v;
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return 0;
}

/*
 * What context the server allows, asked in turn until one says: llama-server's
 * GET {root}/props (default_generation_settings.n_ctx, a hard limit),
 * Ollama's POST {root}/api/show (model_info."ARCH.context_length", the
 * trained length, and in parameters the Modelfile's num_ctx, *preset; an
 * answer makes r->ollama), LM Studio's models (probe_lmstudio). Returns 0
 * or LC_ECANCELLED.
 */
static int probe_ctx(struct remote *r, int *hard, int *trained, int *preset)
{
	char url[4200];
	cJSON *j = NULL, *req = NULL, *v;
	char *post = NULL;
	long status;
	int rc;

	snprintf(url, sizeof(url), "%s/props", r->root);
	if ((rc = probe_json(r, url, NULL, &j, &status)))
		goto out;
	*hard = json_tokens(cJSON_GetObjectItemCaseSensitive(
	        cJSON_GetObjectItemCaseSensitive(j, "default_generation_settings"), "n_ctx"));
	cJSON_Delete(j);
	j = NULL;
	if (*hard)
		goto out;
	req = cJSON_CreateObject();
	if (!req || !cJSON_AddStringToObject(req, "model", r->model) ||
	    !(post = cJSON_PrintUnformatted(req)))
		goto out;
	snprintf(url, sizeof(url), "%s/api/show", r->root);
	if ((rc = probe_json(r, url, post, &j, &status)))
		goto out;
	if (cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(j, "model_info")) ||
	    cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(j, "details"))) {
		cJSON *mi = cJSON_GetObjectItemCaseSensitive(j, "model_info");
		r->ollama = 1;
		cJSON_ArrayForEach(v, mi)
		{
			const char *k = v->string, *dot = k ? strrchr(k, '.') : NULL;
			if (dot && strcmp(dot, ".context_length") == 0 && json_tokens(v))
				*trained = json_tokens(v);
		}
		*preset = modelfile_num_ctx(json_str(j, "parameters"));
		goto out;
	}
	rc = probe_lmstudio(r, hard, trained);
out:
	cJSON_Delete(j);
	cJSON_Delete(req);
	free(post);
	return rc;
}

int lc_backend_remote_new(lc_backend **out, const lc_remote_opts *opts)
{
	struct remote *r = calloc(1, sizeof(*r));
	lc_backend *b = calloc(1, sizeof(*b));
	const char *key = opts->api_key ? opts->api_key : getenv("LCODE_API_KEY");
	size_t n;
	int rc, hard = 0, trained = 0, preset = 0;

	if (!r || !b) {
		rc = lc_err_set(LC_ENOMEM, "out of memory");
		goto fail;
	}
	if (!opts->base_url || (strncmp(opts->base_url, "http://", 7) != 0 &&
	                        strncmp(opts->base_url, "https://", 8) != 0)) {
		rc = lc_err_set(LC_EPARSE,
		                "remote: the base URL must start with http:// or https://");
		goto fail;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		rc = lc_err_set(LC_EIO, "remote: cannot start libcurl");
		goto fail;
	}
	r->base = strdup(opts->base_url);
	r->root = strdup(opts->base_url);
	r->model = dup_or_null(opts->model && opts->model[0] ? opts->model : NULL);
	if (!r->base || !r->root || (opts->model && opts->model[0] && !r->model)) {
		rc = lc_err_set(LC_ENOMEM, "out of memory");
		goto fail;
	}
	for (n = strlen(r->base); n > 0 && r->base[n - 1] == '/'; n--)
		r->base[n - 1] = r->root[n - 1] = '\0';
	if (n >= 3 && strcmp(r->root + n - 3, "/v1") == 0)
		r->root[n - 3] = '\0';
	if (key && key[0]) {
		size_t len = strlen("Authorization: Bearer ") + strlen(key) + 1;
		if (!(r->auth = malloc(len))) {
			rc = lc_err_set(LC_ENOMEM, "out of memory");
			goto fail;
		}
		snprintf(r->auth, len, "Authorization: Bearer %s", key);
	}
	r->max_tokens = opts->max_tokens > 0 ? opts->max_tokens : 2048;
	r->temp = opts->temp;
	r->seed = opts->seed;
	r->connect_ms = opts->connect_timeout_ms > 0 ? opts->connect_timeout_ms : 10000;
	r->idle_ms = opts->idle_timeout_ms > 0 ? opts->idle_timeout_ms : 300000;
	r->retries = opts->max_retries == 0 ? 4 : opts->max_retries < 0 ? 0 : opts->max_retries;
	r->probe_ms = r->idle_ms < PROBE_MS ? r->idle_ms : PROBE_MS;
	r->cancel = opts->cancel;
	r->call_format = opts->call_format;
	r->bytes_per_token = 3.0;
	if ((!r->model || !opts->no_probe) && (rc = probe_models(r, !r->model, &hard)))
		goto fail;
	if (!opts->no_probe && !hard && (rc = probe_ctx(r, &hard, &trained, &preset)))
		goto fail;
	r->n_ctx = opts->n_ctx > 0 ? opts->n_ctx : hard ? hard : preset ? preset : DEFAULT_CTX;
	if (hard && r->n_ctx > hard)
		r->n_ctx = hard;
	if (!opts->n_ctx && trained && trained < r->n_ctx)
		r->n_ctx = trained;
	if (!opts->n_ctx && r->ctx_unknown)
		lc_warn("remote: the server does not say which context it runs '%s' with; lcode "
		        "assumes %d tokens (load the model with at least that, or give --ctx)",
		        r->model, r->n_ctx);
	b->ops = &remote_ops;
	b->self = r;
	b->style.family = LC_TEMPLATE_CHATML;
	b->style.fmt =
	        opts->call_format >= 0 ? (enum lc_call_format)opts->call_format : LC_CALL_HERMES;
	r->self = b;
	snprintf(b->name, sizeof(b->name), "%s", r->model);
	*out = b;
	return 0;
fail:
	remote_free(r);
	free(b);
	return rc;
}
