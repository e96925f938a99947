/*
 * session.c - the session log (see session.h).
 */
#include "agent/session.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <openssl/evp.h>

#include "runtime/gguf.h"
#include "runtime/qtype.h"
#include "src/buf.h"
#include "src/err.h"
#include "src/file.h"
#include "src/banned.h"

/* Entries kept in the digest cache, and its largest size. */
#define CACHE_ENTRIES  64
#define CACHE_FILE_MAX (256u * 1024u)

struct lc_session_log {
	FILE *f;
	char path[PATH_MAX];
};

/* --- SHA-256 ------------------------------------------------------------- */

static void to_hex(const unsigned char *md, unsigned n, char *hex)
{
	static const char digits[] = "0123456789abcdef";

	for (unsigned i = 0; i < n; i++) {
		hex[2 * i] = digits[md[i] >> 4];
		hex[2 * i + 1] = digits[md[i] & 15];
	}
	hex[2 * n] = '\0';
}

void lc_sha256_hex(const void *data, size_t len, char hex[LC_SHA256_HEX])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned n = 0;

	if (!EVP_Digest(data, len, md, &n, EVP_sha256(), NULL) || n != 32) {
		hex[0] = '\0';
		return;
	}
	to_hex(md, n, hex);
}

static int sha256_file(const char *path, char hex[LC_SHA256_HEX])
{
	unsigned char md[EVP_MAX_MD_SIZE], *chunk = NULL;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned n = 0;
	ssize_t got;
	int fd = -1, rc = 0;

	chunk = malloc(1u << 20);
	if (!ctx || !chunk) {
		rc = lc_err_set(LC_ENOMEM, "out of memory");
		goto out;
	}
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		rc = lc_err_set_errno(errno == ENOENT ? LC_ENOTFOUND : LC_EIO, errno,
		                      "cannot open '%s'", path);
		goto out;
	}
	if (!EVP_DigestInit_ex(ctx, EVP_sha256(), NULL)) {
		rc = lc_err_set(LC_EIO, "sha256: cannot start a digest");
		goto out;
	}
	while ((got = read(fd, chunk, 1u << 20)) != 0) {
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			rc = lc_err_set_errno(LC_EIO, errno, "cannot read '%s'", path);
			goto out;
		}
		EVP_DigestUpdate(ctx, chunk, (size_t)got);
	}
	if (!EVP_DigestFinal_ex(ctx, md, &n) || n != 32) {
		rc = lc_err_set(LC_EIO, "sha256: digest failed");
		goto out;
	}
	to_hex(md, n, hex);
out:
	if (fd >= 0)
		close(fd);
	free(chunk);
	EVP_MD_CTX_free(ctx);
	return rc;
}

static int cache_path(char *out, size_t cap)
{
	const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
	int n;

	if (xdg && xdg[0] == '/')
		n = snprintf(out, cap, "%s/lcode/model-sha256", xdg);
	else if (home && home[0])
		n = snprintf(out, cap, "%s/.cache/lcode/model-sha256", home);
	else
		return -1;
	return n < 0 || (size_t)n >= cap ? -1 : 0;
}

