#include "tools/git.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <git2.h>
#include <git2/sys/repository.h>

#include "src/err.h"
#include "src/file.h"
#include "tools/repo_int.h"
#include "src/banned.h"

/* Largest undo journal read back. */
#define JOURNAL_FILE_MAX (8u << 20)

/* Room kept for the closing note of a cut listing or diff. */
#define NOTE_RESERVE 160

#define SNAPSHOT_REF_PREFIX "refs/lcode/snapshots/"

/* The messages of the journal's own snapshots; the sweep removes only these. */
#define MSG_BEFORE "lcode snapshot: before a change\n"
#define MSG_AFTER  "lcode snapshot: after a change\n"

/* ---- small helpers -------------------------------------------------------- */

struct strvec {
	char **v;
	size_t n, cap;
};

static void strvec_release(struct strvec *sv)
{
	size_t i;

	for (i = 0; i < sv->n; i++)
		free(sv->v[i]);
	free(sv->v);
	sv->v = NULL;
	sv->n = sv->cap = 0;
}

static int strvec_has(const struct strvec *sv, const char *s)
{
	size_t i;

	for (i = 0; i < sv->n; i++)
		if (strcmp(sv->v[i], s) == 0)
			return 1;
	return 0;
}

static int strvec_push(struct strvec *sv, const char *s)
{
	if (sv->n == sv->cap) {
		size_t ncap = sv->cap ? sv->cap * 2 : 16;
		char **nv;

		if (ncap > SIZE_MAX / sizeof(*nv) || !(nv = realloc(sv->v, ncap * sizeof(*nv))))
			return lc_err_set(LC_ENOMEM, "git: out of memory");
		sv->v = nv;
		sv->cap = ncap;
	}
	if (!(sv->v[sv->n] = strdup(s)))
		return lc_err_set(LC_ENOMEM, "git: out of memory");
	sv->n++;
	return 0;
}

