/*
 * bench_quant - time lc_matmul per weight type: a 4096 x 4096 weight times 1
 * token (decode) and 64 tokens (prefill), one thread.
 *
 *   meson test -C build --benchmark quant      or   build/tests/bench_quant [TYPE...]
 *
 * Weights are random bytes with every scale field set to a small normal f16
 * (timing only; values do not matter). Each case repeats until 0.3 s have
 * passed and reports the mean time per call, weight bytes read per second
 * and multiply-adds per second.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "runtime/qtype.h"
#include "runtime/quant.h"
#include "src/err.h"
#include "tests/bench.h"

#include "src/banned.h"

#define N 4096

/* Offsets of the f16 scale fields in one block (ggml-common.h), -1 terminated. */
static const int *scale_offsets(uint32_t type)
{
	static const int d0[] = {0, -1}, d0m2[] = {0, 2, -1}, q2k[] = {80, 82, -1},
	                 q3k[] = {108, -1}, q6k[] = {208, -1};

	switch (type) {
	case LC_QTYPE_Q4_0:
	case LC_QTYPE_Q5_0:
	case LC_QTYPE_Q8_0:
		return d0;
	case LC_QTYPE_Q4_1:
	case LC_QTYPE_Q5_1:
	case LC_QTYPE_Q4_K:
	case LC_QTYPE_Q5_K:
		return d0m2;
	case LC_QTYPE_Q2_K:
		return q2k;
	case LC_QTYPE_Q3_K:
		return q3k;
	case LC_QTYPE_Q6_K:
		return q6k;
	default:
		return NULL;
	}
}

static int fill_weights(uint32_t type, uint8_t *w, size_t size)
{
	size_t i, bs = lc_qtype_type_size(type);
	const int *off = scale_offsets(type);

	if (type == LC_QTYPE_F32 || type == LC_QTYPE_F16 || type == LC_QTYPE_BF16) {
		float row[N];
		size_t rs = lc_qtype_row_size(type, N), r;
		int j, err;

		for (r = 0; r < size / rs; r++) {
			for (j = 0; j < N; j++)
				row[j] = bench_rnd_bell(1.7) * 0.02f;
			err = lc_quantize_row_for_dot(type, row, w + r * rs, N);
			if (err < 0)
				return err;
		}
		return 0;
	}
	for (i = 0; i < size; i++)
		w[i] = (uint8_t)bench_rnd();
	for (i = 0; i < size; i += bs) {
		const int *o;

		for (o = off; *o >= 0; o++) {
			uint16_t h = lc_fp32_to_fp16(0.001f + 0.009f * (float)(bench_rnd() >> 11) /
			                                              9007199254740992.0f);

			memcpy(w + i + *o, &h, 2);
		}
	}
	return 0;
}

static int bench(uint32_t type, const uint8_t *w, const float *x, float *y, int n_tokens)
{
	double t0, t, per;
	int reps = 0, err;

	t0 = bench_now();
	do {
		err = lc_matmul(type, w, N, N, x, n_tokens, y);
		if (err < 0)
			return err;
		reps++;
		t = bench_now() - t0;
	} while (t < 0.3);
	per = t / reps;
	printf("%-5s tokens=%-3d %9.3f ms  %7.2f GB/s weights  %7.2f GMAC/s\n", lc_qtype_name(type),
	       n_tokens, per * 1e3, (double)lc_qtype_row_size(type, N) * N / per * 1e-9,
	       (double)N * N * n_tokens / per * 1e-9);
	fflush(stdout);
	return 0;
}

int main(int argc, char **argv)
{
	static const uint32_t types[] = {
	        LC_QTYPE_F32,  LC_QTYPE_F16,  LC_QTYPE_BF16, LC_QTYPE_Q8_0, LC_QTYPE_Q4_0,
	        LC_QTYPE_Q4_1, LC_QTYPE_Q5_0, LC_QTYPE_Q5_1, LC_QTYPE_Q2_K, LC_QTYPE_Q3_K,
	        LC_QTYPE_Q4_K, LC_QTYPE_Q5_K, LC_QTYPE_Q6_K,
	};
	float *x = malloc(sizeof(float) * N * 64), *y = malloc(sizeof(float) * N * 64);
	int status = 0;
	size_t i, j;

	if (!x || !y) {
		fprintf(stderr, "bench_quant: out of memory\n");
		status = 1;
		goto out;
	}
	for (i = 0; i < (size_t)N * 64; i++)
		x[i] = bench_rnd_bell(1.7);
	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		size_t size = lc_qtype_row_size(types[i], N) * N;
		uint8_t *w;
		int pick = argc < 2;

		for (j = 1; j < (size_t)argc; j++)
			pick |= strcmp(argv[j], lc_qtype_name(types[i])) == 0;
		if (!pick)
			continue;
		w = malloc(size);
		if (!w || fill_weights(types[i], w, size) < 0 || bench(types[i], w, x, y, 1) < 0 ||
		    bench(types[i], w, x, y, 64) < 0) {
			fprintf(stderr, "bench_quant: %s: %s\n", lc_qtype_name(types[i]),
			        w ? lc_err_msg() : "out of memory");
			status = 1;
		}
		free(w);
	}
out:
	free(x);
	free(y);
	return status;
}
