/*
 * Tests for agent/constrain.c: the recogniser accepts exactly the calls the
 * formats allow. Hand-written calls check single decisions; random walks
 * check the promise that matters: whatever text the constraint lets through
 * parses as a call (agent/toolcall.c) with schema-valid arguments
 * (tools/schema.c), two independent checkers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "agent/constrain.h"
#include "agent/toolcall.h"
#include "src/err.h"
#include "tools/schema.h"
#include "tools/tool.h"
#include "testrepo.h"

static cJSON *tools;

static const char *tools_json =
        "[{\"type\":\"function\",\"function\":{\"name\":\"read_file\",\"parameters\":"
        "{\"type\":\"object\",\"properties\":{\"path\":{\"type\":\"string\"},"
        "\"start\":{\"type\":\"integer\",\"minimum\":1},\"numbered\":{\"type\":\"boolean\"}},"
        "\"required\":[\"path\"],\"additionalProperties\":false}}},"
        "{\"type\":\"function\",\"function\":{\"name\":\"read_dir\",\"parameters\":"
        "{\"type\":\"object\",\"properties\":{\"mode\":{\"enum\":[\"flat\",\"tree\"]},"
        "\"globs\":{\"type\":\"array\",\"items\":{\"type\":\"string\"},\"minItems\":1,"
        "\"maxItems\":2},"
        "\"scale\":{\"type\":\"number\"}},\"additionalProperties\":false}}},"
        "{\"type\":\"function\",\"function\":{\"name\":\"edit\",\"parameters\":"
        "{\"type\":\"object\",\"properties\":{\"path\":{\"type\":\"string\"},"
        "\"search\":{\"type\":\"string\"},\"replace\":{\"type\":\"string\"}},"
        "\"required\":[\"path\",\"search\",\"replace\"],\"additionalProperties\":false}}},"
        "{\"type\":\"function\",\"function\":{\"name\":\"grep\",\"parameters\":"
        "{\"type\":\"object\",\"properties\":{\"path\":{\"type\":\"string\"}},"
        "\"additionalProperties\":false}}},"
        /* bounds: lengths in code points, integers on both sides of zero */
        "{\"type\":\"function\",\"function\":{\"name\":\"tune\",\"parameters\":"
        "{\"type\":\"object\",\"properties\":{\"tag\":{\"type\":\"string\",\"minLength\":2,"
        "\"maxLength\":4},\"level\":{\"type\":\"integer\",\"minimum\":-20,\"maximum\":-3},"
        "\"gain\":{\"type\":\"integer\",\"minimum\":15,\"maximum\":2000}},"
        "\"required\":[\"tag\"],\"additionalProperties\":false}}}]";

static int setup(void **state)
{
	tools = cJSON_Parse(tools_json);
	return tools ? 0 : -1;
}

static int teardown(void **state)
{
	cJSON_Delete(tools);
	return 0;
}

/* Feed text; return the index of the first byte refused, or -1 if all pass. */
static long first_refused(lc_constraint *c, const char *text)
{
	for (size_t i = 0; text[i]; i++) {
		if (!lc_constraint_allows(c, text + i, 1))
			return (long)i;
		assert_int_equal(lc_constraint_feed(c, text + i, 1), 0);
	}
	return -1;
}

static lc_constraint *make(enum lc_call_format fmt)
{
	lc_constraint *c;
	assert_int_equal(lc_constraint_new(&c, fmt, tools), 0);
	return c;
}

static void test_hermes_valid_call(void **state)
{
	lc_constraint *c = make(LC_CALL_HERMES);
	const char *msg = "I will read it.\n<tool_call>\n{\"name\": \"read_file\", \"arguments\": "
	                  "{\"path\": \"a \\\"q\\\" \\u00e9.py\", \"start\": 10}}\n</tool_call>";

	assert_int_equal(first_refused(c, msg), -1);
	assert_int_equal(lc_constraint_n_calls(c), 1);
	assert_false(lc_constraint_in_call(c));
	assert_true(lc_constraint_allows_end(c));
	lc_constraint_free(c);
}

