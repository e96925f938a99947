#include "agent/agent.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/files.h"
#include "agent/loopguard.h"
#include "agent/toolcall.h"
#include "src/err.h"
#include "tools/git.h"
#include "src/banned.h"

#define ANSWER_MAX         ((size_t)1 << 20)
#define MSGS_MAX           4096
#define SHORT_OBS          600 /* bytes an old observation keeps when the context is tight */
#define COMMIT_TITLE       72
#define FAILURE_SHOWN      300  /* bytes of the last failure's observation in the stop message */
#define SUMMARY_MAX        8192 /* bytes of the summary of earlier requests */
#define SUMMARY_TEXT       200  /* bytes of a request, or of its answer, in the summary */
#define SUMMARY_FILES      12   /* files of one request named in the summary */
#define SUMMARY_CALLS_TEXT 600  /* bytes of one request's calls in the summary */

struct msg {
	enum lc_chat_role role;
	char *content; /* owned */
	/*
	 * For a summary (summary_entry), owned, may be NULL. outcome: of a
	 * request's first (user) message once the request ended, what it changed
	 * and how it ended. calls: of a model message, the calls it made as the
	 * summary names them, taken before the message may be shortened.
	 */
	char *outcome;
	char *calls;
};

struct lc_agent {
	lc_agent_opts o;
	char *system;      /* as given */
	char *summary;     /* entries for earlier requests summarised; owned, may be NULL */
	size_t n_left_out; /* summary entries dropped to keep it under SUMMARY_MAX */
	char *system_full; /* system, then the summary: what the model is given; owned */
	char *react_intro;
	cJSON *tools;          /* schemas with descriptions */
	lc_agent_files *files; /* what constrained calls may name and quote; may be NULL */
	struct msg *msgs;
	size_t n_msgs, cap;
	size_t request_start; /* index of the current request's first message */
};

static void emit(lc_agent *a, enum lc_event_kind kind, const char *text, const char *tool,
                 const char *args, int status, const lc_gen_stats *st)
{
	lc_event ev = {kind, text, text ? strlen(text) : 0, tool, args, status, st, NULL, NULL};

	if (a->o.on_event)
		a->o.on_event(a->o.ud, &ev);
}

/* One event per file the call just run wrote. */
static void emit_edits(lc_agent *a, const char *tool)
{
	size_t n = 0;
	const lc_tool_edit *e = lc_toolbox_edits(a->o.tools, &n);

	for (size_t i = 0; i < n && a->o.on_event; i++) {
		lc_event ev = {.kind = LC_EV_EDIT,
		               .text = e[i].diff,
		               .len = strlen(e[i].diff),
		               .tool = tool,
		               .path = e[i].path,
		               .match = e[i].match};
		a->o.on_event(a->o.ud, &ev);
	}
}

static void on_text(void *ud, const char *text, size_t len)
{
	lc_agent *a = ud;
	lc_event ev = {LC_EV_TEXT, text, len, NULL, NULL, 0, NULL, NULL, NULL};

	if (a->o.on_event)
		a->o.on_event(a->o.ud, &ev);
}

static int push_msg(lc_agent *a, enum lc_chat_role role, const char *content)
{
	char *copy;

	if (a->n_msgs == MSGS_MAX)
		return lc_err_set(LC_ETOOBIG, "the conversation has more than %d messages",
		                  MSGS_MAX);
	if (a->n_msgs == a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 32;
		struct msg *m = realloc(a->msgs, cap * sizeof(*m));
		if (!m)
			return lc_err_set(LC_ENOMEM, "out of memory");
		a->msgs = m;
		a->cap = cap;
	}
	if (!(copy = strdup(content)))
		return lc_err_set(LC_ENOMEM, "out of memory");
	a->msgs[a->n_msgs].role = role;
	a->msgs[a->n_msgs].content = copy;
	a->msgs[a->n_msgs].outcome = NULL;
	a->msgs[a->n_msgs].calls = NULL;
	a->n_msgs++;
	return 0;
}

