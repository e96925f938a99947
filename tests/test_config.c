/*
 * Tests for src/config.c: the file format, its error messages, and the
 * precedence flag > LCODE_MODEL > .lcode/config > user config > default.
 * Expected values are the ones written into the files by hand here, and
 * the defaults documented in man/lcode.1.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "src/config.h"
#include "src/err.h"
#include "src/run.h"

static char top[PATH_MAX];

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static int setup(void **state)
{
	char path[PATH_MAX + 64];

	snprintf(top, sizeof(top), "/tmp/lc-config-XXXXXX");
	if (!mkdtemp(top))
		return -1;
	snprintf(path, sizeof(path), "%s/xdg", top);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/xdg/lcode", top);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/repo", top);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/repo/.lcode", top);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/xdg", top);
	setenv("XDG_CONFIG_HOME", path, 1);
	setenv("HOME", top, 1);
	unsetenv("LCODE_MODEL");
	(void)state;
	return 0;
}

static int teardown(void **state)
{
	char cmd[PATH_MAX + 16];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", top);
	(void)state;
	return system(cmd) == 0 ? 0 : -1;
}

static void test_format(void **state)
{
	lc_config c = LC_CONFIG_INIT;
	const char *text = "# comment\n"
	                   "\n"
	                   "  model = m.gguf   # trailing comment\n"
	                   "approval=full-auto\n"
	                   "ctx = 4096\n"
	                   "threads = 3\n"
	                   "temp = 0.5\n"
	                   "seed = 42\n"
	                   "max-steps = 7\n"
	                   "max-failures = 3\n"
	                   "call-format = react\n"
	                   "commit = false\n"
	                   "pre-commit.request = \"add # type hints, say \\\"hi\\\"  \"\n"
	                   "backend = openai\n"
	                   "base-url = http://127.0.0.1:11434/v1\n"
	                   "remote-model = \"qwen2.5-coder:7b\"\n"
	                   "remote-timeout = 45\n";

	(void)state;
	assert_int_equal(lc_config_parse(&c, "cfg", "/base", text, strlen(text)), 0);
	assert_string_equal(c.model, "/base/m.gguf");
	assert_int_equal(c.approval, LC_APPROVAL_FULL_AUTO);
	assert_int_equal(c.n_ctx, 4096);
	assert_int_equal(c.n_threads, 3);
	assert_true(c.temp == 0.5f);
	assert_int_equal(c.seed, 42);
	assert_int_equal(c.max_steps, 7);
	assert_int_equal(c.max_failures, 3);
	assert_string_equal(c.call_format, "react");
	assert_int_equal(c.commit, 0);
	assert_string_equal(c.pre_commit_request, "add # type hints, say \"hi\"  ");
	assert_string_equal(c.backend, "openai");
	assert_string_equal(c.base_url, "http://127.0.0.1:11434/v1");
	assert_string_equal(c.remote_model, "qwen2.5-coder:7b");
	assert_int_equal(c.remote_timeout, 45);
	lc_config_release(&c);

	/* a model name (no '/', no .gguf ending) stays a name, not a path under the base */
	text = "model = demo\n";
	assert_int_equal(lc_config_parse(&c, "cfg", "/base", text, strlen(text)), 0);
	assert_string_equal(c.model, "demo");
	lc_config_release(&c);

	/* escapes in a quoted value, as git config reads them: \\ \n \t \" (the
	 * file's bytes: a\\nb\tc\nd \\d \q), and an unknown one stays as written */
	text = "pre-commit.request = \"a\\\\nb\\tc\\nd \\\\d \\q\\\"\"\n";
	assert_int_equal(lc_config_parse(&c, "cfg", "/base", text, strlen(text)), 0);
	assert_string_equal(c.pre_commit_request, "a\\nb\tc\nd \\d \\q\"");
	lc_config_release(&c);
}

/* Each bad file: the message names the file and the line, and nothing is taken. */
static void test_errors(void **state)
{
	static const struct {
		const char *text, *msg;
	} cases[] = {
	        {"ctx = 100\nbogus = 1\n", "f.conf:2: unknown key 'bogus'"},
	        {"# ok\njust words\n", "f.conf:2: expected 'key = value'"},
	        {"approval = sometimes\n", "f.conf:1: approval takes ask, auto-edit or full-auto"},
	        {"ctx = 12x\n", "f.conf:1: ctx takes a whole number"},
	        {"temp = -1\n", "f.conf:1: temp takes a number"},
	        {"commit = yes\n", "f.conf:1: commit takes true or false"},
	        {"max-failures = 0\n", "f.conf:1: max-failures takes a whole number from 1"},
	        {"backend = cloud\n", "f.conf:1: backend takes local or openai"},
	        {"base-url = 127.0.0.1:8080\n", "f.conf:1: base-url takes a URL that starts with"},
	        {"remote-model =\n", "f.conf:1: remote-model is empty"},
	        {"remote-timeout = 0\n", "f.conf:1: remote-timeout takes a whole number from 1"},
	        {"\n\nmodel = \"open\n", "f.conf:3: the quoted value has no closing"},
	        {"model = \"a\" b\n", "f.conf:1: text after the closing"},
	        {"= 3\n", "f.conf:1: expected 'key = value'"},
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		lc_config c = LC_CONFIG_INIT;
		c.n_ctx = 999;
		lc_err_clear();
		assert_int_equal(
		        lc_config_parse(&c, "f.conf", NULL, cases[i].text, strlen(cases[i].text)),
		        LC_EPARSE);
		if (strncmp(lc_err_msg(), cases[i].msg, strlen(cases[i].msg)) != 0)
			fail_msg("case %zu: got '%s', want '%s...'", i, lc_err_msg(), cases[i].msg);
		assert_int_equal(c.n_ctx, 999); /* the earlier value stays */
		lc_config_release(&c);
	}
}