static void test_hermes_refusals(void **state)
{
	/* Each case: a prefix the constraint must accept, then a byte it must refuse. */
	static const struct {
		const char *ok, *bad;
	} cases[] = {
	        /* unknown tool: "read_" starts two tools, "read_x" none */
	        {"<tool_call>{\"name\": \"read_", "x"},
	        /* unknown argument */
	        {"<tool_call>{\"name\": \"read_file\", \"arguments\": {\"pat", "\""},
	        /* a string where an integer is required */
	        {"<tool_call>{\"name\": \"read_file\", \"arguments\": {\"start\": ", "\""},
	        /* minimum 1: no minus sign */
	        {"<tool_call>{\"name\": \"read_file\", \"arguments\": {\"start\": ", "-"},
	        /* leading zero */
	        {"<tool_call>{\"name\": \"read_dir\", \"arguments\": {\"scale\": 0", "1"},
	        /* closing before the required path */
	        {"<tool_call>{\"name\": \"read_file\", \"arguments\": {", "}"},
	        /* arguments before name */
	        {"<tool_call>{\"", "a"},
	        /* enum value not in the list */
	        {"<tool_call>{\"name\": \"read_dir\", \"arguments\": {\"mode\": \"fla", "\""},
	        /* a key given twice */
	        {"<tool_call>{\"name\": \"read_file\", \"arguments\": {\"path\": \"a\", \"", "p"},
	        /* raw control characters in strings */
	        {"<tool_call>{\"name\": \"read_file\", \"arguments\": {\"path\": \"a", "\n"},
	        /* no text between the call and </tool_call> */
	        {"<tool_call>{\"name\": \"read_file\", \"arguments\": {\"path\": \"a\"}}", "x"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		lc_constraint *c = make(LC_CALL_HERMES);
		long got = first_refused(c, cases[i].ok);
		if (got != -1)
			fail_msg("case %zu: prefix refused at %ld: %s", i, got, cases[i].ok);
		if (lc_constraint_allows(c, cases[i].bad, 1))
			fail_msg("case %zu: '%s' allowed after: %s", i, cases[i].bad, cases[i].ok);
		lc_constraint_free(c);
	}
}

static void test_end_only_when_complete(void **state)
{
	lc_constraint *c = make(LC_CALL_HERMES);

	assert_true(lc_constraint_allows_end(c));
	first_refused(c, "<tool_call>{\"name\": \"read_file\", \"arguments\": {\"path\": \"a\"}}");
	assert_false(lc_constraint_allows_end(c)); /* </tool_call> still owed */
	first_refused(c, "</tool_call>");
	assert_true(lc_constraint_allows_end(c));
	lc_constraint_free(c);
}

/* Two files for the path and quote bindings; the second has no final newline. */
static const char *const file_paths[] = {"lib/net.py", "lib/net_test.py"};
static const char *const file_texts[] = {
        "import os\n\ndef open_limit(n):\n    return n\n\nx = 1\n>>> doc\ny = 2\nx = 1\nz = 3\n",
        "def test():\n    pass"};

static int file_read(void *ud, size_t i, const char **text, size_t *len)
{
	int *calls = ud;

	(*calls)++;
	*text = file_texts[i];
	*len = strlen(file_texts[i]);
	return 0;
}

static lc_constraint *make_files(int *calls)
{
	static const lc_constraint_bind binds[] = {{"read_file", "path", NULL, 0},
	                                           {"edit", "path", "search", 0},
	                                           {"grep", "path", NULL, 1}};
	lc_constraint_files f = {file_paths, 2, binds, 3, file_read, calls};
	lc_constraint *c = make(LC_CALL_REACT);

	lc_constraint_set_files(c, &f);
	return c;
}

static void test_react_call(void **state)
{
	lc_constraint *c = make(LC_CALL_REACT);
	const char *msg = "Thought: fix it\nAction: edit\npath: a.py\nsearch:\n<<<\nx = 1 >>> 2\n"
	                  ">>>>\n>>>\nreplace:\n<<<\nx = 2\n>>>\n";

	assert_int_equal(first_refused(c, msg), -1);
	assert_true(lc_constraint_allows_end(c));
	lc_constraint_free(c);

	c = make(LC_CALL_REACT);
	/* 'replace' is required: the message may not end before it. */
	first_refused(c, "Action: edit\npath: a.py\nsearch:\n<<<\nx\n>>>\n");
	assert_false(lc_constraint_allows_end(c));
	lc_constraint_free(c);

	c = make(LC_CALL_REACT);
	assert_int_equal(first_refused(c, "Action: read_file\npath: a\nstart: 1"), -1);
	assert_false(lc_constraint_allows(c, "x", 1));
	lc_constraint_free(c);
	c = make(LC_CALL_REACT);
	assert_int_equal(first_refused(c, "Action: read_file\nnumbered: "), -1);
	assert_false(lc_constraint_allows(c, "y", 1));
	lc_constraint_free(c);
	c = make(LC_CALL_REACT);
	assert_int_equal(first_refused(c, "Action: re"), -1);
	assert_false(lc_constraint_allows(c, "m", 1));
	lc_constraint_free(c);
	/* A message may end right after its last value, without the newline. */
	c = make(LC_CALL_REACT);
	first_refused(c, "Action: read_file\npath: a.py");
	assert_true(lc_constraint_allows_end(c));
	first_refused(c, "\nstart: 12");
	assert_true(lc_constraint_allows_end(c));
	lc_constraint_free(c);
	c = make(LC_CALL_REACT);
	first_refused(c, "Action: edit\npath: a\nsearch:\n<<<\nx\n>>>\nreplace:\n<<<\ny\n>>");
	assert_false(lc_constraint_allows_end(c));
	first_refused(c, ">");
	assert_true(lc_constraint_allows_end(c));
	lc_constraint_free(c);
	/* "Action:" in the middle of a line is not a call. */
	c = make(LC_CALL_REACT);
	assert_int_equal(first_refused(c, "The Action: anything goes\n"), -1);
	assert_false(lc_constraint_in_call(c));
	lc_constraint_free(c);
}

static void test_llama3_and_mistral(void **state)
{
	lc_constraint *c = make(LC_CALL_LLAMA3);

	assert_int_equal(first_refused(c, "Sure, {anything} goes here."), -1);
	lc_constraint_free(c);
	c = make(LC_CALL_LLAMA3);
	assert_int_equal(first_refused(c, " {\"name\": \"read_file\", \"parameters\": {\"path\": "
	                                  "\"x\"}} "),
	                 -1);
	assert_true(lc_constraint_allows_end(c));
	assert_int_equal(first_refused(c, "x"), 0);
	lc_constraint_free(c);
	c = make(LC_CALL_MISTRAL);
	assert_int_equal(first_refused(c, "[TOOL_CALLS] [{\"name\": \"read_dir\", \"arguments\": "
	                                  "{\"globs\": [\"*.c\", \"*.h\"], \"scale\": -1.5e3}}, "
	                                  "{\"name\": \"read_file\", \"arguments\": {\"path\": "
	                                  "\"y\"}}]"),
	                 -1);
	assert_int_equal(lc_constraint_n_calls(c), 2);
	assert_true(lc_constraint_allows_end(c));
	lc_constraint_free(c);
}

/* Pieces a random "model" may emit: like tokens, some long, some single bytes. */
static const char *const pieces[] = {"<tool_call>",
                                     "</tool_call>",
                                     "[TOOL_CALLS]",
                                     "\nAction:",
                                     "Action:",
                                     " ",
                                     "\n",
                                     "{",
                                     "}",
                                     "[",
                                     "]",
                                     ",",
                                     ":",
                                     "\"",
                                     "\\",
                                     "\\n",
                                     "\\u00e9",
                                     "-",
                                     "0",
                                     "1",
                                     "7",
                                     ".",
                                     "e",
                                     "true",
                                     "false",
                                     "null",
                                     "name",
                                     "arguments",
                                     "parameters",
                                     "read_file",
                                     "read_dir",
                                     "edit",
                                     "path",
                                     "start",
                                     "numbered",
                                     "mode",
                                     "flat",
                                     "tree",
                                     "globs",
                                     "scale",
                                     "search",
                                     "replace",
                                     "<<<\n",
                                     ">>>\n",
                                     ">>>",
                                     "a",
                                     "b.py",
                                     "x",
                                     " = ",
                                     "é",
                                     "\t",
                                     "r",
                                     "_",
                                     "\": \"",
                                     "{\"",
                                     "\"}",
                                     "tune",
                                     "tag",
                                     "level",
                                     "gain",
                                     "-1",
                                     "20",
                                     "99",
                                     "\\ud83d",
                                     "\\ude00",
                                     "\\u0000"};

static uint64_t rng = 88172645463325252ull;

static unsigned rnd(unsigned n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (unsigned)(rng % n);
}

/* Every single byte is a token in byte-level vocabularies: the walk has them all. */
static char bytes[256][2];

/*
 * Independently of the constraint: does an edit call's search (given after
 * its path) occur at a line start of the file its path names?
 */
static int n_quotes; /* quoted edits seen */

static int quote_in_file(const char *text, const lc_parsed_msg *m)
{
	for (size_t i = 0; i < m->n_calls; i++) {
		const cJSON *path = cJSON_GetObjectItem(m->calls[i].args, "path");
		const cJSON *search = cJSON_GetObjectItem(m->calls[i].args, "search");
		const char *f = NULL, *hit;
		if (!cJSON_IsString(path) || strcmp(m->calls[i].name, "grep") == 0)
			continue; /* grep's path may be a directory: test_react_files */
		for (size_t k = 0; k < 2; k++)
			if (strcmp(path->valuestring, file_paths[k]) == 0)
				f = file_texts[k];
		if (!f)
			return 0; /* an unlisted path */
		if (!cJSON_IsString(search) || strstr(text, "\npath:") > strstr(text, "\nsearch:"))
			continue;
		/* file_texts[1] lacks its last newline: search it with one. */
		char buf[256];
		snprintf(buf, sizeof(buf), "%s%s", f, f[strlen(f) - 1] == '\n' ? "" : "\n");
		for (hit = strstr(buf, search->valuestring); hit && hit != buf && hit[-1] != '\n';)
			hit = strstr(hit + 1, search->valuestring);
		if (!hit || !*search->valuestring)
			return 0;
		n_quotes++;
	}
	return 1;
}

static void random_walks(enum lc_call_format fmt, int walks, int with_files, int *complete)
{
	int reads = 0;

	const size_t n_multi = sizeof(pieces) / sizeof(pieces[0]);
	const size_t n_pieces = n_multi + 96;
	const char *all[sizeof(pieces) / sizeof(pieces[0]) + 96];
	char text[8192];

	for (size_t i = 0; i < n_multi; i++)
		all[i] = pieces[i];
	for (int b = 0; b < 96; b++) {
		bytes[b][0] = (char)(b == 95 ? '\n' : 0x20 + b);
		all[n_multi + (size_t)b] = bytes[b];
	}

	*complete = 0;
	for (int w = 0; w < walks; w++) {
		lc_constraint *c = with_files ? make_files(&reads) : make(fmt);
		size_t len = 0;
		text[0] = '\0';
		if (fmt == LC_CALL_LLAMA3) {
			/* A Llama 3 message is a call only when it opens with '{'. */
			assert_int_equal(lc_constraint_feed(c, "{", 1), 0);
			text[len++] = '{';
			text[len] = '\0';
		}
		for (int step = 0; step < 3000; step++) {
			const char *allowed[sizeof(pieces) / sizeof(pieces[0]) + 96];
			size_t n_allowed = 0;
			if (lc_constraint_n_calls(c) > 0 && lc_constraint_allows_end(c))
				break;
			for (size_t i = 0; i < n_pieces; i++)
				if (lc_constraint_allows(c, all[i], strlen(all[i])))
					allowed[n_allowed++] = all[i];
			if (n_allowed == 0) /* the constraint never paints itself in */
				fail_msg("%s: nothing allowed after: %s", lc_call_format_name(fmt),
				         text);
			const char *p = allowed[rnd((unsigned)n_allowed)];
			if (len + strlen(p) >= sizeof(text))
				break;
			assert_int_equal(lc_constraint_feed(c, p, strlen(p)), 0);
			memcpy(text + len, p, strlen(p) + 1);
			len += strlen(p);
		}
		if (lc_constraint_n_calls(c) > 0 && lc_constraint_allows_end(c)) {
			lc_parsed_msg m;
			int rc;
			lc_err_clear();
			rc = lc_toolcall_parse(fmt, text, len, tools, &m);
			if (rc)
				fail_msg("%s walk %d does not parse: %s; text: %s",
				         lc_call_format_name(fmt), w, lc_err_msg(), text);
			assert_true(m.n_calls >= 1);
			for (size_t i = 0; i < m.n_calls; i++) {
				const cJSON *schema = lc_toolcall_schema(tools, m.calls[i].name);
				if (lc_schema_validate(schema, m.calls[i].args))
					fail_msg("%s walk %d: '%s': %s", lc_call_format_name(fmt),
					         w, text, lc_err_msg());
			}
			if (with_files && !quote_in_file(text, &m))
				fail_msg("walk %d names or quotes what the files lack: %s", w,
				         text);
			lc_parsed_msg_release(&m);
			(*complete)++;
		}
		lc_constraint_free(c);
	}
}

static void test_random_walks_always_parse(void **state)
{
	static const enum lc_call_format fmts[] = {LC_CALL_HERMES, LC_CALL_LLAMA3, LC_CALL_MISTRAL,
	                                           LC_CALL_REACT};
	for (size_t f = 0; f < 4; f++) {
		int complete;
		random_walks(fmts[f], 300, 0, &complete);
		/* Most walks must reach a complete call, or the test checks little. */
		if (complete < 100)
			fail_msg("%s: only %d of 300 walks completed a call",
			         lc_call_format_name(fmts[f]), complete);
	}
}

/* With files set, whatever passes also names a listed file and quotes its lines. */
static void test_random_walks_files(void **state)
{
	int complete;

	n_quotes = 0;
	random_walks(LC_CALL_REACT, 300, 1, &complete);
	if (complete < 100 || n_quotes < 10)
		fail_msg("of 300 walks only %d completed a call, %d a quoted edit", complete,
		         n_quotes);
}

/* Feed text; it must pass whole. */
static void feed_ok(lc_constraint *c, const char *text)
{
	long at = first_refused(c, text);

	if (at != -1)
		fail_msg("refused at byte %ld of: %s", at, text);
}

/* Offset of the n-th (1-based) occurrence of byte b in text. */
static long nth(const char *text, int b, int n)
{
	for (long i = 0; text[i]; i++)
		if (text[i] == b && --n == 0)
			return i;
	return -2;
}

/* The schemas of lcode's own tools, from a toolbox over a scratch repository. */
static cJSON *real_tools(void)
{
	char dir[PATH_MAX];
	lc_toolbox_opts to = {0};
	lc_toolbox *tb;
	cJSON *copy;

	assert_int_equal(testrepo_init(dir, 1), 0);
	to.repo_path = dir;
	assert_int_equal(lc_toolbox_new(&tb, &to), 0);
	copy = cJSON_Duplicate(lc_toolbox_schemas(tb), 1);
	lc_toolbox_free(tb);
	testrepo_remove(dir);
	assert_non_null(copy);
	return copy;
}

/*
 * The shell tool's timeout is an integer in [1, 3600] and search's pattern
 * has minLength 1 (tools/tool.c). Each bad call is refused at the first byte
 * after which no valid value exists (worked out by hand): "0" can only be 0;
 * "9999" can only grow past 3600 while "999" is itself in range; "360" may
 * still become 3600 but "3601" may not; the closing quote of "" leaves the
 * pattern empty. In-range values pass, and the calls parse and validate.
 */
static void test_real_tool_bounds(void **state)
{
	static const char *const bad[] = {
	        "<tool_call>{\"name\": \"shell\", \"arguments\": {\"command\": \"ls\", "
	        "\"timeout\": 0",
	        "<tool_call>{\"name\": \"shell\", \"arguments\": {\"command\": \"ls\", "
	        "\"timeout\": "
	        "99999}}</tool_call>",
	        "<tool_call>{\"name\": \"shell\", \"arguments\": {\"command\": \"ls\", "
	        "\"timeout\": "
	        "3601}}</tool_call>",
	        "<tool_call>{\"name\": \"shell\", \"arguments\": {\"command\": \"ls\", "
	        "\"timeout\": "
	        "-1}}</tool_call>",
	        "<tool_call>{\"name\": \"search\", \"arguments\": {\"pattern\": \"\"}}</tool_call>",
	        "<tool_call>{\"name\": \"shell\", \"arguments\": {\"command\": \"\"}}</tool_call>",
	};
	const long at[] = {
	        nth(bad[0], '0', 1), nth(bad[1], '9', 4),  nth(bad[2], '1', 1),
	        nth(bad[3], '-', 1), nth(bad[4], '"', 10), nth(bad[5], '"', 10),
	};
	static const char *const good[] = {
	        "<tool_call>{\"name\": \"shell\", \"arguments\": {\"command\": \"ls\", "
	        "\"timeout\": "
	        "1}}</tool_call>",
	        "<tool_call>{\"name\": \"shell\", \"arguments\": {\"command\": \"ls\", "
	        "\"timeout\": "
	        "3600}}</tool_call>",
	        "<tool_call>{\"name\": \"shell\", \"arguments\": {\"command\": \"ls\", "
	        "\"timeout\": "
	        "999}}</tool_call>",
	        "<tool_call>{\"name\": \"search\", \"arguments\": {\"pattern\": "
	        "\"x\"}}</tool_call>",
	};
	cJSON *real = real_tools();

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		lc_constraint *c;
		assert_int_equal(lc_constraint_new(&c, LC_CALL_HERMES, real), 0);
		long got = first_refused(c, bad[i]);
		if (got != at[i])
			fail_msg("case %zu: refused at %ld, not %ld: %s", i, got, at[i], bad[i]);
		lc_constraint_free(c);
	}
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		lc_constraint *c;
		lc_parsed_msg m;
		assert_int_equal(lc_constraint_new(&c, LC_CALL_HERMES, real), 0);
		feed_ok(c, good[i]);
		assert_true(lc_constraint_allows_end(c));
		assert_int_equal(
		        lc_toolcall_parse(LC_CALL_HERMES, good[i], strlen(good[i]), real, &m), 0);
		assert_int_equal(lc_schema_validate(lc_toolcall_schema(real, m.calls[0].name),
		                                    m.calls[0].args),
		                 0);
		lc_parsed_msg_release(&m);
		lc_constraint_free(c);
	}
	cJSON_Delete(real);
}

