/*
 * agent.h - the ReAct loop: a request in, tool calls out, changes committed.
 *
 * One request runs as: render the conversation for the backend, take the
 * model's message, parse its tool calls in the model's format (toolcall.h),
 * run each through the toolbox (which checks, validates and writes), give
 * the observation back, and repeat until the model answers without a call,
 * or a limit is reached: steps, refused or failed calls, a call loop
 * (loopguard.h), the context. Then the turn's changes are closed for /undo
 * and, if asked, committed.
 *
 * Context: the backend counts the prompt in the model's tokens before each
 * step; when it would pass n_ctx less room for the answer, old observations
 * (all but the two latest) and long model messages of earlier requests are
 * shortened first, then the earlier requests, oldest first, are replaced by
 * a summary at the end of the system text: per request its text, the tools
 * it called with their paths, the files it changed and how it ended, built
 * from the messages without a model call. Every such cut is reported as an
 * LC_EV_NOTE event naming what was summarised; nothing is dropped silently.
 */
#ifndef LC_AGENT_H
#define LC_AGENT_H

#include <signal.h>
#include <stddef.h>

#include "agent/backend.h"
#include "src/buf.h"
#include "tools/tool.h"

typedef struct lc_agent lc_agent;

enum lc_event_kind {
	LC_EV_REQUEST,     /* text: the request */
	LC_EV_TEXT,        /* text: a chunk of the model's message as it is generated */
	LC_EV_MESSAGE,     /* text: the model's whole message */
	LC_EV_CALL,        /* tool, args: a tool call about to run */
	LC_EV_OBSERVATION, /* tool, text, status: what it gave back */
	LC_EV_COMMIT,      /* text: the new commit's id */
	LC_EV_FINAL,       /* text: the model's answer */
	LC_EV_NOTE,        /* text: something the user should know (context cut, loop) */
	LC_EV_STATS,       /* stats: one model step's numbers */
	LC_EV_EDIT         /* tool, path, match, text: a file a call wrote (lc_tool_edit; text the
	                      unified diff), after its LC_EV_CALL, before its LC_EV_OBSERVATION */
};

typedef struct lc_event {
	enum lc_event_kind kind;
	const char *text;
	size_t len;
	const char *tool;
	const char *args; /* canonical JSON */
	int status;       /* enum lc_tool_status */
	const lc_gen_stats *stats;
	const char *path;  /* LC_EV_EDIT: the file, repository-relative */
	const char *match; /* LC_EV_EDIT: how the change was placed; may be NULL */
} lc_event;

typedef void (*lc_event_fn)(void *ud, const lc_event *ev);

typedef struct lc_agent_opts {
	lc_backend *backend;            /* borrowed */
	lc_toolbox *tools;              /* borrowed */
	const char *system;             /* system text; copied */
	const cJSON *tool_descriptions; /* {"name": "description"}; borrowed, may be NULL */
	const char *react_intro;        /* copied; may be NULL */
	int constrain;                  /* constrained decoding (local backends) */
	int max_steps;                  /* model messages per request; 0: 40 */
	int max_failures;   /* the Nth refused, failed or malformed call ends the request; 0: 6 */
	int commit;         /* commit the changes at the end of a request */
	int answer_reserve; /* tokens kept free for the answer; 0: a quarter of n_ctx, at most 2048
	                     */
	volatile sig_atomic_t *cancel;
	lc_event_fn on_event;
	void *ud;
} lc_agent_opts;

/* How a request ended. */
enum lc_outcome {
	LC_OUTCOME_DONE = 0,      /* the model answered */
	LC_OUTCOME_FAILED = 1,    /* a limit was reached; the reason is in the error slot */
	LC_OUTCOME_CANCELLED = 2, /* the user stopped it */
	LC_OUTCOME_MODEL = 3      /* the model or backend failed */
};

/* On success *out is owned: free with lc_agent_free. Errors: LC_ENOMEM. */
int lc_agent_new(lc_agent **out, const lc_agent_opts *opts);
void lc_agent_free(lc_agent *a);

/*
 * Run one request. The answer (the model's last message without calls) is
 * appended to answer. Returns an lc_outcome; for every outcome but DONE
 * the error slot says why. Changes stay on disk whatever the outcome, are
 * closed as one undo step, and are committed only when the outcome is DONE
 * and opts.commit is set.
 */
int lc_agent_run(lc_agent *a, const char *request, lc_buf *answer);

/* Forget the conversation and its summary (the REPL's /clear). */
void lc_agent_clear(lc_agent *a);

/* Tokens the conversation takes now, and the context size (the REPL's /tokens). */
long lc_agent_tokens(lc_agent *a, int *n_ctx);

/*
 * Append the conversation as the model sees it: the backend's chat format,
 * system text and tools, every message so far, each assistant message closed
 * with its end-of-turn text (what a model is trained on). Errors as
 * lc_chat_render.
 */
int lc_agent_render(lc_agent *a, lc_buf *out);

/* The tool list the model is given (schemas with descriptions). Borrowed. */
const cJSON *lc_agent_tools(const lc_agent *a);

#endif
