/*
 * Tests for agent/agent.c: the ReAct loop over the scripted backend
 * (lc_backend_script_new: the real Qwen2 tokenizer and ChatML/Hermes format
 * of $LC_SHARED_DATA/vocab/ggml-vocab-qwen2.gguf, the model's messages read
 * from a script the test writes) and a real toolbox in a scratch git
 * repository. Each scenario checks the outcome, the events, and the
 * repository afterwards - file bytes, and history with the git program, never
 * with the libgit2 code under test.
 *
 * The ChatML text of a tool result (used to count the tokens a second step
 * adds) is written here by hand from the Qwen2.5 chat template: results go in
 * a user turn as "<tool_response>\n...\n</tool_response>".
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

#include <cjson/cJSON.h>

#include "agent/agent.h"
#include "agent/files.h"
#include "agent/backend.h"
#include "agent/toolcall.h"
#include "runtime/gguf.h"
#include "runtime/tokenizer.h"
#include "src/buf.h"
#include "src/err.h"
#include "tests/testrepo.h"
#include "tools/tool.h"

#define CALC_PY "def add(a, b):\n    return a + b\n"
#define M_PY                                                                                       \
	"def f(x):\n    if x:\n        return 1\n    return 2\n\n\n"                               \
	"def g(x):\n    if x:\n        return 1\n    return 3\n"
#define USER_WORK "notes\nthe user's own unsaved thoughts\n"
#define SEP       "\n--- turn ---\n"

/* A Hermes tool call as the Qwen template has the model write it. */
#define CALL(name, args)                                                                           \
	"<tool_call>\n{\"name\": \"" name "\", \"arguments\": " args "}\n</tool_call>"

#define MAX_EVENTS 512

struct ev {
	enum lc_event_kind kind;
	char *text; /* owned copy, may be NULL */
	char *tool; /* owned copy, may be NULL */
	int status;
	lc_gen_stats stats;
};

struct fx {
	char dir[PATH_MAX];
	char script[PATH_MAX];
	lc_toolbox *tb;
	lc_backend *backend;
	lc_agent *agent;
	lc_buf answer;
	volatile sig_atomic_t cancel;
	int cancel_on_text; /* set cancel at the first LC_EV_TEXT */
	char text[4096];    /* the first bytes of the model's streamed text */
	size_t text_len;
	struct ev ev[MAX_EVENTS];
	size_t n_ev;
	char err[LC_ERR_MSG_MAX];
};

/* Settings of one run; zero means the default. */
struct run_opts {
	int constrain;
	int n_ctx;
	int max_failures;
	int answer_reserve;
	int no_commit;
	int react; /* the ReAct call format instead of the family's */
};

static char vocab[PATH_MAX];
static lc_gguf *gguf;
static lc_tokenizer *tok;

static void on_event(void *ud, const lc_event *e)
{
	struct fx *f = ud;
	struct ev *v;

	if (e->kind == LC_EV_TEXT && f->cancel_on_text)
		f->cancel = 1;
	if (e->kind == LC_EV_TEXT && e->text) {
		size_t n = e->len < sizeof(f->text) - 1 - f->text_len
		                   ? e->len
		                   : sizeof(f->text) - 1 - f->text_len;
		memcpy(f->text + f->text_len, e->text, n);
		f->text[f->text_len += n] = '\0';
	}
	/* text chunks are one per token: not kept, so long messages leave room for the rest */
	if (e->kind == LC_EV_TEXT || f->n_ev == MAX_EVENTS)
		return;
	v = &f->ev[f->n_ev++];
	memset(v, 0, sizeof(*v));
	v->kind = e->kind;
	if (e->text)
		v->text = strndup(e->text, e->len);
	if (e->tool)
		v->tool = strdup(e->tool);
	v->status = e->status;
	if (e->stats)
		v->stats = *e->stats;
}

static int group_setup(void **state)
{
	(void)state;
	snprintf(vocab, sizeof(vocab), "%s/vocab/ggml-vocab-qwen2.gguf", getenv("LC_SHARED_DATA"));
	if (lc_gguf_open(&gguf, vocab) || lc_tokenizer_new(&tok, gguf))
		return -1;
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	lc_tokenizer_free(tok);
	lc_gguf_free(gguf);
	return 0;
}

