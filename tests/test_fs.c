/*
 * Tests for tools/fs.c: read_file, list_files, search and globs.
 * Expected outputs are written by hand from the files each test makes; the
 * file listing is also checked against `git ls-files --cached --others
 * --exclude-standard` run through the git program.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "src/buf.h"
#include "src/err.h"
#include "tests/testrepo.h"
#include "tools/fs.h"
#include "tools/repo.h"

struct fx {
	char dir[PATH_MAX];
	lc_repo *repo;
	lc_buf out;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	char twelve[256] = "";
	int i;

	if (!f || testrepo_init(f->dir, 1) != 0)
		return -1;
	for (i = 1; i <= 12; i++) {
		char l[32];
		snprintf(l, sizeof(l), "line%d\n", i);
		memcpy(twelve + strlen(twelve), l, strlen(l) + 1);
	}
	testrepo_write(f->dir, "twelve.txt", twelve, (size_t)-1);
	testrepo_write(f->dir, "abc.txt", "a\nb\nc\n", (size_t)-1);
	testrepo_write(f->dir, ".gitignore", "build/\n*.log\n", (size_t)-1);
	testrepo_write(f->dir, "src/b.c", "int beta;\nint alpha;\n", (size_t)-1);
	testrepo_write(f->dir, "src/c.h", "/* beta here */\n", (size_t)-1);
	testrepo_write(f->dir, "build/out.o", "beta in build\n", (size_t)-1);
	testrepo_write(f->dir, "debug.log", "beta in log\n", (size_t)-1);
	testrepo_write(f->dir, "keep.log", "beta kept\n", (size_t)-1);
	testrepo_write(f->dir, "bin.dat", "beta\0\0\1binary", 14);
	if (testrepo_sh("cd '%s' && git add . && git add -f keep.log && git commit -qm init",
	                f->dir) != 0)
		return -1;
	testrepo_write(f->dir, "new.txt", "untracked beta\n", (size_t)-1);
	if (lc_repo_open(&f->repo, f->dir) != 0)
		return -1;
	lc_buf_init(&f->out, 1 << 20);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	lc_buf_release(&f->out);
	lc_repo_free(f->repo);
	testrepo_remove(f->dir);
	free(f);
	return 0;
}

static const char *read_range(struct fx *f, const char *path, size_t first, size_t last,
                              int want_rc)
{
	lc_fs_read_opts o = LC_FS_READ_OPTS_INIT;

	o.first_line = first;
	o.last_line = last;
	lc_buf_reset(&f->out);
	lc_err_clear();
	assert_int_equal(lc_fs_read(f->repo, path, &o, &f->out), want_rc);
	return f->out.data ? f->out.data : "";
}

static void test_read_numbers_lines(void **state)
{
	struct fx *f = *state;

	assert_string_equal(read_range(f, "abc.txt", 0, 0, 0), "1| a\n2| b\n3| c\n");
	/* width follows the file's last line number (12: two digits) */
	assert_string_equal(read_range(f, "twelve.txt", 8, 10, 0),
	                    " 8| line8\n 9| line9\n10| line10\n");
	assert_string_equal(read_range(f, "twelve.txt", 12, 0, 0), "12| line12\n");
	assert_string_equal(read_range(f, "twelve.txt", 11, 99, 0), "11| line11\n12| line12\n");
}

static void test_read_line_cap_says_what_is_left(void **state)
{
	struct fx *f = *state;
	lc_fs_read_opts o = LC_FS_READ_OPTS_INIT;

	o.max_lines = 5;
	lc_buf_reset(&f->out);
	assert_int_equal(lc_fs_read(f->repo, "twelve.txt", &o, &f->out), 0);
	assert_string_equal(f->out.data, " 1| line1\n 2| line2\n 3| line3\n 4| line4\n 5| line5\n"
	                                 "[... 7 more lines; read with start=6]\n");
}

static void test_read_byte_cap(void **state)
{
	struct fx *f = *state;
	lc_fs_read_opts o = LC_FS_READ_OPTS_INIT;

	/* 200 bytes are kept for the note; 30 more hold three 10-byte lines " 1| line1\n". */
	o.max_bytes = 200 + 30;
	lc_buf_reset(&f->out);
	assert_int_equal(lc_fs_read(f->repo, "twelve.txt", &o, &f->out), 0);
	assert_string_equal(f->out.data, " 1| line1\n 2| line2\n 3| line3\n"
	                                 "[... 9 more lines; read with start=4]\n");
}

