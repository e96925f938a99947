/*
 * git.h - status, diff, commit, and the agent's undo history, through libgit2.
 *
 * Nothing here runs the git program, pushes, or moves any ref other than
 * the branch HEAD points to (lc_git_commit) and lcode's own refs under
 * refs/lcode/.
 *
 * Snapshots. A snapshot is a commit object whose tree is the whole work tree
 * as it is on disk: tracked files with their current contents (unstaged and
 * staged changes alike; files deleted from the work tree are left out) and
 * untracked files that are not ignored (except single files over
 * LC_GIT_SNAPSHOT_FILE_MAX). Its parent is HEAD's commit (none on an unborn
 * branch). It is made with no ref update, so no branch moves and the index is
 * not touched, and then referenced by refs/lcode/snapshots/<id> so that
 * `git gc` keeps it. File contents are stored as `git add` would store them
 * (clean filters applied), and restored as checkout would write them.
 *
 * Undo journal. Around each change the agent makes (one tool call, or a
 * whole turn: the caller decides) the caller brackets
 *   lc_git_change_begin()   snapshot "before"
 *   ... the agent writes files, runs commands ...
 *   lc_git_change_end()     snapshot "after"; the files that differ between
 *                           the two are the change's files
 * and the pair is appended to $GIT_DIR/lcode/undo.json (at most
 * LC_GIT_JOURNAL_MAX entries; the oldest are dropped). A change that changed
 * nothing is not recorded and its two snapshot refs are deleted at once.
 * Only the last LC_GIT_SNAPSHOTS_KEPT changes keep their snapshots: when a
 * change is closed, older entries lose theirs (they can no longer be undone)
 * and every journal snapshot ref no entry needs any more (older, undone, or
 * left by an earlier version) is deleted, so refs/lcode/snapshots holds at
 * most 2 * LC_GIT_SNAPSHOTS_KEPT + 1 of them, plus lc_git_snapshot()'s own,
 * which are never deleted. Deleting a ref leaves the commit to git gc.
 * lc_git_undo() takes back the last change:
 * each of its files goes back to the "before" snapshot (created files are
 * removed, deleted files come back), but only if every one of them is still
 * exactly as the agent left it; otherwise nothing is written.
 *
 * Undo after a commit: the files are restored in the work tree and the
 * commit stays on the branch (the branch is never reset: the user may have
 * built on it or pushed it), so the restored state shows as uncommitted
 * changes that revert the commit. The index is not touched by undo.
 */
#ifndef LC_GIT_H
#define LC_GIT_H

#include <stddef.h>

#include "src/buf.h"
#include "tools/repo.h"

/* Size of an object id in hex, NUL included. */
#define LC_GIT_OID_HEX 41

/* Untracked files larger than this are left out of snapshots. */
#define LC_GIT_SNAPSHOT_FILE_MAX (64u << 20)

/* Changes kept in the undo journal. */
#define LC_GIT_JOURNAL_MAX 200

/* The last changes of the journal whose snapshots are kept: how far undo goes back. */
#define LC_GIT_SNAPSHOTS_KEPT 50

/*
 * Append the state of the work tree in the shape of `git status --short`:
 * a first line "On branch main", "On branch main (no commits yet)" or
 * "HEAD detached at 1a2b3c4", then one "XY path" line per changed file (X:
 * index against HEAD, Y: work tree against index; "??" untracked, "UU"
 * conflicted) in path order, or "[no changes]". At most max_bytes are
 * appended; a cut list ends with "[... N more files]".
 * Errors: LC_EIO (libgit2), LC_ENOMEM.
 */
int lc_git_status(lc_repo *repo, size_t max_bytes, lc_buf *out);

/*
 * The repository-relative paths that differ between HEAD and the work tree
 * (staged, unstaged and untracked-not-ignored), sorted. *paths_out is an
 * owned array of owned strings: free with lc_git_paths_free(). Errors:
 * LC_EIO, LC_ENOMEM.
 */
int lc_git_changed_files(lc_repo *repo, char ***paths_out, size_t *n_out);

/* Free what lc_git_changed_files() returned. NULL is fine. */
void lc_git_paths_free(char **paths, size_t n);

/*
 * Append the unified diff (git's patch format, 3 lines of context) from
 * HEAD (the empty tree on an unborn branch) to the work tree, untracked
 * files shown as new files, limited to paths (git pathspecs; a directory
 * stands for all below it; n_paths 0 = everything). At most max_bytes are
 * appended; a cut diff ends with "[... diff cut; N files changed in all]";
 * no difference gives "[no changes]". Errors: LC_EDENIED (a path refused by
 * lc_repo_resolve), LC_EIO, LC_ENOMEM.
 */