static void drop_msgs(lc_agent *a, size_t from, size_t n)
{
	for (size_t i = from; i < from + n; i++) {
		free(a->msgs[i].content);
		free(a->msgs[i].outcome);
		free(a->msgs[i].calls);
	}
	memmove(a->msgs + from, a->msgs + from + n, (a->n_msgs - from - n) * sizeof(*a->msgs));
	a->n_msgs -= n;
}

/* The tool list for the model: the toolbox's schemas with descriptions added. */
static cJSON *tools_with_descriptions(const cJSON *schemas, const cJSON *desc)
{
	cJSON *tools = cJSON_Duplicate(schemas, 1), *t;

	cJSON_ArrayForEach(t, tools)
	{
		cJSON *fn = cJSON_GetObjectItemCaseSensitive(t, "function");
		const cJSON *name = cJSON_GetObjectItemCaseSensitive(fn, "name");
		const cJSON *d = cJSON_GetObjectItemCaseSensitive(desc, name->valuestring);
		cJSON *params = cJSON_DetachItemFromObjectCaseSensitive(fn, "parameters");

		/* name, description, parameters: the order templates print them in */
		cJSON_AddStringToObject(fn, "description", cJSON_IsString(d) ? d->valuestring : "");
		cJSON_AddItemToObject(fn, "parameters", params);
	}
	return tools;
}

int lc_agent_new(lc_agent **out, const lc_agent_opts *opts)
{
	lc_agent *a = calloc(1, sizeof(*a));

	if (!a)
		return lc_err_set(LC_ENOMEM, "out of memory");
	a->o = *opts;
	if (!a->o.max_steps)
		a->o.max_steps = 40;
	if (!a->o.max_failures)
		a->o.max_failures = 6;
	a->system = strdup(opts->system ? opts->system : "");
	a->system_full = strdup(a->system ? a->system : "");
	a->react_intro = strdup(opts->react_intro ? opts->react_intro : "");
	a->tools =
	        tools_with_descriptions(lc_toolbox_schemas(opts->tools), opts->tool_descriptions);
	if (!a->system || !a->system_full || !a->react_intro || !a->tools ||
	    (lc_toolbox_repo(opts->tools) &&
	     lc_agent_files_new(&a->files, lc_toolbox_repo(opts->tools)))) {
		lc_agent_free(a);
		return lc_err_set(LC_ENOMEM, "out of memory");
	}
	*out = a;
	return 0;
}

void lc_agent_free(lc_agent *a)
{
	if (!a)
		return;
	lc_agent_clear(a);
	free(a->msgs);
	free(a->system);
	free(a->system_full);
	free(a->react_intro);
	cJSON_Delete(a->tools);
	lc_agent_files_free(a->files);
	free(a);
}

void lc_agent_clear(lc_agent *a)
{
	drop_msgs(a, 0, a->n_msgs);
	a->request_start = 0;
	free(a->summary);
	a->summary = NULL;
	a->n_left_out = 0;
	if (a->system_full && a->system && strcmp(a->system_full, a->system) != 0) {
		char *plain = strdup(a->system);
		if (plain) {
			free(a->system_full);
			a->system_full = plain;
		}
	}
}

int lc_agent_render(lc_agent *a, lc_buf *out)
{
	lc_chat_msg *view = malloc((a->n_msgs + 1) * sizeof(*view));
	int rc;

	if (!view)
		return lc_err_set(LC_ENOMEM, "out of memory");
	for (size_t i = 0; i < a->n_msgs; i++) {
		view[i].role = a->msgs[i].role;
		view[i].content = a->msgs[i].content;
	}
	rc = lc_chat_render(&a->o.backend->style, a->system_full, a->tools, a->react_intro, view,
	                    a->n_msgs, 0, out, NULL);
	free(view);
	return rc;
}

const cJSON *lc_agent_tools(const lc_agent *a)
{
	return a->tools;
}

