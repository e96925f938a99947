/*
 * fuzz_gguf.c - libFuzzer target for runtime/gguf.c.
 *
 * Parses the input with lc_gguf_open_memory and, when it is accepted, reads
 * everything the API exposes: every key through its typed getter, every
 * element of every array (nested ones too), every tensor's first and last
 * byte. The sanitizers catch any read outside the input; the invariants
 * checked here (lookups find what iteration found) trap.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "runtime/gguf.h"
#include "src/err.h"
#include "src/banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile unsigned sink;

static void touch(const void *p, uint64_t n)
{
	const unsigned char *b = p;

	if (n) {
		sink += b[0];
		sink += b[n - 1];
	}
}

static void walk_arr(const lc_gguf *g, const lc_gguf_arr *a)
{
	static const unsigned char sizes[LC_GGUF_TYPE_COUNT] = {1, 1, 2, 2, 4, 4, 4,
	                                                        1, 0, 0, 8, 8, 8};
	uint64_t i;

	if (a->type == LC_GGUF_TYPE_STRING) {
		for (i = 0; i < a->n; i++) {
			lc_gguf_str s = lc_gguf_arr_str(g, a, i);
			touch(s.data, s.len);
		}
	} else if (a->type == LC_GGUF_TYPE_ARRAY) {
		for (i = 0; i < a->n; i++) {
			lc_gguf_arr c = lc_gguf_arr_arr(g, a, i);
			walk_arr(g, &c);
		}
	} else {
		touch(a->data, a->n * sizes[a->type]);
	}
}

static void walk_kv(const lc_gguf *g, int64_t i)
{
	lc_gguf_str k = lc_gguf_kv_key(g, i);
	char key[256];
	lc_gguf_arr a;
	lc_gguf_str s;
	uint32_t u32;
	uint64_t u64;
	int64_t i64;
	float f;
	int b;

	if (lc_gguf_kv_type(g, i) == LC_GGUF_TYPE_ARRAY) {
		if (lc_gguf_kv_arr(g, i, &a) != 0)
			__builtin_trap();
		walk_arr(g, &a);
	}
	if (k.len >= sizeof(key) || memchr(k.data, '\0', (size_t)k.len))
		return;
	memcpy(key, k.data, (size_t)k.len);
	key[k.len] = '\0';
	if (lc_gguf_find_key(g, key) != i)
		__builtin_trap();
	if (lc_gguf_get_u32(g, key, &u32) == 0)
		sink += u32;
	if (lc_gguf_get_u64(g, key, &u64) == 0)
		sink += (unsigned)u64;
	if (lc_gguf_get_i64(g, key, &i64) == 0)
		sink += (unsigned)i64;
	if (lc_gguf_get_f32(g, key, &f) == 0)
		sink += f > 0;
	if (lc_gguf_get_bool(g, key, &b) == 0)
		sink += (unsigned)b;
	if (lc_gguf_get_str(g, key, &s) == 0)
		touch(s.data, s.len);
	if (lc_gguf_get_arr(g, key, &a) == 0)
		walk_arr(g, &a);
	lc_err_clear();
}

static void walk_tensor(const lc_gguf *g, int64_t i)
{
	const lc_gguf_tensor *t = lc_gguf_tensor_at(g, i);
	char name[128];

	touch(t->data, t->size);
	touch(t->name.data, t->name.len);
	if (t->name.len >= sizeof(name) || memchr(t->name.data, '\0', (size_t)t->name.len))
		return;
	memcpy(name, t->name.data, (size_t)t->name.len);
	name[t->name.len] = '\0';
	if (lc_gguf_find_tensor(g, name) != t)
		__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	lc_gguf *g = NULL;
	int64_t i;

	lc_err_clear();
	if (lc_gguf_open_memory(&g, data, size) != 0) {
		if (lc_err_msg()[0] == '\0')
			__builtin_trap(); /* every refusal says why */
		lc_err_clear();
		return 0;
	}
	for (i = 0; i < lc_gguf_n_kv(g); i++)
		walk_kv(g, i);
	for (i = 0; i < lc_gguf_n_tensors(g); i++)
		walk_tensor(g, i);
	lc_gguf_free(g);
	return 0;
}
