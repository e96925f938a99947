/*
 * quant.c - tensor element types: conversion, dequantization, dot products.
 *
 * Block layouts from ggml's src/ggml-common.h; the float operations of each
 * dequantizer are done in the same order as ggml's dequantize_row_* so that
 * results are bit-identical, and the dot products keep ggml-cpu's generic
 * structure: exact integer sums inside a block, then f32 accumulation of
 * (scale * integer sum) in the same order (for Q3_K..Q6_K through the same
 * eight f32 lanes). See quant.h for the contract.
 */
#include "runtime/quant.h"

#include <assert.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
#include <immintrin.h>
#define LC_QUANT_AVX2 1
#endif

#include "runtime/qtype.h"
#include "src/err.h"

#include "src/banned.h"

#define QK   32  /* elements per block of Q4_0 .. Q8_1 */
#define QK_K 256 /* elements per super-block of the K types */

/* Block structs: sizes and field order as ggml-common.h; f16 fields as bits. */
struct block_q4_0 {
	uint16_t d;
	uint8_t qs[QK / 2];
};
struct block_q4_1 {
	uint16_t d;
	uint16_t m;
	uint8_t qs[QK / 2];
};
struct block_q5_0 {
	uint16_t d;
	uint8_t qh[4];
	uint8_t qs[QK / 2];
};
struct block_q5_1 {
	uint16_t d;
	uint16_t m;
	uint8_t qh[4];
	uint8_t qs[QK / 2];
};
struct block_q8_0 {
	uint16_t d;
	int8_t qs[QK];
};
struct block_q8_1 {
	uint16_t d;
	uint16_t s; /* d * sum(qs) */
	int8_t qs[QK];
};
struct block_q2_K {
	uint8_t scales[QK_K / 16]; /* low nibble scale, high nibble min */
	uint8_t qs[QK_K / 4];
	uint16_t d;
	uint16_t dmin;
};
struct block_q3_K {
	uint8_t hmask[QK_K / 8];
	uint8_t qs[QK_K / 4];
	uint8_t scales[12]; /* 16 six-bit scales */
	uint16_t d;
};
struct block_q4_K {
	uint16_t d;
	uint16_t dmin;
	uint8_t scales[12]; /* 8 six-bit scales, 8 six-bit mins */
	uint8_t qs[QK_K / 2];
};
struct block_q5_K {
	uint16_t d;
	uint16_t dmin;
	uint8_t scales[12];
	uint8_t qh[QK_K / 8];
	uint8_t qs[QK_K / 2];
};
struct block_q6_K {
	uint8_t ql[QK_K / 2];
	uint8_t qh[QK_K / 4];
	int8_t scales[QK_K / 16];
	uint16_t d;
};
struct block_q8_K {
	float d;
	int8_t qs[QK_K];
	int16_t bsums[QK_K / 16];
};

_Static_assert(sizeof(struct block_q4_0) == 18, "q4_0 layout");
_Static_assert(sizeof(struct block_q4_1) == 20, "q4_1 layout");
_Static_assert(sizeof(struct block_q5_0) == 22, "q5_0 layout");
_Static_assert(sizeof(struct block_q5_1) == 24, "q5_1 layout");
_Static_assert(sizeof(struct block_q8_0) == 34, "q8_0 layout");
_Static_assert(sizeof(struct block_q8_1) == 36, "q8_1 layout");
_Static_assert(sizeof(struct block_q2_K) == 84, "q2_K layout");
_Static_assert(sizeof(struct block_q3_K) == 110, "q3_K layout");
_Static_assert(sizeof(struct block_q4_K) == 144, "q4_K layout");
_Static_assert(sizeof(struct block_q5_K) == 176, "q5_K layout");
_Static_assert(sizeof(struct block_q6_K) == 210, "q6_K layout");
_Static_assert(sizeof(struct block_q8_K) == 292, "q8_K layout");

/* ---- scalar conversions ---- */

static uint32_t f32_bits(float f)
{
	uint32_t u;

	memcpy(&u, &f, sizeof(u));
	return u;
}

static float bits_f32(uint32_t u)
{
	float f;

	memcpy(&f, &u, sizeof(f));
	return f;
}

float lc_fp16_to_fp32(uint16_t h)
{
	uint32_t sign = (uint32_t)(h & 0x8000) << 16;
	uint32_t exp = (h >> 10) & 0x1f;
	uint32_t mant = h & 0x3ff;

	if (exp == 0x1f) /* Inf, NaN: payload kept */
		return bits_f32(sign | 0x7f800000 | (mant << 13));
	if (exp != 0)
		return bits_f32(sign | ((exp + 127 - 15) << 23) | (mant << 13));
	if (mant == 0)
		return bits_f32(sign);
	/* subnormal: mant * 2^-24, normalized so the leading 1 becomes implicit */
	exp = 127 - 15 + 1;
	while (!(mant & 0x400)) {
		mant <<= 1;
		exp--;
	}
	return bits_f32(sign | (exp << 23) | ((mant & 0x3ff) << 13));
}

uint16_t lc_fp32_to_fp16(float f)
{
	uint32_t x = f32_bits(f);
	uint16_t sign = (uint16_t)((x >> 16) & 0x8000);
	uint32_t e, mant, shift, q, rem, half;

	x &= 0x7fffffff;
	if (x > 0x7f800000) /* NaN: set the quiet bit, keep the top of the payload */
		return sign | 0x7e00 | (uint16_t)((x & 0x7fffff) >> 13);
	if (x >= 0x47800000) /* >= 2^16 (and Inf): beyond every rounding to 65504 */
		return sign | 0x7c00;
	e = x >> 23;
	if (e >= 113) { /* normal half: biased half exponent e - 112 in 1..30 */
		q = ((e - 112) << 10) | ((x & 0x7fffff) >> 13);
		rem = x & 0x1fff;
		half = 0x1000;
		/* a carry out of the mantissa correctly bumps the exponent, up to Inf */
	} else {
		/* subnormal half: value / 2^-24 = mant * 2^(e - 126 - 23 + 24 - 1) */
		if (e < 102)
			return sign; /* below 2^-25: rounds to zero */
		mant = (x & 0x7fffff) | 0x800000;
		shift = 126 - e; /* 14..24 */
		q = mant >> shift;
		rem = mant & ((1u << shift) - 1);
		half = 1u << (shift - 1);
	}
	if (rem > half || (rem == half && (q & 1)))
		q++;
	return sign | (uint16_t)q;
}