static void make_req(lc_agent *a, lc_backend_req *req, lc_chat_msg *view)
{
	for (size_t i = 0; i < a->n_msgs; i++) {
		view[i].role = a->msgs[i].role;
		view[i].content = a->msgs[i].content;
	}
	memset(req, 0, sizeof(*req));
	req->system = a->system_full;
	req->tools = a->tools;
	req->react_intro = a->react_intro;
	req->msgs = view;
	req->n_msgs = a->n_msgs;
	req->constrain = a->o.constrain;
	req->cancel = a->o.cancel;
	req->on_text = on_text;
	req->ud = a;
}

static long count_tokens(lc_agent *a)
{
	lc_chat_msg *view = malloc((a->n_msgs + 1) * sizeof(*view));
	lc_backend_req req;
	long n;

	if (!view)
		return lc_err_set(LC_ENOMEM, "out of memory");
	make_req(a, &req, view);
	n = a->o.backend->ops->count(a->o.backend->self, &req);
	free(view);
	return n;
}

long lc_agent_tokens(lc_agent *a, int *n_ctx)
{
	if (n_ctx)
		*n_ctx = a->o.backend->ops->n_ctx(a->o.backend->self);
	return count_tokens(a);
}

/* Shorten one message in place, keeping its head; what names it in the note. 1 when it did. */
static int shorten(struct msg *m, const char *what)
{
	char note[96];
	size_t keep = SHORT_OBS, len = strlen(m->content);
	char *p;

	if (len <= SHORT_OBS + sizeof(note))
		return 0;
	while (keep > 0 && ((unsigned char)m->content[keep] & 0xC0) == 0x80)
		keep--; /* do not cut a UTF-8 sequence */
	snprintf(note, sizeof(note), "\n[... %zu bytes of this %s removed to save context]",
	         len - keep, what);
	p = malloc(keep + strlen(note) + 1);
	if (!p)
		return lc_err_set(LC_ENOMEM, "out of memory");
	memcpy(p, m->content, keep);
	memcpy(p + keep, note, strlen(note) + 1);
	free(m->content);
	m->content = p;
	return 1;
}

/* Append at most max bytes of s on one line (line breaks as spaces); a cut ends in "[...]". */
static void add_capped(lc_buf *b, const char *s, size_t max)
{
	size_t len = strlen(s), n = len < max ? len : max;

	while (n > 0 && n < len && ((unsigned char)s[n] & 0xC0) == 0x80)
		n--; /* do not cut a UTF-8 sequence */
	for (size_t i = 0; i < n; i++)
		lc_buf_addc(b, s[i] == '\n' || s[i] == '\r' || s[i] == '\t' ? ' ' : s[i]);
	if (n < len)
		lc_buf_adds(b, " [...]");
}

/* A call as the summary names it: the tool and what it acted on (path, command, pattern). */
static void add_call(lc_buf *b, const lc_tool_call *c)
{
	static const char *const keys[] = {"path", "dir", "command", "pattern"};
	const cJSON *patch = cJSON_GetObjectItemCaseSensitive(c->args, "patch");

	lc_buf_adds(b, c->name);
	for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(c->args, keys[k]);
		if (cJSON_IsString(v)) {
			lc_buf_addc(b, ' ');
			add_capped(b, v->valuestring, 80);
			return;
		}
	}
	if (!cJSON_IsString(patch))
		return;
	/* a patch: the files its "+++ " lines name */
	for (const char *p = patch->valuestring; (p = strstr(p, "+++ ")) != NULL;) {
		size_t n;
		p += 4;
		if (strncmp(p, "b/", 2) == 0)
			p += 2;
		n = strcspn(p, " \t\r\n");
		if (n != 9 || strncmp(p, "/dev/null", 9) != 0)
			lc_buf_addf(b, " %.*s", (int)(n > 80 ? 80 : n), p);
		p += n;
	}
}

