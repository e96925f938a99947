/*
 * lines.h - text as an array of lines, for edit, patch and validate.
 *
 * A line is its content without the line ending plus which ending it had:
 * "\n", "\r\n" or none (only the last line of a text can have none). A text
 * "a\nb" is two lines, the second without an ending; "" is zero lines. A lone
 * "\r" is content. Lines borrow their bytes from the text they were split
 * from and are valid as long as it is.
 *
 * Line numbers in messages and ranges are 1-based; array indices are 0-based.
 */
#ifndef LC_LINES_H
#define LC_LINES_H

#include <stddef.h>
#include <stdint.h>

#include "src/buf.h"

enum lc_eol { LC_EOL_NONE = 0, LC_EOL_LF = 1, LC_EOL_CRLF = 2 };

typedef struct lc_line {
	const char *s;   /* content, borrowed, not NUL-terminated */
	size_t len;      /* bytes of content, ending excluded */
	enum lc_eol eol; /* the ending that followed the content */
} lc_line;

/*
 * Lines changed by an edit, in the new text: lines start .. start+count-1
 * (1-based). count 0 marks a place where lines were only removed: just
 * before line start (start = number of lines + 1 at the end of the text).
 */
typedef struct lc_line_range {
	size_t start;
	size_t count;
} lc_line_range;

/* One difference between two line arrays a and b, 0-based half-open. */
typedef struct lc_lines_hunk {
	size_t a_start, a_count; /* lines of a replaced */
	size_t b_start, b_count; /* lines of b replacing them */
} lc_lines_hunk;

/*
 * Split len bytes of text into lines. *out is malloc'd (free with free();
 * NULL when there are no lines), *n_out its length. Returns 0 or LC_ENOMEM.
 */
int lc_lines_split(const char *text, size_t len, lc_line **out, size_t *n_out);

/* The ending most lines use: LC_EOL_CRLF when CRLF lines outnumber LF lines, else LC_EOL_LF. */
enum lc_eol lc_lines_eol(const lc_line *lines, size_t n);

/* Append content and ending of n lines to b. LC_ETOOBIG / LC_ENOMEM from lc_buf. */
int lc_lines_write(lc_buf *b, const lc_line *lines, size_t n);

/* Bytes of leading blanks (space, tab, form feed) of s. */
size_t lc_lines_indent(const char *s, size_t len);

/* len of s without trailing whitespace (space, tab, \r, \f, \v). */
size_t lc_lines_rstrip(const char *s, size_t len);

/* 1 when s holds only whitespace. */
int lc_lines_blank(const char *s, size_t len);

/* 1 when a and b are equal once trailing whitespace is dropped. */
int lc_lines_eq_rstrip(const char *a, size_t alen, const char *b, size_t blen);

/*
 * 1 when a and b are equal once leading and trailing whitespace is dropped
 * and every inner run of whitespace is read as one space.
 */
int lc_lines_eq_norm(const char *a, size_t alen, const char *b, size_t blen);

/* FNV-1a hash of content bytes. */
uint64_t lc_lines_hash(const char *s, size_t len);

/*
 * Similarity of two lines in [0, 1]: Dice coefficient of their byte bigrams
 * after whitespace normalisation (as lc_lines_eq_norm), 1 for two blank lines.
 */
double lc_lines_similarity(const char *a, size_t alen, const char *b, size_t blen);

/*
 * Line diff of a against b by content (endings ignored): common prefix and
 * suffix, then a longest common subsequence of the middle (Hunt-McIlroy
 * style dynamic programming) when it has at most 4M line pairs, else the
 * whole middle as one hunk. *out is malloc'd (free with free(); NULL when
 * equal), hunks in order. Returns 0 or LC_ENOMEM.
 */
int lc_lines_diff(const lc_line *a, size_t na, const lc_line *b, size_t nb, lc_lines_hunk **out,
                  size_t *n_out);

/*
 * Append to out the unified diff of text a (a_len bytes) against text b, in
 * the format of GNU diff -u and git (diffutils manual, "Detailed Description
 * of Unified Format"): "--- a/A_PATH" and "+++ b/B_PATH" ("/dev/null" for a
 * NULL path: a file created or deleted), then hunks "@@ -l,n +l,n @@" (",n"
 * left out when n is 1; an empty range names the line before it) of
 * ' ', '-' and '+' lines with context lines of context around each change,
 * changes closer than 2 * context lines sharing a hunk, and "\ No newline at
 * end of file" after a last line without one. a or b NULL reads as empty.
 * Lines are compared by content as lc_lines_diff does, so line endings are
 * not shown, except a final newline added or removed. Equal texts append
 * nothing. A diff over max_bytes is cut at its last whole line within
 * max_bytes and followed by "[... diff cut at MAX bytes]". Errors:
 * LC_ETOOBIG (out's cap; out unchanged), LC_ENOMEM.
 */
int lc_lines_unified(const char *a_path, const char *a, size_t a_len, const char *b_path,
                     const char *b, size_t b_len, size_t context, size_t max_bytes, lc_buf *out);

#endif
