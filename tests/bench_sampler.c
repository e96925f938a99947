/*
 * bench_sampler - time constrained sampling over a Qwen2-sized vocabulary
 * (151936 tokens) and count the questions asked of the constraint.
 *
 *   meson test -C build --benchmark sampler      or   build/tests/bench_sampler
 *
 * Logits are random (a sum of uniforms, spread about 3), fresh for each
 * call. Constraints: "all" allows every token (free text), "1/1000" every
 * thousandth id (a JSON position open to some tokens), "8 ids" eight fixed
 * ids (a tool name's first token). Rows: lc_sampler_sample without a
 * constraint; lc_sampler_sample_constrained; and "retry", the former
 * approach of sampling, masking a refused token and sampling again, with a
 * scan of the whole vocabulary after 64 refusals. Each case runs 100 calls
 * and reports the mean time per call and the mean questions per call.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "runtime/sampler.h"
#include "src/err.h"
#include "tests/bench.h"

#include "src/banned.h"

#define N_VOCAB          151936
#define N_CALLS          100
#define RETRY_SCAN_AFTER 64

struct rule {
	const char *name;
	int kind; /* 0 all, 1 every thousandth, 2 eight ids */
	long queries;
};

static int allow(void *ctx, int32_t t)
{
	struct rule *r = ctx;

	r->queries++;
	switch (r->kind) {
	case 0:
		return 1;
	case 1:
		return t % 1000 == 0;
	default:
		return t == 17 || t == 4242 || t == 9001 || t == 33333 || t == 77777 ||
		       t == 100003 || t == 123456 || t == 150000;
	}
}

/* The former loop: sample, mask the refused token, sample again; scan all after 64. */
static int retry_sample(lc_sampler *s, float *work, struct rule *r, int32_t *out)
{
	int refused = 0;

	for (;;) {
		int32_t t;
		if (refused == RETRY_SCAN_AFTER) {
			for (int32_t i = 0; i < N_VOCAB; i++)
				if (work[i] != -INFINITY && !allow(r, i))
					work[i] = -INFINITY;
		}
		if (lc_sampler_sample(s, work, &t))
			return -1;
		if (allow(r, t)) {
			*out = t;
			return 0;
		}
		work[t] = -INFINITY;
		refused++;
	}
}

static void run(const char *mode, int greedy, struct rule *r, float *logits, float *work)
{
	struct lc_sampler_params p = LC_SAMPLER_PARAMS_INIT;
	lc_sampler *s;
	double t0, dt = 0;
	int32_t tok;

	if (greedy)
		p.temp = 0;
	if (lc_sampler_new(&s, &p, N_VOCAB)) {
		fprintf(stderr, "bench_sampler: %s\n", lc_err_msg());
		exit(1);
	}
	if (r)
		r->queries = 0;
	for (int c = 0; c < N_CALLS; c++) {
		int rc;
		for (int i = 0; i < N_VOCAB; i++)
			logits[i] = bench_rnd_bell(5.2);
		memcpy(work, logits, N_VOCAB * sizeof(*work));
		t0 = bench_now();
		if (!r)
			rc = lc_sampler_sample(s, work, &tok);
		else if (strcmp(mode, "retry") == 0)
			rc = retry_sample(s, work, r, &tok);
		else
			rc = lc_sampler_sample_constrained(s, work, allow, r, &tok, NULL);
		dt += bench_now() - t0;
		if (rc) {
			fprintf(stderr, "bench_sampler: %s\n", lc_err_msg());
			exit(1);
		}
	}
	printf("%-8s %-12s %-7s %10.1f %12.1f\n", greedy ? "greedy" : "default", mode,
	       r ? r->name : "-", dt / N_CALLS * 1e6, r ? (double)r->queries / N_CALLS : 0.0);
	lc_sampler_free(s);
}

int main(void)
{
	struct rule rules[] = {{"all", 0, 0}, {"1/1000", 1, 0}, {"8 ids", 2, 0}};
	float *logits = malloc(N_VOCAB * sizeof(float)), *work = malloc(N_VOCAB * sizeof(float));

	if (!logits || !work)
		return 1;
	printf("%-8s %-12s %-7s %10s %12s\n", "sampler", "method", "allowed", "us/call",
	       "queries/call");
	for (int greedy = 1; greedy >= 0; greedy--) {
		run("plain", greedy, NULL, logits, work);
		for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++) {
			run("walk", greedy, &rules[i], logits, work);
			run("retry", greedy, &rules[i], logits, work);
		}
	}
	free(logits);
	free(work);
	return 0;
}
