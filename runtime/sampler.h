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
 * Logits masked to -INFINITY by the caller (constrained decoding) are never
 * picked unless every logit is -INFINITY, which is an error.
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

/* Record a token in the penalty history (prompt tokens too, if wanted). */
void lc_sampler_accept(lc_sampler *s, int32_t token);

/* Forget the history and restart the random stream from the seed. */
void lc_sampler_reset(lc_sampler *s);

/* The next raw xoshiro256** output (for tests). */
uint64_t lc_sampler_next_u64(lc_sampler *s);

#endif
