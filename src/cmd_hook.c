/*
 * cmd_hook.c - lcode hook install|uninstall: the git pre-commit hook that
 * runs `lcode pre-commit` (src/cmd_pre_commit.c).
 *
 * The hook is a shell script in the repository's hooks directory
 * ($GIT_DIR/hooks/pre-commit, githooks(5)). It carries a marker line so
 * that lcode knows its own hook from one the user wrote: install refuses to
 * replace a hook without the marker unless --force, and uninstall removes
 * only a hook with it.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <git2.h>

#include "src/buf.h"
#include "src/commands.h"
#include "src/err.h"
#include "src/file.h"
#include "tools/repo.h"
#include "src/banned.h"

#define HOOK_MARKER   "# lcode-pre-commit-hook"
#define HOOK_FILE_MAX (1u << 20)

static void usage(FILE *f)
{
	fprintf(f, "usage: lcode hook install [--force] [-- PRE-COMMIT-ARGS...]\n"
	           "       lcode hook uninstall\n"
	           "\nInstall or remove the git pre-commit hook that runs 'lcode pre-commit'\n"
	           "(the request set as pre-commit.request in .lcode/config) over the staged\n"
	           "files. Arguments after -- are passed to 'lcode pre-commit' by the hook,\n"
	           "e.g. -- --model PATH. Exit status: 0 done, 1 failed, 2 usage.\n"
	           "\n  --force   replace a pre-commit hook that lcode did not write\n");
}

/* The hooks directory of the repository at "." and the hook's path in it. */
static int hook_path(char *out, size_t cap)
{
	lc_repo *repo = NULL;
	git_buf dir = {0};
	int rc;

	if ((rc = lc_repo_open(&repo, ".")))
		return rc;
	if (git_repository_item_path(&dir, lc_repo_git(repo), GIT_REPOSITORY_ITEM_HOOKS) < 0) {
		rc = lc_err_set(LC_EIO, "cannot find the hooks directory: %s",
		                git_error_last() ? git_error_last()->message : "libgit2");
		goto out;
	}
	if ((size_t)snprintf(out, cap, "%s%spre-commit", dir.ptr,
	                     dir.size && dir.ptr[dir.size - 1] == '/' ? "" : "/") >= cap)
		rc = lc_err_set(LC_ETOOBIG, "hooks path too long: '%s'", dir.ptr);
	else if (mkdir(dir.ptr, 0777) < 0 && errno != EEXIST)
		rc = lc_err_set_errno(LC_EIO, errno, "cannot make '%s'", dir.ptr);
out:
	git_buf_dispose(&dir);
	lc_repo_free(repo);
	return rc;
}

/* 1 when the file at path is lcode's hook, 0 when it is another, LC_ENOTFOUND when none. */
static int is_ours(const char *path)
{
	char *text = NULL;
	size_t len;
	int rc = lc_file_read(path, HOOK_FILE_MAX, &text, &len);

	if (rc == LC_ETOOBIG) {
		lc_err_clear();
		return 0;
	}
	if (rc)
		return rc;
	rc = strstr(text, "\n" HOOK_MARKER "\n") != NULL;
	free(text);
	return rc;
}

/* Append s to b as one single-quoted shell word. */
static void shell_quote(lc_buf *b, const char *s)
{
	lc_buf_addc(b, '\'');
	for (; *s; s++) {
		if (*s == '\'')
			lc_buf_adds(b, "'\\''");
		else
			lc_buf_addc(b, *s);
	}
	lc_buf_addc(b, '\'');
}