/* Push s unless it is there already. */
static int strvec_add_unique(struct strvec *sv, const char *s)
{
	return strvec_has(sv, s) ? 0 : strvec_push(sv, s);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* 1 when rel is prefix or lies below it. */
static int under_prefix(const char *rel, const char *prefix)
{
	size_t n = strlen(prefix);

	if (n == 0)
		return 1;
	return strncmp(rel, prefix, n) == 0 && (rel[n] == '\0' || rel[n] == '/');
}

static int abs_path(lc_repo *repo, const char *rel, char *buf, size_t cap)
{
	int n = snprintf(buf, cap, "%s/%s", lc_repo_root(repo), rel);

	if (n < 0 || (size_t)n >= cap)
		return lc_err_set(LC_ETOOBIG, "git: path '%.64s...' is too long", rel);
	return 0;
}

/* The path a status entry is about (no rename detection: old and new agree). */
static const char *status_path(const git_status_entry *e)
{
	const git_diff_delta *d = e->index_to_workdir ? e->index_to_workdir : e->head_to_index;

	if (!d)
		return NULL;
	return d->new_file.path ? d->new_file.path : d->old_file.path;
}

/*
 * HEAD's commit into *out (free with git_commit_free). Returns 0, 1 when HEAD
 * has no commit (unborn branch), or a negative LC_E* code.
 */
static int head_commit(git_repository *git, git_commit **out)
{
	git_reference *head = NULL;
	git_object *obj = NULL;
	int grc = git_repository_head(&head, git);

	if (grc == GIT_EUNBORNBRANCH || grc == GIT_ENOTFOUND) {
		git_error_clear();
		return 1;
	}
	if (grc < 0)
		return lc_repo_git_error(LC_EIO, "git: cannot read HEAD");
	grc = git_reference_peel(&obj, head, GIT_OBJECT_COMMIT);
	git_reference_free(head);
	if (grc < 0)
		return lc_repo_git_error(LC_EIO, "git: HEAD does not name a commit");
	*out = (git_commit *)obj;
	return 0;
}

static int status_list(git_repository *git, git_status_show_t show, git_status_list **out)
{
	git_status_options so;

	git_status_options_init(&so, GIT_STATUS_OPTIONS_VERSION);
	so.show = show;
	so.flags = GIT_STATUS_OPT_INCLUDE_UNTRACKED | GIT_STATUS_OPT_RECURSE_UNTRACKED_DIRS |
	           GIT_STATUS_OPT_EXCLUDE_SUBMODULES | GIT_STATUS_OPT_SORT_CASE_SENSITIVELY;
	if (git_status_list_new(out, git, &so) < 0)
		return lc_repo_git_error(LC_EIO, "git: cannot read the work tree status");
	return 0;
}

static uint32_t mode_of(const struct stat *st)
{
	if (S_ISLNK(st->st_mode))
		return GIT_FILEMODE_LINK;
	return (st->st_mode & 0100) ? GIT_FILEMODE_BLOB_EXECUTABLE : GIT_FILEMODE_BLOB;
}

/*
 * Store the work tree file rel as a blob (clean filters applied, as git add
 * does) and put it in idx. A file that is missing or is a directory is left
 * out; so is a regular file over size_cap (0 = no cap).
 */
static int index_add_workdir(lc_repo *repo, git_index *idx, const char *rel, uint64_t size_cap)
{
	char abs[LC_REPO_PATH_MAX];
	git_index_entry e;
	struct stat st;
	git_oid oid;
	int rc;

	if ((rc = abs_path(repo, rel, abs, sizeof(abs))) < 0)
		return rc;
	if (lstat(abs, &st) < 0 || S_ISDIR(st.st_mode))
		return 0;
	if (size_cap && S_ISREG(st.st_mode) && (uint64_t)st.st_size > size_cap)
		return 0;
	if (git_blob_create_from_workdir(&oid, lc_repo_git(repo), rel) < 0)
		return lc_repo_git_error(LC_EIO, "git: cannot store '%s'", rel);
	memset(&e, 0, sizeof(e));
	e.mode = mode_of(&st);
	e.id = oid;
	e.path = rel;
	if (git_index_add(idx, &e) < 0)
		return lc_repo_git_error(LC_EIO, "git: cannot stage '%s'", rel);
	return 0;
}

/* ---- snapshots -------------------------------------------------------- */

/* The tree of the work tree as it is on disk (see git.h). */
static int snapshot_tree(lc_repo *repo, git_oid *tree_out)
{
	git_repository *git = lc_repo_git(repo);
	git_index *ridx = NULL, *idx = NULL;
	git_status_list *st = NULL;
	size_t i, n;
	int rc = 0;

	if (git_repository_index(&ridx, git) < 0 || git_index_read(ridx, 0) < 0 ||
	    git_index_new(&idx) < 0) {
		rc = lc_repo_git_error(LC_EIO, "git: cannot read the index");
		goto out;
	}
	/* Files the status reports unchanged are stored as the index has them. */
	n = git_index_entrycount(ridx);
	for (i = 0; i < n; i++) {
		const git_index_entry *e = git_index_get_byindex(ridx, i);

		if (e && git_index_entry_stage(e) == 0 && git_index_add(idx, e) < 0) {
			rc = lc_repo_git_error(LC_EIO, "git: cannot copy the index");
			goto out;
		}
	}
	if ((rc = status_list(git, GIT_STATUS_SHOW_WORKDIR_ONLY, &st)) < 0)
		goto out;
	n = git_status_list_entrycount(st);
	for (i = 0; i < n; i++) {
		const git_status_entry *e = git_status_byindex(st, i);
		const char *path = e ? status_path(e) : NULL;
		size_t len = path ? strlen(path) : 0;

		if (!path || len == 0 || path[len - 1] == '/')
			continue; /* nested repositories are not ours to record */
		if (e->status & GIT_STATUS_WT_DELETED) {
			if (git_index_remove_bypath(idx, path) < 0) {
				rc = lc_repo_git_error(LC_EIO, "git: cannot drop '%s'", path);
				goto out;
			}
		} else if (e->status & (GIT_STATUS_WT_NEW | GIT_STATUS_WT_MODIFIED |
		                        GIT_STATUS_WT_TYPECHANGE | GIT_STATUS_CONFLICTED)) {
			rc = index_add_workdir(
			        repo, idx, path,
			        (e->status & GIT_STATUS_WT_NEW) ? LC_GIT_SNAPSHOT_FILE_MAX : 0);
			if (rc < 0)
				goto out;
		}
	}
	if (git_index_write_tree_to(tree_out, idx, git) < 0)
		rc = lc_repo_git_error(LC_EIO, "git: cannot write the snapshot tree");
out:
	git_status_list_free(st);
	git_index_free(idx);
	git_index_free(ridx);
	return rc;
}

static int make_snapshot(lc_repo *repo, const char *message, git_oid *commit_out)
{
	git_repository *git = lc_repo_git(repo);
	git_signature *sig = NULL;
	git_commit *parent = NULL;
	git_tree *tree = NULL;
	git_reference *ref = NULL;
	const git_commit *parents[1];
	char name[sizeof(SNAPSHOT_REF_PREFIX) + LC_GIT_OID_HEX];
	char hex[LC_GIT_OID_HEX];
	git_oid tree_id, cid;
	int rc, unborn;

	if ((rc = snapshot_tree(repo, &tree_id)) < 0)
		return rc;
	if ((unborn = head_commit(git, &parent)) < 0)
		return unborn;
	parents[0] = parent;
	rc = LC_EIO;
	if (git_tree_lookup(&tree, git, &tree_id) < 0 ||
	    git_signature_now(&sig, "lcode", "lcode@localhost") < 0) {
		rc = lc_repo_git_error(LC_EIO, "git: cannot prepare the snapshot");
		goto out;
	}
	/* No update_ref: the commit object exists, nothing points at it yet. */
	if (git_commit_create(&cid, git, NULL, sig, sig, NULL, message, tree, unborn ? 0 : 1,
	                      parents) < 0) {
		rc = lc_repo_git_error(LC_EIO, "git: cannot write the snapshot commit");
		goto out;
	}
	git_oid_tostr(hex, sizeof(hex), &cid);
	snprintf(name, sizeof(name), SNAPSHOT_REF_PREFIX "%s", hex);
	if (git_reference_create(&ref, git, name, &cid, 1, "lcode: snapshot") < 0) {
		rc = lc_repo_git_error(LC_EIO, "git: cannot create '%s'", name);
		goto out;
	}
	*commit_out = cid;
	rc = 0;
out:
	git_reference_free(ref);
	git_signature_free(sig);
	git_tree_free(tree);
	git_commit_free(parent);
	return rc;
}

int lc_git_snapshot(lc_repo *repo, const char *message, char oid_out[LC_GIT_OID_HEX])
{
	git_oid cid;
	int rc = make_snapshot(repo, message && *message ? message : "lcode snapshot\n", &cid);

	if (rc == 0)
		git_oid_tostr(oid_out, LC_GIT_OID_HEX, &cid);
	return rc;
}

/* The tree of the commit named by hex; free with git_tree_free. */
static int tree_of(git_repository *git, const char *hex, git_tree **out)
{
	git_commit *c = NULL;
	git_oid oid;
	int grc;

	if (!hex || git_oid_fromstr(&oid, hex) < 0)
		return lc_err_set(LC_EPARSE, "git: undo journal: bad object id '%s'",
		                  hex ? hex : "(none)");
	if (git_commit_lookup(&c, git, &oid) < 0)
		return lc_repo_git_error(LC_EIO, "git: snapshot %.12s is missing", hex);
	grc = git_commit_tree(out, c);
	git_commit_free(c);
	if (grc < 0)
		return lc_repo_git_error(LC_EIO, "git: snapshot %.12s has no tree", hex);
	return 0;
}

/* ---- the undo journal ------------------------------------------------- */

static int journal_path(lc_repo *repo, char *buf, size_t cap, int make_dir)
{
	const char *gd = git_repository_path(lc_repo_git(repo)); /* ends in '/' */
	int n = snprintf(buf, cap, "%slcode", gd);

	if (n < 0 || (size_t)n >= cap)
		return lc_err_set(LC_ETOOBIG, "git: git directory path is too long");
	if (make_dir && mkdir(buf, 0777) < 0 && errno != EEXIST)
		return lc_err_set_errno(LC_EIO, errno, "git: cannot create '%s'", buf);
	n = snprintf(buf, cap, "%slcode/undo.json", gd);
	if (n < 0 || (size_t)n >= cap)
		return lc_err_set(LC_ETOOBIG, "git: git directory path is too long");
	return 0;
}

/* The journal (free with cJSON_Delete); an empty one when there is no file. */
static int journal_load(lc_repo *repo, cJSON **out)
{
	char path[LC_REPO_PATH_MAX];
	char *data = NULL;
	size_t len = 0;
	cJSON *j = NULL;
	int rc;

	if ((rc = journal_path(repo, path, sizeof(path), 0)) < 0)
		return rc;
	rc = lc_file_read(path, JOURNAL_FILE_MAX, &data, &len);
	if (rc == LC_ENOTFOUND) {
		lc_err_clear();
		j = cJSON_CreateObject();
		if (!j || !cJSON_AddNumberToObject(j, "version", 1) ||
		    !cJSON_AddArrayToObject(j, "changes")) {
			cJSON_Delete(j);
			return lc_err_set(LC_ENOMEM, "git: out of memory");
		}
		*out = j;
		return 0;
	}
	if (rc < 0)
		return rc;
	j = cJSON_ParseWithLength(data, len);
	free(data);
	if (!j || !cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(j, "changes"))) {
		cJSON_Delete(j);
		return lc_err_set(LC_EPARSE, "git: the undo journal '%s' is damaged", path);
	}
	*out = j;
	return 0;
}

static int journal_save(lc_repo *repo, cJSON *j)
{
	char path[LC_REPO_PATH_MAX];
	char *text;
	int rc;

	if ((rc = journal_path(repo, path, sizeof(path), 1)) < 0)
		return rc;
	if (!(text = cJSON_Print(j)))
		return lc_err_set(LC_ENOMEM, "git: out of memory");
	rc = lc_file_write_atomic(path, text, strlen(text));
	free(text);
	return rc;
}

