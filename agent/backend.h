/*
 * backend.h - where the agent's model messages come from.
 *
 * A backend turns a conversation (system text, tools, messages) into the
 * model's next message. The local backend runs an in-process model (or a
 * scripted one in tests) with the family's chat format, constrained
 * decoding of tool calls, the loop guard and KV-cache prefix reuse; a remote
 * backend sends the same conversation to a server.
 */
#ifndef LC_BACKEND_H
#define LC_BACKEND_H

#include <signal.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "agent/chat.h"
#include "agent/generate.h"
#include "src/buf.h"

typedef struct lc_backend lc_backend;

typedef struct lc_backend_req {
	const char *system;      /* system text (prompt, AGENTS.md) */
	const cJSON *tools;      /* OpenAI-style list with descriptions */
	const char *react_intro; /* prompts/react.md, for the ReAct format */
	const lc_chat_msg *msgs; /* the conversation so far */
	size_t n_msgs;
	int constrain;                    /* 1: constrain tool calls (local only) */
	const lc_constraint_files *files; /* with constrain: files calls may name; may be NULL */
	volatile sig_atomic_t *cancel;    /* may be NULL */
	void (*on_text)(void *ud, const char *text, size_t len); /* streaming; may be NULL */
	void *ud;
} lc_backend_req;

struct lc_backend_ops {
	/* Append the next assistant message to out. */
	int (*complete)(void *self, const lc_backend_req *req, lc_buf *out, lc_gen_stats *st);
	/* Tokens the request would take (prompt only), or a negative code. */
	long (*count)(void *self, const lc_backend_req *req);
	int (*n_ctx)(void *self);
	void (*free)(void *self);
};

struct lc_backend {
	const struct lc_backend_ops *ops;
	void *self;
	lc_chat_style style; /* format the model is prompted in */
	char name[128];      /* model name for logs and commit trailers */
	char profile[32];    /* the prompt profile it was trained with: "" or "compact" */
};

/* Local backend settings. */
typedef struct lc_local_opts {
	int n_ctx;      /* 0: the model's context length, at most 8192 */
	int n_threads;  /* 0: the number of cores */
	int max_tokens; /* per message; 0: 2048 */
	struct lc_sampler_params sampler;
	int call_format; /* -1: the family's default; else an lc_call_format */
} lc_local_opts;

/*
 * A backend over a GGUF model file: maps it, builds the model, tokenizer
 * and sampler, detects the chat family from tokenizer.chat_template. Two
 * optional metadata keys of lcode's own say how a model was trained to be
 * prompted: lcode.call_format ("hermes", "llama3", "mistral", "react") and
 * lcode.prompt_profile ("compact": the short system prompt). On
 * success *out is owned (free with lc_backend_free). Errors: as lc_gguf_open,
 * lc_model_new, lc_tokenizer_new.
 */
int lc_backend_local_new(lc_backend **out, const char *path, const lc_local_opts *opts);

/*
 * A scripted backend: the model's messages are the turns of a script file
 * (scriptlm.h), spoken through the tokenizer and chat template of the GGUF
 * file vocab_path (a tokenizer-only file is enough). For tests.
 */
int lc_backend_script_new(lc_backend **out, const char *script_path, const char *vocab_path,
                          const lc_local_opts *opts);

/* Free the backend and everything it holds. NULL is fine. */
void lc_backend_free(lc_backend *b);

static inline int lc_backend_complete(lc_backend *b, const lc_backend_req *req, lc_buf *out,
                                      lc_gen_stats *st)
{
	return b->ops->complete(b->self, req, out, st);
}

#endif
