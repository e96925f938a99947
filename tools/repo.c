#include "tools/repo.h"
#include "tools/repo_int.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <git2.h>

#include "src/err.h"
#include "src/banned.h"

struct lc_repo {
	git_repository *git;
	char *root;       /* realpath of the work tree, no trailing slash */
	size_t root_len;  /* strlen(root) */
	char *gitdir;     /* realpath of the git directory ($GIT_DIR) */
	char *commondir;  /* realpath of the common git directory (worktrees) */
	int libgit2_init; /* this handle holds one git_libgit2_init reference */
};

int lc_repo_git_error(int code, const char *fmt, ...)
{
	const git_error *e = git_error_last();
	char what[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return lc_err_set(code, "%s: %s", what, e && e->message ? e->message : "libgit2 error");
}

/*
 * 1 when a component of the normalised relative path rel is ".git": the
 * repository's own git directory, or that of a nested repository or
 * submodule (whose hooks would run as the user just the same).
 */
static int has_git_component(const char *rel)
{
	while (*rel) {
		size_t n = strcspn(rel, "/");

		/* Case-insensitive: ".GIT" is the git directory on case-folding file systems. */
		if (n == 4 && strncasecmp(rel, ".git", 4) == 0)
			return 1;
		rel += n;
		if (*rel == '/')
			rel++;
	}
	return 0;
}

/* 1 when path is dir or lies below it. */
static int is_under(const char *path, const char *dir)
{
	size_t n;

	if (!dir)
		return 0;
	n = strlen(dir);
	return strncmp(path, dir, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

/* realpath() of p without a trailing slash; owned (free), NULL with the error set. */
static char *real_dir(const char *p, const char *what)
{
	char *r = realpath(p, NULL);

	if (!r) {
		lc_err_set_errno(LC_EIO, errno, "repository: cannot resolve %s '%s'", what, p);
		return NULL;
	}
	return r;
}

int lc_repo_open(lc_repo **out, const char *path)
{
	lc_repo *repo;
	const char *wd;
	int rc, grc;

	repo = calloc(1, sizeof(*repo));
	if (!repo)
		return lc_err_set(LC_ENOMEM, "repository: out of memory");
	if (git_libgit2_init() < 0) {
		rc = lc_repo_git_error(LC_ERROR, "repository: cannot initialise libgit2");
		goto fail;
	}
	repo->libgit2_init = 1;
	grc = git_repository_open_ext(&repo->git, path, 0, NULL);
	if (grc == GIT_ENOTFOUND) {
		rc = lc_err_set(LC_ENOTFOUND, "no git repository at or above '%s'", path);
		goto fail;
	}
	if (grc < 0) {
		rc = lc_repo_git_error(LC_EIO, "cannot open the repository at '%s'", path);
		goto fail;
	}
	wd = git_repository_workdir(repo->git);
	if (git_repository_is_bare(repo->git) || !wd) {
		rc = lc_err_set(LC_EUNSUPPORTED, "the repository at '%s' is bare (no work tree)",
		                path);
		goto fail;
	}
	rc = LC_EIO;
	if (!(repo->root = real_dir(wd, "work tree")))
		goto fail;
	if (!(repo->gitdir = real_dir(git_repository_path(repo->git), "git directory")))
		goto fail;
	if (!(repo->commondir = real_dir(git_repository_commondir(repo->git), "git directory")))
		goto fail;
	repo->root_len = strlen(repo->root);
	*out = repo;
	return 0;
fail:
	lc_repo_free(repo);
	return rc;
}

void lc_repo_free(lc_repo *repo)
{
	if (!repo)
		return;
	git_repository_free(repo->git);
	free(repo->root);
	free(repo->gitdir);
	free(repo->commondir);
	if (repo->libgit2_init)
		git_libgit2_shutdown();
	free(repo);
}

const char *lc_repo_root(const lc_repo *repo)
{
	return repo->root;
}

struct git_repository *lc_repo_git(lc_repo *repo)
{
	return repo->git;
}

const char *lc_repo_relative(const lc_repo *repo, const char *abs)
{
	if (!is_under(abs, repo->root))
		return abs;
	abs += repo->root_len;
	return *abs == '/' ? abs + 1 : abs;
}

/*
 * Follow the link at the lexical prefix p (inside the root) and check where it
 * leads. Returns 0 or LC_EDENIED / LC_EIO with the message set.
 */
static int check_link(lc_repo *repo, const char *rel, const char *p, int for_write)
{
	char *target = realpath(p, NULL);
	int rc = 0;

	if (!target) {
		if (errno == ENOENT || errno == ENOTDIR || errno == ELOOP)
			return lc_err_set(LC_EDENIED,
			                  "'%s' goes through the symbolic link '%s', whose target "
			                  "is missing or loops",
			                  rel, lc_repo_relative(repo, p));
		return lc_err_set_errno(LC_EIO, errno, "cannot resolve '%s'", rel);
	}
	if (!is_under(target, repo->root)) {
		rc = lc_err_set(LC_EDENIED,
		                "'%s' goes through the symbolic link '%s' to '%s', outside the "
		                "repository",
		                rel, lc_repo_relative(repo, p), target);
	} else if (for_write &&
	           (is_under(target, repo->gitdir) || is_under(target, repo->commondir))) {
		rc = lc_err_set(LC_EDENIED,
		                "'%s' goes through the symbolic link '%s' into the git directory; "
		                "writing there is not allowed",
		                rel, lc_repo_relative(repo, p));
	}
	free(target);
	return rc;
}

int lc_repo_resolve(lc_repo *repo, const char *rel, int for_write, char *abs, size_t cap)
{
	char path[LC_REPO_PATH_MAX];
	size_t len = repo->root_len, i;
	const char *s = rel ? rel : "";
	struct stat st;
	int rc;

	if (s[0] == '/')
		return lc_err_set(LC_EDENIED,
		                  "'%s' is an absolute path; give a path relative to the "
		                  "repository root",
		                  s);
	if (len >= sizeof(path))
		return lc_err_set(LC_ETOOBIG, "repository root path is too long");
	memcpy(path, repo->root, len);
	path[len] = '\0';

	/* Apply "." and ".." to the text first, so no link can be climbed out of. */
	while (*s) {
		size_t n = strcspn(s, "/");

		if (n == 0 || (n == 1 && s[0] == '.')) {
			/* empty or "." component */
		} else if (n == 2 && s[0] == '.' && s[1] == '.') {
			if (len == repo->root_len)
				return lc_err_set(LC_EDENIED,
				                  "'%s' leads outside the repository; paths are "
				                  "relative to its root",
				                  rel);
			while (len > repo->root_len && path[len - 1] != '/')
				len--;
			len--; /* the '/' */
			path[len] = '\0';
		} else {
			if (len + 1 + n >= sizeof(path))
				return lc_err_set(LC_ETOOBIG, "path '%.64s...' is too long", rel);
			path[len++] = '/';
			memcpy(path + len, s, n);
			len += n;
			path[len] = '\0';
		}
		s += n;
		if (*s == '/')
			s++;
	}

	if (for_write) {
		const char *r = lc_repo_relative(repo, path);

		if (has_git_component(r) || is_under(path, repo->gitdir) ||
		    is_under(path, repo->commondir))
			return lc_err_set(LC_EDENIED,
			                  "'%s' is inside the git directory; writing there is not "
			                  "allowed",
			                  rel);
	}

	/* Check every existing component below the root for links. */
	for (i = repo->root_len + 1; i <= len; i++) {
		if (i != len && path[i] != '/')
			continue;
		path[i] = '\0';
		if (lstat(path, &st) < 0) {
			int e = errno;

			path[i] = i == len ? '\0' : '/';
			if (e == ENOENT || e == ENOTDIR)
				break; /* the rest does not exist, so it holds no link */
			return lc_err_set_errno(LC_EIO, e, "cannot inspect '%s'", rel);
		}
		if (S_ISLNK(st.st_mode)) {
			rc = check_link(repo, rel ? rel : "", path, for_write);
			if (rc < 0)
				return rc;
		}
		path[i] = i == len ? '\0' : '/';
	}

	if (len + 1 > cap)
		return lc_err_set(LC_ETOOBIG, "path '%.64s...' is too long", rel);
	memcpy(abs, path, len + 1);
	return 0;
}