static const char *json_str(const cJSON *obj, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int json_set_str(cJSON *obj, const char *key, const char *value)
{
	cJSON *v = cJSON_CreateString(value);

	if (!v)
		return lc_err_set(LC_ENOMEM, "git: out of memory");
	if (cJSON_GetObjectItemCaseSensitive(obj, key))
		cJSON_ReplaceItemInObjectCaseSensitive(obj, key, v);
	else
		cJSON_AddItemToObject(obj, key, v);
	return 0;
}

int lc_git_change_begin(lc_repo *repo)
{
	char hex[LC_GIT_OID_HEX];
	cJSON *j = NULL;
	git_oid cid;
	int rc;

	if ((rc = journal_load(repo, &j)) < 0)
		return rc;
	if (json_str(j, "pending"))
		goto out; /* still open: keep the older "before" */
	if ((rc = make_snapshot(repo, MSG_BEFORE, &cid)) < 0)
		goto out;
	git_oid_tostr(hex, sizeof(hex), &cid);
	if ((rc = json_set_str(j, "pending", hex)) < 0)
		goto out;
	rc = journal_save(repo, j);
out:
	cJSON_Delete(j);
	return rc;
}

/* The paths of the blobs and links that differ between trees a and b, sorted. */
static int tree_diff_paths(git_repository *git, git_tree *a, git_tree *b, struct strvec *out)
{
	git_diff *diff = NULL;
	size_t i, n;
	int rc = 0;

	if (git_diff_tree_to_tree(&diff, git, a, b, NULL) < 0)
		return lc_repo_git_error(LC_EIO, "git: cannot compare snapshots");
	n = git_diff_num_deltas(diff);
	for (i = 0; i < n && rc == 0; i++) {
		const git_diff_delta *d = git_diff_get_delta(diff, i);

		if (d->old_file.mode == GIT_FILEMODE_COMMIT ||
		    d->new_file.mode == GIT_FILEMODE_COMMIT)
			continue; /* submodules are not restored */
		rc = strvec_add_unique(out, d->status == GIT_DELTA_DELETED ? d->old_file.path
		                                                           : d->new_file.path);
	}
	git_diff_free(diff);
	if (rc == 0 && out->n > 1)
		qsort(out->v, out->n, sizeof(*out->v), cmp_str);
	return rc;
}

/*
 * Keep the snapshots of the last LC_GIT_SNAPSHOTS_KEPT changes of the
 * journal: older entries lose their "before" and "after" (they stay for
 * lc_git_commit's list of uncommitted paths, but can no longer be undone).
 * *kept gets the snapshot ids still referenced by the journal.
 */
static int journal_trim_snapshots(cJSON *j, struct strvec *kept)
{
	static const char *const keys[] = {"before", "after"};
	cJSON *changes = cJSON_GetObjectItemCaseSensitive(j, "changes"), *e;
	int n = cJSON_GetArraySize(changes), i = 0, rc = 0;
	const char *pending = json_str(j, "pending");

	if (pending && (rc = strvec_add_unique(kept, pending)) < 0)
		return rc;
	cJSON_ArrayForEach(e, changes)
	{
		size_t k;

		if (i++ < n - LC_GIT_SNAPSHOTS_KEPT) {
			if (json_str(e, "before") && !cJSON_AddTrueToObject(e, "snapshots_dropped"))
				return lc_err_set(LC_ENOMEM, "git: out of memory");
			for (k = 0; k < 2; k++)
				cJSON_DeleteItemFromObjectCaseSensitive(e, keys[k]);
			continue;
		}
		for (k = 0; k < 2; k++)
			if (json_str(e, keys[k]) &&
			    (rc = strvec_add_unique(kept, json_str(e, keys[k]))) < 0)
				return rc;
	}
	return 0;
}

/*
 * Delete the refs of the journal's own snapshots (by their message) that
 * are not in kept: those of changes that changed nothing, that were undone,
 * or that are older than the last LC_GIT_SNAPSHOTS_KEPT; snapshots made by
 * lc_git_snapshot() stay. Refs only: git gc prunes the commits later.
 */
static int sweep_snapshot_refs(git_repository *git, const struct strvec *kept)
{
	git_reference_iterator *it = NULL;
	git_reference *ref;
	struct strvec doomed = {0};
	size_t i;
	int rc = 0, grc;

	if (git_reference_iterator_glob_new(&it, git, SNAPSHOT_REF_PREFIX "*") < 0)
		return lc_repo_git_error(LC_EIO, "git: cannot list the snapshot refs");
	while (rc == 0 && (grc = git_reference_next(&ref, it)) == 0) {
		const git_oid *id = git_reference_target(ref);
		git_commit *c = NULL;
		char hex[LC_GIT_OID_HEX];

		if (id) {
			git_oid_tostr(hex, sizeof(hex), id);
			if (!strvec_has(kept, hex) && git_commit_lookup(&c, git, id) == 0) {
				const char *msg = git_commit_message(c);

				if (msg &&
				    (strcmp(msg, MSG_BEFORE) == 0 || strcmp(msg, MSG_AFTER) == 0))
					rc = strvec_push(&doomed, git_reference_name(ref));
				git_commit_free(c);
			}
			git_error_clear();
		}
		git_reference_free(ref);
	}
	git_reference_iterator_free(it);
	for (i = 0; rc == 0 && i < doomed.n; i++)
		if (git_reference_remove(git, doomed.v[i]) < 0)
			rc = lc_repo_git_error(LC_EIO, "git: cannot delete '%s'", doomed.v[i]);
	strvec_release(&doomed);
	return rc;
}

int lc_git_change_end(lc_repo *repo, size_t *n_files_out)
{
	git_repository *git = lc_repo_git(repo);
	git_tree *before = NULL, *after = NULL;
	struct strvec paths = {0}, kept = {0};
	char hex[LC_GIT_OID_HEX];
	cJSON *j = NULL, *entry = NULL, *arr, *changes;
	const char *pending;
	git_oid cid;
	size_t i;
	int rc;

	if ((rc = journal_load(repo, &j)) < 0)
		return rc;
	if (!(pending = json_str(j, "pending"))) {
		rc = lc_err_set(LC_ENOTFOUND, "git: no change is open");
		goto out;
	}
	if ((rc = make_snapshot(repo, MSG_AFTER, &cid)) < 0)
		goto out;
	git_oid_tostr(hex, sizeof(hex), &cid);
	if ((rc = tree_of(git, pending, &before)) < 0 || (rc = tree_of(git, hex, &after)) < 0)
		goto out;
	if ((rc = tree_diff_paths(git, before, after, &paths)) < 0)
		goto out;
	if (paths.n > 0) {
		rc = LC_ENOMEM;
		if (!(entry = cJSON_CreateObject()) ||
		    !cJSON_AddStringToObject(entry, "before", pending) ||
		    !cJSON_AddStringToObject(entry, "after", hex) ||
		    !(arr = cJSON_AddArrayToObject(entry, "paths")))
			goto oom;
		for (i = 0; i < paths.n; i++) {
			cJSON *s = cJSON_CreateString(paths.v[i]);

			if (!s)
				goto oom;
			cJSON_AddItemToArray(arr, s);
		}
		changes = cJSON_GetObjectItemCaseSensitive(j, "changes");
		cJSON_AddItemToArray(changes, entry);
		entry = NULL;
		while (cJSON_GetArraySize(changes) > LC_GIT_JOURNAL_MAX)
			cJSON_DeleteItemFromArray(changes, 0);
	}
	cJSON_DeleteItemFromObjectCaseSensitive(j, "pending");
	if ((rc = journal_trim_snapshots(j, &kept)) < 0 || (rc = journal_save(repo, j)) < 0)
		goto out;
	/*
	 * After the journal is saved: a crash in between leaves refs too many,
	 * never a journal entry without its snapshots.
	 */
	if ((rc = sweep_snapshot_refs(git, &kept)) < 0)
		goto out;
	if (n_files_out)
		*n_files_out = paths.n;
	goto out;
oom:
	rc = lc_err_set(LC_ENOMEM, "git: out of memory");
out:
	cJSON_Delete(entry);
	strvec_release(&paths);
	strvec_release(&kept);
	git_tree_free(before);
	git_tree_free(after);
	cJSON_Delete(j);
	return rc;
}

/* ---- undo ----------------------------------------------------------------- */

/*
 * What is at rel in the work tree, in the terms of a tree entry: *present 0
 * for nothing (a directory counts as nothing: trees list files), else its
 * blob id as git would store it and whether it is a link.
 */
static int workdir_state(lc_repo *repo, const char *rel, int *present, int *is_link, git_oid *oid)
{
	char abs[LC_REPO_PATH_MAX], target[LC_REPO_PATH_MAX];
	struct stat st;
	ssize_t n;
	int rc;

	if ((rc = abs_path(repo, rel, abs, sizeof(abs))) < 0)
		return rc;
	if (lstat(abs, &st) < 0) {
		if (errno != ENOENT && errno != ENOTDIR)
			return lc_err_set_errno(LC_EIO, errno, "git: cannot inspect '%s'", rel);
		*present = 0;
		return 0;
	}
	if (S_ISDIR(st.st_mode)) {
		*present = 0;
		return 0;
	}
	*present = 1;
	*is_link = S_ISLNK(st.st_mode);
	if (*is_link) {
		n = readlink(abs, target, sizeof(target));
		if (n < 0 || (size_t)n >= sizeof(target))
			return lc_err_set_errno(LC_EIO, errno, "git: cannot read the link '%s'",
			                        rel);
		if (git_odb_hash(oid, target, (size_t)n, GIT_OBJECT_BLOB) < 0)
			return lc_repo_git_error(LC_EIO, "git: cannot hash '%s'", rel);
		return 0;
	}
	if (git_repository_hashfile(oid, lc_repo_git(repo), abs, GIT_OBJECT_BLOB, rel) < 0)
		return lc_repo_git_error(LC_EIO, "git: cannot hash '%s'", rel);
	return 0;
}

/* 1 when the work tree at rel holds what tree has there (type and content), 0 if not. */
static int workdir_matches(lc_repo *repo, git_tree *tree, const char *rel, int *match)
{
	git_tree_entry *te = NULL;
	int present = 0, is_link = 0, grc, rc;
	git_oid oid;

	if ((rc = workdir_state(repo, rel, &present, &is_link, &oid)) < 0)
		return rc;
	grc = git_tree_entry_bypath(&te, tree, rel);
	if (grc == GIT_ENOTFOUND) {
		git_error_clear();
		*match = !present;
		return 0;
	}
	if (grc < 0)
		return lc_repo_git_error(LC_EIO, "git: cannot look up '%s'", rel);
	*match = present && is_link == (git_tree_entry_filemode(te) == GIT_FILEMODE_LINK) &&
	         git_oid_equal(&oid, git_tree_entry_id(te));
	git_tree_entry_free(te);
	return 0;
}

/* Remove empty directories from the parent of abs up to (not including) the root. */
static void prune_dirs(lc_repo *repo, char *abs)
{
	size_t root_len = strlen(lc_repo_root(repo));
	char *slash;

	while ((slash = strrchr(abs, '/')) && (size_t)(slash - abs) > root_len) {
		*slash = '\0';
		if (rmdir(abs) < 0)
			break;
	}
}

static int make_parents(lc_repo *repo, const char *abs)
{
	char p[LC_REPO_PATH_MAX];
	size_t i, root_len = strlen(lc_repo_root(repo)), len = strlen(abs);

	if (len >= sizeof(p))
		return lc_err_set(LC_ETOOBIG, "git: path too long");
	memcpy(p, abs, len + 1);
	for (i = root_len + 1; i < len; i++) {
		if (p[i] != '/')
			continue;
		p[i] = '\0';
		if (mkdir(p, 0777) < 0 && errno != EEXIST)
			return lc_err_set_errno(LC_EIO, errno, "git: cannot create '%s'", p);
		p[i] = '/';
	}
	return 0;
}

/* Write the blob of te to rel as checkout would (smudge filters, mode). */
static int restore_file(lc_repo *repo, const char *rel, const git_tree_entry *te)
{
	git_repository *git = lc_repo_git(repo);
	git_blob_filter_options fo;
	git_buf data = {0};
	git_blob *blob = NULL;
	char abs[LC_REPO_PATH_MAX], target[LC_REPO_PATH_MAX];
	git_filemode_t mode = git_tree_entry_filemode(te);
	struct stat st;
	int rc;

	if ((rc = lc_repo_resolve(repo, rel, 1, abs, sizeof(abs))) < 0 ||
	    (rc = make_parents(repo, abs)) < 0)
		return rc;
	if (git_blob_lookup(&blob, git, git_tree_entry_id(te)) < 0)
		return lc_repo_git_error(LC_EIO, "git: cannot read the saved '%s'", rel);
	/* A link or file of another type in the way goes first. */
	if (lstat(abs, &st) == 0 && (S_ISLNK(st.st_mode) || mode == GIT_FILEMODE_LINK) &&
	    unlink(abs) < 0) {
		rc = lc_err_set_errno(LC_EIO, errno, "git: cannot replace '%s'", rel);
		goto out;
	}
	if (mode == GIT_FILEMODE_LINK) {
		size_t n = (size_t)git_blob_rawsize(blob);

		if (n >= sizeof(target)) {
			rc = lc_err_set(LC_ETOOBIG, "git: link target of '%s' is too long", rel);
			goto out;
		}
		memcpy(target, git_blob_rawcontent(blob), n);
		target[n] = '\0';
		if (symlink(target, abs) < 0)
			rc = lc_err_set_errno(LC_EIO, errno, "git: cannot create the link '%s'",
			                      rel);
		goto out;
	}
	git_blob_filter_options_init(&fo, GIT_BLOB_FILTER_OPTIONS_VERSION);
	if (git_blob_filter(&data, blob, rel, &fo) < 0) {
		rc = lc_repo_git_error(LC_EIO, "git: cannot filter '%s'", rel);
		goto out;
	}
	if ((rc = lc_file_write_atomic(abs, data.ptr, data.size)) < 0)
		goto out;
	if (stat(abs, &st) == 0) {
		mode_t m = st.st_mode & 07777;

		/* as git: x where r is, or no x at all */
		m = mode == GIT_FILEMODE_BLOB_EXECUTABLE ? (m | ((m & 0444) >> 2)) : (m & ~0111u);
		if (m != (st.st_mode & 07777) && chmod(abs, m) < 0)
			rc = lc_err_set_errno(LC_EIO, errno, "git: cannot set the mode of '%s'",
			                      rel);
	}
out:
	git_buf_dispose(&data);
	git_blob_free(blob);
	return rc;
}

static int remove_file(lc_repo *repo, const char *rel)
{
	char abs[LC_REPO_PATH_MAX];
	int rc;

	if ((rc = lc_repo_resolve(repo, rel, 1, abs, sizeof(abs))) < 0)
		return rc;
	if (unlink(abs) < 0 && errno != ENOENT && errno != EISDIR)
		return lc_err_set_errno(LC_EIO, errno, "git: cannot remove '%s'", rel);
	prune_dirs(repo, abs);
	return 0;
}

int lc_git_undo(lc_repo *repo, lc_buf *out)
{
	git_repository *git = lc_repo_git(repo);
	git_tree *before = NULL, *after = NULL;
	struct strvec paths = {0}, changed = {0};
	cJSON *j = NULL, *changes, *entry, *p;
	const char *before_hex, *commit_hex;
	char abs[LC_REPO_PATH_MAX], list[400];
	size_t i, used;
	int rc, pass, n;

	if ((rc = journal_load(repo, &j)) < 0)
		return rc;
	changes = cJSON_GetObjectItemCaseSensitive(j, "changes");
	n = cJSON_GetArraySize(changes);
	if (n == 0) {
		rc = lc_err_set(LC_ENOTFOUND, "undo: there is no change by the agent to undo");
		goto out;
	}
	entry = cJSON_GetArrayItem(changes, n - 1);
	before_hex = json_str(entry, "before");
	commit_hex = json_str(entry, "commit");
	if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(entry, "snapshots_dropped"))) {
		rc = lc_err_set(LC_ENOTFOUND,
		                "undo: no older change can be undone: lcode keeps the snapshots "
		                "of the last %d changes only",
		                LC_GIT_SNAPSHOTS_KEPT);
		goto out;
	}
	if ((rc = tree_of(git, before_hex, &before)) < 0 ||
	    (rc = tree_of(git, json_str(entry, "after"), &after)) < 0)
		goto out;
	cJSON_ArrayForEach(p, cJSON_GetObjectItemCaseSensitive(entry, "paths"))
	{
		if (!cJSON_IsString(p)) {
			rc = lc_err_set(LC_EPARSE, "undo: the undo journal is damaged");
			goto out;
		}
		if ((rc = strvec_push(&paths, p->valuestring)) < 0)
			goto out;
	}

	/* First check everything; write nothing unless all is as the agent left it. */
	for (i = 0; i < paths.n; i++) {
		int match = 0;

		if ((rc = lc_repo_resolve(repo, paths.v[i], 1, abs, sizeof(abs))) < 0 ||
		    (rc = workdir_matches(repo, after, paths.v[i], &match)) < 0)
			goto out;
		if (!match && (rc = strvec_push(&changed, paths.v[i])) < 0)
			goto out;
	}
	if (changed.n > 0) {
		for (i = 0, used = 0; i < changed.n && used < sizeof(list); i++) {
			n = snprintf(list + used, sizeof(list) - used, "%s'%s'", i ? ", " : "",
			             changed.v[i]);
			if (n < 0)
				break;
			used += (size_t)n;
		}
		rc = lc_err_set(LC_EDENIED,
		                "undo: refused, nothing was changed: %s changed after the agent's "
		                "change (undoing would discard that work)",
		                list);
		goto out;
	}

	/* Removals first, so a directory the agent made where a file was can go. */
	for (pass = 0; pass < 2; pass++) {
		for (i = 0; i < paths.n; i++) {
			git_tree_entry *te = NULL;
			int grc = git_tree_entry_bypath(&te, before, paths.v[i]), was;
			const char *what;

			if (grc < 0 && grc != GIT_ENOTFOUND) {
				rc = lc_repo_git_error(LC_EIO, "undo: cannot look up '%s'",
				                       paths.v[i]);
				goto failed;
			}
			git_error_clear();
			if (pass == 0 && !te) {
				rc = remove_file(repo, paths.v[i]);
				what = "removed";
			} else if (pass == 1 && te) {
				int present = 0, is_link = 0;
				git_oid oid;

				if ((rc = workdir_state(repo, paths.v[i], &present, &is_link,
				                        &oid)) < 0) {
					git_tree_entry_free(te);
					goto failed;
				}
				was = present;
				rc = restore_file(repo, paths.v[i], te);
				what = was ? "restored" : "recreated";
			} else {
				git_tree_entry_free(te);
				continue;
			}
			git_tree_entry_free(te);
			if (rc < 0)
				goto failed;
			if ((rc = lc_buf_addf(out, "%s: %s\n", what, paths.v[i])) == LC_ENOMEM) {
				rc = lc_err_set(rc, "undo: out of memory");
				goto out;
			}
		}
	}
	if (commit_hex)
		(void)lc_buf_addf(out,
		                  "note: this change was committed as %.12s; the commit stays on "
		                  "the branch and the restored files show as uncommitted changes\n",
		                  commit_hex);
	cJSON_DeleteItemFromArray(changes, cJSON_GetArraySize(changes) - 1);
	rc = journal_save(repo, j);
	goto out;
