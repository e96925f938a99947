/*
 * run.h - the agent as the program runs it: one-shot requests (-m) and the
 * REPL, with progress on stderr or JSON events on stdout.
 */
#ifndef LC_RUN_H
#define LC_RUN_H

enum lc_approval {
	LC_APPROVAL_ASK = 0,       /* every edit and command is confirmed */
	LC_APPROVAL_AUTO_EDIT = 1, /* edits applied, commands confirmed */
	LC_APPROVAL_FULL_AUTO = 2  /* both, inside the sandbox */
};

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
	float temp;
	unsigned long long seed;
	const char *call_format; /* --call-format: hermes, llama3, mistral, react */
};

/* Exit status of the program: LC_EXIT_* of commands.h. */
int lc_run(const struct lc_run_opts *o);

#endif
