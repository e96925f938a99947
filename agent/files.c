#include "agent/files.h"

#include <stdlib.h>
#include <string.h>

#include "src/buf.h"
#include "src/err.h"
#include "src/file.h"
#include "tools/fs.h"
#include "src/banned.h"

#define PATH_BYTES_MAX 255 /* the constraint matches paths of at most this many bytes */

enum { UNREAD, READ, FAILED };

struct lc_agent_files {
	lc_repo *repo;
	lc_buf list; /* list_files output, newlines turned to NULs */
	/* LC_AGENT_FILES_MAX entries each */
	const char **paths; /* into list */
	size_t n;
	char **text; /* per path, owned, read on first need */
	size_t *len;
	unsigned char *state;
	lc_constraint_files set;
};

static const lc_constraint_bind binds[] = {
        {"read_file", "path", NULL, 0},
        {"edit", "path", "search", 0},
        {"search", "path", NULL, 1},
};

static int read_file(void *ud, size_t i, const char **text, size_t *len)
{
	lc_agent_files *f = ud;
	char abs[LC_REPO_PATH_MAX];

	if (i >= f->n)
		return LC_ENOTFOUND;
	if (f->state[i] == UNREAD) {
		f->state[i] = FAILED;
		if (lc_repo_resolve(f->repo, f->paths[i], 0, abs, sizeof(abs)) == 0 &&
		    lc_file_read(abs, LC_FS_FILE_MAX, &f->text[i], &f->len[i]) == 0)
			f->state[i] = READ;
		lc_err_clear();
	}
	if (f->state[i] != READ)
		return LC_EIO;
	*text = f->text[i];
	*len = f->len[i];
	return 0;
}

int lc_agent_files_new(lc_agent_files **out, lc_repo *repo)
{
	lc_agent_files *f = calloc(1, sizeof(*f));

	if (f) {
		f->paths = calloc(LC_AGENT_FILES_MAX, sizeof(*f->paths));
		f->text = calloc(LC_AGENT_FILES_MAX, sizeof(*f->text));
		f->len = calloc(LC_AGENT_FILES_MAX, sizeof(*f->len));
		f->state = calloc(LC_AGENT_FILES_MAX, 1);
	}
	if (!f || !f->paths || !f->text || !f->len || !f->state) {
		lc_agent_files_free(f);
		return lc_err_set(LC_ENOMEM, "out of memory");
	}
	f->repo = repo;
	lc_buf_init(&f->list, (size_t)LC_AGENT_FILES_MAX * (PATH_BYTES_MAX + 1) + 4096);
	*out = f;
	return 0;
}

static void forget(lc_agent_files *f)
{
	for (size_t i = 0; i < f->n; i++)
		free(f->text[i]);
	f->n = 0;
}

void lc_agent_files_free(lc_agent_files *f)
{
	if (!f)
		return;
	forget(f);
	lc_buf_release(&f->list);
	free(f->paths);
	free(f->text);
	free(f->len);
	free(f->state);
	free(f);
}

const lc_constraint_files *lc_agent_files_refresh(lc_agent_files *f)
{
	lc_fs_list_opts o = {LC_AGENT_FILES_MAX, (size_t)LC_AGENT_FILES_MAX * (PATH_BYTES_MAX + 1)};
	char *p, *end;

	forget(f);
	lc_buf_reset(&f->list);
	if (lc_fs_list(f->repo, NULL, NULL, &o, &f->list) < 0 || !f->list.data) {
		lc_err_clear();
		return NULL;
	}
	p = f->list.data;
	end = p + f->list.len;
	while (p < end) {
		char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		if (p[0] == '[' || n == 0 || n > PATH_BYTES_MAX || f->n == LC_AGENT_FILES_MAX) {
			/* "[no files]", "[... N more files ...]", or a path the
			 * constraint cannot match: no file constraint. */
			f->n = 0;
			return NULL;
		}
		p[n] = '\0';
		f->paths[f->n] = p;
		f->text[f->n] = NULL;
		f->state[f->n] = UNREAD;
		f->n++;
		p += n + 1;
	}
	f->set.paths = f->paths;
	f->set.n_paths = f->n;
	f->set.binds = binds;
	f->set.n_binds = sizeof(binds) / sizeof(binds[0]);
	f->set.read = read_file;
	f->set.ud = f;
	return f->n ? &f->set : NULL;
}
