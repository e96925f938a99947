/*
 * config.c - configuration files (see config.h).
 */
#include "src/config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "src/err.h"
#include "src/file.h"
#include "src/run.h"
#include "src/banned.h"

/* Longest line of a configuration file, bytes. */
#define LINE_MAX_LEN 4096

void lc_config_release(lc_config *cfg)
{
	lc_config init = LC_CONFIG_INIT;

	free(cfg->model);
	free(cfg->call_format);
	free(cfg->pre_commit_request);
	free(cfg->backend);
	free(cfg->base_url);
	free(cfg->remote_model);
	*cfg = init;
}

static int is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

static int parse_long(const char *v, long lo, long hi, long *out)
{
	char *end;
	long x;

	errno = 0;
	x = strtol(v, &end, 10);
	if (!*v || *end || errno || x < lo || x > hi)
		return -1;
	*out = x;
	return 0;
}

/*
 * A model path as written, made absolute against base when it is relative.
 * A name - no '/' and no ".gguf" ending: "demo", or one of 'lcode models' -
 * stays as written, for lc_models_resolve.
 */
static char *model_path(const char *v, const char *base)
{
	const char *home = getenv("HOME");
	size_t n = strlen(v);
	char *out;

	if (!strchr(v, '/') && !(n >= 5 && strcmp(v + n - 5, ".gguf") == 0))
		return strdup(v);
	if (v[0] == '~' && v[1] == '/' && home && home[0])
		base = home, v += 2;
	else if (v[0] == '/' || !base || !base[0])
		return strdup(v);
	n = strlen(base) + strlen(v) + 2;
	out = malloc(n);
	if (out)
		snprintf(out, n, "%s/%s", base, v);
	return out;
}

static int set_string(char **slot, char *value)
{
	if (!value)
		return lc_err_set(LC_ENOMEM, "out of memory");
	free(*slot);
	*slot = value;
	return 0;
}

/* Store key = value in cfg; returns 0, LC_ENOMEM, or 1 with the reason in *why. */
static int set_key(lc_config *cfg, const char *key, const char *v, const char *base,
                   const char **why)
{
	long x;

	if (strcmp(key, "model") == 0) {
		if (!v[0])
			return *why = "the model path is empty", 1;
		return set_string(&cfg->model, model_path(v, base));
	}
	if (strcmp(key, "approval") == 0) {
		if (strcmp(v, "ask") == 0)
			cfg->approval = LC_APPROVAL_ASK;
		else if (strcmp(v, "auto-edit") == 0)
			cfg->approval = LC_APPROVAL_AUTO_EDIT;
		else if (strcmp(v, "full-auto") == 0)
			cfg->approval = LC_APPROVAL_FULL_AUTO;
		else
			return *why = "approval takes ask, auto-edit or full-auto", 1;
		return 0;
	}
	if (strcmp(key, "ctx") == 0) {
		if (parse_long(v, 64, 1L << 20, &x))
			return *why = "ctx takes a whole number from 64 to 1048576", 1;
		cfg->n_ctx = (int)x;
		return 0;
	}
	if (strcmp(key, "threads") == 0) {
		if (parse_long(v, 1, 512, &x))
			return *why = "threads takes a whole number from 1 to 512", 1;
		cfg->n_threads = (int)x;
		return 0;
	}
	if (strcmp(key, "max-steps") == 0) {
		if (parse_long(v, 1, 10000, &x))
			return *why = "max-steps takes a whole number from 1 to 10000", 1;
		cfg->max_steps = (int)x;
		return 0;
	}
	if (strcmp(key, "max-failures") == 0) {
		if (parse_long(v, 1, 1000, &x))
			return *why = "max-failures takes a whole number from 1 to 1000", 1;
		cfg->max_failures = (int)x;
		return 0;
	}
	if (strcmp(key, "seed") == 0) {
		if (parse_long(v, 0, 2147483647L, &x))
			return *why = "seed takes a whole number from 0 to 2147483647", 1;
		cfg->seed = x;
		return 0;
	}
	if (strcmp(key, "temp") == 0) {
		char *end;
		float t = strtof(v, &end);
		if (!*v || *end || !(t >= 0) || t > 100)
			return *why = "temp takes a number from 0 to 100", 1;
		cfg->temp = t;
		return 0;
	}
	if (strcmp(key, "call-format") == 0) {
		if (strcmp(v, "hermes") && strcmp(v, "llama3") && strcmp(v, "mistral") &&
		    strcmp(v, "react"))
			return *why = "call-format takes hermes, llama3, mistral or react", 1;
		return set_string(&cfg->call_format, strdup(v));
	}
	if (strcmp(key, "commit") == 0) {
		if (strcmp(v, "true") == 0)
			cfg->commit = 1;
		else if (strcmp(v, "false") == 0)
			cfg->commit = 0;
		else
			return *why = "commit takes true or false", 1;
		return 0;
	}
	if (strcmp(key, "pre-commit.request") == 0) {
		if (!v[0])
			return *why = "pre-commit.request is empty", 1;
		return set_string(&cfg->pre_commit_request, strdup(v));
	}
	if (strcmp(key, "backend") == 0) {
		if (strcmp(v, "local") && strcmp(v, "openai"))
			return *why = "backend takes local or openai", 1;
		return set_string(&cfg->backend, strdup(v));
	}
	if (strcmp(key, "base-url") == 0) {
		if (strncmp(v, "http://", 7) && strncmp(v, "https://", 8))
			return *why = "base-url takes a URL that starts with http:// or https://",
			       1;
		return set_string(&cfg->base_url, strdup(v));
	}
	if (strcmp(key, "remote-model") == 0) {
		if (!v[0])
			return *why = "remote-model is empty", 1;
		return set_string(&cfg->remote_model, strdup(v));
	}
	if (strcmp(key, "remote-timeout") == 0) {
		if (parse_long(v, 1, 86400, &x))
			return *why = "remote-timeout takes a whole number from 1 to 86400", 1;
		cfg->remote_timeout = (int)x;
		return 0;
	}
	return *why = "unknown key", 1;
}

