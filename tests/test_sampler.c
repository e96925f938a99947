#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "runtime/sampler.h"
#include "src/err.h"
#include "src/banned.h"

static struct lc_sampler_params plain(void)
{
	struct lc_sampler_params p = LC_SAMPLER_PARAMS_INIT;

	p.temp = 1.0f;
	p.top_k = 0;
	p.top_p = 1.0f;
	p.min_p = 0.0f;
	return p;
}

static lc_sampler *make(const struct lc_sampler_params *p, int n_vocab)
{
	lc_sampler *s = NULL;

	assert_int_equal(lc_sampler_new(&s, p, n_vocab), 0);
	return s;
}

static int32_t pick(lc_sampler *s, const float *logits)
{
	int32_t t = -1;

	assert_int_equal(lc_sampler_sample(s, logits, &t), 0);
	return t;
}

/*
 * Seed 0: splitmix64 gives e220a8397b1dcdaf 6e789e6aa1b965f4 06c45d188009454f
 * f88bb8a8724c81ec (the values published with Vigna's splitmix64.c), and
 * xoshiro256** then outputs these (computed with a separate Python
 * transcription of the reference xoshiro256starstar.c).
 */
static void test_prng_reference_values(void **state)
{
	struct lc_sampler_params p = plain();
	lc_sampler *s;

	p.seed = 0;
	s = make(&p, 4);
	assert_true(lc_sampler_next_u64(s) == 0x99ec5f36cb75f2b4ULL);
	assert_true(lc_sampler_next_u64(s) == 0xbf6e1f784956452aULL);
	assert_true(lc_sampler_next_u64(s) == 0x1a5f849d4933e6e0ULL);
	lc_sampler_reset(s);
	assert_true(lc_sampler_next_u64(s) == 0x99ec5f36cb75f2b4ULL);
	lc_sampler_free(s);
}

static void test_greedy_argmax_lowest_id_on_tie(void **state)
{
	struct lc_sampler_params p = plain();
	float lg[5] = {0.1f, 3.0f, -2.0f, 3.0f, 2.9f};
	lc_sampler *s;

	p.temp = 0.0f;
	s = make(&p, 5);
	assert_int_equal(pick(s, lg), 1);
	lg[1] = -INFINITY; /* masked: the other 3.0 wins */
	assert_int_equal(pick(s, lg), 3);
	lc_sampler_free(s);
}

static void test_same_seed_same_tokens(void **state)
{
	struct lc_sampler_params p = plain();
	float lg[64];
	int32_t a[200], b[200];
	lc_sampler *s1, *s2, *s3;
	int i, differ = 0;

	for (i = 0; i < 64; i++)
		lg[i] = (float)((i * 37) % 11) * 0.3f;
	p.seed = 1234;
	s1 = make(&p, 64);
	s2 = make(&p, 64);
	p.seed = 1235;
	s3 = make(&p, 64);
	for (i = 0; i < 200; i++) {
		a[i] = pick(s1, lg);
		b[i] = pick(s2, lg);
		differ += pick(s3, lg) != a[i];
	}
	assert_memory_equal(a, b, sizeof(a));
	assert_true(differ > 0);
	lc_sampler_reset(s1);
	for (i = 0; i < 200; i++)
		assert_int_equal(pick(s1, lg), a[i]);
	lc_sampler_free(s1);
	lc_sampler_free(s2);
	lc_sampler_free(s3);
}

/* Frequencies of 30000 draws from p = (0.5, 0.3, 0.2): 4 sigma is about 0.012. */
static void test_draw_follows_softmax(void **state)
{
	struct lc_sampler_params p = plain();
	float lg[3] = {logf(0.5f), logf(0.3f), logf(0.2f)};
	int count[3] = {0, 0, 0}, i;
	lc_sampler *s;

	p.seed = 7;
	s = make(&p, 3);
	for (i = 0; i < 30000; i++)
		count[pick(s, lg)]++;
	assert_true(fabs(count[0] / 30000.0 - 0.5) < 0.012);
	assert_true(fabs(count[1] / 30000.0 - 0.3) < 0.012);
	assert_true(fabs(count[2] / 30000.0 - 0.2) < 0.012);
	lc_sampler_free(s);
}

/*
 * Temperature 0.5 squares the ratios: p ~ (0.25, 0.09, 0.04) / 0.38 =
 * (0.658, 0.237, 0.105).
 */