/* A repository with calc.py and sub/m.py committed, and the user's notes.txt changed. */
static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	lc_toolbox_opts to = {0};
	int fd;

	if (!f || testrepo_init(f->dir, 1) != 0)
		return -1;
	testrepo_write(f->dir, "calc.py", CALC_PY, (size_t)-1);
	testrepo_write(f->dir, "sub/m.py", M_PY, (size_t)-1);
	testrepo_write(f->dir, "notes.txt", "notes\n", (size_t)-1);
	if (testrepo_sh("cd '%s' && git add . && git commit -qm init", f->dir) != 0)
		return -1;
	testrepo_write(f->dir, "notes.txt", USER_WORK, (size_t)-1);
	snprintf(f->script, sizeof(f->script), "/tmp/lcode-script-XXXXXX");
	if ((fd = mkstemp(f->script)) < 0)
		return -1;
	close(fd);
	to.repo_path = f->dir;
	if (lc_toolbox_new(&f->tb, &to) != 0)
		return -1;
	lc_buf_init(&f->answer, 1 << 20);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	for (size_t i = 0; i < f->n_ev; i++) {
		free(f->ev[i].text);
		free(f->ev[i].tool);
	}
	lc_agent_free(f->agent);
	lc_backend_free(f->backend);
	lc_toolbox_free(f->tb);
	lc_buf_release(&f->answer);
	unlink(f->script);
	testrepo_remove(f->dir);
	free(f);
	return 0;
}

/* Write the script, build backend and agent. */
static void start(struct fx *f, const char *script, const struct run_opts *ro)
{
	lc_local_opts lo;
	lc_agent_opts ao = {0};
	struct lc_sampler_params sp = LC_SAMPLER_PARAMS_INIT;
	FILE *s = fopen(f->script, "wb");

	assert_non_null(s);
	assert_int_equal(fwrite(script, 1, strlen(script), s), strlen(script));
	assert_int_equal(fclose(s), 0);
	memset(&lo, 0, sizeof(lo));
	sp.temp = 0; /* greedy: the script is reproduced */
	sp.repeat_penalty = 1.0f;
	lo.sampler = sp;
	lo.n_ctx = ro->n_ctx;
	lo.call_format = ro->react ? LC_CALL_REACT : -1;
	assert_int_equal(lc_backend_script_new(&f->backend, f->script, vocab, &lo), 0);
	ao.backend = f->backend;
	ao.tools = f->tb;
	ao.system = "You are a careful coding agent. Use the tools.";
	ao.constrain = ro->constrain;
	ao.max_failures = ro->max_failures;
	ao.answer_reserve = ro->answer_reserve;
	ao.commit = !ro->no_commit;
	ao.cancel = &f->cancel;
	ao.on_event = on_event;
	ao.ud = f;
	assert_int_equal(lc_agent_new(&f->agent, &ao), 0);
}

/* Run one request on the agent start() made; the outcome. */
static int request(struct fx *f, const char *text)
{
	int outcome;

	lc_buf_reset(&f->answer);
	outcome = lc_agent_run(f->agent, text, &f->answer);
	snprintf(f->err, sizeof(f->err), "%s", lc_err_msg());
	lc_err_clear();
	return outcome;
}

/* Write the script, build backend and agent, run request; the outcome. */
static int run(struct fx *f, const char *script, const char *text, const struct run_opts *ro)
{
	start(f, script, ro);
	return request(f, text);
}

static size_t count_events(struct fx *f, enum lc_event_kind kind)
{
	size_t n = 0;

	for (size_t i = 0; i < f->n_ev; i++)
		n += f->ev[i].kind == kind;
	return n;
}

/* The k-th event of kind (0-based), or fail. */
static struct ev *event(struct fx *f, enum lc_event_kind kind, size_t k)
{
	for (size_t i = 0; i < f->n_ev; i++)
		if (f->ev[i].kind == kind && k-- == 0)
			return &f->ev[i];
	fail_msg("no event %d number %zu", (int)kind, k);
	return NULL;
}

static void assert_file(struct fx *f, const char *rel, const char *want)
{
	char *got = testrepo_read(f->dir, rel, NULL);

	assert_non_null(got);
	assert_string_equal(got, want);
	free(got);
}

static void assert_git(struct fx *f, const char *cmd, const char *want)
{
	char *out = testrepo_out("git -C '%s' %s", f->dir, cmd);

	assert_non_null(out);
	assert_string_equal(out, want);
	free(out);
}

/* Nothing committed, the work tree as the test made it. */
static void assert_untouched(struct fx *f)
{
	assert_file(f, "calc.py", CALC_PY);
	assert_file(f, "sub/m.py", M_PY);
	assert_file(f, "notes.txt", USER_WORK);
	assert_git(f, "rev-list --count HEAD", "1\n");
	assert_git(f, "status --porcelain", " M notes.txt\n");
}

/* --- scenarios ------------------------------------------------------------------ */

