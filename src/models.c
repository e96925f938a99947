/*
 * models.c - the models directory and resumable, verified downloads.
 *
 * HTTP: RFC 9110 range requests (section 14: Range: bytes=N-, 206 with
 * Content-Range, 416 when nothing is left) made conditional with If-Range
 * (section 13.1.5: a strong entity tag, or else the Last-Modified date; a
 * server whose file no longer matches ignores the range and sends it all).
 * Hugging Face names an LFS file's SHA-256 in X-Linked-ETag on the resolve
 * URL's redirect.
 */
#include "src/models.h"

#include "lc_config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/evp.h>

#include "src/err.h"
#include "src/file.h"
#include "src/banned.h"

#define FILE_MAX ((uint64_t)1 << 40)

int lc_models_dir(char *out, size_t cap)
{
	const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
	int n;

	if (xdg && xdg[0] == '/')
		n = snprintf(out, cap, "%s/lcode/models", xdg);
	else if (home && home[0])
		n = snprintf(out, cap, "%s/.cache/lcode/models", home);
	else
		return lc_err_set(LC_ENOTFOUND, "neither XDG_CACHE_HOME nor HOME is set");
	if (n < 0 || (size_t)n >= cap)
		return lc_err_set(LC_ETOOBIG, "the models directory's path is too long");
	return 0;
}

int lc_models_resolve(const char *name, char *out, size_t cap)
{
	char dir[4096];
	struct stat st;

	if (strcmp(name, "demo") == 0 && stat(name, &st) != 0) {
		/* lcode's own demo model: installed beside lcode, or in the source tree. */
		static const char *const places[] = {LC_DEMO_MODEL_INSTALLED, LC_DEMO_MODEL_SOURCE};
		for (size_t i = 0; i < sizeof(places) / sizeof(places[0]); i++) {
			if (stat(places[i], &st) == 0 && S_ISREG(st.st_mode)) {
				if ((size_t)snprintf(out, cap, "%s", places[i]) >= cap)
					return lc_err_set(LC_ETOOBIG, "model path too long");
				return 0;
			}
		}
		return lc_err_set(LC_ENOTFOUND,
		                  "the demo model is not installed (looked in '%s' "
		                  "and '%s')",
		                  places[0], places[1]);
	}
	if (stat(name, &st) == 0 || strchr(name, '/') || !name[0] ||
	    lc_models_dir(dir, sizeof(dir)))
		goto as_is;
	for (int ext = 0; ext < 2; ext++) {
		int n = snprintf(out, cap, "%s/%s%s", dir, name, ext ? ".gguf" : "");
		if (n >= 0 && (size_t)n < cap && stat(out, &st) == 0 && S_ISREG(st.st_mode))
			return 0;
	}
as_is:
	lc_err_clear(); /* a missing HOME is not this caller's error */
	if ((size_t)snprintf(out, cap, "%s", name) >= cap)
		return lc_err_set(LC_ETOOBIG, "model path too long");
	return 0;
}

/* --- downloads -------------------------------------------------------------- */

struct dl {
	const lc_download_opts *o;
	CURL *curl;
	EVP_MD_CTX *md;
	int fd;
	uint64_t offset; /* bytes in the .part when the request was made */
	uint64_t size;   /* bytes in the .part now */
	uint64_t total;  /* the whole file's size, 0 when unknown */
	long status;
	int started, restarted, err, timed_out, cancelled, complete_416;
	char content_range[128];
	char etag[160], linked_etag[160], last_modified[64];
	char if_range[192]; /* the validator of the bytes in the .part; "" when none is known */
	char if_range_path[4096];
	double last_rx, last_draw, t0;
	curl_off_t last_now;
	uint64_t t0_size;
};

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A header value into out, trimmed; "" when the header line is not name. */
static int header_value(const char *p, size_t n, const char *name, char *out, size_t cap)
{
	size_t k = strlen(name);

	if (n <= k || strncasecmp(p, name, k) != 0 || p[k] != ':')
		return 0;
	p += k + 1;
	n -= k + 1;
	while (n && (*p == ' ' || *p == '\t'))
		p++, n--;
	while (n && (p[n - 1] == '\r' || p[n - 1] == '\n' || p[n - 1] == ' '))
		n--;
	snprintf(out, cap, "%.*s", (int)(n < cap ? n : cap - 1), p);
	return 1;
}