/*
 * The summary entry of the earlier request in msgs [0, end): its text, the
 * tools it called with their paths, the files it changed and how it ended.
 * Built from what the messages recorded, with no model call, so the same
 * history always gives the same summary.
 */
static void summary_entry(lc_agent *a, size_t end, lc_buf *e)
{
	lc_buf calls = LC_BUF_INIT(SUMMARY_MAX);

	for (size_t i = 1; i < end; i++)
		if (a->msgs[i].role == LC_ROLE_ASSISTANT && a->msgs[i].calls)
			lc_buf_addf(&calls, "%s%s", calls.len ? "; " : "", a->msgs[i].calls);
	lc_buf_adds(e, "- Request: ");
	add_capped(e, a->msgs[0].content, SUMMARY_TEXT);
	lc_buf_adds(e, "\n  Tool calls: ");
	add_capped(e, calls.len ? calls.data : "none", SUMMARY_CALLS_TEXT);
	lc_buf_addf(e, "\n  %s\n",
	            a->msgs[0].outcome ? a->msgs[0].outcome : "Outcome: not recorded");
	lc_buf_release(&calls);
}

/*
 * Keep with the model message just pushed the calls it made (pm, or a
 * malformed call when pm is NULL), as a summary would name them.
 */
static void note_calls(lc_agent *a, const lc_parsed_msg *pm)
{
	lc_buf b = LC_BUF_INIT(SUMMARY_MAX);
	struct msg *m = &a->msgs[a->n_msgs - 1];

	if (!pm)
		lc_buf_adds(&b, "a malformed call");
	for (size_t k = 0; pm && k < pm->n_calls; k++) {
		if (k)
			lc_buf_adds(&b, "; ");
		add_call(&b, &pm->calls[k]);
	}
	if (b.len) {
		free(m->calls);
		m->calls = lc_buf_take(&b, NULL); /* NULL (out of memory): none named */
	}
	lc_buf_release(&b);
}

/*
 * Add entry to the summary of earlier requests, dropping its oldest entries
 * past SUMMARY_MAX, and rebuild the system text the model gets: the system
 * text as given, then the summary.
 */
static int add_summary(lc_agent *a, const char *entry)
{
	lc_buf s = LC_BUF_INIT(2 * SUMMARY_MAX), full = LC_BUF_INIT((size_t)64 << 20);
	int rc = 0;

	if (lc_buf_adds(&s, a->summary ? a->summary : "") || lc_buf_adds(&s, entry)) {
		rc = lc_err_set(LC_ENOMEM, "out of memory");
		goto out;
	}
	while (s.len > SUMMARY_MAX) {
		/* entries are one "- Request: " line and indented lines: no other line starts so */
		char *next = strstr(s.data + 1, "\n- Request: ");
		size_t cut;
		if (!next)
			break;
		cut = (size_t)(next + 1 - s.data);
		memmove(s.data, s.data + cut, s.len - cut + 1);
		s.len -= cut;
		a->n_left_out++;
	}
	lc_buf_adds(&full, a->system);
	lc_buf_addf(&full,
	            "%s# Earlier in this session\n\nThe requests before the current one, "
	            "summarised to save context (their messages are no longer shown)",
	            a->system[0] ? "\n\n" : "");
	if (a->n_left_out)
		lc_buf_addf(&full, "; %zu older request%s left out", a->n_left_out,
		            a->n_left_out == 1 ? " is" : "s are");
	lc_buf_addf(&full, ":\n\n%s", s.data);
	while (full.len && full.data[full.len - 1] == '\n')
		lc_buf_truncate(&full, full.len - 1);
	if (!full.data) {
		rc = lc_err_set(LC_ENOMEM, "out of memory");
		goto out;
	}
	free(a->summary);
	a->summary = lc_buf_take(&s, NULL);
	free(a->system_full);
	a->system_full = lc_buf_take(&full, NULL);
	if (!a->summary || !a->system_full)
		rc = lc_err_set(LC_ENOMEM, "out of memory");
out:
	lc_buf_release(&s);
	lc_buf_release(&full);
	return rc;
}