float lc_bf16_to_fp32(uint16_t h)
{
	return bits_f32((uint32_t)h << 16);
}

uint16_t lc_fp32_to_bf16(float f)
{
	uint32_t x = f32_bits(f);

	if ((x & 0x7fffffff) > 0x7f800000)
		return (uint16_t)((x >> 16) | 0x40);
	/* adding 0x7fff plus the lowest kept bit rounds to nearest, ties to even */
	return (uint16_t)((x + 0x7fff + ((x >> 16) & 1)) >> 16);
}

/* Table for the inner loops: every binary16 value as f32 (256 KiB). */
static float fp16_table[1 << 16];

static inline float h2f(uint16_t h)
{
	return fp16_table[h];
}

/* ---- unpacking: quants and scales of one super-block, as plain integers ---- */

/* Q4_K / Q5_K: 8 six-bit scales and mins packed in 12 bytes (get_scale_min_k4). */
static void unpack_scale_min_k4(const uint8_t *s, uint8_t sc[8], uint8_t mn[8])
{
	int j;

	for (j = 0; j < 4; j++) {
		sc[j] = s[j] & 63;
		mn[j] = s[j + 4] & 63;
	}
	for (j = 4; j < 8; j++) {
		sc[j] = (uint8_t)((s[j + 4] & 0xf) | ((s[j - 4] >> 6) << 4));
		mn[j] = (uint8_t)((s[j + 4] >> 4) | ((s[j] >> 6) << 4));
	}
}

/* Q3_K: 16 six-bit scales: low nibbles in bytes 0..7, high pairs in 8..11. */
static void unpack_scales_q3_K(const uint8_t *s, int sc[16])
{
	int k;

	for (k = 0; k < 16; k++) {
		int lo = k < 8 ? (s[k] & 0xf) : (s[k - 8] >> 4);
		int hi = (s[8 + k % 4] >> (2 * (k / 4))) & 3;
		sc[k] = (lo | (hi << 4)) - 32;
	}
}

/*
 * Element e of a Q2_K / Q3_K super-block (e = 128 h + 32 j + l, h < 2, j < 4,
 * l < 32) is bits 2j..2j+1 of qs[32 h + l].
 */
static void unpack_q2(const uint8_t *qs, int8_t q[QK_K])
{
	int h, j, l;

	for (h = 0; h < 2; h++)
		for (j = 0; j < 4; j++)
			for (l = 0; l < 32; l++)
				q[128 * h + 32 * j + l] = (int8_t)((qs[32 * h + l] >> (2 * j)) & 3);
}

static void unpack_q3_K(const struct block_q3_K *b, int8_t q[QK_K])
{
	int k, l;

	unpack_q2(b->qs, q);
	/* the high bit of element 32 k + l is bit k of hmask[l]; unset means -4 */
	for (k = 0; k < 8; k++)
		for (l = 0; l < 32; l++)
			q[32 * k + l] = (int8_t)(q[32 * k + l] - 4 + 4 * ((b->hmask[l] >> k) & 1));
}

/* Q4_K / Q5_K: element 64 c + 32 h + l is nibble h of qs[32 c + l]. */
static void unpack_q4(const uint8_t *qs, int8_t q[QK_K])
{
	int c, l;

	for (c = 0; c < 4; c++)
		for (l = 0; l < 32; l++) {
			q[64 * c + l] = (int8_t)(qs[32 * c + l] & 0xf);
			q[64 * c + 32 + l] = (int8_t)(qs[32 * c + l] >> 4);
		}
}

static void unpack_q5_K(const struct block_q5_K *b, int8_t q[QK_K])
{
	int k, l;

	unpack_q4(b->qs, q);
	/* the fifth bit of element 32 k + l is bit k of qh[l] */
	for (k = 0; k < 8; k++)
		for (l = 0; l < 32; l++)
			q[32 * k + l] = (int8_t)(q[32 * k + l] + 16 * ((b->qh[l] >> k) & 1));
}

/*
 * Q6_K: element 128 h + 32 k + l takes its low nibble from ql[64 h + 32 (k & 1)
 * + l] (low nibble for k < 2, high for k >= 2) and its top two bits from bits
 * 2k..2k+1 of qh[32 h + l]; the stored value is offset by 32.
 */
static void unpack_q6_K(const struct block_q6_K *b, int8_t q[QK_K])
{
	int h, k, l;

	for (h = 0; h < 2; h++)
		for (k = 0; k < 4; k++)
			for (l = 0; l < 32; l++) {
				int lo = b->ql[64 * h + 32 * (k & 1) + l];
				int hi = (b->qh[32 * h + l] >> (2 * k)) & 3;

				lo = k < 2 ? (lo & 0xf) : (lo >> 4);
				q[128 * h + 32 * k + l] = (int8_t)((lo | (hi << 4)) - 32);
			}
}

/* ---- dequantization (float operations in ggml's order) ---- */

static void dequantize_f32(const void *src, float *dst, int64_t n)
{
	memcpy(dst, src, (size_t)n * sizeof(float));
}

static void dequantize_f16(const void *src, float *dst, int64_t n)
{
	const uint8_t *p = src;
	int64_t i;

	for (i = 0; i < n; i++) {
		uint16_t h;

		memcpy(&h, p + 2 * i, 2);
		dst[i] = h2f(h);
	}
}

static void dequantize_bf16(const void *src, float *dst, int64_t n)
{
	const uint8_t *p = src;
	int64_t i;

	for (i = 0; i < n; i++) {
		uint16_t h;

		memcpy(&h, p + 2 * i, 2);
		dst[i] = lc_bf16_to_fp32(h);
	}
}

static void dequantize_q4_0(const void *src, float *dst, int64_t n)
{
	const struct block_q4_0 *b = src;
	int64_t i;
	int j;

	for (i = 0; i < n / QK; i++, dst += QK) {
		const float d = h2f(b[i].d);

		for (j = 0; j < QK / 2; j++) {
			dst[j] = (float)((b[i].qs[j] & 0xf) - 8) * d;
			dst[j + QK / 2] = (float)((b[i].qs[j] >> 4) - 8) * d;
		}
	}
}

