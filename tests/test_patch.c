/*
 * Tests for tools/patch.c: unified diffs applied all or nothing. The diffs
 * follow the GNU diffutils manual ("Detailed Unified") and git's format;
 * every expected text was written by hand.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "tools/lines.h"
#include "tools/patch.h"
#include "src/buf.h"
#include "src/err.h"

struct fake_file {
	const char *path;
	const char *text;
};

struct fake_fs {
	const struct fake_file *files;
	size_t n;
	int reads;
};

static int fake_read(void *ctx, const char *path, char **text, size_t *len)
{
	struct fake_fs *fs = ctx;
	size_t i;

	fs->reads++;
	for (i = 0; i < fs->n; i++) {
		if (strcmp(fs->files[i].path, path) == 0) {
			size_t n = strlen(fs->files[i].text);

			*text = malloc(n + 1);
			assert_non_null(*text);
			memcpy(*text, fs->files[i].text, n + 1);
			*len = n;
			return 0;
		}
	}
	return LC_ENOTFOUND;
}

static int apply(lc_patch_result *r, const char *diff, const struct fake_file *files, size_t n)
{
	struct fake_fs fs = {files, n, 0};

	lc_err_clear();
	return lc_patch_apply(r, diff, strlen(diff), fake_read, &fs);
}

#define TEN "l1\nl2\nl3\nl4\nl5\nl6\nl7\nl8\nl9\nl10\n"

static void test_offset_hunk(void **state)
{
	/* The hunk says line 3, but l5..l7 are at lines 5..7: applied 2 lines lower. */
	static const struct fake_file files[] = {{"f.txt", TEN}};
	lc_patch_result r = LC_PATCH_RESULT_INIT;

	assert_int_equal(
	        apply(&r, "--- a/f.txt\n+++ b/f.txt\n@@ -3,3 +3,4 @@\n l5\n-l6\n+L6\n+L6b\n l7\n",
	              files, 1),
	        0);
	assert_int_equal(r.n_files, 1);
	assert_int_equal(r.files[0].kind, LC_PATCH_MODIFY);
	assert_string_equal(r.files[0].path, "f.txt");
	assert_string_equal(r.files[0].text, "l1\nl2\nl3\nl4\nl5\nL6\nL6b\nl7\nl8\nl9\nl10\n");
	assert_string_equal(r.files[0].old_text, TEN);
	assert_int_equal(r.files[0].n_hunks, 1);
	assert_int_equal(r.files[0].n_moved, 1);
	assert_int_equal(r.files[0].n_fuzzed, 0);
	assert_int_equal(r.files[0].n_ranges, 1);
	assert_int_equal(r.files[0].ranges[0].start, 6);
	assert_int_equal(r.files[0].ranges[0].count, 2);
	lc_patch_result_release(&r);
}

static void test_two_hunks_and_git_headers(void **state)
{
	static const struct fake_file files[] = {{"f.txt", TEN}};
	static const char diff[] = "diff --git a/f.txt b/f.txt\n"
	                           "index 1234567..89abcde 100644\n"
	                           "--- a/f.txt\n+++ b/f.txt\n"
	                           "@@ -1,2 +1,2 @@\n-l1\n+L1\n l2\n"
	                           "@@ -9,2 +9,1 @@\n l9\n-l10\n";
	lc_patch_result r = LC_PATCH_RESULT_INIT;

	assert_int_equal(apply(&r, diff, files, 1), 0);
	assert_string_equal(r.files[0].text, "L1\nl2\nl3\nl4\nl5\nl6\nl7\nl8\nl9\n");
	assert_int_equal(r.files[0].n_moved, 0);
	assert_int_equal(r.files[0].n_ranges, 2);
	assert_int_equal(r.files[0].ranges[1].start, 10); /* removal at the end */
	assert_int_equal(r.files[0].ranges[1].count, 0);
	lc_patch_result_release(&r);
}

