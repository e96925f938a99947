/*
 * files.h - the repository's files as constrained calls may name and quote
 * them (lc_constraint_set_files, constrain.h).
 *
 * Bindings: read_file's path and edit's path must name a listed file, and
 * edit's search must be whole lines of it; search's path names a listed file
 * or a directory holding some. The list is what list_files shows
 * for the whole repository (tools/fs.h: ignored files left out); a repository
 * with more than LC_AGENT_FILES_MAX files, or a path over 255 bytes, gets no
 * file constraint at all rather than a partial one. Contents are read when a
 * quote first needs them and kept until the next refresh.
 */
#ifndef LC_AGENT_FILES_H
#define LC_AGENT_FILES_H

#include "agent/constrain.h"
#include "tools/repo.h"

#define LC_AGENT_FILES_MAX 4000

typedef struct lc_agent_files lc_agent_files;

/* A new, empty set over repo (borrowed). Errors: LC_ENOMEM. */
int lc_agent_files_new(lc_agent_files **out, lc_repo *repo);
void lc_agent_files_free(lc_agent_files *f);

/*
 * List the files again and forget cached contents; call before each model
 * step, since the last step may have changed them. Returns the set to give
 * the constraint (owned by f, valid until the next refresh), or NULL when
 * the repository cannot be listed or is over the limits.
 */
const lc_constraint_files *lc_agent_files_refresh(lc_agent_files *f);

#endif