/*
 * Paths must be listed files; a quoted search is consecutive whole lines of
 * the named file. Each refusal point is worked out by hand from file_texts.
 */
static void test_react_files(void **state)
{
	static const char *const bad[] = {
	        "Action: read_file\npath: lib/nets.py\n",    /* no such file: at 's' */
	        "Action: read_file\npath: lib/net\n",        /* a prefix only: at '\n' */
	        "Action: edit\npath: lib/net.py\nsearch: x", /* a quote is a block: at ' ' */
	        /* not a line of the file: at the 'x' of "(x)" */
	        "Action: edit\npath: lib/net.py\nsearch:\n<<<\ndef open_limit(x)",
	        /* not at a line start: at 'r' */
	        "Action: edit\npath: lib/net.py\nsearch:\n<<<\nreturn n\n",
	        /* lines that are not consecutive: at 'x' */
	        "Action: edit\npath: lib/net.py\nsearch:\n<<<\nimport os\nx = 1\n",
	        /* an empty quote cannot close: at the last '\n' */
	        "Action: edit\npath: lib/net.py\nsearch:\n<<<\n>>>\n",
	        /* ">>" followed by text that is not in the file: at the second 'x' */
	        "Action: edit\npath: lib/net.py\nsearch:\n<<<\nx = 1\n>>x",
	        /* a directory only where one may be named, and only a whole one */
	        "Action: read_file\npath: lib\n",
	        "Action: grep\npath: li\n",
	        "Action: grep\npath: lib/n\n",
	};
	const long at[] = {
	        nth(bad[0], 's', 1),  nth(bad[1], '\n', 2),  nth(bad[2], ' ', 3),
	        nth(bad[3], 'x', 1),  nth(bad[4], 'r', 2),   nth(bad[5], 'x', 1),
	        nth(bad[6], '\n', 5), nth(bad[7], 'x', 2),   nth(bad[8], '\n', 2),
	        nth(bad[9], '\n', 2), nth(bad[10], '\n', 2),
	};
	static const char *const good[] = {
	        "Action: read_file\npath: lib/net_test.py\n",
	        "Action: grep\npath: lib\n",
	        "Action: grep\npath: lib/\n",
	        "Action: grep\npath: .\n",
	        "Action: grep\npath: lib/net.py\n",
	        /* the last line, without its newline in the file */
	        "Action: edit\npath: lib/net_test.py\nsearch:\n<<<\n    pass\n>>>\nreplace:\n<<<\n"
	        "    return\n>>>\n",
	        /* "x = 1\nz" is the second x = 1: the match moves on */
	        "Action: edit\npath: lib/net.py\nsearch:\n<<<\nx = 1\nz = "
	        "3\n>>>\nreplace:\n<<<\nq\n"
	        ">>>\n",
	        /* a line that starts like the closing one is content when the file has it */
	        "Action: edit\npath: lib/net.py\nsearch:\n<<<\nx = 1\n>>> doc\n>>>\nreplace:\n<<<\n"
	        "\n>>>\n",
	        /* the replacement is free */
	        "Action: edit\npath: lib/net.py\nsearch:\n<<<\ndef "
	        "open_limit(n):\n>>>\nreplace:\n<<<\n"
	        "def close_limit(n):\n>>>\n",
	};
	int calls = 0;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		lc_constraint *c = make_files(&calls);
		long got = first_refused(c, bad[i]);
		if (got != at[i])
			fail_msg("case %zu: refused at %ld, not %ld: %s", i, got, at[i], bad[i]);
		lc_constraint_free(c);
	}
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		lc_constraint *c = make_files(&calls);
		lc_parsed_msg m;
		feed_ok(c, good[i]);
		assert_true(lc_constraint_allows_end(c));
		assert_int_equal(
		        lc_toolcall_parse(LC_CALL_REACT, good[i], strlen(good[i]), tools, &m), 0);
		lc_parsed_msg_release(&m);
		lc_constraint_free(c);
	}
	assert_true(calls > 0);

	/* Without files set, and for a search given before its path, nothing is bound. */
	{
		lc_constraint *c = make(LC_CALL_REACT);
		feed_ok(c, "Action: edit\npath: elsewhere.py\nsearch: x\n");
		lc_constraint_free(c);
		c = make_files(&calls);
		feed_ok(c, "Action: edit\nsearch:\n<<<\nanything\n>>>\npath: lib/net.py\n");
		lc_constraint_free(c);
	}
}

