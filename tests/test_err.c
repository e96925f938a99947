/* Tests for src/err.c: the error slot keeps the first message. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "src/err.h"

static int setup(void **state)
{
	lc_err_clear();
	return 0;
}

static void test_set_returns_code_and_message(void **state)
{
	assert_int_equal(lc_err_set(LC_EPARSE, "gguf: tensor '%s' runs past end", "w"), LC_EPARSE);
	assert_string_equal(lc_err_msg(), "gguf: tensor 'w' runs past end");
	assert_int_equal(lc_err_code(), LC_EPARSE);
}

static void test_first_message_is_kept(void **state)
{
	lc_err_set(LC_EPARSE, "precise message");
	assert_int_equal(lc_err_set(LC_EIO, "vague message"), LC_EIO);
	assert_string_equal(lc_err_msg(), "precise message");
	assert_int_equal(lc_err_code(), LC_EPARSE);
}

static void test_clear_allows_new_message(void **state)
{
	lc_err_set(LC_EPARSE, "old");
	lc_err_clear();
	assert_string_equal(lc_err_msg(), "");
	assert_int_equal(lc_err_code(), 0);
	lc_err_set(LC_ENOTFOUND, "new");
	assert_string_equal(lc_err_msg(), "new");
}

static void test_prefix_adds_context(void **state)
{
	lc_err_set(LC_EPARSE, "bad magic");
	assert_int_equal(lc_err_prefix(LC_EPARSE, "loading '%s'", "m.gguf"), LC_EPARSE);
	assert_string_equal(lc_err_msg(), "loading 'm.gguf': bad magic");
	lc_err_clear();
	lc_err_prefix(LC_ERROR, "only context");
	assert_string_equal(lc_err_msg(), "only context");
	assert_int_equal(lc_err_code(), LC_ERROR);
}

static void test_errno_text_appended(void **state)
{
	lc_err_set_errno(LC_EIO, ENOENT, "cannot open '%s'", "x");
	/* strerror(ENOENT) is the independent reference for the suffix. */
	char want[256];
	snprintf(want, sizeof(want), "cannot open 'x': %s", strerror(ENOENT));
	assert_string_equal(lc_err_msg(), want);
}

static void test_long_message_is_cut_not_overflowed(void **state)
{
	char big[LC_ERR_MSG_MAX * 2];

	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	lc_err_set(LC_ERROR, "%s", big);
	assert_int_equal(strlen(lc_err_msg()), LC_ERR_MSG_MAX - 1);
}

/* What the other thread saw of its own slot, for the main thread to assert. */
struct other_view {
	int code_on_entry;
	char msg_on_entry[LC_ERR_MSG_MAX];
	int code_after_set;
	char msg_after_set[LC_ERR_MSG_MAX];
};

static void *other_thread(void *arg)
{
	struct other_view *v = arg;

	/* A fresh thread starts with an empty slot, whatever the main thread holds. */
	v->code_on_entry = lc_err_code();
	snprintf(v->msg_on_entry, sizeof(v->msg_on_entry), "%s", lc_err_msg());
	/* So its own message is kept, not refused as a second one. */
	lc_err_set(LC_ETIMEOUT, "from the other thread");
	v->code_after_set = lc_err_code();
	snprintf(v->msg_after_set, sizeof(v->msg_after_set), "%s", lc_err_msg());
	return NULL;
}

/*
 * With one slot shared by both threads, the other thread would find "mine"
 * on entry and read "mine" back after its own lc_err_set (the slot keeps the
 * first message), so the first two pairs of assertions fail; a shared slot
 * that the other thread could overwrite fails the last pair.
 */
static void test_slot_is_per_thread(void **state)
{
	struct other_view v;
	pthread_t t;

	memset(&v, 0x55, sizeof(v));
	lc_err_set(LC_EPARSE, "mine");
	assert_int_equal(pthread_create(&t, NULL, other_thread, &v), 0);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(v.code_on_entry, 0);
	assert_string_equal(v.msg_on_entry, "");
	assert_int_equal(v.code_after_set, LC_ETIMEOUT);
	assert_string_equal(v.msg_after_set, "from the other thread");
	assert_int_equal(lc_err_code(), LC_EPARSE);
	assert_string_equal(lc_err_msg(), "mine");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup(test_set_returns_code_and_message, setup),
	        cmocka_unit_test_setup(test_first_message_is_kept, setup),
	        cmocka_unit_test_setup(test_clear_allows_new_message, setup),
	        cmocka_unit_test_setup(test_prefix_adds_context, setup),
	        cmocka_unit_test_setup(test_errno_text_appended, setup),
	        cmocka_unit_test_setup(test_long_message_is_cut_not_overflowed, setup),
	        cmocka_unit_test_setup(test_slot_is_per_thread, setup),
	};
	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
