/*
 * qtype.h - tensor element types as GGUF stores them (ggml's type ids).
 *
 * Source: ggml's include/ggml.h (enum ggml_type as of ggml commit d99724f2,
 * every id below GGML_TYPE_COUNT = 43) and src/ggml-common.h (block layouts, the sizes in
 * its static_asserts). A quantized row of n elements is n / block_size blocks
 * of type_size bytes each; n must be a multiple of block_size.
 *
 * Every id ggml has assigned has its ggml name here, so that a file of a type
 * lcode cannot run is named in errors and listed by lcode model-info. Three
 * kinds:
 *   - supported: lcode reads weights of the type (lc_qtype_is_supported());
 *   - known: size known, so a GGUF file holding it can be read and listed,
 *     but lcode has no kernels for it (IQ*, TQ*, MXFP4, NVFP4, Q1_0, Q2_0,
 *     integer and F64 types; Q8_1 and Q8_K are activation-only);
 *   - removed: ids ggml took back (4, 5, 31-33, 36-38); named, no size, and
 *     a GGUF file holding one is refused, as ggml refuses it.
 */
#ifndef LC_QTYPE_H
#define LC_QTYPE_H

#include <stddef.h>
#include <stdint.h>

enum lc_qtype {
	LC_QTYPE_F32 = 0,
	LC_QTYPE_F16 = 1,
	LC_QTYPE_Q4_0 = 2,
	LC_QTYPE_Q4_1 = 3,
	LC_QTYPE_Q4_2 = 4, /* removed from ggml */
	LC_QTYPE_Q4_3 = 5, /* removed from ggml */
	LC_QTYPE_Q5_0 = 6,
	LC_QTYPE_Q5_1 = 7,
	LC_QTYPE_Q8_0 = 8,
	LC_QTYPE_Q8_1 = 9,
	LC_QTYPE_Q2_K = 10,
	LC_QTYPE_Q3_K = 11,
	LC_QTYPE_Q4_K = 12,
	LC_QTYPE_Q5_K = 13,
	LC_QTYPE_Q6_K = 14,
	LC_QTYPE_Q8_K = 15,
	LC_QTYPE_IQ2_XXS = 16,
	LC_QTYPE_IQ2_XS = 17,
	LC_QTYPE_IQ3_XXS = 18,
	LC_QTYPE_IQ1_S = 19,
	LC_QTYPE_IQ4_NL = 20,
	LC_QTYPE_IQ3_S = 21,
	LC_QTYPE_IQ2_S = 22,
	LC_QTYPE_IQ4_XS = 23,
	LC_QTYPE_I8 = 24,
	LC_QTYPE_I16 = 25,
	LC_QTYPE_I32 = 26,
	LC_QTYPE_I64 = 27,
	LC_QTYPE_F64 = 28,
	LC_QTYPE_IQ1_M = 29,
	LC_QTYPE_BF16 = 30,
	LC_QTYPE_Q4_0_4_4 = 31, /* removed from GGUF files */
	LC_QTYPE_Q4_0_4_8 = 32, /* removed from GGUF files */
	LC_QTYPE_Q4_0_8_8 = 33, /* removed from GGUF files */
	LC_QTYPE_TQ1_0 = 34,
	LC_QTYPE_TQ2_0 = 35,
	LC_QTYPE_IQ4_NL_4_4 = 36, /* removed from GGUF files */
	LC_QTYPE_IQ4_NL_4_8 = 37, /* removed from GGUF files */
	LC_QTYPE_IQ4_NL_8_8 = 38, /* removed from GGUF files */
	LC_QTYPE_MXFP4 = 39,
	LC_QTYPE_NVFP4 = 40,
	LC_QTYPE_Q1_0 = 41,
	LC_QTYPE_Q2_0 = 42,
	LC_QTYPE_COUNT = 43 /* ggml's GGML_TYPE_COUNT when this table was written */
};

/* Elements per block (1 for plain types), 0 for a removed or unknown id. */
size_t lc_qtype_block_size(uint32_t type);

/* Bytes per block, 0 for a removed or unknown id. */
size_t lc_qtype_type_size(uint32_t type);

/*
 * ggml's name ("Q4_K", "IQ2_XXS", "Q4_0_4_4"), a static string, for every id
 * below LC_QTYPE_COUNT, removed ones included; NULL for an id past ggml's.
 */
const char *lc_qtype_name(uint32_t type);

/*
 * 1 when lcode runs weights of this type (F32, F16, BF16, Q4_0, Q4_1, Q5_0,
 * Q5_1, Q8_0, Q2_K .. Q6_K: runtime/quant.c has dequantize and dot-product
 * kernels for it), 0 otherwise.
 */
int lc_qtype_is_supported(uint32_t type);

/*
 * Bytes in a row of n elements of type. Returns 0 when the type is unknown
 * or n is not a multiple of its block size.
 */
size_t lc_qtype_row_size(uint32_t type, int64_t n);

#endif
