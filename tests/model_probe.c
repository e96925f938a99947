/*
 * model_probe.c - runs lcode's forward pass for tests/test_model.py.
 *
 *   model_probe MODEL logits TOKENS OUT [THREADS [N_BATCH]]
 *       evaluate TOKENS (comma-separated ids) in one lc_model_eval call and
 *       write every position's logits to OUT as raw little-endian f32,
 *       (n_tokens, n_vocab) row-major
 *   model_probe MODEL greedy TOKENS N
 *       prefill TOKENS, then decode N tokens one at a time by argmax (lowest
 *       id on ties); print the ids on one line
 *   model_probe MODEL forced TOKENS N_PROMPT
 *       prefill the first N_PROMPT of TOKENS, then decode the rest one at a
 *       time (teacher forcing: the given tokens, not the model's choices);
 *       print the argmax after the prefill and after each decoded token
 *       (lowest id on ties), n_tokens - N_PROMPT + 1 ids on one line
 *   model_probe MODEL check TOKENS
 *       print "name max_abs_diff" lines comparing ways of computing the same
 *       logits: batched vs token by token, truncate + re-eval, a small
 *       n_batch, 1 vs 2 threads; and the result of an overflow of n_ctx
 *
 * Errors print "lcode: <message>" and exit 3 (a model the runtime refused) or
 * 2 (bad arguments).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/gguf.h"
#include "runtime/model.h"
#include "src/err.h"
#include "src/banned.h"

static int parse_tokens(const char *s, int32_t **out)
{
	int n = 1, i = 0;
	const char *p;
	int32_t *t;

	for (p = s; *p; p++)
		n += *p == ',';
	t = malloc((size_t)n * sizeof(*t));
	if (!t)
		return -1;
	for (p = s; i < n; i++) {
		char *end;
		t[i] = (int32_t)strtol(p, &end, 10);
		p = *end == ',' ? end + 1 : end;
	}
	*out = t;
	return n;
}

static int fail(void)
{
	fprintf(stderr, "lcode: %s\n", lc_err_msg());
	return 3;
}

static int open_model(const char *path, lc_gguf **g, lc_model **m, int threads, int n_batch,
                      int n_ctx)
{
	struct lc_model_params p = LC_MODEL_PARAMS_INIT;

	p.n_threads = threads;
	p.n_batch = n_batch;
	p.n_ctx = n_ctx;
	if (lc_gguf_open(g, path) < 0)
		return -1;
	if (lc_model_new(m, *g, &p) < 0) {
		lc_gguf_free(*g);
		return -1;
	}
	return 0;
}

static double max_diff(const float *a, const float *b, size_t n)
{
	double d = 0.0;
	size_t i;

	for (i = 0; i < n; i++) {
		double e = fabs((double)a[i] - b[i]);
		if (e > d || isnan(e))
			d = isnan(e) ? INFINITY : e;
	}
	return d;
}

static int argmax(const float *x, int n)
{
	int i, b = 0;

	for (i = 1; i < n; i++)
		if (x[i] > x[b])
			b = i;
	return b;
}

static int cmd_check(const char *path, const int32_t *toks, int n)
{
	lc_gguf *g, *g2;
	lc_model *m, *m2;
	int nv, i, k = n / 2, rc = 0, err;
	float *all, *one, *tmp;
	int32_t bad;

	if (open_model(path, &g, &m, 2, 0, n + 4) < 0)
		return fail();
	nv = lc_model_n_vocab(m);
	all = malloc((size_t)n * nv * sizeof(float));
	one = malloc((size_t)n * nv * sizeof(float));
	tmp = malloc((size_t)n * nv * sizeof(float));
	if (!all || !one || !tmp)
		return 1;
	if (lc_model_eval(m, toks, n, all, 1) < 0)
		return fail();

	/* Token by token from an empty cache. */
	lc_model_truncate(m, 0);
	for (i = 0; i < n; i++)
		if (lc_model_eval(m, toks + i, 1, one + (size_t)i * nv, 0) < 0)
			return fail();
	printf("batch_vs_single %.9g\n", max_diff(all, one, (size_t)n * nv));

	/* Last-token logits equal the last row of all. */
	lc_model_truncate(m, 0);
	if (lc_model_eval(m, toks, n, tmp, 0) < 0)
		return fail();
	printf("last_only %.9g\n", max_diff(all + (size_t)(n - 1) * nv, tmp, (size_t)nv));

	/* Keep a prefix, change the continuation, then restore it. */
	lc_model_truncate(m, k);
	{
		int32_t other = (toks[k] + 1) % nv;
		if (lc_model_eval(m, &other, 1, NULL, 0) < 0)
			return fail();
	}
	lc_model_truncate(m, k);
	if (lc_model_eval(m, toks + k, n - k, tmp, 1) < 0)
		return fail();
	printf("truncate_reeval %.9g\n", max_diff(all + (size_t)k * nv, tmp, (size_t)(n - k) * nv));
	printf("n_past %d\n", lc_model_n_past(m));

	/* Filling n_ctx (n + 4) exactly works; one more is refused. */
	{
		int32_t pad[5] = {0, 0, 0, 0, 0};
		err = lc_model_eval(m, pad, 5, NULL, 0);
		printf("overflow %d %d\n", err, lc_model_n_past(m));
		lc_err_clear();
		err = lc_model_eval(m, pad, 4, NULL, 0);
		printf("fill %d %d\n", err, lc_model_n_past(m));
		err = lc_model_eval(m, toks, 1, NULL, 0);
		printf("overflow1 %d\n", err);
		lc_err_clear();
		lc_model_truncate(m, 0);
		bad = nv;
		err = lc_model_eval(m, &bad, 1, NULL, 0);
		printf("bad_token %d %s\n", err, lc_err_msg());
		lc_err_clear();
	}
	lc_model_free(m);
	lc_gguf_free(g);

	/* Small n_batch (several steps per call) and one thread. */
	if (open_model(path, &g2, &m2, 1, 3, 0) < 0)
		return fail();
	if (lc_model_eval(m2, toks, n, tmp, 1) < 0)
		return fail();
	printf("batch3_threads1 %.9g\n", max_diff(all, tmp, (size_t)n * nv));
	lc_model_free(m2);
	lc_gguf_free(g2);
	free(all);
	free(one);
	free(tmp);
	return rc;
}

