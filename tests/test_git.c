/*
 * Tests for tools/git.c: status, diff, commit, snapshots and undo.
 * Every result is checked with the git program (git log, git show, git
 * cat-file, git gc) or byte for byte against the contents the test wrote,
 * never with the libgit2 code under test.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "src/buf.h"
#include "src/err.h"
#include "tests/testrepo.h"
#include "tools/fs.h"
#include "tools/git.h"
#include "tools/repo.h"

struct fx {
	char dir[PATH_MAX];
	lc_repo *repo;
	lc_buf out;
};

/* A repository with one commit (a.txt, b.txt) on main. */
static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (!f || testrepo_init(f->dir, 1) != 0)
		return -1;
	testrepo_write(f->dir, "a.txt", "alpha 1\nalpha 2\n", (size_t)-1);
	testrepo_write(f->dir, "b.txt", "bravo\n", (size_t)-1);
	testrepo_write(f->dir, ".gitignore", "*.log\n", (size_t)-1);
	if (testrepo_sh("cd '%s' && git add . && git commit -qm init", f->dir) != 0)
		return -1;
	if (lc_repo_open(&f->repo, f->dir) != 0)
		return -1;
	lc_buf_init(&f->out, 1 << 20);
	*state = f;
	return 0;
}

/* An empty repository (unborn main). */
static int setup_unborn(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (!f || testrepo_init(f->dir, 1) != 0 || lc_repo_open(&f->repo, f->dir) != 0)
		return -1;
	lc_buf_init(&f->out, 1 << 20);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	lc_buf_release(&f->out);
	lc_repo_free(f->repo);
	testrepo_remove(f->dir);
	free(f);
	return 0;
}

/* Output of a git command run in the repository; asserts it ran. Free it. */
static char *git_out(struct fx *f, const char *args)
{
	char *s = testrepo_out("git -C '%s' %s 2>/dev/null", f->dir, args);

	assert_non_null(s);
	return s;
}

static void assert_git_out(struct fx *f, const char *args, const char *want)
{
	char *s = git_out(f, args);

	assert_string_equal(s, want);
	free(s);
}

static void assert_file(struct fx *f, const char *rel, const char *want)
{
	size_t len = 0;
	char *s = testrepo_read(f->dir, rel, &len);

	assert_non_null(s);
	assert_int_equal(len, strlen(want));
	assert_memory_equal(s, want, len);
	free(s);
}

static void assert_no_file(struct fx *f, const char *rel)
{
	char p[PATH_MAX + 64];

	snprintf(p, sizeof(p), "%s/%s", f->dir, rel);
	assert_int_not_equal(access(p, F_OK), 0);
}

static void test_commit_on_unborn_branch(void **state)
{
	struct fx *f = *state;
	const char *paths[] = {"hello.c"};
	char oid[LC_GIT_OID_HEX], *head;

	testrepo_write(f->dir, "hello.c", "int main(void) { return 0; }\n", (size_t)-1);
	testrepo_write(f->dir, "other.c", "untouched\n", (size_t)-1);
	assert_int_equal(lc_git_commit(f->repo, paths, 1, "Add hello\n\n\n",
	                               "/models/qwen2.5-coder-7b-q4_k_m.gguf", oid),
	                 0);
	head = git_out(f, "rev-parse HEAD");
	assert_memory_equal(head, oid, 40);
	free(head);
	assert_git_out(f, "log -1 --format=%an%n%ae%n%cn%n%ce%n%B",
	               "Test User\ntest@example.com\nTest User\ntest@example.com\n"
	               "Add hello\n\nCo-authored-by: lcode (qwen2.5-coder-7b-q4_k_m.gguf)\n\n");
	assert_git_out(f, "rev-list --count HEAD", "1\n");
	assert_git_out(f, "symbolic-ref HEAD", "refs/heads/main\n");
	assert_git_out(f, "ls-tree -r --name-only HEAD", "hello.c\n");
	/* the index follows the commit; other.c stays untracked */
	assert_git_out(f, "status --porcelain", "?? other.c\n");
}