static size_t on_header(char *p, size_t size, size_t nmemb, void *ud)
{
	struct dl *d = ud;
	size_t n = size * nmemb;

	if (n >= 5 && memcmp(p, "HTTP/", 5) == 0) {
		/* a new response (after a redirect): its own headers only */
		d->content_range[0] = d->etag[0] = d->last_modified[0] = '\0';
		return n;
	}
	if (!header_value(p, n, "content-range", d->content_range, sizeof(d->content_range)) &&
	    !header_value(p, n, "etag", d->etag, sizeof(d->etag)) &&
	    !header_value(p, n, "last-modified", d->last_modified, sizeof(d->last_modified)))
		header_value(p, n, "x-linked-etag", d->linked_etag, sizeof(d->linked_etag));
	return n;
}

/* Start over: the server sends the whole file. */
static int restart(struct dl *d)
{
	if (ftruncate(d->fd, 0) < 0 || lseek(d->fd, 0, SEEK_SET) < 0)
		return lc_err_set_errno(LC_EIO, errno, "cannot truncate '%s.part'", d->o->dest);
	if (EVP_DigestInit_ex(d->md, EVP_sha256(), NULL) != 1)
		return lc_err_set(LC_ERROR, "sha256: cannot start");
	d->size = d->offset = 0;
	d->restarted = 1;
	return 0;
}

/*
 * A whole file starts: remember what identifies this version beside the
 * .part, so that a later run resumes only the same version. A weak entity
 * tag may not be sent in If-Range, so the date stands in for it.
 */
static int keep_validator(struct dl *d)
{
	const char *v = d->etag[0] && strncmp(d->etag, "W/", 2) != 0 ? d->etag : d->last_modified;

	snprintf(d->if_range, sizeof(d->if_range), "%s", v);
	if (!d->if_range[0]) {
		if (unlink(d->if_range_path) < 0 && errno != ENOENT)
			return lc_err_set_errno(LC_EIO, errno, "cannot remove '%s'",
			                        d->if_range_path);
		return 0;
	}
	return lc_file_write_atomic(d->if_range_path, d->if_range, strlen(d->if_range));
}

/* The first body bytes of a response: check the status and the range. */
static int on_start(struct dl *d)
{
	curl_off_t cl = -1;

	curl_easy_getinfo(d->curl, CURLINFO_RESPONSE_CODE, &d->status);
	curl_easy_getinfo(d->curl, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &cl);
	if (d->status == 206) {
		uint64_t first, last, total;
		if (sscanf(d->content_range, "bytes %" SCNu64 "-%" SCNu64 "/%" SCNu64, &first,
		           &last, &total) != 3 ||
		    first != d->offset || last < first || total <= last)
			return lc_err_set(LC_EPARSE,
			                  "the server sent a range '%s', not bytes %" PRIu64 "-",
			                  d->content_range, d->offset);
		d->total = total;
		return 0;
	}
	if (d->status != 200)
		return lc_err_set(LC_EIO, "HTTP %ld from '%s'", d->status, d->o->url);
	if (keep_validator(d))
		return lc_err_code();
	if (d->offset) {
		/* the server does not do ranges, or the file changed since (If-Range) */
		int rc = restart(d);
		if (rc)
			return rc;
	}
	d->total = cl > 0 ? (uint64_t)cl : 0;
	return 0;
}

static size_t on_body(char *p, size_t size, size_t nmemb, void *ud)
{
	struct dl *d = ud;
	size_t n = size * nmemb, done = 0;

	d->last_rx = now_s();
	if (!d->started) {
		d->started = 1;
		curl_easy_getinfo(d->curl, CURLINFO_RESPONSE_CODE, &d->status);
		if (d->status >= 300 || d->status < 200)
			return n; /* an error page: the status says it all */
		if ((d->err = on_start(d)))
			return 0;
	}
	if (d->status >= 300)
		return n;
	if (n > FILE_MAX - d->size || (d->total && d->size + n > d->total)) {
		d->err = lc_err_set(LC_ETOOBIG, "'%s' sends more than it said it would", d->o->url);
		return 0;
	}
	while (done < n) {
		ssize_t w = write(d->fd, p + done, n - done);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			d->err = lc_err_set_errno(LC_EIO, errno, "cannot write '%s.part'",
			                          d->o->dest);
			return 0;
		}
		done += (size_t)w;
	}
	if (EVP_DigestUpdate(d->md, p, n) != 1) {
		d->err = lc_err_set(LC_ERROR, "sha256: update failed");
		return 0;
	}
	d->size += n;
	return n;
}

/* 1536, "/s" -> "1.5 KiB/s" */
static void human(double n, const char *suffix, char *out, size_t cap)
{
	static const char *const unit[] = {"B", "KiB", "MiB", "GiB", "TiB"};
	int u = 0;

	while (n >= 1024 && u < 4) {
		n /= 1024;
		u++;
	}
	snprintf(out, cap, u ? "%.1f %s%s" : "%.0f %s%s", n, unit[u], suffix);
}