static void test_temperature(void **state)
{
	struct lc_sampler_params p = plain();
	float lg[3] = {logf(0.5f), logf(0.3f), logf(0.2f)};
	int count[3] = {0, 0, 0}, i;
	lc_sampler *s;

	p.temp = 0.5f;
	p.seed = 9;
	s = make(&p, 3);
	for (i = 0; i < 30000; i++)
		count[pick(s, lg)]++;
	assert_true(fabs(count[0] / 30000.0 - 0.25 / 0.38) < 0.012);
	assert_true(fabs(count[2] / 30000.0 - 0.04 / 0.38) < 0.012);
	lc_sampler_free(s);
}

static int32_t draws_max_id(struct lc_sampler_params *p, const float *lg, int n)
{
	lc_sampler *s = make(p, n);
	int32_t mx = 0, t;
	int i;

	for (i = 0; i < 3000; i++) {
		t = pick(s, lg);
		if (t > mx)
			mx = t;
	}
	lc_sampler_free(s);
	return mx;
}

/* p = (0.5, 0.3, 0.15, 0.05), ids in falling order. */
static void test_top_k_top_p_min_p(void **state)
{
	float lg[4] = {logf(0.5f), logf(0.3f), logf(0.15f), logf(0.05f)};
	struct lc_sampler_params p = plain();

	p.seed = 3;
	assert_int_equal(draws_max_id(&p, lg, 4), 3); /* nothing filtered: all appear */
	p.top_k = 2;
	assert_int_equal(draws_max_id(&p, lg, 4), 1);
	p.top_k = 1;
	assert_int_equal(draws_max_id(&p, lg, 4), 0);
	/* top-p 0.6: 0.5 < 0.6, 0.8 >= 0.6, so ids 0 and 1 stay. */
	p = plain();
	p.top_p = 0.6f;
	assert_int_equal(draws_max_id(&p, lg, 4), 1);
	/* top-p 0.85: 0.95 is the first cumulative sum past it: ids 0..2. */
	p.top_p = 0.85f;
	assert_int_equal(draws_max_id(&p, lg, 4), 2);
	/* min-p 0.25: keep p >= 0.125: ids 0..2; min-p 0.5: keep p >= 0.25: 0 and 1. */
	p = plain();
	p.min_p = 0.25f;
	assert_int_equal(draws_max_id(&p, lg, 4), 2);
	p.min_p = 0.5f;
	assert_int_equal(draws_max_id(&p, lg, 4), 1);
}

/* llama.cpp's rule: positive logits divided, negative multiplied. */
static void test_repeat_penalty(void **state)
{
	struct lc_sampler_params p = plain();
	float lg[3] = {2.0f, 1.9f, -1.0f};
	float neg[2] = {-1.0f, -1.05f};
	lc_sampler *s;

	p.temp = 0.0f;
	p.repeat_penalty = 1.1f;
	s = make(&p, 3);
	assert_int_equal(pick(s, lg), 0);
	lc_sampler_accept(s, 0); /* 2.0 / 1.1 = 1.82 < 1.9 */
	assert_int_equal(pick(s, lg), 1);
	lc_sampler_free(s);
	s = make(&p, 2);
	lc_sampler_accept(s, 0); /* -1.0 * 1.1 = -1.1 < -1.05 */
	assert_int_equal(pick(s, neg), 1);
	lc_sampler_free(s);
}

static void test_frequency_presence_and_window(void **state)
{
	struct lc_sampler_params p = plain();
	float lg[8] = {1.0f, 0.5f, 0, 0, 0, 0, 0, 0};
	lc_sampler *s;

	p.temp = 0.0f;
	p.freq_penalty = 0.2f;
	p.presence_penalty = 0.2f;
	p.penalty_last_n = 3;
	s = make(&p, 8);
	lc_sampler_accept(s, 0); /* 1.0 - 0.2 - 0.2 = 0.6 > 0.5 */
	assert_int_equal(pick(s, lg), 0);
	lc_sampler_accept(s, 0); /* 1.0 - 0.4 - 0.2 = 0.4 < 0.5 */
	assert_int_equal(pick(s, lg), 1);
	lc_sampler_accept(s, 5);
	lc_sampler_accept(s, 6); /* window of 3 holds 0, 5, 6: 0.6 again */
	assert_int_equal(pick(s, lg), 0);
	lc_sampler_accept(s, 7); /* 5, 6, 7: no penalty on 0 */
	assert_int_equal(pick(s, lg), 0);
	lc_sampler_free(s);
}

