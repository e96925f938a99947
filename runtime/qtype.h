/*
 * qtype.h - tensor element types as GGUF stores them (ggml's type ids).
 *
 * Source: ggml's include/ggml.h (enum ggml_type) and src/ggml-common.h (block
 * layouts). A quantized row of n elements is n / block_size blocks of
 * type_size bytes each; n must be a multiple of block_size.
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
	LC_QTYPE_I8 = 24,
	LC_QTYPE_I16 = 25,
	LC_QTYPE_I32 = 26,
	LC_QTYPE_I64 = 27,
	LC_QTYPE_F64 = 28,
	LC_QTYPE_BF16 = 30,
	LC_QTYPE_COUNT = 40 /* one past the largest id ggml had assigned when written */
};

/* Elements per block (1 for plain types), 0 for an id lcode does not know. */
size_t lc_qtype_block_size(uint32_t type);

/* Bytes per block, 0 for an id lcode does not know. */
size_t lc_qtype_type_size(uint32_t type);

/* ggml's name ("Q4_K", "F16"), or NULL for an id lcode does not know. */
const char *lc_qtype_name(uint32_t type);

/*
 * Bytes in a row of n elements of type. Returns 0 when the type is unknown
 * or n is not a multiple of its block size.
 */
size_t lc_qtype_row_size(uint32_t type, int64_t n);

#endif