static void draw(struct dl *d, int last)
{
	char have[32], all[32], rate[32], eta[32] = "";
	double t = now_s(), dt = t - d->t0;
	/* Early rates are noise, but the last line's is the whole download's, however short. */
	double bps = (dt > 0.2 || (last && dt > 0)) ? (double)(d->size - d->t0_size) / dt : 0;

	if (!last && t - d->last_draw < 0.2)
		return;
	d->last_draw = t;
	human((double)d->size, "", have, sizeof(have));
	if (bps > 0) {
		human(bps, "/s", rate, sizeof(rate));
	} else {
		snprintf(rate, sizeof(rate), "-- B/s"); /* not known yet, not zero */
	}
	if (d->total && bps > 0 && d->size <= d->total) {
		double s = (double)(d->total - d->size) / bps;
		snprintf(eta, sizeof(eta), "  ETA %dm%02ds", (int)(s / 60), (int)s % 60);
	}
	if (d->total) {
		human((double)d->total, "", all, sizeof(all));
		fprintf(stderr, "\r%5.1f%%  %s / %s  %s%s\033[K",
		        100.0 * (double)d->size / (double)d->total, have, all, rate, eta);
	} else {
		fprintf(stderr, "\r%s  %s\033[K", have, rate);
	}
	if (last)
		fputc('\n', stderr);
	fflush(stderr);
}

static int on_progress(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
	struct dl *d = ud;
	int idle = d->o->idle_timeout_ms > 0 ? d->o->idle_timeout_ms : 60000;

	(void)dltotal;
	(void)ultotal;
	(void)ulnow;
	if (dlnow != d->last_now) {
		d->last_now = dlnow;
		d->last_rx = now_s();
	}
	if (d->o->cancel && *d->o->cancel) {
		d->cancelled = 1;
		return 1;
	}
	if ((now_s() - d->last_rx) * 1000.0 > idle) {
		d->timed_out = 1;
		return 1;
	}
	if (d->o->progress && d->started && d->status < 300)
		draw(d, 0);
	return 0;
}

/* "abc..." (64 hex) from an ETag value ("W/\"abc...\""), lower-cased; 0 when it is not one. */
static int etag_digest(const char *v, char out[65])
{
	size_t n;

	if (strncmp(v, "W/", 2) == 0)
		v += 2;
	if (*v == '"')
		v++;
	n = strcspn(v, "\"");
	if (n != 64)
		return 0;
	for (size_t i = 0; i < 64; i++) {
		if (!isxdigit((unsigned char)v[i]))
			return 0;
		out[i] = (char)tolower((unsigned char)v[i]);
	}
	out[64] = '\0';
	return 1;
}

/* Hash the first n bytes of fd (the file name) into md; fd is left at offset n. */
static int hash_fd(EVP_MD_CTX *md, int fd, uint64_t n, const char *name)
{
	char buf[1 << 16];
	uint64_t done = 0;

	if (lseek(fd, 0, SEEK_SET) < 0)
		return lc_err_set_errno(LC_EIO, errno, "cannot read '%s'", name);
	while (done < n) {
		size_t want = n - done < sizeof(buf) ? (size_t)(n - done) : sizeof(buf);
		ssize_t r = read(fd, buf, want);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return lc_err_set_errno(LC_EIO, r < 0 ? errno : EIO, "cannot read '%s'",
			                        name);
		if (EVP_DigestUpdate(md, buf, (size_t)r) != 1)
			return lc_err_set(LC_ERROR, "sha256: update failed");
		done += (uint64_t)r;
	}
	return lseek(fd, (off_t)n, SEEK_SET) < 0
	               ? lc_err_set_errno(LC_EIO, errno, "cannot seek '%s'", name)
	               : 0;
}

/* 32 bytes of digest -> 64 lower-case hex digits and a NUL. */
static void to_hex(const unsigned char *md, char hex[65])
{
	for (unsigned i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
}

int lc_models_sha256(const char *path, char hex[65])
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned char out[EVP_MAX_MD_SIZE];
	unsigned int len = 0;
	struct stat st;
	int fd = -1, rc;

	if (!md || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1) {
		rc = lc_err_set(LC_ENOMEM, "sha256: cannot start");
		goto out;
	}
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0 || fstat(fd, &st) < 0) {
		rc = lc_err_set_errno(errno == ENOENT ? LC_ENOTFOUND : LC_EIO, errno,
		                      "cannot open '%s'", path);
		goto out;
	}
	if ((rc = hash_fd(md, fd, (uint64_t)st.st_size, path)))
		goto out;
	if (EVP_DigestFinal_ex(md, out, &len) != 1 || len != 32) {
		rc = lc_err_set(LC_ERROR, "sha256: cannot finish");
		goto out;
	}
	to_hex(out, hex);
