/*
 * Tests for runtime/quant.c against tests/quants.py, an independent NumPy
 * implementation written from ggml's block layouts. quants.py writes the
 * fixture (meson custom_target, LC_BUILD_ROOT/tests/quant_fixture.bin):
 * random blocks of every type with NumPy's dequantized values, activations
 * with NumPy's quantization, and float64 reference products. Besides, a few
 * hand-made Q8_0, Q4_1, Q5_1 and Q5_K blocks are checked against values
 * worked out by hand from ggml's layouts (test_known_*), which do not depend
 * on quants.py.
 *
 * Tolerances:
 * - fp16/bf16 conversion and dequantization: exact (bit for bit). Each value
 *   is one fixed sequence of f32 operations (ggml's), which NumPy repeats in
 *   float32, so any difference is a bug.
 * - activation quantization (Q8_0, Q8_1, Q8_K, F16, BF16): exact bytes, same
 *   reason (NumPy repeats ggml's reference quantizers in float32).
 * - vec_dot / matmul vs float64 dot of NumPy-dequantized weights and
 *   NumPy-dequantized quantized activations: the integer part is exact; what
 *   remains is f32 rounding of at most 16 block terms plus the 8-lane sums,
 *   a few ulps each: bounded by TIGHT * sum|w_i * xq_i| with TIGHT = 1e-5
 *   (about 80 f32 ulps). Q4_1/Q5_1 add the rounding of the stored f16
 *   s = d * sum(qs): |m| * sum|xq| * 2^-10 per block.
 * - vs the plain float64 dot with the unquantized activations: the error of
 *   quantizing x, bounded a priori per element (see act_err_bound).
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "runtime/qtype.h"
#include "runtime/quant.h"
#include "src/err.h"
#include "src/file.h"

#include "src/banned.h"

#define TIGHT 1e-5

static char *fixture;
static size_t fixture_len;

/* The record called name in the fixture; fails the test when absent. */
static const void *rec(const char *name, size_t *len)
{
	size_t pos = 8;
	uint32_t count, i;

	memcpy(&count, fixture + 4, 4);
	for (i = 0; i < count; i++) {
		uint16_t nl;
		uint64_t dl;

		assert_true(pos + 2 <= fixture_len);
		memcpy(&nl, fixture + pos, 2);
		assert_true(pos + 2 + nl + 8 <= fixture_len);
		memcpy(&dl, fixture + pos + 2 + nl, 8);
		assert_true(dl <= fixture_len - (pos + 10 + nl));
		if (strlen(name) == nl && memcmp(fixture + pos + 2, name, nl) == 0) {
			*len = (size_t)dl;
			return fixture + pos + 10 + nl;
		}
		pos += 10 + nl + (size_t)dl;
	}
	fail_msg("fixture has no record '%s'", name);
	return NULL;
}

/* The record "<group>/<type>/<field>". */
static const void *recf(size_t *len, const char *group, const char *type, const char *field)
{
	char name[64];

	snprintf(name, sizeof(name), "%s/%s/%s", group, type, field);
	return rec(name, len);
}

static int load_fixture(void **state)
{
	char path[4096];
	const char *root = getenv("LC_BUILD_ROOT");

	snprintf(path, sizeof(path), "%s/tests/quant_fixture.bin", root ? root : ".");
	if (lc_file_read(path, 64u << 20, &fixture, &fixture_len) < 0) {
		fprintf(stderr, "# cannot read %s: %s\n", path, lc_err_msg());
		return -1;
	}
	if (fixture_len < 8 || memcmp(fixture, "LCQF", 4) != 0)
		return -1;
	return 0;
}

static int free_fixture(void **state)
{
	free(fixture);
	return 0;
}

static uint32_t type_of(const char *name)
{
	uint32_t t;

	for (t = 0; t < LC_QTYPE_COUNT; t++)
		if (lc_qtype_name(t) && strcmp(lc_qtype_name(t), name) == 0)
			return t;
	fail_msg("unknown type %s", name);
	return 0;
}

static uint32_t f32_bits(float f)
{
	uint32_t u;

	memcpy(&u, &f, 4);
	return u;
}

static float bits_f32(uint32_t u)
{
	float f;

	memcpy(&f, &u, 4);
	return f;
}

static void dims(int64_t *n_rows, int64_t *n_cols, int64_t *n_tokens)
{
	size_t len;
	const uint8_t *d = rec("dims", &len);
	uint32_t v[3];

	assert_int_equal(len, sizeof(v));
	memcpy(v, d, sizeof(v));
	*n_rows = v[0];
	*n_cols = v[1];
	*n_tokens = v[2];
}

/* A malloc'd copy of a record: records sit at unaligned offsets, blocks need 4. */
static void *load_bytes(const void *p, size_t len)
{
	void *v = malloc(len + 1);

	assert_non_null(v);
	memcpy(v, p, len);
	return v;
}

