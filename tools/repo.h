/*
 * repo.h - the repository the agent works in, and its path policy.
 *
 * Every path a tool receives is relative to the root of the repository's work
 * tree. lc_repo_resolve() is the one gate between such a path and the file
 * system: it turns "src/main.c" into "/home/u/proj/src/main.c" and refuses,
 * with LC_EDENIED and a reason the model can act on,
 *   - absolute paths ("/etc/passwd"),
 *   - paths whose ".." components climb above the root ("../x", "a/../../x"),
 *   - paths that pass through a symbolic link (any component, the last one
 *     included) leading outside the root, or through a link whose target is
 *     missing,
 *   - for writes, paths inside the git directory (".git/..." or anything a
 *     link resolves to inside it), and any path with a ".git" component (the
 *     git directory of a nested repository or submodule), for every tool.
 * ".." is applied to the text before any link is followed, so the path that
 * comes out never contains "." or ".." components.
 *
 * NEEDSWORK: the check and the later open() are two steps; a link created in
 * between by another process is not seen. The agent's own tools are the only
 * writers while it runs, and shell commands run in the sandbox.
 *
 * libgit2 is initialised by the first lc_repo_open() and shut down by the
 * lc_repo_free() that balances it (git_libgit2_init counts references).
 */
#ifndef LC_REPO_H
#define LC_REPO_H

#include <stddef.h>

struct git_repository;

typedef struct lc_repo lc_repo;

/* Longest absolute path lc_repo_resolve() produces, NUL included. */
#define LC_REPO_PATH_MAX 4096

/*
 * Open the repository that contains path (a directory; the repository may be
 * found in a parent, as git does). On success *out is a new handle (free with
 * lc_repo_free). Errors: LC_ENOTFOUND (no repository at or above path),
 * LC_EUNSUPPORTED (a bare repository: no work tree), LC_EIO, LC_ENOMEM.
 */
int lc_repo_open(lc_repo **out, const char *path);

/* Close the repository. NULL is fine. */
void lc_repo_free(lc_repo *repo);

/*
 * Absolute, symlink-free path of the work tree root, without a trailing
 * slash. Valid until lc_repo_free.
 */
const char *lc_repo_root(const lc_repo *repo);

/* The libgit2 handle, borrowed: valid until lc_repo_free. */
struct git_repository *lc_repo_git(lc_repo *repo);

/*
 * Map rel (relative to the root; "" or "." is the root itself) to an absolute
 * path written to abs (cap bytes). for_write != 0 also refuses the git
 * directory. The target need not exist. Errors: LC_EDENIED (the cases above,
 * with the reason in the message), LC_ETOOBIG (longer than cap), LC_EIO.
 */
int lc_repo_resolve(lc_repo *repo, const char *rel, int for_write, char *abs, size_t cap);

/*
 * The part of abs (a path from lc_repo_resolve) below the root: "src/main.c",
 * or "" for the root itself. Points into abs.
 */
const char *lc_repo_relative(const lc_repo *repo, const char *abs);

#endif
