/*
 * cmd_tool.c - lcode tool NAME JSON-ARGS: run one tool as the agent would.
 *
 * Same toolbox, sandbox, validation and policy as a request; the approval a
 * person would give is --yes. The observation goes to stdout; the exit
 * status is 0 when the tool did its work, 1 when it was refused or failed.
 */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "src/commands.h"
#include "src/err.h"
#include "tools/exec.h"
#include "tools/repo.h"
#include "tools/tool.h"
#include "src/banned.h"

struct approval {
	int yes;       /* --yes: what needs approval is approved */
	int full_auto; /* --approval full-auto: commands need none */
};

static int approve(void *ud, enum lc_tool_kind kind, const char *summary)
{
	const struct approval *a = ud;

	(void)summary;
	if (a->yes)
		return 1;
	/* The agent's default policy: edits are applied, commands confirmed. */
	return kind == LC_TOOL_EDIT || a->full_auto;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: lcode tool [--yes] [--no-sandbox] [-C DIR] NAME JSON-ARGS\n"
	           "\nRun one tool in the repository exactly as the agent would and print its\n"
	           "observation. Tools: read_file, list_files, search, edit, apply_patch,\n"
	           "write_file, shell. Exit status: 0 done, 1 refused or failed, 2 usage.\n"
	           "\n  --yes          give the approval a person would (commands run)\n"
	           "  --no-sandbox   run commands without the sandbox\n"
	           "  -C DIR         work in the repository at DIR\n");
}

int lc_cmd_tool(int argc, char **argv)
{
	static const struct option opts[] = {
	        {"help", no_argument, NULL, 'h'},
	        {"yes", no_argument, NULL, 'y'},
	        {"no-sandbox", no_argument, NULL, 'S'},
	        {"dir", required_argument, NULL, 'C'},
	        {NULL, 0, NULL, 0},
	};
	struct approval ap = {0, 0};
	lc_buf obs = LC_BUF_INIT((size_t)1 << 20);
	enum lc_tool_status st = LC_TOOL_REFUSED;
	lc_toolbox_opts to = {0};
	lc_exec_opts eo = {0};
	lc_toolbox *tb = NULL;
	lc_exec *exec = NULL;
	lc_repo *repo = NULL;
	cJSON *args = NULL;
	char root[PATH_MAX];
	int ch, no_sandbox = 0, status = LC_EXIT_FAIL;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "+hC:", opts, NULL)) != -1) {
		switch (ch) {
		case 'h':
			usage(stdout);
			return LC_EXIT_OK;
		case 'y':
			ap.yes = 1;
			break;
		case 'S':
			no_sandbox = 1;
			break;
		case 'C':
			if (chdir(optarg) < 0) {
				fprintf(stderr, "lcode: cannot change to '%s'\n", optarg);
				return LC_EXIT_USAGE;
			}
			break;
		default:
			usage(stderr);
			return LC_EXIT_USAGE;
		}
	}
	if (argc - optind != 2) {
		usage(stderr);
		return LC_EXIT_USAGE;
	}
	args = cJSON_Parse(argv[optind + 1]);
	if (!cJSON_IsObject(args)) {
		fprintf(stderr, "lcode: the arguments must be a JSON object\n");
		cJSON_Delete(args);
		return LC_EXIT_USAGE;
	}
	if (lc_repo_open(&repo, ".")) {
		lc_print_error(NULL);
		goto out;
	}
	snprintf(root, sizeof(root), "%s", lc_repo_root(repo));
	lc_repo_free(repo);
	eo.repo_root = root;
	eo.no_sandbox = no_sandbox;
	if (lc_exec_start(&exec, &eo)) {
		lc_print_error("cannot start the command executor");
		goto out;
	}
	to.repo_path = root;
	to.exec = exec;
	to.approve = approve;
	to.approve_ud = &ap;
	if (lc_toolbox_new(&tb, &to)) {
		lc_print_error(NULL);
		goto out;
	}
	if (lc_toolbox_kind(tb, argv[optind]) < 0) {
		fprintf(stderr, "lcode: unknown tool '%s'; see 'lcode tool --help'\n",
		        argv[optind]);
		status = LC_EXIT_USAGE;
		goto out;
	}
	if (lc_toolbox_call(tb, argv[optind], args, &obs, &st)) {
		lc_print_error(NULL);
		goto out;
	}
	/* Close the change so `lcode undo`-style tools see it as one step. */
	lc_toolbox_turn_end(tb, NULL);
	fputs(obs.data ? obs.data : "", stdout);
	if (obs.len && obs.data[obs.len - 1] != '\n')
		fputc('\n', stdout);
	status = st == LC_TOOL_OK ? LC_EXIT_OK : LC_EXIT_FAIL;
out:
	lc_toolbox_free(tb);
	if (exec) {
		lc_exec_stop(exec);
		lc_exec_free(exec);
	}
	cJSON_Delete(args);
	lc_buf_release(&obs);
	return status;
}