/*
 * lcode's edit tool: search needs replace and replace needs search
 * ("dependentRequired", tools/tool.c), so a call may not end with only one of
 * them, while a call with neither (blocks, or nothing yet) may.
 */
static void test_dependent_required(void **state)
{
	cJSON *real = real_tools();
	lc_constraint *c;

	assert_int_equal(lc_constraint_new(&c, LC_CALL_REACT, real), 0);
	feed_ok(c, "Action: edit\npath: a.py\n");
	assert_true(lc_constraint_allows_end(c));
	feed_ok(c, "search:\n<<<\nx\n>>>\n");
	assert_false(lc_constraint_allows_end(c));
	feed_ok(c, "replace:\n<<<\ny\n>>>\n");
	assert_true(lc_constraint_allows_end(c));
	lc_constraint_free(c);

	assert_int_equal(lc_constraint_new(&c, LC_CALL_HERMES, real), 0);
	feed_ok(c, "<tool_call>{\"name\": \"edit\", \"arguments\": {\"path\": \"a\", "
	           "\"replace\": \"y\"");
	assert_false(lc_constraint_allows(c, "}", 1));
	feed_ok(c, ", \"search\": \"x\"}}</tool_call>");
	assert_true(lc_constraint_allows_end(c));
	lc_constraint_free(c);
	cJSON_Delete(real);
}

