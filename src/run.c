/*
 * run.c - the agent as the program runs it.
 *
 * Start-up order matters: the shell executor is forked before the model is
 * mapped and before any thread exists, so commands never inherit either.
 */
#include "src/run.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "lc_config.h"

#include "agent/agent.h"
#include "agent/session.h"
#include "agent/remote.h"
#include "prompts/prompts.h"
#include "src/commands.h"
#include "src/err.h"
#include "src/file.h"
#include "src/models.h"
#include "src/term.h"
#include "tools/exec.h"
#include "tools/repo.h"
#include "tools/tool.h"
#include "src/banned.h"

#define AGENTS_MD_MAX (32u * 1024u)
#define DIFF_SHOWN    60 /* lines of an edit's diff shown in the progress */

volatile sig_atomic_t lc_cancel_flag;
static lc_exec *running_exec;

static void on_sigint(int sig)
{
	(void)sig;
	if (lc_cancel_flag) {
		/* A second Ctrl-C while stopping: leave now. */
		static const char msg[] = "\nlcode: interrupted\n";
		if (write(STDERR_FILENO, msg, sizeof(msg) - 1) < 0) {
			/* nothing to do */
		}
		_exit(130);
	}
	lc_cancel_flag = 1;
	if (running_exec)
		lc_exec_cancel(running_exec);
}

/* --- approval ------------------------------------------------------------ */

static int ask(const char *summary)
{
	char line[64];

	fprintf(stderr, "%sallow%s %s? [y/N] ", lc_term_bold(stderr), lc_term_reset(stderr),
	        summary);
	fflush(stderr);
	if (!fgets(line, sizeof(line), stdin))
		return 0;
	return line[0] == 'y' || line[0] == 'Y';
}

static void on_event(void *ud, const lc_event *ev);

/*
 * Nobody can be asked: the action is refused (the observation tells the
 * model), and the user is told, once per kind of action, which option would
 * have allowed it.
 */
static void refused_unasked(struct lc_session *ui, enum lc_tool_kind kind, const char *summary)
{
	char note[512];
	lc_event ev = {LC_EV_NOTE, note, 0, NULL, NULL, 0, NULL, NULL, NULL};

	if (ui->told_unasked & (1u << kind))
		return;
	ui->told_unasked |= 1u << kind;
	snprintf(note, sizeof(note),
	         "not approved: %.200s. Nobody is asked with -m, --json or without a terminal; "
	         "%s",
	         summary,
	         kind == LC_TOOL_EXEC ? "--approval full-auto lets the model run commands (in the "
	                                "sandbox)"
	                              : "--approval auto-edit lets the model's edits be written");
	ev.len = strlen(note);
	on_event(ui, &ev);
}

static int approve(void *ud, enum lc_tool_kind kind, const char *summary)
{
	struct lc_session *ui = ud;
	int need = kind == LC_TOOL_EXEC ? ui->o->approval != LC_APPROVAL_FULL_AUTO
	                                : ui->o->approval == LC_APPROVAL_ASK;

	if (!need)
		return 1;
	if (!ui->interactive) {
		refused_unasked(ui, kind, summary);
		return 0; /* the observation says "not approved" */
	}
	if (lc_cancel_flag)
		return LC_ECANCELLED;
	return ask(summary);
}

/* --- events -------------------------------------------------------------- */

static const char *status_name(int st)
{
	return st == LC_TOOL_OK ? "ok" : st == LC_TOOL_REFUSED ? "refused" : "failed";
}