static void test_multi_step_task_committed(void **state)
{
	struct fx *f = *state;
	static const char script[] =
	        "Let me look at the file first.\n" CALL("read_file", "{\"path\": \"calc.py\"}")
	                SEP CALL("edit", "{\"path\": \"calc.py\", \"search\": \"def add(a, b):\", "
	                                 "\"replace\": \"def add(a: int, b: int) -> int:\"}") SEP
	        "I added type hints to add().";
	struct run_opts ro = {.constrain = 1};

	assert_int_equal(run(f, script, "add type hints", &ro), LC_OUTCOME_DONE);
	assert_string_equal(f->answer.data, "I added type hints to add().");
	assert_int_equal(count_events(f, LC_EV_CALL), 2);
	assert_string_equal(event(f, LC_EV_CALL, 0)->tool, "read_file");
	assert_string_equal(event(f, LC_EV_CALL, 1)->tool, "edit");
	assert_string_equal(event(f, LC_EV_OBSERVATION, 0)->text,
	                    "1| def add(a, b):\n2|     return a + b\n");
	assert_int_equal(event(f, LC_EV_OBSERVATION, 1)->status, LC_TOOL_OK);
	/* the edit's event: its diff, written by hand in GNU diff -u's format */
	assert_int_equal(count_events(f, LC_EV_EDIT), 1);
	assert_string_equal(event(f, LC_EV_EDIT, 0)->tool, "edit");
	assert_string_equal(event(f, LC_EV_EDIT, 0)->text,
	                    "--- a/calc.py\n+++ b/calc.py\n@@ -1,2 +1,2 @@\n-def add(a, b):\n"
	                    "+def add(a: int, b: int) -> int:\n     return a + b\n");
	assert_int_equal(count_events(f, LC_EV_COMMIT), 1);
	assert_string_equal(event(f, LC_EV_FINAL, 0)->text, "I added type hints to add().");

	assert_file(f, "calc.py", "def add(a: int, b: int) -> int:\n    return a + b\n");
	assert_file(f, "notes.txt", USER_WORK);
	assert_git(f, "rev-list --count HEAD", "2\n");
	/* the request is the title, the answer the body, the model the trailer */
	assert_git(f, "log -1 --format=%B",
	           "add type hints\n\nI added type hints to add().\n\n"
	           "Co-authored-by: lcode (script)\n\n");
	{
		char *oid = testrepo_out("git -C '%s' rev-parse HEAD", f->dir);
		assert_non_null(oid);
		assert_int_equal(strncmp(oid, event(f, LC_EV_COMMIT, 0)->text, 40), 0);
		free(oid);
	}
	/* only calc.py in the commit; the user's change is still theirs, uncommitted */
	assert_git(f, "show --format= --name-only HEAD", "calc.py\n");
	assert_git(f, "status --porcelain", " M notes.txt\n");
}

static const char malformed_script[] = CALL("read_file", "{\"path\": \"calc.py\",, \"start\": 1}")
        SEP CALL("read_file", "{\"path\": \"sub/m.py\"}") SEP "Both files read.";

static void test_malformed_call_unconstrained(void **state)
{
	struct fx *f = *state;
	struct run_opts ro = {.constrain = 0};
	struct ev *o;

	assert_int_equal(run(f, malformed_script, "read the files", &ro), LC_OUTCOME_DONE);
	/* the message came out as scripted, and the model was told what was wrong */
	assert_non_null(strstr(event(f, LC_EV_MESSAGE, 0)->text, ",, \"start\""));
	o = event(f, LC_EV_OBSERVATION, 0);
	assert_string_equal(o->tool, "");
	assert_int_equal(o->status, LC_TOOL_REFUSED);
	assert_non_null(strstr(o->text, "could not be used"));
	assert_non_null(strstr(o->text, "invalid JSON"));
	/* the next turn recovered */
	assert_int_equal(count_events(f, LC_EV_CALL), 1);
	assert_string_equal(event(f, LC_EV_CALL, 0)->tool, "read_file");
	assert_int_equal(event(f, LC_EV_OBSERVATION, 1)->status, LC_TOOL_OK);
	assert_string_equal(f->answer.data, "Both files read.");
	{
		lc_buf text = LC_BUF_INIT(1 << 22);
		assert_int_equal(lc_agent_render(f->agent, &text), 0);
		assert_non_null(strstr(text.data, "<tool_response>\nerror: your tool call could "
		                                  "not be used"));
		lc_buf_release(&text);
	}
	assert_untouched(f);
}

