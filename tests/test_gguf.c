/*
 * Tests for runtime/gguf.c.
 *
 * Fixtures: tests/gen_gguf_fixtures.py writes them with tests/gguf_writer.py into
 * $LC_BUILD_ROOT/tests at build time; the values expected below are the ones that script
 * spells out (the writer follows ggml's docs/gguf.md on its own, in Python). Hostile
 * files are built byte by byte here, following the same spec. The real files in
 * $LC_SHARED_DATA/vocab were written by llama.cpp; their facts come from the README
 * there, the .out files, and the published GPT-2 and Llama 2 vocabularies.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "runtime/gguf.h"
#include "runtime/qtype.h"
#include "src/err.h"
#include "src/file.h"
#include "src/banned.h"

static char *fixture_path(const char *name)
{
	const char *root = getenv("LC_BUILD_ROOT");
	size_t n;
	char *p;

	assert_non_null(root);
	n = strlen(root) + strlen(name) + 16;
	p = malloc(n);
	assert_non_null(p);
	snprintf(p, n, "%s/tests/%s", root, name);
	return p;
}

static lc_gguf *open_fixture(const char *name)
{
	char *path = fixture_path(name);
	lc_gguf *g = NULL;
	int rc;

	lc_err_clear();
	rc = lc_gguf_open(&g, path);
	if (rc != 0)
		fail_msg("open %s: %s", path, lc_err_msg());
	free(path);
	return g;
}

static void assert_str(lc_gguf_str s, const char *want)
{
	if (!lc_gguf_str_eq(s, want))
		fail_msg("got '%.*s', want '%s'", (int)s.len, s.data, want);
}

/* --- metadata of every type ------------------------------------------------ */

static void check_scalars(lc_gguf *g)
{
	uint32_t u32;
	int64_t i64;
	uint64_t u64;
	float f;
	int b;
	lc_gguf_str s;

	assert_int_equal(lc_gguf_get_u32(g, "t.u8", &u32), 0);
	assert_int_equal(u32, 200);
	assert_int_equal(lc_gguf_get_i64(g, "t.i8", &i64), 0);
	assert_int_equal(i64, -100);
	assert_int_equal(lc_gguf_get_u32(g, "t.u16", &u32), 0);
	assert_int_equal(u32, 60000);
	assert_int_equal(lc_gguf_get_i64(g, "t.i16", &i64), 0);
	assert_int_equal(i64, -30000);
	assert_int_equal(lc_gguf_get_u32(g, "t.u32", &u32), 0);
	assert_int_equal(u32, 4000000000u);
	assert_int_equal(lc_gguf_get_i64(g, "t.i32", &i64), 0);
	assert_int_equal(i64, -2000000000);
	assert_int_equal(lc_gguf_get_f32(g, "t.f32", &f), 0);
	assert_true(f == 1.5f);
	assert_int_equal(lc_gguf_get_bool(g, "t.bool", &b), 0);
	assert_int_equal(b, 1);
	assert_int_equal(lc_gguf_get_bool(g, "t.bool_false", &b), 0);
	assert_int_equal(b, 0);
	assert_int_equal(lc_gguf_get_str(g, "t.string", &s), 0);
	assert_str(s, "h\xc3\xa9llo w\xc3\xb6rld"); /* UTF-8 of "héllo wörld" */
	assert_int_equal(lc_gguf_get_str(g, "t.empty", &s), 0);
	assert_int_equal(s.len, 0);
	assert_int_equal(lc_gguf_get_u64(g, "t.u64", &u64), 0);
	assert_true(u64 == UINT64_MAX);
	assert_int_equal(lc_gguf_get_i64(g, "t.i64", &i64), 0);
	assert_true(i64 == -(INT64_C(1) << 62) - 3);
	assert_int_equal(lc_gguf_get_f32(g, "t.f64", &f), 0);
	assert_true(f == 3.25f);
	assert_int_equal(lc_gguf_get_str(g, "general.architecture", &s), 0);
	assert_str(s, "testarch");
}

