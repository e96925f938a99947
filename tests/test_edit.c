/*
 * Tests for tools/edit.c: the SEARCH/REPLACE parser and the matching cascade.
 * Every expected text below was written by hand from the contract in
 * tools/edit.h (and Aider's block format), not produced by the code.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "tools/edit.h"
#include "src/err.h"

#define S "<<<<<<< SEARCH\n"
#define D "=======\n"
#define R ">>>>>>> REPLACE\n"

struct edit_case {
	const char *name;
	const char *old;
	const char *edit; /* Aider block text */
	const char *want; /* new text; NULL for a refusal */
	int rc;
	int level;           /* match level of the first block, -1 to skip */
	const char *obs_sub; /* must occur in the observation (refusals) */
};

static const struct edit_case cases[] = {
        {"exact", "a\nb\nc\n", S "b\n" D "B\n" R, "a\nB\nc\n", 0, LC_EDIT_MATCH_EXACT, NULL},
        {"fenced with file name", "a\nb\n", "src/x.txt\n```\n" S "a\n" D "A\n" R "```\n", "A\nb\n",
         0, LC_EDIT_MATCH_EXACT, NULL},
        {"trailing spaces in file", "x = 1   \ny = 2\n", S "x = 1\n" D "x = 3\n" R,
         "x = 3\ny = 2\n", 0, LC_EDIT_MATCH_TRAILING_WS, NULL},
        {"indent added back (python)", "def f():\n    if a:\n        return 1\n    return 2\n",
         S "if a:\n    return 1\n" D "if a:\n    return 10\nelse:\n    pass\n" R,
         "def f():\n    if a:\n        return 10\n    else:\n        pass\n    return 2\n", 0,
         LC_EDIT_MATCH_INDENT, NULL},
        {"indent removed", "x\ny\n", S "    x\n" D "    z\n" R, "z\ny\n", 0, LC_EDIT_MATCH_INDENT,
         NULL},
        {"tabs exact", "int f(void)\n{\n\treturn 0;\n}\n", S "\treturn 0;\n" D "\treturn 1;\n" R,
         "int f(void)\n{\n\treturn 1;\n}\n", 0, LC_EDIT_MATCH_EXACT, NULL},
        {"tab indent offset", "int f(void)\n{\n\treturn 0;\n}\n",
         S "return 0;\n" D "if (x)\n\treturn 1;\nreturn 0;\n" R,
         "int f(void)\n{\n\tif (x)\n\t\treturn 1;\n\treturn 0;\n}\n", 0, LC_EDIT_MATCH_INDENT,
         NULL},
        {"crlf file keeps crlf", "a\r\nb\r\nc\r\n", S "b\n" D "B\nB2\n" R, "a\r\nB\r\nB2\r\nc\r\n",
         0, LC_EDIT_MATCH_EXACT, NULL},
        {"no final newline kept", "a\nb", S "b\n" D "c\n" R, "a\nc", 0, LC_EDIT_MATCH_EXACT, NULL},
        {"delete last line, no final newline", "a\nb", S "b\n" D R, "a", 0, LC_EDIT_MATCH_EXACT,
         NULL},
        {"unicode untouched", "s = \"h\xc3\xa9llo w\xc3\xb6rld\"\nt = 1\n",
         S "s = \"h\xc3\xa9llo w\xc3\xb6rld\"\n" D "s = \"\xe3\x81\x93\xe3\x82\x93\"\n" R,
         "s = \"\xe3\x81\x93\xe3\x82\x93\"\nt = 1\n", 0, LC_EDIT_MATCH_EXACT, NULL},
        {"whitespace normalised", "foo(a,  b)\nbar()\n", S "foo(a, b)\n" D "foo(a, c)\n" R,
         "foo(a, c)\nbar()\n", 0, LC_EDIT_MATCH_WHITESPACE, NULL},
        {"several blocks, evolving text", "a\nb\nc\nd\n",
         S "b\n" D "B\n" R S "B\nc\n" D "B\nC\n" R S "d\n" D "D\n" R, "a\nB\nC\nD\n", 0,
         LC_EDIT_MATCH_EXACT, NULL},
        {"second block fails, nothing applied", "a\nb\n", S "a\n" D "A\n" R S "zzz\n" D "y\n" R,
         NULL, LC_ENOTFOUND, -1, "block 2: "},
        {"ambiguous", "x\ny\nx\n", S "x\n" D "z\n" R, NULL, LC_EDENIED, -1,
         "matches 2 places (exact match), lines 1, 3"},
        {"ambiguous multi-line", "a\nb\nc\na\nb\n", S "a\nb\n" D "z\n" R, NULL, LC_EDENIED, -1,
         "lines 1-2, 4-5"},
        {"missing: closest window", "def foo():\n    return 1\n\ndef bar():\n    return 2\n",
         S "def bar():\n    return 3\n" D "def bar():\n    return 4\n" R, NULL, LC_ENOTFOUND, -1,
         "closest lines are 4-5"},
        {"missing: closest window shown numbered",
         "def foo():\n    return 1\n\ndef bar():\n    return 2\n",
         S "def bar():\n    return 3\n" D "x\n" R, NULL, LC_ENOTFOUND, -1,
         "    4| def bar():\n    5|     return 2\n"},
        {"empty search appends", "a\n", S D "b\n" R, "a\nb\n", 0, LC_EDIT_MATCH_APPEND, NULL},
        {"append keeps missing final newline", "a", S D "b\n" R, "a\nb", 0, LC_EDIT_MATCH_APPEND,
         NULL},
        {"empty search creates", "", S D "new\nfile\n" R, "new\nfile\n", 0, LC_EDIT_MATCH_APPEND,
         NULL},
        {"search on empty file", "", S "x\n" D "y\n" R, NULL, LC_ENOTFOUND, -1,
         "The file is empty"},
};