int lc_git_diff(lc_repo *repo, const char *const *paths, size_t n_paths, size_t max_bytes,
                lc_buf *out);

/*
 * Commit the work tree contents of paths (files or directories; n_paths 0 =
 * every file of the changes in the undo journal not yet committed) on top of
 * HEAD, like `git commit --only <paths>`: other staged changes are neither
 * committed nor unstaged. The branch HEAD points to is moved (created, on an
 * unborn branch); the index entries of the committed paths are updated to
 * match. Author and committer come from user.name / user.email in the git
 * configuration. The message is cleaned up as git does (trailing blanks,
 * blank line runs) and gets the trailer
 *   "Co-authored-by: lcode (<basename of model_path>)"
 * (model_path NULL: "unknown model"). On success oid_out gets the new commit
 * id in hex.
 *
 * Errors: LC_EPARSE (empty message), LC_ENOTFOUND (user.name or user.email
 * not set; nothing to commit), LC_EDENIED (a path refused), LC_EIO (libgit2,
 * including HEAD having moved under us), LC_ENOMEM.
 */
int lc_git_commit(lc_repo *repo, const char *const *paths, size_t n_paths, const char *message,
                  const char *model_path, char oid_out[LC_GIT_OID_HEX]);

/*
 * Make a snapshot of the work tree (see above) with the given commit message
 * and reference it from refs/lcode/snapshots/<id>. No branch, HEAD or index
 * changes. On success oid_out gets the commit id in hex.
 * Errors: LC_EIO, LC_ENOMEM.
 */
int lc_git_snapshot(lc_repo *repo, const char *message, char oid_out[LC_GIT_OID_HEX]);

/*
 * Open a change: snapshot the work tree as its "before" state and record
 * that in the journal. When a change is already open (begin without end,
 * e.g. after a crash) it stays open with its older "before" and nothing is
 * done. Errors: LC_EIO, LC_ENOMEM.
 */
int lc_git_change_begin(lc_repo *repo);

/*
 * Close the open change: snapshot the "after" state; if any file differs
 * from "before", append the change to the journal, else delete both
 * snapshot refs. Then drop the snapshots of changes older than the last
 * LC_GIT_SNAPSHOTS_KEPT (see above). *n_files_out (may be NULL) gets the
 * number of files changed (0: nothing recorded).
 * Errors: LC_ENOTFOUND (no open change), LC_EIO, LC_ENOMEM.
 */
int lc_git_change_end(lc_repo *repo, size_t *n_files_out);

/*
 * Take back the last change of the journal (an open change is left as it
 * is). Appends a report of what was restored ("restored: a.c", "removed:
 * new.c", "recreated: gone.c", and a note when the change was committed).
 * Errors: LC_ENOTFOUND (nothing to undo, or the last change is older than
 * the last LC_GIT_SNAPSHOTS_KEPT and its snapshots are gone), LC_EDENIED (a file of the change
 * was modified after the agent's change: the message names the files and
 * nothing is written), LC_EIO (a write failed part-way: the "before"
 * snapshot named in the message still holds every file), LC_ENOMEM.
 */
int lc_git_undo(lc_repo *repo, lc_buf *out);

/*
 * Use the index file at path instead of $GIT_DIR/index for everything done
 * through repo from now on (status, staging, snapshots, commits), as git
 * does with GIT_INDEX_FILE: a pre-commit hook is given the index being
 * committed that way (githooks(5)). Errors: LC_EIO.
 */
int lc_git_use_index(lc_repo *repo, const char *path);

/*
 * The files staged for commit: the repository-relative paths whose index
 * entry differs from HEAD's tree (added or modified; staged deletions are
 * left out), in path order, split in two: *clean_out those whose work-tree
 * file is the same as the index entry, *dirty_out those with unstaged
 * changes too (modified or deleted in the work tree). Both are owned arrays
 * of owned strings: free each with lc_git_paths_free(). Errors: LC_EIO,
 * LC_ENOMEM.
 */
int lc_git_staged_files(lc_repo *repo, char ***clean_out, size_t *n_clean, char ***dirty_out,
                        size_t *n_dirty);

/*
 * Stage paths (repository-relative files) as `git add` does: each index
 * entry is set to the work-tree file's content (clean filters applied) and
 * mode, or removed when the file is gone from the work tree; then the index
 * is written (atomically, through its ".lock" file). Errors: LC_EDENIED (a
 * path refused by lc_repo_resolve), LC_EIO (libgit2; the index on disk is
 * then unchanged), LC_ENOMEM.
 */
int lc_git_stage(lc_repo *repo, const char *const *paths, size_t n);

#endif