static void dequantize_q4_1(const void *src, float *dst, int64_t n)
{
	const struct block_q4_1 *b = src;
	int64_t i;
	int j;

	for (i = 0; i < n / QK; i++, dst += QK) {
		const float d = h2f(b[i].d), m = h2f(b[i].m);

		for (j = 0; j < QK / 2; j++) {
			dst[j] = (float)(b[i].qs[j] & 0xf) * d + m;
			dst[j + QK / 2] = (float)(b[i].qs[j] >> 4) * d + m;
		}
	}
}

/* Q5_0 / Q5_1: bit j of the little-endian qh word is the fifth bit of element j. */
static uint32_t load_qh(const uint8_t qh[4])
{
	return (uint32_t)qh[0] | (uint32_t)qh[1] << 8 | (uint32_t)qh[2] << 16 |
	       (uint32_t)qh[3] << 24;
}

static void dequantize_q5_0(const void *src, float *dst, int64_t n)
{
	const struct block_q5_0 *b = src;
	int64_t i;
	int j;

	for (i = 0; i < n / QK; i++, dst += QK) {
		const float d = h2f(b[i].d);
		const uint32_t qh = load_qh(b[i].qh);

		for (j = 0; j < QK / 2; j++) {
			int x0 = (int)((b[i].qs[j] & 0xf) | (((qh >> j) & 1) << 4)) - 16;
			int x1 = (int)((b[i].qs[j] >> 4) | (((qh >> (j + 16)) & 1) << 4)) - 16;

			dst[j] = (float)x0 * d;
			dst[j + QK / 2] = (float)x1 * d;
		}
	}
}

static void dequantize_q5_1(const void *src, float *dst, int64_t n)
{
	const struct block_q5_1 *b = src;
	int64_t i;
	int j;

	for (i = 0; i < n / QK; i++, dst += QK) {
		const float d = h2f(b[i].d), m = h2f(b[i].m);
		const uint32_t qh = load_qh(b[i].qh);

		for (j = 0; j < QK / 2; j++) {
			int x0 = (int)((b[i].qs[j] & 0xf) | (((qh >> j) & 1) << 4));
			int x1 = (int)((b[i].qs[j] >> 4) | (((qh >> (j + 16)) & 1) << 4));

			dst[j] = (float)x0 * d + m;
			dst[j + QK / 2] = (float)x1 * d + m;
		}
	}
}

static void dequantize_q8_0(const void *src, float *dst, int64_t n)
{
	const struct block_q8_0 *b = src;
	int64_t i;
	int j;

	for (i = 0; i < n / QK; i++, dst += QK) {
		const float d = h2f(b[i].d);

		for (j = 0; j < QK; j++)
			dst[j] = (float)b[i].qs[j] * d;
	}
}

static void dequantize_q8_1(const void *src, float *dst, int64_t n)
{
	const struct block_q8_1 *b = src;
	int64_t i;
	int j;

	for (i = 0; i < n / QK; i++, dst += QK) {
		const float d = h2f(b[i].d);

		for (j = 0; j < QK; j++)
			dst[j] = (float)b[i].qs[j] * d;
	}
}

static void dequantize_q2_K(const void *src, float *dst, int64_t n)
{
	const struct block_q2_K *b = src;
	int8_t q[QK_K];
	int64_t i;
	int e;

	for (i = 0; i < n / QK_K; i++, dst += QK_K) {
		const float d = h2f(b[i].d), dmin = h2f(b[i].dmin);

		unpack_q2(b[i].qs, q);
		for (e = 0; e < QK_K; e++) {
			const uint8_t sc = b[i].scales[e / 16];
			const float dl = d * (float)(sc & 0xf), ml = dmin * (float)(sc >> 4);

			dst[e] = dl * (float)q[e] - ml;
		}
	}
}

static void dequantize_q3_K(const void *src, float *dst, int64_t n)
{
	const struct block_q3_K *b = src;
	int8_t q[QK_K];
	int sc[16];
	int64_t i;
	int e;

	for (i = 0; i < n / QK_K; i++, dst += QK_K) {
		const float d = h2f(b[i].d);

		unpack_q3_K(&b[i], q);
		unpack_scales_q3_K(b[i].scales, sc);
		for (e = 0; e < QK_K; e++)
			dst[e] = (d * (float)sc[e / 16]) * (float)q[e];
	}
}

static void dequantize_q4_K(const void *src, float *dst, int64_t n)
{
	const struct block_q4_K *b = src;
	int8_t q[QK_K];
	uint8_t sc[8], mn[8];
	int64_t i;
	int e;

	for (i = 0; i < n / QK_K; i++, dst += QK_K) {
		const float d = h2f(b[i].d), dmin = h2f(b[i].dmin);

		unpack_q4(b[i].qs, q);
		unpack_scale_min_k4(b[i].scales, sc, mn);
		for (e = 0; e < QK_K; e++) {
			const float d1 = d * (float)sc[e / 32], m1 = dmin * (float)mn[e / 32];

			dst[e] = d1 * (float)q[e] - m1;
		}
	}
}

static void dequantize_q5_K(const void *src, float *dst, int64_t n)
{
	const struct block_q5_K *b = src;
	int8_t q[QK_K];
	uint8_t sc[8], mn[8];
	int64_t i;
	int e;

	for (i = 0; i < n / QK_K; i++, dst += QK_K) {
		const float d = h2f(b[i].d), dmin = h2f(b[i].dmin);

		unpack_q5_K(&b[i], q);
		unpack_scale_min_k4(b[i].scales, sc, mn);
		for (e = 0; e < QK_K; e++) {
			const float d1 = d * (float)sc[e / 32], m1 = dmin * (float)mn[e / 32];

			dst[e] = d1 * (float)q[e] - m1;
		}
	}
}

static void dequantize_q6_K(const void *src, float *dst, int64_t n)
{
	const struct block_q6_K *b = src;
	int8_t q[QK_K];
	int64_t i;
	int e;

	for (i = 0; i < n / QK_K; i++, dst += QK_K) {
		const float d = h2f(b[i].d);

		unpack_q6_K(&b[i], q);
		for (e = 0; e < QK_K; e++)
			dst[e] = d * (float)b[i].scales[e / 16] * (float)q[e];
	}
}

static void dequantize_q8_K(const void *src, float *dst, int64_t n)
{
	const struct block_q8_K *b = src;
	int64_t i;
	int e;

	for (i = 0; i < n / QK_K; i++, dst += QK_K)
		for (e = 0; e < QK_K; e++)
			dst[e] = b[i].d * (float)b[i].qs[e];
}