static void check_arrays(lc_gguf *g)
{
	lc_gguf_arr a, b, c;
	uint8_t u8[3];
	int16_t i16[3];
	float f32[2];
	uint64_t u64[2];
	double f64;

	assert_int_equal(lc_gguf_get_arr(g, "t.arr_u8", &a), 0);
	assert_int_equal(a.type, LC_GGUF_TYPE_UINT8);
	assert_int_equal(a.n, 3);
	memcpy(u8, a.data, 3);
	assert_int_equal(u8[0], 1);
	assert_int_equal(u8[2], 255);

	assert_int_equal(lc_gguf_get_arr(g, "t.arr_i16", &a), 0);
	assert_int_equal(a.type, LC_GGUF_TYPE_INT16);
	assert_int_equal(a.n, 3);
	memcpy(i16, a.data, sizeof(i16));
	assert_int_equal(i16[0], -1);
	assert_int_equal(i16[1], 2);
	assert_int_equal(i16[2], -32768);

	assert_int_equal(lc_gguf_get_arr(g, "t.arr_f32", &a), 0);
	assert_int_equal(a.n, 2);
	memcpy(f32, a.data, sizeof(f32));
	assert_true(f32[0] == 0.5f && f32[1] == -2.0f);

	assert_int_equal(lc_gguf_get_arr(g, "t.arr_bool", &a), 0);
	assert_int_equal(a.type, LC_GGUF_TYPE_BOOL);
	assert_memory_equal(a.data, "\1\0\1", 3);

	assert_int_equal(lc_gguf_get_arr(g, "t.arr_u64", &a), 0);
	memcpy(u64, a.data, sizeof(u64));
	assert_true(u64[0] == UINT64_MAX && u64[1] == 0);

	assert_int_equal(lc_gguf_get_arr(g, "t.arr_f64", &a), 0);
	assert_int_equal(a.type, LC_GGUF_TYPE_FLOAT64);
	memcpy(&f64, a.data, sizeof(f64));
	assert_true(f64 == -0.125);

	assert_int_equal(lc_gguf_get_arr(g, "t.arr_empty", &a), 0);
	assert_int_equal(a.type, LC_GGUF_TYPE_INT32);
	assert_int_equal(a.n, 0);

	assert_int_equal(lc_gguf_get_arr(g, "t.arr_str", &a), 0);
	assert_int_equal(a.type, LC_GGUF_TYPE_STRING);
	assert_int_equal(a.n, 4);
	assert_int_equal(lc_gguf_arr_str(g, &a, 0).len, 0);
	assert_str(lc_gguf_arr_str(g, &a, 1), "a");
	assert_str(lc_gguf_arr_str(g, &a, 3), "def");
	assert_str(lc_gguf_arr_str(g, &a, 2), "bc");

	/* [[1, 2, 3], ["x", "yz"], [[9], []]] */
	assert_int_equal(lc_gguf_get_arr(g, "t.nested", &a), 0);
	assert_int_equal(a.type, LC_GGUF_TYPE_ARRAY);
	assert_int_equal(a.n, 3);
	b = lc_gguf_arr_arr(g, &a, 1);
	assert_int_equal(b.type, LC_GGUF_TYPE_STRING);
	assert_int_equal(b.n, 2);
	assert_str(lc_gguf_arr_str(g, &b, 1), "yz");
	assert_str(lc_gguf_arr_str(g, &b, 0), "x");
	b = lc_gguf_arr_arr(g, &a, 0);
	assert_int_equal(b.type, LC_GGUF_TYPE_INT32);
	assert_int_equal(b.n, 3);
	assert_memory_equal(b.data, "\1\0\0\0\2\0\0\0\3\0\0\0", 12);
	b = lc_gguf_arr_arr(g, &a, 2);
	assert_int_equal(b.type, LC_GGUF_TYPE_ARRAY);
	assert_int_equal(b.n, 2);
	c = lc_gguf_arr_arr(g, &b, 0);
	assert_int_equal(c.type, LC_GGUF_TYPE_UINT8);
	assert_int_equal(c.n, 1);
	assert_int_equal(*(const uint8_t *)c.data, 9);
	c = lc_gguf_arr_arr(g, &b, 1);
	assert_int_equal(c.type, LC_GGUF_TYPE_STRING);
	assert_int_equal(c.n, 0);
}

/* Byte j of tensor k, as tests/gen_gguf_fixtures.py writes it. */
static unsigned char pattern(int k, size_t j)
{
	return (unsigned char)((7 * j + 13 * (size_t)k + 1) & 0xff);
}

