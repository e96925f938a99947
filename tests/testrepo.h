/*
 * testrepo.h - scratch git repositories for tests/test_repo.c, test_fs.c and
 * test_git.c. Repositories are made and checked with the git program, so the
 * checks do not depend on the libgit2 code under test.
 *
 * Everything is static inline: include it in one test file each.
 */
#ifndef LC_TESTREPO_H
#define LC_TESTREPO_H

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/*
 * Keep the user's own git configuration out of the tests: HOME and
 * XDG_CONFIG_HOME point at an empty directory and the system file is skipped.
 * Call first thing in main().
 */
static inline void testrepo_isolate(void)
{
	static char home[] = "/tmp/lcode-home-XXXXXX";

	if (!mkdtemp(home))
		abort();
	setenv("HOME", home, 1);
	setenv("XDG_CONFIG_HOME", home, 1);
	setenv("GIT_CONFIG_NOSYSTEM", "1", 1);
	unsetenv("GIT_DIR");
	unsetenv("GIT_WORK_TREE");
	unsetenv("GIT_INDEX_FILE");
}

/* Run a shell command (printf format); its exit status. Output goes to /dev/null. */
static inline int testrepo_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static inline int testrepo_sh(const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;
	int n, st;

	va_start(ap, fmt);
	n = vsnprintf(cmd, sizeof(cmd) - 32, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(cmd) - 32)
		return -1;
	memcpy(cmd + n, " >/dev/null 2>&1", 17);
	st = system(cmd);
	return st == -1 ? -1 : WEXITSTATUS(st);
}

/* The standard output of a shell command (printf format), owned; NULL on failure. */
static inline char *testrepo_out(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static inline char *testrepo_out(const char *fmt, ...)
{
	char cmd[4096];
	char *data = NULL;
	size_t len = 0, cap = 0, n;
	va_list ap;
	FILE *p;
	int r;

	va_start(ap, fmt);
	r = vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	if (r < 0 || (size_t)r >= sizeof(cmd) || !(p = popen(cmd, "r")))
		return NULL;
	for (;;) {
		if (cap - len < 4096) {
			char *nd = realloc(data, cap + 8192);
			if (!nd)
				break;
			data = nd;
			cap += 8192;
		}
		n = fread(data + len, 1, cap - len - 1, p);
		if (n == 0)
			break;
		len += n;
	}
	pclose(p);
	if (data)
		data[len] = '\0';
	return data;
}

/* Write len bytes (len (size_t)-1: strlen) to dir/rel, making parent directories. */
static inline int testrepo_write(const char *dir, const char *rel, const char *data, size_t len)
{
	char path[PATH_MAX];
	FILE *f;
	size_t i;

	if (len == (size_t)-1)
		len = strlen(data);
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, rel) >= sizeof(path))
		return -1;
	for (i = strlen(dir) + 1; path[i]; i++) {
		if (path[i] == '/') {
			path[i] = '\0';
			mkdir(path, 0777);
			path[i] = '/';
		}
	}
	if (!(f = fopen(path, "wb")))
		return -1;
	if (fwrite(data, 1, len, f) != len) {
		fclose(f);
		return -1;
	}
	return fclose(f) == 0 ? 0 : -1;
}

/* Contents of dir/rel, owned; NULL when missing. *len_out (may be NULL) the length. */
static inline char *testrepo_read(const char *dir, const char *rel, size_t *len_out)
{
	char path[PATH_MAX];
	char *data;
	long n;
	FILE *f;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, rel) >= sizeof(path))
		return NULL;
	if (!(f = fopen(path, "rb")))
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	data = malloc((size_t)n + 1);
	if (data && fread(data, 1, (size_t)n, f) != (size_t)n) {
		free(data);
		data = NULL;
	}
	fclose(f);
	if (data) {
		data[n] = '\0';
		if (len_out)
			*len_out = (size_t)n;
	}
	return data;
}

/*
 * A new empty repository on branch main in a fresh temp directory, with
 * user.name "Test User" and user.email "test@example.com" in its config when
 * with_user is set. The path is written to dir (PATH_MAX bytes).
 */
static inline int testrepo_init(char *dir, int with_user)
{
	snprintf(dir, PATH_MAX, "/tmp/lcode-repo-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	if (testrepo_sh("git init -q -b main '%s'", dir) != 0)
		return -1;
	if (with_user && (testrepo_sh("git -C '%s' config user.name 'Test User'", dir) != 0 ||
	                  testrepo_sh("git -C '%s' config user.email test@example.com", dir) != 0))
		return -1;
	return 0;
}

/* Remove a scratch directory made by testrepo_init. */
static inline void testrepo_remove(const char *dir)
{
	if (strncmp(dir, "/tmp/lcode-repo-", 16) == 0)
		testrepo_sh("rm -rf '%s'", dir);
}

#endif