static void print_json(const lc_event *ev)
{
	static const char *const kinds[] = {"request", "text",  "message", "call",  "observation",
	                                    "commit",  "final", "note",    "stats", "edit"};
	cJSON *j = cJSON_CreateObject();
	char *s;

	cJSON_AddStringToObject(j, "type", kinds[ev->kind]);
	if (ev->kind == LC_EV_TEXT) {
		char *chunk = strndup(ev->text, ev->len);
		cJSON_AddStringToObject(j, "text", chunk ? chunk : "");
		free(chunk);
	} else if (ev->kind == LC_EV_CALL) {
		cJSON_AddStringToObject(j, "tool", ev->tool);
		cJSON_AddItemToObject(j, "args", cJSON_Parse(ev->args));
	} else if (ev->kind == LC_EV_OBSERVATION) {
		cJSON_AddStringToObject(j, "tool", ev->tool);
		cJSON_AddStringToObject(j, "status", status_name(ev->status));
		cJSON_AddStringToObject(j, "text", ev->text);
	} else if (ev->kind == LC_EV_COMMIT) {
		cJSON_AddStringToObject(j, "id", ev->text);
	} else if (ev->kind == LC_EV_EDIT) {
		cJSON_AddStringToObject(j, "tool", ev->tool);
		cJSON_AddStringToObject(j, "path", ev->path);
		if (ev->match)
			cJSON_AddStringToObject(j, "match", ev->match);
		else
			cJSON_AddNullToObject(j, "match");
		cJSON_AddStringToObject(j, "diff", ev->text);
	} else if (ev->kind == LC_EV_STATS) {
		cJSON_AddNumberToObject(j, "prompt_tokens", ev->stats->n_prompt);
		cJSON_AddNumberToObject(j, "reused_tokens", ev->stats->n_reused);
		cJSON_AddNumberToObject(j, "generated_tokens", ev->stats->n_gen);
		cJSON_AddNumberToObject(j, "rejected_tokens", ev->stats->n_rejected);
		cJSON_AddNumberToObject(j, "loop_interventions", ev->stats->n_loops);
		cJSON_AddNumberToObject(j, "prompt_seconds", ev->stats->t_prompt);
		cJSON_AddNumberToObject(j, "generate_seconds", ev->stats->t_gen);
	} else if (ev->text) {
		cJSON_AddStringToObject(j, "text", ev->text);
	}
	s = cJSON_PrintUnformatted(j);
	if (s)
		printf("%s\n", s);
	fflush(stdout);
	free(s);
	cJSON_Delete(j);
}

/* The first line of text, at most max bytes. */
static int first_line_len(const char *text, int max)
{
	size_t n = strcspn(text, "\n");
	return n > (size_t)max ? max : (int)n;
}

/*
 * A file's diff under its call, indented: the first DIFF_SHOWN lines, removed
 * and added lines coloured on a terminal (the two header lines are not).
 */
static void print_diff(FILE *f, const char *diff)
{
	size_t line = 0, more = 0;

	for (const char *p = diff; *p; line++) {
		size_t n = strcspn(p, "\n");
		const char *color = line < 2      ? ""
		                    : p[0] == '+' ? lc_term_green(f)
		                    : p[0] == '-' ? lc_term_red(f)
		                    : p[0] == '@' ? lc_term_dim(f)
		                                  : "";
		if (line < DIFF_SHOWN)
			fprintf(f, "    %s%.*s%s\n", color, (int)n, p,
			        color[0] ? lc_term_reset(f) : "");
		else
			more++;
		p += n + (p[n] == '\n');
	}
	if (more)
		fprintf(f, "    [... %zu more lines of diff]\n", more);
}

static void print_progress(struct lc_session *ui, const lc_event *ev)
{
	FILE *f = stderr;

	switch (ev->kind) {
	case LC_EV_TEXT:
		if (!isatty(fileno(f)))
			return; /* the model's text is shown live on a terminal only */
		fprintf(f, "%s%.*s%s", lc_term_dim(f), (int)ev->len, ev->text, lc_term_reset(f));
		ui->streaming = 1;
		return;
	case LC_EV_MESSAGE:
		if (ui->streaming)
			fputc('\n', f);
		ui->streamed = ui->streaming;
		ui->streaming = 0;
		return;
	case LC_EV_CALL:
		fprintf(f, "%s> %s%s %.*s\n", lc_term_bold(f), ev->tool, lc_term_reset(f),
		        first_line_len(ev->args, 160), ev->args);
		return;
	case LC_EV_OBSERVATION:
		fprintf(f, "  %s%s%s %.*s\n",
		        ev->status == LC_TOOL_OK        ? lc_term_green(f)
		        : ev->status == LC_TOOL_REFUSED ? lc_term_yellow(f)
		                                        : lc_term_red(f),
		        status_name(ev->status), lc_term_reset(f), first_line_len(ev->text, 160),
		        ev->text);
		return;
	case LC_EV_COMMIT:
		fprintf(f, "%scommitted%s %.12s\n", lc_term_green(f), lc_term_reset(f), ev->text);
		return;
	case LC_EV_EDIT:
		print_diff(f, ev->text);
		return;
	case LC_EV_NOTE:
		fprintf(f, "%snote:%s %s\n", lc_term_yellow(f), lc_term_reset(f), ev->text);
		return;
	default:
		return;
	}
}

