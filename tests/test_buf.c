/* Tests for src/buf.c: growth, the cap, all-or-nothing appends, ownership. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "src/buf.h"
#include "src/err.h"

static void test_append_grows_and_terminates(void **state)
{
	lc_buf b = LC_BUF_INIT(1 << 20);
	int i;

	for (i = 0; i < 1000; i++)
		assert_int_equal(lc_buf_adds(&b, "abc"), 0);
	assert_int_equal(b.len, 3000);
	assert_int_equal(b.data[b.len], '\0');
	assert_memory_equal(b.data + 2997, "abc", 3);
	lc_buf_release(&b);
	assert_null(b.data);
}

static void test_cap_exact_fits(void **state)
{
	lc_buf b = LC_BUF_INIT(5);

	assert_int_equal(lc_buf_adds(&b, "hello"), 0);
	assert_string_equal(b.data, "hello");
	lc_buf_release(&b);
}

static void test_cap_exceeded_appends_nothing(void **state)
{
	lc_buf b = LC_BUF_INIT(8);

	assert_int_equal(lc_buf_adds(&b, "12345"), 0);
	assert_int_equal(lc_buf_adds(&b, "6789"), LC_ETOOBIG);
	assert_int_equal(b.len, 5);
	assert_string_equal(b.data, "12345");
	assert_int_equal(lc_buf_addf(&b, "%d", 1234), LC_ETOOBIG);
	assert_string_equal(b.data, "12345");
	assert_int_equal(lc_buf_addf(&b, "%d", 678), 0);
	assert_string_equal(b.data, "12345678");
	assert_int_equal(lc_buf_addc(&b, 'x'), LC_ETOOBIG);
	lc_buf_release(&b);
}

static void test_huge_request_does_not_overflow(void **state)
{
	lc_buf b = LC_BUF_INIT(SIZE_MAX);

	assert_int_equal(lc_buf_adds(&b, "x"), 0);
	assert_int_not_equal(lc_buf_grow(&b, SIZE_MAX), 0);
	assert_string_equal(b.data, "x");
	lc_buf_release(&b);
}

static void test_reset_keeps_allocation(void **state)
{
	lc_buf b = LC_BUF_INIT(1024);
	char *p;

	lc_buf_adds(&b, "some text");
	p = b.data;
	lc_buf_reset(&b);
	assert_int_equal(b.len, 0);
	assert_string_equal(b.data, "");
	lc_buf_adds(&b, "x");
	assert_ptr_equal(b.data, p);
	lc_buf_release(&b);
}

static void test_take_transfers_ownership(void **state)
{
	lc_buf b = LC_BUF_INIT(1024);
	size_t len = 0;
	char *s;

	lc_buf_addf(&b, "%s-%d", "id", 7);
	s = lc_buf_take(&b, &len);
	assert_string_equal(s, "id-7");
	assert_int_equal(len, 4);
	assert_null(b.data);
	assert_int_equal(b.len, 0);
	free(s);
	s = lc_buf_take(&b, &len);
	assert_string_equal(s, "");
	assert_int_equal(len, 0);
	free(s);
}

static void test_truncate(void **state)
{
	lc_buf b = LC_BUF_INIT(64);

	lc_buf_adds(&b, "abcdef");
	lc_buf_truncate(&b, 2);
	assert_string_equal(b.data, "ab");
	lc_buf_truncate(&b, 10);
	assert_string_equal(b.data, "ab");
	lc_buf_release(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_append_grows_and_terminates),
	        cmocka_unit_test(test_cap_exact_fits),
	        cmocka_unit_test(test_cap_exceeded_appends_nothing),
	        cmocka_unit_test(test_huge_request_does_not_overflow),
	        cmocka_unit_test(test_reset_keeps_allocation),
	        cmocka_unit_test(test_take_transfers_ownership),
	        cmocka_unit_test(test_truncate),
	};
	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