static void test_read_long_line_cut(void **state)
{
	struct fx *f = *state;
	lc_fs_read_opts o = LC_FS_READ_OPTS_INIT;

	testrepo_write(f->dir, "long.txt", "xxxxxxxxxxxxxxxxxxxxxxxxx\nok\n", (size_t)-1);
	o.max_line = 10;
	lc_buf_reset(&f->out);
	assert_int_equal(lc_fs_read(f->repo, "long.txt", &o, &f->out), 0);
	assert_string_equal(f->out.data, "1| xxxxxxxxxx [... 15 more bytes]\n2| ok\n");
}

static void test_read_edge_cases(void **state)
{
	struct fx *f = *state;

	testrepo_write(f->dir, "crlf.txt", "one\r\ntwo", (size_t)-1);
	assert_string_equal(read_range(f, "crlf.txt", 0, 0, 0), "1| one\n2| two\n");
	testrepo_write(f->dir, "empty.txt", "", 0);
	assert_string_equal(read_range(f, "empty.txt", 0, 0, 0), "[empty file]\n");
	read_range(f, "bin.dat", 0, 0, LC_EUNSUPPORTED);
	assert_non_null(strstr(lc_err_msg(), "binary"));
	read_range(f, "src", 0, 0, LC_EPARSE);
	assert_non_null(strstr(lc_err_msg(), "directory"));
	read_range(f, "nope.txt", 0, 0, LC_ENOTFOUND);
	read_range(f, "twelve.txt", 13, 0, LC_EPARSE);
	assert_non_null(strstr(lc_err_msg(), "12 lines"));
	read_range(f, "twelve.txt", 5, 4, LC_EPARSE);
	read_range(f, "../etc/passwd", 0, 0, LC_EDENIED);
	read_range(f, "/etc/passwd", 0, 0, LC_EDENIED);
}

static void test_list_follows_gitignore(void **state)
{
	struct fx *f = *state;
	char *want;

	lc_buf_reset(&f->out);
	assert_int_equal(lc_fs_list(f->repo, NULL, NULL, NULL, &f->out), 0);
	assert_string_equal(f->out.data, ".gitignore\nabc.txt\nbin.dat\nkeep.log\nnew.txt\n"
	                                 "src/b.c\nsrc/c.h\ntwelve.txt\n");
	/* the same set as git's own answer */
	want = testrepo_out("cd '%s' && git ls-files --cached --others --exclude-standard | "
	                    "LC_ALL=C sort",
	                    f->dir);
	assert_non_null(want);
	assert_string_equal(f->out.data, want);
	free(want);
}

static void test_list_dir_glob_and_cap(void **state)
{
	struct fx *f = *state;
	lc_fs_list_opts o = LC_FS_LIST_OPTS_INIT;

	lc_buf_reset(&f->out);
	assert_int_equal(lc_fs_list(f->repo, "src", "*.h", NULL, &f->out), 0);
	assert_string_equal(f->out.data, "src/c.h\n");
	lc_buf_reset(&f->out);
	assert_int_equal(lc_fs_list(f->repo, "", "*.{c,log}", NULL, &f->out), 0);
	assert_string_equal(f->out.data, "keep.log\nsrc/b.c\n");
	lc_buf_reset(&f->out);
	assert_int_equal(lc_fs_list(f->repo, NULL, "*.rs", NULL, &f->out), 0);
	assert_string_equal(f->out.data, "[no files]\n");
	o.max_entries = 2;
	lc_buf_reset(&f->out);
	assert_int_equal(lc_fs_list(f->repo, NULL, NULL, &o, &f->out), 0);
	assert_string_equal(f->out.data,
	                    ".gitignore\nabc.txt\n[... 6 more files; narrow with dir or glob]\n");
	lc_buf_reset(&f->out);
	lc_err_clear();
	assert_int_equal(lc_fs_list(f->repo, "missing", NULL, NULL, &f->out), LC_ENOTFOUND);
	assert_int_equal(lc_fs_list(f->repo, "..", NULL, NULL, &f->out), LC_EDENIED);
}