static void test_new_file(void **state)
{
	lc_patch_result r = LC_PATCH_RESULT_INIT;

	assert_int_equal(
	        apply(&r, "--- /dev/null\n+++ b/new.txt\n@@ -0,0 +1,2 @@\n+x\n+y\n", NULL, 0), 0);
	assert_int_equal(r.files[0].kind, LC_PATCH_CREATE);
	assert_string_equal(r.files[0].path, "new.txt");
	assert_null(r.files[0].old_text);
	assert_string_equal(r.files[0].text, "x\ny\n");
	lc_patch_result_release(&r);
}

static void test_new_file_exists_refused(void **state)
{
	static const struct fake_file files[] = {{"new.txt", "there\n"}};
	lc_patch_result r = LC_PATCH_RESULT_INIT;

	assert_int_equal(apply(&r, "--- /dev/null\n+++ b/new.txt\n@@ -0,0 +1 @@\n+x\n", files, 1),
	                 LC_EDENIED);
	assert_null(r.files);
	assert_non_null(strstr(r.observation, "exists already"));
	lc_patch_result_release(&r);
}

static void test_deleted_file(void **state)
{
	static const struct fake_file files[] = {{"old.txt", "a\nb\n"}};
	lc_patch_result r = LC_PATCH_RESULT_INIT;

	assert_int_equal(
	        apply(&r, "--- a/old.txt\n+++ /dev/null\n@@ -1,2 +0,0 @@\n-a\n-b\n", files, 1), 0);
	assert_int_equal(r.files[0].kind, LC_PATCH_DELETE);
	assert_string_equal(r.files[0].path, "old.txt");
	assert_null(r.files[0].text);
	lc_patch_result_release(&r);
}

static void test_deletion_leaving_lines_refused(void **state)
{
	static const struct fake_file files[] = {{"old.txt", "a\nb\nc\n"}};
	lc_patch_result r = LC_PATCH_RESULT_INIT;

	assert_int_equal(
	        apply(&r, "--- a/old.txt\n+++ /dev/null\n@@ -1,2 +0,0 @@\n-a\n-b\n", files, 1),
	        LC_EDENIED);
	assert_null(r.files);
	lc_patch_result_release(&r);
}

static void test_multi_file(void **state)
{
	static const struct fake_file files[] = {{"a.c", "int a;\n"}, {"dir/b.c", "int b;\n"}};
	static const char diff[] =
	        "--- a/a.c\n+++ b/a.c\n@@ -1 +1 @@\n-int a;\n+long a;\n"
	        "--- a/dir/b.c\n+++ b/dir/b.c\n@@ -1 +1,2 @@\n int b;\n+int c;\n";
	lc_patch_result r = LC_PATCH_RESULT_INIT;

	assert_int_equal(apply(&r, diff, files, 2), 0);
	assert_int_equal(r.n_files, 2);
	assert_string_equal(r.files[0].text, "long a;\n");
	assert_string_equal(r.files[1].path, "dir/b.c");
	assert_string_equal(r.files[1].text, "int b;\nint c;\n");
	lc_patch_result_release(&r);
}

static void test_all_or_nothing(void **state)
{
	static const struct fake_file files[] = {{"a.c", "int a;\n"}, {"b.c", "int b;\n"}};
	static const char diff[] = "--- a/a.c\n+++ b/a.c\n@@ -1 +1 @@\n-int a;\n+long a;\n"
	                           "--- a/b.c\n+++ b/b.c\n@@ -1 +1 @@\n-int x;\n+long x;\n";
	lc_patch_result r = LC_PATCH_RESULT_INIT;

	assert_int_equal(apply(&r, diff, files, 2), LC_ENOTFOUND);
	assert_null(r.files);
	assert_int_equal(r.n_files, 0);
	assert_non_null(strstr(r.observation, "b.c: hunk '@@ -1 +1 @@' does not apply"));
	assert_non_null(strstr(lc_err_msg(), "b.c"));
	lc_patch_result_release(&r);
}