/* ---- activation quantization (ggml's *_ref) ---- */

void lc_quantize_row_q8_0(const float *x, void *y, int64_t n)
{
	struct block_q8_0 *b = y;
	int64_t i;
	int j;

	assert(n >= 0 && n % QK == 0);
	for (i = 0; i < n / QK; i++, x += QK) {
		float amax = 0.0f, d, id;

		for (j = 0; j < QK; j++)
			amax = fmaxf(amax, fabsf(x[j]));
		d = amax / 127.0f;
		id = d != 0.0f ? 1.0f / d : 0.0f;
		b[i].d = lc_fp32_to_fp16(d);
		for (j = 0; j < QK; j++)
			b[i].qs[j] = (int8_t)roundf(x[j] * id);
	}
}

void lc_quantize_row_q8_1(const float *x, void *y, int64_t n)
{
	struct block_q8_1 *b = y;
	int64_t i;
	int j, sum;

	assert(n >= 0 && n % QK == 0);
	for (i = 0; i < n / QK; i++, x += QK) {
		float amax = 0.0f, d, id;

		for (j = 0; j < QK; j++)
			amax = fmaxf(amax, fabsf(x[j]));
		d = amax / 127.0f;
		id = d != 0.0f ? 1.0f / d : 0.0f;
		b[i].d = lc_fp32_to_fp16(d);
		sum = 0;
		for (j = 0; j < QK; j++) {
			b[i].qs[j] = (int8_t)roundf(x[j] * id);
			sum += b[i].qs[j];
		}
		b[i].s = lc_fp32_to_fp16((float)sum * d);
	}
}

void lc_quantize_row_q8_K(const float *x, void *y, int64_t n)
{
	struct block_q8_K *b = y;
	int64_t i;
	int j, k;

	assert(n >= 0 && n % QK_K == 0);
	for (i = 0; i < n / QK_K; i++, x += QK_K) {
		float amax = 0.0f, max = 0.0f, iscale;

		/* max keeps its sign: the value of largest magnitude maps to -127 */
		for (j = 0; j < QK_K; j++)
			if (fabsf(x[j]) > amax) {
				amax = fabsf(x[j]);
				max = x[j];
			}
		if (amax == 0.0f) {
			memset(&b[i], 0, sizeof(b[i]));
			continue;
		}
		iscale = -127.0f / max;
		for (j = 0; j < QK_K; j++) {
			/* rintf: round half to even, as ggml's nearest_int */
			long v = lrintf(iscale * x[j]);

			b[i].qs[j] = (int8_t)(v > 127 ? 127 : v);
		}
		for (k = 0; k < QK_K / 16; k++) {
			int sum = 0;

			for (j = 0; j < 16; j++)
				sum += b[i].qs[16 * k + j];
			b[i].bsums[k] = (int16_t)sum;
		}
		b[i].d = 1.0f / iscale;
	}
}

static void from_float_f32(const float *x, void *y, int64_t n)
{
	memcpy(y, x, (size_t)n * sizeof(float));
}

static void from_float_f16(const float *x, void *y, int64_t n)
{
	uint8_t *p = y;
	int64_t i;

	for (i = 0; i < n; i++) {
		uint16_t h = lc_fp32_to_fp16(x[i]);

		memcpy(p + 2 * i, &h, 2);
	}
}

static void from_float_bf16(const float *x, void *y, int64_t n)
{
	uint8_t *p = y;
	int64_t i;

	for (i = 0; i < n; i++) {
		uint16_t h = lc_fp32_to_bf16(x[i]);

		memcpy(p + 2 * i, &h, 2);
	}
}

/* ---- dot products, scalar (ggml-cpu's generic structure) ---- */

/* F32, F16, BF16: products in f32, summed in double (ggml_float). */
static float vec_dot_f32(int64_t n, const void *vw, const void *vx)
{
	const float *w = vw, *x = vx;
	double sum = 0.0;
	int64_t i;

	for (i = 0; i < n; i++)
		sum += (double)(w[i] * x[i]);
	return (float)sum;
}

static float vec_dot_f16(int64_t n, const void *vw, const void *vx)
{
	const uint8_t *w = vw, *x = vx;
	double sum = 0.0;
	int64_t i;

	for (i = 0; i < n; i++) {
		uint16_t a, b;

		memcpy(&a, w + 2 * i, 2);
		memcpy(&b, x + 2 * i, 2);
		sum += (double)(h2f(a) * h2f(b));
	}
	return (float)sum;
}

static float vec_dot_bf16(int64_t n, const void *vw, const void *vx)
{
	const uint8_t *w = vw, *x = vx;
	double sum = 0.0;
	int64_t i;

	for (i = 0; i < n; i++) {
		uint16_t a, b;

		memcpy(&a, w + 2 * i, 2);
		memcpy(&b, x + 2 * i, 2);
		sum += (double)(lc_bf16_to_fp32(a) * lc_bf16_to_fp32(b));
	}
	return (float)sum;
}

static float vec_dot_q4_0(int64_t n, const void *vw, const void *vx)
{
	const struct block_q4_0 *w = vw;
	const struct block_q8_0 *x = vx;
	float sumf = 0.0f;
	int64_t i;
	int j;

	for (i = 0; i < n / QK; i++) {
		int sumi = 0;

		for (j = 0; j < QK / 2; j++) {
			sumi += ((w[i].qs[j] & 0xf) - 8) * x[i].qs[j];
			sumi += ((w[i].qs[j] >> 4) - 8) * x[i].qs[j + QK / 2];
		}
		sumf += (float)sumi * h2f(w[i].d) * h2f(x[i].d);
	}
	return sumf;
}

static float vec_dot_q4_1(int64_t n, const void *vw, const void *vx)
{
	const struct block_q4_1 *w = vw;
	const struct block_q8_1 *x = vx;
	float sumf = 0.0f;
	int64_t i;
	int j;

	for (i = 0; i < n / QK; i++) {
		int sumi = 0;

		for (j = 0; j < QK / 2; j++) {
			sumi += (w[i].qs[j] & 0xf) * x[i].qs[j];
			sumi += (w[i].qs[j] >> 4) * x[i].qs[j + QK / 2];
		}
		/* the min times sum(x) comes from s = d_x * sum(qs), stored once per block */
		sumf += (h2f(w[i].d) * h2f(x[i].d)) * (float)sumi + h2f(w[i].m) * h2f(x[i].s);
	}
	return sumf;
}

