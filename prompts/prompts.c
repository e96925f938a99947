#include "prompts/prompts.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "prompts/prompts_int.h"
#include "src/err.h"
#include "src/file.h"
#include "src/banned.h"

const char *lc_prompt_builtin(const char *name, size_t *len_out)
{
	const struct lc_prompt_entry *e;

	for (e = lc_prompt_table; e->name; e++) {
		if (strcmp(e->name, name) == 0) {
			if (len_out)
				*len_out = e->len;
			return e->text;
		}
	}
	return NULL;
}

int lc_prompt_load(const char *name, lc_buf *out)
{
	const char *dir = getenv("LCODE_PROMPT_DIR");
	const char *text;
	char path[PATH_MAX], *data;
	size_t len;
	int rc;

	if (strchr(name, '/'))
		return lc_err_set(LC_ENOTFOUND, "no prompt named '%s'", name);
	if (dir && dir[0]) {
		if ((size_t)snprintf(path, sizeof(path), "%s/%s.md", dir, name) >= sizeof(path))
			return lc_err_set(LC_EIO, "LCODE_PROMPT_DIR is too long");
		if (lc_file_exists(path)) {
			rc = lc_file_read(path, LC_PROMPT_MAX, &data, &len);
			if (rc)
				return rc;
			rc = lc_buf_add(out, data, len);
			free(data);
			if (rc)
				return lc_err_set(rc, "prompt '%s' does not fit", name);
			return 0;
		}
	}
	text = lc_prompt_builtin(name, &len);
	if (!text)
		return lc_err_set(LC_ENOTFOUND, "no prompt named '%s'", name);
	rc = lc_buf_add(out, text, len);
	if (rc)
		return lc_err_set(rc, "prompt '%s' does not fit", name);
	return 0;
}