/*
 * Make the conversation fit n_ctx less the answer's room: first shorten old
 * observations (all but the two latest) and long model messages of earlier
 * requests (a large write_file, say); then replace the earlier requests,
 * oldest first, by entries of a summary in the system text (summary_entry).
 * Reports what it did as a note; fails when the current request alone does
 * not fit.
 */
static int fit_context(lc_agent *a)
{
	int n_ctx = a->o.backend->ops->n_ctx(a->o.backend->self);
	long reserve = a->o.answer_reserve, n;
	size_t shortened = 0, shortened_msgs = 0, summarised = 0, n_tool = 0;
	lc_buf note = LC_BUF_INIT(4096), which = LC_BUF_INIT(1024), e = LC_BUF_INIT(SUMMARY_MAX);
	int rc = 0;

	if (reserve <= 0)
		reserve = n_ctx / 4 < 2048 ? n_ctx / 4 : 2048;
	if ((n = count_tokens(a)) < 0)
		return (int)n;
	if (n + reserve <= n_ctx)
		return 0;
	for (size_t i = a->n_msgs; i-- > 0;) {
		if (a->msgs[i].role == LC_ROLE_TOOL && ++n_tool > 2) {
			if ((rc = shorten(&a->msgs[i], "output")) < 0)
				goto out;
			shortened += (size_t)rc;
		} else if (a->msgs[i].role == LC_ROLE_ASSISTANT && i < a->request_start) {
			if ((rc = shorten(&a->msgs[i], "message")) < 0)
				goto out;
			shortened_msgs += (size_t)rc;
		}
	}
	rc = 0;
	if ((n = count_tokens(a)) < 0) {
		rc = (int)n;
		goto out;
	}
	while (n + reserve > n_ctx && a->request_start > 0) {
		size_t end = 1;
		while (end < a->request_start && a->msgs[end].role != LC_ROLE_USER)
			end++;
		lc_buf_reset(&e);
		summary_entry(a, end, &e);
		if (summarised < 4) {
			lc_buf_adds(&which, summarised ? ", \"" : " (\"");
			add_capped(&which, a->msgs[0].content, 40);
			lc_buf_addc(&which, '"');
		}
		summarised++;
		drop_msgs(a, 0, end);
		a->request_start -= end;
		if ((rc = add_summary(a, e.data ? e.data : "")))
			goto out;
		if ((n = count_tokens(a)) < 0) {
			rc = (int)n;
			goto out;
		}
	}
	if (shortened || shortened_msgs || summarised) {
		lc_buf_adds(&note, "context:");
		if (shortened)
			lc_buf_addf(&note, " %zu old outputs shortened", shortened);
		if (shortened_msgs)
			lc_buf_addf(&note, "%s %zu long message%s of earlier requests shortened",
			            shortened ? "," : "", shortened_msgs,
			            shortened_msgs == 1 ? "" : "s");
		if (summarised)
			lc_buf_addf(&note, "%s %zu earlier request%s summarised%s%s%s",
			            shortened || shortened_msgs ? "," : "", summarised,
			            summarised == 1 ? "" : "s", which.data ? which.data : "",
			            summarised > 4 ? ", ..." : "", which.data ? ")" : "");
		lc_buf_addf(&note, "; %ld of %d tokens in use", n, n_ctx);
		emit(a, LC_EV_NOTE, note.data, NULL, NULL, 0, NULL);
	}
	if (n + reserve > n_ctx)
		rc = lc_err_set(LC_ETOOBIG,
		                "the request needs %ld tokens, more than the context of %d "
		                "less %ld for the answer",
		                n, n_ctx, reserve);
out:
	lc_buf_release(&note);
	lc_buf_release(&which);
	lc_buf_release(&e);
	return rc;
}

