/*
 * Tests for tools/schema.c. Expected verdicts follow the JSON Schema 2020-12
 * validation spec, worked out by hand for each case.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "src/err.h"
#include "tools/schema.h"

static const char *read_file_schema =
        "{\"type\":\"object\",\"properties\":{"
        "\"path\":{\"type\":\"string\",\"minLength\":1},"
        "\"start\":{\"type\":\"integer\",\"minimum\":1},"
        "\"mode\":{\"enum\":[\"a\",\"b\"]},"
        "\"tags\":{\"type\":\"array\",\"items\":{\"type\":\"string\"},\"maxItems\":2}},"
        "\"required\":[\"path\"],\"additionalProperties\":false}";

static int check(const char *schema_text, const char *value_text)
{
	cJSON *schema = cJSON_Parse(schema_text);
	cJSON *value = cJSON_Parse(value_text);
	int rc;

	assert_non_null(schema);
	assert_non_null(value);
	lc_err_clear();
	rc = lc_schema_validate(schema, value);
	cJSON_Delete(schema);
	cJSON_Delete(value);
	return rc;
}

static void test_valid_arguments(void **state)
{
	assert_int_equal(check(read_file_schema, "{\"path\":\"a.c\"}"), 0);
	assert_int_equal(check(read_file_schema, "{\"path\":\"a.c\",\"start\":3,\"mode\":\"b\","
	                                         "\"tags\":[\"x\",\"y\"]}"),
	                 0);
}

static void test_missing_required(void **state)
{
	assert_int_equal(check(read_file_schema, "{\"start\":3}"), LC_EPARSE);
	assert_non_null(strstr(lc_err_msg(), "missing required argument 'path'"));
}

/* JSON Schema 2020-12, 6.5.4 dependentRequired: a property present needs the ones it lists. */
static void test_dependent_required(void **state)
{
	static const char *const sch = "{\"type\":\"object\",\"properties\":{\"a\":{},\"b\":{}},"
	                               "\"dependentRequired\":{\"a\":[\"b\"]}}";

	assert_int_equal(check(sch, "{\"a\":1}"), LC_EPARSE);
	assert_non_null(strstr(lc_err_msg(), "argument 'a' needs 'b' too"));
	assert_int_equal(check(sch, "{\"a\":1,\"b\":2}"), 0);
	assert_int_equal(check(sch, "{\"b\":2}"), 0);
	assert_int_equal(check(sch, "{}"), 0);
}

static void test_unknown_argument(void **state)
{
	assert_int_equal(check(read_file_schema, "{\"path\":\"a\",\"line\":3}"), LC_EPARSE);
	assert_non_null(strstr(lc_err_msg(), "unknown argument 'line'"));
}

static void test_wrong_types(void **state)
{
	assert_int_equal(check(read_file_schema, "{\"path\":3}"), LC_EPARSE);
	assert_non_null(strstr(lc_err_msg(), "'path': expected string, got integer"));
	/* 2.5 is a number but not an integer; 3.0 is an integer (2020-12 §6.1.1). */
	assert_int_equal(check(read_file_schema, "{\"path\":\"a\",\"start\":2.5}"), LC_EPARSE);
	assert_int_equal(check(read_file_schema, "{\"path\":\"a\",\"start\":3.0}"), 0);
	assert_int_equal(check(read_file_schema, "[\"path\"]"), LC_EPARSE);
}

static void test_bounds_and_enum(void **state)
{
	assert_int_equal(check(read_file_schema, "{\"path\":\"\"}"), LC_EPARSE);
	assert_int_equal(check(read_file_schema, "{\"path\":\"a\",\"start\":0}"), LC_EPARSE);
	assert_int_equal(check(read_file_schema, "{\"path\":\"a\",\"mode\":\"c\"}"), LC_EPARSE);
	assert_int_equal(check(read_file_schema, "{\"path\":\"a\",\"tags\":[\"x\",\"y\",\"z\"]}"),
	                 LC_EPARSE);
	assert_int_equal(check(read_file_schema, "{\"path\":\"a\",\"tags\":[\"x\",1]}"), LC_EPARSE);
	assert_non_null(strstr(lc_err_msg(), "'tags'[1]: expected string"));
	/* minLength counts code points: "é" is one character in two bytes. */
	assert_int_equal(check("{\"type\":\"string\",\"maxLength\":1}", "\"\\u00e9\""), 0);
}

static void test_type_lists_and_number(void **state)
{
	assert_int_equal(check("{\"type\":[\"string\",\"null\"]}", "null"), 0);
	assert_int_equal(check("{\"type\":[\"string\",\"null\"]}", "1"), LC_EPARSE);
	assert_int_equal(check("{\"type\":\"number\"}", "1"), 0);
	assert_int_equal(check("{\"type\":\"boolean\"}", "false"), 0);
}

static void test_unsupported_keyword_is_refused(void **state)
{
	assert_int_equal(check("{\"type\":\"string\",\"pattern\":\"^a\"}", "\"b\""),
	                 LC_EUNSUPPORTED);
	assert_non_null(strstr(lc_err_msg(), "'pattern'"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_valid_arguments),
	        cmocka_unit_test(test_missing_required),
	        cmocka_unit_test(test_unknown_argument),
	        cmocka_unit_test(test_dependent_required),
	        cmocka_unit_test(test_wrong_types),
	        cmocka_unit_test(test_bounds_and_enum),
	        cmocka_unit_test(test_type_lists_and_number),
	        cmocka_unit_test(test_unsupported_keyword_is_refused),
	};
	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