static void test_fuzzed_context(void **state)
{
	/* Context differs in whitespace: applied, and the file's own context line is kept. */
	static const struct fake_file files[] = {{"m.py", "def f():\n    foo(1,  2)\n    bar()\n"}};
	static const char diff[] = "--- a/m.py\n+++ b/m.py\n@@ -2,2 +2,2 @@\n"
	                           "  foo(1, 2)\n-    bar()\n+    baz()\n";
	lc_patch_result r = LC_PATCH_RESULT_INIT;

	assert_int_equal(apply(&r, diff, files, 1), 0);
	assert_string_equal(r.files[0].text, "def f():\n    foo(1,  2)\n    baz()\n");
	assert_int_equal(r.files[0].n_fuzzed, 1);
	lc_patch_result_release(&r);
}

static void test_removed_line_never_fuzzed(void **state)
{
	/* "-    bar( )" differs from the file's "    bar()" inside the line: refused. */
	static const struct fake_file files[] = {{"m.py", "def f():\n    foo()\n    bar()\n"}};
	static const char diff[] = "--- a/m.py\n+++ b/m.py\n@@ -2,2 +2,2 @@\n"
	                           "     foo()\n-    bar( )\n+    baz()\n";
	lc_patch_result r = LC_PATCH_RESULT_INIT;

	assert_int_equal(apply(&r, diff, files, 1), LC_ENOTFOUND);
	assert_null(r.files);
	assert_non_null(strstr(r.observation, "nearest place tried is line 2"));
	assert_non_null(strstr(r.observation, "    3|     bar()"));
	assert_non_null(strstr(r.observation, "removes"));
	lc_patch_result_release(&r);
}

/*
 * Fuzz as GNU patch's --fuzz: outer context lines may go uncompared, one per
 * end for factor 1, two for factor 2, but never the context line next to a
 * change, a context line between changes, or a removed line. Each hunk
 * below was written by hand against TEN; the expected texts too.
 */
static void test_fuzz_outer_context(void **state)
{
	static const struct fake_file files[] = {{"f.txt", TEN}};
	static const struct {
		const char *diff;
		size_t fuzz, moved;
	} cases[] = {
	        /* the first context line says "lX" where the file has l2: fuzz 1 */
	        {"--- a/f.txt\n+++ b/f.txt\n@@ -2,7 +2,7 @@\n"
	         " lX\n l3\n l4\n-l5\n+L5\n l6\n l7\n l8\n",
	         1, 0},
	        /* the last two context lines are wrong: fuzz 2; the file's l7, l8 stay */
	        {"--- a/f.txt\n+++ b/f.txt\n@@ -2,7 +2,7 @@\n"
	         " l2\n l3\n l4\n-l5\n+L5\n l6\n lY\n lZ\n",
	         2, 0},
	        /* a wrong outer line and a stated line 2 off: offset search and fuzz together */
	        {"--- a/f.txt\n+++ b/f.txt\n@@ -5,5 +5,5 @@\n lX\n l4\n-l5\n+L5\n l6\n l7\n", 1, 1},
	        /* exact context: no fuzz */
	        {"--- a/f.txt\n+++ b/f.txt\n@@ -4,3 +4,3 @@\n l4\n-l5\n+L5\n l6\n", 0, 0},
	};
	lc_patch_result r = LC_PATCH_RESULT_INIT;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (apply(&r, cases[i].diff, files, 1) != 0)
			fail_msg("case %zu refused: %s", i, r.observation ? r.observation : "");
		assert_string_equal(r.files[0].text, "l1\nl2\nl3\nl4\nL5\nl6\nl7\nl8\nl9\nl10\n");
		assert_int_equal(r.files[0].fuzz, cases[i].fuzz);
		assert_int_equal(r.files[0].n_context_fuzzed, cases[i].fuzz ? 1 : 0);
		assert_int_equal(r.files[0].n_moved, cases[i].moved);
		lc_patch_result_release(&r);
	}
}

