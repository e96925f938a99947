/*
 * Tests for tools/tool.c: every tool through lc_toolbox_call over a scratch
 * git repository, as the agent calls them. Expected observations are
 * written by hand from the contracts in tools/fs.h, tools/edit.h,
 * tools/repo.h and tools/validate.h; files and history are checked with the
 * git program and byte for byte against what the test wrote, never with the
 * libgit2 code under test.
 *
 * Each test gets a fresh repository (tests/testrepo.h) with one commit and
 * one uncommitted change of the user's (notes.txt) that must survive
 * whatever the tools do. Shell cases run under the sandbox and are skipped
 * (TAP "# SKIP") where the kernel does not offer it.
 */
#include <dirent.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <cmocka.h>

#include <linux/capability.h>

#include <cjson/cJSON.h>

#include "src/buf.h"
#include "src/err.h"
#include "tests/testrepo.h"
#include "tools/exec.h"
#include "tools/git.h"
#include "tools/sandbox.h"
#include "tools/tool.h"

#define CALC_PY "def add(a, b):\n    return a + b\n"
#define M_PY                                                                                       \
	"def f(x):\n    if x:\n        return 1\n    return 2\n\n\n"                               \
	"def g(x):\n    if x:\n        return 1\n    return 3\n"
#define APP_JS      "function f() {\n  return [1, 2];\n}\n"
#define NOTES_HEAD  "notes\n"
#define USER_WORK   "notes\nthe user's own unsaved thoughts\n"
#define SECRET_TEXT "outside\n"

struct fx {
	char dir[PATH_MAX];
	char outside[PATH_MAX]; /* a directory outside the repository */
	lc_exec *exec;          /* NULL when the sandbox is unusable */
	lc_toolbox *tb;
	int allow;     /* what the approval callback answers */
	int n_approve; /* how often it was asked */
	enum lc_tool_kind last_kind;
};

static int sandbox_usable;

static int approve_cb(void *ud, enum lc_tool_kind kind, const char *summary)
{
	struct fx *f = ud;

	(void)summary;
	f->n_approve++;
	f->last_kind = kind;
	return f->allow;
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	lc_toolbox_opts to = {0};

	if (!f || testrepo_init(f->dir, 1) != 0)
		return -1;
	testrepo_write(f->dir, "calc.py", CALC_PY, (size_t)-1);
	testrepo_write(f->dir, "sub/m.py", M_PY, (size_t)-1);
	testrepo_write(f->dir, "web/app.js", APP_JS, (size_t)-1);
	testrepo_write(f->dir, "notes.txt", NOTES_HEAD, (size_t)-1);
	testrepo_write(f->dir, ".gitignore", "build/\n*.log\n", (size_t)-1);
	if (testrepo_sh("cd '%s' && git add . && git commit -qm init", f->dir) != 0)
		return -1;
	/* ignored files, an untracked file, and the user's uncommitted work */
	testrepo_write(f->dir, "build/out.o", "obj\n", (size_t)-1);
	testrepo_write(f->dir, "run.log", "log\n", (size_t)-1);
	testrepo_write(f->dir, "todo.txt", "untracked\n", (size_t)-1);
	testrepo_write(f->dir, "notes.txt", USER_WORK, (size_t)-1);

	snprintf(f->outside, sizeof(f->outside), "/tmp/lcode-repo-out-XXXXXX");
	if (!mkdtemp(f->outside) || testrepo_write(f->outside, "secret.txt", SECRET_TEXT, 8) != 0)
		return -1;

	if (sandbox_usable) {
		lc_exec_opts eo = LC_EXEC_OPTS_INIT;
		eo.repo_root = f->dir;
		eo.grace_ms = 300;
		if (lc_exec_start(&f->exec, &eo) != 0)
			return -1;
	}
	f->allow = 1;
	to.repo_path = f->dir;
	to.exec = f->exec;
	to.approve = approve_cb;
	to.approve_ud = f;
	if (lc_toolbox_new(&f->tb, &to) != 0)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	lc_toolbox_free(f->tb);
	lc_exec_free(f->exec);
	testrepo_remove(f->dir);
	if (strncmp(f->outside, "/tmp/lcode-repo-out-", 20) == 0)
		testrepo_sh("rm -rf '%s'", f->outside);
	free(f);
	return 0;
}

/* Run a tool with JSON arguments; the observation, owned. */
static char *call(struct fx *f, const char *name, const char *json, enum lc_tool_status *st)
{
	cJSON *args = cJSON_Parse(json);
	lc_buf obs = LC_BUF_INIT(1 << 20);
	char *text;

	assert_non_null(args);
	assert_int_equal(lc_toolbox_call(f->tb, name, args, &obs, st), 0);
	cJSON_Delete(args);
	text = strdup(obs.data ? obs.data : "");
	assert_non_null(text);
	lc_buf_release(&obs);
	return text;
}

/* Run a call that must be refused; the observation must contain want. */
static void expect_refused(struct fx *f, const char *name, const char *json, const char *want)
{
	enum lc_tool_status st;
	char *obs = call(f, name, json, &st);

	if (st != LC_TOOL_REFUSED || !strstr(obs, want))
		fail_msg("%s %s: status %d, observation '%s', wanted '%s'", name, json, (int)st,
		         obs, want);
	free(obs);
}

static void assert_file(struct fx *f, const char *rel, const char *want)
{
	char *got = testrepo_read(f->dir, rel, NULL);

	assert_non_null(got);
	assert_string_equal(got, want);
	free(got);
}

static void assert_no_file(const char *dir, const char *rel)
{
	char *got = testrepo_read(dir, rel, NULL);

	if (got)
		fail_msg("'%s/%s' exists", dir, rel);
}

/* The user's uncommitted change, and the history, are as the test made them. */
static void assert_user_work(struct fx *f, const char *n_commits)
{
	char *n = testrepo_out("git -C '%s' rev-list --count HEAD", f->dir);

	assert_file(f, "notes.txt", USER_WORK);
	assert_non_null(n);
	assert_string_equal(n, n_commits);
	free(n);
}

