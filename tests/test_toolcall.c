/*
 * Tests for agent/toolcall.c. Each message is written by hand in the format
 * the model family documents (Qwen's Hermes-style <tool_call>, Llama 3.1's
 * JSON, Mistral's [TOOL_CALLS]) or lcode's ReAct format
 * (prompts/tool-formats.md); expected names and arguments are read off the
 * message by hand.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "agent/toolcall.h"
#include "src/err.h"
#include "src/file.h"

static cJSON *tools;

static int setup(void **state)
{
	tools = cJSON_Parse(
	        "[{\"type\":\"function\",\"function\":{\"name\":\"read_file\",\"parameters\":"
	        "{\"type\":\"object\",\"properties\":{\"path\":{\"type\":\"string\"},"
	        "\"start\":{\"type\":\"integer\"},\"numbered\":{\"type\":\"boolean\"}}}}},"
	        "{\"type\":\"function\",\"function\":{\"name\":\"edit\",\"parameters\":"
	        "{\"type\":\"object\",\"properties\":{\"path\":{\"type\":\"string\"},"
	        "\"search\":{\"type\":\"string\"},\"replace\":{\"type\":\"string\"}}}}}]");
	return tools ? 0 : -1;
}

static int teardown(void **state)
{
	cJSON_Delete(tools);
	return 0;
}

static int parse(enum lc_call_format fmt, const char *text, lc_parsed_msg *m)
{
	lc_err_clear();
	return lc_toolcall_parse(fmt, text, strlen(text), tools, m);
}

static const char *arg_str(const lc_tool_call *c, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(c->args, key);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static void test_hermes_two_calls(void **state)
{
	lc_parsed_msg m;

	assert_int_equal(
	        parse(LC_CALL_HERMES,
	              "Let me look.\n<tool_call>\n{\"name\": \"read_file\", \"arguments\": "
	              "{\"path\": \"a.py\", \"start\": 3}}\n</tool_call>\n<tool_call>"
	              "{\"name\":\"edit\",\"arguments\":\"{\\\"path\\\":\\\"b.py\\\"}\"}"
	              "</tool_call>",
	              &m),
	        0);
	assert_int_equal(m.n_calls, 2);
	assert_string_equal(m.calls[0].name, "read_file");
	assert_string_equal(arg_str(&m.calls[0], "path"), "a.py");
	assert_string_equal(m.calls[0].canon, "{\"path\":\"a.py\",\"start\":3}");
	/* arguments given as a JSON string are accepted */
	assert_string_equal(arg_str(&m.calls[1], "path"), "b.py");
	assert_string_equal(m.content, "Let me look.");
	lc_parsed_msg_release(&m);
}

static void test_hermes_malformed_and_unknown(void **state)
{
	lc_parsed_msg m;

	assert_int_equal(parse(LC_CALL_HERMES,
	                       "<tool_call>{\"name\": \"read_file\", \"arguments\": {\"path\": "
	                       "}}</tool_call>",
	                       &m),
	                 LC_EPARSE);
	assert_non_null(strstr(lc_err_msg(), "tool call 1: invalid JSON"));
	assert_int_equal(parse(LC_CALL_HERMES,
	                       "<tool_call>{\"name\": \"rm_rf\", \"arguments\": {}}</tool_call>",
	                       &m),
	                 LC_ENOTFOUND);
	assert_non_null(
	        strstr(lc_err_msg(), "unknown tool 'rm_rf'; the tools are: read_file, edit"));
	assert_int_equal(parse(LC_CALL_HERMES, "<tool_call>{\"arguments\": {}}</tool_call>", &m),
	                 LC_EPARSE);
	/* An unclosed call at the end of the message is still read. */
	assert_int_equal(parse(LC_CALL_HERMES,
	                       "<tool_call>{\"name\": \"read_file\", \"arguments\": {\"path\": "
	                       "\"x\"}}",
	                       &m),
	                 0);
	assert_int_equal(m.n_calls, 1);
	lc_parsed_msg_release(&m);
}

static void test_think_is_never_parsed(void **state)
{
	lc_parsed_msg m;

	assert_int_equal(parse(LC_CALL_HERMES,
	                       "<think>maybe <tool_call>{\"name\":\"rm_rf\"}</tool_call></think>"
	                       "Done.",
	                       &m),
	                 0);
	assert_int_equal(m.n_calls, 0);
	assert_string_equal(m.content, "Done.");
	assert_non_null(strstr(m.thought, "maybe"));
	lc_parsed_msg_release(&m);
}

