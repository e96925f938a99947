/*
 * log.h - diagnostics on stderr.
 *
 * The level comes from LCODE_LOG (debug, info, warn, error; default warn),
 * read once. A line reads "lcode: <level>: <message>". Logging is for people
 * debugging lcode; results and errors meant for the user are printed by the
 * program, never through the log.
 */
#ifndef LC_LOG_H
#define LC_LOG_H

enum lc_log_level {
	LC_LOG_DEBUG = 0,
	LC_LOG_INFO = 1,
	LC_LOG_WARN = 2,
	LC_LOG_ERROR = 3,
	LC_LOG_OFF = 4
};

/* Current threshold: messages below it are dropped. */
enum lc_log_level lc_log_level(void);

/* Override the threshold (tests, --quiet). */
void lc_log_set_level(enum lc_log_level level);

/* Parse "debug".."error"/"off"; returns -1 for anything else. */
int lc_log_level_parse(const char *name);

void lc_log(enum lc_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define lc_debug(...) lc_log(LC_LOG_DEBUG, __VA_ARGS__)
#define lc_info(...)  lc_log(LC_LOG_INFO, __VA_ARGS__)
#define lc_warn(...)  lc_log(LC_LOG_WARN, __VA_ARGS__)

#endif
