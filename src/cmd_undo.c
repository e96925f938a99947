/*
 * cmd_undo.c - lcode undo: take back the agent's last change.
 *
 * The same as the REPL's /undo (tools/git.h, lc_git_undo): every file of the
 * last change goes back to what it was before it, unless one of them changed
 * since the agent left it, in which case nothing is written.
 */
#include <getopt.h>
#include <stdio.h>
#include <unistd.h>

#include "src/buf.h"
#include "src/commands.h"
#include "src/err.h"
#include "tools/git.h"
#include "tools/repo.h"
#include "src/banned.h"

int lc_cmd_undo(int argc, char **argv)
{
	static const struct option opts[] = {
	        {"help", no_argument, NULL, 'h'},
	        {"dir", required_argument, NULL, 'C'},
	        {NULL, 0, NULL, 0},
	};
	lc_buf out = LC_BUF_INIT(64 * 1024);
	lc_repo *repo = NULL;
	int ch, status = LC_EXIT_FAIL;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "+hC:", opts, NULL)) != -1) {
		switch (ch) {
		case 'h':
			printf("usage: lcode undo [-C DIR]\n\nTake back the agent's last change in "
			       "the "
			       "repository. Refused, with nothing\nwritten, when a file it changed "
			       "has "
			       "been changed since.\n");
			return LC_EXIT_OK;
		case 'C':
			if (chdir(optarg) < 0) {
				fprintf(stderr, "lcode: cannot change to '%s'\n", optarg);
				return LC_EXIT_USAGE;
			}
			break;
		default:
			fprintf(stderr, "usage: lcode undo [-C DIR]\n");
			return LC_EXIT_USAGE;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "usage: lcode undo [-C DIR]\n");
		return LC_EXIT_USAGE;
	}
	if (lc_repo_open(&repo, ".") || lc_git_undo(repo, &out)) {
		lc_print_error(NULL);
		goto out;
	}
	fputs(out.data ? out.data : "", stdout);
	status = LC_EXIT_OK;
out:
	lc_repo_free(repo);
	lc_buf_release(&out);
	return status;
}