/* The commit message: the request's first line as the title, the answer as the body. */
static void commit_message(const char *request, const char *answer, lc_buf *msg)
{
	size_t n = strcspn(request, "\n");

	if (n > COMMIT_TITLE)
		n = COMMIT_TITLE;
	lc_buf_add(msg, request, n);
	if (answer && answer[0])
		lc_buf_addf(msg, "\n\n%s", answer);
	lc_buf_addc(msg, '\n');
}

/*
 * Close the turn for /undo and, if asked, commit its files. The files it
 * changed are listed in files ("a.py, b.py"), the commit's id put in oid_out
 * (left alone when nothing was committed).
 */
static int finish_turn(lc_agent *a, const char *request, const char *answer, int commit,
                       lc_buf *files, char oid_out[LC_GIT_OID_HEX])
{
	size_t n_changed = 0;
	int rc = lc_toolbox_turn_end(a->o.tools, &n_changed);
	const char *const *changed;
	char oid[LC_GIT_OID_HEX];
	lc_buf msg = LC_BUF_INIT(ANSWER_MAX);

	if (rc)
		return rc;
	changed = lc_toolbox_changed(a->o.tools, &n_changed);
	for (size_t i = 0; i < n_changed && i < SUMMARY_FILES; i++) {
		lc_buf_adds(files, i ? ", " : "");
		add_capped(files, changed[i], 80);
	}
	if (n_changed > SUMMARY_FILES)
		lc_buf_addf(files, " and %zu more", n_changed - SUMMARY_FILES);
	if (!commit || n_changed == 0) {
		lc_toolbox_forget_changes(a->o.tools);
		return 0;
	}
	commit_message(request, answer, &msg);
	rc = lc_git_commit(lc_toolbox_repo(a->o.tools), changed, n_changed, msg.data,
	                   a->o.backend->name, oid);
	lc_buf_release(&msg);
	if (!rc) {
		emit(a, LC_EV_COMMIT, oid, NULL, NULL, 0, NULL);
		memcpy(oid_out, oid, LC_GIT_OID_HEX);
	}
	lc_toolbox_forget_changes(a->o.tools);
	return rc;
}

/*
 * The request ends at its max_failures-th refused, failed or malformed call:
 * say how many, the limit, and what the last one was told, on one line.
 */
static int too_many_failures(lc_agent *a, int failures, const char *tool, const char *obs)
{
	lc_buf last = LC_BUF_INIT(FAILURE_SHOWN + 16);
	int rc;

	add_capped(&last, obs ? obs : "", FAILURE_SHOWN);
	while (last.len && last.data[last.len - 1] == ' ')
		lc_buf_truncate(&last, last.len - 1);
	rc = lc_err_set(
	        LC_EDENIED,
	        "%d tool calls were refused or failed (max-failures is %d); the last, %s%s: "
	        "%s",
	        failures, a->o.max_failures, tool && tool[0] ? "a call of " : "",
	        tool && tool[0] ? tool : "a malformed call", last.data ? last.data : "");
	lc_buf_release(&last);
	return rc;
}