static void test_malformed_call_constrained(void **state)
{
	struct fx *f = *state;
	struct run_opts ro = {.constrain = 1};

	assert_int_equal(run(f, malformed_script, "read the files", &ro), LC_OUTCOME_DONE);
	/* under the constraint ",," cannot be sampled: every message parses */
	for (size_t i = 0; i < count_events(f, LC_EV_MESSAGE); i++) {
		const char *m = event(f, LC_EV_MESSAGE, i)->text;
		lc_parsed_msg pm;
		if (lc_toolcall_parse(LC_CALL_HERMES, m, strlen(m), lc_agent_tools(f->agent), &pm))
			fail_msg("message %zu does not parse: %s", i, lc_err_msg());
		if (i < 2)
			assert_int_equal(pm.n_calls, 1);
		lc_parsed_msg_release(&pm);
	}
	assert_null(strstr(event(f, LC_EV_MESSAGE, 0)->text, ",,"));
	/* no observation of a call that could not be parsed */
	for (size_t i = 0; i < count_events(f, LC_EV_OBSERVATION); i++)
		assert_string_not_equal(event(f, LC_EV_OBSERVATION, i)->tool, "");
	assert_int_equal(count_events(f, LC_EV_CALL), 2);
	assert_true(event(f, LC_EV_STATS, 0)->stats.n_rejected > 0);
	assert_string_equal(f->answer.data, "Both files read.");
	assert_untouched(f);
}

/*
 * In the ReAct format the constraint quotes the repository's files
 * (agent/files.c): a search that misquotes calc.py ("a - b" for "a + b")
 * cannot be sampled; what is sampled instead is the file's own line.
 */
static void test_react_search_quotes_file(void **state)
{
	struct fx *f = *state;
	static const char script[] = "Action: edit\npath: calc.py\nsearch:\n<<<\n    return a - b\n"
	                             ">>>\nreplace:\n<<<\n    return b + a\n>>>\n" SEP "Done.";
	struct run_opts ro = {.constrain = 1, .react = 1, .no_commit = 1};

	/*
	 * Off its script, the scripted model's fallbacks soon wander (edit now
	 * needs replace with search, and the script's tokens no longer line up),
	 * so what is checked is the streamed text of the call's search block.
	 */
	run(f, script, "swap the operands", &ro);
	assert_null(strstr(f->text, "a - b"));
	/* the one line of calc.py that starts "    return a " (worked out by hand) */
	assert_non_null(strstr(f->text, "search:\n<<<\n    return a + b\n>>>"));
	assert_true(event(f, LC_EV_STATS, 0)->stats.n_rejected > 0);
	assert_file(f, "notes.txt", USER_WORK);
}

/*
 * agent/files.c lists what list_files shows (the fixture's three files) and
 * reads each byte for byte; a refresh sees a file written since.
 */
static void test_files_listed_and_read(void **state)
{
	struct fx *f = *state;
	lc_agent_files *af;
	const lc_constraint_files *set;
	const char *text;
	size_t len, i, found = 0;

	assert_int_equal(lc_agent_files_new(&af, lc_toolbox_repo(f->tb)), 0);
	set = lc_agent_files_refresh(af);
	assert_non_null(set);
	assert_int_equal(set->n_paths, 3);
	for (i = 0; i < set->n_paths; i++) {
		const char *want = strcmp(set->paths[i], "calc.py") == 0     ? CALC_PY
		                   : strcmp(set->paths[i], "sub/m.py") == 0  ? M_PY
		                   : strcmp(set->paths[i], "notes.txt") == 0 ? USER_WORK
		                                                             : NULL;
		assert_non_null(want);
		assert_int_equal(set->read(set->ud, i, &text, &len), 0);
		assert_int_equal(len, strlen(want));
		assert_memory_equal(text, want, len);
		found++;
	}
	assert_int_equal(found, 3);
	assert_int_not_equal(set->read(set->ud, 3, &text, &len), 0);
	testrepo_write(f->dir, "new.py", "x = 1\n", (size_t)-1);
	set = lc_agent_files_refresh(af);
	assert_non_null(set);
	assert_int_equal(set->n_paths, 4);
	lc_agent_files_free(af);
}

static void test_unknown_tool(void **state)
{
	struct fx *f = *state;
	static const char script[] = CALL("delete_everything", "{\"really\": true}")
	        SEP CALL("list_files", "{\"glob\": \"*.py\"}") SEP "Two Python files.";
	struct run_opts ro = {.constrain = 0};
	struct ev *o;

	assert_int_equal(run(f, script, "list the Python files", &ro), LC_OUTCOME_DONE);
	o = event(f, LC_EV_OBSERVATION, 0);
	assert_int_equal(o->status, LC_TOOL_REFUSED);
	assert_non_null(strstr(o->text, "delete_everything"));
	/* the observation lists the tools there are */
	assert_non_null(strstr(o->text, "read_file"));
	assert_non_null(strstr(o->text, "apply_patch"));
	assert_non_null(strstr(o->text, "shell"));
	assert_int_equal(count_events(f, LC_EV_CALL), 1);
	assert_string_equal(event(f, LC_EV_OBSERVATION, 1)->text, "calc.py\nsub/m.py\n");
	assert_string_equal(f->answer.data, "Two Python files.");
	assert_untouched(f);
}