static float vec_dot_q5_0(int64_t n, const void *vw, const void *vx)
{
	const struct block_q5_0 *w = vw;
	const struct block_q8_0 *x = vx;
	float sumf = 0.0f;
	int64_t i;
	int j;

	for (i = 0; i < n / QK; i++) {
		const uint32_t qh = load_qh(w[i].qh);
		int sumi = 0;

		for (j = 0; j < QK / 2; j++) {
			int x0 = (int)((w[i].qs[j] & 0xf) | (((qh >> j) & 1) << 4)) - 16;
			int x1 = (int)((w[i].qs[j] >> 4) | (((qh >> (j + 16)) & 1) << 4)) - 16;

			sumi += x0 * x[i].qs[j] + x1 * x[i].qs[j + QK / 2];
		}
		sumf += (h2f(w[i].d) * h2f(x[i].d)) * (float)sumi;
	}
	return sumf;
}

static float vec_dot_q5_1(int64_t n, const void *vw, const void *vx)
{
	const struct block_q5_1 *w = vw;
	const struct block_q8_1 *x = vx;
	float sumf = 0.0f;
	int64_t i;
	int j;

	for (i = 0; i < n / QK; i++) {
		const uint32_t qh = load_qh(w[i].qh);
		int sumi = 0;

		for (j = 0; j < QK / 2; j++) {
			int x0 = (int)((w[i].qs[j] & 0xf) | (((qh >> j) & 1) << 4));
			int x1 = (int)((w[i].qs[j] >> 4) | (((qh >> (j + 16)) & 1) << 4));

			sumi += x0 * x[i].qs[j] + x1 * x[i].qs[j + QK / 2];
		}
		sumf += (h2f(w[i].d) * h2f(x[i].d)) * (float)sumi + h2f(w[i].m) * h2f(x[i].s);
	}
	return sumf;
}

static float vec_dot_q8_0(int64_t n, const void *vw, const void *vx)
{
	const struct block_q8_0 *w = vw;
	const struct block_q8_0 *x = vx;
	float sumf = 0.0f;
	int64_t i;
	int j;

	for (i = 0; i < n / QK; i++) {
		int sumi = 0;

		for (j = 0; j < QK; j++)
			sumi += w[i].qs[j] * x[i].qs[j];
		sumf += (float)sumi * (h2f(w[i].d) * h2f(x[i].d));
	}
	return sumf;
}

/*
 * The integer part shared by the Q3_K..Q6_K dot products: lane l (< 8) sums
 * scale * q * q8 over elements e with e % 8 == l, the scale taken per 16
 * elements. ggml keeps these eight lanes apart so that the f32 accumulation
 * after them (sums[l] += d * lanes[l]) has the same rounding as here.
 */
static void dot_lanes(const int8_t *q, const int8_t *q8, const int sc16[16], int32_t lanes[8])
{
	int g, l;

	for (l = 0; l < 8; l++)
		lanes[l] = 0;
	for (g = 0; g < QK_K / 16; g++, q += 16, q8 += 16)
		for (l = 0; l < 8; l++)
			lanes[l] += sc16[g] * (q[l] * q8[l] + q[l + 8] * q8[l + 8]);
}

static float vec_dot_q2_K(int64_t n, const void *vw, const void *vx)
{
	const struct block_q2_K *w = vw;
	const struct block_q8_K *x = vx;
	int8_t q[QK_K];
	float sumf = 0.0f;
	int64_t i;
	int e, k;

	for (i = 0; i < n / QK_K; i++) {
		const float dall = x[i].d * h2f(w[i].d);
		const float dmin = x[i].d * h2f(w[i].dmin);
		int summs = 0, isum = 0;

		for (k = 0; k < 16; k++)
			summs += x[i].bsums[k] * (w[i].scales[k] >> 4);
		unpack_q2(w[i].qs, q);
		for (k = 0; k < 16; k++) {
			int isuml = 0;

			for (e = 16 * k; e < 16 * k + 16; e++)
				isuml += q[e] * x[i].qs[e];
			isum += (w[i].scales[k] & 0xf) * isuml;
		}
		sumf += dall * (float)isum - dmin * (float)summs;
	}
	return sumf;
}

static float vec_dot_q3_K(int64_t n, const void *vw, const void *vx)
{
	const struct block_q3_K *w = vw;
	const struct block_q8_K *x = vx;
	int8_t q[QK_K];
	int sc[16];
	int32_t lanes[8];
	float sums[8] = {0}, sumf = 0.0f;
	int64_t i;
	int l;

	for (i = 0; i < n / QK_K; i++) {
		float d;

		unpack_q3_K(&w[i], q);
		unpack_scales_q3_K(w[i].scales, sc);
		dot_lanes(q, x[i].qs, sc, lanes);
		d = h2f(w[i].d) * x[i].d;
		for (l = 0; l < 8; l++)
			sums[l] += d * (float)lanes[l];
	}
	for (l = 0; l < 8; l++)
		sumf += sums[l];
	return sumf;
}

/* Q4_K and Q5_K differ only in how the quants unpack. */
static float vec_dot_q45_K(const uint16_t *dd, const uint8_t *scales, const int8_t *q,
                           const struct block_q8_K *x, float sums[8])
{
	uint8_t sc[8], mn[8];
	int sc16[16];
	int32_t lanes[8];
	int k, l, summ = 0;
	float d;

	unpack_scale_min_k4(scales, sc, mn);
	for (k = 0; k < 16; k++) {
		sc16[k] = sc[k / 2];
		summ += x->bsums[k] * mn[k / 2];
	}
	dot_lanes(q, x->qs, sc16, lanes);
	d = h2f(dd[0]) * x->d;
	for (l = 0; l < 8; l++)
		sums[l] += d * (float)lanes[l];
	/* returned for the caller's running sum: dmin * sum(min * bsums) */
	return h2f(dd[1]) * x->d * (float)summ;
}

