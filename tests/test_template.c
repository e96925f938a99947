/*
 * Tests for agent/template.c: chat-template family detection.
 *
 * The template texts are excerpts of the families' published templates
 * (tokenizer_config.json of Qwen2.5-Coder-Instruct, Meta-Llama-3-8B-Instruct,
 * Mistral-7B-Instruct-v0.1, deepseek-coder-6.7b-instruct, gemma-2-2b-it), and
 * the template llama.cpp stored in $LC_SHARED_DATA/vocab/ggml-vocab-qwen2.gguf.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "agent/template.h"
#include "runtime/gguf.h"
#include "src/err.h"
#include "src/banned.h"

static enum lc_template_family detect(const char *s)
{
	return lc_template_detect(s, strlen(s));
}

static void test_families(void **state)
{
	assert_int_equal(detect("{%- for message in messages %}{{- '<|im_start|>' + message.role + "
	                        "'\\n' + message.content + '<|im_end|>' + '\\n' }}{%- endfor %}"),
	                 LC_TEMPLATE_CHATML);
	assert_int_equal(
	        detect("{% for message in loop_messages %}{% set content = "
	               "'<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n'"
	               "+ message['content'] | trim + '<|eot_id|>' %}{% endfor %}"),
	        LC_TEMPLATE_LLAMA3);
	assert_int_equal(detect("{{ bos_token }}{% for message in messages %}{% if message['role'] "
	                        "== 'user' %}{{ '[INST] ' + message['content'] + ' [/INST]' }}"
	                        "{% endif %}{% endfor %}"),
	                 LC_TEMPLATE_MISTRAL);
	assert_int_equal(detect("{%- else %}{{'### Instruction:\\n' + message['content'] + '\\n'}}"
	                        "{%- else %}{{'### Response:\\n' + message['content'] + "
	                        "'\\n<|EOT|>\\n'}}"),
	                 LC_TEMPLATE_DEEPSEEK_CODER);
	assert_int_equal(detect("{{ '<start_of_turn>' + role + '\\n' + message['content'] | trim + "
	                        "'<end_of_turn>\\n' }}"),
	                 LC_TEMPLATE_UNKNOWN);
	assert_int_equal(detect(""), LC_TEMPLATE_UNKNOWN);
	assert_int_equal(lc_template_detect(NULL, 0), LC_TEMPLATE_UNKNOWN);
}

static void test_length_is_honoured(void **state)
{
	const char *s = "{{ '[INST] ' }}";

	/* the marker starts at 4 and takes 6 bytes: cut one short, it is not there */
	assert_int_equal(lc_template_detect(s, 9), LC_TEMPLATE_UNKNOWN);
	assert_int_equal(lc_template_detect(s, 10), LC_TEMPLATE_MISTRAL);
}

static void test_names(void **state)
{
	assert_string_equal(lc_template_family_name(LC_TEMPLATE_CHATML), "chatml");
	assert_string_equal(lc_template_family_name(LC_TEMPLATE_LLAMA3), "llama3");
	assert_string_equal(lc_template_family_name(LC_TEMPLATE_MISTRAL), "mistral");
	assert_string_equal(lc_template_family_name(LC_TEMPLATE_DEEPSEEK_CODER), "deepseek-coder");
	assert_string_equal(lc_template_family_name(LC_TEMPLATE_UNKNOWN), "unknown");
	assert_string_equal(lc_template_family_name((enum lc_template_family)99), "unknown");
}

static void test_qwen2_file(void **state)
{
	const char *dir = getenv("LC_SHARED_DATA");
	char path[4096];
	lc_gguf *g = NULL;
	lc_gguf_str s;

	assert_non_null(dir);
	snprintf(path, sizeof(path), "%s/vocab/ggml-vocab-qwen2.gguf", dir);
	lc_err_clear();
	assert_int_equal(lc_gguf_open(&g, path), 0);
	assert_int_equal(lc_gguf_get_str(g, "tokenizer.chat_template", &s), 0);
	assert_int_equal(lc_template_detect(s.data, (size_t)s.len), LC_TEMPLATE_CHATML);
	lc_gguf_free(g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_families),
	        cmocka_unit_test(test_length_is_honoured),
	        cmocka_unit_test(test_names),
	        cmocka_unit_test(test_qwen2_file),
	};
	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
