/* Tests for prompts/: embedded text equals the source file; overrides work. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "prompts/prompts.h"
#include "src/err.h"
#include "src/file.h"

static void test_builtin_matches_source_file(void **state)
{
	char path[4096], *want;
	size_t want_len, len;
	const char *got;

	/* The file in the source tree is the independent reference. */
	snprintf(path, sizeof(path), "%s/prompts/system.md", getenv("LC_SOURCE_ROOT"));
	assert_int_equal(lc_file_read(path, 1 << 20, &want, &want_len), 0);
	got = lc_prompt_builtin("system", &len);
	assert_non_null(got);
	assert_int_equal(len, want_len);
	assert_memory_equal(got, want, len);
	free(want);
}

static void test_override_dir(void **state)
{
	char dir[] = "/tmp/lc-test-prompts-XXXXXX", path[128];
	lc_buf b = LC_BUF_INIT(1 << 20);

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/system.md", dir);
	assert_int_equal(lc_file_write_atomic(path, "custom prompt\n", 14), 0);
	setenv("LCODE_PROMPT_DIR", dir, 1);
	assert_int_equal(lc_prompt_load("system", &b), 0);
	assert_string_equal(b.data, "custom prompt\n");
	unsetenv("LCODE_PROMPT_DIR");
	lc_buf_reset(&b);
	assert_int_equal(lc_prompt_load("system", &b), 0);
	assert_string_not_equal(b.data, "custom prompt\n");
	unlink(path);
	rmdir(dir);
	lc_buf_release(&b);
}

static void test_unknown_and_capped(void **state)
{
	lc_buf b = LC_BUF_INIT(10);

	lc_err_clear();
	assert_int_equal(lc_prompt_load("no-such-prompt", &b), LC_ENOTFOUND);
	assert_int_equal(lc_prompt_load("../etc/passwd", &b), LC_ENOTFOUND);
	assert_int_equal(lc_prompt_load("system", &b), LC_ETOOBIG);
	assert_int_equal(b.len, 0);
	lc_err_clear();
	lc_buf_release(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_builtin_matches_source_file),
	        cmocka_unit_test(test_override_dir),
	        cmocka_unit_test(test_unknown_and_capped),
	};
	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