static void check_tensors(lc_gguf *g, uint32_t alignment)
{
	static const struct {
		const char *name;
		uint32_t n_dims;
		int64_t ne[4];
		uint32_t type;
		size_t size; /* by hand from the block sizes in ggml-common.h */
	} want[] = {
	        {"a.weight", 2, {8, 3, 1, 1}, LC_QTYPE_F32, 8 * 3 * 4},
	        {"b.weight", 2, {64, 2, 1, 1}, LC_QTYPE_Q4_0, 2 * 2 * 18},
	        {"c.weight", 3, {256, 1, 1, 1}, LC_QTYPE_Q4_K, 144},
	        {"d", 1, {5, 1, 1, 1}, LC_QTYPE_F16, 10},
	        {"blk.0.e", 4, {4, 2, 2, 4}, LC_QTYPE_I8, 64},
	};
	const unsigned char *base;
	size_t k, j;

	assert_int_equal(lc_gguf_alignment(g), alignment);
	assert_int_equal(lc_gguf_n_tensors(g), 5);
	assert_int_equal(lc_gguf_data_offset(g) % alignment, 0);
	/* the first tensor is at offset 0, so the data section starts at its data */
	base = (const unsigned char *)lc_gguf_tensor_at(g, 0)->data - lc_gguf_data_offset(g);
	for (k = 0; k < 5; k++) {
		const lc_gguf_tensor *t = lc_gguf_find_tensor(g, want[k].name);
		assert_non_null(t);
		assert_ptr_equal(t, lc_gguf_tensor_at(g, (int64_t)k));
		assert_str(t->name, want[k].name);
		assert_int_equal(t->n_dims, want[k].n_dims);
		for (j = 0; j < 4; j++)
			assert_int_equal(t->ne[j], want[k].ne[j]);
		assert_int_equal(t->type, want[k].type);
		assert_int_equal(t->size, want[k].size);
		assert_int_equal(t->offset % alignment, 0);
		assert_ptr_equal(t->data, base + lc_gguf_data_offset(g) + t->offset);
		for (j = 0; j < t->size; j++)
			if (((const unsigned char *)t->data)[j] != pattern((int)k, j))
				fail_msg("tensor %s byte %zu", want[k].name, j);
	}
	assert_null(lc_gguf_find_tensor(g, "a.weigh"));
	assert_null(lc_gguf_find_tensor(g, "missing"));
	/* the last tensor ends the file (see the fixture script) */
	assert_int_equal(lc_gguf_data_offset(g) + lc_gguf_tensor_at(g, 4)->offset + 64,
	                 lc_gguf_file_size(g));
}

static void test_v3_all_types(void **state)
{
	lc_gguf *g = open_fixture("gguf-v3.gguf");
	lc_gguf_arr a;
	char want[16];
	uint64_t i;

	assert_int_equal(lc_gguf_version(g), 3);
	check_scalars(g);
	check_arrays(g);
	check_tensors(g, 64);
	assert_int_equal(lc_gguf_get_arr(g, "t.arr_str_big", &a), 0);
	assert_int_equal(a.n, 1000);
	for (i = 1000; i-- > 0;) {
		snprintf(want, sizeof(want), "tok%d", (int)i);
		assert_str(lc_gguf_arr_str(g, &a, i), want);
	}
	lc_gguf_free(g);
}

static void test_v2_all_types(void **state)
{
	lc_gguf *g = open_fixture("gguf-v2.gguf");

	assert_int_equal(lc_gguf_version(g), 2);
	check_scalars(g);
	check_arrays(g);
	check_tensors(g, 64);
	lc_gguf_free(g);
}

static void test_default_alignment(void **state)
{
	lc_gguf *g = open_fixture("gguf-align32.gguf");

	assert_int_equal(lc_gguf_find_key(g, "general.alignment"), -1);
	check_tensors(g, 32);
	lc_gguf_free(g);
}

static void test_alignment_256(void **state)
{
	lc_gguf *g = open_fixture("gguf-align256.gguf");
	uint32_t a;

	assert_int_equal(lc_gguf_get_u32(g, "general.alignment", &a), 0);
	assert_int_equal(a, 256);
	assert_int_equal(lc_gguf_n_kv(g), 1);
	assert_str(lc_gguf_kv_key(g, 0), "general.alignment");
	assert_int_equal(lc_gguf_kv_type(g, 0), LC_GGUF_TYPE_UINT32);
	check_tensors(g, 256);
	/* each tensor sits at the next multiple of 256 after the one before */
	assert_int_equal(lc_gguf_tensor_at(g, 1)->offset, 256);
	assert_int_equal(lc_gguf_tensor_at(g, 4)->offset, 1024);
	lc_gguf_free(g);
}

static void test_keys_in_order(void **state)
{
	lc_gguf *g = open_fixture("gguf-v3.gguf");

	/* general.alignment comes first, then the order the script adds them in */
	assert_str(lc_gguf_kv_key(g, 0), "general.alignment");
	assert_str(lc_gguf_kv_key(g, 1), "general.architecture");
	assert_str(lc_gguf_kv_key(g, 2), "t.u8");
	assert_int_equal(lc_gguf_kv_type(g, 2), LC_GGUF_TYPE_UINT8);
	assert_int_equal(lc_gguf_find_key(g, "t.i8"), 3);
	assert_int_equal(lc_gguf_find_key(g, "t.i"), -1);
	assert_int_equal(lc_gguf_find_key(g, "t.i88"), -1);
	lc_gguf_free(g);
}

/* --- getters: conversions and refusals --------------------------------- */

