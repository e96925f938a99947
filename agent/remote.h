/*
 * remote.h - a backend that talks to a model server: OpenAI-compatible, or Ollama.
 *
 * For people who already run Ollama, LM Studio, llama-server or vLLM. The
 * conversation goes to POST {base_url}/chat/completions with "stream": true
 * and the agent's tool list in the OpenAI "tools" shape; the answer comes
 * back as server-sent events (OpenAI's chat completion chunk format: "data:
 * {json}" events, choices[0].delta.content and delta.tool_calls[] with
 * "index", "id", "function.name" and pieces of "function.arguments", a
 * finish_reason, a final "usage", then "data: [DONE]").
 *
 * Ollama is the exception: its OpenAI-compatible endpoint has no way to set
 * the context size (docs/api/openai-compatibility.mdx, "Setting the context
 * size"; openai/openai.go's request type has no "options"), so a model would
 * run with Ollama's default (4096 tokens below 24 GiB of VRAM,
 * docs/context-length.mdx) whatever lcode assumes. When POST {root}/api/show answers, the backend
 * talks to Ollama's own POST {root}/api/chat instead (docs/api.md, "Generate a chat completion"):
 * "stream": true, "tools", and "options" {"num_ctx": n_ctx, "num_predict", "temperature", "seed"};
 * the answer is newline-delimited JSON objects (docs/api/streaming.mdx) with message.content
 * pieces, message.tool_calls of whole calls whose "arguments" is an object, and a last object with
 * "done": true, "done_reason", "prompt_eval_count" and "eval_count"; an object {"error": M} may end
 * the stream (docs/api/errors.mdx). History goes back in the same shape, tool results as "tool"
 * messages with "tool_name" (and "tool_call_id" when Ollama gave the call an id; api/types.go,
 * Message). So the n_ctx lcode counts against is the context Ollama runs the model with.
 *
 * The message handed to the agent is text: content first, then every
 * structured tool call rendered in the Hermes form
 * "<tool_call>\n{"name": N, "arguments": {...}}\n</tool_call>". A server
 * may also return calls as plain content (the common failure of local
 * servers whose template or parser does not know the model's format); such
 * text is handed on as it came. After each message the backend's style.fmt
 * says which format the agent is to parse it in (agent/toolcall.c):
 * LC_CALL_HERMES for structured calls; else opts->call_format when given;
 * else the first of Hermes, Llama 3.1 JSON, Mistral [TOOL_CALLS] and ReAct
 * that finds a call in the content, or failing that the first that finds a
 * malformed one, so that the model is told what was wrong. With ReAct given,
 * the system message also describes the tools in that format (as
 * lc_chat_render does for a local model) and no "tools" are sent. Decoding
 * cannot be constrained over HTTP: lc_backend_req.constrain is ignored and
 * the agent validates after parsing.
 *
 * History: for every message it returns, the backend remembers the
 * structured calls it came with (server ids, names, argument text). When
 * that message comes back in a later request it is sent as an assistant
 * message with "tool_calls", and the tool results that follow it as "tool"
 * messages with the matching "tool_call_id" (a call without a result gets
 * one saying it was not run). Any other assistant message is sent as plain
 * content, and the tool results after it as one "user" message of
 * <tool_response> blocks.
 *
 * The context is not truncated silently: n_ctx is what the server says it
 * allows (lc_backend_remote_new), or for Ollama what lcode asks for, and
 * token counts are estimates from the request's size, corrected by the
 * server's own count of prompt tokens ("usage.prompt_tokens",
 * "prompt_eval_count").
 *
 * Network: a connect time-out, a limit on silence between received bytes,
 * retries with exponential backoff (0.5 s doubling, at most 30 s, or the
 * server's Retry-After) on connection failures and HTTP 429/503, caps on the
 * response (16 MiB), one event (4 MiB) and the message (1 MiB). The API key
 * is sent as "Authorization: Bearer KEY" and never logged or printed.
 */
#ifndef LC_REMOTE_H
#define LC_REMOTE_H

#include "agent/backend.h"

typedef struct lc_remote_opts {
	const char *base_url;   /* e.g. "http://127.0.0.1:11434/v1"; required */
	const char *model;      /* the server's model name; NULL: the first of GET {base}/models */
	const char *api_key;    /* NULL: LCODE_API_KEY from the environment; "" none */
	int n_ctx;              /* 0: what the server tells, else 8192 */
	int max_tokens;         /* per message; 0: 2048 */
	float temp;             /* sampling temperature */
	int seed;               /* < 0: not sent */
	int connect_timeout_ms; /* 0: 10000 */
	int idle_timeout_ms;    /* longest silence while a response is awaited; 0: 300000 */
	int max_retries;        /* 0: 4; < 0: none */
	int no_probe;           /* 1: do not ask the server for its context size */
	volatile sig_atomic_t *cancel; /* set: the start-up's requests stop; may be NULL */
	int call_format; /* < 0: found in each message; else the lc_call_format of text calls */
} lc_remote_opts;

/*
 * Make a remote backend. The start-up's requests (below) each take at most
 * 5 s, or idle_timeout_ms when that is shorter, and stop when *cancel is
 * set. GET {base}/models names the model when none is given (its first
 * entry). Unless no_probe is set, the server is then asked for its context
 * size, each in turn until one tells (root is base_url less a trailing
 * "/v1"):
 *   - vLLM: max_model_len of the model's entry in GET {base}/models (a hard
 *     limit);
 *   - llama-server: GET {root}/props, default_generation_settings.n_ctx (a
 *     hard limit);
 *   - Ollama: POST {root}/api/show {"model": NAME} (docs/api.md, "Show
 *     Model Information"): model_info."ARCH.context_length" (the trained
 *     length) and the Modelfile's "num_ctx N" among its "parameters" lines,
 *     which stands in for 8192 below; an answer selects POST {root}/api/chat;
 *   - LM Studio: GET {root}/api/v1/models, the model's
 *     loaded_instances[0].config.context_length (a hard limit) and
 *     max_context_length (the trained length), else GET {root}/api/v0/models,
 *     max_context_length. When only the trained length is known the
 *     context LM Studio will load the model with is not, and a warning says
 *     so.
 * n_ctx is then opts->n_ctx, else the hard limit, else 8192; never above a
 * hard limit, and without opts->n_ctx never above the trained length. None
 * of these is required. On success *out is owned (free with
 * lc_backend_free). Errors: LC_EPARSE (a base URL that is not http:// or
 * https://), LC_ENOTFOUND (no model given and the server lists none),
 * LC_EIO and LC_ETIMEOUT (when the model list cannot be had), LC_ECANCELLED,
 * LC_ENOMEM.
 */
int lc_backend_remote_new(lc_backend **out, const lc_remote_opts *opts);

#endif
