/*
 * Tests for agent/loopguard.c. Expected detection points are worked out by
 * hand from the definition in loopguard.h: a tail of period p is caught when
 * it spans max(3p, 48) tokens.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "agent/loopguard.h"

/* Push tokens; return the 1-based count at which a loop was caught, or 0. */
static size_t push_all(lc_token_guard *g, const int32_t *t, size_t n, lc_loop *loop)
{
	for (size_t i = 0; i < n; i++)
		if (lc_token_guard_push(g, t[i], loop) == 1)
			return i + 1;
	return 0;
}

static void test_period_five_after_prefix(void **state)
{
	int32_t t[200];
	lc_token_guard g;
	lc_loop loop;

	for (int i = 0; i < 10; i++)
		t[i] = 1000 + i;
	for (int i = 10; i < 200; i++)
		t[i] = 1 + (i - 10) % 5;
	lc_token_guard_init(&g);
	/* The cycle starts at index 10; 48 tokens of it are needed: caught at 58. */
	assert_int_equal(push_all(&g, t, 200, &loop), 58);
	assert_int_equal(loop.period, 5);
	assert_int_equal(loop.start, 10);
	assert_int_equal(loop.rollback, 15);
	assert_int_equal(loop.banned, 1);
	lc_token_guard_release(&g);
}

static void test_period_one_needs_48(void **state)
{
	int32_t t[100];
	lc_token_guard g;
	lc_loop loop;

	for (int i = 0; i < 100; i++)
		t[i] = 7;
	lc_token_guard_init(&g);
	assert_int_equal(push_all(&g, t, 100, &loop), 48);
	assert_int_equal(loop.period, 1);
	assert_int_equal(loop.rollback, 1);
	lc_token_guard_release(&g);
}

static void test_long_period_needs_three_repeats(void **state)
{
	int32_t t[400];
	lc_token_guard g;
	lc_loop loop;

	for (int i = 0; i < 400; i++)
		t[i] = i % 40; /* period 40: 3 x 40 = 120 tokens */
	lc_token_guard_init(&g);
	assert_int_equal(push_all(&g, t, 400, &loop), 120);
	assert_int_equal(loop.period, 40);
	lc_token_guard_release(&g);
}

static void test_period_beyond_limit_is_not_caught(void **state)
{
	int32_t t[600];
	lc_token_guard g;
	lc_loop loop;

	for (int i = 0; i < 600; i++)
		t[i] = i % 129;
	lc_token_guard_init(&g);
	assert_int_equal(push_all(&g, t, 600, &loop), 0);
	lc_token_guard_release(&g);
}

static void test_ordinary_text_is_not_caught(void **state)
{
	lc_token_guard g;
	lc_loop loop;
	uint64_t x = 42;

	lc_token_guard_init(&g);
	/* Code-like text: a small alphabet, many short repeats, no long cycle. */
	for (int i = 0; i < 5000; i++) {
		x = x * 6364136223846793005ull + 1442695040888963407ull;
		assert_int_equal(lc_token_guard_push(&g, (int32_t)((x >> 33) % 12), &loop), 0);
	}
	lc_token_guard_release(&g);
}

static void test_truncate_then_diverge(void **state)
{
	int32_t t[100];
	lc_token_guard g;
	lc_loop loop;

	for (int i = 0; i < 100; i++)
		t[i] = i % 3;
	lc_token_guard_init(&g);
	assert_int_equal(push_all(&g, t, 100, &loop), 48);
	lc_token_guard_truncate(&g, loop.rollback);
	assert_int_equal(g.n, 3);
	/* A different continuation is not a loop; repeating the cycle again is. */
	assert_int_equal(lc_token_guard_push(&g, 9, &loop), 0);
	lc_token_guard_truncate(&g, 3);
	assert_int_equal(push_all(&g, t + 3, 97, &loop), 45);
	lc_token_guard_release(&g);
}

static void test_identical_calls(void **state)
{
	lc_call_guard g;
	size_t period = 0;

	lc_call_guard_init(&g);
	assert_int_equal(lc_call_guard_push(&g, "read_file", "{\"path\":\"a\"}", &period), 0);
	assert_int_equal(lc_call_guard_push(&g, "read_file", "{\"path\":\"a\"}", &period), 0);
	assert_int_equal(lc_call_guard_push(&g, "read_file", "{\"path\":\"a\"}", &period),
	                 LC_CALL_WARN);
	assert_int_equal(period, 1);
	assert_int_equal(lc_call_guard_push(&g, "read_file", "{\"path\":\"a\"}", &period),
	                 LC_CALL_STOP);
	lc_call_guard_release(&g);
}

static void test_cycle_of_calls(void **state)
{
	static const char *const names[] = {"search", "read_file", "edit"};
	lc_call_guard g;
	size_t period = 0;
	int v = 0, i;

	lc_call_guard_init(&g);
	/* Three different calls cycling: caught at the 9th call (3 x 3). */
	for (i = 0; i < 9 && v == 0; i++)
		v = lc_call_guard_push(&g, names[i % 3], "{}", &period);
	assert_int_equal(i, 9);
	assert_int_equal(v, LC_CALL_WARN);
	assert_int_equal(period, 3);
	/* Different arguments make different calls. */
	lc_call_guard_release(&g);
	lc_call_guard_init(&g);
	assert_int_equal(lc_call_guard_push(&g, "read_file", "{\"path\":\"a\"}", NULL), 0);
	assert_int_equal(lc_call_guard_push(&g, "read_file", "{\"path\":\"b\"}", NULL), 0);
	assert_int_equal(lc_call_guard_push(&g, "read_file", "{\"path\":\"c\"}", NULL), 0);
	/* A name/argument split does not collide: "ab"+"c" differs from "a"+"bc". */
	assert_int_equal(lc_call_guard_push(&g, "ab", "c", NULL), 0);
	assert_int_equal(lc_call_guard_push(&g, "a", "bc", NULL), 0);
	assert_int_equal(lc_call_guard_push(&g, "ab", "c", NULL), 0);
	lc_call_guard_release(&g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_period_five_after_prefix),
	        cmocka_unit_test(test_period_one_needs_48),
	        cmocka_unit_test(test_long_period_needs_three_repeats),
	        cmocka_unit_test(test_period_beyond_limit_is_not_caught),
	        cmocka_unit_test(test_ordinary_text_is_not_caught),
	        cmocka_unit_test(test_truncate_then_diverge),
	        cmocka_unit_test(test_identical_calls),
	        cmocka_unit_test(test_cycle_of_calls),
	};
	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