static void test_commit_only_given_paths(void **state)
{
	struct fx *f = *state;
	const char *paths[] = {"a.txt"};
	char oid[LC_GIT_OID_HEX], *before;

	before = git_out(f, "rev-parse HEAD");
	testrepo_write(f->dir, "a.txt", "alpha changed\n", (size_t)-1);
	testrepo_write(f->dir, "b.txt", "bravo staged\n", (size_t)-1);
	assert_int_equal(testrepo_sh("git -C '%s' add b.txt", f->dir), 0);
	testrepo_write(f->dir, "b.txt", "bravo staged and more\n", (size_t)-1);
	assert_int_equal(lc_git_commit(f->repo, paths, 1,
	                               "Change a\n\nSigned-off-by: T <t@example.com>", NULL, oid),
	                 0);
	/* the trailer joins an existing trailer block */
	assert_git_out(f, "log -1 --format=%B",
	               "Change a\n\nSigned-off-by: T <t@example.com>\n"
	               "Co-authored-by: lcode (unknown model)\n\n");
	assert_git_out(f, "show HEAD:a.txt", "alpha changed\n");
	assert_git_out(f, "show HEAD:b.txt", "bravo\n");
	{
		char *parent = git_out(f, "rev-parse HEAD~1");
		assert_string_equal(parent, before);
		free(parent);
	}
	/* the user's staged and unstaged b.txt work is untouched */
	assert_git_out(f, "diff --cached --name-only", "b.txt\n");
	assert_git_out(f, "show :b.txt", "bravo staged\n");
	assert_file(f, "b.txt", "bravo staged and more\n");
	assert_git_out(f, "branch --list", "* main\n");
	free(before);
}

static void test_commit_needs_identity(void **state)
{
	struct fx *f = *state;
	const char *paths[] = {"a.txt"};
	char oid[LC_GIT_OID_HEX];

	assert_int_equal(testrepo_sh("git -C '%s' config --unset user.name", f->dir), 0);
	assert_int_equal(testrepo_sh("git -C '%s' config --unset user.email", f->dir), 0);
	testrepo_write(f->dir, "a.txt", "x\n", (size_t)-1);
	lc_err_clear();
	assert_int_equal(lc_git_commit(f->repo, paths, 1, "msg", NULL, oid), LC_ENOTFOUND);
	assert_non_null(strstr(lc_err_msg(), "user.name"));
	assert_git_out(f, "rev-list --count HEAD", "1\n");
}

static void test_commit_refusals(void **state)
{
	struct fx *f = *state;
	const char *gitp[] = {".git/config"};
	const char *same[] = {"b.txt"};
	char oid[LC_GIT_OID_HEX];

	lc_err_clear();
	assert_int_equal(lc_git_commit(f->repo, same, 1, "  \n\n", NULL, oid), LC_EPARSE);
	lc_err_clear();
	assert_int_equal(lc_git_commit(f->repo, same, 1, "nothing", NULL, oid), LC_ENOTFOUND);
	lc_err_clear();
	assert_int_equal(lc_git_commit(f->repo, gitp, 1, "bad", NULL, oid), LC_EDENIED);
	lc_err_clear();
	/* no journal yet: the agent changed nothing */
	assert_int_equal(lc_git_commit(f->repo, NULL, 0, "all", NULL, oid), LC_ENOTFOUND);
	assert_git_out(f, "rev-list --count HEAD", "1\n");
}

static void test_status_and_diff(void **state)
{
	struct fx *f = *state;
	const char *only_a[] = {"a.txt"};

	testrepo_write(f->dir, "a.txt", "alpha 1\nalpha two\n", (size_t)-1);
	testrepo_write(f->dir, "new.txt", "fresh\n", (size_t)-1);
	testrepo_write(f->dir, "x.log", "ignored\n", (size_t)-1);
	assert_int_equal(testrepo_sh("git -C '%s' rm -q b.txt", f->dir), 0);
	assert_int_equal(lc_git_status(f->repo, 4096, &f->out), 0);
	/* the same lines git status --short prints */
	assert_string_equal(f->out.data, "On branch main\n M a.txt\nD  b.txt\n?? new.txt\n");

	lc_buf_reset(&f->out);
	assert_int_equal(lc_git_diff(f->repo, only_a, 1, 4096, &f->out), 0);
	assert_non_null(strstr(f->out.data, "--- a/a.txt\n+++ b/a.txt\n"));
	assert_non_null(strstr(f->out.data, "@@ -1,2 +1,2 @@\n alpha 1\n-alpha 2\n+alpha two\n"));
	assert_null(strstr(f->out.data, "new.txt"));

	lc_buf_reset(&f->out);
	assert_int_equal(lc_git_diff(f->repo, NULL, 0, 1 << 16, &f->out), 0);
	assert_non_null(strstr(f->out.data, "+++ b/new.txt\n@@ -0,0 +1 @@\n+fresh\n"));
	assert_non_null(strstr(f->out.data, "--- a/b.txt\n+++ /dev/null\n"));
	assert_null(strstr(f->out.data, "x.log"));

	lc_buf_reset(&f->out);
	assert_int_equal(lc_git_diff(f->repo, NULL, 0, 200, &f->out), 0);
	assert_true(f->out.len <= 200);
	assert_non_null(strstr(f->out.data, "[... diff cut; 3 files changed in all"));

	{
		char **paths = NULL;
		size_t n = 0;

		assert_int_equal(lc_git_changed_files(f->repo, &paths, &n), 0);
		assert_int_equal(n, 3);
		assert_string_equal(paths[0], "a.txt");
		assert_string_equal(paths[1], "b.txt");
		assert_string_equal(paths[2], "new.txt");
		lc_git_paths_free(paths, n);
	}
}