/* --- read-only tools ------------------------------------------------------ */

static void test_read_file_numbered(void **state)
{
	struct fx *f = *state;
	enum lc_tool_status st;
	char *obs;

	obs = call(f, "read_file", "{\"path\": \"calc.py\"}", &st);
	assert_int_equal(st, LC_TOOL_OK);
	assert_string_equal(obs, "1| def add(a, b):\n2|     return a + b\n");
	free(obs);
	/* a 10-line file: numbers right-aligned to the width of "10" (fs.h) */
	obs = call(f, "read_file", "{\"path\": \"sub/m.py\", \"start\": 2, \"end\": 3}", &st);
	assert_int_equal(st, LC_TOOL_OK);
	assert_string_equal(obs, " 2|     if x:\n 3|         return 1\n");
	free(obs);
	obs = call(f, "read_file", "{\"path\": \"sub/m.py\", \"start\": 9}", &st);
	assert_int_equal(st, LC_TOOL_OK);
	assert_string_equal(obs, " 9|         return 1\n10|     return 3\n");
	free(obs);
	/* past the end, and a file that does not exist */
	expect_refused(f, "read_file", "{\"path\": \"sub/m.py\", \"start\": 40}", "error:");
	expect_refused(f, "read_file", "{\"path\": \"nope.py\"}", "nope.py");
	assert_user_work(f, "1\n");
}

static void test_list_files_gitignore(void **state)
{
	struct fx *f = *state;
	enum lc_tool_status st;
	char *obs;

	obs = call(f, "list_files", "{}", &st);
	assert_int_equal(st, LC_TOOL_OK);
	/* tracked and untracked files, one per line */
	assert_non_null(strstr(obs, "calc.py\n"));
	assert_non_null(strstr(obs, "sub/m.py\n"));
	assert_non_null(strstr(obs, "todo.txt\n"));
	assert_non_null(strstr(obs, "notes.txt\n"));
	/* ignored by .gitignore: build/ and *.log */
	assert_null(strstr(obs, "out.o"));
	assert_null(strstr(obs, "run.log"));
	assert_null(strstr(obs, ".git/"));
	free(obs);
	obs = call(f, "list_files", "{\"glob\": \"*.py\"}", &st);
	assert_int_equal(st, LC_TOOL_OK);
	assert_string_equal(obs, "calc.py\nsub/m.py\n");
	free(obs);
	obs = call(f, "list_files", "{\"dir\": \"web\"}", &st);
	assert_string_equal(obs, "web/app.js\n");
	free(obs);
	expect_refused(f, "list_files", "{\"dir\": \"nowhere\"}", "nowhere");
}

static void test_search(void **state)
{
	struct fx *f = *state;
	enum lc_tool_status st;
	char *obs;

	obs = call(f, "search", "{\"pattern\": \"return 1\"}", &st);
	assert_int_equal(st, LC_TOOL_OK);
	assert_string_equal(obs, "sub/m.py:3:        return 1\nsub/m.py:9:        return 1\n");
	free(obs);
	obs = call(f, "search", "{\"pattern\": \"DEF ADD\", \"ignore_case\": true}", &st);
	assert_int_equal(st, LC_TOOL_OK);
	assert_string_equal(obs, "calc.py:1:def add(a, b):\n");
	free(obs);
	obs = call(f, "search", "{\"pattern\": \"return\", \"glob\": \"*.js\"}", &st);
	assert_string_equal(obs, "web/app.js:2:  return [1, 2];\n");
	free(obs);
	/* ignored files are not searched */
	obs = call(f, "search", "{\"pattern\": \"^obj$|^log$\"}", &st);
	assert_int_equal(st, LC_TOOL_OK);
	assert_string_equal(obs, "[no matches]\n");
	free(obs);
	expect_refused(f, "search", "{\"pattern\": \"(unclosed\"}", "error:");
}

/* --- edit ------------------------------------------------------------------- */

static void test_edit_exact(void **state)
{
	struct fx *f = *state;
	enum lc_tool_status st;
	char *obs;

	obs = call(f, "edit",
	           "{\"path\": \"calc.py\", \"search\": \"def add(a, b):\", "
	           "\"replace\": \"def add(a: int, b: int) -> int:\"}",
	           &st);
	assert_int_equal(st, LC_TOOL_OK);
	assert_non_null(strstr(obs, "edited calc.py"));
	assert_non_null(strstr(obs, "exact match"));
	free(obs);
	assert_file(f, "calc.py", "def add(a: int, b: int) -> int:\n    return a + b\n");
	assert_int_equal(f->n_approve, 1);
	assert_int_equal(f->last_kind, LC_TOOL_EDIT);
	{
		size_t n;
		const char *const *changed = lc_toolbox_changed(f->tb, &n);
		assert_int_equal(n, 1);
		assert_string_equal(changed[0], "calc.py");
	}
	assert_user_work(f, "1\n");
}

static void test_edit_indented(void **state)
{
	struct fx *f = *state;
	enum lc_tool_status st;
	char *obs;

	/* SEARCH given 4 columns to the left of the file (g's body); REPLACE follows */
	obs = call(f, "edit",
	           "{\"path\": \"sub/m.py\", \"search\": \"if x:\\n    return 1\\nreturn 3\\n\", "
	           "\"replace\": \"if x:\\n    return 10\\nreturn 30\\n\"}",
	           &st);
	assert_int_equal(st, LC_TOOL_OK);
	assert_non_null(strstr(obs, "line 8"));
	free(obs);
	assert_file(f, "sub/m.py",
	            "def f(x):\n    if x:\n        return 1\n    return 2\n\n\n"
	            "def g(x):\n    if x:\n        return 10\n    return 30\n");
}

