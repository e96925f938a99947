#include "agent/agent.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/loopguard.h"
#include "agent/toolcall.h"
#include "src/err.h"
#include "tools/git.h"
#include "src/banned.h"

#define ANSWER_MAX    ((size_t)1 << 20)
#define MSGS_MAX      4096
#define SHORT_OBS     600 /* bytes an old observation keeps when the context is tight */
#define COMMIT_TITLE  72
#define FAILURE_SHOWN 300 /* bytes of the last failure's observation in the stop message */

struct msg {
	enum lc_chat_role role;
	char *content; /* owned */
};

struct lc_agent {
	lc_agent_opts o;
	char *system;
	char *react_intro;
	cJSON *tools; /* schemas with descriptions */
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
	a->n_msgs++;
	return 0;
}

static void drop_msgs(lc_agent *a, size_t from, size_t n)
{
	for (size_t i = from; i < from + n; i++)
		free(a->msgs[i].content);
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
	a->react_intro = strdup(opts->react_intro ? opts->react_intro : "");
	a->tools =
	        tools_with_descriptions(lc_toolbox_schemas(opts->tools), opts->tool_descriptions);
	if (!a->system || !a->react_intro || !a->tools) {
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
	free(a->react_intro);
	cJSON_Delete(a->tools);
	free(a);
}

void lc_agent_clear(lc_agent *a)
{
	drop_msgs(a, 0, a->n_msgs);
	a->request_start = 0;
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
	rc = lc_chat_render(&a->o.backend->style, a->system, a->tools, a->react_intro, view,
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
	req->system = a->system;
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

/* Shorten one observation in place, keeping its head. Returns 1 when it did. */
static int shorten(struct msg *m)
{
	char note[96];
	size_t keep = SHORT_OBS, len = strlen(m->content);
	char *p;

	if (len <= SHORT_OBS + sizeof(note))
		return 0;
	while (keep > 0 && ((unsigned char)m->content[keep] & 0xC0) == 0x80)
		keep--; /* do not cut a UTF-8 sequence */
	snprintf(note, sizeof(note), "\n[... %zu bytes of this output removed to save context]",
	         len - keep);
	p = malloc(keep + strlen(note) + 1);
	if (!p)
		return lc_err_set(LC_ENOMEM, "out of memory");
	memcpy(p, m->content, keep);
	memcpy(p + keep, note, strlen(note) + 1);
	free(m->content);
	m->content = p;
	return 1;
}

/*
 * Make the conversation fit n_ctx less the answer's room: shorten old
 * observations (all but the two latest), then drop the oldest requests
 * with everything they led to. Reports what it did; fails when the current
 * request alone does not fit.
 */
static int fit_context(lc_agent *a)
{
	int n_ctx = a->o.backend->ops->n_ctx(a->o.backend->self);
	long reserve = a->o.answer_reserve, n;
	size_t shortened = 0, removed = 0, n_tool = 0;
	char note[160];

	if (reserve <= 0)
		reserve = n_ctx / 4 < 2048 ? n_ctx / 4 : 2048;
	if ((n = count_tokens(a)) < 0)
		return (int)n;
	if (n + reserve <= n_ctx)
		return 0;
	for (size_t i = a->n_msgs; i-- > 0;) {
		int rc;
		if (a->msgs[i].role != LC_ROLE_TOOL || ++n_tool <= 2)
			continue;
		if ((rc = shorten(&a->msgs[i])) < 0)
			return rc;
		shortened += (size_t)rc;
	}
	if ((n = count_tokens(a)) < 0)
		return (int)n;
	while (n + reserve > n_ctx && a->request_start > 0) {
		size_t end = 1;
		while (end < a->request_start && a->msgs[end].role != LC_ROLE_USER)
			end++;
		removed += end;
		drop_msgs(a, 0, end);
		a->request_start -= end;
		if ((n = count_tokens(a)) < 0)
			return (int)n;
	}
	if (shortened || removed) {
		snprintf(note, sizeof(note),
		         "context: %zu old outputs shortened, %zu earlier messages removed; "
		         "%ld of %d tokens in use",
		         shortened, removed, n, n_ctx);
		emit(a, LC_EV_NOTE, note, NULL, NULL, 0, NULL);
	}
	if (n + reserve > n_ctx)
		return lc_err_set(LC_ETOOBIG,
		                  "the request needs %ld tokens, more than the context of %d "
		                  "less %ld for the answer",
		                  n, n_ctx, reserve);
	return 0;
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

static int finish_turn(lc_agent *a, const char *request, const char *answer, int commit)
{
	size_t n_changed = 0;
	int rc = lc_toolbox_turn_end(a->o.tools, &n_changed);
	const char *const *changed;
	char oid[LC_GIT_OID_HEX];
	lc_buf msg = LC_BUF_INIT(ANSWER_MAX);

	if (rc)
		return rc;
	changed = lc_toolbox_changed(a->o.tools, &n_changed);
	if (!commit || n_changed == 0) {
		lc_toolbox_forget_changes(a->o.tools);
		return 0;
	}
	commit_message(request, answer, &msg);
	rc = lc_git_commit(lc_toolbox_repo(a->o.tools), changed, n_changed, msg.data,
	                   a->o.backend->name, oid);
	lc_buf_release(&msg);
	if (!rc)
		emit(a, LC_EV_COMMIT, oid, NULL, NULL, 0, NULL);
	lc_toolbox_forget_changes(a->o.tools);
	return rc;
}

/*
 * The request ends at its max_failures-th refused, failed or malformed call:
 * say how many, the limit, and what the last one was told, on one line.
 */
static int too_many_failures(lc_agent *a, int failures, const char *tool, const char *obs)
{
	char last[FAILURE_SHOWN + 1];
	size_t len = obs ? strlen(obs) : 0, n = len < FAILURE_SHOWN ? len : FAILURE_SHOWN;
	int cut;

	while (n > 0 && n < len && ((unsigned char)obs[n] & 0xC0) == 0x80)
		n--; /* do not cut a UTF-8 sequence */
	cut = n < len;
	for (size_t i = 0; i < n; i++)
		last[i] = obs[i] == '\n' ? ' ' : obs[i];
	while (n > 0 && last[n - 1] == ' ')
		n--;
	last[n] = '\0';
	return lc_err_set(
	        LC_EDENIED,
	        "%d tool calls were refused or failed (max-failures is %d); the last, %s%s: "
	        "%s%s",
	        failures, a->o.max_failures, tool && tool[0] ? "a call of " : "",
	        tool && tool[0] ? tool : "a malformed call", last, cut ? " [...]" : "");
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

int lc_agent_run(lc_agent *a, const char *request, lc_buf *answer)
{
	char saved[LC_ERR_MSG_MAX];
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
	frc = finish_turn(a, request, answer->data, a->o.commit && outcome == LC_OUTCOME_DONE);
	if (frc && outcome == LC_OUTCOME_DONE) {
		outcome = LC_OUTCOME_FAILED;
	} else if (code) {
		lc_err_clear();
		lc_err_set(code, "%s", saved);
	}
	lc_call_guard_release(&guard);
	lc_buf_release(&text);
	free(view);
	return outcome;
}
