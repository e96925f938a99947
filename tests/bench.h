/*
 * Helpers the benchmark programs share: a fixed-seed random stream and a
 * monotonic clock. The values only feed timing runs; their exact
 * distribution does not matter beyond being spread out.
 */
#ifndef LC_TESTS_BENCH_H
#define LC_TESTS_BENCH_H

#include <stdint.h>
#include <time.h>

static uint64_t bench_rng_state = 0x9e3779b97f4a7c15u;

/* xorshift64* (Vigna, "An experimental exploration of Marsaglia's xorshift generators"). */
static inline uint64_t bench_rnd(void)
{
	bench_rng_state ^= bench_rng_state >> 12;
	bench_rng_state ^= bench_rng_state << 25;
	bench_rng_state ^= bench_rng_state >> 27;
	return bench_rng_state * 0x2545f4914f6cdd1du;
}

/* Sum of four uniforms on [-0.5, 0.5), times scale: zero mean, bell-shaped. */
static inline float bench_rnd_bell(double scale)
{
	double s = 0;

	for (int i = 0; i < 4; i++)
		s += (double)(bench_rnd() >> 11) / 9007199254740992.0 - 0.5;
	return (float)(s * scale);
}

/* Seconds on the monotonic clock. */
static inline double bench_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

#endif