static void test_edit_no_match(void **state)
{
	struct fx *f = *state;
	enum lc_tool_status st;
	char *obs;

	obs = call(f, "edit",
	           "{\"path\": \"sub/m.py\", \"search\": \"def h(x):\\n    if x:\\n\", "
	           "\"replace\": \"zzz\\n\"}",
	           &st);
	assert_int_equal(st, LC_TOOL_REFUSED);
	assert_non_null(strstr(obs, "nothing was written"));
	/* the closest lines are shown, numbered, for the model to copy */
	assert_non_null(strstr(obs, "closest lines are 1-2"));
	assert_non_null(strstr(obs, "1| def f(x):"));
	assert_non_null(strstr(obs, "2|     if x:"));
	free(obs);
	assert_file(f, "sub/m.py", M_PY);
	assert_int_equal(f->n_approve, 0);
}

static void test_edit_two_matches(void **state)
{
	struct fx *f = *state;
	enum lc_tool_status st;
	char *obs;

	obs = call(f, "edit",
	           "{\"path\": \"sub/m.py\", \"search\": \"    if x:\\n        return 1\\n\", "
	           "\"replace\": \"    if not x:\\n        return 0\\n\"}",
	           &st);
	assert_int_equal(st, LC_TOOL_REFUSED);
	/* f's lines 2-3 and g's lines 8-9 */
	assert_non_null(strstr(obs, "2 places"));
	assert_non_null(strstr(obs, "2-3"));
	assert_non_null(strstr(obs, "8-9"));
	free(obs);
	assert_file(f, "sub/m.py", M_PY);
}

static void test_edit_refused_by_validation(void **state)
{
	struct fx *f = *state;
	enum lc_tool_status st;
	char *obs;

	/* "      return 2" dedents to a level that never opened (Python 2.1.8) */
	obs = call(f, "edit",
	           "{\"path\": \"sub/m.py\", \"search\": \"    return 2\\n\", "
	           "\"replace\": \"      return 2\\n\"}",
	           &st);
	assert_int_equal(st, LC_TOOL_REFUSED);
	assert_non_null(strstr(obs, "nothing was written"));
	assert_non_null(strstr(obs, "sub/m.py:4:"));
	free(obs);
	assert_file(f, "sub/m.py", M_PY);

	/* an unclosed bracket in JavaScript: opened on line 2, mismatched on line 3 */
	obs = call(f, "edit",
	           "{\"path\": \"web/app.js\", \"search\": \"  return [1, 2];\", "
	           "\"replace\": \"  return [1, 2;\"}",
	           &st);
	assert_int_equal(st, LC_TOOL_REFUSED);
	assert_non_null(strstr(obs, "web/app.js:3:"));
	assert_non_null(strstr(obs, "line 2"));
	free(obs);
	assert_file(f, "web/app.js", APP_JS);
	/* refused before approval: the user is never asked about a bad edit */
	assert_int_equal(f->n_approve, 0);
	{
		size_t n;
		lc_toolbox_changed(f->tb, &n);
		assert_int_equal(n, 0);
	}
	assert_user_work(f, "1\n");
}

static void test_edit_blocks(void **state)
{
	struct fx *f = *state;
	enum lc_tool_status st;
	cJSON *args = cJSON_CreateObject();
	lc_buf obs = LC_BUF_INIT(1 << 20);

	cJSON_AddStringToObject(args, "path", "sub/m.py");
	cJSON_AddStringToObject(args, "blocks",
	                        "sub/m.py\n```python\n"
	                        "<<<<<<< SEARCH\n    return 2\n=======\n    return 20\n"
	                        ">>>>>>> REPLACE\n"
	                        "<<<<<<< SEARCH\n    return 3\n=======\n    return 30\n"
	                        ">>>>>>> REPLACE\n```\n");
	assert_int_equal(lc_toolbox_call(f->tb, "edit", args, &obs, &st), 0);
	assert_int_equal(st, LC_TOOL_OK);
	assert_non_null(strstr(obs.data, "block 1 at line 4"));
	assert_non_null(strstr(obs.data, "block 2 at line 10"));
	assert_file(f, "sub/m.py",
	            "def f(x):\n    if x:\n        return 1\n    return 20\n\n\n"
	            "def g(x):\n    if x:\n        return 1\n    return 30\n");
	/* blocks and search/replace together are refused */
	lc_buf_reset(&obs);
	cJSON_AddStringToObject(args, "search", "x");
	cJSON_AddStringToObject(args, "replace", "y");
	assert_int_equal(lc_toolbox_call(f->tb, "edit", args, &obs, &st), 0);
	assert_int_equal(st, LC_TOOL_REFUSED);
	lc_buf_release(&obs);
	cJSON_Delete(args);
}

/* --- apply_patch and write_file ------------------------------------------------ */

static void test_apply_patch_multi_file(void **state)
{
	struct fx *f = *state;
	enum lc_tool_status st;
	cJSON *args = cJSON_CreateObject();
	lc_buf obs = LC_BUF_INIT(1 << 20);

	cJSON_AddStringToObject(args, "patch",
	                        "--- a/calc.py\n+++ b/calc.py\n@@ -1,2 +1,2 @@\n"
	                        "-def add(a, b):\n+def add(x, y):\n     return a + b\n"
	                        "--- a/web/app.js\n+++ b/web/app.js\n@@ -1,3 +1,3 @@\n"
	                        " function f() {\n-  return [1, 2];\n+  return [3];\n }\n"
	                        "--- /dev/null\n+++ b/docs/new.md\n@@ -0,0 +1,2 @@\n"
	                        "+# New\n+text\n");
	assert_int_equal(lc_toolbox_call(f->tb, "apply_patch", args, &obs, &st), 0);
	assert_int_equal(st, LC_TOOL_OK);
	assert_non_null(strstr(obs.data, "modified calc.py"));
	assert_non_null(strstr(obs.data, "created docs/new.md"));
	assert_file(f, "calc.py", "def add(x, y):\n    return a + b\n");
	assert_file(f, "web/app.js", "function f() {\n  return [3];\n}\n");
	assert_file(f, "docs/new.md", "# New\ntext\n");
	{
		size_t n;
		lc_toolbox_changed(f->tb, &n);
		assert_int_equal(n, 3);
	}
	/* a patch one of whose files fails: nothing of it is written */
	lc_buf_reset(&obs);
	cJSON_DeleteItemFromObject(args, "patch");
	cJSON_AddStringToObject(args, "patch",
	                        "--- a/calc.py\n+++ b/calc.py\n@@ -1,2 +1,2 @@\n"
	                        "-def add(x, y):\n+def add(p, q):\n     return a + b\n"
	                        "--- a/web/app.js\n+++ b/web/app.js\n@@ -1,3 +1,3 @@\n"
	                        " function f() {\n-  return [9];\n+  return [8];\n }\n");
	assert_int_equal(lc_toolbox_call(f->tb, "apply_patch", args, &obs, &st), 0);
	assert_int_equal(st, LC_TOOL_REFUSED);
	assert_file(f, "calc.py", "def add(x, y):\n    return a + b\n");
	lc_buf_release(&obs);
	cJSON_Delete(args);
	assert_user_work(f, "1\n");
}