static void test_fuzz_never_inner_or_removed(void **state)
{
	static const struct fake_file files[] = {{"f.txt", TEN}};
	static const char *const refused[] = {
	        /* the context line next to the change is wrong (GNU patch -F2 would apply it) */
	        "--- a/f.txt\n+++ b/f.txt\n@@ -3,5 +3,5 @@\n l3\n lX\n-l5\n+L5\n l6\n l7\n",
	        /* ... on the trailing side */
	        "--- a/f.txt\n+++ b/f.txt\n@@ -3,5 +3,5 @@\n l3\n l4\n-l5\n+L5\n lX\n l7\n",
	        /* a context line between two changes is wrong */
	        "--- a/f.txt\n+++ b/f.txt\n@@ -2,5 +2,5 @@\n"
	        " l2\n-l3\n+L3\n lX\n-l5\n+L5\n l6\n",
	        /* a removed line is wrong, the outer context too */
	        "--- a/f.txt\n+++ b/f.txt\n@@ -2,7 +2,7 @@\n"
	        " lX\n l3\n l4\n-lQ\n+L5\n l6\n l7\n l8\n",
	};
	lc_patch_result r = LC_PATCH_RESULT_INIT;
	size_t i;

	for (i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		if (apply(&r, refused[i], files, 1) != LC_ENOTFOUND)
			fail_msg("case %zu applied: %s", i, r.files ? r.files[0].text : "");
		assert_null(r.files);
		assert_non_null(strstr(r.observation, "does not apply"));
		lc_patch_result_release(&r);
	}
	/* a removed line differing only in trailing whitespace still matches */
	assert_int_equal(apply(&r,
	                       "--- a/f.txt\n+++ b/f.txt\n@@ -4,3 +4,3 @@\n l4\n-l5 \t\n+L5\n l6\n",
	                       files, 1),
	                 0);
	assert_string_equal(r.files[0].text, "l1\nl2\nl3\nl4\nL5\nl6\nl7\nl8\nl9\nl10\n");
	lc_patch_result_release(&r);
}

static void test_no_newline_at_eof(void **state)
{
	static const struct fake_file files[] = {{"n.txt", "a\nb"}};
	lc_patch_result r = LC_PATCH_RESULT_INIT;

	/* Both sides without final newline. */
	assert_int_equal(apply(&r,
	                       "--- a/n.txt\n+++ b/n.txt\n@@ -1,2 +1,2 @@\n a\n-b\n"
	                       "\\ No newline at end of file\n+c\n\\ No newline at end of file\n",
	                       files, 1),
	                 0);
	assert_string_equal(r.files[0].text, "a\nc");
	lc_patch_result_release(&r);

	/* The new side has the newline: added. */
	assert_int_equal(apply(&r,
	                       "--- a/n.txt\n+++ b/n.txt\n@@ -1,2 +1,2 @@\n a\n-b\n"
	                       "\\ No newline at end of file\n+b\n",
	                       files, 1),
	                 0);
	assert_string_equal(r.files[0].text, "a\nb\n");
	lc_patch_result_release(&r);

	/* New file without final newline. */
	assert_int_equal(apply(&r,
	                       "--- /dev/null\n+++ b/z.txt\n@@ -0,0 +1 @@\n+z\n"
	                       "\\ No newline at end of file\n",
	                       NULL, 0),
	                 0);
	assert_string_equal(r.files[0].text, "z");
	lc_patch_result_release(&r);
}

static void test_crlf_file(void **state)
{
	static const struct fake_file files[] = {{"w.txt", "a\r\nb\r\nc\r\n"}};
	lc_patch_result r = LC_PATCH_RESULT_INIT;

	assert_int_equal(
	        apply(&r, "--- a/w.txt\n+++ b/w.txt\n@@ -1,3 +1,3 @@\n a\n-b\n+B\n c\n", files, 1),
	        0);
	assert_string_equal(r.files[0].text, "a\r\nB\r\nc\r\n");
	lc_patch_result_release(&r);
}

