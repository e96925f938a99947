/*
 * Tests for tools/repo.c: finding the repository and the path policy.
 * Expected paths are written out by hand from the layout each test makes.
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

#include "src/err.h"
#include "tests/testrepo.h"
#include "tools/repo.h"

struct fx {
	char dir[PATH_MAX];
	char real[PATH_MAX]; /* realpath of dir */
	lc_repo *repo;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (!f || testrepo_init(f->dir, 1) != 0 || !realpath(f->dir, f->real))
		return -1;
	testrepo_write(f->dir, "src/a.c", "int a;\n", (size_t)-1);
	testrepo_write(f->dir, "README", "hi\n", (size_t)-1);
	if (lc_repo_open(&f->repo, f->dir) != 0)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	lc_repo_free(f->repo);
	testrepo_remove(f->dir);
	free(f);
	return 0;
}

/* abs must be f->real + "/" + tail (tail "" = the root). */
static void assert_resolves(struct fx *f, const char *rel, int for_write, const char *tail)
{
	char abs[LC_REPO_PATH_MAX], want[PATH_MAX + 64];

	lc_err_clear();
	assert_int_equal(lc_repo_resolve(f->repo, rel, for_write, abs, sizeof(abs)), 0);
	snprintf(want, sizeof(want), "%s%s%s", f->real, *tail ? "/" : "", tail);
	assert_string_equal(abs, want);
}

static void assert_denied(struct fx *f, const char *rel, int for_write, const char *reason)
{
	char abs[LC_REPO_PATH_MAX] = "untouched";

	lc_err_clear();
	assert_int_equal(lc_repo_resolve(f->repo, rel, for_write, abs, sizeof(abs)), LC_EDENIED);
	assert_string_equal(abs, "untouched");
	assert_non_null(strstr(lc_err_msg(), reason));
}

static void test_open_from_subdirectory(void **state)
{
	struct fx *f = *state;
	char sub[PATH_MAX + 8];
	lc_repo *r = NULL;

	snprintf(sub, sizeof(sub), "%s/src", f->dir);
	assert_int_equal(lc_repo_open(&r, sub), 0);
	assert_string_equal(lc_repo_root(r), f->real);
	assert_non_null(lc_repo_git(r));
	lc_repo_free(r);
}

static void test_open_outside_a_repository(void **state)
{
	char dir[] = "/tmp/lcode-norepo-XXXXXX";
	lc_repo *r = NULL;

	assert_non_null(mkdtemp(dir));
	lc_err_clear();
	assert_int_equal(lc_repo_open(&r, dir), LC_ENOTFOUND);
	assert_null(r);
	rmdir(dir);
}

static void test_normal_paths(void **state)
{
	struct fx *f = *state;

	assert_resolves(f, "src/a.c", 0, "src/a.c");
	assert_resolves(f, "./src//a.c", 1, "src/a.c");
	assert_resolves(f, "src/../README", 0, "README");
	assert_resolves(f, "src/new/file.c", 1, "src/new/file.c"); /* need not exist */
	assert_resolves(f, "", 0, "");
	assert_resolves(f, ".", 0, "");
	assert_resolves(f, "src/", 0, "src");
}

static void test_relative_of_resolved(void **state)
{
	struct fx *f = *state;
	char abs[LC_REPO_PATH_MAX];

	assert_int_equal(lc_repo_resolve(f->repo, "src/./a.c", 0, abs, sizeof(abs)), 0);
	assert_string_equal(lc_repo_relative(f->repo, abs), "src/a.c");
	assert_int_equal(lc_repo_resolve(f->repo, ".", 0, abs, sizeof(abs)), 0);
	assert_string_equal(lc_repo_relative(f->repo, abs), "");
}

static void test_dotdot_escapes_refused(void **state)
{
	struct fx *f = *state;

	assert_denied(f, "..", 0, "outside the repository");
	assert_denied(f, "../x", 1, "outside the repository");
	assert_denied(f, "src/../../x", 0, "outside the repository");
	assert_denied(f, "src/../../../etc/passwd", 0, "outside the repository");
}

static void test_absolute_refused(void **state)
{
	struct fx *f = *state;
	char inside[PATH_MAX + 16];

	assert_denied(f, "/etc/passwd", 0, "absolute path");
	snprintf(inside, sizeof(inside), "%s/README", f->real);
	assert_denied(f, inside, 0, "absolute path");
}

static void test_symlinks_out_refused(void **state)
{
	struct fx *f = *state;

	assert_int_equal(testrepo_sh("ln -s /etc '%s/etclink'", f->dir), 0);
	assert_int_equal(testrepo_sh("ln -s /etc/passwd '%s/src/pw'", f->dir), 0);
	assert_int_equal(testrepo_sh("ln -s ../.. '%s/src/up'", f->dir), 0);
	assert_int_equal(testrepo_sh("ln -s nowhere/x '%s/dangling'", f->dir), 0);
	assert_denied(f, "etclink", 0, "outside the repository");
	assert_denied(f, "etclink/passwd", 0, "outside the repository");
	assert_denied(f, "etclink/newfile", 1, "outside the repository");
	assert_denied(f, "src/pw", 0, "outside the repository");
	assert_denied(f, "src/up/x", 1, "outside the repository");
	assert_denied(f, "dangling", 1, "missing");
}

static void test_symlinks_inside_allowed(void **state)
{
	struct fx *f = *state;

	assert_int_equal(testrepo_sh("ln -s src '%s/srclink'", f->dir), 0);
	assert_int_equal(testrepo_sh("ln -s a.c '%s/src/alias.c'", f->dir), 0);
	/* The lexical path comes back; the link stays in it. */
	assert_resolves(f, "srclink/a.c", 1, "srclink/a.c");
	assert_resolves(f, "src/alias.c", 0, "src/alias.c");
	/* ".." is applied before links: srclink/.. is the root, not src's parent. */
	assert_resolves(f, "srclink/../README", 0, "README");
}

static void test_gitdir_writes_refused(void **state)
{
	struct fx *f = *state;

	assert_denied(f, ".git/config", 1, "git directory");
	assert_denied(f, ".git", 1, "git directory");
	assert_denied(f, "src/../.git/hooks/pre-commit", 1, "git directory");
	assert_denied(f, ".GIT/config", 1, "git directory");
	assert_denied(f, "vendor/lib/.git/hooks/post-checkout", 1, "git directory");
	assert_int_equal(testrepo_sh("ln -s .git '%s/g'", f->dir), 0);
	assert_denied(f, "g/config", 1, "git directory");
	/* Reading .git is allowed. */
	assert_resolves(f, ".git/config", 0, ".git/config");
	assert_resolves(f, ".gitignore", 1, ".gitignore");
}

static void test_too_long_for_buffer(void **state)
{
	struct fx *f = *state;
	char small[8];

	lc_err_clear();
	assert_int_equal(lc_repo_resolve(f->repo, "README", 0, small, sizeof(small)), LC_ETOOBIG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_open_from_subdirectory, setup, teardown),
	        cmocka_unit_test(test_open_outside_a_repository),
	        cmocka_unit_test_setup_teardown(test_normal_paths, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_relative_of_resolved, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_dotdot_escapes_refused, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_absolute_refused, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_symlinks_out_refused, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_symlinks_inside_allowed, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_gitdir_writes_refused, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_too_long_for_buffer, setup, teardown),
	};

	testrepo_isolate();
	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
