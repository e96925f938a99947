/*
 * repo_int.h - helpers shared by tools/repo.c, tools/fs.c and tools/git.c;
 * not part of the public interface.
 */
#ifndef LC_REPO_INT_H
#define LC_REPO_INT_H

#include <stddef.h>

#include "tools/repo.h"

/*
 * lc_err_set(code, "<fmt>: <libgit2's last error message>") and return code.
 * A libgit2 GIT_ENOTFOUND maps nothing by itself: the caller picks code.
 */
int lc_repo_git_error(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
