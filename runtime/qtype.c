#include "runtime/qtype.h"

#include "src/banned.h"

struct qtype_info {
	const char *name;
	size_t block_size; /* 0: removed from ggml, no size */
	size_t type_size;
	int supported; /* lcode runs weights of this type */
};

/*
 * Names: ggml's include/ggml.h, enum ggml_type, without the GGML_TYPE_
 * prefix. Block layouts: ggml's src/ggml-common.h (QK_K = 256, K_SCALE_SIZE
 * = 12, ggml_half 2 bytes); each size below is the one its static_assert
 * states.
 */
static const struct qtype_info qtypes[LC_QTYPE_COUNT] = {
        [LC_QTYPE_F32] = {"F32", 1, 4, 1},
        [LC_QTYPE_F16] = {"F16", 1, 2, 1},
        [LC_QTYPE_Q4_0] = {"Q4_0", 32, 2 + 16, 1},
        [LC_QTYPE_Q4_1] = {"Q4_1", 32, 2 + 2 + 16, 1},
        [LC_QTYPE_Q4_2] = {"Q4_2", 0, 0, 0},
        [LC_QTYPE_Q4_3] = {"Q4_3", 0, 0, 0},
        [LC_QTYPE_Q5_0] = {"Q5_0", 32, 2 + 4 + 16, 1},
        [LC_QTYPE_Q5_1] = {"Q5_1", 32, 2 + 2 + 4 + 16, 1},
        [LC_QTYPE_Q8_0] = {"Q8_0", 32, 2 + 32, 1},
        [LC_QTYPE_Q8_1] = {"Q8_1", 32, 2 + 2 + 32, 0},
        [LC_QTYPE_Q2_K] = {"Q2_K", 256, 16 + 64 + 2 + 2, 1},
        [LC_QTYPE_Q3_K] = {"Q3_K", 256, 32 + 64 + 12 + 2, 1},
        [LC_QTYPE_Q4_K] = {"Q4_K", 256, 2 + 2 + 12 + 128, 1},
        [LC_QTYPE_Q5_K] = {"Q5_K", 256, 2 + 2 + 12 + 32 + 128, 1},
        [LC_QTYPE_Q6_K] = {"Q6_K", 256, 128 + 64 + 16 + 2, 1},
        [LC_QTYPE_Q8_K] = {"Q8_K", 256, 4 + 256 + 2 * 16, 0},
        [LC_QTYPE_IQ2_XXS] = {"IQ2_XXS", 256, 2 + 2 * 32, 0},
        [LC_QTYPE_IQ2_XS] = {"IQ2_XS", 256, 2 + 2 * 32 + 8, 0},
        [LC_QTYPE_IQ3_XXS] = {"IQ3_XXS", 256, 2 + 3 * 32, 0},
        [LC_QTYPE_IQ1_S] = {"IQ1_S", 256, 2 + 32 + 16, 0},
        [LC_QTYPE_IQ4_NL] = {"IQ4_NL", 32, 2 + 16, 0},
        [LC_QTYPE_IQ3_S] = {"IQ3_S", 256, 2 + 13 * 8 + 4, 0},
        [LC_QTYPE_IQ2_S] = {"IQ2_S", 256, 2 + 64 + 16, 0},
        [LC_QTYPE_IQ4_XS] = {"IQ4_XS", 256, 2 + 2 + 4 + 128, 0},
        [LC_QTYPE_I8] = {"I8", 1, 1, 0},
        [LC_QTYPE_I16] = {"I16", 1, 2, 0},
        [LC_QTYPE_I32] = {"I32", 1, 4, 0},
        [LC_QTYPE_I64] = {"I64", 1, 8, 0},
        [LC_QTYPE_F64] = {"F64", 1, 8, 0},
        [LC_QTYPE_IQ1_M] = {"IQ1_M", 256, 32 + 16 + 8, 0},
        [LC_QTYPE_BF16] = {"BF16", 1, 2, 1},
        [LC_QTYPE_Q4_0_4_4] = {"Q4_0_4_4", 0, 0, 0},
        [LC_QTYPE_Q4_0_4_8] = {"Q4_0_4_8", 0, 0, 0},
        [LC_QTYPE_Q4_0_8_8] = {"Q4_0_8_8", 0, 0, 0},
        [LC_QTYPE_TQ1_0] = {"TQ1_0", 256, 2 + 4 + 48, 0},
        [LC_QTYPE_TQ2_0] = {"TQ2_0", 256, 2 + 64, 0},
        [LC_QTYPE_IQ4_NL_4_4] = {"IQ4_NL_4_4", 0, 0, 0},
        [LC_QTYPE_IQ4_NL_4_8] = {"IQ4_NL_4_8", 0, 0, 0},
        [LC_QTYPE_IQ4_NL_8_8] = {"IQ4_NL_8_8", 0, 0, 0},
        [LC_QTYPE_MXFP4] = {"MXFP4", 32, 1 + 16, 0},
        [LC_QTYPE_NVFP4] = {"NVFP4", 64, 4 + 32, 0},
        [LC_QTYPE_Q1_0] = {"Q1_0", 128, 2 + 16, 0},
        [LC_QTYPE_Q2_0] = {"Q2_0", 64, 2 + 16, 0},
};

size_t lc_qtype_block_size(uint32_t type)
{
	return type < LC_QTYPE_COUNT ? qtypes[type].block_size : 0;
}

size_t lc_qtype_type_size(uint32_t type)
{
	return type < LC_QTYPE_COUNT ? qtypes[type].type_size : 0;
}

const char *lc_qtype_name(uint32_t type)
{
	return type < LC_QTYPE_COUNT ? qtypes[type].name : NULL;
}

int lc_qtype_is_supported(uint32_t type)
{
	return type < LC_QTYPE_COUNT && qtypes[type].supported;
}

size_t lc_qtype_row_size(uint32_t type, int64_t n)
{
	size_t bs = lc_qtype_block_size(type);

	if (bs == 0 || n < 0 || (uint64_t)n % bs != 0)
		return 0;
	if ((uint64_t)n / bs > SIZE_MAX / lc_qtype_type_size(type))
		return 0;
	return (size_t)((uint64_t)n / bs) * lc_qtype_type_size(type);
}