/* A refused hunk comes back with the detail lc_patch_apply gives, not one line. */
static void test_apply_patch_refusal_detailed(void **state)
{
	struct fx *f = *state;
	enum lc_tool_status st;
	char *obs;

	/* "-def add(a, c):" is not calc.py's line 1 "def add(a, b):" (hand-written) */
	obs = call(f, "apply_patch",
	           "{\"patch\": \"--- a/calc.py\\n+++ b/calc.py\\n@@ -1,2 +1,2 @@\\n"
	           "-def add(a, c):\\n+def add(x, y):\\n     return a + b\\n\"}",
	           &st);
	assert_int_equal(st, LC_TOOL_REFUSED);
	assert_string_equal(obs, "error: patch refused, nothing was written.\n"
	                         "calc.py: hunk '@@ -1,2 +1,2 @@' does not apply: the nearest "
	                         "place tried is line 1 (1 of 2 lines match), where line 1 is\n"
	                         "    1| def add(a, b):\n"
	                         "but the hunk removes (removed lines must match exactly)\n"
	                         "     | def add(a, c):\n"
	                         "No file was changed. Read the file again and make the hunk's "
	                         "'-' and ' ' lines copy it exactly.\n");
	free(obs);
	assert_file(f, "calc.py", CALC_PY);
	assert_int_equal(f->n_approve, 0);
}

/* A hunk whose first context line is wrong applies with fuzz 1, and says so. */
static void test_apply_patch_fuzz_reported(void **state)
{
	struct fx *f = *state;
	enum lc_tool_status st;
	char *obs;

	/* "def f(y):" where sub/m.py has "def f(x):" (line 1, outer context) */
	obs = call(f, "apply_patch",
	           "{\"patch\": \"--- a/sub/m.py\\n+++ b/sub/m.py\\n@@ -1,6 +1,6 @@\\n"
	           " def f(y):\\n     if x:\\n         return 1\\n-    return 2\\n"
	           "+    return 0\\n \\n \\n\"}",
	           &st);
	assert_int_equal(st, LC_TOOL_OK);
	assert_string_equal(obs, "patch applied: modified sub/m.py (1 hunk applied with fuzz 1: up "
	                         "to 1 outer context line per end not compared; the file's lines "
	                         "there were kept)");
	free(obs);
	assert_file(f, "sub/m.py",
	            "def f(x):\n    if x:\n        return 1\n    return 0\n\n\n"
	            "def g(x):\n    if x:\n        return 1\n    return 3\n");
}

/*
 * lc_toolbox_edits: what the last call wrote, with its match level and diff
 * (diffs written by hand in GNU diff -u's format), and nothing after a call
 * that wrote nothing.
 */
static void test_edits_recorded(void **state)
{
	struct fx *f = *state;
	enum lc_tool_status st;
	const lc_tool_edit *e;
	size_t n;
	char *obs;

	/* block 1 matches exactly, block 2 only with its indentation off: the edit's level */
	obs = call(f, "edit",
	           "{\"path\": \"sub/m.py\", \"blocks\": \"<<<<<<< SEARCH\\n    return 2\\n"
	           "=======\\n    return 20\\n>>>>>>> REPLACE\\n<<<<<<< SEARCH\\nreturn 3\\n"
	           "=======\\nreturn 30\\n>>>>>>> REPLACE\\n\"}",
	           &st);
	assert_int_equal(st, LC_TOOL_OK);
	free(obs);
	e = lc_toolbox_edits(f->tb, &n);
	assert_int_equal(n, 1);
	assert_string_equal(e[0].path, "sub/m.py");
	assert_string_equal(e[0].match, "indentation offset");
	/* lines 4 and 10 change, 5 lines apart: one hunk with 3 lines of context */
	assert_string_equal(e[0].diff, "--- a/sub/m.py\n+++ b/sub/m.py\n@@ -1,10 +1,10 @@\n"
	                               " def f(x):\n     if x:\n         return 1\n-    return 2\n"
	                               "+    return 20\n \n \n def g(x):\n     if x:\n"
	                               "         return 1\n-    return 3\n+    return 30\n");

	/* a read, then a refusal: nothing written, nothing recorded */
	free(call(f, "read_file", "{\"path\": \"calc.py\"}", &st));
	lc_toolbox_edits(f->tb, &n);
	assert_int_equal(n, 0);
	expect_refused(f, "edit",
	               "{\"path\": \"calc.py\", \"search\": \"nowhere\", \"replace\": \"x\"}",
	               "refused");
	lc_toolbox_edits(f->tb, &n);
	assert_int_equal(n, 0);

	/* a patch placed with fuzz 1 (see test_apply_patch_fuzz_reported) */
	free(call(f, "apply_patch",
	          "{\"patch\": \"--- a/sub/m.py\\n+++ b/sub/m.py\\n@@ -1,6 +1,6 @@\\n"
	          " def f(y):\\n     if x:\\n         return 1\\n-    return 20\\n"
	          "+    return 0\\n \\n \\n\"}",
	          &st));
	assert_int_equal(st, LC_TOOL_OK);
	e = lc_toolbox_edits(f->tb, &n);
	assert_int_equal(n, 1);
	assert_string_equal(e[0].match, "fuzz 1");

	/* a deletion: no match level, the diff to /dev/null */
	free(call(f, "apply_patch",
	          "{\"patch\": \"--- a/calc.py\\n+++ /dev/null\\n@@ -1,2 +0,0 @@\\n"
	          "-def add(a, b):\\n-    return a + b\\n\"}",
	          &st));
	assert_int_equal(st, LC_TOOL_OK);
	e = lc_toolbox_edits(f->tb, &n);
	assert_int_equal(n, 1);
	assert_string_equal(e[0].path, "calc.py");
	assert_null(e[0].match);
	assert_string_equal(e[0].diff, "--- a/calc.py\n+++ /dev/null\n@@ -1,2 +0,0 @@\n"
	                               "-def add(a, b):\n-    return a + b\n");
	assert_user_work(f, "1\n");
}

