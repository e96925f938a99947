/*
 * sampler.h - pick the next token from logits.
 *
 * The steps run in llama.cpp's default order (common/sampling.cpp):
 * penalties over the last penalty_last_n accepted tokens, top-k, top-p,
 * min-p, temperature, then a draw from the softmax. temp <= 0 is greedy:
 * after the penalties, the highest logit wins (ties: the lowest id).
 *
 * Penalties as llama.cpp's llama_sampler_penalties: for a token seen c > 0
 * times, a positive logit is divided by repeat_penalty and a negative one
 * multiplied by it, then c * freq_penalty + presence_penalty is subtracted.
 *
 * Randomness: xoshiro256** (Blackman & Vigna 2018, prng.di.unimi.it) seeded
 * through splitmix64 from the 64-bit seed, so the same seed, parameters and
 * logits give the same tokens on every machine. A draw takes the top 53 bits
 * of one output as a double u in [0, 1) and returns the first candidate
 * (in order of falling probability) whose cumulative probability passes
 * u * total.
 *
 * Logits masked to -INFINITY (or NaN) by the caller are never picked; when
 * every logit is masked that is an error.
 *
 * Constrained decoding (lc_sampler_sample_constrained) asks a predicate
 * which tokens may be sampled. It walks the candidates in falling order
 * (logit after the penalties, then rising id) and asks for each one in turn,
 * so the number of questions follows the number of refusals, not the size of
 * the vocabulary; see that function for the chain it applies.
 */
#ifndef LC_SAMPLER_H
#define LC_SAMPLER_H

#include <stdint.h>

typedef struct lc_sampler lc_sampler;

struct lc_sampler_params {
	float temp;             /* <= 0: greedy */
	int top_k;              /* <= 0: off */
	float top_p;            /* >= 1: off */
	float min_p;            /* <= 0: off; keep p >= min_p * p_max */
	float repeat_penalty;   /* 1: off */
	float freq_penalty;     /* 0: off */
	float presence_penalty; /* 0: off */
	int penalty_last_n;     /* tokens of history the penalties look at; 0: off */
	uint64_t seed;
};

/* llama.cpp's defaults (common.h), except a fixed seed. */
#define LC_SAMPLER_PARAMS_INIT                                                                     \
	{                                                                                          \
		0.8f, 40, 0.95f, 0.05f, 1.0f, 0.0f, 0.0f, 64, 0                                    \
	}

/*
 * A sampler for a vocabulary of n_vocab tokens. On success *out is owned
 * (free with lc_sampler_free). Errors: LC_EPARSE (n_vocab < 1, a NaN or
 * negative parameter, penalty_last_n < 0), LC_ENOMEM.
 */
int lc_sampler_new(lc_sampler **out, const struct lc_sampler_params *params, int n_vocab);

/* NULL is fine. */
void lc_sampler_free(lc_sampler *s);

/*
 * Pick a token from logits (n_vocab f32, not modified). Does not record it:
 * call lc_sampler_accept with the token actually used. On success *token is
 * written. Errors: LC_EPARSE (every logit is -INFINITY or NaN).
 */
int lc_sampler_sample(lc_sampler *s, const float *logits, int32_t *token);

/*
 * Whether token may be sampled: nonzero yes, 0 no. Called with candidates in
 * falling order; ctx is the caller's.
 */
typedef int (*lc_sampler_allow_fn)(void *ctx, int32_t token);

/*
 * Candidates more than this factor below the first allowed one (at
 * temperature 1) end a constrained walk even when min_p is lower or off: each
 * would weigh less than 1e-12 of that token, so all of a 152k vocabulary
 * together less than 2e-7 of it.
 */
#define LC_SAMPLER_MIN_P_FLOOR 1e-12f

/*
 * Pick a token that allow(ctx, token) accepts, from logits (n_vocab f32, not
 * modified). Does not record it (see lc_sampler_accept). The chain:
 *
 *  1. penalties, as lc_sampler_sample, once;
 *  2. a walk over the candidates in falling order (logit, then rising id),
 *     asking allow for each. Greedy (temp <= 0) takes the first allowed
 *     token and stops. Otherwise the walk keeps the allowed tokens it meets
 *     and stops at the first of: top_k kept (top_k > 0); a candidate whose
 *     logit is below l0 + log(max(min_p, LC_SAMPLER_MIN_P_FLOOR)), l0 being
 *     the first allowed token's logit (that candidate is not asked); the end
 *     of the vocabulary. The kept tokens are therefore the top-k of the
 *     allowed tokens with min-p already applied;
 *  3. top-p over the kept tokens' probabilities (softmax at temperature 1,
 *     renormalised over the kept ones), min-p (a no-op by now),
 *     temperature and the draw, exactly as lc_sampler_sample.
 *
 * So it equals lc_sampler_sample over logits with every refused token
 * masked to -INFINITY (same tokens, same random stream) whenever the walk
 * ends by top-k or at the end of the vocabulary; where min-p ends it
 * first, top-p is taken over fewer tokens than the unconstrained chain's
 * top-k (min-p before top-p instead of after). Each call draws one random
 * number, except greedy, which draws none.
 *
 * Cost: the penalties and a selection of the best max(64, top_k)
 * candidates, as in lc_sampler_sample (O(n_vocab), no query); a walk that
 * goes past them continues in a heap over the rest (O(n_vocab) to build,
 * no query). Then one allow call and at most O(log n_vocab) per candidate
 * walked; for greedy that is the first allowed token's rank + 1 calls.
 *
 * On success *token is written, and *n_refused (may be NULL) gets the number
 * of candidates allow refused. Errors: LC_EPARSE (every logit is -INFINITY
 * or NaN), LC_EDENIED (allow refused every candidate).
 */
int lc_sampler_sample_constrained(lc_sampler *s, const float *logits, lc_sampler_allow_fn allow,
                                  void *ctx, int32_t *token, int *n_refused);

/* Record a token in the penalty history (prompt tokens too, if wanted). */
void lc_sampler_accept(lc_sampler *s, int32_t token);

/* Forget the history and restart the random stream from the seed. */
void lc_sampler_reset(lc_sampler *s);

/* The next raw xoshiro256** output (for tests). */
uint64_t lc_sampler_next_u64(lc_sampler *s);

#endif