static void test_ambiguous_far_refused(void **state)
{
	/* "x" then "y" at lines 101-102 and 151-152; the hunk says line 1 (too far). */
	struct fake_file files[1];
	char *text = malloc(200 * 4);
	size_t i, n = 0;
	lc_patch_result r = LC_PATCH_RESULT_INIT;

	assert_non_null(text);
	for (i = 1; i <= 200; i++) {
		const char *l = (i == 101 || i == 151)   ? "x\n"
		                : (i == 102 || i == 152) ? "y\n"
		                                         : "-\n";

		memcpy(text + n, l, 2);
		n += 2;
	}
	text[n] = '\0';
	files[0].path = "big.txt";
	files[0].text = text;
	assert_int_equal(
	        apply(&r, "--- a/big.txt\n+++ b/big.txt\n@@ -1,2 +1,2 @@\n x\n-y\n+Y\n", files, 1),
	        LC_EDENIED);
	assert_non_null(strstr(r.observation, "match 2 places"));
	assert_non_null(strstr(r.observation, "lines 101 151"));
	lc_patch_result_release(&r);
	free(text);
}

static void test_parse_errors(void **state)
{
	lc_patch_result r = LC_PATCH_RESULT_INIT;

	assert_int_equal(apply(&r, "no diff here\n", NULL, 0), LC_EPARSE);
	assert_string_equal(lc_err_msg(), "patch: no file header ('--- ' and '+++ ' lines)");
	assert_int_equal(apply(&r, "--- a/x\n+++ b/x\n@@ -a +1 @@\n", NULL, 0), LC_EPARSE);
	assert_string_equal(lc_err_msg(), "patch: line 3: bad hunk header '@@ -a +1 @@'");
	assert_int_equal(apply(&r, "@@ -1 +1 @@\n-a\n+b\n", NULL, 0), LC_EPARSE);
	assert_null(r.files);
}

/*
 * lc_lines_unified (tools/lines.h), the writer of the diffs this module reads.
 * Each expected text is what GNU diff 3.8 prints for the same two files with
 * "diff -u" (-U0 where the context is 0) and --label a/f --label b/f
 * (/dev/null for a missing side). Each diff must also apply back: a
 * second implementation, lc_patch_apply, turns a into b with it.
 */
#define TWENTY                                                                                     \
	"l1\nl2\nl3\nl4\nl5\nl6\nl7\nl8\nl9\nl10\nl11\nl12\nl13\nl14\nl15\nl16\nl17\nl18\nl19\nl2" \
	"0\n"