static void run_case(const struct edit_case *c)
{
	lc_edit_block *blocks = NULL;
	size_t n = 0;
	lc_edit_result r = LC_EDIT_RESULT_INIT;
	int rc;

	lc_err_clear();
	assert_int_equal(lc_edit_parse(c->edit, strlen(c->edit), &blocks, &n), 0);
	rc = lc_edit_apply(&r, c->old, strlen(c->old), blocks, n);
	if (rc != c->rc)
		fail_msg("%s: rc %d, want %d (%s)", c->name, rc, c->rc, lc_err_msg());
	if (c->want) {
		assert_non_null(r.text);
		if (strcmp(r.text, c->want) != 0)
			fail_msg("%s: got\n%s\nwant\n%s", c->name, r.text, c->want);
		assert_int_equal(r.len, strlen(c->want));
		assert_int_equal(r.n_blocks, n);
		assert_null(r.observation);
	} else {
		assert_null(r.text);
		assert_non_null(r.observation);
		if (!strstr(r.observation, c->obs_sub))
			fail_msg("%s: observation lacks '%s':\n%s", c->name, c->obs_sub,
			         r.observation);
		assert_true(strlen(lc_err_msg()) > 0);
	}
	if (c->level >= 0 && (int)r.blocks[0].match != c->level)
		fail_msg("%s: level %d, want %d", c->name, (int)r.blocks[0].match, c->level);
	lc_edit_result_release(&r);
	free(blocks);
}

static void test_cascade_table(void **state)
{
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		run_case(&cases[i]);
}