/* Load n f32 / f64 values from an unaligned record. */
static float *load_f32(const void *p, size_t len, size_t n)
{
	float *v = malloc(n * sizeof(float) + 1);

	assert_non_null(v);
	assert_int_equal(len, n * sizeof(float));
	memcpy(v, p, len);
	return v;
}

static double *load_f64(const void *p, size_t len, size_t n)
{
	double *v = malloc(n * sizeof(double) + 1);

	assert_non_null(v);
	assert_int_equal(len, n * sizeof(double));
	memcpy(v, p, len);
	return v;
}

/* Record dot/<type>/<field> as n f32 or f64 values (an aligned, malloc'd copy). */
static float *dot_f32(const char *type, const char *field, size_t n)
{
	size_t len;
	const void *p = recf(&len, "dot", type, field);

	return load_f32(p, len, n);
}

static double *dot_f64(const char *type, const char *field, size_t n)
{
	size_t len;
	const void *p = recf(&len, "dot", type, field);

	return load_f64(p, len, n);
}

/* ---- fp16 / bf16 ---- */

/* Every one of the 65536 binary16 values, against NumPy's float16 -> float32. */
static void test_fp16_to_fp32_all(void **state)
{
	size_t len;
	const uint8_t *p = rec("fp16/all", &len);
	uint32_t h;

	assert_int_equal(len, 65536 * 4);
	for (h = 0; h < 65536; h++) {
		uint32_t want;
		float got = lc_fp16_to_fp32((uint16_t)h);

		memcpy(&want, p + 4 * h, 4);
		if (isnan(bits_f32(want))) {
			assert_true(isnan(got));
			assert_int_equal(f32_bits(got) >> 31, want >> 31);
		} else if (f32_bits(got) != want) {
			fail_msg("fp16 0x%04x: got 0x%08x, NumPy 0x%08x", h, f32_bits(got), want);
		}
	}
}

/* Edge values and exact midpoints, against NumPy's float32 -> float16 (RNE). */
static void test_fp32_to_fp16_edges(void **state)
{
	size_t len_in, len_out, i, n;
	const uint8_t *in = rec("fp16/in", &len_in);
	const uint8_t *out = rec("fp16/out", &len_out);

	n = len_in / 4;
	assert_int_equal(len_out, 2 * n);
	assert_true(n > 6000);
	for (i = 0; i < n; i++) {
		float x;
		uint16_t want, got;

		memcpy(&x, in + 4 * i, 4);
		memcpy(&want, out + 2 * i, 2);
		got = lc_fp32_to_fp16(x);
		if (got != want)
			fail_msg("fp16 of %a (0x%08x): got 0x%04x, NumPy 0x%04x", (double)x,
			         f32_bits(x), got, want);
	}
	/* NaN: NumPy's payload rules differ, only NaN-ness and sign are the contract */
	assert_true((lc_fp32_to_fp16(bits_f32(0x7fc00000)) & 0x7fff) > 0x7c00);
	assert_true((lc_fp32_to_fp16(bits_f32(0x7f800001)) & 0x7fff) > 0x7c00);
	assert_int_equal(lc_fp32_to_fp16(bits_f32(0xffc00000)) >> 15, 1);
}