static float vec_dot_q4_K(int64_t n, const void *vw, const void *vx)
{
	const struct block_q4_K *w = vw;
	const struct block_q8_K *x = vx;
	int8_t q[QK_K];
	float sums[8] = {0}, sumf = 0.0f;
	uint16_t dd[2];
	int64_t i;
	int l;

	for (i = 0; i < n / QK_K; i++) {
		dd[0] = w[i].d;
		dd[1] = w[i].dmin;
		unpack_q4(w[i].qs, q);
		sumf -= vec_dot_q45_K(dd, w[i].scales, q, &x[i], sums);
	}
	for (l = 0; l < 8; l++)
		sumf += sums[l];
	return sumf;
}

static float vec_dot_q5_K(int64_t n, const void *vw, const void *vx)
{
	const struct block_q5_K *w = vw;
	const struct block_q8_K *x = vx;
	int8_t q[QK_K];
	float sums[8] = {0}, sumf = 0.0f;
	uint16_t dd[2];
	int64_t i;
	int l;

	for (i = 0; i < n / QK_K; i++) {
		dd[0] = w[i].d;
		dd[1] = w[i].dmin;
		unpack_q5_K(&w[i], q);
		sumf -= vec_dot_q45_K(dd, w[i].scales, q, &x[i], sums);
	}
	for (l = 0; l < 8; l++)
		sumf += sums[l];
	return sumf;
}

static float vec_dot_q6_K(int64_t n, const void *vw, const void *vx)
{
	const struct block_q6_K *w = vw;
	const struct block_q8_K *x = vx;
	int8_t q[QK_K];
	int sc[16];
	int32_t lanes[8];
	float sums[8] = {0}, sumf = 0.0f;
	int64_t i;
	int k, l;

	for (i = 0; i < n / QK_K; i++) {
		float d;

		unpack_q6_K(&w[i], q);
		for (k = 0; k < 16; k++)
			sc[k] = w[i].scales[k];
		dot_lanes(q, x[i].qs, sc, lanes);
		d = h2f(w[i].d) * x[i].d;
		for (l = 0; l < 8; l++)
			sums[l] += d * (float)lanes[l];
	}
	for (l = 0; l < 8; l++)
		sumf += sums[l];
	return sumf;
}

/* ---- dot products, AVX2 ---- */

#ifdef LC_QUANT_AVX2
#define LC_AVX2 __attribute__((target("avx2,fma")))

LC_AVX2 static inline float hsum_ps(__m256 v)
{
	__m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));

	s = _mm_add_ps(s, _mm_movehl_ps(s, s));
	s = _mm_add_ss(s, _mm_movehdup_ps(s));
	return _mm_cvtss_f32(s);
}

/* Signed int8 x int8 -> eight int32 partial sums (maddubs needs an unsigned side). */
LC_AVX2 static inline __m256i dot_i8(__m256i a, __m256i b)
{
	const __m256i ua = _mm256_sign_epi8(a, a);
	const __m256i sb = _mm256_sign_epi8(b, a);

	/* |a| <= 128, |b| <= 127 (q8 activations never hold -128): no saturation */
	return _mm256_madd_epi16(_mm256_maddubs_epi16(ua, sb), _mm256_set1_epi16(1));
}

LC_AVX2 static float vec_dot_q8_0_avx2(int64_t n, const void *vw, const void *vx)
{
	const struct block_q8_0 *w = vw;
	const struct block_q8_0 *x = vx;
	__m256 acc = _mm256_setzero_ps();
	int64_t i;

	for (i = 0; i < n / QK; i++) {
		const __m256i a = _mm256_loadu_si256((const __m256i *)(const void *)w[i].qs);
		const __m256i b = _mm256_loadu_si256((const __m256i *)(const void *)x[i].qs);
		const __m256 d = _mm256_set1_ps(h2f(w[i].d) * h2f(x[i].d));

		acc = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(dot_i8(a, b)), acc);
	}
	return hsum_ps(acc);
}

LC_AVX2 static float vec_dot_q4_K_avx2(int64_t n, const void *vw, const void *vx)
{
	const struct block_q4_K *w = vw;
	const struct block_q8_K *x = vx;
	const __m256i m4 = _mm256_set1_epi8(0xf);
	__m256 acc = _mm256_setzero_ps();
	float summin = 0.0f;
	uint8_t sc[8], mn[8];
	int64_t i;
	int c, k;

	for (i = 0; i < n / QK_K; i++) {
		const uint8_t *qs = w[i].qs;
		const int8_t *q8 = x[i].qs;
		__m256i isum = _mm256_setzero_si256();
		int summ = 0;

		unpack_scale_min_k4(w[i].scales, sc, mn);
		for (k = 0; k < 16; k++)
			summ += x[i].bsums[k] * mn[k / 2];
		for (c = 0; c < 4; c++) {
			const __m256i raw =
			        _mm256_loadu_si256((const __m256i *)(const void *)(qs + 32 * c));
			const __m256i lo = _mm256_and_si256(raw, m4);
			const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(raw, 4), m4);
			const __m256i y0 =
			        _mm256_loadu_si256((const __m256i *)(const void *)(q8 + 64 * c));
			const __m256i y1 = _mm256_loadu_si256(
			        (const __m256i *)(const void *)(q8 + 64 * c + 32));
			/* nibbles are unsigned: 15 * 127 * 2 fits int16 */
			const __m256i p0 = _mm256_madd_epi16(_mm256_maddubs_epi16(lo, y0),
			                                     _mm256_set1_epi16(sc[2 * c]));
			const __m256i p1 = _mm256_madd_epi16(_mm256_maddubs_epi16(hi, y1),
			                                     _mm256_set1_epi16(sc[2 * c + 1]));

			isum = _mm256_add_epi32(isum, _mm256_add_epi32(p0, p1));
		}
		acc = _mm256_fmadd_ps(_mm256_set1_ps(h2f(w[i].d) * x[i].d),
		                      _mm256_cvtepi32_ps(isum), acc);
		summin += h2f(w[i].dmin) * x[i].d * (float)summ;
	}
	return hsum_ps(acc) - summin;
}