static void test_all_masked_is_error(void **state)
{
	struct lc_sampler_params p = plain();
	float lg[2] = {-INFINITY, NAN};
	int32_t t = 99;
	lc_sampler *s = make(&p, 2);

	assert_int_equal(lc_sampler_sample(s, lg, &t), LC_EPARSE);
	assert_int_equal(t, 99);
	lc_err_clear();
	lc_sampler_free(s);
}

/* --- constrained sampling ------------------------------------------------ */

struct only {
	int32_t allowed; /* the one token allowed */
	int queries;
};

static int allow_only(void *ctx, int32_t token)
{
	struct only *o = ctx;

	o->queries++;
	return token == o->allowed;
}

/* Token id of rank r (0 = highest logit): a permutation, so ids do not follow ranks. */
#define RANK_VOCAB 50000
static int32_t id_of_rank(int r)
{
	return (int32_t)(((int64_t)r * 7919) % RANK_VOCAB); /* 7919 is prime to 50000 */
}

/* Logits falling by step per rank. */
static float *ranked_logits(float step)
{
	float *lg = malloc(RANK_VOCAB * sizeof(*lg));

	assert_non_null(lg);
	for (int r = 0; r < RANK_VOCAB; r++)
		lg[id_of_rank(r)] = -step * (float)r;
	return lg;
}

static int32_t sample_only(struct lc_sampler_params *p, const float *lg, int rank, int *queries,
                           int *refused)
{
	struct only o = {id_of_rank(rank), 0};
	lc_sampler *s = make(p, RANK_VOCAB);
	int32_t t = -1;

	assert_int_equal(lc_sampler_sample_constrained(s, lg, allow_only, &o, &t, refused), 0);
	lc_sampler_free(s);
	*queries = o.queries;
	return t;
}

/*
 * One token allowed, at rank 1234 of 50000: greedy asks exactly 1235 times.
 * Sampling keeps walking while a candidate could survive min-p: with logits
 * 0.007 apart and min-p 0.05, ln(20) / 0.007 = 427.96, so the 427 candidates
 * after it are asked too; with min-p off, the floor 1e-12 gives
 * ln(1e12) / 0.007 = 3947.3, so 3947 (hand computations).
 */
static void test_constrained_queries_follow_rank(void **state)
{
	struct lc_sampler_params p = LC_SAMPLER_PARAMS_INIT;
	float *lg = ranked_logits(0.007f);
	int queries, refused;

	p.temp = 0.0f;
	assert_int_equal(sample_only(&p, lg, 1234, &queries, &refused), id_of_rank(1234));
	assert_int_equal(queries, 1235);
	assert_int_equal(refused, 1234);
	assert_int_equal(sample_only(&p, lg, 0, &queries, &refused), id_of_rank(0));
	assert_int_equal(queries, 1);
	assert_int_equal(refused, 0);

	p = (struct lc_sampler_params)LC_SAMPLER_PARAMS_INIT; /* temp 0.8, top-k 40, min-p 0.05 */
	assert_int_equal(sample_only(&p, lg, 1234, &queries, &refused), id_of_rank(1234));
	assert_int_equal(queries, 1235 + 427);
	assert_int_equal(refused, 1234 + 427);
	p.min_p = 0.0f;
	assert_int_equal(sample_only(&p, lg, 1234, &queries, &refused), id_of_rank(1234));
	assert_int_equal(queries, 1235 + 3947);
	free(lg);
}

struct every {
	int mod, rem;
	int queries;
};

static int allow_every(void *ctx, int32_t token)
{
	struct every *e = ctx;

	e->queries++;
	return token % e->mod == e->rem;
}

/* Over 2000 seeds at temperature 1, the token drawn is always one the constraint allows. */
static void test_constrained_token_always_allowed(void **state)
{
	struct lc_sampler_params p = LC_SAMPLER_PARAMS_INIT;
	float lg[1000];
	int seen[1000] = {0}, distinct = 0;

	for (int i = 0; i < 1000; i++)
		lg[i] = (float)((i * 37) % 101) * 0.05f; /* many near-ties */
	p.temp = 1.0f;
	for (uint64_t seed = 0; seed < 2000; seed++) {
		struct every e = {7, 3, 0};
		lc_sampler *s;
		int32_t t = -1;

		p.seed = seed;
		s = make(&p, 1000);
		assert_int_equal(lc_sampler_sample_constrained(s, lg, allow_every, &e, &t, NULL),
		                 0);
		assert_true(t >= 0 && t < 1000);
		assert_int_equal(t % 7, 3);
		/* top-k 40 of the allowed: about 7 * 40 candidates asked, not 1000 */
		assert_true(e.queries < 400);
		distinct += !seen[t]++;
		lc_sampler_free(s);
	}
	assert_true(distinct > 5); /* the draw is random, not one fixed token */
}

