/*
 * file.h - whole-file reads with a cap, and atomic writes.
 */
#ifndef LC_FILE_H
#define LC_FILE_H

#include <limits.h>
#include <stddef.h>

/*
 * Read the whole file at path. At most max bytes are accepted: a larger file
 * fails with LC_ETOOBIG and nothing is returned. On success *out is an owned,
 * NUL-terminated copy (free with free()) and *len_out its length without the
 * NUL. Errors: LC_ENOTFOUND (no such file), LC_ETOOBIG, LC_EIO (any other
 * failure, including a directory), LC_ENOMEM.
 */
int lc_file_read(const char *path, size_t max, char **out, size_t *len_out);

/*
 * Replace the contents of path with len bytes of data, atomically: the data
 * goes to a temporary file in the same directory, which is flushed with
 * fsync and renamed over path; the directory is then synced. A reader sees
 * the old file or the new one, never a part of either; on any failure the
 * old file is untouched and the temporary file is removed.
 *
 * An existing file keeps its permission bits; a new file gets 0666 less the
 * umask. When path is a symbolic link the file it points to is replaced and
 * the link stays. Errors: LC_EIO, LC_ENOTFOUND (no such directory), LC_ENOMEM.
 */
int lc_file_write_atomic(const char *path, const void *data, size_t len);

/*
 * lc_file_write_atomic() in two steps, for writing several files all or
 * nothing: lc_file_stage_write() does everything but the rename (the data is
 * in a synced temporary file beside path, with the mode path has or would
 * get; path itself is untouched), lc_file_stage_commit() renames it over
 * path and syncs the directory, lc_file_stage_discard() removes it instead.
 * Caller owns the struct; after a failed write, a commit (failed or not) or
 * a discard, it holds no temporary file and discard does nothing.
 * Errors: as lc_file_write_atomic (commit: LC_EIO, the temp file removed).
 */
typedef struct lc_file_stage {
	char tmp[PATH_MAX];    /* the temporary file, "" when there is none */
	char target[PATH_MAX]; /* path, or the file a symbolic link at path names */
} lc_file_stage;

int lc_file_stage_write(lc_file_stage *st, const char *path, const void *data, size_t len);
int lc_file_stage_commit(lc_file_stage *st);
void lc_file_stage_discard(lc_file_stage *st);

/* 1 when path exists (any type, links followed), 0 otherwise. */
int lc_file_exists(const char *path);

#endif