static int install(int force, char **args, int n_args)
{
	lc_buf text = LC_BUF_INIT(64 * 1024);
	char path[PATH_MAX], self[PATH_MAX];
	ssize_t n;
	int rc, status = LC_EXIT_FAIL;

	if (hook_path(path, sizeof(path))) {
		lc_print_error(NULL);
		return LC_EXIT_FAIL;
	}
	rc = is_ours(path);
	if (rc == LC_ENOTFOUND) {
		lc_err_clear();
	} else if (rc < 0) {
		lc_print_error(NULL);
		return LC_EXIT_FAIL;
	} else if (rc == 0 && !force) {
		fprintf(stderr,
		        "lcode: '%s' exists and is not lcode's hook; leaving it alone (--force "
		        "replaces it)\n",
		        path);
		return LC_EXIT_FAIL;
	}
	/* This program's own path first, so the hook runs the lcode that installed it. */
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0 || (size_t)n >= sizeof(self) - 1)
		snprintf(self, sizeof(self), "lcode");
	else
		self[n] = '\0';
	lc_buf_adds(
	        &text,
	        "#!/bin/sh\n"
	        "# Written by 'lcode hook install'; 'lcode hook uninstall' removes it.\n"
	        "# It runs the request set as pre-commit.request in .lcode/config\n"
	        "# over the staged files and stages the result, or stops the commit.\n" HOOK_MARKER
	        "\n"
	        "lcode=");
	shell_quote(&text, self);
	lc_buf_adds(&text, "\n[ -x \"$lcode\" ] || lcode=lcode\nexec \"$lcode\" pre-commit");
	for (int i = 0; i < n_args; i++) {
		lc_buf_addc(&text, ' ');
		shell_quote(&text, args[i]);
	}
	if (lc_buf_addc(&text, '\n')) {
		lc_print_error(NULL);
		goto out;
	}
	if (lc_file_write_atomic(path, text.data, text.len) || chmod(path, 0755) < 0) {
		if (!lc_err_msg()[0])
			lc_err_set_errno(LC_EIO, errno, "cannot make '%s' executable", path);
		lc_print_error(NULL);
		goto out;
	}
	printf("installed %s\n", path);
	status = LC_EXIT_OK;
out:
	lc_buf_release(&text);
	return status;
}

static int uninstall(void)
{
	char path[PATH_MAX];
	int rc;

	if (hook_path(path, sizeof(path))) {
		lc_print_error(NULL);
		return LC_EXIT_FAIL;
	}
	rc = is_ours(path);
	if (rc == LC_ENOTFOUND) {
		lc_err_clear();
		printf("no pre-commit hook to remove\n");
		return LC_EXIT_OK;
	}
	if (rc < 0) {
		lc_print_error(NULL);
		return LC_EXIT_FAIL;
	}
	if (rc == 0) {
		fprintf(stderr, "lcode: '%s' is not lcode's hook; leaving it alone\n", path);
		return LC_EXIT_FAIL;
	}
	if (unlink(path) < 0) {
		lc_err_set_errno(LC_EIO, errno, "cannot remove '%s'", path);
		lc_print_error(NULL);
		return LC_EXIT_FAIL;
	}
	printf("removed %s\n", path);
	return LC_EXIT_OK;
}

int lc_cmd_hook(int argc, char **argv)
{
	static const struct option opts[] = {
	        {"help", no_argument, NULL, 'h'},
	        {"force", no_argument, NULL, 'f'},
	        {NULL, 0, NULL, 0},
	};
	int ch, force = 0;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		switch (ch) {
		case 'h':
			usage(stdout);
			return LC_EXIT_OK;
		case 'f':
			force = 1;
			break;
		default:
			usage(stderr);
			return LC_EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return LC_EXIT_USAGE;
	}
	if (strcmp(argv[optind], "install") == 0) {
		int first = optind + 1;
		/* "install --force" as well as "--force install". */
		while (first < argc && strcmp(argv[first], "--force") == 0)
			force = 1, first++;
		if (first < argc && strcmp(argv[first], "--") == 0)
			first++;
		else if (first < argc) {
			fprintf(stderr,
			        "lcode: unexpected argument '%s'; see 'lcode hook --help'\n",
			        argv[first]);
			return LC_EXIT_USAGE;
		}
		return install(force, argv + first, argc - first);
	}
	if (strcmp(argv[optind], "uninstall") == 0 && optind + 1 == argc)
		return uninstall();
	usage(stderr);
	return LC_EXIT_USAGE;
}