static void test_getter_conversions(void **state)
{
	lc_gguf *g = open_fixture("gguf-v3.gguf");
	uint32_t u32 = 42;
	uint64_t u64 = 42;
	int64_t i64 = 42;
	float f = 42;
	int b = 42;
	lc_gguf_str s;
	lc_gguf_arr a;

	/* fits: widen and change sign */
	assert_int_equal(lc_gguf_get_u32(g, "t.u64_small", &u32), 0);
	assert_int_equal(u32, 7);
	assert_int_equal(lc_gguf_get_u64(g, "t.i8_pos", &u64), 0);
	assert_int_equal(u64, 5);
	assert_int_equal(lc_gguf_get_i64(g, "t.u32", &i64), 0);
	assert_int_equal(i64, 4000000000);
	assert_int_equal(lc_gguf_get_u32(g, "t.u32_max", &u32), 0);
	assert_true(u32 == UINT32_MAX);
	assert_int_equal(lc_gguf_get_u64(g, "t.u8", &u64), 0);
	assert_int_equal(u64, 200);

	/* does not fit: refused, out untouched, key named */
	u32 = 42;
	u64 = 42;
	i64 = 42;
	lc_err_clear();
	assert_int_equal(lc_gguf_get_u32(g, "t.i8", &u32), LC_EPARSE);
	assert_int_equal(u32, 42);
	assert_non_null(strstr(lc_err_msg(), "'t.i8'"));
	lc_err_clear();
	assert_int_equal(lc_gguf_get_u32(g, "t.u64", &u32), LC_EPARSE);
	assert_int_equal(u32, 42);
	lc_err_clear();
	assert_int_equal(lc_gguf_get_u64(g, "t.i64", &u64), LC_EPARSE);
	assert_int_equal(u64, 42);
	lc_err_clear();
	assert_int_equal(lc_gguf_get_i64(g, "t.u64", &i64), LC_EPARSE);
	assert_int_equal(i64, 42);
	lc_err_clear();
	assert_int_equal(lc_gguf_get_f32(g, "t.f64_big", &f), LC_EPARSE);
	assert_true(f == 42);

	/* wrong type */
	lc_err_clear();
	assert_int_equal(lc_gguf_get_u32(g, "t.string", &u32), LC_EPARSE);
	assert_non_null(strstr(lc_err_msg(), "'t.string'"));
	lc_err_clear();
	assert_int_equal(lc_gguf_get_u32(g, "t.f32", &u32), LC_EPARSE);
	lc_err_clear();
	assert_int_equal(lc_gguf_get_u32(g, "t.bool", &u32), LC_EPARSE);
	lc_err_clear();
	assert_int_equal(lc_gguf_get_f32(g, "t.u32", &f), LC_EPARSE);
	lc_err_clear();
	assert_int_equal(lc_gguf_get_bool(g, "t.u8", &b), LC_EPARSE);
	assert_int_equal(b, 42);
	lc_err_clear();
	assert_int_equal(lc_gguf_get_str(g, "t.arr_str", &s), LC_EPARSE);
	lc_err_clear();
	assert_int_equal(lc_gguf_get_arr(g, "t.string", &a), LC_EPARSE);
	lc_err_clear();
	assert_int_equal(lc_gguf_get_u32(g, "t.arr_u8", &u32), LC_EPARSE);

	/* absent */
	lc_err_clear();
	assert_int_equal(lc_gguf_get_u32(g, "no.such.key", &u32), LC_ENOTFOUND);
	assert_non_null(strstr(lc_err_msg(), "'no.such.key'"));
	lc_err_clear();
	assert_int_equal(lc_gguf_get_arr(g, "no.such.key", &a), LC_ENOTFOUND);
	lc_err_clear();
	lc_gguf_free(g);
}

/* --- truncation -------------------------------------------------------- */

/* Every proper prefix of a valid file is refused with LC_EPARSE and a message. */
static void truncate_all(const char *name)
{
	char *path = fixture_path(name);
	char *data = NULL;
	size_t len = 0, n;
	lc_gguf *g = NULL;

	assert_int_equal(lc_file_read(path, 1 << 20, &data, &len), 0);
	for (n = 0; n < len; n++) {
		/* an exact-size copy, so the sanitizer sees any read past the end */
		char *copy = malloc(n ? n : 1);
		int rc;

		assert_non_null(copy);
		memcpy(copy, data, n);
		lc_err_clear();
		rc = lc_gguf_open_memory(&g, copy, n);
		if (rc != LC_EPARSE)
			fail_msg("%s cut to %zu bytes: rc %d", name, n, rc);
		assert_true(lc_err_msg()[0] != '\0');
		free(copy);
	}
	/* and the whole file opens */
	lc_err_clear();
	assert_int_equal(lc_gguf_open_memory(&g, data, len), 0);
	lc_gguf_free(g);
	free(data);
	free(path);
}

static void test_truncation_v2(void **state)
{
	truncate_all("gguf-v2.gguf");
}

static void test_truncation_align256(void **state)
{
	truncate_all("gguf-align256.gguf");
}

static void test_truncation_message(void **state)
{
	char *path = fixture_path("gguf-v3.gguf");
	char *data = NULL;
	size_t len = 0;
	lc_gguf *g = NULL;
	const char *msg;

	assert_int_equal(lc_file_read(path, 1 << 20, &data, &len), 0);
	/* cut inside the last string of t.arr_str_big, "tok999" */
	msg = memmem(data, len, "tok999", 6);
	assert_non_null(msg);
	lc_err_clear();
	assert_int_equal(lc_gguf_open_memory(&g, data, (size_t)(msg - data) + 3), LC_EPARSE);
	assert_non_null(strstr(lc_err_msg(), "string element of key 't.arr_str_big' runs past end "
	                                     "of file"));
	lc_err_clear();
	free(data);
	free(path);
}

