/* Tests for src/arena.c: alignment, the cap, reuse after reset. */
#include <setjmp.h>
#include <stdalign.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "src/arena.h"
#include "src/err.h"

static void test_alignment_and_distinct(void **state)
{
	lc_arena a;
	char *p, *q;

	lc_arena_init(&a, 1 << 20);
	p = lc_arena_alloc(&a, 3);
	q = lc_arena_alloc(&a, 5);
	assert_non_null(p);
	assert_non_null(q);
	assert_int_equal((uintptr_t)p % alignof(max_align_t), 0);
	assert_int_equal((uintptr_t)q % alignof(max_align_t), 0);
	assert_true(q >= p + 3);
	memset(p, 1, 3);
	memset(q, 2, 5);
	assert_int_equal(p[2], 1);
	lc_arena_release(&a);
}

static void test_cap_is_enforced(void **state)
{
	lc_arena a;

	lc_err_clear();
	lc_arena_init(&a, 100000);
	assert_non_null(lc_arena_alloc(&a, 1000));
	assert_null(lc_arena_alloc(&a, 200000));
	assert_int_equal(lc_err_code(), LC_ETOOBIG);
	lc_err_clear();
	lc_arena_release(&a);
}

static void test_reset_reuses_memory(void **state)
{
	lc_arena a;
	void *p, *q;
	size_t total;

	lc_arena_init(&a, 1 << 22);
	p = lc_arena_alloc(&a, 100);
	for (int i = 0; i < 100; i++)
		assert_non_null(lc_arena_alloc(&a, 10000));
	total = a.total;
	lc_arena_reset(&a);
	q = lc_arena_alloc(&a, 100);
	assert_ptr_equal(p, q);
	for (int i = 0; i < 100; i++)
		assert_non_null(lc_arena_alloc(&a, 10000));
	assert_int_equal(a.total, total);
	lc_arena_release(&a);
}

static void test_large_allocation(void **state)
{
	lc_arena a;
	char *p;

	lc_arena_init(&a, 1 << 24);
	p = lc_arena_alloc(&a, 3 * LC_ARENA_CHUNK);
	assert_non_null(p);
	memset(p, 7, 3 * LC_ARENA_CHUNK);
	assert_non_null(lc_arena_alloc(&a, 1));
	lc_arena_release(&a);
}

static void test_strndup(void **state)
{
	lc_arena a;
	char *s;

	lc_arena_init(&a, 1 << 16);
	s = lc_arena_strndup(&a, "hello world", 5);
	assert_string_equal(s, "hello");
	lc_arena_release(&a);
}

static void test_overflowing_size(void **state)
{
	lc_arena a;

	lc_err_clear();
	lc_arena_init(&a, SIZE_MAX);
	assert_null(lc_arena_alloc(&a, SIZE_MAX - 3));
	assert_int_equal(lc_err_code(), LC_ETOOBIG);
	lc_err_clear();
	lc_arena_release(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_alignment_and_distinct),
	        cmocka_unit_test(test_cap_is_enforced),
	        cmocka_unit_test(test_reset_reuses_memory),
	        cmocka_unit_test(test_large_allocation),
	        cmocka_unit_test(test_strndup),
	        cmocka_unit_test(test_overflowing_size),
	};
	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