static void test_looping_answer_cut(void **state)
{
	struct fx *f = *state;
	char script[4096] = "Let me think.";
	struct run_opts ro = {.constrain = 1};
	int loops = 0;

	for (int i = 0; i < 100; i++)
		strcat(script, " I will check it again and");
	assert_int_equal(run(f, script, "think", &ro), LC_OUTCOME_DONE);
	for (size_t i = 0; i < count_events(f, LC_EV_STATS); i++)
		loops += event(f, LC_EV_STATS, i)->stats.n_loops;
	assert_true(loops >= 1);
	/* the repeats are gone: well short of the 100 scripted */
	assert_true(f->answer.len < 200);
	assert_non_null(strstr(f->answer.data, "Let me think. I will check it again and"));
	assert_untouched(f);
}

static void test_repeated_call_stopped(void **state)
{
	struct fx *f = *state;
	char script[4096] = "";
	struct run_opts ro = {.constrain = 1};
	size_t n_notes = 0;

	for (int i = 0; i < 8; i++)
		strcat(strcat(script, i ? SEP : ""), CALL("read_file", "{\"path\": \"calc.py\"}"));
	assert_int_equal(run(f, script, "read calc.py", &ro), LC_OUTCOME_FAILED);
	assert_non_null(strstr(f->err, "repeating"));
	/* warned once, in the observation and as a note */
	for (size_t i = 0; i < count_events(f, LC_EV_NOTE); i++)
		n_notes += strstr(event(f, LC_EV_NOTE, i)->text, "repeated") != NULL;
	assert_int_equal(n_notes, 1);
	assert_int_equal(count_events(f, LC_EV_CALL), 3);
	assert_non_null(strstr(event(f, LC_EV_OBSERVATION, 2)->text, "three times"));
	assert_null(strstr(event(f, LC_EV_OBSERVATION, 1)->text, "three times"));
	assert_true(count_events(f, LC_EV_MESSAGE) < 8);
	assert_int_equal(count_events(f, LC_EV_FINAL), 0);
	assert_untouched(f);
}

static void test_indentation_breaking_edit_refused(void **state)
{
	struct fx *f = *state;
	static const char script[] =
	        CALL("edit", "{\"path\": \"sub/m.py\", \"search\": \"    return 2\\n\", "
	                     "\"replace\": \"      return 2\\n\"}") SEP "I could not change it.";
	struct run_opts ro = {.constrain = 1};
	struct ev *o;

	assert_int_equal(run(f, script, "change f", &ro), LC_OUTCOME_DONE);
	o = event(f, LC_EV_OBSERVATION, 0);
	assert_int_equal(o->status, LC_TOOL_REFUSED);
	/* line 4's new indentation matches no outer level */
	assert_non_null(strstr(o->text, "sub/m.py:4:"));
	assert_non_null(strstr(o->text, "nothing was written"));
	assert_int_equal(count_events(f, LC_EV_EDIT), 0); /* nothing written, no edit event */
	/* the model was given the reason */
	{
		lc_buf text = LC_BUF_INIT(1 << 22);
		assert_int_equal(lc_agent_render(f->agent, &text), 0);
		assert_non_null(strstr(text.data, o->text));
		lc_buf_release(&text);
	}
	assert_int_equal(count_events(f, LC_EV_COMMIT), 0);
	assert_untouched(f);
}

static void test_edit_matching_twice_refused(void **state)
{
	struct fx *f = *state;
	static const char script[] =
	        CALL("edit",
	             "{\"path\": \"sub/m.py\", \"search\": \"    if x:\\n        return 1\\n\", "
	             "\"replace\": \"    if not x:\\n        return 0\\n\"}") SEP
	        "The text is in two places.";
	struct run_opts ro = {.constrain = 1};
	struct ev *o;

	assert_int_equal(run(f, script, "invert the tests", &ro), LC_OUTCOME_DONE);
	o = event(f, LC_EV_OBSERVATION, 0);
	assert_int_equal(o->status, LC_TOOL_REFUSED);
	/* f's lines 2-3, g's lines 8-9 */
	assert_non_null(strstr(o->text, "2-3"));
	assert_non_null(strstr(o->text, "8-9"));
	assert_int_equal(count_events(f, LC_EV_COMMIT), 0);
	assert_untouched(f);
}

/* A file of n numbered lines of filler text, committed. */
static void write_big(struct fx *f, const char *rel, int n)
{
	lc_buf b = LC_BUF_INIT(1 << 20);

	for (int i = 1; i <= n; i++)
		lc_buf_addf(&b, "%s line %d: the quick brown fox jumps over the lazy dog\n", rel,
		            i);
	assert_int_equal(testrepo_write(f->dir, rel, b.data, b.len), 0);
	lc_buf_release(&b);
	assert_int_equal(testrepo_sh("cd '%s' && git add '%s' && git commit -qm big", f->dir, rel),
	                 0);
}

