/*
 * exec.h - the shell executor: a process forked at start-up that runs the
 * model's shell commands, one child per command, under the sandbox.
 *
 * lcode forks the executor before it maps weights or starts threads, so
 * every later fork happens in a small single-threaded process. The two talk
 * over a socketpair with length-prefixed frames (every length capped; see
 * exec.c); a second channel carries cancel requests so that a signal
 * handler can stop the running command.
 *
 * Each command runs as /bin/sh -c COMMAND in a child that starts its own
 * session and process group, has stdin from /dev/null, stdout and stderr
 * on one pipe, no other file descriptor, TMPDIR set to a private directory
 * the executor made (removed by lc_exec_stop()), and, unless no_sandbox,
 * the confinement of tools/sandbox.h. On timeout or cancel the whole group
 * gets SIGTERM, then SIGKILL after a grace period, and is reaped; when the
 * command's main process exits, what it left running in its group is
 * killed. The executor counts the group's processes and kills the group
 * when there are more than max_procs (fork bombs). Where it can make a
 * pids cgroup (cgroup v1 pids hierarchy, or v2 with pids delegated), forks
 * past max_procs + 1 fail outright; elsewhere the count is polled every
 * 100 ms, which a fast exponential fork bomb can outrun. Output is drained all
 * the time, so a command never blocks on a full pipe, but only the first
 * and the last output_max/2 bytes are kept.
 */
#ifndef LC_EXEC_H
#define LC_EXEC_H

#include <stddef.h>
#include <stdint.h>

#include "tools/sandbox.h"

typedef struct lc_exec lc_exec;

#define LC_EXEC_TIMEOUT_DEFAULT_MS 120000u
#define LC_EXEC_TIMEOUT_MAX_MS     (24u * 3600u * 1000u)
#define LC_EXEC_OUTPUT_DEFAULT     (64u * 1024u)
#define LC_EXEC_OUTPUT_MAX         (16u * 1024u * 1024u)
#define LC_EXEC_PROCS_DEFAULT      256u
#define LC_EXEC_PROCS_MAX          65536u
#define LC_EXEC_COMMAND_MAX        (128u * 1024u) /* bytes of a command line */
#define LC_EXEC_GRACE_DEFAULT_MS   2000u
#define LC_EXEC_FSIZE_DEFAULT      (1ull << 30) /* RLIMIT_FSIZE, bytes */

typedef struct lc_exec_opts {
	const char *repo_root;  /* required; writable under the sandbox except .git */
	int no_sandbox;         /* 1: run commands with only group/time/output limits */
	unsigned grace_ms;      /* SIGTERM to SIGKILL; 0 means the default */
	uint64_t max_file_size; /* RLIMIT_FSIZE in bytes; 0 means the default */
	int no_git_mount;       /* 1: no read-only .git mount, Landlock rules only (sandbox.h) */
} lc_exec_opts;

#define LC_EXEC_OPTS_INIT                                                                          \
	{                                                                                          \
		NULL, 0, 0, 0, 0                                                                   \
	}

typedef struct lc_exec_cmd {
	const char *command; /* run as /bin/sh -c command; at most LC_EXEC_COMMAND_MAX bytes */
	const char *cwd;     /* working directory; NULL means the repository root */
	unsigned timeout_ms; /* 0 means LC_EXEC_TIMEOUT_DEFAULT_MS; at most ..._MAX_MS */
	size_t output_max;   /* bytes of output kept; 0 means the default; at most ..._MAX */
	unsigned max_procs;  /* processes in the group; 0 means the default; at most ..._MAX */
} lc_exec_cmd;

#define LC_EXEC_CMD_INIT                                                                           \
	{                                                                                          \
		NULL, NULL, 0, 0, 0                                                                \
	}

typedef struct lc_exec_result {
	int exit_status;      /* exit code when signal is 0, else -1 */
	int signal;           /* signal that ended the main process, 0 if it exited */
	int timed_out;        /* 1 when the time limit killed the group */
	int cancelled;        /* 1 when lc_exec_cancel() killed the group */
	int proc_limited;     /* 1 when the group passed max_procs (killed) or forks were refused */
	int sandboxed;        /* 1 when the command ran under the sandbox */
	int git_mounted;      /* 1 when .git was a read-only mount (see sandbox.h) */
	int pids_capped;      /* 1 when a pids cgroup capped forks at max_procs + 1 */
	char *output;         /* stdout+stderr interleaved, NUL-terminated; owned */
	size_t output_len;    /* bytes in output, NUL not counted */
	uint64_t bytes_seen;  /* bytes the command wrote in all */
	uint64_t bytes_cut;   /* bytes left out of output (marker "[... N bytes cut ...]") */
	uint64_t duration_ms; /* wall time from fork to the last process reaped */
} lc_exec_result;

/*
 * Fork the executor. Call before threads exist. opts->repo_root must be an
 * existing directory. The sandbox is probed here; if it is unusable and
 * no_sandbox is 0, the executor still starts but lc_exec_run() refuses.
 * *out (free with lc_exec_free) is written on success. Returns 0, LC_EIO
 * (fork, socketpair, temp dir), LC_ENOTFOUND (repo_root), LC_ENOMEM.
 */
int lc_exec_start(lc_exec **out, const lc_exec_opts *opts);

/*
 * Run one command and wait for it. On return 0 *res holds the outcome,
 * whatever the command did (non-zero exit, signal, timeout, cancel,
 * process cap); release it with lc_exec_result_release(). Errors (nothing
 * ran, *res untouched): LC_EDENIED when the sandbox is unavailable and
 * no_sandbox was not given (the message says why), LC_ETOOBIG for a
 * command or cwd over its cap, LC_EIO when the sandbox could not be set up
 * or the executor is gone, LC_EPARSE for a malformed reply. Not
 * reentrant: one command at a time per executor.
 */
int lc_exec_run(lc_exec *e, const lc_exec_cmd *cmd, lc_exec_result *res);

/*
 * Ask the executor to stop the running command (SIGTERM, grace, SIGKILL to
 * its group); its lc_exec_run() then returns with res->cancelled = 1. Does
 * nothing when no command runs. Async-signal-safe: callable from a SIGINT
 * handler or another thread.
 */
void lc_exec_cancel(lc_exec *e);

/* What the sandbox probe found at start. Valid until lc_exec_free(). */
const lc_sandbox_report *lc_exec_sandbox(const lc_exec *e);

/* The executor's private temp dir (TMPDIR of commands). Valid until lc_exec_free(). */
const char *lc_exec_tmpdir(const lc_exec *e);

/*
 * Close the channel, let the executor kill any running command, remove
 * its temp dir and exit, and reap it. Returns 0, or LC_EIO when it did not
 * exit cleanly. Calling it again does nothing and returns 0.
 */
int lc_exec_stop(lc_exec *e);

/* lc_exec_stop() if needed, then free. NULL is fine. */
void lc_exec_free(lc_exec *e);

/* Free res->output; the struct can be reused. NULL is fine. */
void lc_exec_result_release(lc_exec_result *res);

#endif