/*
 * Reference: lc_sampler_sample over the same logits with the refused tokens
 * masked to -INFINITY. With top-k on and min-p off the walk ends at top-k, so
 * the two must give the same tokens from the same seed, penalties included:
 * top-k within the first sorted candidates and past them, a third of the
 * tokens allowed or all of them.
 */
static void test_constrained_equals_masked(void **state)
{
	static const struct {
		int top_k, mod;
	} cfg[] = {{40, 3}, {100, 3}, {5, 1}, {300, 2}};
	float lg[500], masked[500];

	for (size_t k = 0; k < sizeof(cfg) / sizeof(cfg[0]); k++) {
		struct lc_sampler_params p = plain();
		lc_sampler *a, *b;

		for (int i = 0; i < 500; i++) {
			lg[i] = (float)((i * 131) % 97) * 0.1f - 5.0f;
			masked[i] = i % cfg[k].mod == cfg[k].mod - 1 ? lg[i] : -INFINITY;
		}
		p.temp = 0.8f;
		p.top_k = cfg[k].top_k;
		p.top_p = 0.9f;
		p.repeat_penalty = 1.3f;
		p.seed = 42 + k;
		a = make(&p, 500);
		b = make(&p, 500);
		for (int i = 0; i < 2000; i++) {
			struct every e = {cfg[k].mod, cfg[k].mod - 1, 0};
			int32_t ta = -1, tb = -1;

			assert_int_equal(
			        lc_sampler_sample_constrained(a, lg, allow_every, &e, &ta, NULL),
			        0);
			assert_int_equal(lc_sampler_sample(b, masked, &tb), 0);
			if (ta != tb)
				fail_msg("config %zu, draw %d: constrained %d, masked %d", k, i, ta,
				         tb);
			lc_sampler_accept(a, ta);
			lc_sampler_accept(b, tb);
		}
		lc_sampler_free(a);
		lc_sampler_free(b);
	}
}

static int allow_none(void *ctx, int32_t token)
{
	(*(int *)ctx)++;
	return 0;
}

/* Nothing allowed: one pass over the unmasked candidates, then LC_EDENIED. */
static void test_constrained_none_allowed(void **state)
{
	struct lc_sampler_params p = plain();
	float lg[6] = {1, 2, -INFINITY, 3, NAN, 0};
	float none[2] = {-INFINITY, -INFINITY};
	int32_t t = 99;
	int queries = 0, refused = -1;
	lc_sampler *s = make(&p, 6);

	assert_int_equal(lc_sampler_sample_constrained(s, lg, allow_none, &queries, &t, &refused),
	                 LC_EDENIED);
	assert_int_equal(queries, 4);
	assert_int_equal(t, 99);
	assert_int_equal(refused, -1);
	lc_err_clear();
	lc_sampler_free(s);
	s = make(&p, 2);
	queries = 0;
	assert_int_equal(lc_sampler_sample_constrained(s, none, allow_none, &queries, &t, NULL),
	                 LC_EPARSE);
	assert_int_equal(queries, 0);
	lc_err_clear();
	lc_sampler_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_prng_reference_values),
	        cmocka_unit_test(test_greedy_argmax_lowest_id_on_tie),
	        cmocka_unit_test(test_same_seed_same_tokens),
	        cmocka_unit_test(test_draw_follows_softmax),
	        cmocka_unit_test(test_temperature),
	        cmocka_unit_test(test_top_k_top_p_min_p),
	        cmocka_unit_test(test_repeat_penalty),
	        cmocka_unit_test(test_frequency_presence_and_window),
	        cmocka_unit_test(test_all_masked_is_error),
	        cmocka_unit_test(test_constrained_queries_follow_rank),
	        cmocka_unit_test(test_constrained_token_always_allowed),
	        cmocka_unit_test(test_constrained_equals_masked),
	        cmocka_unit_test(test_constrained_none_allowed),
	};
	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