static void test_context_overflow_shortens(void **state)
{
	struct fx *f = *state;
	static const char script[] = CALL("read_file", "{\"path\": \"a.txt\"}")
	        SEP CALL("read_file", "{\"path\": \"b.txt\"}")
	                SEP CALL("read_file", "{\"path\": \"c.txt\"}") SEP "Read all three.";
	struct run_opts ro = {.constrain = 1, .n_ctx = 4096, .answer_reserve = 256};
	int shortened = 0;

	/* about 1400 tokens each: two fit in 4096 beside the prompt, three do not */
	write_big(f, "a.txt", 66);
	write_big(f, "b.txt", 66);
	write_big(f, "c.txt", 66);
	assert_int_equal(run(f, script, "read a, b and c", &ro), LC_OUTCOME_DONE);
	assert_int_equal(count_events(f, LC_EV_CALL), 3);
	for (size_t i = 0; i < count_events(f, LC_EV_NOTE); i++)
		shortened += strstr(event(f, LC_EV_NOTE, i)->text, "old outputs shortened") != NULL;
	/* not silent: the cut was reported */
	assert_true(shortened >= 1);
	{
		lc_buf text = LC_BUF_INIT(1 << 22);
		int n_ctx;
		assert_int_equal(lc_agent_render(f->agent, &text), 0);
		assert_non_null(strstr(text.data, "removed to save context"));
		/* the oldest output was shortened, the two latest are whole */
		assert_non_null(strstr(text.data, "a.txt line 1:"));
		assert_null(strstr(text.data, "a.txt line 66:"));
		assert_non_null(strstr(text.data, "b.txt line 66:"));
		assert_non_null(strstr(text.data, "c.txt line 66:"));
		assert_true(lc_agent_tokens(f->agent, &n_ctx) <= n_ctx);
		lc_buf_release(&text);
	}
	assert_string_equal(f->answer.data, "Read all three.");
}

static void test_context_overflow_fails(void **state)
{
	struct fx *f = *state;
	static const char script[] = CALL("read_file", "{\"path\": \"a.txt\"}") SEP "Read it.";
	struct run_opts ro = {.constrain = 1, .n_ctx = 2048, .answer_reserve = 256};

	/* one output larger than the whole context: nothing older to shorten */
	write_big(f, "a.txt", 200);
	assert_int_equal(run(f, script, "read a", &ro), LC_OUTCOME_FAILED);
	assert_string_equal(f->err, "the conversation is longer than the context of 2048 tokens");
	assert_int_equal(count_events(f, LC_EV_CALL), 1);
	assert_int_equal(count_events(f, LC_EV_FINAL), 0);
	assert_int_equal(count_events(f, LC_EV_MESSAGE), 1);
}

static void test_context_latest_outputs_too_big(void **state)
{
	struct fx *f = *state;
	static const char script[] = CALL("read_file", "{\"path\": \"a.txt\"}")
	        SEP CALL("read_file", "{\"path\": \"b.txt\"}") SEP "Read both.";
	struct run_opts ro = {.constrain = 1, .n_ctx = 4096, .answer_reserve = 256};

	/* about 1700 tokens each: the two latest outputs, which are kept whole, do not fit */
	write_big(f, "a.txt", 80);
	write_big(f, "b.txt", 80);
	assert_int_equal(run(f, script, "read a and b", &ro), LC_OUTCOME_FAILED);
	assert_non_null(strstr(f->err, "the request needs"));
	assert_non_null(strstr(f->err, "more than the context of 4096 less 256 for the answer"));
	assert_int_equal(count_events(f, LC_EV_CALL), 2);
	assert_int_equal(count_events(f, LC_EV_FINAL), 0);
}

/*
 * A session of three requests whose history passes n_ctx: the first one's
 * large write_file message is shortened, then the earlier requests are
 * replaced by a summary in the system text, built from their messages: the
 * request text, the calls with their paths, the files changed and how each
 * ended. Nothing fails, the user is told, and the repository is as the
 * three requests left it.
 */
