/*
 * fs.h - the read-only file tools: read_file, list_files, search.
 *
 * Each function appends observation text (what the model reads) to an lc_buf
 * and keeps within its own caps, whatever the buffer's: output that does not
 * fit is left out and a bracketed note says how much and how to get the rest.
 * Paths are repository-relative and pass through lc_repo_resolve() (repo.h).
 *
 * Which files exist for list_files and search is git's answer, as in
 * `git ls-files --cached --others --exclude-standard`: tracked files present
 * in the work tree, plus untracked files that .gitignore, .git/info/exclude
 * and core.excludesFile do not ignore. Nothing under .git is ever listed.
 * Paths are sorted bytewise.
 */
#ifndef LC_FS_H
#define LC_FS_H

#include <stddef.h>

#include "src/buf.h"
#include "tools/repo.h"

/* Largest file read_file and search will open; larger ones are refused / skipped. */
#define LC_FS_FILE_MAX (16u << 20)

/* Files with a NUL byte in their first LC_FS_BINARY_PROBE bytes are binary. */
#define LC_FS_BINARY_PROBE 8192

typedef struct lc_fs_read_opts {
	size_t first_line; /* 1-based first line to show; 0 = 1 */
	size_t last_line;  /* last line to show, inclusive; 0 = end of file */
	size_t max_lines;  /* most lines shown */
	size_t max_bytes;  /* most bytes of output (line numbers and notes included) */
	size_t max_line;   /* longer lines are cut to this many bytes */
} lc_fs_read_opts;

#define LC_FS_READ_OPTS_INIT                                                                       \
	{                                                                                          \
		0, 0, 500, 40000, 2000                                                             \
	}

/*
 * read_file: append the lines of path, numbered. A line reads
 *   "<n>| <text>\n"
 * with n right-aligned to the width of the file's last line number (so
 * "  7| x" in a 120-line file) and the text without its line terminator (a
 * "\r" before "\n" is dropped too). A line longer than max_line is cut and
 * ends in " [... N more bytes]". When lines are left out because of the caps
 * the output ends with
 *   "[... 230 more lines; read with start=413]"
 * An empty file gives "[empty file]".
 *
 * Errors: LC_EDENIED (path refused), LC_ENOTFOUND (no such file),
 * LC_EPARSE (a directory; first_line past the end; last < first),
 * LC_EUNSUPPORTED (binary file), LC_ETOOBIG (file over LC_FS_FILE_MAX),
 * LC_EIO, LC_ENOMEM. opts may be NULL for the defaults.
 */
int lc_fs_read(lc_repo *repo, const char *path, const lc_fs_read_opts *opts, lc_buf *out);

typedef struct lc_fs_list_opts {
	size_t max_entries; /* most paths shown */
	size_t max_bytes;   /* most bytes of output */
} lc_fs_list_opts;

#define LC_FS_LIST_OPTS_INIT                                                                       \
	{                                                                                          \
		1000, 40000                                                                        \
	}

/*
 * list_files: append the files below dir (NULL or "" = the whole repository;
 * may also name a single file) whose path matches glob (NULL = all; see
 * lc_fs_glob_match), one repository-relative path per line. When paths are
 * left out the output ends with "[... N more files; narrow with dir or glob]";
 * when none match it is "[no files]".
 * Errors: LC_EDENIED, LC_ENOTFOUND (dir does not exist), LC_EIO, LC_ENOMEM.
 * opts may be NULL.
 */
int lc_fs_list(lc_repo *repo, const char *dir, const char *glob, const lc_fs_list_opts *opts,
               lc_buf *out);

typedef struct lc_fs_search_opts {
	int ignore_case;    /* PCRE2_CASELESS */
	size_t max_matches; /* most matching lines shown */
	size_t max_bytes;   /* most bytes of output */
	size_t max_line;    /* matching lines are cut to this many bytes */
} lc_fs_search_opts;

#define LC_FS_SEARCH_OPTS_INIT                                                                     \
	{                                                                                          \
		0, 200, 40000, 300                                                                 \
	}

/*
 * search: match pattern (PCRE2 syntax, UTF-8, compiled with JIT when the
 * platform has it) against each line of the files below path (NULL = the
 * whole repository; a file or directory) whose path matches glob. Each
 * matching line is appended as "file:line:text\n" (line is 1-based, text is
 * cut to max_line bytes). Binary files (a NUL in the first 8 KiB) and files
 * over LC_FS_FILE_MAX are skipped; a closing note says how many. When matches
 * are left out the output ends with "[... more matches not shown; ...]"; with
 * none it is "[no matches]".
 *
 * Errors: LC_EPARSE (bad regex: PCRE2's message and the offset in the
 * pattern), LC_EDENIED, LC_ENOTFOUND (path does not exist), LC_EIO,
 * LC_ENOMEM. opts may be NULL.
 */
int lc_fs_search(lc_repo *repo, const char *pattern, const char *path, const char *glob,
                 const lc_fs_search_opts *opts, lc_buf *out);

/*
 * 1 when the repository-relative path matches glob, 0 otherwise. A glob
 * without '/' is matched against the last component only ("*.c" matches
 * "src/a.c"); one with '/' against the whole path. '*' matches within a
 * component, a double star across components (a pattern of "src", a slash and a
 * double star matches all below src), '?' one character, "[a-z]" / "[!a-z]" a class, "{c,h}" one of
 * the alternatives (not nested). Follows the shape of gitignore(5) patterns and shell globs.
 */
int lc_fs_glob_match(const char *glob, const char *path);

#endif