/* Run the calls of one message; returns 1 to go on, 0 when the request must end. */
static int run_calls(lc_agent *a, const lc_parsed_msg *pm, lc_call_guard *guard, int *failures,
                     int *rc_out)
{
	lc_buf obs = LC_BUF_INIT(4u << 20);
	int go_on = 1;

	for (size_t i = 0; i < pm->n_calls && go_on; i++) {
		const lc_tool_call *c = &pm->calls[i];
		enum lc_tool_status st = LC_TOOL_OK;
		size_t period = 0;
		int verdict = lc_call_guard_push(guard, c->name, c->canon, &period), rc;

		lc_buf_reset(&obs);
		if (verdict < 0) {
			*rc_out = verdict;
			go_on = 0;
			break;
		}
		if (verdict == LC_CALL_STOP) {
			*rc_out = lc_err_set(LC_EDENIED,
			                     "the model kept repeating the same %s; stopped",
			                     period == 1 ? "tool call" : "cycle of tool calls");
			go_on = 0;
			break;
		}
		emit(a, LC_EV_CALL, NULL, c->name, c->canon, 0, NULL);
		rc = lc_toolbox_call(a->o.tools, c->name, c->args, &obs, &st);
		if (rc) {
			*rc_out = rc;
			go_on = 0;
			break;
		}
		emit_edits(a, c->name);
		if (verdict == LC_CALL_WARN) {
			lc_buf_addf(
			        &obs,
			        "\n[note: you made the same %s three times in a row. Its result "
			        "will not change. Do something else, or answer.]",
			        period == 1 ? "call" : "cycle of calls");
			emit(a, LC_EV_NOTE, "the model repeated a tool call; it was told so", NULL,
			     NULL, 0, NULL);
		}
		emit(a, LC_EV_OBSERVATION, obs.data ? obs.data : "", c->name, NULL, (int)st, NULL);
		if ((rc = push_msg(a, LC_ROLE_TOOL, obs.data ? obs.data : ""))) {
			*rc_out = rc;
			go_on = 0;
			break;
		}
		if (st != LC_TOOL_OK && ++*failures >= a->o.max_failures) {
			*rc_out = too_many_failures(a, *failures, c->name, obs.data);
			go_on = 0;
		}
	}
	lc_buf_release(&obs);
	return go_on;
}

/* Map the code that ended a request to its outcome. */
static int outcome_of(int rc)
{
	switch (rc) {
	case 0:
		return LC_OUTCOME_DONE;
	case LC_ECANCELLED:
		return LC_OUTCOME_CANCELLED;
	case LC_EDENIED:
	case LC_ETOOBIG:
		return LC_OUTCOME_FAILED;
	default:
		return LC_OUTCOME_MODEL;
	}
}

/* One model step. Returns 1 when the model answered, 0 to go on, or an error. */
static int step(lc_agent *a, lc_chat_msg **view, lc_buf *text, lc_call_guard *guard, int *failures,
                lc_buf *answer)
{
	lc_backend_req req;
	lc_parsed_msg pm;
	lc_gen_stats st = {0};
	lc_chat_msg *grown;
	int rc;

	if ((rc = fit_context(a)))
		return rc;
	grown = realloc(*view, (a->n_msgs + 1) * sizeof(**view));
	if (!grown)
		return lc_err_set(LC_ENOMEM, "out of memory");
	*view = grown;
	make_req(a, &req, *view);
	/* Only ReAct calls are held to the files (constrain.h); the last step may have
	 * changed them. */
	if (req.constrain && a->files && a->o.backend->style.fmt == LC_CALL_REACT)
		req.files = lc_agent_files_refresh(a->files);
	lc_buf_reset(text);
	rc = lc_backend_complete(a->o.backend, &req, text, &st);
	emit(a, LC_EV_STATS, NULL, NULL, NULL, 0, &st);
	if (rc)
		return rc;
	emit(a, LC_EV_MESSAGE, text->data ? text->data : "", NULL, NULL, 0, NULL);
	if ((rc = push_msg(a, LC_ROLE_ASSISTANT, text->data ? text->data : "")))
		return rc;
	rc = lc_toolcall_parse(a->o.backend->style.fmt, text->data ? text->data : "", text->len,
	                       a->tools, &pm);
	if (rc == LC_EPARSE || rc == LC_ENOTFOUND || rc == LC_ETOOBIG) {
		/* A malformed call goes back to the model with the reason. */
		char obs[LC_ERR_MSG_MAX + 64];
		note_calls(a, NULL);
		snprintf(obs, sizeof(obs), "error: your tool call could not be used: %s",
		         lc_err_msg());
		lc_err_clear();
		emit(a, LC_EV_OBSERVATION, obs, "", NULL, LC_TOOL_REFUSED, NULL);
		if ((rc = push_msg(a, LC_ROLE_TOOL, obs)))
			return rc;
		if (++*failures >= a->o.max_failures)
			return too_many_failures(a, *failures, NULL, obs);
		return 0;
	}
	if (rc)
		return rc;
	note_calls(a, &pm);
	if (pm.n_calls == 0) {
		lc_buf_adds(answer, pm.content);
		emit(a, LC_EV_FINAL, pm.content, NULL, NULL, 0, NULL);
		lc_parsed_msg_release(&pm);
		return 1;
	}
	rc = 0;
	if (!run_calls(a, &pm, guard, failures, &rc) && rc == 0)
		rc = LC_ERROR;
	lc_parsed_msg_release(&pm);
	return rc;
}