/* --- hostile headers --------------------------------------------------- */

struct bb {
	unsigned char b[8192];
	size_t n;
};

static void put(struct bb *w, const void *p, size_t n)
{
	assert_true(w->n + n <= sizeof(w->b));
	memcpy(w->b + w->n, p, n);
	w->n += n;
}

static void put32(struct bb *w, uint32_t v)
{
	unsigned char b[4] = {(unsigned char)v, (unsigned char)(v >> 8), (unsigned char)(v >> 16),
	                      (unsigned char)(v >> 24)};
	put(w, b, 4);
}

static void put64(struct bb *w, uint64_t v)
{
	put32(w, (uint32_t)v);
	put32(w, (uint32_t)(v >> 32));
}

static void putstr(struct bb *w, const char *s)
{
	put64(w, strlen(s));
	put(w, s, strlen(s));
}

static void header(struct bb *w, uint32_t version, uint64_t n_tensors, uint64_t n_kv)
{
	w->n = 0;
	put(w, "GGUF", 4);
	put32(w, version);
	put64(w, n_tensors);
	put64(w, n_kv);
}

static void kv_u32(struct bb *w, const char *key, uint32_t v)
{
	putstr(w, key);
	put32(w, LC_GGUF_TYPE_UINT32);
	put32(w, v);
}

/* A tensor info with up to 4 dims (n_dims may claim more; ne gives what is written). */
static void tinfo(struct bb *w, const char *name, uint32_t n_dims, const uint64_t *ne,
                  uint32_t n_written, uint32_t type, uint64_t offset)
{
	uint32_t d;

	putstr(w, name);
	put32(w, n_dims);
	for (d = 0; d < n_written; d++)
		put64(w, ne[d]);
	put32(w, type);
	put64(w, offset);
}

/* Pad to 32 and add n bytes of tensor data. */
static void data(struct bb *w, size_t n)
{
	static const unsigned char zero[4096];

	while (w->n % 32)
		put(w, zero, 1);
	put(w, zero, n);
}

/* Expect code, and every needle in the message. */
static void refused(struct bb *w, int code, const char *needle1, const char *needle2)
{
	unsigned char *copy = malloc(w->n);
	lc_gguf *g = NULL;
	int rc;

	assert_non_null(copy);
	memcpy(copy, w->b, w->n);
	lc_err_clear();
	rc = lc_gguf_open_memory(&g, copy, w->n);
	if (rc != code)
		fail_msg("rc %d, want %d (%s)", rc, code, lc_err_msg());
	if (!strstr(lc_err_msg(), needle1) || (needle2 && !strstr(lc_err_msg(), needle2)))
		fail_msg("message '%s' lacks '%s' / '%s'", lc_err_msg(), needle1,
		         needle2 ? needle2 : "");
	assert_null(g);
	free(copy);
	lc_err_clear();
}

static void accepted(struct bb *w)
{
	lc_gguf *g = NULL;

	lc_err_clear();
	if (lc_gguf_open_memory(&g, w->b, w->n) != 0)
		fail_msg("refused: %s", lc_err_msg());
	lc_gguf_free(g);
}