out:
	if (fd >= 0)
		close(fd);
	EVP_MD_CTX_free(md);
	return rc;
}

/* One request from d->size on. Returns 0, 1 to try again, or an error. */
static int attempt(struct dl *d)
{
	char range[48], if_range[sizeof(d->if_range) + 16];
	struct curl_slist *h = NULL;
	CURLcode cc;
	int rc = 0;

	d->curl = curl_easy_init();
	if (!d->curl)
		return lc_err_set(LC_ENOMEM, "cannot start libcurl");
	d->offset = d->size;
	d->started = 0;
	d->status = 0;
	d->last_now = 0;
	d->last_rx = now_s();
	curl_easy_setopt(d->curl, CURLOPT_URL, d->o->url);
	curl_easy_setopt(d->curl, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(d->curl, CURLOPT_MAXREDIRS, 10L);
	curl_easy_setopt(d->curl, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(d->curl, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(d->curl, CURLOPT_CONNECTTIMEOUT, 30L);
	curl_easy_setopt(d->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(d->curl, CURLOPT_USERAGENT, "lcode");
	curl_easy_setopt(d->curl, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(d->curl, CURLOPT_WRITEDATA, d);
	curl_easy_setopt(d->curl, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(d->curl, CURLOPT_HEADERDATA, d);
	curl_easy_setopt(d->curl, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(d->curl, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(d->curl, CURLOPT_XFERINFODATA, d);
	if (d->offset) {
		snprintf(range, sizeof(range), "%" PRIu64 "-", d->offset);
		curl_easy_setopt(d->curl, CURLOPT_RANGE, range);
		if (d->if_range[0]) {
			snprintf(if_range, sizeof(if_range), "If-Range: %s", d->if_range);
			if (!(h = curl_slist_append(NULL, if_range))) {
				curl_easy_cleanup(d->curl);
				return lc_err_set(LC_ENOMEM, "out of memory");
			}
			curl_easy_setopt(d->curl, CURLOPT_HTTPHEADER, h);
		}
	}
	cc = curl_easy_perform(d->curl);
	if (!d->status)
		curl_easy_getinfo(d->curl, CURLINFO_RESPONSE_CODE, &d->status);
	if (d->err) {
		rc = d->err;
	} else if (d->cancelled) {
		rc = lc_err_set(LC_ECANCELLED, "cancelled");
	} else if (d->status == 416 && d->offset) {
		uint64_t total;
		/* nothing left to send: complete when the server's size is ours */
		if (sscanf(d->content_range, "bytes */%" SCNu64, &total) == 1 &&
		    total == d->offset) {
			d->total = total;
			rc = 0;
		} else {
			rc = lc_err_set(LC_EIO, "HTTP 416 from '%s' for bytes %" PRIu64 "-",
			                d->o->url, d->offset);
		}
	} else if (d->timed_out || cc != CURLE_OK) {
		lc_err_set(d->timed_out ? LC_ETIMEOUT : LC_EIO, "download of '%s' broke off: %s",
		           d->o->url,
		           d->timed_out ? "no data for a while" : curl_easy_strerror(cc));
		rc = 1;
	} else if (d->status == 429 || d->status >= 500) {
		lc_err_set(LC_EIO, "HTTP %ld from '%s'", d->status, d->o->url);
		rc = 1;
	} else if (d->status >= 300 || d->status < 200) {
		rc = lc_err_set(LC_EIO, "HTTP %ld from '%s'", d->status, d->o->url);
	} else if (!d->started) {
		rc = on_start(d); /* an empty body */
	} else if (d->total && d->size != d->total) {
		lc_err_set(LC_EIO, "download of '%s' stopped at %" PRIu64 " of %" PRIu64 " bytes",
		           d->o->url, d->size, d->total);
		rc = 1;
	}
	curl_easy_cleanup(d->curl);
	curl_slist_free_all(h);
	d->curl = NULL;
	return rc;
}

static int fsync_dir_of(const char *path)
{
	char dir[4096];
	const char *slash = strrchr(path, '/');
	int fd, rc = 0;

	snprintf(dir, sizeof(dir), "%.*s", slash ? (int)(slash - path) : 1, slash ? path : ".");
	if (!dir[0])
		snprintf(dir, sizeof(dir), "/");
	fd = open(dir, O_RDONLY | O_DIRECTORY);
	if (fd >= 0) {
		if (fsync(fd) < 0)
			rc = lc_err_set_errno(LC_EIO, errno, "cannot sync '%s'", dir);
		close(fd);
	}
	return rc;
}

int lc_download(const lc_download_opts *o, uint64_t *size_out, char *digest_out)
{
	struct dl d;
	char part[4096], want[65] = "", hex[65];
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int md_len = 0;
	int rc, tries = o->max_attempts > 0 ? o->max_attempts : 4;
	double backoff = 1;
	struct stat st;

	memset(&d, 0, sizeof(d));
	d.o = o;
	d.fd = -1;
	if (o->sha256 && !etag_digest(o->sha256, want))
		return lc_err_set(LC_EPARSE, "--sha256 takes 64 hex digits, not '%s'", o->sha256);
	if ((size_t)snprintf(part, sizeof(part), "%s.part", o->dest) >= sizeof(part) ||
	    (size_t)snprintf(d.if_range_path, sizeof(d.if_range_path), "%s.part.if-range",
	                     o->dest) >= sizeof(d.if_range_path))
		return lc_err_set(LC_ETOOBIG, "path too long: '%s'", o->dest);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return lc_err_set(LC_EIO, "cannot start libcurl");
	if (!(d.md = EVP_MD_CTX_new()) || EVP_DigestInit_ex(d.md, EVP_sha256(), NULL) != 1) {
		rc = lc_err_set(LC_ENOMEM, "sha256: cannot start");
		goto out;
	}
	d.fd = open(part, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (d.fd < 0 || fstat(d.fd, &st) < 0) {
		rc = lc_err_set_errno(LC_EIO, errno, "cannot open '%s'", part);
		goto out;
	}
	if ((rc = hash_fd(d.md, d.fd, (uint64_t)st.st_size, part)))
		goto out;
	if (st.st_size > 0) {
		char *v = NULL;
		size_t n = 0;
		/* A .part without one (or with a damaged one) resumes unconditionally. */
		if (lc_file_read(d.if_range_path, sizeof(d.if_range) - 1, &v, &n) == 0 &&
		    !memchr(v, '\n', n) && !memchr(v, '\r', n))
			snprintf(d.if_range, sizeof(d.if_range), "%s", v);
		free(v);
		lc_err_clear();
	}
	d.size = (uint64_t)st.st_size;
	d.t0 = now_s();
	d.t0_size = d.size;
	for (int i = 1;; i++) {
		rc = attempt(&d);
		if (rc != 1)
			break;
		if (i >= tries) {
			rc = lc_err_code();
			goto out;
		}
		lc_err_clear();
		for (double end = now_s() + backoff; now_s() < end;) {
			struct timespec ts = {0, 50 * 1000 * 1000};
			if (o->cancel && *o->cancel) {
				rc = lc_err_set(LC_ECANCELLED, "cancelled");
				goto out;
			}
			nanosleep(&ts, NULL);
		}
		backoff *= 2;
	}
	if (o->progress && d.size)
		draw(&d, 1);
	if (rc)
		goto out;
	if (fsync(d.fd) < 0) {
		rc = lc_err_set_errno(LC_EIO, errno, "cannot sync '%s'", part);
		goto out;
	}
	if (EVP_DigestFinal_ex(d.md, md, &md_len) != 1 || md_len != 32) {
		rc = lc_err_set(LC_ERROR, "sha256: cannot finish");
		goto out;
	}
	to_hex(md, hex);
	if (!want[0] && !etag_digest(d.linked_etag, want))
		etag_digest(d.etag, want);
	if (want[0] && strcmp(want, hex) != 0) {
		rc = lc_err_set(LC_EDENIED,
		                "'%s' has SHA-256 %s, not %s; the download is kept in '%s' "
		                "(delete it to download again)",
		                o->url, hex, want, part);
		goto out;
	}
	if (rename(part, o->dest) < 0) {
		rc = lc_err_set_errno(LC_EIO, errno, "cannot rename '%s' to '%s'", part, o->dest);
		goto out;
	}
	(void)unlink(d.if_range_path); /* nothing left to resume */
	if ((rc = fsync_dir_of(o->dest)))
		goto out;
	*size_out = d.size;
	if (digest_out)
		memcpy(digest_out, hex, 65);
out:
	if (d.fd >= 0)
		close(d.fd);
	EVP_MD_CTX_free(d.md);
	return rc;
}