failed:
	lc_err_clear();
	rc = lc_err_set(rc,
	                "undo: stopped part-way at a write error; every file of the state "
	                "before the change is in snapshot %s",
	                before_hex);
out:
	strvec_release(&paths);
	strvec_release(&changed);
	git_tree_free(before);
	git_tree_free(after);
	cJSON_Delete(j);
	return rc;
}

/* ---- status, diff ----------------------------------------------------- */

static int branch_line(git_repository *git, lc_buf *b)
{
	git_reference *head = NULL;
	int grc = git_repository_head(&head, git), rc;

	if (grc == GIT_EUNBORNBRANCH || grc == GIT_ENOTFOUND) {
		git_reference *sym = NULL;
		const char *t = NULL;

		git_error_clear();
		if (git_reference_lookup(&sym, git, "HEAD") == 0)
			t = git_reference_symbolic_target(sym);
		if (t && strncmp(t, "refs/heads/", 11) == 0)
			t += 11;
		rc = lc_buf_addf(b, "On branch %s (no commits yet)\n", t ? t : "?");
		git_reference_free(sym);
		return rc;
	}
	if (grc < 0)
		return lc_repo_git_error(LC_EIO, "git: cannot read HEAD");
	if (git_repository_head_detached(git) == 1) {
		char hex[LC_GIT_OID_HEX] = "";

		if (git_reference_target(head))
			git_oid_tostr(hex, 8, git_reference_target(head));
		rc = lc_buf_addf(b, "HEAD detached at %s\n", hex);
	} else {
		rc = lc_buf_addf(b, "On branch %s\n", git_reference_shorthand(head));
	}
	git_reference_free(head);
	return rc;
}