static void test_plain_answer_has_no_calls(void **state)
{
	lc_parsed_msg m;

	assert_int_equal(parse(LC_CALL_LLAMA3, "  The function adds two numbers.\n", &m), 0);
	assert_int_equal(m.n_calls, 0);
	assert_string_equal(m.content, "The function adds two numbers.");
	lc_parsed_msg_release(&m);
}

static void test_llama3_json(void **state)
{
	lc_parsed_msg m;

	assert_int_equal(parse(LC_CALL_LLAMA3,
	                       "<|python_tag|>{\"name\": \"read_file\", \"parameters\": {\"path\": "
	                       "\"src/x.c\"}}",
	                       &m),
	                 0);
	assert_int_equal(m.n_calls, 1);
	assert_string_equal(arg_str(&m.calls[0], "path"), "src/x.c");
	assert_string_equal(m.content, "");
	lc_parsed_msg_release(&m);
	assert_int_equal(parse(LC_CALL_LLAMA3, "{\"name\": \"read_file\", \"parameters\": {", &m),
	                 LC_EPARSE);
}

static void test_mistral_both_forms(void **state)
{
	lc_parsed_msg m;

	assert_int_equal(parse(LC_CALL_MISTRAL,
	                       "[TOOL_CALLS] [{\"name\": \"read_file\", \"arguments\": {\"path\": "
	                       "\"a\"}}, {\"name\": \"edit\", \"arguments\": {\"path\": \"b\"}}]",
	                       &m),
	                 0);
	assert_int_equal(m.n_calls, 2);
	assert_string_equal(m.calls[1].name, "edit");
	lc_parsed_msg_release(&m);
	assert_int_equal(parse(LC_CALL_MISTRAL, "[TOOL_CALLS]read_file[ARGS]{\"path\": \"c\"}", &m),
	                 0);
	assert_int_equal(m.n_calls, 1);
	assert_string_equal(arg_str(&m.calls[0], "path"), "c");
	lc_parsed_msg_release(&m);
}

static void test_react_raw_blocks_and_types(void **state)
{
	lc_parsed_msg m;
	const cJSON *v;

	assert_int_equal(parse(LC_CALL_REACT,
	                       "Thought: rename the helper\n"
	                       "Action: edit\n"
	                       "path: util.py\n"
	                       "search:\n"
	                       "<<<\n"
	                       "def f(a):\n"
	                       "    return {\"k\": a}  # \\n stays\n"
	                       "path: not an argument\n"
	                       ">>>\n"
	                       "replace:\n"
	                       "<<<\n"
	                       ">>>\n",
	                       &m),
	                 0);
	assert_int_equal(m.n_calls, 1);
	assert_string_equal(arg_str(&m.calls[0], "path"), "util.py");
	assert_string_equal(
	        arg_str(&m.calls[0], "search"),
	        "def f(a):\n    return {\"k\": a}  # \\n stays\npath: not an argument\n");
	assert_string_equal(arg_str(&m.calls[0], "replace"), "");
	assert_string_equal(m.thought, "rename the helper");
	lc_parsed_msg_release(&m);

	assert_int_equal(parse(LC_CALL_REACT,
	                       "Action: read_file\npath: a.py\nstart: 12\nnumbered: false\n", &m),
	                 0);
	v = cJSON_GetObjectItemCaseSensitive(m.calls[0].args, "start");
	assert_true(cJSON_IsNumber(v) && v->valueint == 12);
	assert_true(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(m.calls[0].args, "numbered")));
	lc_parsed_msg_release(&m);
}