/*
 * Make the effective capabilities honour file modes (on: as before). As
 * root, CAP_DAC_OVERRIDE would let every write into a read-only directory
 * through; the permitted set keeps it, so it can be raised again.
 */
static void honour_modes(int on)
{
	struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct d[2];
	const uint32_t dac = (1u << CAP_DAC_OVERRIDE) | (1u << CAP_FOWNER);

	if (geteuid() != 0)
		return;
	assert_int_equal(syscall(SYS_capget, &h, d), 0);
	if (on)
		d[0].effective &= ~dac;
	else
		d[0].effective |= d[0].permitted & dac;
	assert_int_equal(syscall(SYS_capset, &h, d), 0);
}

/* Entries of dir whose name starts with prefix (temporary files left behind). */
static int count_prefixed(const char *dir, const char *prefix)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	assert_non_null(d);
	while ((de = readdir(d)) != NULL)
		n += strncmp(de->d_name, prefix, strlen(prefix)) == 0;
	closedir(d);
	return n;
}

/*
 * A multi-file patch whose second file cannot be written changes nothing:
 * the failure comes while writing the temporary files (ro/ is read-only),
 * or after calc.py was already renamed into place (the deletion of
 * ro/b.txt fails), when calc.py is put back from memory.
 */
static void test_apply_patch_write_failure_changes_nothing(void **state)
{
	struct fx *f = *state;
	char ro[PATH_MAX + 8], path[PATH_MAX + 32];
	enum lc_tool_status st;
	struct stat sb;
	char *obs;
	size_t n;
	int fd;

	assert_int_equal(testrepo_write(f->dir, "ro/b.txt", "bee\n", 4), 0);
	snprintf(ro, sizeof(ro), "%s/ro", f->dir);
	snprintf(path, sizeof(path), "%s/calc.py", f->dir);
	assert_int_equal(chmod(path, 0754), 0);
	assert_int_equal(chmod(ro, 0555), 0);
	honour_modes(1);
	snprintf(path, sizeof(path), "%s/probe", ro);
	fd = open(path, O_WRONLY | O_CREAT, 0644);
	if (fd >= 0) {
		close(fd);
		unlink(path);
		honour_modes(0);
		chmod(ro, 0755);
		printf("# write failure not injectable: a read-only directory is writable here\n");
		skip();
	}

	/* the second file's temporary file cannot be made */
	expect_refused(f, "apply_patch",
	               "{\"patch\": \"--- a/calc.py\\n+++ b/calc.py\\n@@ -1,2 +1,2 @@\\n"
	               "-def add(a, b):\\n+def add(x, y):\\n     return a + b\\n"
	               "--- a/ro/b.txt\\n+++ b/ro/b.txt\\n@@ -1 +1 @@\\n-bee\\n+wasp\\n\"}",
	               "nothing was written");
	assert_file(f, "calc.py", CALC_PY);
	assert_file(f, "ro/b.txt", "bee\n");

	/* calc.py is renamed into place, then deleting ro/b.txt fails: calc.py comes back */
	obs = call(f, "apply_patch",
	           "{\"patch\": \"--- a/calc.py\\n+++ b/calc.py\\n@@ -1,2 +1,2 @@\\n"
	           "-def add(a, b):\\n+def add(x, y):\\n     return a + b\\n"
	           "--- /dev/null\\n+++ b/made/new.txt\\n@@ -0,0 +1 @@\\n+new\\n"
	           "--- a/ro/b.txt\\n+++ /dev/null\\n@@ -1 +0,0 @@\\n-bee\\n\"}",
	           &st);
	assert_int_equal(st, LC_TOOL_REFUSED);
	assert_non_null(strstr(obs, "error: cannot delete 'ro/b.txt': "));
	assert_non_null(strstr(obs, "; nothing was written (the files replaced before it were "
	                            "put back)"));
	free(obs);
	honour_modes(0);
	assert_int_equal(chmod(ro, 0755), 0);
	assert_file(f, "calc.py", CALC_PY);
	assert_file(f, "ro/b.txt", "bee\n");
	snprintf(path, sizeof(path), "%s/calc.py", f->dir);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0754);
	/* the new file and the directory made for it are gone, no temporary file is left */
	assert_no_file(f->dir, "made/new.txt");
	snprintf(path, sizeof(path), "%s/made", f->dir);
	assert_int_not_equal(access(path, F_OK), 0);
	assert_int_equal(count_prefixed(f->dir, ".calc.py.lcode-"), 0);
	assert_int_equal(count_prefixed(ro, ".b.txt.lcode-"), 0);
	lc_toolbox_changed(f->tb, &n);
	assert_int_equal(n, 0);
	assert_user_work(f, "1\n");
}

