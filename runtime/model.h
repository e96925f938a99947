/*
 * model.h - the forward pass of decoder-only transformers read from GGUF:
 * architectures `llama` (Llama 2/3/3.1/3.2, Mistral 7B, CodeLlama,
 * DeepSeek-Coder 1.x), `qwen2` and `qwen3`, with an F16 KV cache.
 *
 * Sources: Touvron et al. 2023, "LLaMA" and "Llama 2" (pre-norm RMSNorm,
 * SwiGLU feed-forward, rotary position embedding); Su et al. 2021, "RoFormer"
 * (RoPE); Ainslie et al. 2023, "GQA"; the Qwen2 and Qwen3 technical reports
 * (Q/K/V biases; per-head RMSNorm of Q and K before RoPE). Hyperparameter
 * keys and tensor names are those llama.cpp's convert_hf_to_gguf.py writes;
 * RoPE pairs adjacent elements for `llama` (llama.cpp's "normal" mode, for
 * which the converter permutes the Q/K rows of HF checkpoints) and the two
 * halves of each head for `qwen2` / `qwen3` (llama.cpp's "NeoX" mode).
 *
 * Weights stay in their quantized blocks inside the GGUF mapping; every
 * matrix product goes through runtime/quant.h, so activations are converted
 * to the weight type's vec-dot type first (Q8_0, Q8_1, Q8_K, F16, BF16) as
 * ggml-cpu does. Activations are f32 rows; keys and values are cached as
 * IEEE binary16.
 *
 * A model is not thread-safe: one thread calls lc_model_* at a time (the
 * model runs its own worker threads inside lc_model_eval).
 */
#ifndef LC_MODEL_H
#define LC_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "runtime/gguf.h"

typedef struct lc_model lc_model;

enum lc_model_arch { LC_MODEL_ARCH_LLAMA, LC_MODEL_ARCH_QWEN2, LC_MODEL_ARCH_QWEN3 };

struct lc_model_params {
	int n_ctx;     /* KV cache length in tokens; 0 or more than the model's
	                  <arch>.context_length means the context length */
	int n_batch;   /* most tokens one forward step processes; scratch is
	                  sized for it at load (lc_model_eval splits longer
	                  inputs). 0 means 512 */
	int n_threads; /* threads for matrix products and attention, the
	                  caller's included; 0 means 1 */
};

#define LC_MODEL_PARAMS_INIT                                                                       \
	{                                                                                          \
		0, 512, 1                                                                          \
	}

/*
 * Build a model over the weights of g. g is borrowed and must outlive the
 * model (weights are read from its mapping). params may be NULL (defaults).
 *
 * Every tensor the architecture needs is looked up and its shape and type
 * checked before anything runs. On success *out is owned (free with
 * lc_model_free). Errors: LC_EUNSUPPORTED (architecture, tensor type or RoPE
 * scaling lcode does not handle; the message names it), LC_ENOTFOUND (a
 * required metadata key or tensor is missing; named), LC_EPARSE (a tensor's
 * shape or a hyperparameter is inconsistent; named), LC_ETOOBIG (sizes
 * overflow), LC_ENOMEM, LC_ERROR (threads could not start).
 */
int lc_model_new(lc_model **out, const lc_gguf *g, const struct lc_model_params *params);

/* Stop the worker threads and free the cache and scratch. NULL is fine. */
void lc_model_free(lc_model *m);

/*
 * Run tokens[0..n_tokens) at cache positions n_past .. n_past + n_tokens - 1
 * and append their keys and values to the cache: batched prefill and
 * one-token decode are the same call.
 *
 * logits_out, if not NULL, receives f32 logits: (n_tokens, n_vocab) row-major
 * when all_logits is nonzero, else (1, n_vocab) for the last token only.
 *
 * Errors: LC_EPARSE (a token id outside [0, n_vocab) or n_tokens < 1;
 * nothing is evaluated), LC_ETOOBIG (n_past + n_tokens > n_ctx; nothing is
 * evaluated), LC_ENOMEM. After any other failure part of the batch may have
 * been cached: lc_model_truncate back to the old n_past.
 */
int lc_model_eval(lc_model *m, const int32_t *tokens, int n_tokens, float *logits_out,
                  int all_logits);

/* Tokens in the KV cache (the position the next token gets). */
int lc_model_n_past(const lc_model *m);

/*
 * Forget cache positions n and after, so a caller can keep a common prefix
 * and evaluate a different continuation. Errors: LC_EPARSE when n < 0 or
 * n > n_past.
 */
int lc_model_truncate(lc_model *m, int n);

/* Hyperparameters. */
enum lc_model_arch lc_model_arch(const lc_model *m);
const char *lc_model_arch_name(const lc_model *m); /* "llama", "qwen2", "qwen3"; static */
int lc_model_n_vocab(const lc_model *m);
int lc_model_n_ctx(const lc_model *m);       /* KV cache length in use */
int lc_model_n_ctx_train(const lc_model *m); /* <arch>.context_length */
int lc_model_n_embd(const lc_model *m);
int lc_model_n_layer(const lc_model *m);
int lc_model_n_head(const lc_model *m);
int lc_model_n_head_kv(const lc_model *m);
int lc_model_n_threads(const lc_model *m);

/* Bytes of the KV cache and of the scratch arena, for diagnostics. */
size_t lc_model_kv_bytes(const lc_model *m);
size_t lc_model_scratch_bytes(const lc_model *m);

#endif