static void test_context_overflow_summarises(void **state)
{
	struct fx *f = *state;
	struct run_opts ro = {.constrain = 1, .n_ctx = 3072, .answer_reserve = 256};
	lc_buf script = LC_BUF_INIT(1 << 20), data = LC_BUF_INIT(1 << 20);
	lc_buf text = LC_BUF_INIT(1 << 22);
	size_t n_summarised = 0, n_shortened = 0;
	char *sys_end;
	int n_ctx;

	/* about 1000 tokens of file content in the first request's message */
	for (int i = 1; i <= 50; i++)
		lc_buf_addf(&data, "data line %d: the quick brown fox jumps over the lazy dog\n",
		            i);
	lc_buf_adds(&script, "<tool_call>\n{\"name\": \"write_file\", \"arguments\": {\"path\": "
	                     "\"data.txt\", \"content\": \"");
	for (int i = 1; i <= 50; i++)
		lc_buf_addf(&script, "data line %d: the quick brown fox jumps over the lazy dog\\n",
		            i);
	lc_buf_adds(&script, "\"}}\n</tool_call>" SEP "Created data.txt." SEP);
	lc_buf_adds(&script, CALL("read_file", "{\"path\": \"a.txt\"}") SEP "Read a." SEP);
	lc_buf_adds(&script, CALL("read_file", "{\"path\": \"b.txt\"}")
	                             SEP CALL("edit", "{\"path\": \"calc.py\", \"search\": \"    "
	                                              "return a + b\", \"replace\": \"    return "
	                                              "b + a\"}") SEP "Swapped.");
	/* about 1400 tokens each */
	write_big(f, "a.txt", 66);
	write_big(f, "b.txt", 66);
	start(f, script.data, &ro);
	assert_int_equal(request(f, "create data.txt with the fox lines"), LC_OUTCOME_DONE);
	assert_int_equal(request(f, "read a.txt"), LC_OUTCOME_DONE);
	assert_int_equal(request(f, "read b.txt, then swap the operands in calc.py"),
	                 LC_OUTCOME_DONE);
	assert_string_equal(f->answer.data, "Swapped.");

	/* not silent: a note says which requests were summarised */
	for (size_t i = 0; i < count_events(f, LC_EV_NOTE); i++) {
		const char *t = event(f, LC_EV_NOTE, i)->text;
		/* the first request's large write_file message was shortened first */
		n_shortened += strstr(t, "1 long message of earlier requests shortened") != NULL;
		if (strstr(t, "summarised")) {
			n_summarised++;
			assert_non_null(strstr(t, "\"create data.txt with the fox lines\""));
		}
	}
	assert_true(n_summarised >= 1);
	assert_true(n_shortened >= 1);

	assert_int_equal(lc_agent_render(f->agent, &text), 0);
	/* the summary is in the system turn, before the first user turn */
	sys_end = strstr(text.data, "<|im_end|>");
	assert_non_null(sys_end);
	*sys_end = '\0';
	assert_non_null(strstr(text.data, "# Earlier in this session"));
	assert_non_null(strstr(text.data, "- Request: create data.txt with the fox lines\n"
	                                  "  Tool calls: write_file data.txt\n"
	                                  "  Files changed: data.txt (committed "));
	assert_non_null(strstr(text.data, "  Outcome: answered: Created data.txt.\n"));
	assert_non_null(strstr(text.data, "- Request: read a.txt\n"
	                                  "  Tool calls: read_file a.txt\n"
	                                  "  Files changed: none\n"
	                                  "  Outcome: answered: Read a."));
	*sys_end = '<';
	/* the summarised requests' messages are gone; the current one is whole */
	assert_null(strstr(text.data, "<|im_start|>user\ncreate data.txt"));
	assert_null(strstr(text.data, "data line 50:"));
	assert_null(strstr(text.data, "a.txt line 1:"));
	assert_non_null(strstr(text.data, "<|im_start|>user\nread b.txt, then swap"));
	assert_non_null(strstr(text.data, "b.txt line 66:"));
	assert_true(lc_agent_tokens(f->agent, &n_ctx) <= n_ctx);

	/* the repository: data.txt written and committed, calc.py swapped and committed */
	assert_file(f, "data.txt", data.data);
	assert_file(f, "calc.py", "def add(a, b):\n    return b + a\n");
	assert_file(f, "notes.txt", USER_WORK);
	assert_git(f, "rev-list --count HEAD", "5\n"); /* init, a.txt, b.txt, two requests */
	assert_git(f, "log -2 --format=%s",
	           "read b.txt, then swap the operands in calc.py\n"
	           "create data.txt with the fox lines\n");
	assert_git(f, "status --porcelain", " M notes.txt\n");
	lc_buf_release(&text);
	lc_buf_release(&data);
	lc_buf_release(&script);
}

static void test_cancel_mid_generation(void **state)
{
	struct fx *f = *state;
	static const char script[] =
	        CALL("edit", "{\"path\": \"calc.py\", \"search\": \"def add(a, b):\", "
	                     "\"replace\": \"def add(a, b, c):\"}") SEP "Done.";
	struct run_opts ro = {.constrain = 1};

	f->cancel_on_text = 1;
	assert_int_equal(run(f, script, "add c", &ro), LC_OUTCOME_CANCELLED);
	assert_int_equal(count_events(f, LC_EV_CALL), 0);
	assert_int_equal(count_events(f, LC_EV_COMMIT), 0);
	assert_int_equal(count_events(f, LC_EV_FINAL), 0);
	assert_untouched(f);
}

static size_t n_tokens(const char *text, int special)
{
	int32_t *ids;
	size_t n;

	assert_int_equal(lc_tokenize_alloc(tok, text, strlen(text), 0, special, 1 << 20, &ids, &n),
	                 0);
	free(ids);
	return n;
}