LC_AVX2 static float vec_dot_q6_K_avx2(int64_t n, const void *vw, const void *vx)
{
	const struct block_q6_K *w = vw;
	const struct block_q8_K *x = vx;
	const __m256i m4 = _mm256_set1_epi8(0xf);
	const __m256i m2 = _mm256_set1_epi8(3);
	__m256 acc = _mm256_setzero_ps();
	int64_t i;
	int h, k;

	for (i = 0; i < n / QK_K; i++) {
		const int8_t *sc = w[i].scales;
		__m256i isum = _mm256_setzero_si256();
		int off = 0;

		/* the -32 offset of every quant, taken out through the block sums */
		for (k = 0; k < 16; k++)
			off += sc[k] * x[i].bsums[k];
		for (h = 0; h < 2; h++) {
			const uint8_t *ql = w[i].ql + 64 * h;
			const __m256i qh = _mm256_loadu_si256(
			        (const __m256i *)(const void *)(w[i].qh + 32 * h));
			const __m256i l0 = _mm256_loadu_si256((const __m256i *)(const void *)ql);
			const __m256i l1 =
			        _mm256_loadu_si256((const __m256i *)(const void *)(ql + 32));
			__m256i q[4];

			q[0] = _mm256_or_si256(_mm256_and_si256(l0, m4),
			                       _mm256_slli_epi16(_mm256_and_si256(qh, m2), 4));
			q[1] = _mm256_or_si256(
			        _mm256_and_si256(l1, m4),
			        _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2), m2),
			                          4));
			q[2] = _mm256_or_si256(
			        _mm256_and_si256(_mm256_srli_epi16(l0, 4), m4),
			        _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 4), m2),
			                          4));
			q[3] = _mm256_or_si256(
			        _mm256_and_si256(_mm256_srli_epi16(l1, 4), m4),
			        _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 6), m2),
			                          4));
			for (k = 0; k < 4; k++) {
				const int8_t *q8 = x[i].qs + 128 * h + 32 * k;
				const __m256i y =
				        _mm256_loadu_si256((const __m256i *)(const void *)q8);
				const int s = 8 * h + 2 * k;
				/* low 128 bits hold elements 0..15 (scale s), high 16..31 (s + 1)
				 */
				const __m256i scv = _mm256_set_m128i(_mm_set1_epi16(sc[s + 1]),
				                                     _mm_set1_epi16(sc[s]));

				/* unsigned 0..63 times int8: 63 * 128 * 2 fits int16 */
				isum = _mm256_add_epi32(
				        isum,
				        _mm256_madd_epi16(_mm256_maddubs_epi16(q[k], y), scv));
			}
		}
		isum = _mm256_sub_epi32(isum, _mm256_setr_epi32(32 * off, 0, 0, 0, 0, 0, 0, 0));
		acc = _mm256_fmadd_ps(_mm256_set1_ps(h2f(w[i].d) * x[i].d),
		                      _mm256_cvtepi32_ps(isum), acc);
	}
	return hsum_ps(acc);
}
#endif

/* ---- kernel table ---- */

#define NO_DOT UINT32_MAX

static struct lc_quant_kernels scalar_kernels[LC_QTYPE_COUNT] = {
        [LC_QTYPE_F32] = {dequantize_f32, vec_dot_f32, LC_QTYPE_F32, from_float_f32},
        [LC_QTYPE_F16] = {dequantize_f16, vec_dot_f16, LC_QTYPE_F16, from_float_f16},
        [LC_QTYPE_BF16] = {dequantize_bf16, vec_dot_bf16, LC_QTYPE_BF16, from_float_bf16},
        [LC_QTYPE_Q4_0] = {dequantize_q4_0, vec_dot_q4_0, LC_QTYPE_Q8_0, lc_quantize_row_q8_0},
        [LC_QTYPE_Q4_1] = {dequantize_q4_1, vec_dot_q4_1, LC_QTYPE_Q8_1, lc_quantize_row_q8_1},
        [LC_QTYPE_Q5_0] = {dequantize_q5_0, vec_dot_q5_0, LC_QTYPE_Q8_0, lc_quantize_row_q8_0},
        [LC_QTYPE_Q5_1] = {dequantize_q5_1, vec_dot_q5_1, LC_QTYPE_Q8_1, lc_quantize_row_q8_1},
        [LC_QTYPE_Q8_0] = {dequantize_q8_0, vec_dot_q8_0, LC_QTYPE_Q8_0, lc_quantize_row_q8_0},
        [LC_QTYPE_Q8_1] = {dequantize_q8_1, NULL, NO_DOT, NULL},
        [LC_QTYPE_Q2_K] = {dequantize_q2_K, vec_dot_q2_K, LC_QTYPE_Q8_K, lc_quantize_row_q8_K},
        [LC_QTYPE_Q3_K] = {dequantize_q3_K, vec_dot_q3_K, LC_QTYPE_Q8_K, lc_quantize_row_q8_K},
        [LC_QTYPE_Q4_K] = {dequantize_q4_K, vec_dot_q4_K, LC_QTYPE_Q8_K, lc_quantize_row_q8_K},
        [LC_QTYPE_Q5_K] = {dequantize_q5_K, vec_dot_q5_K, LC_QTYPE_Q8_K, lc_quantize_row_q8_K},
        [LC_QTYPE_Q6_K] = {dequantize_q6_K, vec_dot_q6_K, LC_QTYPE_Q8_K, lc_quantize_row_q8_K},
        [LC_QTYPE_Q8_K] = {dequantize_q8_K, NULL, NO_DOT, NULL},
};

static struct lc_quant_kernels best_kernels[LC_QTYPE_COUNT];
static pthread_once_t kernels_once = PTHREAD_ONCE_INIT;

static void kernels_init(void)
{
	uint32_t i;

	for (i = 0; i < 1u << 16; i++)
		fp16_table[i] = lc_fp16_to_fp32((uint16_t)i);
	memcpy(best_kernels, scalar_kernels, sizeof(best_kernels));
#ifdef LC_QUANT_AVX2
	__builtin_cpu_init();
	if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
		best_kernels[LC_QTYPE_Q8_0].vec_dot = vec_dot_q8_0_avx2;
		best_kernels[LC_QTYPE_Q4_K].vec_dot = vec_dot_q4_K_avx2;
		best_kernels[LC_QTYPE_Q6_K].vec_dot = vec_dot_q6_K_avx2;
	}
#endif
}

static const struct lc_quant_kernels *kernels_of(struct lc_quant_kernels *table, uint32_t type)
{
	pthread_once(&kernels_once, kernels_init);
	if (type >= LC_QTYPE_COUNT || !table[type].dequantize_row)
		return NULL;
	return &table[type];
}

const struct lc_quant_kernels *lc_quant_kernels(uint32_t type)
{
	return kernels_of(best_kernels, type);
}