static void test_write_file(void **state)
{
	struct fx *f = *state;
	enum lc_tool_status st;
	char *obs;

	obs = call(f, "write_file", "{\"path\": \"pkg/util.py\", \"content\": \"X = 1\\n\"}", &st);
	assert_int_equal(st, LC_TOOL_OK);
	assert_non_null(strstr(obs, "created pkg/util.py"));
	free(obs);
	assert_file(f, "pkg/util.py", "X = 1\n");
	expect_refused(f, "write_file", "{\"path\": \"calc.py\", \"content\": \"gone\\n\"}",
	               "exists");
	assert_file(f, "calc.py", CALC_PY);
	obs = call(f, "write_file",
	           "{\"path\": \"calc.py\", \"content\": \"Y = 2\\n\", \"overwrite\": true}", &st);
	assert_int_equal(st, LC_TOOL_OK);
	assert_non_null(strstr(obs, "overwrote calc.py"));
	free(obs);
	assert_file(f, "calc.py", "Y = 2\n");
	/* a new file is validated too */
	expect_refused(f, "write_file", "{\"path\": \"bad.js\", \"content\": \"f(\\n\"}",
	               "bad.js:");
	assert_no_file(f->dir, "bad.js");
}

/* --- arguments and paths ------------------------------------------------------- */

static void test_schema_refusals(void **state)
{
	struct fx *f = *state;

	expect_refused(f, "read_file", "{}", "'path'");
	expect_refused(f, "read_file", "{\"path\": \"calc.py\", \"colour\": 1}", "'colour'");
	expect_refused(f, "read_file", "{\"path\": 5}", "'path'");
	expect_refused(f, "read_file", "{\"path\": \"calc.py\", \"start\": \"one\"}", "'start'");
	expect_refused(f, "write_file", "{\"path\": \"n.txt\"}", "'content'");
	expect_refused(f, "search", "{\"pattern\": \"\"}", "'pattern'");
	expect_refused(f, "shell", "{\"command\": \"true\", \"timeout\": 0}", "'timeout'");
	expect_refused(f, "edit",
	               "{\"path\": \"calc.py\", \"search\": [\"a\"], \"replace\": \"b\"}",
	               "'search'");
	expect_refused(f, "frobnicate", "{}", "unknown tool 'frobnicate'");
	assert_no_file(f->dir, "n.txt");
	assert_int_equal(f->n_approve, 0);
}

static void test_paths_escaping_refused(void **state)
{
	struct fx *f = *state;
	char *cfg_before, *cfg_after;

	assert_int_equal(testrepo_sh("ln -s '%s' '%s/out'", f->outside, f->dir), 0);
	cfg_before = testrepo_read(f->dir, ".git/config", NULL);
	assert_non_null(cfg_before);

	expect_refused(f, "read_file", "{\"path\": \"../x\"}", "outside the repository");
	expect_refused(f, "read_file", "{\"path\": \"sub/../../x\"}", "outside the repository");
	expect_refused(f, "read_file", "{\"path\": \"/etc/passwd\"}", "absolute path");
	expect_refused(f, "read_file", "{\"path\": \"out/secret.txt\"}", "symbolic link");
	expect_refused(f, "search", "{\"pattern\": \"outside\", \"path\": \"out\"}",
	               "symbolic link");
	expect_refused(f, "list_files", "{\"dir\": \"..\"}", "outside the repository");
	expect_refused(f, "write_file", "{\"path\": \"out/new.txt\", \"content\": \"x\\n\"}",
	               "symbolic link");
	expect_refused(f, "write_file", "{\"path\": \"../new.txt\", \"content\": \"x\\n\"}",
	               "outside the repository");
	expect_refused(f, "edit",
	               "{\"path\": \"out/secret.txt\", \"search\": \"outside\", "
	               "\"replace\": \"inside\"}",
	               "symbolic link");
	expect_refused(f, "write_file",
	               "{\"path\": \".git/hooks/post-commit\", \"content\": \"#!/bin/sh\\n\"}",
	               "git directory");
	expect_refused(f, "edit",
	               "{\"path\": \".git/config\", \"search\": \"bare = false\", "
	               "\"replace\": \"bare = true\"}",
	               "git directory");
	expect_refused(
	        f, "apply_patch",
	        "{\"patch\": \"--- /dev/null\\n+++ b/../escape.txt\\n@@ -0,0 +1 @@\\n+x\\n\"}",
	        "error:");

	assert_file(f, "out/secret.txt", SECRET_TEXT); /* read here by the test, not the tool */
	assert_no_file(f->outside, "new.txt");
	assert_no_file(f->dir, "../new.txt");
	assert_no_file(f->dir, "../escape.txt");
	assert_no_file(f->dir, ".git/hooks/post-commit");
	cfg_after = testrepo_read(f->dir, ".git/config", NULL);
	assert_string_equal(cfg_before, cfg_after);
	free(cfg_before);
	free(cfg_after);
	assert_int_equal(f->n_approve, 0);
}

/* --- shell --------------------------------------------------------------------- */

static void test_shell(void **state)
{
	struct fx *f = *state;
	enum lc_tool_status st;
	char cmd[2 * PATH_MAX + 128], *obs;

	if (!f->exec)
		skip();
	obs = call(f, "shell", "{\"command\": \"echo hello; echo oops >&2\"}", &st);
	assert_int_equal(st, LC_TOOL_OK);
	assert_string_equal(obs, "exit status 0\nhello\noops\n");
	free(obs);
	assert_int_equal(f->last_kind, LC_TOOL_EXEC);
	obs = call(f, "shell", "{\"command\": \"echo failing; exit 3\"}", &st);
	assert_int_equal(st, LC_TOOL_FAILED);
	assert_string_equal(obs, "exit status 3\nfailing\n");
	free(obs);
	/* a command that writes outside the repository is contained */
	snprintf(cmd, sizeof(cmd),
	         "{\"command\": \"echo pwned > %s/secret.txt; echo made > %s/made.txt\"}",
	         f->outside, f->outside);
	obs = call(f, "shell", cmd, &st);
	assert_int_equal(st, LC_TOOL_FAILED);
	free(obs);
	{
		char *secret = testrepo_read(f->outside, "secret.txt", NULL);
		assert_non_null(secret);
		assert_string_equal(secret, SECRET_TEXT);
		free(secret);
	}
	assert_no_file(f->outside, "made.txt");
	/* writing inside the repository works, the git directory does not */
	obs = call(f, "shell", "{\"command\": \"echo built > sub/gen.txt\"}", &st);
	assert_int_equal(st, LC_TOOL_OK);
	free(obs);
	assert_file(f, "sub/gen.txt", "built\n");
	obs = call(f, "shell", "{\"command\": \"echo x > .git/evil\"}", &st);
	assert_int_equal(st, LC_TOOL_FAILED);
	free(obs);
	assert_no_file(f->dir, ".git/evil");
	assert_user_work(f, "1\n");
}