static void test_glob_match(void **state)
{
	/* Cases worked by hand from the rules in fs.h (gitignore-like). */
	assert_true(lc_fs_glob_match("*.c", "src/a.c"));
	assert_false(lc_fs_glob_match("*.c", "src/a.h"));
	assert_false(lc_fs_glob_match("src/*.c", "src/x/a.c"));
	assert_true(lc_fs_glob_match("src/*.c", "src/a.c"));
	assert_true(lc_fs_glob_match("src/**/*.c", "src/x/y/a.c"));
	assert_true(lc_fs_glob_match("src/**/*.c", "src/a.c"));
	assert_true(lc_fs_glob_match("**/test_*.c", "tests/test_fs.c"));
	assert_true(lc_fs_glob_match("**/test_*.c", "test_fs.c"));
	assert_true(lc_fs_glob_match("*.{c,h}", "x.h"));
	assert_false(lc_fs_glob_match("*.{c,h}", "x.cc"));
	assert_true(lc_fs_glob_match("[ab].c", "b.c"));
	assert_false(lc_fs_glob_match("[ab].c", "c.c"));
	assert_true(lc_fs_glob_match("[!ab].c", "c.c"));
	assert_false(lc_fs_glob_match("?.c", "ab.c"));
	assert_true(lc_fs_glob_match("/src/a.c", "src/a.c"));
	assert_true(lc_fs_glob_match("src/**", "src/deep/er/f"));
	assert_false(lc_fs_glob_match("src/**", "srcx/f"));
}

static void test_search_lines(void **state)
{
	struct fx *f = *state;

	lc_buf_reset(&f->out);
	assert_int_equal(lc_fs_search(f->repo, "bet[a-z]", NULL, NULL, NULL, &f->out), 0);
	/* bin.dat is binary; build/ and debug.log are ignored; keep.log is tracked. */
	assert_string_equal(f->out.data, "keep.log:1:beta kept\n"
	                                 "new.txt:1:untracked beta\n"
	                                 "src/b.c:1:int beta;\n"
	                                 "src/c.h:1:/* beta here */\n"
	                                 "[skipped 1 binary file(s), 0 file(s) over 16777216 "
	                                 "bytes]\n");
	lc_buf_reset(&f->out);
	assert_int_equal(lc_fs_search(f->repo, "^int \\w+;$", "src", "*.c", NULL, &f->out), 0);
	assert_string_equal(f->out.data, "src/b.c:1:int beta;\nsrc/b.c:2:int alpha;\n");
	lc_buf_reset(&f->out);
	assert_int_equal(lc_fs_search(f->repo, "line1[0-2]", "twelve.txt", NULL, NULL, &f->out), 0);
	assert_string_equal(f->out.data,
	                    "twelve.txt:10:line10\ntwelve.txt:11:line11\ntwelve.txt:12:line12\n");
	lc_buf_reset(&f->out);
	assert_int_equal(lc_fs_search(f->repo, "zebra", NULL, NULL, NULL, &f->out), 0);
	assert_non_null(strstr(f->out.data, "[no matches]\n"));
}

static void test_search_caps_and_case(void **state)
{
	struct fx *f = *state;
	lc_fs_search_opts o = LC_FS_SEARCH_OPTS_INIT;

	o.max_matches = 2;
	lc_buf_reset(&f->out);
	assert_int_equal(lc_fs_search(f->repo, "line", "twelve.txt", NULL, &o, &f->out), 0);
	assert_string_equal(f->out.data, "twelve.txt:1:line1\ntwelve.txt:2:line2\n"
	                                 "[... more matches not shown; narrow the pattern, path "
	                                 "or glob]\n");
	o = (lc_fs_search_opts)LC_FS_SEARCH_OPTS_INIT;
	o.ignore_case = 1;
	lc_buf_reset(&f->out);
	assert_int_equal(lc_fs_search(f->repo, "LINE12", NULL, NULL, &o, &f->out), 0);
	assert_string_equal(f->out.data, "twelve.txt:12:line12\n"
	                                 "[skipped 1 binary file(s), 0 file(s) over 16777216 "
	                                 "bytes]\n");
}

static void test_search_bad_regex(void **state)
{
	struct fx *f = *state;

	lc_buf_reset(&f->out);
	lc_err_clear();
	assert_int_equal(lc_fs_search(f->repo, "a(b", NULL, NULL, NULL, &f->out), LC_EPARSE);
	/* PCRE2 reports the missing ')' at the end of the pattern, offset 3 */
	assert_non_null(strstr(lc_err_msg(), "offset 3"));
	assert_non_null(strstr(lc_err_msg(), "missing closing parenthesis"));
	assert_int_equal(f->out.len, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_read_numbers_lines, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_read_line_cap_says_what_is_left, setup,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(test_read_byte_cap, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_read_long_line_cut, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_read_edge_cases, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_list_follows_gitignore, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_list_dir_glob_and_cap, setup, teardown),
	        cmocka_unit_test(test_glob_match),
	        cmocka_unit_test_setup_teardown(test_search_lines, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_search_caps_and_case, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_search_bad_regex, setup, teardown),
	};

	testrepo_isolate();
	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
