#include "src/err.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "src/banned.h"

static _Thread_local struct {
	int code;
	char msg[LC_ERR_MSG_MAX];
} slot;

__attribute__((format(printf, 2, 0))) static void slot_vset(int code, const char *fmt, va_list ap)
{
	slot.code = code;
	vsnprintf(slot.msg, sizeof(slot.msg), fmt, ap);
}

int lc_err_set(int code, const char *fmt, ...)
{
	va_list ap;

	if (slot.code != 0)
		return code;
	va_start(ap, fmt);
	slot_vset(code, fmt, ap);
	va_end(ap);
	return code;
}

int lc_err_set_errno(int code, int errnum, const char *fmt, ...)
{
	va_list ap;
	size_t n;

	if (slot.code != 0)
		return code;
	va_start(ap, fmt);
	slot_vset(code, fmt, ap);
	va_end(ap);
	n = strlen(slot.msg);
	snprintf(slot.msg + n, sizeof(slot.msg) - n, ": %s", strerror(errnum));
	return code;
}

int lc_err_prefix(int code, const char *fmt, ...)
{
	char old[LC_ERR_MSG_MAX];
	va_list ap;
	size_t n;

	memcpy(old, slot.msg, sizeof(old));
	va_start(ap, fmt);
	vsnprintf(slot.msg, sizeof(slot.msg), fmt, ap);
	va_end(ap);
	if (slot.code != 0 && old[0] != '\0') {
		n = strlen(slot.msg);
		snprintf(slot.msg + n, sizeof(slot.msg) - n, ": %s", old);
	} else {
		slot.code = code;
	}
	return code;
}

const char *lc_err_msg(void)
{
	return slot.msg;
}

int lc_err_code(void)
{
	return slot.code;
}

void lc_err_clear(void)
{
	slot.code = 0;
	slot.msg[0] = '\0';
}

const char *lc_err_str(int code)
{
	switch (code) {
	case LC_OK:
		return "success";
	case LC_EIO:
		return "input/output error";
	case LC_EPARSE:
		return "malformed input";
	case LC_ENOTFOUND:
		return "not found";
	case LC_ETOOBIG:
		return "too big";
	case LC_EDENIED:
		return "refused";
	case LC_ECANCELLED:
		return "cancelled";
	case LC_ETIMEOUT:
		return "timed out";
	case LC_ENOMEM:
		return "out of memory";
	case LC_EUNSUPPORTED:
		return "unsupported";
	default:
		return "error";
	}
}