static void test_status_unborn_and_clean(void **state)
{
	struct fx *f = *state;

	assert_int_equal(lc_git_status(f->repo, 4096, &f->out), 0);
	assert_string_equal(f->out.data, "On branch main (no commits yet)\n[no changes]\n");
	lc_buf_reset(&f->out);
	assert_int_equal(lc_git_diff(f->repo, NULL, 0, 4096, &f->out), 0);
	assert_string_equal(f->out.data, "[no changes]\n");
}

static void test_snapshot_moves_nothing_and_survives_gc(void **state)
{
	struct fx *f = *state;
	char snap[LC_GIT_OID_HEX], cmd[128], *refs, *status, *index_before, *s;
	size_t idx_len = 0, idx_len2 = 0;

	testrepo_write(f->dir, "a.txt", "user edit, not staged\n", (size_t)-1);
	testrepo_write(f->dir, "b.txt", "user edit, staged\n", (size_t)-1);
	assert_int_equal(testrepo_sh("git -C '%s' add b.txt", f->dir), 0);
	testrepo_write(f->dir, "u/new.txt", "untracked\n", (size_t)-1);
	testrepo_write(f->dir, "junk.log", "ignored\n", (size_t)-1);
	refs = git_out(f, "for-each-ref --format='%(refname) %(objectname)' refs/heads refs/tags");
	status = git_out(f, "status --porcelain");
	index_before = testrepo_read(f->dir, ".git/index", &idx_len);

	assert_int_equal(lc_git_snapshot(f->repo, "test snapshot\n", snap), 0);

	assert_git_out(f, "for-each-ref --format='%(refname) %(objectname)' refs/heads refs/tags",
	               refs);
	assert_git_out(f, "status --porcelain", status);
	assert_git_out(f, "symbolic-ref HEAD", "refs/heads/main\n");
	s = testrepo_read(f->dir, ".git/index", &idx_len2);
	assert_int_equal(idx_len, idx_len2);
	assert_memory_equal(s, index_before, idx_len);
	free(s);

	/* the snapshot holds the work tree as it is, ignored files excepted */
	snprintf(cmd, sizeof(cmd), "show %s:a.txt", snap);
	assert_git_out(f, cmd, "user edit, not staged\n");
	snprintf(cmd, sizeof(cmd), "show %s:b.txt", snap);
	assert_git_out(f, cmd, "user edit, staged\n");
	snprintf(cmd, sizeof(cmd), "show %s:u/new.txt", snap);
	assert_git_out(f, cmd, "untracked\n");
	snprintf(cmd, sizeof(cmd), "ls-tree -r --name-only %s", snap);
	assert_git_out(f, cmd, ".gitignore\na.txt\nb.txt\nu/new.txt\n");

	/* gc with immediate pruning keeps it: refs/lcode/snapshots/<id> points at it */
	assert_int_equal(testrepo_sh("git -C '%s' gc -q --prune=now", f->dir), 0);
	snprintf(cmd, sizeof(cmd), "cat-file -t %s", snap);
	assert_git_out(f, cmd, "commit\n");
	snprintf(cmd, sizeof(cmd), "show %s:u/new.txt", snap);
	assert_git_out(f, cmd, "untracked\n");
	free(refs);
	free(status);
	free(index_before);
}

