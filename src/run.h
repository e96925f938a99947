/*
 * run.h - the agent as the program runs it: one-shot requests (-m) and the
 * REPL, with progress on stderr or JSON events on stdout.
 */
#ifndef LC_RUN_H
#define LC_RUN_H

#include <signal.h>
#include <stddef.h>

#include "src/config.h"

enum lc_approval {
	LC_APPROVAL_UNSET = -1,    /* not given: the configuration or the default decides */
	LC_APPROVAL_ASK = 0,       /* every edit and command is confirmed */
	LC_APPROVAL_AUTO_EDIT = 1, /* edits applied, commands confirmed */
	LC_APPROVAL_FULL_AUTO = 2  /* both, inside the sandbox */
};

/*
 * A field the command line did not give is NULL, 0, LC_APPROVAL_UNSET, or
 * (temp) negative; lc_session_open fills those from the configuration
 * (src/config.h) and the defaults.
 */
struct lc_run_opts {
	const char *message; /* -m: one request, then exit */
	const char *model;   /* --model, LCODE_MODEL */
	const char *script;  /* --script: scripted model turns (tests, demos) */
	const char *dir;     /* -C */
	int json;            /* --json */
	enum lc_approval approval;
	int no_sandbox;
	int no_commit;
	int no_constrain;
	int n_ctx, n_threads, max_steps, max_tokens;
	int max_failures; /* --max-failures: refused or failed calls that end a request */
	float temp;       /* < 0: not given */
	unsigned long long seed;
	int has_seed;            /* seed was given */
	const char *call_format; /* --call-format: hermes, llama3, mistral, react */
	const char *dump_prompt; /* --dump-prompt: write the conversation as rendered here */

	const char *backend;      /* --backend: "local" (NULL) or "openai" */
	const char *base_url;     /* --base-url: the OpenAI-compatible server */
	const char *remote_model; /* --remote-model: the server's model name */
	int remote_timeout;       /* --remote-timeout: seconds of silence allowed; 0: 300 */
	/* lcode pre-commit: the only repository-relative paths edits may write (NULL: any). */
	const char *const *allowed_paths;
	size_t n_allowed_paths;
};

/*
 * Everything one run of the agent holds. The executor is forked first,
 * before the model is mapped and before any thread exists.
 */
struct lc_session {
	const struct lc_run_opts *o; /* &opts */
	struct lc_run_opts opts;     /* as given, with the configuration applied */
	lc_config cfg;               /* what the configuration files say */
	struct lc_session_log *log;  /* .lcode/sessions/ log; NULL when it cannot be written */
	struct lc_exec *exec;
	struct lc_toolbox *tools;
	struct lc_backend *backend;
	struct lc_agent *agent;
	char model_path[4096];
	int interactive;       /* a person can answer questions on the terminal */
	unsigned told_unasked; /* bit per lc_tool_kind: a refusal without asking was explained */
	int streaming;         /* model text is being shown on stderr */
	int streamed;          /* the last message was shown as it was generated */
};

/* Open a session. Returns LC_EXIT_OK or the exit status to leave with (the reason printed). */
int lc_session_open(struct lc_session *s, const struct lc_run_opts *o);

/* Run one request; returns the exit status it deserves. */
int lc_session_request(struct lc_session *s, const char *request);

void lc_session_close(struct lc_session *s);

/* Set by SIGINT; a request stops at the next token or command. */
extern volatile sig_atomic_t lc_cancel_flag;

/* The one-shot mode (-m). Returns the exit status. */
int lc_run(const struct lc_run_opts *o);

/* The REPL (src/repl.c). Returns the exit status. */
int lc_repl(const struct lc_run_opts *o);

#endif
