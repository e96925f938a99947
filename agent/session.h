/*
 * session.h - the session log: one JSON object per line, enough to replay
 * and debug a run.
 *
 * Every run writes .lcode/sessions/<UTC time>-<pid>.jsonl in the
 * repository root (e.g. 20261122T101502Z-4242.jsonl; directories made as
 * needed). The first line is the header:
 *
 *   {"type": "session", "ts", "lcode": version, "model": path,
 *    "model_sha256": hex or null, "quantization": the most common tensor
 *    type by bytes (or "none"), "template": chat family, "call_format",
 *    "prompt_version": SHA-256 of the prompts' text (first 16 hex digits),
 *    "sampler": {"temp", "top_k", "top_p", "min_p", "seed"}, "n_ctx",
 *    "constrain", "backend": "local" | "script", "script": path or null}
 *
 * then one line per agent event (agent.h) but the streamed text chunks:
 * request, message, call (tool, args), observation (tool, status, text),
 * edit (tool, path, match or null, diff: see lc_tool_edit in tools/tool.h),
 * commit (id), final, note, stats (tokens and seconds), each with "ts"
 * (UTC, ISO 8601 with milliseconds), and an "end" line per request with
 * the exit status and error. Each line is flushed as it is written.
 *
 * The model file's SHA-256 (FIPS 180-4, computed with OpenSSL's libcrypto)
 * is cached in $XDG_CACHE_HOME/lcode/model-sha256 (~/.cache/lcode/ without
 * it), keyed by the file's absolute path, size and mtime, so a large model
 * is read once.
 */
#ifndef LC_SESSION_H
#define LC_SESSION_H

#include <stddef.h>

#include "agent/agent.h"

typedef struct lc_session_log lc_session_log;

/* Size of a SHA-256 digest in hex, NUL included. */
#define LC_SHA256_HEX 65

/* What the header records; strings are copied when written, any may be NULL. */
typedef struct lc_session_info {
	const char *version;
	const char *model_path;
	const char *model_sha256;
	const char *quantization;
	const char *template_family;
	const char *call_format;
	const char *prompt_version;
	const char *backend; /* "local" or "script" */
	const char *script;
	float temp, top_p, min_p;
	int top_k;
	unsigned long long seed;
	int n_ctx;
	int constrain;
} lc_session_info;

/*
 * Make repo_root/.lcode/sessions/ as needed, create the log file and write
 * the header. On success *out is owned: close with lc_session_log_close.
 * Errors: LC_EIO (the message names the path), LC_ENOMEM.
 */
int lc_session_log_open(lc_session_log **out, const char *repo_root, const lc_session_info *info);

/* The log file's path. Borrowed: valid until lc_session_log_close. */
const char *lc_session_log_path(const lc_session_log *log);

/* Append one event (LC_EV_TEXT is skipped). Errors: LC_EIO, LC_ENOMEM. */
int lc_session_log_event(lc_session_log *log, const lc_event *ev);

/* Append the end of a request: its exit status and error message (may be NULL). */
int lc_session_log_end(lc_session_log *log, int exit_status, const char *error);

/* Close the file. NULL is fine. */
void lc_session_log_close(lc_session_log *log);

/* SHA-256 of len bytes of data, in lowercase hex. */
void lc_sha256_hex(const void *data, size_t len, char hex[LC_SHA256_HEX]);

/*
 * SHA-256 of the file at path in lowercase hex, from the cache when the
 * file's path, size and mtime match an entry, else read (and the cache
 * updated; a cache that cannot be written is no error). Errors:
 * LC_ENOTFOUND, LC_EIO.
 */
int lc_session_model_sha256(const char *path, char hex[LC_SHA256_HEX]);

/*
 * The GGUF file's most common tensor type by bytes ("Q4_K"), or "none" for
 * a file without tensors, written to out (cap bytes). Errors: as
 * lc_gguf_open.
 */
int lc_session_model_quant(const char *path, char *out, size_t cap);

#endif