static char status_char_index(unsigned s)
{
	if (s & GIT_STATUS_INDEX_NEW)
		return 'A';
	if (s & GIT_STATUS_INDEX_MODIFIED)
		return 'M';
	if (s & GIT_STATUS_INDEX_DELETED)
		return 'D';
	if (s & GIT_STATUS_INDEX_RENAMED)
		return 'R';
	if (s & GIT_STATUS_INDEX_TYPECHANGE)
		return 'T';
	return ' ';
}

static char status_char_wt(unsigned s)
{
	if (s & GIT_STATUS_WT_MODIFIED)
		return 'M';
	if (s & GIT_STATUS_WT_DELETED)
		return 'D';
	if (s & GIT_STATUS_WT_RENAMED)
		return 'R';
	if (s & GIT_STATUS_WT_TYPECHANGE)
		return 'T';
	return ' ';
}

int lc_git_status(lc_repo *repo, size_t max_bytes, lc_buf *out)
{
	git_repository *git = lc_repo_git(repo);
	git_status_list *st = NULL;
	lc_buf b = LC_BUF_INIT(max_bytes > NOTE_RESERVE ? max_bytes - NOTE_RESERVE : 0);
	size_t i, n, shown = 0, total = 0;
	int rc;

	if ((rc = status_list(git, GIT_STATUS_SHOW_INDEX_AND_WORKDIR, &st)) < 0)
		return rc;
	rc = branch_line(git, &b);
	n = git_status_list_entrycount(st);
	for (i = 0; i < n && rc == 0; i++) {
		const git_status_entry *e = git_status_byindex(st, i);
		const char *path = e ? status_path(e) : NULL;
		char x, y;

		if (!path || e->status == GIT_STATUS_CURRENT || (e->status & GIT_STATUS_IGNORED))
			continue;
		total++;
		if (e->status & GIT_STATUS_CONFLICTED) {
			x = y = 'U';
		} else if (e->status & GIT_STATUS_WT_NEW) {
			x = y = '?';
		} else {
			x = status_char_index(e->status);
			y = status_char_wt(e->status);
		}
		if (shown == total - 1 && lc_buf_addf(&b, "%c%c %s\n", x, y, path) == 0)
			shown++;
	}
	if (rc == 0 && total == 0)
		rc = lc_buf_adds(&b, "[no changes]\n");
	if (rc == 0 && shown < total) {
		b.max += NOTE_RESERVE;
		rc = lc_buf_addf(&b, "[... %zu more files]\n", total - shown);
	}
	if (rc == 0)
		rc = lc_buf_add(out, b.data, b.len);
	if (rc < 0)
		rc = lc_err_set(rc, "git status: output too large or out of memory");
	lc_buf_release(&b);
	git_status_list_free(st);
	return rc;
}