/* mkdir -p of the directories of path (not its last component). */
static int make_parents(const char *path)
{
	char dir[PATH_MAX];

	if ((size_t)snprintf(dir, sizeof(dir), "%s", path) >= sizeof(dir))
		return -1;
	for (char *p = dir + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(dir, 0777) < 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	return 0;
}

int lc_session_model_sha256(const char *path, char hex[LC_SHA256_HEX])
{
	char abs[PATH_MAX], cpath[PATH_MAX], key[PATH_MAX + 96], digest[LC_SHA256_HEX];
	lc_buf kept = LC_BUF_INIT(CACHE_FILE_MAX + PATH_MAX + 128);
	char *text = NULL, *line, *next;
	size_t len = 0;
	struct stat st;
	int rc, have_cache;

	if (!realpath(path, abs) || stat(abs, &st) < 0)
		return lc_err_set_errno(errno == ENOENT ? LC_ENOTFOUND : LC_EIO, errno,
		                        "cannot find '%s'", path);
	/* The key: size, mtime (s.ns) and path; a line is "<hex> <key>". */
	snprintf(key, sizeof(key), "%lld %lld.%09ld %s", (long long)st.st_size,
	         (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec, abs);
	have_cache = cache_path(cpath, sizeof(cpath)) == 0 && !strchr(abs, '\n');
	if (have_cache && lc_file_read(cpath, CACHE_FILE_MAX, &text, &len) == 0) {
		for (line = text; line && *line; line = next) {
			next = strchr(line, '\n');
			if (next)
				*next++ = '\0';
			if (strlen(line) > 65 && line[64] == ' ' && strcmp(line + 65, key) == 0) {
				memcpy(hex, line, 64);
				hex[64] = '\0';
				rc = 0;
				goto out;
			}
		}
	}
	lc_err_clear();
	if ((rc = sha256_file(abs, digest)))
		goto out;
	memcpy(hex, digest, LC_SHA256_HEX);
	if (!have_cache)
		goto out;
	/* Keep the newest entries (the file's last lines), then add this one. */
	lc_buf_addf(&kept, "%s %s\n", digest, key);
	if (text) {
		size_t count = 0;
		for (char *p = text; p < text + len; p++)
			count += *p == '\0' || *p == '\n';
		line = text;
		for (size_t i = 0; line < text + len && *line; i++) {
			size_t l = strlen(line);
			if (count - i < CACHE_ENTRIES && l > 65 && strcmp(line + 65, key) != 0)
				lc_buf_addf(&kept, "%s\n", line);
			line += l + 1;
		}
	}
	if (make_parents(cpath) == 0)
		lc_file_write_atomic(cpath, kept.data, kept.len);
	lc_err_clear(); /* a cache that cannot be written is no error */
out:
	free(text);
	lc_buf_release(&kept);
	return rc;
}

int lc_session_model_quant(const char *path, char *out, size_t cap)
{
	uint64_t bytes[64] = {0};
	lc_gguf *g = NULL;
	uint32_t best = 0;
	int rc = lc_gguf_open(&g, path);

	if (rc)
		return rc;
	for (int64_t i = 0; i < lc_gguf_n_tensors(g); i++) {
		const lc_gguf_tensor *t = lc_gguf_tensor_at(g, i);
		if (t->type < 64)
			bytes[t->type] += t->size;
	}
	for (uint32_t t = 1; t < 64; t++)
		if (bytes[t] > bytes[best])
			best = t;
	snprintf(out, cap, "%s", bytes[best] ? lc_qtype_name(best) : "none");
	lc_gguf_free(g);
	return 0;
}

/* --- the log ------------------------------------------------------------- */

static void add_ts(cJSON *j)
{
	struct timespec ts;
	struct tm tm;
	char buf[96];

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900,
	         tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000);
	cJSON_AddStringToObject(j, "ts", buf);
}

static void add_str(cJSON *j, const char *key, const char *v)
{
	if (v)
		cJSON_AddStringToObject(j, key, v);
	else
		cJSON_AddNullToObject(j, key);
}

/* Write j as one line and free it. */
static int write_line(lc_session_log *log, cJSON *j)
{
	char *s = cJSON_PrintUnformatted(j);
	int rc = 0;

	cJSON_Delete(j);
	if (!s)
		return lc_err_set(LC_ENOMEM, "out of memory");
	if (fprintf(log->f, "%s\n", s) < 0 || fflush(log->f) != 0)
		rc = lc_err_set_errno(LC_EIO, errno, "cannot write '%s'", log->path);
	free(s);
	return rc;
}

int lc_session_log_open(lc_session_log **out, const char *repo_root, const lc_session_info *info)
{
	lc_session_log *log = calloc(1, sizeof(*log));
	cJSON *j = NULL, *sp;
	struct tm tm;
	time_t now = time(NULL);
	int rc, fd;

	if (!log)
		return lc_err_set(LC_ENOMEM, "out of memory");
	gmtime_r(&now, &tm);
	if ((size_t)snprintf(log->path, sizeof(log->path),
	                     "%s/.lcode/sessions/%04d%02d%02dT%02d%02d%02dZ-%ld.jsonl", repo_root,
	                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
	                     tm.tm_sec, (long)getpid()) >= sizeof(log->path)) {
		rc = lc_err_set(LC_EIO, "session log: path too long under '%s'", repo_root);
		goto fail;
	}
	if (make_parents(log->path) < 0) {
		rc = lc_err_set_errno(LC_EIO, errno, "cannot make the directory of '%s'",
		                      log->path);
		goto fail;
	}
	/*
	 * The logs are no part of the work: git ignores them, so status, diffs,
	 * snapshots and undo never see a log being written.
	 */
	{
		char ignore[PATH_MAX + 16];
		snprintf(ignore, sizeof(ignore), "%s/.lcode/sessions/.gitignore", repo_root);
		if (!lc_file_exists(ignore) && lc_file_write_atomic(ignore, "*\n", 2)) {
			rc = lc_err_prefix(LC_EIO, "session log");
			goto fail;
		}
	}
	fd = open(log->path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0666);
	if (fd < 0 || !(log->f = fdopen(fd, "a"))) {
		rc = lc_err_set_errno(LC_EIO, errno, "cannot open '%s'", log->path);
		if (fd >= 0)
			close(fd);
		goto fail;
	}
	j = cJSON_CreateObject();
	sp = cJSON_CreateObject();
	if (!j || !sp) {
		cJSON_Delete(j);
		cJSON_Delete(sp);
		rc = lc_err_set(LC_ENOMEM, "out of memory");
		goto fail;
	}
	cJSON_AddStringToObject(j, "type", "session");
	add_ts(j);
	add_str(j, "lcode", info->version);
	add_str(j, "model", info->model_path);
	add_str(j, "model_sha256", info->model_sha256);
	add_str(j, "quantization", info->quantization);
	add_str(j, "template", info->template_family);
	add_str(j, "call_format", info->call_format);
	add_str(j, "prompt_version", info->prompt_version);
	cJSON_AddNumberToObject(sp, "temp", info->temp);
	cJSON_AddNumberToObject(sp, "top_k", info->top_k);
	cJSON_AddNumberToObject(sp, "top_p", info->top_p);
	cJSON_AddNumberToObject(sp, "min_p", info->min_p);
	cJSON_AddNumberToObject(sp, "seed", (double)info->seed);
	cJSON_AddItemToObject(j, "sampler", sp);
	cJSON_AddNumberToObject(j, "n_ctx", info->n_ctx);
	cJSON_AddBoolToObject(j, "constrain", info->constrain);
	add_str(j, "backend", info->backend);
	add_str(j, "script", info->script);
	if ((rc = write_line(log, j)))
		goto fail;
	*out = log;
	return 0;
fail:
	lc_session_log_close(log);
	return rc;
}

const char *lc_session_log_path(const lc_session_log *log)
{
	return log->path;
}

int lc_session_log_event(lc_session_log *log, const lc_event *ev)
{
	static const char *const kinds[] = {"request", "text",  "message", "call",  "observation",
	                                    "commit",  "final", "note",    "stats", "edit"};
	static const char *const status[] = {"ok", "refused", "failed"};
	cJSON *j;

	if (ev->kind == LC_EV_TEXT || (unsigned)ev->kind >= sizeof(kinds) / sizeof(kinds[0]))
		return 0;
	if (!(j = cJSON_CreateObject()))
		return lc_err_set(LC_ENOMEM, "out of memory");
	cJSON_AddStringToObject(j, "type", kinds[ev->kind]);
	add_ts(j);
	switch (ev->kind) {
	case LC_EV_CALL: {
		cJSON *args = ev->args ? cJSON_Parse(ev->args) : NULL;
		add_str(j, "tool", ev->tool);
		if (args)
			cJSON_AddItemToObject(j, "args", args);
		else
			add_str(j, "args", ev->args);
		break;
	}
	case LC_EV_OBSERVATION:
		add_str(j, "tool", ev->tool);
		add_str(j, "status", ev->status >= 0 && ev->status <= 2 ? status[ev->status] : "?");
		add_str(j, "text", ev->text);
		break;
	case LC_EV_COMMIT:
		add_str(j, "id", ev->text);
		break;
	case LC_EV_EDIT:
		add_str(j, "tool", ev->tool);
		add_str(j, "path", ev->path);
		add_str(j, "match", ev->match);
		add_str(j, "diff", ev->text);
		break;
	case LC_EV_STATS:
		if (ev->stats) {
			cJSON_AddNumberToObject(j, "prompt_tokens", ev->stats->n_prompt);
			cJSON_AddNumberToObject(j, "reused_tokens", ev->stats->n_reused);
			cJSON_AddNumberToObject(j, "generated_tokens", ev->stats->n_gen);
			cJSON_AddNumberToObject(j, "rejected_tokens", ev->stats->n_rejected);
			cJSON_AddNumberToObject(j, "loop_interventions", ev->stats->n_loops);
			cJSON_AddNumberToObject(j, "prompt_seconds", ev->stats->t_prompt);
			cJSON_AddNumberToObject(j, "generate_seconds", ev->stats->t_gen);
		}
		break;
	default:
		add_str(j, "text", ev->text);
	}
	return write_line(log, j);
}

int lc_session_log_end(lc_session_log *log, int exit_status, const char *error)
{
	cJSON *j = cJSON_CreateObject();

	if (!j)
		return lc_err_set(LC_ENOMEM, "out of memory");
	cJSON_AddStringToObject(j, "type", "end");
	add_ts(j);
	cJSON_AddNumberToObject(j, "exit_status", exit_status);
	add_str(j, "error", error && error[0] ? error : NULL);
	return write_line(log, j);
}

void lc_session_log_close(lc_session_log *log)
{
	if (!log)
		return;
	if (log->f)
		fclose(log->f);
	free(log);
}