static void test_unified_as_gnu_diff(void **state)
{
	static const struct {
		const char *a, *b;
		size_t context;
		const char *want;
	} cases[] = {
	        /* changes 6 lines apart share a hunk with 3 lines of context */
	        {TEN, "l1\nL2\nl3\nl4\nl5\nl6\nl7\nl8\nL9\nl10\n", 3,
	         "--- a/f\n+++ b/f\n@@ -1,10 +1,10 @@\n l1\n-l2\n+L2\n l3\n l4\n l5\n l6\n l7\n"
	         " l8\n-l9\n+L9\n l10\n"},
	        /* 12 lines apart: two hunks */
	        {TWENTY,
	         "l1\nL2\nl3\nl4\nl5\nl6\nl7\nl8\nl9\nl10\nl11\nl12\nl13\nl14\nL15\nl16\nl17\nl18\n"
	         "l19\nl20\n",
	         3,
	         "--- a/f\n+++ b/f\n@@ -1,5 +1,5 @@\n l1\n-l2\n+L2\n l3\n l4\n l5\n"
	         "@@ -12,7 +12,7 @@\n l12\n l13\n l14\n-l15\n+L15\n l16\n l17\n l18\n"},
	        /* only the final newline goes */
	        {"a\nb\nc\n", "a\nb\nc", 3,
	         "--- a/f\n+++ b/f\n@@ -1,3 +1,3 @@\n a\n b\n-c\n+c\n\\ No newline at end of "
	         "file\n"},
	        /* a removal without context: the empty new range names the line before */
	        {"a\nb\nc\n", "a\nc\n", 0, "--- a/f\n+++ b/f\n@@ -2 +1,0 @@\n-b\n"},
	        {"a\nb\nc\n", "x\na\nb\nc\n", 3,
	         "--- a/f\n+++ b/f\n@@ -1,3 +1,4 @@\n+x\n a\n b\n c\n"},
	        /* a file created, a file deleted */
	        {NULL, "a\nb\nc", 3,
	         "--- /dev/null\n+++ b/f\n@@ -0,0 +1,3 @@\n+a\n+b\n+c\n"
	         "\\ No newline at end of file\n"},
	        {"a\nb\nc\n", NULL, 3, "--- a/f\n+++ /dev/null\n@@ -1,3 +0,0 @@\n-a\n-b\n-c\n"},
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *a = cases[i].a, *b = cases[i].b;
		struct fake_file f = {"f", a};
		lc_patch_result r = LC_PATCH_RESULT_INIT;
		lc_buf out = LC_BUF_INIT(1 << 20);

		assert_int_equal(lc_lines_unified(a ? "f" : NULL, a, a ? strlen(a) : 0,
		                                  b ? "f" : NULL, b, b ? strlen(b) : 0,
		                                  cases[i].context, 1 << 20, &out),
		                 0);
		if (strcmp(out.data ? out.data : "", cases[i].want) != 0)
			fail_msg("case %zu:\n%s\nwant:\n%s", i, out.data, cases[i].want);
		assert_int_equal(apply(&r, out.data, &f, a ? 1 : 0), 0);
		assert_int_equal(r.n_files, 1);
		if (b)
			assert_string_equal(r.files[0].text, b);
		else
			assert_null(r.files[0].text);
		lc_patch_result_release(&r);
		lc_buf_release(&out);
	}
}

static void test_unified_equal_and_cut(void **state)
{
	static const char b[] = "l1\nL2\nl3\nl4\nl5\nl6\nl7\nl8\nL9\nl10\n";
	lc_buf out = LC_BUF_INIT(1 << 20);

	(void)state;
	/* equal texts: nothing */
	assert_int_equal(
	        lc_lines_unified("f", TEN, strlen(TEN), "f", TEN, strlen(TEN), 3, 1 << 20, &out),
	        0);
	assert_int_equal(out.len, 0);
	/*
	 * 40 bytes: the headers (16), the hunk header (18) and " l1\n" (4) fit,
	 * "-l2\n" would not; the cut is said.
	 */
	assert_int_equal(lc_lines_unified("f", TEN, strlen(TEN), "f", b, strlen(b), 3, 40, &out),
	                 0);
	assert_string_equal(out.data, "--- a/f\n+++ b/f\n@@ -1,10 +1,10 @@\n l1\n"
	                              "[... diff cut at 40 bytes]\n");
	lc_buf_release(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_offset_hunk),
	        cmocka_unit_test(test_two_hunks_and_git_headers),
	        cmocka_unit_test(test_new_file),
	        cmocka_unit_test(test_new_file_exists_refused),
	        cmocka_unit_test(test_deleted_file),
	        cmocka_unit_test(test_deletion_leaving_lines_refused),
	        cmocka_unit_test(test_multi_file),
	        cmocka_unit_test(test_all_or_nothing),
	        cmocka_unit_test(test_fuzzed_context),
	        cmocka_unit_test(test_removed_line_never_fuzzed),
	        cmocka_unit_test(test_fuzz_outer_context),
	        cmocka_unit_test(test_fuzz_never_inner_or_removed),
	        cmocka_unit_test(test_no_newline_at_eof),
	        cmocka_unit_test(test_crlf_file),
	        cmocka_unit_test(test_ambiguous_far_refused),
	        cmocka_unit_test(test_parse_errors),
	        cmocka_unit_test(test_unified_as_gnu_diff),
	        cmocka_unit_test(test_unified_equal_and_cut),
	};
	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