int lc_git_changed_files(lc_repo *repo, char ***paths_out, size_t *n_out)
{
	git_status_list *st = NULL;
	struct strvec sv = {0};
	size_t i, n;
	int rc;

	if ((rc = status_list(lc_repo_git(repo), GIT_STATUS_SHOW_INDEX_AND_WORKDIR, &st)) < 0)
		return rc;
	n = git_status_list_entrycount(st);
	for (i = 0; i < n && rc == 0; i++) {
		const git_status_entry *e = git_status_byindex(st, i);
		const char *path = e ? status_path(e) : NULL;

		if (path && e->status != GIT_STATUS_CURRENT && !(e->status & GIT_STATUS_IGNORED))
			rc = strvec_add_unique(&sv, path);
	}
	git_status_list_free(st);
	if (rc < 0) {
		strvec_release(&sv);
		return rc;
	}
	if (sv.n > 1)
		qsort(sv.v, sv.n, sizeof(*sv.v), cmp_str);
	*paths_out = sv.v;
	*n_out = sv.n;
	return 0;
}

void lc_git_paths_free(char **paths, size_t n)
{
	size_t i;

	if (!paths)
		return;
	for (i = 0; i < n; i++)
		free(paths[i]);
	free(paths);
}

struct diff_sink {
	lc_buf *out;
	size_t end; /* out->len stays <= end for diff text */
	int full;
};

static int diff_line_cb(const git_diff_delta *delta, const git_diff_hunk *hunk,
                        const git_diff_line *line, void *payload)
{
	struct diff_sink *k = payload;
	char o = line->origin;
	size_t need = line->content_len + 1;
	int with_origin = o == GIT_DIFF_LINE_CONTEXT || o == GIT_DIFF_LINE_ADDITION ||
	                  o == GIT_DIFF_LINE_DELETION;

	if (need > k->end - k->out->len) {
		k->full = 1;
		return 1; /* stops git_diff_print */
	}
	if ((with_origin && lc_buf_addc(k->out, o) < 0) ||
	    lc_buf_add(k->out, line->content, line->content_len) < 0) {
		k->full = 1;
		return 1;
	}
	return 0;
}

int lc_git_diff(lc_repo *repo, const char *const *paths, size_t n_paths, size_t max_bytes,
                lc_buf *out)
{
	git_repository *git = lc_repo_git(repo);
	git_diff_options o;
	git_diff *diff = NULL;
	git_commit *head = NULL;
	git_tree *tree = NULL;
	struct strvec spec = {0};
	struct diff_sink k;
	char abs[LC_REPO_PATH_MAX];
	size_t i, room;
	int rc, unborn;

	for (i = 0; i < n_paths; i++) {
		if ((rc = lc_repo_resolve(repo, paths[i], 0, abs, sizeof(abs))) < 0 ||
		    (rc = strvec_push(&spec, lc_repo_relative(repo, abs))) < 0)
			goto out;
	}
	if ((unborn = head_commit(git, &head)) < 0) {
		rc = unborn;
		goto out;
	}
	if (!unborn && git_commit_tree(&tree, head) < 0) {
		rc = lc_repo_git_error(LC_EIO, "git diff: cannot read HEAD's tree");
		goto out;
	}
	git_diff_options_init(&o, GIT_DIFF_OPTIONS_VERSION);
	o.flags = GIT_DIFF_INCLUDE_UNTRACKED | GIT_DIFF_RECURSE_UNTRACKED_DIRS |
	          GIT_DIFF_SHOW_UNTRACKED_CONTENT;
	o.ignore_submodules = GIT_SUBMODULE_IGNORE_ALL;
	/* "" is the root: no pathspec then. */
	if (spec.n > 0 && !strvec_has(&spec, "")) {
		o.pathspec.strings = spec.v;
		o.pathspec.count = spec.n;
	}
	if (git_diff_tree_to_workdir_with_index(&diff, git, tree, &o) < 0) {
		rc = lc_repo_git_error(LC_EIO, "git diff: cannot compare HEAD with the work tree");
		goto out;
	}
	room = out->max > out->len ? out->max - out->len : 0;
	if (max_bytes < room)
		room = max_bytes;
	k.out = out;
	k.end = out->len + (room > NOTE_RESERVE ? room - NOTE_RESERVE : 0);
	k.full = 0;
	if (git_diff_print(diff, GIT_DIFF_FORMAT_PATCH, diff_line_cb, &k) < 0 && !k.full) {
		rc = lc_repo_git_error(LC_EIO, "git diff: cannot format the diff");
		goto out;
	}
	git_error_clear();
	rc = 0;
	if (k.full)
		rc = lc_buf_addf(
		        out, "\n[... diff cut; %zu files changed in all; ask for fewer paths]\n",
		        git_diff_num_deltas(diff));
	else if (git_diff_num_deltas(diff) == 0)
		rc = lc_buf_adds(out, "[no changes]\n");
	if (rc == LC_ENOMEM)
		rc = lc_err_set(rc, "git diff: out of memory");
	else
		rc = 0; /* a note that does not fit is dropped */
out:
	git_diff_free(diff);
	git_tree_free(tree);
	git_commit_free(head);
	strvec_release(&spec);
	return rc;
}

