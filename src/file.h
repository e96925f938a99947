/*
 * file.h - whole-file reads with a cap, and atomic writes.
 */
#ifndef LC_FILE_H
#define LC_FILE_H

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

/* 1 when path exists (any type, links followed), 0 otherwise. */
int lc_file_exists(const char *path);

#endif
