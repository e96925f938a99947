/*
 * term.h - terminal detection and colour.
 *
 * Colour is used only when the stream is a terminal and NO_COLOR is unset or
 * empty (https://no-color.org).
 */
#ifndef LC_TERM_H
#define LC_TERM_H

#include <stdbool.h>
#include <stdio.h>

/* true when text written to f may carry colour escape sequences. */
bool lc_term_color(FILE *f);

/* SGR sequences, "" when colour is off for f. */
const char *lc_term_bold(FILE *f);
const char *lc_term_red(FILE *f);
const char *lc_term_green(FILE *f);
const char *lc_term_yellow(FILE *f);
const char *lc_term_dim(FILE *f);
const char *lc_term_reset(FILE *f);

#endif