/* The same bounds in the ReAct format, where values end at a newline or the message's end. */
static void test_react_bounds(void **state)
{
	lc_constraint *c = make(LC_CALL_REACT);

	/* level in [-20, -3]: "-2" can still become -20 but "-21" cannot */
	assert_int_equal(first_refused(c, "Action: tune\ntag: ab\nlevel: -21\n"), 30);
	lc_constraint_free(c);
	c = make(LC_CALL_REACT);
	/* "-1" may grow to -10..-19; it may not end as -1 */
	feed_ok(c, "Action: tune\ntag: ab\nlevel: -1");
	assert_false(lc_constraint_allows_end(c));
	assert_false(lc_constraint_allows(c, "\n", 1));
	feed_ok(c, "5");
	assert_true(lc_constraint_allows_end(c));
	lc_constraint_free(c);
	c = make(LC_CALL_REACT);
	/* gain in [15, 2000]: "1" may still become 15..19 or 100..1999, not "1\n" */
	feed_ok(c, "Action: tune\ntag: ab\ngain: 1");
	assert_false(lc_constraint_allows_end(c));
	assert_false(lc_constraint_allows(c, "\n", 1));
	feed_ok(c, "99");
	feed_ok(c, "9");                               /* 1999 */
	assert_false(lc_constraint_allows(c, "9", 1)); /* 19999 */
	assert_true(lc_constraint_allows_end(c));
	lc_constraint_free(c);
	/* tag: 2 to 4 code points; trailing blanks are trimmed by the parser */
	c = make(LC_CALL_REACT);
	feed_ok(c, "Action: tune\ntag: a");
	assert_false(lc_constraint_allows_end(c));
	assert_false(lc_constraint_allows(c, "\n", 1));
	feed_ok(c, "é\xc3\xa9z   ");
	assert_false(lc_constraint_allows(c, "y", 1));
	assert_true(lc_constraint_allows_end(c));
	feed_ok(c, "\n");
	lc_constraint_free(c);
	/* a block's value is its lines with their newlines */
	c = make(LC_CALL_REACT);
	feed_ok(c, "Action: tune\ntag:\n<<<\n>>");
	assert_false(lc_constraint_allows(c, ">\n", 2)); /* the empty block is too short */
	feed_ok(c, "\n");                                /* ">>\n" is content: 3 */
	assert_false(lc_constraint_allows(c, "x", 1));   /* "x\n" would make it 5 */
	feed_ok(c, ">>> \r");
	assert_true(lc_constraint_allows_end(c));
	lc_constraint_free(c);
	/* what the recogniser allowed, the parser reads as the same value */
	{
		const char *msg = "Action: tune\ntag:\n<<<\nabc\n>>> \r\nlevel: -3";
		lc_parsed_msg m;
		c = make(LC_CALL_REACT);
		feed_ok(c, msg);
		assert_true(lc_constraint_allows_end(c));
		lc_constraint_free(c);
		assert_int_equal(lc_toolcall_parse(LC_CALL_REACT, msg, strlen(msg), tools, &m), 0);
		assert_string_equal(cJSON_GetObjectItem(m.calls[0].args, "tag")->valuestring,
		                    "abc\n");
		assert_int_equal(
		        lc_schema_validate(lc_toolcall_schema(tools, "tune"), m.calls[0].args), 0);
		lc_parsed_msg_release(&m);
	}
}

