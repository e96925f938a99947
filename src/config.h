/*
 * config.h - configuration files: the user's and the repository's.
 *
 * Two files, read in this order, a later value replacing an earlier one:
 *
 *   $XDG_CONFIG_HOME/lcode/config   (~/.config/lcode/config without it)
 *   .lcode/config                   in the repository root
 *
 * Each line is "key = value", a comment starting with '#', or blank. A
 * value may be quoted with "..." (then it may hold '#' and leading or
 * trailing blanks; \" \\ \n \t stand for a quote, a backslash, a newline and a
 * tab, as in git's config files; another backslash stays itself). Keys:
 *
 *   model                 the GGUF model file (relative: to the file's base, see below),
 *                         or a model name (no '/', no .gguf ending: demo, or one of
 *                         'lcode models'), kept as written
 *   approval              ask | auto-edit | full-auto
 *   ctx, threads          whole numbers
 *   temp                  a number >= 0
 *   seed                  a whole number >= 0
 *   max-steps             a whole number
 *   max-failures          a whole number
 *   call-format           hermes | llama3 | mistral | react
 *   commit                true | false
 *   pre-commit.request    the request `lcode pre-commit` runs over the staged files
 *   backend               local | openai
 *   base-url              the server's OpenAI-compatible URL: http://... or https://...
 *   remote-model          the server's model name
 *   remote-timeout        seconds of silence allowed, a whole number from 1 to 86400
 *
 * Precedence, from strongest: command-line flag, environment (LCODE_MODEL),
 * repository config, user config, built-in default. lc_config_apply() fills
 * the options the command line left unset.
 */
#ifndef LC_CONFIG_H
#define LC_CONFIG_H

#include <stddef.h>

struct lc_run_opts;

/* Longest configuration file accepted, bytes. */
#define LC_CONFIG_FILE_MAX (64u * 1024u)

/* Values read so far; a field left unset has the value noted beside it. */
typedef struct lc_config {
	char *model;              /* NULL; owned */
	char *call_format;        /* NULL; owned */
	char *pre_commit_request; /* NULL; owned */
	int approval;             /* -1, else an enum lc_approval */
	int n_ctx, n_threads;     /* 0 */
	int max_steps;            /* 0 */
	float temp;               /* < 0 */
	long long seed;           /* < 0 */
	int commit;               /* -1, else 0 or 1 */
	int max_failures;         /* 0 */
	char *backend;            /* NULL; owned: "local" or "openai" */
	char *base_url;           /* NULL; owned */
	char *remote_model;       /* NULL; owned */
	int remote_timeout;       /* 0 */
} lc_config;

#define LC_CONFIG_INIT                                                                             \
	{                                                                                          \
		NULL, NULL, NULL, -1, 0, 0, 0, -1.0f, -1, -1, 0, NULL, NULL, NULL, 0               \
	}

/* Free what a config owns and set it back to LC_CONFIG_INIT. */
void lc_config_release(lc_config *cfg);

/*
 * Read the text of one configuration file (len bytes, need not be
 * NUL-terminated) into cfg, its values replacing those already set. name is
 * the file's name for messages; base (may be NULL) is the directory a
 * relative model path is taken from. On an error cfg keeps every value it
 * had before the call. Errors: LC_EPARSE ("NAME:LINE: <reason>": a line
 * that is not "key = value", an unknown key, a bad value), LC_ENOMEM.
 */
int lc_config_parse(lc_config *cfg, const char *name, const char *base, const char *text,
                    size_t len);

/*
 * Read the file at path into cfg as lc_config_parse does, with base the
 * directory named. A missing file is not an error (cfg unchanged).
 * Errors: as lc_config_parse, LC_EIO, LC_ETOOBIG (over LC_CONFIG_FILE_MAX).
 */
int lc_config_read(lc_config *cfg, const char *path, const char *base);

/*
 * The user's configuration file: $XDG_CONFIG_HOME/lcode/config, else
 * $HOME/.config/lcode/config, written to out (cap bytes). Errors:
 * LC_ENOTFOUND (neither variable set), LC_ETOOBIG.
 */
int lc_config_user_path(char *out, size_t cap);

/*
 * Read the user's file, then repo_root/.lcode/config (repo_root may be NULL:
 * only the user's file). A relative model path in the user's file is taken
 * from its directory, in the repository's from repo_root. Errors: as
 * lc_config_read.
 */
int lc_config_load(lc_config *cfg, const char *repo_root);

/*
 * Fill the options of o the command line left unset (see run.h) from the
 * environment (LCODE_MODEL), then cfg, then the built-in defaults. Strings
 * put into o point into cfg: valid until lc_config_release(cfg).
 */
void lc_config_apply(const lc_config *cfg, struct lc_run_opts *o);

#endif