/* A session log that cannot be written is a warning, once; the run goes on without it. */
static void log_warning(struct lc_session *s)
{
	fprintf(stderr, "%slcode: warning:%s session log: %s\n", lc_term_yellow(stderr),
	        lc_term_reset(stderr), lc_err_msg());
	lc_err_clear();
	lc_session_log_close(s->log);
	s->log = NULL;
}

static void on_event(void *ud, const lc_event *ev)
{
	struct lc_session *ui = ud;

	if (ui->log && lc_session_log_event(ui->log, ev))
		log_warning(ui);
	if (ui->o->json)
		print_json(ev);
	else
		print_progress(ui, ev);
}

/* --- set-up -------------------------------------------------------------- */

/* prompts/tools.md: "## name" headings, each followed by its description. */
static cJSON *tool_descriptions(void)
{
	lc_buf text = LC_BUF_INIT(LC_PROMPT_MAX);
	cJSON *desc = cJSON_CreateObject();
	char *p, *next;

	if (!desc || lc_prompt_load("tools", &text)) {
		lc_buf_release(&text);
		return desc;
	}
	for (p = strstr(text.data, "## "); p; p = next) {
		char *name = p + 3, *body = strchr(name, '\n'), *end;
		if (!body)
			break;
		*body++ = '\0';
		next = strstr(body, "\n## ");
		end = next ? next : body + strlen(body);
		while (end > body && (end[-1] == '\n' || end[-1] == ' '))
			end--;
		*end = '\0';
		cJSON_AddStringToObject(desc, name, body);
		if (next)
			next++;
	}
	lc_buf_release(&text);
	return desc;
}

/*
 * The system text: the built-in prompt of the model's profile, then AGENTS.md
 * from the repository root.
 */
static int system_text(const char *root, const char *profile, lc_buf *out)
{
	char path[PATH_MAX], *agents;
	size_t len;
	int rc = lc_prompt_load(strcmp(profile, "compact") == 0 ? "system-compact" : "system", out);

	if (rc)
		return rc;
	if ((size_t)snprintf(path, sizeof(path), "%s/AGENTS.md", root) >= sizeof(path))
		return lc_err_set(LC_EIO, "path too long: '%s'", root);
	rc = lc_file_read(path, AGENTS_MD_MAX, &agents, &len);
	if (rc == LC_ENOTFOUND) {
		lc_err_clear();
		return 0;
	}
	if (rc)
		return lc_err_prefix(rc, "AGENTS.md");
	lc_buf_addf(out, "\n\n# Project instructions (AGENTS.md)\n\n%s", agents);
	free(agents);
	return 0;
}

static int parse_call_format(const char *name)
{
	static const char *const names[] = {"hermes", "llama3", "mistral", "react"};

	if (!name)
		return -1;
	for (int i = 0; i < 4; i++)
		if (strcmp(name, names[i]) == 0)
			return i;
	return -2;
}

static int is_remote(const struct lc_run_opts *o)
{
	return o->backend && strcmp(o->backend, "openai") == 0;
}

static int open_remote(const struct lc_run_opts *o, lc_backend **out)
{
	lc_remote_opts ro = {0};

	ro.base_url = o->base_url;
	ro.model = o->remote_model;
	ro.n_ctx = o->n_ctx;
	ro.max_tokens = o->max_tokens;
	ro.temp = o->temp > 0 ? o->temp : 0;
	ro.seed = o->has_seed ? (int)o->seed : -1;
	ro.idle_timeout_ms = o->remote_timeout * 1000;
	ro.cancel = &lc_cancel_flag;
	ro.call_format = parse_call_format(o->call_format);
	return lc_backend_remote_new(out, &ro);
}