/* minLength/maxLength count code points as tools/schema.c does; arrays count their items. */
static void test_lengths_and_items(void **state)
{
	const char *head = "<tool_call>{\"name\": \"tune\", \"arguments\": {\"tag\": \"";
	/* four code points: a, é in UTF-8, é escaped, and U+1F600 as a surrogate pair */
	const char *four = "a\xc3\xa9\\u00e9\\ud83d\\ude00";
	char call[256];
	lc_constraint *c = make(LC_CALL_HERMES);
	lc_parsed_msg m;

	feed_ok(c, head);
	assert_false(lc_constraint_allows(c, "\"", 1));
	feed_ok(c, four);
	assert_false(lc_constraint_allows(c, "x", 1));
	assert_false(lc_constraint_allows(c, "\\n", 2));
	assert_true(lc_constraint_allows(c, "\"}}</tool_call>", 15));
	lc_constraint_free(c);
	/* the second checker agrees that the string has 4 code points */
	snprintf(call, sizeof(call), "%s%s\"}}</tool_call>", head, four);
	assert_int_equal(lc_toolcall_parse(LC_CALL_HERMES, call, strlen(call), tools, &m), 0);
	assert_int_equal(lc_schema_validate(lc_toolcall_schema(tools, "tune"), m.calls[0].args), 0);
	lc_parsed_msg_release(&m);

	c = make(LC_CALL_HERMES);
	feed_ok(c, "<tool_call>{\"name\": \"read_dir\", \"arguments\": {\"globs\": [");
	assert_false(lc_constraint_allows(c, "]", 1)); /* minItems 1 */
	feed_ok(c, "\"a\", \"b\"");
	assert_false(lc_constraint_allows(c, ",", 1)); /* maxItems 2 */
	feed_ok(c, "]}}</tool_call>");
	lc_constraint_free(c);
}

