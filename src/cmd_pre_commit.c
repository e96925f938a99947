/*
 * cmd_pre_commit.c - lcode pre-commit: the refactor pass a git pre-commit
 * hook runs (src/cmd_hook.c installs it).
 *
 * The request set as pre-commit.request in the configuration runs over the
 * files staged for commit, and over nothing else:
 *   - the staged files are those whose index entry differs from HEAD;
 *     git gives a hook the index being committed in GIT_INDEX_FILE, and
 *     everything here reads and writes that index;
 *   - a staged file with unstaged changes too is skipped with a note, so
 *     the user's unstaged work is never touched;
 *   - the toolbox refuses edits to any file but the rest (allowed paths),
 *     commands are never approved, and the agent does not commit;
 *   - when the request is done, the agent's changes are staged and the hook
 *     exits 0, so the commit goes on with them; otherwise they are undone
 *     (lc_git_undo: the files back byte for byte) and it exits 1, which
 *     stops the commit.
 */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "src/buf.h"
#include "src/commands.h"
#include "src/config.h"
#include "src/err.h"
#include "src/run.h"
#include "tools/git.h"
#include "tools/repo.h"
#include "tools/tool.h"
#include "src/banned.h"

#define REQUEST_MAX (256u * 1024u)

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: lcode pre-commit [--model PATH] [--script FILE] [--dump-prompt FILE]\n"
	        "\nRun the request set as pre-commit.request in .lcode/config over the files\n"
	        "staged for commit, as the hook 'lcode hook install' writes does. Staged files\n"
	        "with unstaged changes are skipped. When the request is done, its changes\n"
	        "are staged and the exit status is 0; otherwise they are undone and it is 1,\n"
	        "which stops the commit. Exit status: 0 done, 1 failed, 2 usage, 3 model.\n"
	        "\n  --model PATH    the GGUF model file (or LCODE_MODEL, or model in the config)\n"
	        "  --script FILE   let a script speak for the model (for tests)\n"
	        "  --dump-prompt FILE  write the conversation, as the model sees it, to FILE\n");
}

/* Use the index git gives the hook, when it gives one. */
static int use_hook_index(lc_repo *repo, const char *index_file)
{
	return index_file && index_file[0] ? lc_git_use_index(repo, index_file) : 0;
}

/* The request the agent gets: the configured one, and the files it may change. */
static int build_request(const char *configured, char *const *files, size_t n, lc_buf *out)
{
	lc_buf_addf(out,
	            "%s\n\nThis is a pre-commit pass over the files staged for commit. You may "
	            "change only these files: ",
	            configured);
	for (size_t i = 0; i < n; i++)
		lc_buf_addf(out, "%s%s", i ? ", " : "", files[i]);
	return lc_buf_adds(out, ". Do not change any other file: such edits are refused.");
}

/*
 * The allowed files the agent left different from the index: after the
 * run, its changes are exactly the allowed files that have unstaged changes
 * (they had none before it).
 */
static int agent_changes(lc_repo *repo, char *const *allowed, size_t n_allowed, char ***out,
                         size_t *n_out)
{
	char **clean = NULL, **dirty = NULL;
	size_t n_clean = 0, n_dirty = 0, n = 0;
	int rc = lc_git_staged_files(repo, &clean, &n_clean, &dirty, &n_dirty);

	if (rc)
		return rc;
	for (size_t i = 0; i < n_dirty; i++) {
		int keep = 0;
		for (size_t j = 0; j < n_allowed && !keep; j++)
			keep = strcmp(dirty[i], allowed[j]) == 0;
		if (keep)
			dirty[n++] = dirty[i];
		else
			free(dirty[i]);
	}
	lc_git_paths_free(clean, n_clean);
	*out = dirty;
	*n_out = n;
	return 0;
}

/* Take the agent's changes back; 0 when done (or nothing to take back). */
static int undo_changes(struct lc_session *s, size_t n_changed)
{
	lc_buf out = LC_BUF_INIT(64 * 1024);
	int rc = 0;

	if (n_changed == 0)
		return 0;
	lc_err_clear(); /* the request's error was printed; the slot keeps the first message */
	rc = lc_git_undo(lc_toolbox_repo(s->tools), &out);
	if (rc)
		lc_print_error("the agent's changes could not be undone");
	else
		fprintf(stderr, "lcode: the agent's changes were undone:\n%s%s",
		        out.data ? out.data : "",
		        out.len && out.data[out.len - 1] == '\n' ? "" : "\n");
	lc_buf_release(&out);
	return rc;
}

