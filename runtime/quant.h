/*
 * quant.h - tensor element types: conversion, dequantization, dot products
 * and the matrix product the forward pass calls.
 *
 * Source: ggml. Block layouts are those of ggml's src/ggml-common.h
 * (QK4_0 = QK8_0 = 32, QK_K = 256); the arithmetic of dequantization is that
 * of ggml's dequantize_row_* (src/ggml-quants.c), activation quantization that
 * of quantize_row_q8_0_ref / q8_1_ref / q8_K_ref, and the dot products follow
 * the integer arithmetic and summation order of ggml-cpu's generic (scalar)
 * ggml_vec_dot_* so results agree closely with llama.cpp on the same file.
 *
 * Supported weight types: F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1,
 * Q2_K, Q3_K, Q4_K, Q5_K, Q6_K. A row of n elements of a block type needs n to
 * be a multiple of the block size (32, or 256 for the K types).
 *
 * "vec-dot type": to take a dot product with a weight row, the f32 activation
 * row is first converted to the type ggml-cpu pairs with the weight type
 * (type_traits_cpu[].vec_dot_type):
 *   Q4_0, Q5_0, Q8_0 -> Q8_0     Q4_1, Q5_1 -> Q8_1     Q2_K..Q6_K -> Q8_K
 *   F32 -> F32                   F16 -> F16             BF16 -> BF16
 *
 * Every function here is thread-safe: none keeps state between calls (the
 * kernel table is filled once, by the first call, under pthread_once).
 * Nothing here prints or aborts; bad arguments that a caller cannot validate
 * in advance (unknown type, n not a multiple of the block size) return
 * LC_EUNSUPPORTED / LC_EPARSE with a message in the error slot.
 */
#ifndef LC_QUANT_H
#define LC_QUANT_H

#include <stddef.h>
#include <stdint.h>

/* ---- scalar conversions (IEEE 754 binary16 and bfloat16) ---- */

/* Exact: every binary16 value, subnormals, infinities and NaNs included. */
float lc_fp16_to_fp32(uint16_t h);

/*
 * Round to nearest, ties to even. Overflow gives +-Inf, results below the
 * smallest subnormal round to +-0, NaN stays a (quiet) NaN with its sign.
 * Matches NumPy's np.float32(x).astype(np.float16).
 */
uint16_t lc_fp32_to_fp16(float f);

/* Exact: the 16 bits become the top half of an f32. */
float lc_bf16_to_fp32(uint16_t h);

/*
 * Round to nearest, ties to even (as ggml's ggml_compute_fp32_to_bf16); NaN
 * stays a quiet NaN with its sign.
 */
uint16_t lc_fp32_to_bf16(float f);

/* ---- rows ---- */

/*
 * Dequantize a row: src holds lc_qtype_row_size(type, n) bytes, dst receives
 * n f32 values. Returns 0, LC_EUNSUPPORTED for a type not listed above, or
 * LC_EPARSE when n is not a multiple of the block size (dst untouched).
 */
int lc_dequantize_row(uint32_t type, const void *src, float *dst, int64_t n);

/*
 * Activation quantizers, as ggml's *_ref versions. x: n f32 values, n a
 * multiple of 32 (Q8_0, Q8_1) or 256 (Q8_K); y: lc_qtype_row_size(Q8_x, n)
 * bytes. Q8_0 block: f16 d, int8 qs[32]. Q8_1 block: f16 d, f16 s, int8
 * qs[32] with s = d * sum(qs). Q8_K block: f32 d, int8 qs[256], int16
 * bsums[16] (sums of qs in groups of 16). Asserts on a bad n.
 */
void lc_quantize_row_q8_0(const float *x, void *y, int64_t n);
void lc_quantize_row_q8_1(const float *x, void *y, int64_t n);
void lc_quantize_row_q8_K(const float *x, void *y, int64_t n);

/*
 * The vec-dot type of weight type `type` (table above), or UINT32_MAX for a
 * type without a dot kernel.
 */
uint32_t lc_qtype_vec_dot_type(uint32_t type);

/*
 * Bytes of an activation row of n elements converted for weight type `type`
 * (= lc_qtype_row_size(lc_qtype_vec_dot_type(type), n)); 0 when the type has
 * no kernel or n is not a multiple of the block size.
 */