static int open_backend(const struct lc_run_opts *o, const char *model, lc_backend **out)
{
	lc_local_opts lo = {0};
	struct lc_sampler_params sp = LC_SAMPLER_PARAMS_INIT;

	sp.temp = o->temp;
	sp.seed = o->seed;
	lo.sampler = sp;
	lo.n_ctx = o->n_ctx;
	lo.n_threads = o->n_threads;
	lo.max_tokens = o->max_tokens;
	lo.call_format = parse_call_format(o->call_format);
	if (is_remote(o))
		return open_remote(o, out);
	if (o->script)
		return lc_backend_script_new(out, o->script, model, &lo);
	return lc_backend_local_new(out, model, &lo);
}

/*
 * The session log's header (agent/session.h): the model file and its
 * SHA-256, formats, a hash of the prompts, the sampler and context.
 */
static void open_log(struct lc_session *s, const char *root)
{
	static const char *const prompts[] = {"system", "system-compact", "tools", "react",
	                                      "react-compact"};
	struct lc_sampler_params sp = LC_SAMPLER_PARAMS_INIT;
	lc_buf text = LC_BUF_INIT(8 * (size_t)LC_PROMPT_MAX);
	char sha[LC_SHA256_HEX], version[LC_SHA256_HEX], quant[32], abs[PATH_MAX];
	lc_session_info info = {0};
	int local = lc_file_exists(s->model_path);

	for (size_t i = 0; i < sizeof(prompts) / sizeof(prompts[0]); i++)
		if (lc_prompt_load(prompts[i], &text) == 0)
			lc_buf_addc(&text, '\0');
	lc_err_clear();
	lc_sha256_hex(text.data ? text.data : "", text.len, version);
	version[16] = '\0';
	lc_buf_release(&text);
	info.version = LC_VERSION;
	info.model_path = local && realpath(s->model_path, abs) ? abs : s->model_path;
	if (local && lc_session_model_sha256(s->model_path, sha) == 0)
		info.model_sha256 = sha;
	if (local && lc_session_model_quant(s->model_path, quant, sizeof(quant)) == 0)
		info.quantization = quant;
	lc_err_clear();
	info.template_family = lc_template_family_name(s->backend->style.family);
	info.call_format = lc_call_format_name(s->backend->style.fmt);
	info.prompt_version = version;
	info.backend = s->o->script ? "script" : local ? "local" : "remote";
	info.script = s->o->script;
	info.temp = s->o->temp;
	info.top_k = sp.top_k;
	info.top_p = sp.top_p;
	info.min_p = sp.min_p;
	info.seed = s->o->seed; /* what open_backend gives the sampler */
	info.n_ctx = s->backend->ops->n_ctx(s->backend->self);
	info.constrain = !s->o->no_constrain;
	if (lc_session_log_open(&s->log, root, &info))
		log_warning(s);
}

/* Without a model: every way to get one and to name it. */
static void no_model_help(void)
{
	char user[PATH_MAX];

	if (lc_config_user_path(user, sizeof(user))) {
		lc_err_clear();
		snprintf(user, sizeof(user), "~/.config/lcode/config");
	}
	fprintf(stderr,
	        "lcode: no model given. Get a GGUF model file, then name it:\n"
	        "  lcode pull hf:OWNER/REPO/FILE.gguf  downloads one from Hugging Face, e.g.\n"
	        "      lcode pull hf:Qwen/Qwen2.5-Coder-7B-Instruct-GGUF/"
	        "qwen2.5-coder-7b-instruct-q4_k_m.gguf\n"
	        "  --model PATH                        names it for one run (a name from "
	        "'lcode models' too)\n"
	        "  LCODE_MODEL=PATH                    names it in the environment\n"
	        "  model = PATH                        names it in %s or .lcode/config\n"
	        "  --model demo                        runs lcode's small demonstration model, "
	        "to try lcode out\n",
	        user);
}

