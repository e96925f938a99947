/*
 * err.h - error codes and the thread-local error slot.
 *
 * A function that can fail returns int: 0 on success, a negative LC_E* code
 * on failure. The function that detects the failure writes one line into the
 * calling thread's error slot with lc_err_set() and returns the code; every
 * caller above it passes the code up unchanged.
 *
 * The slot keeps the first message: lc_err_set() on a slot that already holds
 * a message leaves it as it is, so the most precise message (written where the
 * failure was seen) is the one the user reads. Code that recovers from a
 * failure calls lc_err_clear() before going on. Only agent/ and the program
 * add context, with lc_err_prefix().
 */
#ifndef LC_ERR_H
#define LC_ERR_H

#include <stddef.h>

enum lc_err_code {
	LC_OK = 0,
	LC_ERROR = -1,        /* generic failure */
	LC_EIO = -2,          /* a read, write or system call failed */
	LC_EPARSE = -3,       /* malformed input: file format, JSON, arguments */
	LC_ENOTFOUND = -4,    /* no such file, key, tensor, tool or match */
	LC_ETOOBIG = -5,      /* a size cap was reached */
	LC_EDENIED = -6,      /* refused by policy or validation */
	LC_ECANCELLED = -7,   /* stopped by the user (Ctrl-C) */
	LC_ETIMEOUT = -8,     /* a time limit was reached */
	LC_ENOMEM = -9,       /* an allocation failed */
	LC_EUNSUPPORTED = -10 /* valid input that lcode does not handle */
};

/* Size of the slot, terminating NUL included; longer messages are cut. */
#define LC_ERR_MSG_MAX 512

/*
 * Write a message (printf format) into the slot unless it already holds one,
 * and return code. code must be negative. Usable as
 *   return lc_err_set(LC_EPARSE, "gguf: tensor '%s' runs past end of file", name);
 */
int lc_err_set(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * Like lc_err_set(), with errno's text appended as ": <strerror(errnum)>".
 * Returns code.
 */
int lc_err_set_errno(int code, int errnum, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

/*
 * Put context in front of the message in the slot: "<prefix>: <message>".
 * For agent/ and the program only. Returns code. If the slot is empty the
 * prefix alone becomes the message.
 */
int lc_err_prefix(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The message in the slot, "" when empty. Valid until the slot next changes. */
const char *lc_err_msg(void);

/* The code stored with the message, 0 when empty. */
int lc_err_code(void);

/* Empty the slot. */
void lc_err_clear(void);

/* A fixed English name for a code: "LC_EPARSE" -> "malformed input". */
const char *lc_err_str(int code);

#endif