static void test_shell_without_executor_refused(void **state)
{
	struct fx *f = *state;
	lc_toolbox_opts to = {0};
	lc_toolbox *tb = f->tb;

	to.repo_path = f->dir;
	assert_int_equal(lc_toolbox_new(&f->tb, &to), 0);
	expect_refused(f, "shell", "{\"command\": \"touch made.txt\"}", "not available");
	assert_no_file(f->dir, "made.txt");
	lc_toolbox_free(f->tb);
	f->tb = tb;
}

/* On a kernel without Landlock (forced by sandbox.h's test switch) the shell refuses. */
static void test_shell_refused_without_landlock(void **state)
{
	struct fx *f = *state;
	lc_exec_opts eo = LC_EXEC_OPTS_INIT;
	lc_toolbox_opts to = {0};
	lc_toolbox *tb = f->tb;
	lc_exec *e;
	int rc;

	assert_int_equal(setenv(LC_SANDBOX_TEST_NO_LANDLOCK, "1", 1), 0);
	eo.repo_root = f->dir;
	rc = lc_exec_start(&e, &eo);
	unsetenv(LC_SANDBOX_TEST_NO_LANDLOCK);
	assert_int_equal(rc, 0);
	to.repo_path = f->dir;
	to.exec = e;
	assert_int_equal(lc_toolbox_new(&f->tb, &to), 0);
	expect_refused(f, "shell", "{\"command\": \"touch made.txt\"}",
	               "error: shell: refusing to run commands without a sandbox: this kernel "
	               "does not offer Landlock");
	expect_refused(f, "shell", "{\"command\": \"touch made.txt\"}",
	               "(--no-sandbox runs them unconfined)");
	assert_no_file(f->dir, "made.txt");
	lc_toolbox_free(f->tb);
	lc_exec_free(e);
	f->tb = tb;
}

/* --- approval, undo, the user's work ------------------------------------------- */

static void test_approval_refused(void **state)
{
	struct fx *f = *state;

	f->allow = 0;
	expect_refused(f, "edit",
	               "{\"path\": \"calc.py\", \"search\": \"def add(a, b):\", "
	               "\"replace\": \"def add(a, b, c=0):\"}",
	               "not approved");
	assert_int_equal(f->n_approve, 1);
	expect_refused(f, "write_file", "{\"path\": \"n.txt\", \"content\": \"x\\n\"}",
	               "not approved");
	expect_refused(f, "apply_patch",
	               "{\"patch\": \"--- /dev/null\\n+++ b/p.txt\\n@@ -0,0 +1 @@\\n+x\\n\"}",
	               "not approved");
	expect_refused(f, "shell", "{\"command\": \"touch s.txt\"}", f->exec ? "not approved" : "");
	assert_file(f, "calc.py", CALC_PY);
	assert_no_file(f->dir, "n.txt");
	assert_no_file(f->dir, "p.txt");
	assert_no_file(f->dir, "s.txt");
	{
		size_t n;
		lc_toolbox_changed(f->tb, &n);
		assert_int_equal(n, 0);
	}
	/* reading needs no approval */
	{
		enum lc_tool_status st;
		char *obs = call(f, "read_file", "{\"path\": \"calc.py\"}", &st);
		assert_int_equal(st, LC_TOOL_OK);
		free(obs);
	}
	assert_int_equal(f->n_approve, f->exec ? 4 : 3);

	/* LC_ECANCELLED from the callback stops the request */
	f->allow = LC_ECANCELLED;
	{
		cJSON *args = cJSON_Parse("{\"path\": \"n.txt\", \"content\": \"x\\n\"}");
		lc_buf obs = LC_BUF_INIT(4096);
		enum lc_tool_status st;
		assert_int_equal(lc_toolbox_call(f->tb, "write_file", args, &obs, &st),
		                 LC_ECANCELLED);
		lc_buf_release(&obs);
		cJSON_Delete(args);
	}
	assert_no_file(f->dir, "n.txt");
	lc_err_clear();
}

static void test_undo_restores_bytes(void **state)
{
	struct fx *f = *state;
	enum lc_tool_status st;
	lc_buf out = LC_BUF_INIT(1 << 16);
	size_t n_files = 0;
	char *obs, *status;

	obs = call(f, "edit",
	           "{\"path\": \"calc.py\", \"search\": \"    return a + b\", "
	           "\"replace\": \"    return b + a\"}",
	           &st);
	assert_int_equal(st, LC_TOOL_OK);
	free(obs);
	obs = call(f, "write_file", "{\"path\": \"made.py\", \"content\": \"Z = 3\\n\"}", &st);
	assert_int_equal(st, LC_TOOL_OK);
	free(obs);
	assert_int_equal(lc_toolbox_turn_end(f->tb, &n_files), 0);
	assert_int_equal(n_files, 2);
	/* a second turn_end has nothing to close */
	assert_int_equal(lc_toolbox_turn_end(f->tb, &n_files), 0);
	assert_int_equal(n_files, 0);

	assert_int_equal(lc_git_undo(lc_toolbox_repo(f->tb), &out), 0);
	assert_file(f, "calc.py", CALC_PY);
	assert_no_file(f->dir, "made.py");
	assert_user_work(f, "1\n");
	/* the work tree is as the user left it: only their change and their untracked file */
	status = testrepo_out("git -C '%s' status --porcelain", f->dir);
	assert_non_null(status);
	assert_string_equal(status, " M notes.txt\n?? todo.txt\n");
	free(status);
	lc_buf_release(&out);
}