/*
 * Keep with the request's first message what it changed and how it ended,
 * for its entry in a summary should the context later need one.
 */
static void note_outcome(lc_agent *a, int outcome, const char *files, const char *oid,
                         const char *answer, const char *error)
{
	lc_buf o = LC_BUF_INIT(4 * SUMMARY_TEXT + 1024);
	struct msg *first;

	if (a->request_start >= a->n_msgs || a->msgs[a->request_start].role != LC_ROLE_USER)
		return;
	first = &a->msgs[a->request_start];
	lc_buf_addf(&o, "Files changed: %s", files && files[0] ? files : "none");
	if (oid[0])
		lc_buf_addf(&o, " (committed %.12s)", oid);
	lc_buf_adds(&o, "\n  Outcome: ");
	if (outcome == LC_OUTCOME_DONE) {
		lc_buf_adds(&o, "answered: ");
		add_capped(&o, answer ? answer : "", SUMMARY_TEXT);
	} else if (outcome == LC_OUTCOME_CANCELLED) {
		lc_buf_adds(&o, "stopped by the user");
	} else {
		lc_buf_adds(&o, "not completed: ");
		add_capped(&o, error ? error : "", SUMMARY_TEXT);
	}
	free(first->outcome);
	first->outcome = lc_buf_take(&o, NULL); /* NULL (out of memory): "not recorded" */
	lc_buf_release(&o);
}

int lc_agent_run(lc_agent *a, const char *request, lc_buf *answer)
{
	char saved[LC_ERR_MSG_MAX], oid[LC_GIT_OID_HEX] = "";
	lc_buf files = LC_BUF_INIT(4096);
	lc_call_guard guard;
	lc_buf text = LC_BUF_INIT(ANSWER_MAX);
	lc_chat_msg *view = NULL;
	int failures = 0, rc = 0, outcome, code, frc, i;

	lc_err_clear();
	lc_call_guard_init(&guard);
	a->request_start = a->n_msgs;
	emit(a, LC_EV_REQUEST, request, NULL, NULL, 0, NULL);
	rc = push_msg(a, LC_ROLE_USER, request);
	for (i = 0; !rc && i < a->o.max_steps; i++) {
		rc = step(a, &view, &text, &guard, &failures, answer);
		if (rc == 1) {
			rc = 0;
			break;
		}
	}
	if (!rc && i == a->o.max_steps)
		rc = lc_err_set(LC_ETOOBIG, "the request took more than %d steps", a->o.max_steps);
	outcome = outcome_of(rc);

	/* Close the turn for /undo (and commit) whatever happened; keep the first error. */
	code = lc_err_code();
	snprintf(saved, sizeof(saved), "%s", lc_err_msg());
	lc_err_clear();
	frc = finish_turn(a, request, answer->data, a->o.commit && outcome == LC_OUTCOME_DONE,
	                  &files, oid);
	if (frc && outcome == LC_OUTCOME_DONE) {
		outcome = LC_OUTCOME_FAILED;
	} else if (code) {
		lc_err_clear();
		lc_err_set(code, "%s", saved);
	}
	note_outcome(a, outcome, files.data, oid, answer->data, lc_err_msg());
	lc_buf_release(&files);
	lc_call_guard_release(&guard);
	lc_buf_release(&text);
	free(view);
	return outcome;
}
