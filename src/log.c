#include "src/log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "src/banned.h"

static const char *const level_names[] = {"debug", "info", "warn", "error", "off"};
static int threshold = -1;
static pthread_once_t threshold_once = PTHREAD_ONCE_INIT;

int lc_log_level_parse(const char *name)
{
	for (int i = 0; i <= LC_LOG_OFF; i++)
		if (strcmp(name, level_names[i]) == 0)
			return i;
	return -1;
}

static void threshold_init(void)
{
	const char *env = getenv("LCODE_LOG");
	int lvl = env ? lc_log_level_parse(env) : -1;

	if (threshold < 0)
		threshold = lvl >= 0 ? lvl : LC_LOG_WARN;
}

enum lc_log_level lc_log_level(void)
{
	pthread_once(&threshold_once, threshold_init);
	return (enum lc_log_level)threshold;
}

void lc_log_set_level(enum lc_log_level level)
{
	pthread_once(&threshold_once, threshold_init);
	threshold = (int)level;
}

void lc_log(enum lc_log_level level, const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	int n;

	if (level < lc_log_level() || level >= LC_LOG_OFF)
		return;
	n = snprintf(line, sizeof(line), "lcode: %s: ", level_names[level]);
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	va_end(ap);
	/* One write per line keeps lines from threads whole. */
	fprintf(stderr, "%s\n", line);
}