size_t lc_quant_dot_row_size(uint32_t type, int64_t n);

/*
 * Convert an f32 activation row x (n values) into the vec-dot type of weight
 * type `type`; out holds lc_quant_dot_row_size(type, n) bytes. Returns 0,
 * LC_EUNSUPPORTED or LC_EPARSE (as lc_dequantize_row).
 */
int lc_quantize_row_for_dot(uint32_t type, const float *x, void *out, int64_t n);

/*
 * Dot product of one weight row (n elements of `type`) with one activation
 * row x_q already converted by lc_quantize_row_for_dot(type, ...). n must be a
 * multiple of the block size and type supported (asserted: this is the inner
 * loop). Uses the best kernel for this CPU (see lc_quant_kernels).
 */
float lc_vec_dot(uint32_t type, int64_t n, const void *w_row, const void *x_q);

/* ---- kernel table: what a SIMD kernel or a thread pool replaces ---- */

typedef void (*lc_dequantize_row_fn)(const void *src, float *dst, int64_t n);
typedef void (*lc_from_float_fn)(const float *x, void *y, int64_t n);
typedef float (*lc_vec_dot_fn)(int64_t n, const void *w_row, const void *x_q);

struct lc_quant_kernels {
	lc_dequantize_row_fn dequantize_row; /* type -> f32 */
	lc_vec_dot_fn vec_dot;               /* row of type . row of vec_dot_type */
	uint32_t vec_dot_type;               /* enum lc_qtype */
	lc_from_float_fn from_float;         /* f32 -> vec_dot_type */
};

/*
 * The kernels for weight type `type`, or NULL when it has none. The
 * returned table is static (valid for the life of the process).
 * lc_quant_kernels() picks SIMD kernels where this CPU has them (AVX2 for the
 * vec_dot of Q8_0, Q4_K, Q6_K: results differ from the scalar kernel only by
 * f32 summation order, relative error below 1e-5 of sum|w*x|);
 * lc_quant_kernels_scalar() always gives the portable scalar kernels.
 */
const struct lc_quant_kernels *lc_quant_kernels(uint32_t type);
const struct lc_quant_kernels *lc_quant_kernels_scalar(uint32_t type);

/* ---- matrix product ---- */

/*
 * y = x . w^T, the product of every token with every weight row.
 *   w: (n_rows, n_cols) of `type`, rows contiguous, row stride
 *      lc_qtype_row_size(type, n_cols) bytes
 *   x: (n_tokens, n_cols) f32, row-major
 *   y: (n_tokens, n_rows) f32, row-major
 * Each activation row is quantized once into a scratch buffer allocated here
 * (n_tokens * lc_quant_dot_row_size(type, n_cols) bytes, freed before
 * return), then lc_matmul_rows() runs over all rows. Returns 0,
 * LC_EUNSUPPORTED (type), LC_EPARSE (n_cols not a multiple of the block
 * size), LC_ETOOBIG (size overflow) or LC_ENOMEM; y is untouched on failure.
 */
int lc_matmul(uint32_t type, const void *w, int64_t n_rows, int64_t n_cols, const float *x,
              int64_t n_tokens, float *y);

/*
 * The two halves of lc_matmul, for callers that own scratch or split work
 * across threads.
 *
 * lc_matmul_quantize_x: convert x (n_tokens, n_cols) f32 into x_q,
 * n_tokens rows of lc_quant_dot_row_size(type, n_cols) bytes each. Returns
 * as lc_quantize_row_for_dot.
 *
 * lc_matmul_rows: y[t][r] = dot(w row r, x_q row t) for r in
 * [row_begin, row_end) and every t < n_tokens; y has row stride n_rows
 * floats. Touches only those entries of y, so threads given disjoint row
 * ranges need no locking. Arguments are asserted, not checked: call
 * lc_matmul_quantize_x first.
 */
int lc_matmul_quantize_x(uint32_t type, const float *x, int64_t n_cols, int64_t n_tokens,
                         void *x_q);
void lc_matmul_rows(uint32_t type, const void *w, int64_t n_rows, int64_t n_cols, const void *x_q,
                    int64_t n_tokens, float *y, int64_t row_begin, int64_t row_end);

#endif