/* The agent's change, as the edit tools would make it. */
static void agent_change(struct fx *f, size_t want_files)
{
	size_t n = 99;
	char p[PATH_MAX + 16];

	assert_int_equal(lc_git_change_begin(f->repo), 0);
	testrepo_write(f->dir, "a.txt", "agent rewrote a\n", (size_t)-1);
	testrepo_write(f->dir, "src/made.c", "agent made this\n", (size_t)-1);
	snprintf(p, sizeof(p), "%s/b.txt", f->dir);
	assert_int_equal(unlink(p), 0);
	assert_int_equal(lc_git_change_end(f->repo, &n), 0);
	assert_int_equal(n, want_files);
}

static void test_undo_restores_exactly(void **state)
{
	struct fx *f = *state;
	/* uncommitted user work of every kind before the agent starts */
	const char user_a[] = "user's unstaged\r\nwork\n\ttabs  \n";
	char *head = git_out(f, "rev-parse HEAD");

	testrepo_write(f->dir, "a.txt", user_a, (size_t)-1);
	testrepo_write(f->dir, "b.txt", "user staged b\n", (size_t)-1);
	assert_int_equal(testrepo_sh("git -C '%s' add b.txt", f->dir), 0);
	testrepo_write(f->dir, "notes.txt", "untracked user notes\n", (size_t)-1);

	agent_change(f, 3);
	assert_file(f, "a.txt", "agent rewrote a\n");

	assert_int_equal(lc_git_undo(f->repo, &f->out), 0);
	assert_non_null(strstr(f->out.data, "restored: a.txt\n"));
	assert_non_null(strstr(f->out.data, "recreated: b.txt\n"));
	assert_non_null(strstr(f->out.data, "removed: src/made.c\n"));
	assert_file(f, "a.txt", user_a);
	assert_file(f, "b.txt", "user staged b\n");
	assert_file(f, "notes.txt", "untracked user notes\n");
	assert_no_file(f, "src/made.c");
	assert_no_file(f, "src"); /* the directory the agent made goes too */
	assert_git_out(f, "show :b.txt", "user staged b\n");
	assert_git_out(f, "rev-parse HEAD", head);

	/* the journal is empty now */
	lc_err_clear();
	assert_int_equal(lc_git_undo(f->repo, &f->out), LC_ENOTFOUND);
	free(head);
}

static void test_undo_refused_after_user_edit(void **state)
{
	struct fx *f = *state;

	agent_change(f, 3);
	testrepo_write(f->dir, "a.txt", "the user kept working\n", (size_t)-1);
	lc_err_clear();
	assert_int_equal(lc_git_undo(f->repo, &f->out), LC_EDENIED);
	assert_non_null(strstr(lc_err_msg(), "'a.txt'"));
	assert_null(strstr(lc_err_msg(), "made.c"));
	/* nothing written */
	assert_file(f, "a.txt", "the user kept working\n");
	assert_file(f, "src/made.c", "agent made this\n");
	assert_no_file(f, "b.txt");

	/* the user recreating a file the agent deleted is work too */
	testrepo_write(f->dir, "a.txt", "agent rewrote a\n", (size_t)-1);
	testrepo_write(f->dir, "b.txt", "user's own b\n", (size_t)-1);
	lc_err_clear();
	assert_int_equal(lc_git_undo(f->repo, &f->out), LC_EDENIED);
	assert_non_null(strstr(lc_err_msg(), "'b.txt'"));
	assert_file(f, "b.txt", "user's own b\n");

	/* once things are as the agent left them, undo goes through */
	{
		char p[PATH_MAX + 16];

		snprintf(p, sizeof(p), "%s/b.txt", f->dir);
		assert_int_equal(unlink(p), 0);
	}
	assert_int_equal(lc_git_undo(f->repo, &f->out), 0);
	assert_file(f, "a.txt", "alpha 1\nalpha 2\n");
	assert_file(f, "b.txt", "bravo\n");
}

