#include "runtime/qtype.h"

#include "src/banned.h"

struct qtype_info {
	const char *name;
	size_t block_size;
	size_t type_size;
};

/* Block layouts: ggml's src/ggml-common.h (QK_K = 256, K_SCALE_SIZE = 12). */
static const struct qtype_info qtypes[LC_QTYPE_COUNT] = {
        [LC_QTYPE_F32] = {"F32", 1, 4},
        [LC_QTYPE_F16] = {"F16", 1, 2},
        [LC_QTYPE_Q4_0] = {"Q4_0", 32, 2 + 16},
        [LC_QTYPE_Q4_1] = {"Q4_1", 32, 2 + 2 + 16},
        [LC_QTYPE_Q5_0] = {"Q5_0", 32, 2 + 4 + 16},
        [LC_QTYPE_Q5_1] = {"Q5_1", 32, 2 + 2 + 4 + 16},
        [LC_QTYPE_Q8_0] = {"Q8_0", 32, 2 + 32},
        [LC_QTYPE_Q8_1] = {"Q8_1", 32, 2 + 2 + 32},
        [LC_QTYPE_Q2_K] = {"Q2_K", 256, 16 + 64 + 2 + 2},
        [LC_QTYPE_Q3_K] = {"Q3_K", 256, 32 + 64 + 12 + 2},
        [LC_QTYPE_Q4_K] = {"Q4_K", 256, 2 + 2 + 12 + 128},
        [LC_QTYPE_Q5_K] = {"Q5_K", 256, 2 + 2 + 12 + 32 + 128},
        [LC_QTYPE_Q6_K] = {"Q6_K", 256, 128 + 64 + 16 + 2},
        [LC_QTYPE_Q8_K] = {"Q8_K", 256, 4 + 256 + 2 * 16},
        [LC_QTYPE_I8] = {"I8", 1, 1},
        [LC_QTYPE_I16] = {"I16", 1, 2},
        [LC_QTYPE_I32] = {"I32", 1, 4},
        [LC_QTYPE_I64] = {"I64", 1, 8},
        [LC_QTYPE_F64] = {"F64", 1, 8},
        [LC_QTYPE_BF16] = {"BF16", 1, 2},
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

size_t lc_qtype_row_size(uint32_t type, int64_t n)
{
	size_t bs = lc_qtype_block_size(type);

	if (bs == 0 || n < 0 || (uint64_t)n % bs != 0)
		return 0;
	if ((uint64_t)n / bs > SIZE_MAX / lc_qtype_type_size(type))
		return 0;
	return (size_t)((uint64_t)n / bs) * lc_qtype_type_size(type);
}