int main(int argc, char **argv)
{
	lc_gguf *g;
	lc_model *m;
	int32_t *toks;
	int n, nv, i;

	if (argc < 4) {
		fprintf(stderr, "usage: model_probe MODEL logits|greedy|forced|check TOKENS ...\n");
		return 2;
	}
	n = parse_tokens(argv[3], &toks);
	if (n < 1)
		return 2;
	if (strcmp(argv[2], "check") == 0) {
		i = cmd_check(argv[1], toks, n);
		free(toks);
		return i;
	}
	if (strcmp(argv[2], "logits") == 0 && argc >= 5) {
		int threads = argc >= 6 ? (int)strtol(argv[5], NULL, 10) : 2,
		    nb = argc >= 7 ? (int)strtol(argv[6], NULL, 10) : 0;
		float *lg;
		FILE *f;

		if (open_model(argv[1], &g, &m, threads, nb, 0) < 0)
			return fail();
		nv = lc_model_n_vocab(m);
		lg = malloc((size_t)n * nv * sizeof(float));
		if (!lg || lc_model_eval(m, toks, n, lg, 1) < 0)
			return fail();
		f = fopen(argv[4], "wb");
		if (!f || fwrite(lg, sizeof(float), (size_t)n * nv, f) != (size_t)n * nv)
			return 1;
		fclose(f);
		free(lg);
	} else if (strcmp(argv[2], "greedy") == 0 && argc >= 5) {
		int steps = (int)strtol(argv[4], NULL, 10);
		float *lg;

		if (open_model(argv[1], &g, &m, 2, 0, 0) < 0)
			return fail();
		nv = lc_model_n_vocab(m);
		lg = malloc((size_t)nv * sizeof(float));
		if (!lg || lc_model_eval(m, toks, n, lg, 0) < 0)
			return fail();
		for (i = 0; i < steps; i++) {
			int32_t t = argmax(lg, nv);
			printf("%s%d", i ? " " : "", (int)t);
			if (i + 1 < steps && lc_model_eval(m, &t, 1, lg, 0) < 0)
				return fail();
		}
		printf("\n");
		free(lg);
	} else if (strcmp(argv[2], "forced") == 0 && argc >= 5) {
		int n_prompt = (int)strtol(argv[4], NULL, 10);
		float *lg;

		if (n_prompt < 1 || n_prompt > n)
			return 2;
		if (open_model(argv[1], &g, &m, 2, 0, 0) < 0)
			return fail();
		nv = lc_model_n_vocab(m);
		lg = malloc((size_t)nv * sizeof(float));
		if (!lg || lc_model_eval(m, toks, n_prompt, lg, 0) < 0)
			return fail();
		printf("%d", argmax(lg, nv));
		for (i = n_prompt; i < n; i++) {
			if (lc_model_eval(m, toks + i, 1, lg, 0) < 0)
				return fail();
			printf(" %d", argmax(lg, nv));
		}
		printf("\n");
		free(lg);
	} else {
		return 2;
	}
	lc_model_free(m);
	lc_gguf_free(g);
	free(toks);
	return 0;
}