static void test_undo_after_commit_keeps_commit(void **state)
{
	struct fx *f = *state;
	char oid[LC_GIT_OID_HEX], *head;

	testrepo_write(f->dir, "notes.txt", "user's untracked notes\n", (size_t)-1);
	agent_change(f, 3);
	assert_int_equal(lc_git_commit(f->repo, NULL, 0, "Agent work", "m.gguf", oid), 0);
	/* only the agent's files went into the commit */
	assert_git_out(f, "show --format= --name-status HEAD",
	               "M\ta.txt\nD\tb.txt\nA\tsrc/made.c\n");
	head = git_out(f, "rev-parse HEAD");
	assert_memory_equal(head, oid, 40);

	assert_int_equal(lc_git_undo(f->repo, &f->out), 0);
	assert_non_null(strstr(f->out.data, "committed"));
	assert_git_out(f, "rev-parse HEAD", head); /* the branch is not reset */
	assert_file(f, "a.txt", "alpha 1\nalpha 2\n");
	assert_file(f, "b.txt", "bravo\n");
	assert_no_file(f, "src/made.c");
	assert_file(f, "notes.txt", "user's untracked notes\n");
	free(head);
}

static void test_undo_stack_and_empty_change(void **state)
{
	struct fx *f = *state;
	size_t n = 99;

	/* two changes in a row are undone last first */
	assert_int_equal(lc_git_change_begin(f->repo), 0);
	testrepo_write(f->dir, "a.txt", "one\n", (size_t)-1);
	assert_int_equal(lc_git_change_end(f->repo, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(lc_git_change_begin(f->repo), 0);
	testrepo_write(f->dir, "a.txt", "two\n", (size_t)-1);
	assert_int_equal(lc_git_change_end(f->repo, &n), 0);
	/* a change that changes nothing is not recorded */
	assert_int_equal(lc_git_change_begin(f->repo), 0);
	assert_int_equal(lc_git_change_end(f->repo, &n), 0);
	assert_int_equal(n, 0);
	lc_err_clear();
	assert_int_equal(lc_git_change_end(f->repo, &n), LC_ENOTFOUND);

	assert_int_equal(lc_git_undo(f->repo, &f->out), 0);
	assert_file(f, "a.txt", "one\n");
	assert_int_equal(lc_git_undo(f->repo, &f->out), 0);
	assert_file(f, "a.txt", "alpha 1\nalpha 2\n");
	lc_err_clear();
	assert_int_equal(lc_git_undo(f->repo, &f->out), LC_ENOTFOUND);
}

/* How many refs git for-each-ref lists under refs/lcode/snapshots. */
static long n_snapshot_refs(struct fx *f)
{
	char *s = git_out(f, "for-each-ref refs/lcode/snapshots | wc -l");
	long n = strtol(s, NULL, 10);

	free(s);
	return n;
}

static void test_empty_changes_leave_no_refs(void **state)
{
	struct fx *f = *state;
	char snap[LC_GIT_OID_HEX], cmd[128];
	size_t n = 99;
	int i;

	/* a snapshot made on purpose is never swept */
	assert_int_equal(lc_git_snapshot(f->repo, "kept on purpose\n", snap), 0);
	assert_int_equal(n_snapshot_refs(f), 1);
	/* a journal snapshot ref no change needs, as an earlier version left them */
	assert_int_equal(testrepo_sh("cd '%s' && c=$(git commit-tree -m 'lcode snapshot: before a "
	                             "change' HEAD^{tree}) && git update-ref "
	                             "refs/lcode/snapshots/$c $c",
	                             f->dir),
	                 0);
	assert_int_equal(n_snapshot_refs(f), 2);
	/* eleven changes that change nothing (say, eleven read-only commands) */
	for (i = 0; i < 11; i++) {
		assert_int_equal(lc_git_change_begin(f->repo), 0);
		assert_int_equal(lc_git_change_end(f->repo, &n), 0);
		assert_int_equal(n, 0);
	}
	assert_int_equal(n_snapshot_refs(f), 1);
	snprintf(cmd, sizeof(cmd), "for-each-ref --format='%%(objectname)' refs/lcode/snapshots");
	{
		char *s = git_out(f, cmd);

		assert_memory_equal(s, snap, LC_GIT_OID_HEX - 1);
		free(s);
	}
	/* one real change keeps its two; more empty ones add none */
	assert_int_equal(lc_git_change_begin(f->repo), 0);
	testrepo_write(f->dir, "a.txt", "changed\n", (size_t)-1);
	assert_int_equal(lc_git_change_end(f->repo, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(n_snapshot_refs(f), 3);
	for (i = 0; i < 3; i++) {
		assert_int_equal(lc_git_change_begin(f->repo), 0);
		assert_int_equal(lc_git_change_end(f->repo, &n), 0);
	}
	assert_int_equal(n_snapshot_refs(f), 3);
	/* and the real change can still be undone after gc */
	assert_int_equal(testrepo_sh("git -C '%s' gc -q --prune=now", f->dir), 0);
	assert_int_equal(lc_git_undo(f->repo, &f->out), 0);
	assert_file(f, "a.txt", "alpha 1\nalpha 2\n");
}

static void test_snapshot_refs_bounded(void **state)
{
	struct fx *f = *state;
	const int total = LC_GIT_SNAPSHOTS_KEPT + 3;
	char text[32];
	size_t n = 0;
	int i;

	/* change i writes "v<i>\n" to a.txt */
	for (i = 1; i <= total; i++) {
		assert_int_equal(lc_git_change_begin(f->repo), 0);
		snprintf(text, sizeof(text), "v%d\n", i);
		testrepo_write(f->dir, "a.txt", text, (size_t)-1);
		assert_int_equal(lc_git_change_end(f->repo, &n), 0);
		assert_int_equal(n, 1);
	}
	/* a "before" and an "after" for each of the last LC_GIT_SNAPSHOTS_KEPT changes */
	assert_int_equal(n_snapshot_refs(f), 2 * LC_GIT_SNAPSHOTS_KEPT);
	/* gc drops what no ref holds; undo still walks back all the kept changes */
	assert_int_equal(testrepo_sh("git -C '%s' gc -q --prune=now", f->dir), 0);
	for (i = total; i > total - LC_GIT_SNAPSHOTS_KEPT; i--) {
		lc_buf_reset(&f->out);
		if (lc_git_undo(f->repo, &f->out) != 0)
			fail_msg("undo of change %d: %s", i, lc_err_msg());
		snprintf(text, sizeof(text), "v%d\n", i - 1);
		assert_file(f, "a.txt", text);
	}
	/* the next is older than what is kept: refused, clearly, nothing written */
	lc_err_clear();
	assert_int_equal(lc_git_undo(f->repo, &f->out), LC_ENOTFOUND);
	assert_non_null(strstr(lc_err_msg(), "keeps the snapshots of the last 50 changes"));
	snprintf(text, sizeof(text), "v%d\n", total - LC_GIT_SNAPSHOTS_KEPT);
	assert_file(f, "a.txt", text);
	/* the undone changes' refs go at the next change, which keeps its own two */
	assert_int_equal(lc_git_change_begin(f->repo), 0);
	testrepo_write(f->dir, "b.txt", "new\n", (size_t)-1);
	assert_int_equal(lc_git_change_end(f->repo, &n), 0);
	assert_int_equal(n_snapshot_refs(f), 2);
	lc_buf_reset(&f->out);
	assert_int_equal(lc_git_undo(f->repo, &f->out), 0);
	assert_file(f, "b.txt", "bravo\n");
}

static void test_undo_restores_exec_bit_and_link(void **state)
{
	struct fx *f = *state;
	char p[PATH_MAX + 16], target[64];
	struct stat st;
	ssize_t n;

	assert_int_equal(testrepo_sh("cd '%s' && chmod +x a.txt && ln -s b.txt link && "
	                             "git add . && git commit -qm modes",
	                             f->dir),
	                 0);
	assert_int_equal(lc_git_change_begin(f->repo), 0);
	assert_int_equal(testrepo_sh("cd '%s' && rm a.txt link && echo new > a.txt", f->dir), 0);
	assert_int_equal(lc_git_change_end(f->repo, NULL), 0);
	assert_int_equal(lc_git_undo(f->repo, &f->out), 0);
	snprintf(p, sizeof(p), "%s/a.txt", f->dir);
	assert_int_equal(stat(p, &st), 0);
	assert_true(st.st_mode & 0100);
	assert_file(f, "a.txt", "alpha 1\nalpha 2\n");
	snprintf(p, sizeof(p), "%s/link", f->dir);
	n = readlink(p, target, sizeof(target) - 1);
	assert_int_equal(n, 5);
	target[n] = '\0';
	assert_string_equal(target, "b.txt");
	assert_git_out(f, "status --porcelain", "");
}

/* lc_git_staged_files splits as git status --porcelain does (X vs Y column). */
static void test_staged_files(void **state)
{
	struct fx *f = *state;
	char **clean = NULL, **dirty = NULL;
	size_t n_clean = 0, n_dirty = 0;

	testrepo_write(f->dir, "a.txt", "alpha staged\n", (size_t)-1);
	testrepo_write(f->dir, "new.txt", "fresh\n", (size_t)-1);
	testrepo_write(f->dir, "b.txt", "bravo staged\n", (size_t)-1);
	testrepo_write(f->dir, "untracked.txt", "u\n", (size_t)-1);
	assert_int_equal(testrepo_sh("git -C '%s' add a.txt new.txt b.txt", f->dir), 0);
	testrepo_write(f->dir, "b.txt", "bravo unstaged\n", (size_t)-1);
	/* git says: "M  a.txt", "MM b.txt", "A  new.txt", "?? untracked.txt" */
	assert_git_out(f, "status --porcelain",
	               "M  a.txt\nMM b.txt\nA  new.txt\n?? untracked.txt\n");
	assert_int_equal(lc_git_staged_files(f->repo, &clean, &n_clean, &dirty, &n_dirty), 0);
	assert_int_equal(n_clean, 2);
	assert_string_equal(clean[0], "a.txt");
	assert_string_equal(clean[1], "new.txt");
	assert_int_equal(n_dirty, 1);
	assert_string_equal(dirty[0], "b.txt");
	lc_git_paths_free(clean, n_clean);
	lc_git_paths_free(dirty, n_dirty);
}

/* lc_git_stage: the index gets the work-tree bytes, as git add would store them. */
static void test_stage(void **state)
{
	struct fx *f = *state;
	const char *paths[] = {"a.txt", "b.txt"};
	const char *outside[] = {"../x"};

	testrepo_write(f->dir, "a.txt", "alpha new\n", (size_t)-1);
	assert_int_equal(testrepo_sh("rm '%s/b.txt'", f->dir), 0);
	assert_int_equal(lc_git_stage(f->repo, paths, 2), 0);
	/* git reads the index back: a.txt staged with the new bytes, b.txt's removal staged */
	assert_git_out(f, "status --porcelain", "M  a.txt\nD  b.txt\n");
	assert_git_out(f, "show :a.txt", "alpha new\n");
	assert_int_equal(lc_git_stage(f->repo, outside, 1), LC_EDENIED);
	assert_git_out(f, "status --porcelain", "M  a.txt\nD  b.txt\n");
}

/* lc_git_use_index: a hook's GIT_INDEX_FILE is read and written, .git/index is not. */
static void test_use_index(void **state)
{
	struct fx *f = *state;
	const char *paths[] = {"a.txt"};
	char idx[PATH_MAX + 32];

	snprintf(idx, sizeof(idx), "%s/.git/other-index", f->dir);
	assert_int_equal(testrepo_sh("cp '%s/.git/index' '%s'", f->dir, idx), 0);
	testrepo_write(f->dir, "a.txt", "alpha other\n", (size_t)-1);
	assert_int_equal(lc_git_use_index(f->repo, idx), 0);
	assert_int_equal(lc_git_stage(f->repo, paths, 1), 0);
	/* the real index still has HEAD's a.txt; the other one has the new bytes */
	assert_git_out(f, "show :a.txt", "alpha 1\nalpha 2\n");
	{
		char *s =
		        testrepo_out("cd '%s' && GIT_INDEX_FILE='%s' git show :a.txt", f->dir, idx);
		assert_non_null(s);
		assert_string_equal(s, "alpha other\n");
		free(s);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_commit_on_unborn_branch, setup_unborn,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(test_commit_only_given_paths, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_commit_needs_identity, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_commit_refusals, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_status_and_diff, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_staged_files, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_stage, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_use_index, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_status_unborn_and_clean, setup_unborn,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(test_snapshot_moves_nothing_and_survives_gc, setup,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(test_undo_restores_exactly, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_undo_refused_after_user_edit, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_undo_after_commit_keeps_commit, setup,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(test_undo_stack_and_empty_change, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_undo_restores_exec_bit_and_link, setup,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(test_empty_changes_leave_no_refs, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_snapshot_refs_bounded, setup, teardown),
	};

	testrepo_isolate();
	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