static void test_hostile_headers(void **state)
{
	static struct bb w;
	const uint64_t ne1[1] = {8}, ne5[5] = {8, 1, 1, 1, 1};
	const uint64_t big[2] = {UINT64_C(1) << 62, UINT64_C(1) << 62};
	const uint64_t ne0[2] = {8, 0}, neneg[1] = {UINT64_MAX};
	const uint64_t ne33[1] = {33}, ne256[1] = {256};

	/* control: a valid one-tensor file built the same way */
	header(&w, 3, 1, 1);
	kv_u32(&w, "a.b", 1);
	tinfo(&w, "t0", 1, ne1, 1, LC_QTYPE_F32, 0);
	data(&w, 32);
	accepted(&w);

	w.n = 0;
	put(&w, "GGUX", 4);
	refused(&w, LC_EPARSE, "not a GGUF file", NULL);
	header(&w, 1, 0, 0);
	refused(&w, LC_EPARSE, "version 1", NULL);
	header(&w, 0x03000000, 0, 0); /* a big-endian version 3 */
	refused(&w, LC_EPARSE, "big-endian", NULL);

	/* huge counts */
	header(&w, 3, 0, UINT64_C(1) << 60);
	kv_u32(&w, "a.b", 1);
	refused(&w, LC_EPARSE, "metadata entries", NULL);
	header(&w, 3, UINT64_MAX, 0);
	tinfo(&w, "t0", 1, ne1, 1, LC_QTYPE_F32, 0);
	refused(&w, LC_EPARSE, "tensors", NULL);

	/* huge string length */
	header(&w, 3, 0, 1);
	putstr(&w, "general.name");
	put32(&w, LC_GGUF_TYPE_STRING);
	put64(&w, UINT64_C(1) << 62);
	put(&w, "abc", 3);
	refused(&w, LC_EPARSE, "string value of key 'general.name' runs past end of file", NULL);

	/* huge key length */
	header(&w, 3, 0, 1);
	put64(&w, UINT64_MAX);
	put(&w, "abcdefghijklmnopqrstuvwxyz", 26);
	refused(&w, LC_EPARSE, "key of metadata entry 0", NULL);

	/* huge array length */
	header(&w, 3, 0, 1);
	putstr(&w, "tokenizer.ggml.scores");
	put32(&w, LC_GGUF_TYPE_ARRAY);
	put32(&w, LC_GGUF_TYPE_FLOAT32);
	put64(&w, UINT64_C(1) << 61);
	put32(&w, 0);
	refused(&w, LC_EPARSE, "'tokenizer.ggml.scores'", "past end of file");
	header(&w, 3, 0, 1);
	putstr(&w, "tokenizer.ggml.tokens");
	put32(&w, LC_GGUF_TYPE_ARRAY);
	put32(&w, LC_GGUF_TYPE_STRING);
	put64(&w, UINT64_MAX);
	putstr(&w, "a");
	refused(&w, LC_EPARSE, "'tokenizer.ggml.tokens'", "past end of file");

	/* unknown value types, bad bool */
	header(&w, 3, 0, 1);
	putstr(&w, "x.y");
	put32(&w, 13);
	put64(&w, 0);
	refused(&w, LC_EPARSE, "'x.y'", "unknown value type 13");
	header(&w, 3, 0, 1);
	putstr(&w, "x.arr");
	put32(&w, LC_GGUF_TYPE_ARRAY);
	put32(&w, 99);
	put64(&w, 0);
	refused(&w, LC_EPARSE, "'x.arr'", "unknown element type 99");
	header(&w, 3, 0, 1);
	putstr(&w, "x.flag");
	put32(&w, LC_GGUF_TYPE_BOOL);
	put(&w, "\2", 1);
	refused(&w, LC_EPARSE, "'x.flag'", "not a bool");

	/* arrays nested too deep: each level one array of one array */
	{
		int i;
		header(&w, 3, 0, 1);
		putstr(&w, "x.deep");
		put32(&w, LC_GGUF_TYPE_ARRAY);
		for (i = 0; i < 100; i++) {
			put32(&w, LC_GGUF_TYPE_ARRAY);
			put64(&w, 1);
		}
		put32(&w, LC_GGUF_TYPE_UINT8);
		put64(&w, 0);
		refused(&w, LC_EPARSE, "'x.deep'", "nested deeper");
	}

	/* duplicate key */
	header(&w, 3, 0, 2);
	kv_u32(&w, "llama.block_count", 1);
	kv_u32(&w, "llama.block_count", 2);
	refused(&w, LC_EPARSE, "duplicate key 'llama.block_count'", NULL);

	/* a non-printable key is shown escaped */
	header(&w, 3, 0, 2);
	kv_u32(&w, "a\x01", 1);
	kv_u32(&w, "a\x01", 2);
	refused(&w, LC_EPARSE, "duplicate key 'a\\x01'", NULL);

	/* general.alignment: wrong type, zero, not a power of two */
	header(&w, 3, 0, 1);
	putstr(&w, "general.alignment");
	put32(&w, LC_GGUF_TYPE_UINT64);
	put64(&w, 32);
	refused(&w, LC_EPARSE, "'general.alignment'", "uint32");
	header(&w, 3, 0, 1);
	kv_u32(&w, "general.alignment", 0);
	refused(&w, LC_EPARSE, "'general.alignment'", "power of two");
	header(&w, 3, 0, 1);
	kv_u32(&w, "general.alignment", 48);
	refused(&w, LC_EPARSE, "'general.alignment'", "power of two");

	/* n_dims 5 and 0 */
	header(&w, 3, 1, 0);
	tinfo(&w, "blk.0.ffn_up.weight", 5, ne5, 5, LC_QTYPE_F32, 0);
	data(&w, 32);
	refused(&w, LC_EPARSE, "'blk.0.ffn_up.weight'", "5 dimensions");
	header(&w, 3, 1, 0);
	tinfo(&w, "t0", 0, ne1, 0, LC_QTYPE_F32, 0);
	data(&w, 32);
	refused(&w, LC_EPARSE, "'t0'", "0 dimensions");

	/* a dimension of 0, one above INT64_MAX */
	header(&w, 3, 1, 0);
	tinfo(&w, "t.zero", 2, ne0, 2, LC_QTYPE_F32, 0);
	data(&w, 32);
	refused(&w, LC_EPARSE, "'t.zero'", "dimension 1");
	header(&w, 3, 1, 0);
	tinfo(&w, "t.neg", 1, neneg, 1, LC_QTYPE_F32, 0);
	data(&w, 32);
	refused(&w, LC_EPARSE, "'t.neg'", "dimension 0");

	/* element count overflow */
	header(&w, 3, 1, 0);
	tinfo(&w, "t.huge", 2, big, 2, LC_QTYPE_F32, 0);
	data(&w, 32);
	refused(&w, LC_EPARSE, "'t.huge'", "overflow");

	/* IQ2_XXS (16) has no kernels in lcode but a size (66 bytes per 256 elements,
	 * ggml-common.h): read and bounds-checked like any type, so it can be listed;
	 * 8 elements are not whole blocks. Q4_0_4_4 (31), which ggml removed, is
	 * refused by name; 1000 is no ggml type. */
	header(&w, 3, 1, 0);
	tinfo(&w, "t.iq", 1, ne256, 1, LC_QTYPE_IQ2_XXS, 0);
	data(&w, 66);
	accepted(&w);
	header(&w, 3, 1, 0);
	tinfo(&w, "t.iq", 1, ne256, 1, LC_QTYPE_IQ2_XXS, 0);
	data(&w, 65);
	refused(&w, LC_EPARSE, "'t.iq'", "past end of file");
	header(&w, 3, 1, 0);
	tinfo(&w, "t.iq", 1, ne1, 1, LC_QTYPE_IQ2_XXS, 0);
	data(&w, 32);
	refused(&w, LC_EPARSE, "'t.iq'", "blocks of IQ2_XXS");
	header(&w, 3, 1, 0);
	tinfo(&w, "t.iq", 1, ne1, 1, 31, 0);
	data(&w, 32);
	refused(&w, LC_EUNSUPPORTED, "'t.iq'", "type 31 (Q4_0_4_4), which ggml removed");
	header(&w, 3, 1, 0);
	tinfo(&w, "t.iq", 1, ne1, 1, 1000, 0);
	data(&w, 32);
	refused(&w, LC_EUNSUPPORTED, "'t.iq'", "type 1000, unknown to lcode");

	/* a row that is not whole blocks: 33 elements of Q4_0 (32 per block) */
	header(&w, 3, 1, 0);
	tinfo(&w, "t.q", 1, ne33, 1, LC_QTYPE_Q4_0, 0);
	data(&w, 64);
	refused(&w, LC_EPARSE, "'t.q'", "multiple");

	/* offset past the end, data running past the end, misaligned offset */
	header(&w, 3, 1, 0);
	tinfo(&w, "t.far", 1, ne1, 1, LC_QTYPE_F32, 4096);
	data(&w, 32);
	refused(&w, LC_EPARSE, "'t.far'", "past end of file");
	header(&w, 3, 1, 0);
	tinfo(&w, "t.long", 1, ne1, 1, LC_QTYPE_F32, 0);
	data(&w, 31);
	refused(&w, LC_EPARSE, "'t.long'", "past end of file");
	header(&w, 3, 1, 0);
	tinfo(&w, "t.odd", 1, ne1, 1, LC_QTYPE_F32, 8);
	data(&w, 64);
	refused(&w, LC_EPARSE, "'t.odd'", "not a multiple of the alignment 32");
	header(&w, 3, 1, 0);
	tinfo(&w, "t.wrap", 1, ne1, 1, LC_QTYPE_F32, UINT64_MAX - 31);
	data(&w, 32);
	refused(&w, LC_EPARSE, "'t.wrap'", "past end of file");

	/* duplicate tensor name */
	header(&w, 3, 2, 0);
	tinfo(&w, "output.weight", 1, ne1, 1, LC_QTYPE_F32, 0);
	tinfo(&w, "output.weight", 1, ne1, 1, LC_QTYPE_F32, 32);
	data(&w, 64);
	refused(&w, LC_EPARSE, "duplicate tensor 'output.weight'", NULL);
}