static void test_prefix_reuse(void **state)
{
	struct fx *f = *state;
	static const char script[] = CALL("read_file", "{\"path\": \"sub/m.py\"}") SEP "Read.";
	struct run_opts ro = {.constrain = 1};
	lc_gen_stats s1, s2;
	const char *obs;
	size_t want;

	assert_int_equal(run(f, script, "read m", &ro), LC_OUTCOME_DONE);
	assert_int_equal(count_events(f, LC_EV_STATS), 2);
	s1 = event(f, LC_EV_STATS, 0)->stats;
	s2 = event(f, LC_EV_STATS, 1)->stats;
	obs = event(f, LC_EV_OBSERVATION, 0)->text;
	/*
	 * What the second step adds after the first message, from the Qwen2.5
	 * template: the end of the assistant turn, the tool result in a user
	 * turn, the opening of the next assistant turn. Template text may hold
	 * special tokens; the observation is plain text.
	 */
	want = n_tokens("<|im_end|>\n<|im_start|>user\n<tool_response>\n", 1) + n_tokens(obs, 0) +
	       n_tokens("\n</tool_response><|im_end|>\n<|im_start|>assistant\n", 1);
	assert_int_equal(s2.n_prompt, (int)want);
	/* everything before: the first prompt and the first message's tokens */
	assert_true(s2.n_reused > 0);
	assert_int_equal(s2.n_reused, s1.n_prompt + s1.n_gen);
	assert_int_equal(s1.n_reused, 0);
}

static void test_max_failures(void **state)
{
	struct fx *f = *state;
	char script[8192] = "";
	struct run_opts ro = {.constrain = 1, .max_failures = 2};

	/* each call differs, so the call loop guard stays out of it */
	for (int i = 0; i < 6; i++) {
		char turn[256];
		snprintf(turn, sizeof(turn),
		         "%s<tool_call>\n{\"name\": \"edit\", \"arguments\": {\"path\": "
		         "\"calc.py\", "
		         "\"search\": \"def nothing%d():\", \"replace\": \"pass\"}}\n</tool_call>",
		         i ? SEP : "", i);
		strcat(script, turn);
	}
	assert_int_equal(run(f, script, "edit calc", &ro), LC_OUTCOME_FAILED);
	/* the second failure ends the request */
	assert_int_equal(count_events(f, LC_EV_CALL), 2);
	for (size_t i = 0; i < 2; i++)
		assert_int_equal(event(f, LC_EV_OBSERVATION, i)->status, LC_TOOL_REFUSED);
	/* how many, the limit, and what the last call was told, on one line */
	assert_non_null(strstr(f->err, "2 tool calls were refused or failed (max-failures is 2)"));
	assert_non_null(strstr(f->err, "the last, a call of edit: error: edit of calc.py refused"));
	assert_non_null(strstr(f->err, "matches no place in the file"));
	assert_int_not_equal(f->err[strlen(f->err) - 1], ' ');
	assert_null(strchr(f->err, '\n'));
	assert_int_equal(count_events(f, LC_EV_FINAL), 0);
	assert_untouched(f);
}

static void test_no_commit_leaves_change(void **state)
{
	struct fx *f = *state;
	static const char script[] =
	        CALL("edit", "{\"path\": \"calc.py\", \"search\": \"    return a + b\", "
	                     "\"replace\": \"    return b + a\"}") SEP "Swapped.";
	struct run_opts ro = {.constrain = 1, .no_commit = 1};

	assert_int_equal(run(f, script, "swap", &ro), LC_OUTCOME_DONE);
	assert_file(f, "calc.py", "def add(a, b):\n    return b + a\n");
	assert_int_equal(count_events(f, LC_EV_COMMIT), 0);
	assert_git(f, "rev-list --count HEAD", "1\n");
	assert_git(f, "status --porcelain", " M calc.py\n M notes.txt\n");
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	        T(test_multi_step_task_committed),
	        T(test_malformed_call_unconstrained),
	        T(test_malformed_call_constrained),
	        T(test_react_search_quotes_file),
	        T(test_files_listed_and_read),
	        T(test_unknown_tool),
	        T(test_looping_answer_cut),
	        T(test_repeated_call_stopped),
	        T(test_indentation_breaking_edit_refused),
	        T(test_edit_matching_twice_refused),
	        T(test_context_overflow_shortens),
	        T(test_context_overflow_fails),
	        T(test_context_latest_outputs_too_big),
	        T(test_context_overflow_summarises),
	        T(test_cancel_mid_generation),
	        T(test_prefix_reuse),
	        T(test_max_failures),
	        T(test_no_commit_leaves_change),
	};

	testrepo_isolate();
	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
