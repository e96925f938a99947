/*
 * repl.c - lcode in a repository: one request per line, slash commands.
 *
 * Line editing and history come from libedit; the history is kept in
 * $XDG_STATE_HOME/lcode/history (~/.local/state/lcode/history). Ctrl-C
 * stops the running request and returns to the prompt; at the prompt, a
 * second Ctrl-C in a row (or Ctrl-D) leaves.
 */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <editline/readline.h>

#include "agent/agent.h"
#include "src/buf.h"
#include "src/commands.h"
#include "src/err.h"
#include "src/run.h"
#include "src/term.h"
#include "tools/git.h"
#include "tools/tool.h"
#include "src/banned.h"

#define HISTORY_MAX 1000
#define DIFF_MAX    (256u * 1024u)

static volatile sig_atomic_t prompt_interrupts;

static void on_sigint_at_prompt(int sig)
{
	(void)sig;
	prompt_interrupts++;
}

/* Make the directories of path (not its last component). */
static void make_parents(char *path)
{
	for (char *p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		mkdir(path, 0700);
		*p = '/';
	}
}

static int history_path(char *out, size_t cap)
{
	const char *state = getenv("XDG_STATE_HOME"), *home = getenv("HOME");
	int n;

	if (state && state[0] == '/') /* the XDG spec: a relative path is to be ignored */
		n = snprintf(out, cap, "%s/lcode/history", state);
	else if (home && home[0])
		n = snprintf(out, cap, "%s/.local/state/lcode/history", home);
	else
		return -1;
	if (n < 0 || (size_t)n >= cap)
		return -1;
	make_parents(out);
	return 0;
}

static void help(void)
{
	printf("Type a request, or one of:\n"
	       "  /help     this list\n"
	       "  /diff     the uncommitted changes in the work tree\n"
	       "  /undo     take back the agent's last change\n"
	       "  /commit   commit the changes the agent left uncommitted\n"
	       "  /clear    forget the conversation\n"
	       "  /tokens   tokens the conversation takes, and the context size\n"
	       "  /model    the model in use\n"
	       "  /exit     leave (also Ctrl-D, or Ctrl-C twice)\n");
}

/*
 * Print the error slot's message as about what; tools/git.h's messages begin
 * with "commit: " or "undo: " already, and that is not said twice.
 */
static void print_error_of(const char *what)
{
	const char *msg = lc_err_msg();
	size_t n = strlen(what);

	lc_print_error(strncmp(msg, what, n) == 0 && msg[n] == ':' ? NULL : what);
}

static void slash_diff(struct lc_session *s)
{
	lc_buf out = LC_BUF_INIT(DIFF_MAX + 1024);

	if (lc_git_diff(lc_toolbox_repo(s->tools), NULL, 0, DIFF_MAX, &out))
		lc_print_error(NULL);
	else
		fputs(out.data ? out.data : "", stdout);
	lc_buf_release(&out);
}

static void slash_undo(struct lc_session *s)
{
	lc_buf out = LC_BUF_INIT(64 * 1024);

	if (lc_git_undo(lc_toolbox_repo(s->tools), &out))
		print_error_of("undo");
	else
		fputs(out.data ? out.data : "", stdout);
	lc_buf_release(&out);
}

static void slash_commit(struct lc_session *s)
{
	char oid[LC_GIT_OID_HEX];

	if (lc_git_commit(lc_toolbox_repo(s->tools), NULL, 0, "Changes made with lcode\n",
	                  s->backend->name, oid))
		print_error_of("commit");
	else
		printf("committed %.12s\n", oid);
}

static void slash_model(struct lc_session *s)
{
	printf("%s\nchat format: %s, tool calls: %s%s\n", s->model_path,
	       lc_template_family_name(s->backend->style.family),
	       lc_call_format_name(s->backend->style.fmt),
	       s->o->no_constrain ? "" : " (constrained)");
}

/* Returns 1 to leave the REPL. */
static int slash(struct lc_session *s, const char *line)
{
	if (strcmp(line, "/exit") == 0 || strcmp(line, "/quit") == 0)
		return 1;
	if (strcmp(line, "/help") == 0) {
		help();
	} else if (strcmp(line, "/diff") == 0) {
		slash_diff(s);
	} else if (strcmp(line, "/undo") == 0) {
		slash_undo(s);
	} else if (strcmp(line, "/commit") == 0) {
		slash_commit(s);
	} else if (strcmp(line, "/clear") == 0) {
		lc_agent_clear(s->agent);
		printf("the conversation is forgotten\n");
	} else if (strcmp(line, "/tokens") == 0) {
		int n_ctx = 0;
		long n = lc_agent_tokens(s->agent, &n_ctx);
		if (n < 0)
			lc_print_error(NULL);
		else
			printf("%ld of %d tokens\n", n, n_ctx);
	} else if (strcmp(line, "/model") == 0) {
		slash_model(s);
	} else {
		printf("unknown command '%s'; /help lists them\n", line);
	}
	lc_err_clear();
	return 0;
}

static char *read_line(const char *prompt)
{
	struct sigaction sa, old;
	char *line;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sigint_at_prompt; /* no SA_RESTART: the read is interrupted */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, &old);
	line = readline(prompt);
	sigaction(SIGINT, &old, NULL);
	return line;
}

int lc_repl(const struct lc_run_opts *o)
{
	struct lc_session s;
	char hist[PATH_MAX], prompt[64];
	int status = lc_session_open(&s, o), have_hist;

	if (status != LC_EXIT_OK)
		return status;
	have_hist = history_path(hist, sizeof(hist)) == 0;
	using_history();
	stifle_history(HISTORY_MAX);
	if (have_hist)
		read_history(hist);
	snprintf(prompt, sizeof(prompt), "lcode> ");
	if (isatty(STDIN_FILENO))
		printf("lcode in %s with %s; /help for commands\n", lc_toolbox_root(s.tools),
		       s.backend->name);
	for (;;) {
		char *line;
		const char *p;

		prompt_interrupts = 0;
		line = read_line(isatty(STDIN_FILENO) ? prompt : "");
		if (!line) {
			if (prompt_interrupts) {
				/* Ctrl-C at the prompt: a second one in a row leaves. */
				printf("\n(Ctrl-C again, /exit or Ctrl-D to leave)\n");
				prompt_interrupts = 0;
				line = read_line(prompt);
				if (!line && prompt_interrupts)
					break;
				if (!line)
					break;
			} else {
				break; /* end of input */
			}
		}
		for (p = line; *p == ' ' || *p == '\t'; p++)
			;
		if (*p == '\0') {
			free(line);
			continue;
		}
		add_history(p);
		if (have_hist)
			write_history(hist);
		if (p[0] == '/') {
			int leave = slash(&s, p);
			free(line);
			if (leave)
				break;
			continue;
		}
		status = lc_session_request(&s, p);
		free(line);
	}
	if (have_hist)
		write_history(hist);
	lc_session_close(&s);
	return status == LC_EXIT_USAGE ? LC_EXIT_FAIL : LC_EXIT_OK;
}