/* --- files written by llama.cpp ------------------------------------------ */

static void check_vocab(const char *file, const char *model)
{
	const char *dir = getenv("LC_SHARED_DATA");
	char path[4096], *out = NULL;
	lc_gguf *g = NULL;
	lc_gguf_str s;
	lc_gguf_arr toks;
	size_t len = 0, i;
	long max_id = -1, id;
	char *p, *end;

	assert_non_null(dir);
	snprintf(path, sizeof(path), "%s/vocab/%s.gguf", dir, file);
	lc_err_clear();
	if (lc_gguf_open(&g, path) != 0)
		fail_msg("%s: %s", path, lc_err_msg());
	assert_int_equal(lc_gguf_version(g), 3);
	assert_int_equal(lc_gguf_n_tensors(g), 0);
	assert_int_equal(lc_gguf_get_str(g, "tokenizer.ggml.model", &s), 0);
	assert_str(s, model);
	assert_int_equal(lc_gguf_get_arr(g, "tokenizer.ggml.tokens", &toks), 0);
	assert_int_equal(toks.type, LC_GGUF_TYPE_STRING);

	/* every id in the expected tokenizations names a token of the array */
	snprintf(path, sizeof(path), "%s/vocab/%s.gguf.out", dir, file);
	assert_int_equal(lc_file_read(path, 1 << 24, &out, &len), 0);
	for (p = out; *p; p = end) {
		id = strtol(p, &end, 10);
		if (end == p) {
			end = p + 1;
			continue;
		}
		if (id > max_id)
			max_id = id;
	}
	assert_true(max_id > 0);
	assert_true((uint64_t)max_id < toks.n);
	/* all elements are reachable and within the file */
	for (i = 0; i < toks.n; i++) {
		s = lc_gguf_arr_str(g, &toks, i);
		assert_true(s.len < 1024);
	}
	free(out);
	lc_gguf_free(g);
}

