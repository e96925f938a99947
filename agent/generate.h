/*
 * generate.h - the decode loop: prompt tokens in, one assistant message out.
 *
 * Tokens come from an lc_lm - the in-process model, or a script in tests -
 * and are chosen by the sampler under two guards:
 *  - the tool-call constraint (constrain.h), when given: every token is
 *    drawn by lc_sampler_sample_constrained, which walks the candidates in
 *    falling logit order, asks the constraint about each and samples among
 *    the allowed ones only (top-k, min-p, top-p over those), so the number
 *    of questions follows the number of rejections, not the vocabulary
 *    size, and a call parses by construction;
 *  - the token-level loop guard (loopguard.h): a cycle in the generated
 *    tokens rolls the KV cache back to the end of the cycle's first
 *    occurrence and bans the token that began its second.
 *
 * lc_seq mirrors the KV cache: the token ids evaluated so far and the text
 * they stand for. lc_generate brings the cache to a target sequence by
 * keeping the longest common prefix and evaluating only the rest, so a
 * conversation that grows at its end costs only its new tokens.
 */
#ifndef LC_GENERATE_H
#define LC_GENERATE_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "agent/constrain.h"
#include "runtime/model.h"
#include "runtime/sampler.h"
#include "runtime/tokenizer.h"
#include "src/buf.h"

/* Loop-guard interventions allowed in one message before it is given up. */
#define LC_GEN_MAX_LOOPS 8

/* A source of next-token logits over n_vocab tokens. */
typedef struct lc_lm {
	void *self;
	int n_vocab;
	int n_ctx;
	/* Append tokens at the current end; write the last token's logits (n_vocab f32). */
	int (*eval)(void *self, const int32_t *tokens, int n, float *logits);
	/* Keep the first n tokens. */
	int (*truncate)(void *self, int n);
} lc_lm;

/* An lc_lm over an in-process model (borrowed). */
void lc_lm_from_model(lc_lm *lm, lc_model *m);

/* Token ids in the KV cache. Caller owns the struct; init/release. */
typedef struct lc_seq {
	int32_t *ids;
	size_t n, cap;
} lc_seq;

void lc_seq_init(lc_seq *s);
void lc_seq_release(lc_seq *s);
int lc_seq_push(lc_seq *s, const int32_t *ids, size_t n);

typedef struct lc_gen_opts {
	const lc_tokenizer *tok;
	lc_sampler *sampler;
	lc_constraint *constraint;     /* NULL: unconstrained (reset by lc_generate) */
	int loop_guard;                /* 1: catch token cycles */
	int max_tokens;                /* cap on generated tokens */
	volatile sig_atomic_t *cancel; /* set by a signal handler to stop; may be NULL */
	void (*on_text)(void *ud, const char *text, size_t len); /* streaming; may be NULL */
	void *ud;
} lc_gen_opts;

typedef struct lc_gen_stats {
	int n_reused;    /* prompt tokens kept from the cache */
	int n_prompt;    /* prompt tokens evaluated */
	int n_gen;       /* tokens generated (kept) */
	int n_rejected;  /* candidates the constraint refused, over all tokens */
	int n_loops;     /* loop-guard interventions */
	int stopped_eog; /* 1: the model ended its turn */
	double t_prompt; /* seconds evaluating the prompt */
	double t_gen;    /* seconds generating */
} lc_gen_stats;

/*
 * Bring the cache (mirrored by kv) to target[0..n_target), then generate one
 * message into text (appended). Generated tokens are appended to kv, except a
 * final end-of-generation token, which is not evaluated. stats may be NULL.
 *
 * Errors: LC_ETOOBIG (the target or the generation would pass n_ctx; the
 * text generated so far is kept), LC_ECANCELLED (*cancel was set), LC_ERROR
 * (the constraint refused every token, or the loop guard gave up), and whatever
 * lm->eval returns. After an error kv still mirrors the cache.
 */
int lc_generate(lc_lm *lm, lc_seq *kv, const int32_t *target, size_t n_target, const lc_gen_opts *o,
                lc_buf *text, lc_gen_stats *stats);

#endif