/* Take the values next set into cfg; next is left empty. */
static void merge(lc_config *cfg, lc_config *next)
{
	lc_config init = LC_CONFIG_INIT;

	if (next->model)
		free(cfg->model), cfg->model = next->model;
	if (next->call_format)
		free(cfg->call_format), cfg->call_format = next->call_format;
	if (next->pre_commit_request)
		free(cfg->pre_commit_request), cfg->pre_commit_request = next->pre_commit_request;
	if (next->approval >= 0)
		cfg->approval = next->approval;
	if (next->n_ctx)
		cfg->n_ctx = next->n_ctx;
	if (next->n_threads)
		cfg->n_threads = next->n_threads;
	if (next->max_steps)
		cfg->max_steps = next->max_steps;
	if (next->max_failures)
		cfg->max_failures = next->max_failures;
	if (next->backend)
		free(cfg->backend), cfg->backend = next->backend;
	if (next->base_url)
		free(cfg->base_url), cfg->base_url = next->base_url;
	if (next->remote_model)
		free(cfg->remote_model), cfg->remote_model = next->remote_model;
	if (next->remote_timeout)
		cfg->remote_timeout = next->remote_timeout;
	if (next->temp >= 0)
		cfg->temp = next->temp;
	if (next->seed >= 0)
		cfg->seed = next->seed;
	if (next->commit >= 0)
		cfg->commit = next->commit;
	*next = init;
}

/*
 * Split one line (NUL-terminated, no newline) into key and value in place.
 * Returns 0 (*key NULL for a blank or comment line) or 1 with *why set.
 */
static int split_line(char *line, char **key, char **value, const char **why)
{
	char *p = line, *k, *end, *out;

	*key = NULL;
	while (is_blank(*p))
		p++;
	if (!*p || *p == '#')
		return 0;
	k = p;
	while (*p && *p != '=' && !is_blank(*p))
		p++;
	end = p;
	while (is_blank(*p))
		p++;
	if (*p != '=' || end == k)
		return *why = "expected 'key = value'", 1;
	*end = '\0';
	p++;
	while (is_blank(*p))
		p++;
	if (*p == '"') {
		/* Quoted: up to the closing quote; then only blanks or a comment. */
		out = ++p;
		*value = out;
		for (;; p++) {
			if (!*p)
				return *why = "the quoted value has no closing '\"'", 1;
			if (*p == '"')
				break;
			if (*p == '\\' && p[1] && strchr("\"\\nt", p[1]))
				*out++ = *++p == 'n' ? '\n' : *p == 't' ? '\t' : *p;
			else
				*out++ = *p;
		}
		*out = '\0';
		p++;
		while (is_blank(*p))
			p++;
		if (*p && *p != '#')
			return *why = "text after the closing '\"'", 1;
	} else {
		/* Unquoted: up to a comment, without trailing blanks. */
		*value = p;
		end = strchr(p, '#');
		if (!end)
			end = p + strlen(p);
		while (end > p && is_blank(end[-1]))
			end--;
		*end = '\0';
	}
	*key = k;
	return 0;
}

