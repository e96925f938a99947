/*
 * Tests for agent/chat.c. Expected texts are written by hand from the
 * families' published chat templates (Qwen2.5's tokenizer_config.json
 * template for ChatML with tools; Python's json.dumps for the JSON layout).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "agent/chat.h"
#include "src/err.h"

static const char *tools_json =
        "[{\"type\":\"function\",\"function\":{\"name\":\"read_file\",\"description\":\"Read a "
        "file.\",\"parameters\":{\"type\":\"object\",\"properties\":{\"path\":{\"type\":\"string\","
        "\"description\":\"Relative path.\"}},\"required\":[\"path\"]}}}]";

static void test_chatml_hermes_with_tools(void **state)
{
	cJSON *tools = cJSON_Parse(tools_json);
	lc_buf out = LC_BUF_INIT(1 << 20);
	lc_chat_style st = {LC_TEMPLATE_CHATML, LC_CALL_HERMES, 0};
	lc_chat_msg m[] = {
	        {LC_ROLE_USER, "Show a.py"},
	        {LC_ROLE_ASSISTANT,
	         "<tool_call>\n{\"name\": \"read_file\", \"arguments\": {\"path\": "
	         "\"a.py\"}}\n</tool_call>"},
	        {LC_ROLE_TOOL, "1| x = 1"},
	        {LC_ROLE_TOOL, "second"},
	};
	const char *want =
	        "<|im_start|>system\nYou are lcode.\n\n# Tools\n\nYou may call one or more "
	        "functions to assist with the user query.\n\nYou are provided with function "
	        "signatures within <tools></tools> XML tags:\n<tools>\n{\"type\": \"function\", "
	        "\"function\": {\"name\": \"read_file\", \"description\": \"Read a file.\", "
	        "\"parameters\": {\"type\": \"object\", \"properties\": {\"path\": {\"type\": "
	        "\"string\", \"description\": \"Relative path.\"}}, \"required\": [\"path\"]}}}\n"
	        "</tools>\n\nFor each function call, return a json object with function name and "
	        "arguments within <tool_call></tool_call> XML tags:\n<tool_call>\n{\"name\": "
	        "<function-name>, \"arguments\": <args-json-object>}\n</tool_call><|im_end|>\n"
	        "<|im_start|>user\nShow a.py<|im_end|>\n"
	        "<|im_start|>assistant\n<tool_call>\n{\"name\": \"read_file\", \"arguments\": "
	        "{\"path\": \"a.py\"}}\n</tool_call><|im_end|>\n"
	        "<|im_start|>user\n<tool_response>\n1| x = 1\n</tool_response>\n<tool_response>\n"
	        "second\n</tool_response><|im_end|>\n"
	        "<|im_start|>assistant\n";

	assert_int_equal(lc_chat_render(&st, "You are lcode.", tools, NULL, m, 4, 1, &out, NULL),
	                 0);
	assert_string_equal(out.data, want);
	lc_buf_release(&out);
	cJSON_Delete(tools);
}

static void test_json_dumps_like_python(void **state)
{
	/* json.dumps({"a": [1, 2.5, "x\ny"], "b": {}, "c": "é\"\x01"}) and indent=4. */
	cJSON *v = cJSON_Parse("{\"a\":[1,2.5,\"x\\ny\"],\"b\":{},\"c\":\"\\u00e9\\\"\\u0001\"}");
	lc_buf out = LC_BUF_INIT(4096);

	assert_int_equal(lc_chat_json_dumps(v, 0, &out), 0);
	assert_string_equal(
	        out.data,
	        "{\"a\": [1, 2.5, \"x\\ny\"], \"b\": {}, \"c\": \"\xc3\xa9\\\"\\u0001\"}");
	lc_buf_reset(&out);
	assert_int_equal(lc_chat_json_dumps(v, 4, &out), 0);
	assert_string_equal(out.data,
	                    "{\n    \"a\": [\n        1,\n        2.5,\n        \"x\\ny\"\n"
	                    "    ],\n    \"b\": {},\n    \"c\": \"\xc3\xa9\\\"\\u0001\"\n}");
	lc_buf_release(&out);
	cJSON_Delete(v);
}