int lc_session_open(struct lc_session *s, const struct lc_run_opts *given)
{
	const struct lc_run_opts *o = &s->opts;
	const char *model;
	lc_buf system = LC_BUF_INIT(LC_PROMPT_MAX + AGENTS_MD_MAX + 1024);
	lc_buf react = LC_BUF_INIT(LC_PROMPT_MAX);
	lc_toolbox_opts to = {0};
	lc_exec_opts eo = {0};
	lc_agent_opts ao = {0};
	lc_repo *repo = NULL;
	cJSON *desc = NULL;
	char root[PATH_MAX];
	int status = LC_EXIT_FAIL;

	memset(s, 0, sizeof(*s));
	s->opts = *given;
	s->o = o;
	s->cfg = (lc_config)LC_CONFIG_INIT;
	if (o->dir && chdir(o->dir) < 0) {
		lc_err_set_errno(LC_EIO, errno, "cannot change to '%s'", o->dir);
		lc_print_error(NULL);
		return LC_EXIT_USAGE;
	}
	if (lc_repo_open(&repo, ".")) {
		lc_print_error(NULL);
		return LC_EXIT_FAIL;
	}
	snprintf(root, sizeof(root), "%s", lc_repo_root(repo));
	lc_repo_free(repo);
	/* Flags > LCODE_MODEL > .lcode/config > the user's config > defaults. */
	if (lc_config_load(&s->cfg, root)) {
		lc_print_error(NULL);
		lc_config_release(&s->cfg);
		return LC_EXIT_USAGE;
	}
	lc_config_apply(&s->cfg, &s->opts);
	model = o->model;
	if (!is_remote(o) && (!model || !model[0])) {
		no_model_help();
		lc_config_release(&s->cfg);
		return LC_EXIT_USAGE;
	}
	if (is_remote(o) && !o->base_url) {
		fprintf(stderr, "lcode: --backend openai needs --base-url URL\n");
		lc_config_release(&s->cfg);
		return LC_EXIT_USAGE;
	}
	if (is_remote(o)) {
		snprintf(s->model_path, sizeof(s->model_path), "%s", o->base_url);
		model = NULL;
	} else {
		/* a name from 'lcode models' as well as a path, or "demo" */
		if (lc_models_resolve(model, s->model_path, sizeof(s->model_path))) {
			lc_print_error(NULL);
			lc_config_release(&s->cfg);
			return LC_EXIT_MODEL;
		}
		model = s->model_path;
	}
	if (parse_call_format(o->call_format) == -2) {
		fprintf(stderr, "lcode: unknown call format '%s'; see 'lcode --help'\n",
		        o->call_format);
		lc_config_release(&s->cfg);
		return LC_EXIT_USAGE;
	}
	/* One request (-m) never waits for an answer, even at a terminal; the REPL asks. */
	s->interactive = isatty(STDIN_FILENO) && !o->json && !o->message;

	/* The executor first: before the model is mapped and threads exist. */
	eo.repo_root = root;
	eo.no_sandbox = o->no_sandbox;
	if (lc_exec_start(&s->exec, &eo)) {
		lc_print_error("cannot start the command executor");
		goto out;
	}
	running_exec = s->exec;
	signal(SIGINT, on_sigint);

	to.repo_path = root;
	to.exec = s->exec;
	to.approve = approve;
	to.approve_ud = s;
	to.allowed_paths = o->allowed_paths;
	to.n_allowed_paths = o->n_allowed_paths;
	if (lc_toolbox_new(&s->tools, &to)) {
		lc_print_error(NULL);
		goto out;
	}
	if (open_backend(o, model, &s->backend)) {
		lc_print_error(model);
		status = LC_EXIT_MODEL;
		goto out;
	}
	if (system_text(root, s->backend->profile, &system) ||
	    lc_prompt_load(strcmp(s->backend->profile, "compact") == 0 ? "react-compact" : "react",
	                   &react)) {
		lc_print_error(NULL);
		goto out;
	}
	/* Prompt files end with a newline; the templates put their own separators. */
	while (system.len &&
	       (system.data[system.len - 1] == '\n' || system.data[system.len - 1] == ' '))
		lc_buf_truncate(&system, system.len - 1);
	while (react.len && (react.data[react.len - 1] == '\n' || react.data[react.len - 1] == ' '))
		lc_buf_truncate(&react, react.len - 1);
	desc = tool_descriptions();
	ao.backend = s->backend;
	ao.tools = s->tools;
	ao.system = system.data;
	ao.tool_descriptions = desc;
	ao.react_intro = react.data;
	ao.constrain = !o->no_constrain;
	ao.max_steps = o->max_steps;
	ao.max_failures = o->max_failures;
	ao.commit = !o->no_commit;
	ao.cancel = &lc_cancel_flag;
	ao.on_event = on_event;
	ao.ud = s;
	if (lc_agent_new(&s->agent, &ao)) {
		lc_print_error(NULL);
		goto out;
	}
	open_log(s, root);
	status = LC_EXIT_OK;
out:
	cJSON_Delete(desc);
	lc_buf_release(&system);
	lc_buf_release(&react);
	if (status != LC_EXIT_OK)
		lc_session_close(s);
	return status;
}