const struct lc_quant_kernels *lc_quant_kernels_scalar(uint32_t type)
{
	return kernels_of(scalar_kernels, type);
}

static int check_row(const char *what, uint32_t type, int64_t n)
{
	const char *name = lc_qtype_name(type);
	size_t bs = lc_qtype_block_size(type);

	if (n < 0 || bs == 0 || n % (int64_t)bs != 0)
		return lc_err_set(LC_EPARSE,
		                  "quant: %s of %lld elements of type %s: not a multiple "
		                  "of its block size %zu",
		                  what, (long long)n, name ? name : "?", bs);
	return 0;
}

int lc_dequantize_row(uint32_t type, const void *src, float *dst, int64_t n)
{
	const struct lc_quant_kernels *k = lc_quant_kernels(type);

	if (!k)
		return lc_err_set(LC_EUNSUPPORTED, "quant: cannot dequantize type %u (%s)", type,
		                  lc_qtype_name(type) ? lc_qtype_name(type) : "unknown");
	if (check_row("row", type, n) < 0)
		return LC_EPARSE;
	k->dequantize_row(src, dst, n);
	return 0;
}

uint32_t lc_qtype_vec_dot_type(uint32_t type)
{
	const struct lc_quant_kernels *k = lc_quant_kernels(type);

	return k ? k->vec_dot_type : NO_DOT;
}

size_t lc_quant_dot_row_size(uint32_t type, int64_t n)
{
	const struct lc_quant_kernels *k = lc_quant_kernels(type);

	if (!k || !k->vec_dot || lc_qtype_row_size(type, n) == 0)
		return 0;
	return lc_qtype_row_size(k->vec_dot_type, n);
}

static int dot_kernels(uint32_t type, int64_t n, const struct lc_quant_kernels **out)
{
	const struct lc_quant_kernels *k = lc_quant_kernels(type);

	if (!k || !k->vec_dot)
		return lc_err_set(LC_EUNSUPPORTED, "quant: no dot product for type %u (%s)", type,
		                  lc_qtype_name(type) ? lc_qtype_name(type) : "unknown");
	if (check_row("row", type, n) < 0 || check_row("row", k->vec_dot_type, n) < 0)
		return LC_EPARSE;
	*out = k;
	return 0;
}

int lc_quantize_row_for_dot(uint32_t type, const float *x, void *out, int64_t n)
{
	const struct lc_quant_kernels *k;
	int err = dot_kernels(type, n, &k);

	if (err < 0)
		return err;
	k->from_float(x, out, n);
	return 0;
}

float lc_vec_dot(uint32_t type, int64_t n, const void *w_row, const void *x_q)
{
	const struct lc_quant_kernels *k = lc_quant_kernels(type);

	assert(k && k->vec_dot);
	return k->vec_dot(n, w_row, x_q);
}

/* ---- matrix product ---- */

#define ROW_TILE 16 /* weight rows per tile in lc_matmul_rows */

int lc_matmul_quantize_x(uint32_t type, const float *x, int64_t n_cols, int64_t n_tokens, void *x_q)
{
	const struct lc_quant_kernels *k;
	size_t stride;
	int64_t t;
	int err = dot_kernels(type, n_cols, &k);

	if (err < 0)
		return err;
	stride = lc_qtype_row_size(k->vec_dot_type, n_cols);
	for (t = 0; t < n_tokens; t++)
		k->from_float(x + t * n_cols, (uint8_t *)x_q + (size_t)t * stride, n_cols);
	return 0;
}

void lc_matmul_rows(uint32_t type, const void *w, int64_t n_rows, int64_t n_cols, const void *x_q,
                    int64_t n_tokens, float *y, int64_t row_begin, int64_t row_end)
{
	const struct lc_quant_kernels *k = lc_quant_kernels(type);
	const size_t w_stride = lc_qtype_row_size(type, n_cols);
	size_t x_stride;
	int64_t r0, r, t;

	assert(k && k->vec_dot);
	assert(0 <= row_begin && row_begin <= row_end && row_end <= n_rows);
	x_stride = lc_qtype_row_size(k->vec_dot_type, n_cols);
	/*
	 * Tiles of ROW_TILE weight rows: the tile stays in cache while every
	 * activation row passes over it once, so neither side is re-read from
	 * memory per product.
	 */
	for (r0 = row_begin; r0 < row_end; r0 += ROW_TILE) {
		const int64_t r1 = r0 + ROW_TILE < row_end ? r0 + ROW_TILE : row_end;

		for (t = 0; t < n_tokens; t++) {
			const void *xr = (const uint8_t *)x_q + (size_t)t * x_stride;

			for (r = r0; r < r1; r++)
				y[t * n_rows + r] = k->vec_dot(
				        n_cols, (const uint8_t *)w + (size_t)r * w_stride, xr);
		}
	}
}

int lc_matmul(uint32_t type, const void *w, int64_t n_rows, int64_t n_cols, const float *x,
              int64_t n_tokens, float *y)
{
	const struct lc_quant_kernels *k;
	void *x_q = NULL;
	size_t stride;
	int err = dot_kernels(type, n_cols, &k);

	if (err < 0)
		goto out;
	if (n_rows < 0 || n_tokens < 0) {
		err = lc_err_set(LC_EPARSE, "quant: negative matmul shape");
		goto out;
	}
	if (n_rows == 0 || n_tokens == 0)
		goto out;
	if (n_cols == 0) { /* empty dot products */
		memset(y, 0, (size_t)n_rows * (size_t)n_tokens * sizeof(float));
		goto out;
	}
	stride = lc_qtype_row_size(k->vec_dot_type, n_cols);
	if (stride == 0 || (uint64_t)n_tokens > SIZE_MAX / stride) {
		err = lc_err_set(LC_ETOOBIG, "quant: activation scratch of %lld x %lld too big",
		                 (long long)n_tokens, (long long)n_cols);
		goto out;
	}
	x_q = malloc(stride * (size_t)n_tokens);
	if (!x_q) {
		err = lc_err_set(LC_ENOMEM, "quant: out of memory for activation scratch");
		goto out;
	}
	err = lc_matmul_quantize_x(type, x, n_cols, n_tokens, x_q);
	if (err < 0)
		goto out;
	lc_matmul_rows(type, w, n_rows, n_cols, x_q, n_tokens, y, 0, n_rows);
out:
	free(x_q);
	return err;
}