/*
 * \u escapes as cJSON decodes them (the reference): a surrogate pair is one
 * character, a lone surrogate does not parse, and U+0000 would cut the
 * string short (it parses, so cJSON is not asked about it).
 */
static void test_unicode_escapes(void **state)
{
	const char *head = "<tool_call>{\"name\": \"read_file\", \"arguments\": {\"path\": \"";
	static const struct {
		const char *esc;
		long refused_at; /* -1: allowed */
	} cases[] = {
	        {"\\ud83d\\ude00", -1}, {"\\u00e9", -1},       {"\\ude00", 3},
	        {"\\ud83dx", 6},        {"\\ud83d\\u0041", 8}, {"\\u0000", 5},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char json[64];
		cJSON *v;
		lc_constraint *c = make(LC_CALL_HERMES);

		feed_ok(c, head);
		snprintf(json, sizeof(json), "%s\"", cases[i].esc);
		assert_int_equal(first_refused(c, json), cases[i].refused_at);
		lc_constraint_free(c);
		if (strcmp(cases[i].esc, "\\u0000") == 0)
			continue;
		snprintf(json, sizeof(json), "\"%s\"", cases[i].esc);
		v = cJSON_Parse(json);
		if ((v != NULL) != (cases[i].refused_at == -1))
			fail_msg("case %zu: cJSON %s %s", i, v ? "parses" : "refuses", json);
		cJSON_Delete(v);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_hermes_valid_call),
	        cmocka_unit_test(test_hermes_refusals),
	        cmocka_unit_test(test_end_only_when_complete),
	        cmocka_unit_test(test_react_call),
	        cmocka_unit_test(test_react_files),
	        cmocka_unit_test(test_dependent_required),
	        cmocka_unit_test(test_llama3_and_mistral),
	        cmocka_unit_test(test_random_walks_always_parse),
	        cmocka_unit_test(test_random_walks_files),
	        cmocka_unit_test(test_real_tool_bounds),
	        cmocka_unit_test(test_react_bounds),
	        cmocka_unit_test(test_lengths_and_items),
	        cmocka_unit_test(test_unicode_escapes),
	};
	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, setup, teardown);
}