/* Commands that change nothing leave no undo change and no snapshot refs behind. */
static void test_shell_no_change_no_refs(void **state)
{
	struct fx *f = *state;
	enum lc_tool_status st;
	size_t n_files = 99;
	char *obs, *refs;
	int i;

	if (!f->exec)
		skip();
	for (i = 0; i < 11; i++) {
		obs = call(f, "shell", "{\"command\": \"cat calc.py\"}", &st);
		assert_int_equal(st, LC_TOOL_OK);
		free(obs);
		assert_int_equal(lc_toolbox_turn_end(f->tb, &n_files), 0);
		assert_int_equal(n_files, 0);
	}
	refs = testrepo_out("git -C '%s' for-each-ref refs/lcode/snapshots | wc -l", f->dir);
	assert_non_null(refs);
	assert_string_equal(refs, "0\n");
	free(refs);
	/* one that writes keeps a "before" and an "after" */
	obs = call(f, "shell", "{\"command\": \"echo x > made.txt\"}", &st);
	assert_int_equal(st, LC_TOOL_OK);
	free(obs);
	assert_int_equal(lc_toolbox_turn_end(f->tb, &n_files), 0);
	assert_int_equal(n_files, 1);
	refs = testrepo_out("git -C '%s' for-each-ref refs/lcode/snapshots | wc -l", f->dir);
	assert_non_null(refs);
	assert_string_equal(refs, "2\n");
	free(refs);
	assert_user_work(f, "1\n");
}

/* Everything at once: the user's uncommitted notes.txt comes through unharmed. */
static void test_user_work_survives(void **state)
{
	struct fx *f = *state;
	enum lc_tool_status st;
	lc_buf out = LC_BUF_INIT(1 << 16);
	char *obs, *status;

	obs = call(f, "edit",
	           "{\"path\": \"calc.py\", \"search\": \"def add(a, b):\", "
	           "\"replace\": \"def add(a, b):  # sum\"}",
	           &st);
	assert_int_equal(st, LC_TOOL_OK);
	free(obs);
	obs = call(f, "apply_patch",
	           "{\"patch\": \"--- /dev/null\\n+++ b/extra.txt\\n@@ -0,0 +1 @@\\n+x\\n\"}", &st);
	assert_int_equal(st, LC_TOOL_OK);
	free(obs);
	if (f->exec) {
		obs = call(f, "shell", "{\"command\": \"echo y >> extra.txt\"}", &st);
		assert_int_equal(st, LC_TOOL_OK);
		free(obs);
	}
	/* refused edits of the user's file itself write nothing */
	expect_refused(f, "edit",
	               "{\"path\": \"notes.txt\", \"search\": \"no such line\", "
	               "\"replace\": \"x\"}",
	               "nothing was written");
	assert_user_work(f, "1\n");
	assert_int_equal(lc_toolbox_turn_end(f->tb, NULL), 0);
	assert_user_work(f, "1\n");
	assert_int_equal(lc_git_undo(lc_toolbox_repo(f->tb), &out), 0);
	assert_file(f, "calc.py", CALC_PY);
	assert_no_file(f->dir, "extra.txt");
	assert_user_work(f, "1\n");
	status = testrepo_out("git -C '%s' status --porcelain", f->dir);
	assert_non_null(status);
	assert_string_equal(status, " M notes.txt\n?? todo.txt\n");
	free(status);
	/* nothing more to undo */
	lc_buf_reset(&out);
	assert_int_equal(lc_git_undo(lc_toolbox_repo(f->tb), &out), LC_ENOTFOUND);
	lc_err_clear();
	assert_user_work(f, "1\n");
	lc_buf_release(&out);
}

static void test_observation_capped(void **state)
{
	struct fx *f = *state;
	lc_toolbox_opts to = {0};
	lc_toolbox *tb = f->tb;
	enum lc_tool_status st;
	char *big = malloc(20000), *obs;

	assert_non_null(big);
	for (int i = 0; i < 2000; i++)
		memcpy(big + i * 10, "line line\n", 10);
	assert_int_equal(testrepo_write(f->dir, "big.txt", big, 20000), 0);
	free(big);
	to.repo_path = f->dir;
	to.obs_max = 1000;
	assert_int_equal(lc_toolbox_new(&f->tb, &to), 0);
	obs = call(f, "search", "{\"pattern\": \"line\"}", &st);
	/* 1000 bytes, then the note of the cut; well short of 2000 matches */
	assert_true(strlen(obs) < 1100);
	assert_non_null(strstr(obs, "more"));
	free(obs);
	lc_toolbox_free(f->tb);
	f->tb = tb;
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	        T(test_read_file_numbered),
	        T(test_list_files_gitignore),
	        T(test_search),
	        T(test_edit_exact),
	        T(test_edit_indented),
	        T(test_edit_no_match),
	        T(test_edit_two_matches),
	        T(test_edit_refused_by_validation),
	        T(test_edit_blocks),
	        T(test_apply_patch_multi_file),
	        T(test_apply_patch_refusal_detailed),
	        T(test_apply_patch_fuzz_reported),
	        T(test_edits_recorded),
	        T(test_apply_patch_write_failure_changes_nothing),
	        T(test_write_file),
	        T(test_schema_refusals),
	        T(test_paths_escaping_refused),
	        T(test_shell),
	        T(test_shell_without_executor_refused),
	        T(test_shell_refused_without_landlock),
	        T(test_approval_refused),
	        T(test_undo_restores_bytes),
	        T(test_shell_no_change_no_refs),
	        T(test_user_work_survives),
	        T(test_observation_capped),
	};
	lc_sandbox_report rep;

	testrepo_isolate();
	lc_sandbox_probe(&rep);
	sandbox_usable = lc_sandbox_usable(&rep);
	if (!sandbox_usable)
		printf("# sandbox unusable (%s): shell cases skipped\n", rep.why);
	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