/* ---- commit ----------------------------------------------------------- */

/* 1 when the last paragraph of msg (ends in '\n') is all "Token: value" lines. */
static int ends_in_trailers(const char *msg, size_t len)
{
	const char *para = msg, *p, *q;

	for (p = msg; p + 1 < msg + len; p++)
		if (p[0] == '\n' && p[1] == '\n')
			para = p + 2;
	if (para == msg)
		return 0; /* the subject alone is no trailer block */
	for (p = para; p < msg + len; p = q + 1) {
		const char *colon;

		q = memchr(p, '\n', (size_t)(msg + len - p));
		if (!q)
			q = msg + len;
		colon = memchr(p, ':', (size_t)(q - p));
		if (!colon || colon == p || colon + 1 >= q || colon[1] != ' ')
			return 0;
		for (; p < colon; p++)
			if (!(*p == '-' || (*p >= '0' && *p <= '9') || (*p >= 'A' && *p <= 'Z') ||
			      (*p >= 'a' && *p <= 'z')))
				return 0;
	}
	return 1;
}

static int commit_message(const char *message, const char *model_path, lc_buf *b)
{
	git_buf clean = {0};
	const char *model = "unknown model", *slash;
	int rc;

	if (model_path && *model_path) {
		slash = strrchr(model_path, '/');
		model = slash && slash[1] ? slash + 1 : model_path;
	}
	if (!message || git_message_prettify(&clean, message, 0, '#') < 0)
		return lc_err_set(LC_EPARSE, "commit: the message is empty");
	if (clean.size == 0) {
		git_buf_dispose(&clean);
		return lc_err_set(LC_EPARSE, "commit: the message is empty");
	}
	rc = lc_buf_add(b, clean.ptr, clean.size);
	if (rc == 0)
		rc = lc_buf_addf(b, "%sCo-authored-by: lcode (%s)\n",
		                 ends_in_trailers(clean.ptr, clean.size) ? "" : "\n", model);
	git_buf_dispose(&clean);
	if (rc < 0)
		return lc_err_set(rc, "commit: the message is too long");
	return 0;
}

/* The paths of the journal's changes that are not committed yet. */
static int journal_uncommitted(lc_repo *repo, struct strvec *out)
{
	cJSON *j = NULL, *e, *p;
	int rc;

	if ((rc = journal_load(repo, &j)) < 0)
		return rc;
	cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(j, "changes"))
	{
		if (json_str(e, "commit"))
			continue;
		cJSON_ArrayForEach(p, cJSON_GetObjectItemCaseSensitive(e, "paths"))
		{
			if (cJSON_IsString(p) && (rc = strvec_add_unique(out, p->valuestring)) < 0)
				goto out;
		}
	}
out:
	cJSON_Delete(j);
	return rc;
}

/* Mark the uncommitted journal changes that share a path with done as committed in hex. */
static int journal_mark_committed(lc_repo *repo, const struct strvec *done, const char *hex)
{
	cJSON *j = NULL, *e, *p;
	int rc, dirty = 0;

	if ((rc = journal_load(repo, &j)) < 0)
		return rc;
	cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(j, "changes"))
	{
		if (json_str(e, "commit"))
			continue;
		cJSON_ArrayForEach(p, cJSON_GetObjectItemCaseSensitive(e, "paths"))
		{
			if (cJSON_IsString(p) && strvec_has(done, p->valuestring)) {
				if ((rc = json_set_str(e, "commit", hex)) < 0)
					goto out;
				dirty = 1;
				break;
			}
		}
	}
	if (dirty)
		rc = journal_save(repo, j);
out:
	cJSON_Delete(j);
	return rc;
}