static void test_react_tools_in_system_text(void **state)
{
	cJSON *tools = cJSON_Parse(tools_json);
	lc_buf out = LC_BUF_INIT(1 << 20);
	lc_chat_style st = {LC_TEMPLATE_DEEPSEEK_CODER, LC_CALL_REACT, 0};
	lc_chat_msg m[] = {{LC_ROLE_USER, "hi"}};

	assert_int_equal(
	        lc_chat_render(&st, "SYS", tools, "Use tools like this.", m, 1, 1, &out, NULL), 0);
	assert_string_equal(out.data, "SYS\n\nUse tools like this.\n\n## read_file\nRead a file.\n"
	                              "- path (string, required): Relative path.\n"
	                              "### Instruction:\nhi\n### Response:\n");
	lc_buf_release(&out);
	cJSON_Delete(tools);
}

/*
 * Rendering is append-only: what the model saw when it generated message k,
 * followed by what it generated and the turn's end, starts the rendering of
 * the longer conversation.
 */
static void test_append_only_every_family(void **state)
{
	static const lc_chat_style styles[] = {
	        {LC_TEMPLATE_CHATML, LC_CALL_HERMES, 0},
	        {LC_TEMPLATE_CHATML, LC_CALL_REACT, 0},
	        {LC_TEMPLATE_LLAMA3, LC_CALL_LLAMA3, 0},
	        {LC_TEMPLATE_MISTRAL, LC_CALL_MISTRAL, 0},
	        {LC_TEMPLATE_DEEPSEEK_CODER, LC_CALL_REACT, 0},
	        {LC_TEMPLATE_UNKNOWN, LC_CALL_REACT, 0},
	};
	lc_chat_msg m[] = {
	        {LC_ROLE_USER, "first request"},   {LC_ROLE_ASSISTANT, "call one"},
	        {LC_ROLE_TOOL, "result one"},      {LC_ROLE_ASSISTANT, "call two"},
	        {LC_ROLE_TOOL, "result two"},      {LC_ROLE_TOOL, "result three"},
	        {LC_ROLE_ASSISTANT, "answer"},     {LC_ROLE_USER, "second request"},
	        {LC_ROLE_ASSISTANT, "answer two"},
	};
	cJSON *tools = cJSON_Parse(tools_json);

	for (size_t s = 0; s < sizeof(styles) / sizeof(styles[0]); s++) {
		for (size_t k = 0; k < sizeof(m) / sizeof(m[0]); k++) {
			lc_buf before = LC_BUF_INIT(1 << 20), after = LC_BUF_INIT(1 << 20);
			if (m[k].role != LC_ROLE_ASSISTANT)
				continue;
			assert_int_equal(
			        lc_chat_render(&styles[s], "S", tools, "R", m, k, 1, &before, NULL),
			        0);
			lc_buf_adds(&before, m[k].content);
			lc_buf_adds(&before, lc_chat_turn_end(styles[s].family));
			assert_int_equal(lc_chat_render(&styles[s], "S", tools, "R", m, k + 1, 0,
			                                &after, NULL),
			                 0);
			if (after.len < before.len || memcmp(after.data, before.data, before.len))
				fail_msg("family %s, message %zu: not append-only:\n%s\n---\n%s",
				         lc_template_family_name(styles[s].family), k, before.data,
				         after.data);
			lc_buf_release(&before);
			lc_buf_release(&after);
		}
	}
	cJSON_Delete(tools);
}

static void test_cap_leaves_buffer_unchanged(void **state)
{
	lc_buf out = LC_BUF_INIT(40);
	lc_chat_style st = {LC_TEMPLATE_CHATML, LC_CALL_HERMES, 0};
	lc_chat_msg m[] = {{LC_ROLE_USER, "a request longer than the forty byte cap of out"}};

	lc_buf_adds(&out, "kept");
	lc_err_clear();
	assert_int_equal(lc_chat_render(&st, "S", NULL, NULL, m, 1, 1, &out, NULL), LC_ETOOBIG);
	assert_string_equal(out.data, "kept");
	lc_err_clear();
	lc_buf_release(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_chatml_hermes_with_tools),
	        cmocka_unit_test(test_json_dumps_like_python),
	        cmocka_unit_test(test_react_tools_in_system_text),
	        cmocka_unit_test(test_append_only_every_family),
	        cmocka_unit_test(test_cap_leaves_buffer_unchanged),
	};
	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