static void test_vocab_files(void **state)
{
	/* tokenizer.ggml.model per the README in $LC_SHARED_DATA/vocab */
	check_vocab("ggml-vocab-llama-bpe", "gpt2");
	check_vocab("ggml-vocab-qwen2", "gpt2");
	check_vocab("ggml-vocab-deepseek-coder", "gpt2");
	check_vocab("ggml-vocab-deepseek-llm", "gpt2");
	check_vocab("ggml-vocab-starcoder", "gpt2");
	check_vocab("ggml-vocab-gpt-2", "gpt2");
	check_vocab("ggml-vocab-llama-spm", "llama");
}

static void test_vocab_known_tokens(void **state)
{
	const char *dir = getenv("LC_SHARED_DATA");
	char path[4096];
	lc_gguf *g = NULL;
	lc_gguf_arr toks;
	uint32_t bos;

	/* GPT-2's vocabulary: 50257 tokens, the last is <|endoftext|> (also BOS) */
	snprintf(path, sizeof(path), "%s/vocab/ggml-vocab-gpt-2.gguf", dir);
	assert_int_equal(lc_gguf_open(&g, path), 0);
	assert_int_equal(lc_gguf_get_arr(g, "tokenizer.ggml.tokens", &toks), 0);
	assert_int_equal(toks.n, 50257);
	assert_str(lc_gguf_arr_str(g, &toks, 50256), "<|endoftext|>");
	assert_str(lc_gguf_arr_str(g, &toks, 0), "!");
	assert_int_equal(lc_gguf_get_u32(g, "tokenizer.ggml.bos_token_id", &bos), 0);
	assert_int_equal(bos, 50256);
	lc_gguf_free(g);

	/* Llama 2's SentencePiece vocabulary: 32000 tokens, <unk> <s> </s> <0x00> first */
	snprintf(path, sizeof(path), "%s/vocab/ggml-vocab-llama-spm.gguf", dir);
	assert_int_equal(lc_gguf_open(&g, path), 0);
	assert_int_equal(lc_gguf_get_arr(g, "tokenizer.ggml.tokens", &toks), 0);
	assert_int_equal(toks.n, 32000);
	assert_str(lc_gguf_arr_str(g, &toks, 0), "<unk>");
	assert_str(lc_gguf_arr_str(g, &toks, 1), "<s>");
	assert_str(lc_gguf_arr_str(g, &toks, 2), "</s>");
	assert_str(lc_gguf_arr_str(g, &toks, 3), "<0x00>");
	assert_int_equal(lc_gguf_get_arr(g, "tokenizer.ggml.scores", &toks), 0);
	assert_int_equal(toks.type, LC_GGUF_TYPE_FLOAT32);
	assert_int_equal(toks.n, 32000);
	lc_gguf_free(g);
}

static void test_open_errors(void **state)
{
	lc_gguf *g = NULL;
	char *path = fixture_path("no-such-file.gguf");

	lc_err_clear();
	assert_int_equal(lc_gguf_open(&g, path), LC_ENOTFOUND);
	assert_null(g);
	lc_err_clear();
	assert_int_equal(lc_gguf_open(&g, "/"), LC_EIO);
	lc_err_clear();
	assert_int_equal(lc_gguf_open(&g, "/dev/null"), LC_EIO);
	lc_err_clear();
	lc_gguf_free(NULL);
	free(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_v3_all_types),
	        cmocka_unit_test(test_v2_all_types),
	        cmocka_unit_test(test_default_alignment),
	        cmocka_unit_test(test_alignment_256),
	        cmocka_unit_test(test_keys_in_order),
	        cmocka_unit_test(test_getter_conversions),
	        cmocka_unit_test(test_truncation_v2),
	        cmocka_unit_test(test_truncation_align256),
	        cmocka_unit_test(test_truncation_message),
	        cmocka_unit_test(test_hostile_headers),
	        cmocka_unit_test(test_vocab_files),
	        cmocka_unit_test(test_vocab_known_tokens),
	        cmocka_unit_test(test_open_errors),
	};
	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