static void test_react_errors(void **state)
{
	lc_parsed_msg m;

	assert_int_equal(parse(LC_CALL_REACT, "Action: read_file\nstart: twelve\n", &m), LC_EPARSE);
	assert_non_null(strstr(lc_err_msg(), "'start' must be an integer"));
	assert_int_equal(parse(LC_CALL_REACT, "Action: edit\nsearch:\n<<<\nx\n", &m), LC_EPARSE);
	assert_non_null(strstr(lc_err_msg(), "no closing '>>>'"));
	assert_int_equal(parse(LC_CALL_REACT, "Action: edit\nsearch:\nx\n", &m), LC_EPARSE);
	assert_int_equal(parse(LC_CALL_REACT, "Action: edit\njust words\n", &m), LC_EPARSE);
	assert_int_equal(parse(LC_CALL_REACT, "Action: edit\npath: a\npath: b\n", &m), LC_EPARSE);
	assert_non_null(strstr(lc_err_msg(), "given twice"));
	assert_int_equal(parse(LC_CALL_REACT, "Action: delete_all\n", &m), LC_ENOTFOUND);
}

/*
 * Every example call in prompts/tool-formats.md (a fenced block whose info
 * string names a format) parses in that format to the call the text shows.
 * The expected calls are read off the document by hand, in its order.
 */
static void test_documented_examples_parse(void **state)
{
	static const struct {
		enum lc_call_format fmt;
		const char *info, *name, *args, *content, *thought;
	} want[] = {
	        {LC_CALL_HERMES, "hermes", "read_file",
	         "{\"path\":\"src/app.py\",\"start\":1,\"end\":40}",
	         "I will read the top of the file first.", NULL},
	        {LC_CALL_LLAMA3, "llama3", "edit",
	         "{\"path\":\"src/app.py\",\"search\":\"    return 3.14 * r * r\\n\","
	         "\"replace\":\"    return math.pi * r * r\\n\"}",
	         "", NULL},
	        {LC_CALL_MISTRAL, "mistral", "read_file", "{\"path\":\"src/app.py\"}", "", NULL},
	        {LC_CALL_MISTRAL, "mistral", "read_file", "{\"path\":\"src/app.py\"}", "", NULL},
	        {LC_CALL_REACT, "react", "edit",
	         "{\"path\":\"src/app.py\",\"search\":\"    return 3.14 * r * r\\n\","
	         "\"replace\":\"    return math.pi * r * r\\n\"}",
	         "", "area() uses 3.14; math.pi is exact."},
	};
	char path[4096], *doc, *p;
	size_t len, n = 0;

	(void)state;
	snprintf(path, sizeof(path), "%s/prompts/tool-formats.md", getenv("LC_SOURCE_ROOT"));
	assert_int_equal(lc_file_read(path, 1 << 20, &doc, &len), 0);
	for (p = strstr(doc, "\n```"); p; p = strstr(p, "\n```")) {
		char *info = p + 4, *body = strchr(info, '\n'), *close;
		lc_parsed_msg m;
		cJSON *args;

		assert_non_null(body);
		close = strstr(body, "\n```");
		assert_non_null(close);
		p = close + 4;
		if (info == body)
			continue; /* a block without a format: rendered text, not a call */
		if (n == sizeof(want) / sizeof(want[0]))
			fail_msg("more format examples than expected, at '%.20s'", info);
		assert_int_equal(strncmp(info, want[n].info, strlen(want[n].info)), 0);
		assert_int_equal(lc_toolcall_parse(want[n].fmt, body + 1,
		                                   (size_t)(close + 1 - (body + 1)), tools, &m),
		                 0);
		assert_int_equal(m.n_calls, 1);
		assert_string_equal(m.calls[0].name, want[n].name);
		args = cJSON_Parse(want[n].args);
		if (!cJSON_Compare(m.calls[0].args, args, 1))
			fail_msg("example %zu: arguments %s, want %s", n, m.calls[0].canon,
			         want[n].args);
		cJSON_Delete(args);
		assert_string_equal(m.content, want[n].content);
		if (want[n].thought)
			assert_string_equal(m.thought, want[n].thought);
		lc_parsed_msg_release(&m);
		n++;
	}
	assert_int_equal(n, sizeof(want) / sizeof(want[0]));
	free(doc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_hermes_two_calls),
	        cmocka_unit_test(test_hermes_malformed_and_unknown),
	        cmocka_unit_test(test_think_is_never_parsed),
	        cmocka_unit_test(test_plain_answer_has_no_calls),
	        cmocka_unit_test(test_llama3_json),
	        cmocka_unit_test(test_mistral_both_forms),
	        cmocka_unit_test(test_react_raw_blocks_and_types),
	        cmocka_unit_test(test_react_errors),
	        cmocka_unit_test(test_documented_examples_parse),
	};
	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, setup, teardown);
}
