#include "src/file.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "src/err.h"
#include "src/banned.h"

int lc_file_read(const char *path, size_t max, char **out, size_t *len_out)
{
	struct stat st;
	char *data = NULL;
	size_t len = 0, cap;
	ssize_t n;
	int fd, rc = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return lc_err_set_errno(errno == ENOENT ? LC_ENOTFOUND : LC_EIO, errno,
		                        "cannot open '%s'", path);
	if (fstat(fd, &st) < 0) {
		rc = lc_err_set_errno(LC_EIO, errno, "cannot stat '%s'", path);
		goto out_close;
	}
	if (S_ISDIR(st.st_mode)) {
		rc = lc_err_set(LC_EIO, "'%s' is a directory", path);
		goto out_close;
	}
	if (S_ISREG(st.st_mode) && (uintmax_t)st.st_size > max) {
		rc = lc_err_set(LC_ETOOBIG, "'%s' has %jd bytes, more than the limit of %zu", path,
		                (intmax_t)st.st_size, max);
		goto out_close;
	}
	/* The size may change under us (or be 0 for pipes): read until EOF. */
	cap = S_ISREG(st.st_mode) ? (size_t)st.st_size + 1 : 4096;
	data = malloc(cap + 1);
	if (!data) {
		rc = lc_err_set(LC_ENOMEM, "out of memory reading '%s'", path);
		goto out_close;
	}
	for (;;) {
		if (len == cap) {
			size_t ncap = cap * 2;
			char *p;
			if (cap > max) {
				rc = lc_err_set(LC_ETOOBIG,
				                "'%s' is larger than the limit of %zu bytes", path,
				                max);
				goto out_free;
			}
			p = realloc(data, ncap + 1);
			if (!p) {
				rc = lc_err_set(LC_ENOMEM, "out of memory reading '%s'", path);
				goto out_free;
			}
			data = p;
			cap = ncap;
		}
		n = read(fd, data + len, cap - len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			rc = lc_err_set_errno(LC_EIO, errno, "cannot read '%s'", path);
			goto out_free;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len > max) {
		rc = lc_err_set(LC_ETOOBIG, "'%s' is larger than the limit of %zu bytes", path,
		                max);
		goto out_free;
	}
	data[len] = '\0';
	*out = data;
	if (len_out)
		*len_out = len;
	close(fd);
	return 0;
out_free:
	free(data);
out_close:
	close(fd);
	return rc;
}

static mode_t process_umask;
static pthread_once_t umask_once = PTHREAD_ONCE_INIT;

static void umask_read(void)
{
	/* umask() can only be read by setting it; do it once, early. */
	process_umask = umask(022);
	umask(process_umask);
}

static int write_all(int fd, const unsigned char *p, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int lc_file_stage_write(lc_file_stage *st, const char *path, const void *data, size_t len)
{
	char dir[PATH_MAX], base[PATH_MAX];
	struct stat sb;
	mode_t mode;
	int fd = -1, rc = 0, n;

	st->tmp[0] = '\0';
	/* Write through a symbolic link to the file it names. */
	if (lstat(path, &sb) == 0 && S_ISLNK(sb.st_mode)) {
		if (!realpath(path, st->target))
			return lc_err_set_errno(LC_EIO, errno, "cannot resolve link '%s'", path);
	} else if ((size_t)snprintf(st->target, sizeof(st->target), "%s", path) >=
	           sizeof(st->target)) {
		return lc_err_set(LC_EIO, "path too long: '%s'", path);
	}
	snprintf(dir, sizeof(dir), "%s", st->target);
	snprintf(base, sizeof(base), "%s", st->target);
	n = snprintf(st->tmp, sizeof(st->tmp), "%s/.%s.lcode-XXXXXX", dirname(dir), basename(base));
	if (n < 0 || (size_t)n >= sizeof(st->tmp)) {
		st->tmp[0] = '\0';
		return lc_err_set(LC_EIO, "path too long: '%s'", path);
	}

	if (stat(st->target, &sb) == 0) {
		mode = sb.st_mode & 07777;
	} else {
		pthread_once(&umask_once, umask_read);
		mode = 0666 & ~process_umask;
	}
	fd = mkostemp(st->tmp, O_CLOEXEC);
	if (fd < 0) {
		st->tmp[0] = '\0';
		return lc_err_set_errno(errno == ENOENT ? LC_ENOTFOUND : LC_EIO, errno,
		                        "cannot create a temporary file beside '%s'", path);
	}
	if (fchmod(fd, mode) < 0) {
		rc = lc_err_set_errno(LC_EIO, errno, "cannot set the mode of '%s'", st->tmp);
		goto out_unlink;
	}
	if (write_all(fd, data, len) < 0) {
		rc = lc_err_set_errno(LC_EIO, errno, "cannot write '%s'", path);
		goto out_unlink;
	}
	if (fsync(fd) < 0) {
		rc = lc_err_set_errno(LC_EIO, errno, "cannot sync '%s'", path);
		goto out_unlink;
	}
	if (close(fd) < 0) {
		fd = -1;
		rc = lc_err_set_errno(LC_EIO, errno, "cannot close '%s'", path);
		goto out_unlink;
	}
	return 0;
out_unlink:
	if (fd >= 0)
		close(fd);
	lc_file_stage_discard(st);
	return rc;
}

int lc_file_stage_commit(lc_file_stage *st)
{
	char dir[PATH_MAX];
	int dfd;

	if (rename(st->tmp, st->target) < 0) {
		int rc = lc_err_set_errno(LC_EIO, errno, "cannot rename over '%s'", st->target);

		lc_file_stage_discard(st);
		return rc;
	}
	st->tmp[0] = '\0';
	/* Make the rename itself durable. */
	snprintf(dir, sizeof(dir), "%s", st->target);
	dfd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
	return 0;
}

void lc_file_stage_discard(lc_file_stage *st)
{
	if (st->tmp[0])
		unlink(st->tmp);
	st->tmp[0] = '\0';
}

int lc_file_write_atomic(const char *path, const void *data, size_t len)
{
	lc_file_stage st;
	int rc = lc_file_stage_write(&st, path, data, len);

	return rc ? rc : lc_file_stage_commit(&st);
}

int lc_file_exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0;
}
