#include "agent/backend.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/scriptlm.h"
#include "runtime/gguf.h"
#include "src/err.h"
#include "src/banned.h"

#define RENDER_MAX   ((size_t)64 << 20)
#define MSG_TEXT_MAX ((size_t)1 << 20)
#define DEFAULT_CTX  8192

struct local {
	lc_gguf *gguf;
	lc_model *model;     /* NULL for a scripted backend */
	lc_scriptlm *script; /* NULL for a model */
	lc_tokenizer *tok;
	lc_sampler *sampler;
	lc_constraint *constraint;
	const cJSON *constraint_tools; /* the tool list the constraint was built for */
	lc_lm lm;
	lc_seq kv;      /* tokens in the KV cache */
	lc_buf kv_text; /* the text those tokens stand for, BOS aside */
	lc_chat_style style;
	int max_tokens;
};

/*
 * Tokenize text[from..len): template text may spell special tokens, message
 * content (the plain spans) never does.
 */
static int tokenize_spans(struct local *l, const lc_buf *text, size_t from,
                          const lc_chat_spans *plain, lc_seq *out)
{
	size_t pos = from, si = 0;
	int rc = 0;

	while (pos < text->len && !rc) {
		size_t end = text->len, n;
		int special = 1;
		int32_t *ids;

		while (si < plain->n && plain->v[si].off + plain->v[si].len <= pos)
			si++;
		if (si < plain->n && plain->v[si].off <= pos) {
			end = plain->v[si].off + plain->v[si].len;
			special = 0;
		} else if (si < plain->n && plain->v[si].off < end) {
			end = plain->v[si].off;
		}
		rc = lc_tokenize_alloc(l->tok, text->data + pos, end - pos, 0, special,
		                       (size_t)l->lm.n_ctx + 1, &ids, &n);
		if (rc == LC_ETOOBIG) {
			lc_err_clear(); /* the tokenizer's cap is the context here: say so */
			return lc_err_set(LC_ETOOBIG,
			                  "the conversation is longer than the context "
			                  "of %d tokens",
			                  l->lm.n_ctx);
		}
		if (!rc)
			rc = lc_seq_push(out, ids, n);
		free(ids);
		pos = end;
	}
	return rc;
}

/* The prompt tokens for req: the cache's tokens plus what the render adds. */
static int prompt_tokens(struct local *l, const lc_backend_req *req, lc_buf *text, lc_seq *target,
                         int *reused)
{
	lc_chat_spans plain = {0};
	int rc;

	rc = lc_chat_render(&l->style, req->system, req->tools, req->react_intro, req->msgs,
	                    req->n_msgs, 1, text, &plain);
	if (rc)
		goto out;
	*reused = l->kv.n > 0 && text->len >= l->kv_text.len &&
	          memcmp(text->data, l->kv_text.data, l->kv_text.len) == 0;
	if (*reused) {
		rc = lc_seq_push(target, l->kv.ids, l->kv.n);
		if (!rc)
			rc = tokenize_spans(l, text, l->kv_text.len, &plain, target);
	} else {
		int32_t bos = lc_tokenizer_bos(l->tok);
		if (lc_tokenizer_add_bos(l->tok) && bos >= 0)
			rc = lc_seq_push(target, &bos, 1);
		if (!rc)
			rc = tokenize_spans(l, text, 0, &plain, target);
	}
out:
	lc_chat_spans_release(&plain);
	return rc;
}

static int local_complete(void *self, const lc_backend_req *req, lc_buf *out, lc_gen_stats *st)
{
	struct local *l = self;
	lc_buf text = LC_BUF_INIT(RENDER_MAX), msg = LC_BUF_INIT(MSG_TEXT_MAX);
	lc_seq target;
	lc_gen_opts o = {0};
	int reused, rc;

	lc_seq_init(&target);
	if ((rc = prompt_tokens(l, req, &text, &target, &reused)))
		goto out;
	if (req->constrain && req->tools && l->constraint_tools != req->tools) {
		lc_constraint_free(l->constraint);
		l->constraint = NULL;
		if ((rc = lc_constraint_new(&l->constraint, l->style.fmt, req->tools)))
			goto out;
		l->constraint_tools = req->tools;
	}
	if (req->constrain && l->constraint)
		lc_constraint_set_files(l->constraint, req->files);
	o.tok = l->tok;
	o.sampler = l->sampler;
	o.constraint = req->constrain ? l->constraint : NULL;
	o.loop_guard = 1;
	o.max_tokens = l->max_tokens;
	o.cancel = req->cancel;
	o.on_text = req->on_text;
	o.ud = req->ud;
	rc = lc_generate(&l->lm, &l->kv, target.ids, target.n, &o, &msg, st);
	/* The cache now holds the prompt and what was kept of the message. */
	lc_buf_reset(&l->kv_text);
	if (lc_buf_add(&l->kv_text, text.data, text.len) ||
	    lc_buf_add(&l->kv_text, msg.data ? msg.data : "", msg.len)) {
		l->kv.n = 0; /* cannot mirror: start over next time */
		lc_buf_reset(&l->kv_text);
	}
	if (rc)
		goto out;
	if (lc_buf_add(out, msg.data ? msg.data : "", msg.len))
		rc = lc_err_set(LC_ETOOBIG, "the model's message is too long");
out:
	lc_seq_release(&target);
	lc_buf_release(&text);
	lc_buf_release(&msg);
	return rc;
}

static long local_count(void *self, const lc_backend_req *req)
{
	struct local *l = self;
	lc_buf text = LC_BUF_INIT(RENDER_MAX);
	lc_seq target;
	int reused, rc;
	long n;

	lc_seq_init(&target);
	rc = prompt_tokens(l, req, &text, &target, &reused);
	n = rc ? rc : (long)target.n;
	lc_seq_release(&target);
	lc_buf_release(&text);
	return n;
}