/* bf16: values worked out by hand from the bit patterns. */
static void test_bf16_hand_values(void **state)
{
	static const struct {
		uint32_t in;
		uint16_t out;
	} cases[] = {
	        {0x3f800000, 0x3f80}, /* 1.0 */
	        {0x3f808000, 0x3f80}, /* 1 + 2^-8: tie, 0x3f80 is even */
	        {0x3f818000, 0x3f82}, /* tie, 0x3f81 odd: up to even */
	        {0x3f808001, 0x3f81}, /* just above the tie */
	        {0x3f807fff, 0x3f80}, /* just below */
	        {0x80000000, 0x8000}, /* -0 */
	        {0x7f800000, 0x7f80}, /* +Inf */
	        {0xff800000, 0xff80}, /* -Inf */
	        {0x7f7fffff, 0x7f80}, /* FLT_MAX rounds to Inf */
	        {0x00018000, 0x0002}, /* subnormal tie, odd: up */
	        {0x00008000, 0x0000}, /* subnormal tie, even: down */
	        {0x40490fdb, 0x4049}, /* pi -> 3.140625 */
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_int_equal(lc_fp32_to_bf16(bits_f32(cases[i].in)), cases[i].out);
	assert_true(lc_bf16_to_fp32(0x4049) == 3.140625f);
	assert_true(lc_bf16_to_fp32(0xc000) == -2.0f);
	/* NaN stays NaN (a payload only in the low half would be lost without the quiet bit) */
	assert_int_equal(lc_fp32_to_bf16(bits_f32(0x7f800001)), 0x7fc0);
	assert_true(isnan(lc_bf16_to_fp32(0x7fc0)));
}

/*
 * Known answers, independent of tests/quants.py: blocks made by hand and their
 * values worked out by hand from ggml's block layouts (src/ggml-common.h:
 * block_q4_1, block_q5_1, block_q8_0, block_q5_K; element order as ggml's
 * dequantize_row_* in src/ggml-quants.c reads them). Every value is an exact
 * binary fraction, so the comparison is exact. The binary16 scales used:
 *   0x3555 = 2^(13-15) * (1 + 0x155/1024) = 1365/4096 = 0.333251953125
 *   0x3400 = 0.25, 0x3800 = 0.5, 0xBE00 = -1.5, 0xC000 = -2.0
 */
static void check_known(uint32_t type, const uint8_t *block, const int *idx, const float *want,
                        int n_want, int n)
{
	float got[256];
	int i;

	assert_true(n <= 256);
	assert_int_equal(lc_dequantize_row(type, block, got, n), 0);
	for (i = 0; i < n_want; i++)
		if (got[idx ? idx[i] : i] != want[i])
			fail_msg("%s element %d: got %a, want %a", lc_qtype_name(type),
			         idx ? idx[i] : i, (double)got[idx ? idx[i] : i], (double)want[i]);
	/* The portable kernel too, where a faster one is chosen at run time. */
	lc_quant_kernels_scalar(type)->dequantize_row(block, got, n);
	for (i = 0; i < n_want; i++)
		if (got[idx ? idx[i] : i] != want[i])
			fail_msg("%s scalar element %d: got %a, want %a", lc_qtype_name(type),
			         idx ? idx[i] : i, (double)got[idx ? idx[i] : i], (double)want[i]);
}

/* block_q8_0: d (binary16), qs[32] int8; y[j] = qs[j] * d. */
static void test_known_q8_0(void **state)
{
	static const int8_t qs[32] = {-128, -127, -64, -10, -3, -2, -1,  0,   1,   2,    3,
	                              5,    7,    10,  31,  63, 64, 100, 126, 127, -100, -50,
	                              -25,  -12,  12,  25,  50, 99, 42,  -42, 17,  -17};
	/* y[1] = -127 * 1365/4096 = -173355/4096 = -42.322998046875 */
	static const float want[32] = {
	        -42.65625f,       -42.322998046875f, -21.328125f,      -3.33251953125f,
	        -0.999755859375f, -0.66650390625f,   -0.333251953125f, 0.0f,
	        0.333251953125f,  0.66650390625f,    0.999755859375f,  1.666259765625f,
	        2.332763671875f,  3.33251953125f,    10.330810546875f, 20.994873046875f,
	        21.328125f,       33.3251953125f,    41.98974609375f,  42.322998046875f,
	        -33.3251953125f,  -16.66259765625f,  -8.331298828125f, -3.9990234375f,
	        3.9990234375f,    8.331298828125f,   16.66259765625f,  32.991943359375f,
	        13.99658203125f,  -13.99658203125f,  5.665283203125f,  -5.665283203125f};
	uint8_t block[34] = {0x55, 0x35}; /* d = 0x3555, little-endian */

	memcpy(block + 2, qs, 32);
	check_known(LC_QTYPE_Q8_0, block, NULL, want, 32, 32);
}

/*
 * block_q4_1: d, m (binary16), qs[16]; y[j] = (qs[j] & 15) * d + m and
 * y[j + 16] = (qs[j] >> 4) * d + m. Here qs[j] = j | (15 - j) << 4.
 */
static void test_known_q4_1(void **state)
{
	static const uint8_t block[20] = {0x55, 0x35, 0x00, 0xbe, 0xf0, 0xe1, 0xd2,
	                                  0xc3, 0xb4, 0xa5, 0x96, 0x87, 0x78, 0x69,
	                                  0x5a, 0x4b, 0x3c, 0x2d, 0x1e, 0x0f};
	/* y[17]: qs[1] = 0xe1, high nibble 14: 14 * 1365/4096 - 1.5 = 4.66552734375 - 1.5 */
	static const float want[32] = {-1.5f,
	                               -1.166748046875f,
	                               -0.83349609375f,
	                               -0.500244140625f,
	                               -0.1669921875f,
	                               0.166259765625f,
	                               0.49951171875f,
	                               0.832763671875f,
	                               1.166015625f,
	                               1.499267578125f,
	                               1.83251953125f,
	                               2.165771484375f,
	                               2.4990234375f,
	                               2.832275390625f,
	                               3.16552734375f,
	                               3.498779296875f,
	                               3.498779296875f,
	                               3.16552734375f,
	                               2.832275390625f,
	                               2.4990234375f,
	                               2.165771484375f,
	                               1.83251953125f,
	                               1.499267578125f,
	                               1.166015625f,
	                               0.832763671875f,
	                               0.49951171875f,
	                               0.166259765625f,
	                               -0.1669921875f,
	                               -0.500244140625f,
	                               -0.83349609375f,
	                               -1.166748046875f,
	                               -1.5f};

	check_known(LC_QTYPE_Q4_1, block, NULL, want, 32, 32);
}

/*
 * block_q5_1: d, m (binary16), qh (uint32, little-endian), qs[16]; bit j of qh
 * is the fifth bit of y[j], bit j + 16 that of y[j + 16]:
 * y[j] = ((qs[j] & 15) | bit_j << 4) * d + m, y[j + 16] likewise with qs[j] >> 4.
 * Here d = 0.5, m = -2, qh = 0xaa55f00f, qs[j] = (3j & 15) | ((j + 5) & 15) << 4.
 */
static void test_known_q5_1(void **state)
{
	static const uint8_t block[24] = {0x00, 0x38, 0x00, 0xc0, 0x0f, 0xf0, 0x55, 0xaa,
	                                  0x50, 0x63, 0x76, 0x89, 0x9c, 0xaf, 0xb2, 0xc5,
	                                  0xd8, 0xeb, 0xfe, 0x01, 0x14, 0x27, 0x3a, 0x4d};
	/*
	 * y[0]: low nibble of 0x50 is 0, bit 0 of qh set: 16 * 0.5 - 2 = 6.
	 * y[16]: high nibble 5, bit 16 (bit 0 of 0x55) set: 21 * 0.5 - 2 = 8.5.
	 * y[6]: low nibble of 0xb2 is 2, bit 6 clear: 2 * 0.5 - 2 = -1.
	 */
	static const float want[32] = {6.0f, 7.5f,  9.0f, 10.5f, 4.0f,  5.5f, -1.0f, 0.5f,
	                               2.0f, 3.5f,  5.0f, -1.5f, 8.0f,  9.5f, 11.0f, 12.5f,
	                               8.5f, 1.0f,  9.5f, 2.0f,  10.5f, 3.0f, 11.5f, 4.0f,
	                               4.5f, 13.0f, 5.5f, 6.0f,  -1.5f, 7.0f, -0.5f, 8.0f};

	check_known(LC_QTYPE_Q5_1, block, NULL, want, 32, 32);
}

/*
 * block_q5_K: d, dmin (binary16), scales[12], qh[32], qs[128]. Sub-block s
 * (32 values) has a 6-bit scale sc_s and min m_s packed in scales: for s < 4,
 * sc = scales[s] & 63, m = scales[s + 4] & 63; for s >= 4, the low 4 bits in
 * scales[s + 4] (sc low nibble, m high nibble) and the top 2 bits in the top
 * bits of scales[s - 4] (sc) and scales[s] (m). Chunk c = 0..3 holds
 * sub-blocks 2c (low nibbles of qs[32c + l]) and 2c + 1 (high nibbles); the
 * fifth bit of value l of sub-block s is bit s of qh[l]:
 *     y[32s + l] = d * sc_s * (nibble + 16 * bit) - dmin * m_s.
 * Here d = 0.25, dmin = 0.5, sc = {1, 2, 3, 4, 17, 33, 50, 63}, m = {0, 1, 5,
 * 10, 20, 40, 48, 63}, qs[i] = (5i & 15) | ((3i + 1) & 15) << 4, qh[l] = 37l
 * mod 256; 4 values of each sub-block are checked.
 */
static void test_known_q5_K(void **state)
{
	static const uint8_t scales[12] = {0x41, 0x82, 0xc3, 0xc4, 0x40, 0x81,
	                                   0xc5, 0xca, 0x41, 0x81, 0x02, 0xff};
	static const int idx[32] = {0,   5,   17,  31,  32,  37,  49,  63,  64,  69,  81,
	                            95,  96,  101, 113, 127, 128, 133, 145, 159, 160, 165,
	                            177, 191, 192, 197, 209, 223, 224, 229, 241, 255};
	/*
	 * y[133]: s = 4, l = 5, chunk 2, low nibble of qs[69] = (345 & 15) = 9;
	 * qh[5] = 185 = 0b10111001, bit 4 set: q = 25. sc_4 = (scales[8] & 15) |
	 * (scales[0] >> 6) << 4 = 1 | 16 = 17, m_4 = (scales[8] >> 4) |
	 * (scales[4] >> 6) << 4 = 4 | 16 = 20: 0.25 * 17 * 25 - 0.5 * 20 = 96.25.
	 * y[37]: s = 1, l = 5, high nibble of qs[5] = 0, bit 1 of 185 clear;
	 * sc_1 = 2, m_1 = 1: 0.25 * 2 * 0 - 0.5 * 1 = -0.5.
	 */
	static const float want[32] = {0.0f,    6.25f,  5.25f,  6.75f,  0.0f,   -0.5f,   1.5f,
	                               14.5f,   -2.5f,  4.25f,  13.25f, 5.75f,  -4.0f,   11.0f,
	                               -1.0f,   25.0f,  -10.0f, 96.25f, 79.25f, 104.75f, -11.75f,
	                               112.0f,  145.0f, 227.5f, -24.0f, 88.5f,  238.5f,  313.5f,
	                               -15.75f, 220.5f, 31.5f,  189.0f};
	uint8_t block[176] = {0x00, 0x34, 0x00, 0x38};
	int i;

	memcpy(block + 4, scales, 12);
	for (i = 0; i < 32; i++)
		block[16 + i] = (uint8_t)(37 * i);
	for (i = 0; i < 128; i++)
		block[48 + i] = (uint8_t)(((5 * i) & 15) | (((3 * i + 1) & 15) << 4));
	check_known(LC_QTYPE_Q5_K, block, idx, want, 32, 256);
}

/* ---- per type ---- */

static void test_dequantize(void **state)
{
	const char *name = *state;
	uint32_t type = type_of(name);
	size_t raw_len, f_len, n, i;
	const void *raw_rec = recf(&raw_len, "deq", name, "raw");
	const uint8_t *want = recf(&f_len, "deq", name, "f32");
	void *raw = load_bytes(raw_rec, raw_len);
	float *got;

	n = f_len / 4;
	assert_int_equal(lc_qtype_row_size(type, (int64_t)n), raw_len);
	got = malloc(n * sizeof(float));
	assert_non_null(got);
	assert_int_equal(lc_dequantize_row(type, raw, got, (int64_t)n), 0);
	for (i = 0; i < n; i++) {
		uint32_t w;

		memcpy(&w, want + 4 * i, 4);
		if (f32_bits(got[i]) != w)
			fail_msg("%s element %zu: got %a, NumPy %a", name, i, (double)got[i],
			         (double)bits_f32(w));
	}
	free(got);
	free(raw);
}

/* The activation row in the vec-dot type, byte for byte as NumPy's. */
static void test_quantize_for_dot(void **state)
{
	const char *name = *state;
	uint32_t type = type_of(name);
	int64_t n_rows, n_cols, n_tokens, t;
	size_t x_len, xq_len, row;
	const void *xp = recf(&x_len, "dot", name, "x");
	const uint8_t *want = recf(&xq_len, "dot", name, "xq");
	float *x;
	uint8_t *got;

	dims(&n_rows, &n_cols, &n_tokens);
	x = load_f32(xp, x_len, (size_t)(n_tokens * n_cols));
	row = lc_quant_dot_row_size(type, n_cols);
	assert_int_equal(row * (size_t)n_tokens, xq_len);
	got = malloc(xq_len);
	assert_non_null(got);
	for (t = 0; t < n_tokens; t++)
		assert_int_equal(
		        lc_quantize_row_for_dot(type, x + t * n_cols, got + t * row, n_cols), 0);
	for (size_t i = 0; i < xq_len; i++)
		if (got[i] != want[i])
			fail_msg("%s activation byte %zu (row size %zu): got 0x%02x, NumPy 0x%02x",
			         name, i, row, got[i], want[i]);
	free(got);
	free(x);
}

/*
 * A priori bound on |x_i - xq_i| for one element, from the unquantized row.
 * Q8_0/Q8_1: q = round(x / d) with d = amax / 127 in f32 (error <= d / 2),
 * then d is stored as f16 (relative error <= 2^-11, times |q| <= 127):
 * 0.5 d + 127 * 2^-11 d < 0.57 d. Q8_K keeps d in f32: 0.5 d (+ f32 ulps).
 * F16: 2^-11 |x|; BF16: 2^-8 |x|; F32: 0.
 */
static double act_err_bound(uint32_t vdt, const float *x, int64_t i)
{
	int64_t b, j, bs = (int64_t)lc_qtype_block_size(vdt);
	double amax = 0;

	switch (vdt) {
	case LC_QTYPE_F32:
		return 0;
	case LC_QTYPE_F16:
		return ldexp(fabs(x[i]), -11);
	case LC_QTYPE_BF16:
		return ldexp(fabs(x[i]), -8);
	default:
		break;
	}
	b = i / bs * bs;
	for (j = b; j < b + bs; j++)
		amax = fmax(amax, fabs(x[j]));
	return (vdt == LC_QTYPE_Q8_K ? 0.501 : 0.57) * amax / 127;
}

/* TIGHT tolerance of one product of weight row r and activation row t. */
static double tight_tol(uint32_t type, const uint8_t *wrow, const float *wf, const float *xqf,
                        int64_t n)
{
	double tol = 0, sum_abs = 0;
	int64_t i, b;

	for (i = 0; i < n; i++)
		sum_abs += fabs((double)wf[i] * xqf[i]);
	tol = TIGHT * sum_abs + 1e-30;
	if (type == LC_QTYPE_Q4_1 || type == LC_QTYPE_Q5_1) {
		size_t bsz = lc_qtype_type_size(type);

		for (b = 0; b < n / 32; b++) {
			uint16_t mh;
			double sx = 0;

			memcpy(&mh, wrow + (size_t)b * bsz + 2, 2);
			for (i = 32 * b; i < 32 * b + 32; i++)
				sx += fabs(xqf[i]);
			tol += fabs(lc_fp16_to_fp32(mh)) * sx * ldexp(1, -10);
		}
	}
	return tol;
}

static void test_vec_dot(void **state)
{
	const char *name = *state;
	uint32_t type = type_of(name);
	uint32_t vdt = lc_qtype_vec_dot_type(type);
	int64_t n_rows, n_cols, n_tokens, r, t, i;
	size_t len, w_stride, x_stride;
	const uint8_t *w_rec = recf(&len, "dot", name, "w");
	uint8_t *w = load_bytes(w_rec, len), *xq;
	const void *xq_rec;
	float *wf, *x, *xqf;
	double *ref_q, *ref_x;
	const struct lc_quant_kernels *scalar = lc_quant_kernels_scalar(type);
	double worst = 0, worst_x = 0, simd = 0;

	dims(&n_rows, &n_cols, &n_tokens);
	w_stride = lc_qtype_row_size(type, n_cols);
	x_stride = lc_quant_dot_row_size(type, n_cols);
	assert_int_equal(len, w_stride * (size_t)n_rows);
	wf = dot_f32(name, "w_f32", (size_t)(n_rows * n_cols));
	x = dot_f32(name, "x", (size_t)(n_tokens * n_cols));
	xq_rec = recf(&len, "dot", name, "xq");
	xq = load_bytes(xq_rec, len);
	assert_int_equal(len, x_stride * (size_t)n_tokens);
	xqf = dot_f32(name, "xq_f32", (size_t)(n_tokens * n_cols));
	ref_q = dot_f64(name, "ref_q", (size_t)(n_tokens * n_rows));
	ref_x = dot_f64(name, "ref_x", (size_t)(n_tokens * n_rows));
	assert_non_null(scalar);

	for (t = 0; t < n_tokens; t++)
		for (r = 0; r < n_rows; r++) {
			const uint8_t *wr = w + (size_t)r * w_stride;
			const uint8_t *xr = xq + (size_t)t * x_stride;
			const float *wfr = wf + r * n_cols, *xfr = xqf + t * n_cols;
			double tol = tight_tol(type, wr, wfr, xfr, n_cols);
			double got = lc_vec_dot(type, n_cols, wr, xr);
			double got_scalar = scalar->vec_dot(n_cols, wr, xr);
			double want = ref_q[t * n_rows + r], bound = tol;

			worst = fmax(worst, fmax(fabs(got - want), fabs(got_scalar - want)) / tol);
			simd = fmax(simd, fabs(got - got_scalar) / tol);
			if (fabs(got - want) > tol || fabs(got_scalar - want) > tol)
				fail_msg("%s [%lld,%lld]: got %.9g (scalar %.9g), float64 %.9g, "
				         "tol %.3g",
				         name, (long long)t, (long long)r, got, got_scalar, want,
				         tol);
			for (i = 0; i < n_cols; i++)
				bound += fabs(wfr[i]) * act_err_bound(vdt, x + t * n_cols, i);
			want = ref_x[t * n_rows + r];
			worst_x = fmax(worst_x, fabs(got - want) / bound);
			if (fabs(got - want) > bound)
				fail_msg("%s [%lld,%lld]: got %.9g, plain float64 %.9g, bound %.3g",
				         name, (long long)t, (long long)r, got, want, bound);
		}
	free(wf);
	free(x);
	free(xqf);
	/* how much of each tolerance was used, for the record */
	printf("# %s: |err|/tol %.3f (vs float64 of quantized x), %.3f (vs plain x); "
	       "|best-scalar|/tol %.3f\n",
	       name, worst, worst_x, simd);
	free(ref_q);
	free(ref_x);
	free(w);
	free(xq);
}

static void test_matmul(void **state)
{
	const char *name = *state;
	uint32_t type = type_of(name);
	int64_t n_rows, n_cols, n_tokens, r, t;
	size_t len, w_stride, x_stride;
	const uint8_t *w_rec = recf(&len, "dot", name, "w");
	uint8_t *w = load_bytes(w_rec, len), *xq;
	float *wf, *x, *xqf, *y, *y2;
	double *ref_q;

	dims(&n_rows, &n_cols, &n_tokens);
	w_stride = lc_qtype_row_size(type, n_cols);
	x_stride = lc_quant_dot_row_size(type, n_cols);
	wf = dot_f32(name, "w_f32", (size_t)(n_rows * n_cols));
	x = dot_f32(name, "x", (size_t)(n_tokens * n_cols));
	xqf = dot_f32(name, "xq_f32", (size_t)(n_tokens * n_cols));
	ref_q = dot_f64(name, "ref_q", (size_t)(n_tokens * n_rows));
	y = malloc((size_t)(n_tokens * n_rows) * sizeof(float));
	y2 = malloc((size_t)(n_tokens * n_rows) * sizeof(float));
	xq = malloc(x_stride * (size_t)n_tokens);
	assert_non_null(y);
	assert_non_null(y2);
	assert_non_null(xq);

	assert_int_equal(lc_matmul(type, w, n_rows, n_cols, x, n_tokens, y), 0);
	for (t = 0; t < n_tokens; t++)
		for (r = 0; r < n_rows; r++) {
			double tol = tight_tol(type, w + (size_t)r * w_stride, wf + r * n_cols,
			                       xqf + t * n_cols, n_cols);
			double want = ref_q[t * n_rows + r];

			if (fabs(y[t * n_rows + r] - want) > tol)
				fail_msg("%s matmul [%lld,%lld]: got %.9g, float64 %.9g", name,
				         (long long)t, (long long)r, (double)y[t * n_rows + r],
				         want);
		}

	/* split into two row ranges, as a thread pool would: the same bits */
	memset(y2, 0xff, (size_t)(n_tokens * n_rows) * sizeof(float));
	assert_int_equal(lc_matmul_quantize_x(type, x, n_cols, n_tokens, xq), 0);
	lc_matmul_rows(type, w, n_rows, n_cols, xq, n_tokens, y2, 3, n_rows);
	lc_matmul_rows(type, w, n_rows, n_cols, xq, n_tokens, y2, 0, 3);
	assert_memory_equal(y, y2, (size_t)(n_tokens * n_rows) * sizeof(float));

	free(wf);
	free(x);
	free(xqf);
	free(ref_q);
	free(y);
	free(y2);
	free(xq);
	free(w);
}

/* ---- contract details ---- */

static void test_vec_dot_types(void **state)
{
	/* ggml-cpu's type_traits_cpu[].vec_dot_type */
	assert_int_equal(lc_qtype_vec_dot_type(LC_QTYPE_F32), LC_QTYPE_F32);
	assert_int_equal(lc_qtype_vec_dot_type(LC_QTYPE_F16), LC_QTYPE_F16);
	assert_int_equal(lc_qtype_vec_dot_type(LC_QTYPE_BF16), LC_QTYPE_BF16);
	assert_int_equal(lc_qtype_vec_dot_type(LC_QTYPE_Q4_0), LC_QTYPE_Q8_0);
	assert_int_equal(lc_qtype_vec_dot_type(LC_QTYPE_Q5_0), LC_QTYPE_Q8_0);
	assert_int_equal(lc_qtype_vec_dot_type(LC_QTYPE_Q8_0), LC_QTYPE_Q8_0);
	assert_int_equal(lc_qtype_vec_dot_type(LC_QTYPE_Q4_1), LC_QTYPE_Q8_1);
	assert_int_equal(lc_qtype_vec_dot_type(LC_QTYPE_Q5_1), LC_QTYPE_Q8_1);
	assert_int_equal(lc_qtype_vec_dot_type(LC_QTYPE_Q2_K), LC_QTYPE_Q8_K);
	assert_int_equal(lc_qtype_vec_dot_type(LC_QTYPE_Q6_K), LC_QTYPE_Q8_K);
	assert_int_equal(lc_qtype_vec_dot_type(LC_QTYPE_I32), UINT32_MAX);
	assert_int_equal(lc_quant_dot_row_size(LC_QTYPE_Q4_K, 512), 2 * 292);
	assert_int_equal(lc_quant_dot_row_size(LC_QTYPE_Q4_1, 64), 2 * 36);
	assert_int_equal(lc_quant_dot_row_size(LC_QTYPE_Q4_K, 100), 0);
	assert_null(lc_quant_kernels(LC_QTYPE_I8));
}

/*
 * Every ggml type id has its name (ggml's include/ggml.h), and "supported"
 * means exactly that runtime/quant.c can dequantize the type and take its dot
 * product: what the model loader needs of a weight.
 */
static void test_type_table(void **state)
{
	uint32_t t;

	for (t = 0; t < LC_QTYPE_COUNT; t++) {
		const struct lc_quant_kernels *k = lc_quant_kernels(t);

		if (!lc_qtype_name(t))
			fail_msg("type %u has no name", t);
		if (lc_qtype_is_supported(t) != (k && k->vec_dot))
			fail_msg("type %s: supported %d, kernels %s", lc_qtype_name(t),
			         lc_qtype_is_supported(t), k ? "some" : "none");
	}
	assert_null(lc_qtype_name(LC_QTYPE_COUNT));
	assert_int_equal(lc_qtype_is_supported(LC_QTYPE_COUNT), 0);
	assert_string_equal(lc_qtype_name(19), "IQ1_S");
	assert_string_equal(lc_qtype_name(34), "TQ1_0");
	assert_string_equal(lc_qtype_name(31), "Q4_0_4_4");
	/* ggml-common.h: block_iq2_xxs is 2 + 2 * 32 bytes, block_iq4_nl 2 + 16 for 32. */
	assert_int_equal(lc_qtype_row_size(LC_QTYPE_IQ2_XXS, 512), 2 * 66);
	assert_int_equal(lc_qtype_row_size(LC_QTYPE_IQ4_NL, 64), 2 * 18);
	assert_int_equal(lc_qtype_row_size(LC_QTYPE_Q4_0_4_4, 32), 0);
}

static void test_errors(void **state)
{
	float x[64] = {0}, y[64];
	uint8_t buf[512] = {0};

	lc_err_clear();
	assert_int_equal(lc_dequantize_row(LC_QTYPE_Q4_0, buf, y, 33), LC_EPARSE);
	assert_non_null(strstr(lc_err_msg(), "Q4_0"));
	lc_err_clear();
	assert_int_equal(lc_dequantize_row(5, buf, y, 32), LC_EUNSUPPORTED);
	lc_err_clear();
	assert_int_equal(lc_matmul(LC_QTYPE_Q8_K, buf, 1, 256, x, 1, y), LC_EUNSUPPORTED);
	lc_err_clear();
	assert_int_equal(lc_matmul(LC_QTYPE_Q4_K, buf, 1, 64, x, 1, y), LC_EPARSE);
	lc_err_clear();
	assert_int_equal(lc_quantize_row_for_dot(LC_QTYPE_Q8_0, x, buf, 48), LC_EPARSE);
	lc_err_clear();
}

/* A zero row: ggml leaves d = 0; every quant and block sum must be 0. */
static void test_q8_K_zero_row(void **state)
{
	float x[256] = {0};
	uint8_t out[292], zero[292] = {0};

	memset(out, 0xaa, sizeof(out));
	lc_quantize_row_q8_K(x, out, 256);
	assert_memory_equal(out, zero, sizeof(out));
}

/* Q8_1: s must be d * sum(qs) as f16 (hand example: all x = 1 -> q = 127, d = 1/127). */
static void test_q8_1_hand(void **state)
{
	float x[32];
	uint8_t out[36];
	uint16_t d, s;
	int i;

	for (i = 0; i < 32; i++)
		x[i] = 1.0f;
	lc_quantize_row_q8_1(x, out, 32);
	memcpy(&d, out, 2);
	memcpy(&s, out + 2, 2);
	assert_int_equal(d, lc_fp32_to_fp16(1.0f / 127.0f));
	/* sum = 32 * 127 = 4064; 4064 * (1/127) = 32 in f32 (f16 0x5000) */
	assert_int_equal(s, 0x5000);
	for (i = 0; i < 32; i++)
		assert_int_equal((int8_t)out[4 + i], 127);
}

static const char *const weight_types[] = {"F32",  "F16",  "BF16", "Q8_0", "Q4_0", "Q4_1", "Q5_0",
                                           "Q5_1", "Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K"};
static const char *const extra_types[] = {"Q8_1", "Q8_K"};

#define N_WEIGHT (sizeof(weight_types) / sizeof(weight_types[0]))
#define N_EXTRA  (sizeof(extra_types) / sizeof(extra_types[0]))

int main(void)
{
	static char names[4][N_WEIGHT + N_EXTRA][48];
	struct CMUnitTest tests[8 + 4 * (N_WEIGHT + N_EXTRA)];
	size_t n = 0, i;
	const struct CMUnitTest fixed[] = {
	        cmocka_unit_test(test_fp16_to_fp32_all), cmocka_unit_test(test_fp32_to_fp16_edges),
	        cmocka_unit_test(test_bf16_hand_values), cmocka_unit_test(test_vec_dot_types),
	        cmocka_unit_test(test_type_table),       cmocka_unit_test(test_errors),
	        cmocka_unit_test(test_known_q8_0),       cmocka_unit_test(test_known_q4_1),
	        cmocka_unit_test(test_known_q5_1),       cmocka_unit_test(test_known_q5_K),
	        cmocka_unit_test(test_q8_K_zero_row),    cmocka_unit_test(test_q8_1_hand),
	};

	for (i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		tests[n++] = fixed[i];
	for (i = 0; i < N_WEIGHT + N_EXTRA; i++) {
		const char *t = i < N_WEIGHT ? weight_types[i] : extra_types[i - N_WEIGHT];
		void (*fns[3])(void **) = {test_dequantize, test_quantize_for_dot, test_vec_dot};
		static const char *const what[3] = {"dequantize", "quantize_for_dot", "vec_dot"};
		size_t k;

		for (k = 0; k < 3; k++) {
			if (k > 0 && i >= N_WEIGHT)
				break;
			snprintf(names[k][i], sizeof(names[k][i]), "%s %s", what[k], t);
			tests[n++] =
			        (struct CMUnitTest){names[k][i], fns[k], NULL, NULL, (void *)t};
		}
		if (i < N_WEIGHT) {
			snprintf(names[3][i], sizeof(names[3][i]), "matmul %s", t);
			tests[n++] = (struct CMUnitTest){names[3][i], test_matmul, NULL, NULL,
			                                 (void *)t};
		}
	}
	cmocka_set_message_output(CM_OUTPUT_TAP);
	return _cmocka_run_group_tests("quant", tests, n, load_fixture, free_fixture);
}