int lc_git_commit(lc_repo *repo, const char *const *paths, size_t n_paths, const char *message,
                  const char *model_path, char oid_out[LC_GIT_OID_HEX])
{
	git_repository *git = lc_repo_git(repo);
	git_signature *sig = NULL;
	git_commit *parent = NULL;
	git_tree *ptree = NULL, *tree = NULL;
	git_index *idx = NULL, *ridx = NULL;
	git_status_list *st = NULL;
	struct strvec sel = {0}, done = {0};
	lc_buf msg = LC_BUF_INIT(1 << 20);
	const git_commit *parents[1];
	char abs[LC_REPO_PATH_MAX], hex[LC_GIT_OID_HEX];
	git_oid tree_id, cid;
	size_t i, j, n;
	int rc, unborn, grc;

	if ((rc = commit_message(message, model_path, &msg)) < 0)
		goto out;
	grc = git_signature_default(&sig, git);
	if (grc == GIT_ENOTFOUND) {
		git_error_clear();
		rc = lc_err_set(LC_ENOTFOUND,
		                "commit: user.name and user.email are not set in the git "
		                "configuration; set them with git config --global "
		                "user.name \"Your Name\" and git config --global "
		                "user.email you@example.com");
		goto out;
	}
	if (grc < 0) {
		rc = lc_repo_git_error(LC_EIO, "commit: cannot read user.name / user.email");
		goto out;
	}

	/* Which paths: the caller's, or all the agent changed and did not commit yet. */
	if (n_paths == 0) {
		struct strvec jp = {0};

		if ((rc = journal_uncommitted(repo, &jp)) < 0)
			goto out;
		if (jp.n == 0) {
			strvec_release(&jp);
			rc = lc_err_set(LC_ENOTFOUND,
			                "commit: the agent has no uncommitted changes");
			goto out;
		}
		for (i = 0; i < jp.n && rc == 0; i++)
			if ((rc = lc_repo_resolve(repo, jp.v[i], 1, abs, sizeof(abs))) == 0)
				rc = strvec_add_unique(&sel, lc_repo_relative(repo, abs));
		strvec_release(&jp);
		if (rc < 0)
			goto out;
	}
	for (i = 0; i < n_paths; i++) {
		if ((rc = lc_repo_resolve(repo, paths[i], 1, abs, sizeof(abs))) < 0 ||
		    (rc = strvec_add_unique(&sel, lc_repo_relative(repo, abs))) < 0)
			goto out;
	}

	if ((unborn = head_commit(git, &parent)) < 0) {
		rc = unborn;
		goto out;
	}
	if (git_index_new(&idx) < 0 || (!unborn && (git_commit_tree(&ptree, parent) < 0 ||
	                                            git_index_read_tree(idx, ptree) < 0))) {
		rc = lc_repo_git_error(LC_EIO, "commit: cannot read HEAD's tree");
		goto out;
	}
	/* HEAD's tree, with the selected paths taken from the work tree. */
	if ((rc = status_list(git, GIT_STATUS_SHOW_INDEX_AND_WORKDIR, &st)) < 0)
		goto out;
	n = git_status_list_entrycount(st);
	for (i = 0; i < n; i++) {
		const git_status_entry *e = git_status_byindex(st, i);
		const char *path = e ? status_path(e) : NULL;
		size_t len = path ? strlen(path) : 0;
		struct stat sb;

		if (!path || len == 0 || path[len - 1] == '/' || (e->status & GIT_STATUS_IGNORED))
			continue;
		for (j = 0; j < sel.n && !under_prefix(path, sel.v[j]); j++)
			;
		if (j == sel.n)
			continue;
		if ((rc = abs_path(repo, path, abs, sizeof(abs))) < 0)
			goto out;
		if (lstat(abs, &sb) == 0 && !S_ISDIR(sb.st_mode)) {
			if ((rc = index_add_workdir(repo, idx, path, 0)) < 0)
				goto out;
		} else if (git_index_remove_bypath(idx, path) < 0) {
			rc = lc_repo_git_error(LC_EIO, "commit: cannot drop '%s'", path);
			goto out;
		}
		if ((rc = strvec_add_unique(&done, path)) < 0)
			goto out;
	}
	if (git_index_write_tree_to(&tree_id, idx, git) < 0) {
		rc = lc_repo_git_error(LC_EIO, "commit: cannot write the tree");
		goto out;
	}
	if (done.n == 0 || (ptree && git_oid_equal(&tree_id, git_tree_id(ptree)))) {
		rc = lc_err_set(LC_ENOTFOUND, "commit: nothing to commit in the given paths");
		goto out;
	}
	if (git_tree_lookup(&tree, git, &tree_id) < 0) {
		rc = lc_repo_git_error(LC_EIO, "commit: cannot read the new tree");
		goto out;
	}
	parents[0] = parent;
	/* "HEAD": libgit2 moves the branch HEAD names, and refuses if it moved meanwhile. */
	if (git_commit_create(&cid, git, "HEAD", sig, sig, NULL, msg.data, tree, unborn ? 0 : 1,
	                      parents) < 0) {
		rc = lc_repo_git_error(LC_EIO, "commit: cannot create the commit");
		goto out;
	}
	git_oid_tostr(hex, sizeof(hex), &cid);

	/* The index follows for the committed paths only, as git commit --only does. */
	if (git_repository_index(&ridx, git) < 0 || git_index_read(ridx, 0) < 0) {
		rc = lc_repo_git_error(LC_EIO, "commit: %.12s made, but the index cannot be read",
		                       hex);
		goto out;
	}
	for (i = 0; i < done.n; i++) {
		git_tree_entry *te = NULL;

		if (git_tree_entry_bypath(&te, tree, done.v[i]) == 0) {
			git_tree_entry_free(te);
			grc = git_index_add_bypath(ridx, done.v[i]);
		} else {
			grc = git_index_remove_bypath(ridx, done.v[i]);
		}
		if (grc < 0) {
			rc = lc_repo_git_error(LC_EIO,
			                       "commit: %.12s made, but the index entry of "
			                       "'%s' cannot be updated",
			                       hex, done.v[i]);
			goto out;
		}
	}
	if (git_index_write(ridx) < 0) {
		rc = lc_repo_git_error(LC_EIO,
		                       "commit: %.12s made, but the index cannot be written", hex);
		goto out;
	}
	if ((rc = journal_mark_committed(repo, &done, hex)) < 0)
		goto out;
	memcpy(oid_out, hex, LC_GIT_OID_HEX);
out:
	git_status_list_free(st);
	git_index_free(ridx);
	git_index_free(idx);
	git_tree_free(tree);
	git_tree_free(ptree);
	git_commit_free(parent);
	git_signature_free(sig);
	strvec_release(&sel);
	strvec_release(&done);
	lc_buf_release(&msg);
	return rc;
}

/* ---- staging ------------------------------------------------------------ */

int lc_git_use_index(lc_repo *repo, const char *path)
{
	git_index *idx = NULL;

	if (git_index_open(&idx, path) < 0)
		return lc_repo_git_error(LC_EIO, "git: cannot open the index '%s'", path);
	git_repository_set_index(lc_repo_git(repo), idx);
	git_index_free(idx); /* the repository holds its own reference */
	return 0;
}

int lc_git_staged_files(lc_repo *repo, char ***clean_out, size_t *n_clean, char ***dirty_out,
                        size_t *n_dirty)
{
	const unsigned staged = GIT_STATUS_INDEX_NEW | GIT_STATUS_INDEX_MODIFIED |
	                        GIT_STATUS_INDEX_TYPECHANGE | GIT_STATUS_INDEX_RENAMED;
	const unsigned unstaged =
	        GIT_STATUS_WT_MODIFIED | GIT_STATUS_WT_DELETED | GIT_STATUS_WT_TYPECHANGE;
	struct strvec clean = {0}, dirty = {0};
	git_status_list *st = NULL;
	size_t i, n;
	int rc;

	if ((rc = status_list(lc_repo_git(repo), GIT_STATUS_SHOW_INDEX_AND_WORKDIR, &st)) < 0)
		return rc;
	n = git_status_list_entrycount(st);
	for (i = 0; i < n && rc == 0; i++) {
		const git_status_entry *e = git_status_byindex(st, i);
		const char *path;

		if (!e || !(e->status & staged) || !e->head_to_index)
			continue;
		path = e->head_to_index->new_file.path;
		rc = strvec_add_unique((e->status & unstaged) ? &dirty : &clean, path);
	}
	git_status_list_free(st);
	if (rc < 0) {
		strvec_release(&clean);
		strvec_release(&dirty);
		return rc;
	}
	if (clean.n > 1)
		qsort(clean.v, clean.n, sizeof(*clean.v), cmp_str);
	if (dirty.n > 1)
		qsort(dirty.v, dirty.n, sizeof(*dirty.v), cmp_str);
	*clean_out = clean.v;
	*n_clean = clean.n;
	*dirty_out = dirty.v;
	*n_dirty = dirty.n;
	return 0;
}

int lc_git_stage(lc_repo *repo, const char *const *paths, size_t n)
{
	git_repository *git = lc_repo_git(repo);
	char abs[LC_REPO_PATH_MAX];
	git_index *idx = NULL;
	struct stat st;
	size_t i;
	int rc = 0, grc;

	if (git_repository_index(&idx, git) < 0 || git_index_read(idx, 0) < 0) {
		rc = lc_repo_git_error(LC_EIO, "git: cannot read the index");
		goto out;
	}
	for (i = 0; i < n; i++) {
		if ((rc = lc_repo_resolve(repo, paths[i], 1, abs, sizeof(abs))))
			goto out;
		if (lstat(abs, &st) < 0 && errno == ENOENT)
			grc = git_index_remove_bypath(idx, paths[i]);
		else
			grc = git_index_add_bypath(idx, paths[i]);
		if (grc < 0) {
			rc = lc_repo_git_error(LC_EIO, "git: cannot stage '%s'", paths[i]);
			goto out;
		}
	}
	if (git_index_write(idx) < 0)
		rc = lc_repo_git_error(LC_EIO, "git: cannot write the index");
out:
	if (rc && idx)
		git_index_read(idx, 1); /* forget the entries changed in memory only */
	git_index_free(idx);
	return rc;
}