static void test_precedence(void **state)
{
	char user[PATH_MAX + 64], repo[PATH_MAX + 64], root[PATH_MAX + 16];
	lc_config c = LC_CONFIG_INIT;
	struct lc_run_opts o;

	(void)state;
	snprintf(user, sizeof(user), "%s/xdg/lcode/config", top);
	snprintf(root, sizeof(root), "%s/repo", top);
	snprintf(repo, sizeof(repo), "%s/repo/.lcode/config", top);
	write_file(user, "model = user.gguf\nctx = 1024\nthreads = 2\napproval = ask\n"
	                 "temp = 0.7\n");
	write_file(repo, "ctx = 2048\ntemp = 0.2\ncommit = false\n");
	assert_int_equal(lc_config_load(&c, root), 0);

	/* Nothing on the command line: repository over user over default. */
	memset(&o, 0, sizeof(o));
	o.approval = LC_APPROVAL_UNSET;
	o.temp = -1;
	lc_config_apply(&c, &o);
	{
		char want[PATH_MAX + 64];
		snprintf(want, sizeof(want), "%s/xdg/lcode/user.gguf", top);
		assert_string_equal(o.model, want); /* relative to the user file's directory */
	}
	assert_int_equal(o.n_ctx, 2048);
	assert_int_equal(o.n_threads, 2);
	assert_int_equal(o.approval, LC_APPROVAL_ASK);
	assert_true(o.temp == 0.2f);
	assert_int_equal(o.no_commit, 1);
	assert_int_equal(o.max_steps, 0); /* nobody set it: the agent's default */
	assert_int_equal(o.has_seed, 0);

	/* LCODE_MODEL over both files; flags over everything. */
	setenv("LCODE_MODEL", "/env.gguf", 1);
	memset(&o, 0, sizeof(o));
	o.approval = LC_APPROVAL_FULL_AUTO;
	o.temp = 0;
	o.n_ctx = 512;
	lc_config_apply(&c, &o);
	assert_string_equal(o.model, "/env.gguf");
	assert_int_equal(o.approval, LC_APPROVAL_FULL_AUTO);
	assert_true(o.temp == 0.0f);
	assert_int_equal(o.n_ctx, 512);
	memset(&o, 0, sizeof(o));
	o.model = "/flag.gguf";
	o.approval = LC_APPROVAL_UNSET;
	o.temp = -1;
	lc_config_apply(&c, &o);
	assert_string_equal(o.model, "/flag.gguf");
	unsetenv("LCODE_MODEL");
	lc_config_release(&c);

	/* No files at all: the defaults (auto-edit, greedy). */
	unlink(user);
	unlink(repo);
	assert_int_equal(lc_config_load(&c, root), 0);
	memset(&o, 0, sizeof(o));
	o.approval = LC_APPROVAL_UNSET;
	o.temp = -1;
	lc_config_apply(&c, &o);
	assert_null(o.model);
	assert_int_equal(o.approval, LC_APPROVAL_AUTO_EDIT);
	assert_true(o.temp == 0.0f);
	assert_int_equal(o.no_commit, 0);
	lc_config_release(&c);

	/* An error in the repository's file names that file. */
	write_file(repo, "\nthreads = many\n");
	assert_int_equal(lc_config_load(&c, root), LC_EPARSE);
	assert_non_null(strstr(lc_err_msg(), "/repo/.lcode/config:2: threads takes"));
	lc_config_release(&c);
}

/* The remote keys: the repository's file over the user's, a flag over both. */
static void test_remote_keys(void **state)
{
	char user[PATH_MAX + 64], repo[PATH_MAX + 64], root[PATH_MAX + 16];
	lc_config c = LC_CONFIG_INIT;
	struct lc_run_opts o;

	(void)state;
	snprintf(user, sizeof(user), "%s/xdg/lcode/config", top);
	snprintf(root, sizeof(root), "%s/repo", top);
	snprintf(repo, sizeof(repo), "%s/repo/.lcode/config", top);
	write_file(user, "backend = openai\nbase-url = http://user:1/v1\nremote-model = u\n"
	                 "remote-timeout = 30\n");
	write_file(repo, "base-url = http://repo:2/v1\nremote-timeout = 60\n");
	assert_int_equal(lc_config_load(&c, root), 0);

	memset(&o, 0, sizeof(o));
	o.approval = LC_APPROVAL_UNSET;
	o.temp = -1;
	lc_config_apply(&c, &o);
	assert_string_equal(o.backend, "openai");
	assert_string_equal(o.base_url, "http://repo:2/v1");
	assert_string_equal(o.remote_model, "u");
	assert_int_equal(o.remote_timeout, 60);

	memset(&o, 0, sizeof(o));
	o.approval = LC_APPROVAL_UNSET;
	o.temp = -1;
	o.backend = "local";
	o.base_url = "http://flag:3/v1";
	o.remote_model = "f";
	o.remote_timeout = 5;
	lc_config_apply(&c, &o);
	assert_string_equal(o.backend, "local");
	assert_string_equal(o.base_url, "http://flag:3/v1");
	assert_string_equal(o.remote_model, "f");
	assert_int_equal(o.remote_timeout, 5);
	lc_config_release(&c);
	unlink(user);
	unlink(repo);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_format),
	        cmocka_unit_test(test_errors),
	        cmocka_unit_test_setup_teardown(test_precedence, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_remote_keys, setup, teardown),
	};

	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