static void json_error(void)
{
	cJSON *j = cJSON_CreateObject();
	char *str;

	cJSON_AddStringToObject(j, "type", "error");
	cJSON_AddStringToObject(j, "message", lc_err_msg());
	str = cJSON_PrintUnformatted(j);
	if (str)
		printf("%s\n", str);
	free(str);
	cJSON_Delete(j);
}

int lc_session_request(struct lc_session *s, const char *request)
{
	lc_buf answer = LC_BUF_INIT((size_t)1 << 20);
	int status;

	lc_cancel_flag = 0;
	switch (lc_agent_run(s->agent, request, &answer)) {
	case LC_OUTCOME_DONE:
		/* On one terminal the answer was just shown as it was generated. */
		if (!s->o->json && !(s->streamed && isatty(STDOUT_FILENO)))
			printf("%s\n", answer.data ? answer.data : "");
		status = LC_EXIT_OK;
		break;
	case LC_OUTCOME_MODEL:
		lc_print_error("model");
		status = LC_EXIT_MODEL;
		break;
	case LC_OUTCOME_CANCELLED:
		lc_print_error(NULL);
		status = LC_EXIT_FAIL;
		break;
	default:
		lc_print_error("the request could not be completed");
		status = LC_EXIT_FAIL;
	}
	if (s->o->json && status != LC_EXIT_OK)
		json_error();
	if (s->log &&
	    lc_session_log_end(s->log, status, status != LC_EXIT_OK ? lc_err_msg() : NULL))
		log_warning(s);
	if (s->o->dump_prompt) {
		lc_buf text = LC_BUF_INIT((size_t)64 << 20);
		if (lc_agent_render(s->agent, &text) ||
		    lc_file_write_atomic(s->o->dump_prompt, text.data ? text.data : "", text.len))
			lc_print_error("--dump-prompt");
		lc_buf_release(&text);
	}
	fflush(stdout);
	lc_cancel_flag = 0;
	lc_buf_release(&answer);
	return status;
}

void lc_session_close(struct lc_session *s)
{
	running_exec = NULL;
	lc_agent_free(s->agent);
	lc_backend_free(s->backend);
	lc_toolbox_free(s->tools);
	if (s->exec) {
		lc_exec_stop(s->exec);
		lc_exec_free(s->exec);
	}
	s->agent = NULL;
	s->backend = NULL;
	s->tools = NULL;
	s->exec = NULL;
	lc_session_log_close(s->log);
	s->log = NULL;
	lc_config_release(&s->cfg);
}

int lc_run(const struct lc_run_opts *o)
{
	struct lc_session s;
	int status = lc_session_open(&s, o);

	if (status != LC_EXIT_OK)
		return status;
	status = lc_session_request(&s, o->message);
	lc_session_close(&s);
	return status;
}