static int local_n_ctx(void *self)
{
	return ((struct local *)self)->lm.n_ctx;
}

static void local_free(void *self)
{
	struct local *l = self;

	if (!l)
		return;
	lc_constraint_free(l->constraint);
	lc_sampler_free(l->sampler);
	lc_model_free(l->model);
	lc_scriptlm_free(l->script);
	lc_tokenizer_free(l->tok);
	lc_gguf_free(l->gguf);
	lc_seq_release(&l->kv);
	lc_buf_release(&l->kv_text);
	free(l);
}

static const struct lc_backend_ops local_ops = {local_complete, local_count, local_n_ctx,
                                                local_free};

/* Open the GGUF, the tokenizer and the chat style; the caller adds the model. */
static int local_open(struct local **out, lc_backend **bout, const char *path,
                      const lc_local_opts *opts)
{
	struct local *l = calloc(1, sizeof(*l));
	lc_backend *b = calloc(1, sizeof(*b));
	lc_gguf_str tmpl = {NULL, 0};
	const char *base;
	int rc;

	if (!l || !b) {
		free(l);
		free(b);
		return lc_err_set(LC_ENOMEM, "out of memory");
	}
	lc_seq_init(&l->kv);
	lc_buf_init(&l->kv_text, RENDER_MAX);
	b->ops = &local_ops;
	b->self = l;
	if ((rc = lc_gguf_open(&l->gguf, path)) || (rc = lc_tokenizer_new(&l->tok, l->gguf)))
		goto fail;
	if (lc_gguf_get_str(l->gguf, "tokenizer.chat_template", &tmpl))
		lc_err_clear(); /* no template: the fallback family */
	l->style.family = lc_template_detect(tmpl.data, tmpl.len);
	l->style.fmt = lc_chat_default_format(l->style.family);
	if (lc_gguf_find_key(l->gguf, "lcode.call_format") >= 0) {
		static const char *const fmts[] = {"hermes", "llama3", "mistral", "react"};
		lc_gguf_str v;
		if ((rc = lc_gguf_get_str(l->gguf, "lcode.call_format", &v)))
			goto fail;
		for (int i = 0; i < 4; i++)
			if (lc_gguf_str_eq(v, fmts[i]))
				l->style.fmt = (enum lc_call_format)i;
	}
	if (lc_gguf_find_key(l->gguf, "lcode.prompt_profile") >= 0) {
		lc_gguf_str v;
		if ((rc = lc_gguf_get_str(l->gguf, "lcode.prompt_profile", &v)))
			goto fail;
		snprintf(b->profile, sizeof(b->profile), "%.*s", (int)(v.len < 31 ? v.len : 31),
		         v.data);
	}
	if (opts->call_format >= 0)
		l->style.fmt = (enum lc_call_format)opts->call_format;
	l->style.compact = strcmp(b->profile, "compact") == 0;
	l->max_tokens = opts->max_tokens > 0 ? opts->max_tokens : 2048;
	b->style = l->style;
	base = strrchr(path, '/');
	snprintf(b->name, sizeof(b->name), "%s", base ? base + 1 : path);
	*out = l;
	*bout = b;
	return 0;
fail:
	local_free(l);
	free(b);
	return rc;
}

static int local_sampler(struct local *l, const lc_local_opts *opts)
{
	return lc_sampler_new(&l->sampler, &opts->sampler, l->lm.n_vocab);
}

int lc_backend_local_new(lc_backend **out, const char *path, const lc_local_opts *opts)
{
	struct lc_model_params mp = LC_MODEL_PARAMS_INIT;
	struct local *l;
	lc_backend *b;
	int rc;

	if ((rc = local_open(&l, &b, path, opts)))
		return rc;
	mp.n_ctx = opts->n_ctx > 0 ? opts->n_ctx : DEFAULT_CTX;
	mp.n_threads = opts->n_threads > 0 ? opts->n_threads : (int)sysconf(_SC_NPROCESSORS_ONLN);
	if ((rc = lc_model_new(&l->model, l->gguf, &mp)))
		goto fail;
	lc_lm_from_model(&l->lm, l->model);
	if ((rc = local_sampler(l, opts)))
		goto fail;
	*out = b;
	return 0;
fail:
	lc_backend_free(b);
	return rc;
}

int lc_backend_script_new(lc_backend **out, const char *script_path, const char *vocab_path,
                          const lc_local_opts *opts)
{
	struct local *l;
	lc_backend *b;
	char **turns = NULL;
	size_t n_turns = 0;
	int rc;

	if ((rc = local_open(&l, &b, vocab_path, opts)))
		return rc;
	if ((rc = lc_scriptlm_read(script_path, &turns, &n_turns)))
		goto fail;
	rc = lc_scriptlm_new(&l->script, l->tok, (const char *const *)turns, n_turns,
	                     opts->n_ctx > 0 ? opts->n_ctx : DEFAULT_CTX);
	lc_scriptlm_turns_free(turns, n_turns);
	if (rc)
		goto fail;
	lc_scriptlm_lm(l->script, &l->lm);
	if ((rc = local_sampler(l, opts)))
		goto fail;
	snprintf(b->name, sizeof(b->name), "script");
	*out = b;
	return 0;
fail:
	lc_backend_free(b);
	return rc;
}

void lc_backend_free(lc_backend *b)
{
	if (!b)
		return;
	if (b->ops && b->ops->free)
		b->ops->free(b->self);
	free(b);
}