static void test_ranges_and_block_info(void **state)
{
	/* Block 1 replaces line 2 by two lines, block 2 line 4 (now line 5) by none. */
	static const char edit[] = S "b\n" D "b1\nb2\n" R S "d\n" D R;
	lc_edit_block *blocks = NULL;
	size_t n = 0;
	lc_edit_result r = LC_EDIT_RESULT_INIT;

	assert_int_equal(lc_edit_parse(edit, strlen(edit), &blocks, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(lc_edit_apply(&r, "a\nb\nc\nd\ne\n", 10, blocks, n), 0);
	assert_string_equal(r.text, "a\nb1\nb2\nc\ne\n");
	assert_int_equal(r.blocks[0].line, 2);
	assert_int_equal(r.blocks[0].old_count, 1);
	assert_int_equal(r.blocks[0].new_count, 2);
	assert_int_equal(r.blocks[1].line, 5);
	assert_int_equal(r.blocks[1].new_count, 0);
	assert_int_equal(r.n_ranges, 2);
	assert_int_equal(r.ranges[0].start, 2);
	assert_int_equal(r.ranges[0].count, 2);
	assert_int_equal(r.ranges[1].start, 5); /* removal just before line 5 ("e") */
	assert_int_equal(r.ranges[1].count, 0);
	lc_edit_result_release(&r);
	free(blocks);
}

static void test_overlapping_blocks_merge_ranges(void **state)
{
	static const char edit[] = S "b\n" D "B\n" R S "B\nc\n" D "X\nY\nZ\n" R;
	lc_edit_block *blocks = NULL;
	size_t n = 0;
	lc_edit_result r = LC_EDIT_RESULT_INIT;

	assert_int_equal(lc_edit_parse(edit, strlen(edit), &blocks, &n), 0);
	assert_int_equal(lc_edit_apply(&r, "a\nb\nc\nd\n", 8, blocks, n), 0);
	assert_string_equal(r.text, "a\nX\nY\nZ\nd\n");
	assert_int_equal(r.n_ranges, 1);
	assert_int_equal(r.ranges[0].start, 2);
	assert_int_equal(r.ranges[0].count, 3);
	lc_edit_result_release(&r);
	free(blocks);
}

static void test_split_blocks_api(void **state)
{
	/* Callers with JSON arguments pass strings without trailing newlines. */
	lc_edit_block b = {"  return 1", 10, "  return 2", 10};
	lc_edit_result r = LC_EDIT_RESULT_INIT;

	assert_int_equal(lc_edit_apply(&r, "def f():\n  return 1\n", 20, &b, 1), 0);
	assert_string_equal(r.text, "def f():\n  return 2\n");
	lc_edit_result_release(&r);
}

static void test_parse_errors(void **state)
{
	static const struct {
		const char *text;
		const char *msg;
	} bad[] = {
	        {S "a\n" D "b\n" R S "c\n" R, "edit: block 2: no '=======' line"},
	        {S "a\n" D "b\n", "edit: block 1: no '>>>>>>> REPLACE' line"},
	        {S "a\n", "edit: block 1: no '=======' line"},
	        {"just prose\n", "edit: no '<<<<<<< SEARCH' block"},
	        {R, "edit: line 1: '>>>>>>> REPLACE' outside a block"},
	        {S "a\n" D "b\n" S "c\n", "edit: block 1: no '>>>>>>> REPLACE' line"},
	};
	size_t i, n;
	lc_edit_block *blocks;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		lc_err_clear();
		blocks = NULL;
		assert_int_equal(lc_edit_parse(bad[i].text, strlen(bad[i].text), &blocks, &n),
		                 LC_EPARSE);
		assert_null(blocks);
		assert_string_equal(lc_err_msg(), bad[i].msg);
	}
}

static void test_parse_keeps_text(void **state)
{
	/* A "=======" line inside REPLACE is content; 7-char markers with trailing blanks. */
	static const char text[] = "<<<<<<< SEARCH  \nx\n=======\ny\n=======\nz\n>>>>>>> REPLACE\n";
	lc_edit_block *blocks = NULL;
	size_t n = 0;

	assert_int_equal(lc_edit_parse(text, strlen(text), &blocks, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(blocks[0].search_len, 2);
	assert_memory_equal(blocks[0].search, "x\n", 2);
	assert_int_equal(blocks[0].replace_len, 12);
	assert_memory_equal(blocks[0].replace, "y\n=======\nz\n", 12);
	free(blocks);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_cascade_table),
	        cmocka_unit_test(test_ranges_and_block_info),
	        cmocka_unit_test(test_overlapping_blocks_merge_ranges),
	        cmocka_unit_test(test_split_blocks_api),
	        cmocka_unit_test(test_parse_errors),
	        cmocka_unit_test(test_parse_keeps_text),
	};
	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
