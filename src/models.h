/*
 * models.h - the directory of downloaded model files, and downloads.
 *
 * `lcode pull` stores GGUF files under $XDG_CACHE_HOME/lcode/models
 * (~/.cache/lcode/models when XDG_CACHE_HOME is unset or empty, as the XDG
 * Base Directory specification says); `lcode models` lists them; --model
 * accepts their names.
 */
#ifndef LC_MODELS_H
#define LC_MODELS_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Write the models directory's path into out (cap bytes). Creates nothing.
 * Errors: LC_ENOTFOUND (neither XDG_CACHE_HOME nor HOME is set),
 * LC_ETOOBIG (the path does not fit).
 */
int lc_models_dir(char *out, size_t cap);

/*
 * The file a --model argument names: the argument itself when it is an
 * existing file or holds a '/', else NAME or NAME.gguf in the models
 * directory when one of them exists, else the argument unchanged (opening it
 * then gives the usual error). Writes out (cap bytes). Errors: LC_ETOOBIG.
 */
int lc_models_resolve(const char *name, char *out, size_t cap);

/*
 * The SHA-256 of the file at path (OpenSSL), as 64 lower-case hex digits
 * and a NUL in hex. Reads the whole file. Errors: LC_ENOTFOUND, LC_EIO,
 * LC_ENOMEM.
 */
int lc_models_sha256(const char *path, char hex[65]);

typedef struct lc_download_opts {
	const char *url;  /* http:// or https:// */
	const char *dest; /* the final path; the data goes to dest + ".part" first */
	const char
	        *sha256; /* expected digest, 64 hex digits; NULL: the server's, if it sends one */
	int progress;    /* draw a progress bar on stderr */
	volatile sig_atomic_t *cancel; /* may be NULL */
	int idle_timeout_ms;           /* longest silence; 0: 60000 */
	int max_attempts;              /* tries on a broken connection; 0: 4 */
} lc_download_opts;

/*
 * Download url to dest. The bytes go to dest.part; an existing .part is
 * resumed with an HTTP Range request (a server that ignores the range sends
 * the whole file and the .part starts over), and a connection that breaks
 * is resumed the same way, up to max_attempts times. What identifies the
 * version being downloaded (its strong ETag, else its Last-Modified date)
 * is kept in dest.part.if-range and sent as If-Range with every resuming
 * request (RFC 9110, 13.1.5), so a file that changed on the server since is
 * downloaded whole instead of being spliced onto the old version's bytes; a
 * .part without it resumes unconditionally. dest.part.if-range is removed
 * when dest is complete. The SHA-256 of the
 * whole file (OpenSSL) is checked against opts->sha256, or else against
 * the digest the server names: Hugging Face's X-Linked-ETag, or an ETag of
 * 64 hex digits. Only a complete file whose digest matches (or for which no
 * digest is known) is renamed to dest. On a mismatch the .part stays (a
 * mistyped --sha256 should not cost the download) and the message says so.
 * *size_out and digest_out (65 bytes, may be NULL) get the size and hex
 * digest. Errors: LC_EIO (network, HTTP status, disk), LC_ETIMEOUT,
 * LC_EPARSE (a digest that is not 64 hex digits, a Content-Range that does
 * not fit), LC_EDENIED (digest mismatch), LC_ECANCELLED, LC_ETOOBIG (a file
 * over 1 TiB).
 */
int lc_download(const lc_download_opts *opts, uint64_t *size_out, char *digest_out);

#endif