int lc_cmd_pre_commit(int argc, char **argv)
{
	enum { OPT_MODEL = 256, OPT_SCRIPT, OPT_DUMP_PROMPT };
	static const struct option opts[] = {
	        {"help", no_argument, NULL, 'h'},
	        {"model", required_argument, NULL, OPT_MODEL},
	        {"script", required_argument, NULL, OPT_SCRIPT},
	        {"dump-prompt", required_argument, NULL, OPT_DUMP_PROMPT},
	        {NULL, 0, NULL, 0},
	};
	const char *index_env = getenv("GIT_INDEX_FILE");
	struct lc_run_opts ro = {0};
	struct lc_session s;
	lc_config cfg = LC_CONFIG_INIT;
	lc_buf request = LC_BUF_INIT(REQUEST_MAX);
	lc_repo *repo = NULL;
	char **clean = NULL, **dirty = NULL, **changed = NULL;
	size_t n_clean = 0, n_dirty = 0, n_changed = 0;
	char index_file[PATH_MAX];
	int ch, status = LC_EXIT_FAIL, opened = 0;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		switch (ch) {
		case 'h':
			usage(stdout);
			return LC_EXIT_OK;
		case OPT_MODEL:
			ro.model = optarg;
			break;
		case OPT_SCRIPT:
			ro.script = optarg;
			break;
		case OPT_DUMP_PROMPT:
			ro.dump_prompt = optarg;
			break;
		default:
			usage(stderr);
			return LC_EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "lcode: unexpected argument '%s'; see 'lcode pre-commit --help'\n",
		        argv[optind]);
		return LC_EXIT_USAGE;
	}
	/* GIT_INDEX_FILE may be relative to the directory the hook started in. */
	if (index_env && index_env[0] && !realpath(index_env, index_file)) {
		fprintf(stderr, "lcode: cannot find the index '%s' named by GIT_INDEX_FILE\n",
		        index_env);
		return LC_EXIT_FAIL;
	}
	if (lc_repo_open(&repo, ".") || use_hook_index(repo, index_env ? index_file : NULL) ||
	    lc_config_load(&cfg, lc_repo_root(repo))) {
		lc_print_error("pre-commit");
		goto out;
	}
	if (!cfg.pre_commit_request) {
		fprintf(stderr, "lcode: pre-commit: no request is configured; set "
		                "pre-commit.request in .lcode/config (the commit is stopped; "
		                "'git commit --no-verify' skips the hook)\n");
		goto out;
	}
	if (lc_git_staged_files(repo, &clean, &n_clean, &dirty, &n_dirty)) {
		lc_print_error("pre-commit");
		goto out;
	}
	for (size_t i = 0; i < n_dirty; i++)
		fprintf(stderr,
		        "lcode: pre-commit: skipped '%s': it has unstaged changes, which lcode "
		        "leaves alone\n",
		        dirty[i]);
	if (n_clean == 0) {
		fprintf(stderr, "lcode: pre-commit: no staged file to work on\n");
		status = LC_EXIT_OK;
		goto out;
	}
	if (build_request(cfg.pre_commit_request, clean, n_clean, &request)) {
		lc_print_error("pre-commit");
		goto out;
	}

	/* Edits to the staged files only, no commands, no commit, nobody asked. */
	ro.approval = LC_APPROVAL_AUTO_EDIT;
	ro.temp = -1.0f;
	ro.no_commit = 1;
	ro.allowed_paths = (const char *const *)clean;
	ro.n_allowed_paths = n_clean;
	if ((status = lc_session_open(&s, &ro)) != LC_EXIT_OK)
		goto out;
	opened = 1;
	s.interactive = 0;
	s.told_unasked = ~0u; /* commands are refused by design here; no --approval note */
	if (use_hook_index(lc_toolbox_repo(s.tools), index_env ? index_file : NULL)) {
		lc_print_error("pre-commit");
		status = LC_EXIT_FAIL;
		goto out;
	}
	status = lc_session_request(&s, request.data);
	lc_err_clear(); /* printed by lc_session_request */
	if (agent_changes(lc_toolbox_repo(s.tools), clean, n_clean, &changed, &n_changed)) {
		lc_print_error("pre-commit");
		status = LC_EXIT_FAIL;
		goto out;
	}
	if (status == LC_EXIT_OK && n_changed &&
	    lc_git_stage(lc_toolbox_repo(s.tools), (const char *const *)changed, n_changed)) {
		lc_print_error("pre-commit: the agent's changes could not be staged");
		status = LC_EXIT_FAIL;
	}
	if (status != LC_EXIT_OK) {
		status = LC_EXIT_FAIL;
		fprintf(stderr, "lcode: pre-commit: the request did not finish; the commit is "
		                "stopped\n");
		undo_changes(&s, n_changed);
		goto out;
	}
	for (size_t i = 0; i < n_changed; i++)
		fprintf(stderr, "lcode: pre-commit: staged '%s'\n", changed[i]);
out:
	if (opened)
		lc_session_close(&s);
	lc_git_paths_free(changed, n_changed);
	lc_git_paths_free(clean, n_clean);
	lc_git_paths_free(dirty, n_dirty);
	lc_buf_release(&request);
	lc_config_release(&cfg);
	lc_repo_free(repo);
	return status;
}