int lc_config_parse(lc_config *cfg, const char *name, const char *base, const char *text,
                    size_t len)
{
	lc_config next = LC_CONFIG_INIT;
	char line[LINE_MAX_LEN + 1];
	size_t pos = 0, lineno = 0;
	int rc = 0;

	while (pos < len) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - (text + pos)) : len - pos;
		const char *why = NULL;
		char *key, *value;

		lineno++;
		if (n > LINE_MAX_LEN) {
			rc = lc_err_set(LC_EPARSE, "%s:%zu: line longer than %d bytes", name,
			                lineno, LINE_MAX_LEN);
			goto out;
		}
		memcpy(line, text + pos, n);
		line[n] = '\0';
		pos += n + (nl ? 1 : 0);
		if (memchr(line, '\0', n)) {
			rc = lc_err_set(LC_EPARSE, "%s:%zu: NUL byte in line", name, lineno);
			goto out;
		}
		if (split_line(line, &key, &value, &why)) {
			rc = lc_err_set(LC_EPARSE, "%s:%zu: %s", name, lineno, why);
			goto out;
		}
		if (!key)
			continue;
		rc = set_key(&next, key, value, base, &why);
		if (rc == 1) {
			rc = lc_err_set(LC_EPARSE, "%s:%zu: %s '%s'", name, lineno, why, key);
			goto out;
		}
		if (rc)
			goto out;
	}
	merge(cfg, &next);
out:
	lc_config_release(&next);
	return rc;
}

int lc_config_read(lc_config *cfg, const char *path, const char *base)
{
	char *text = NULL;
	size_t len = 0;
	int rc = lc_file_read(path, LC_CONFIG_FILE_MAX, &text, &len);

	if (rc == LC_ENOTFOUND) {
		lc_err_clear();
		return 0;
	}
	if (rc)
		return lc_err_prefix(rc, "%s", path);
	rc = lc_config_parse(cfg, path, base, text, len);
	free(text);
	return rc;
}

int lc_config_user_path(char *out, size_t cap)
{
	const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
	int n;

	if (xdg && xdg[0] == '/')
		n = snprintf(out, cap, "%s/lcode/config", xdg);
	else if (home && home[0])
		n = snprintf(out, cap, "%s/.config/lcode/config", home);
	else
		return lc_err_set(LC_ENOTFOUND, "neither XDG_CONFIG_HOME nor HOME is set");
	if (n < 0 || (size_t)n >= cap)
		return lc_err_set(LC_ETOOBIG, "configuration path too long");
	return 0;
}

int lc_config_load(lc_config *cfg, const char *repo_root)
{
	char path[PATH_MAX], *slash;
	int rc;

	if (lc_config_user_path(path, sizeof(path)) == 0) {
		char dir[PATH_MAX];
		snprintf(dir, sizeof(dir), "%s", path);
		slash = strrchr(dir, '/');
		*slash = '\0';
		if ((rc = lc_config_read(cfg, path, dir)))
			return rc;
	} else {
		lc_err_clear(); /* no user file without a home */
	}
	if (!repo_root)
		return 0;
	if ((size_t)snprintf(path, sizeof(path), "%s/.lcode/config", repo_root) >= sizeof(path))
		return lc_err_set(LC_ETOOBIG, "path too long: '%s'", repo_root);
	return lc_config_read(cfg, path, repo_root);
}

void lc_config_apply(const lc_config *cfg, struct lc_run_opts *o)
{
	const char *env = getenv("LCODE_MODEL");

	if (!o->model)
		o->model = env && env[0] ? env : cfg->model;
	if (o->approval == LC_APPROVAL_UNSET)
		o->approval = cfg->approval >= 0 ? (enum lc_approval)cfg->approval
		                                 : LC_APPROVAL_AUTO_EDIT;
	if (!o->n_ctx)
		o->n_ctx = cfg->n_ctx;
	if (!o->n_threads)
		o->n_threads = cfg->n_threads;
	if (!o->max_steps)
		o->max_steps = cfg->max_steps;
	if (!o->max_failures)
		o->max_failures = cfg->max_failures;
	if (!o->backend)
		o->backend = cfg->backend;
	if (!o->base_url)
		o->base_url = cfg->base_url;
	if (!o->remote_model)
		o->remote_model = cfg->remote_model;
	if (!o->remote_timeout)
		o->remote_timeout = cfg->remote_timeout;
	if (o->temp < 0)
		o->temp = cfg->temp >= 0 ? cfg->temp : 0.0f;
	if (!o->has_seed && cfg->seed >= 0) {
		o->seed = (unsigned long long)cfg->seed;
		o->has_seed = 1;
	}
	if (!o->call_format)
		o->call_format = cfg->call_format;
	if (!o->no_commit && cfg->commit == 0)
		o->no_commit = 1;
}
