/* Tests for src/file.c: capped reads and atomic writes that lose nothing. */
#include <dirent.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "src/err.h"
#include "src/file.h"

static char dir[64];

static int setup(void **state)
{
	snprintf(dir, sizeof(dir), "/tmp/lc-test-file-XXXXXX");
	lc_err_clear();
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd);
}

static void put(const char *name, const char *text, mode_t mode)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	chmod(path, mode);
}

static char *path_of(const char *name)
{
	static char path[256];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return path;
}

static int count_entries(void)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

static void test_read_whole_file(void **state)
{
	char *data;
	size_t len;

	put("a.txt", "line one\nline two\n", 0644);
	assert_int_equal(lc_file_read(path_of("a.txt"), 1024, &data, &len), 0);
	assert_int_equal(len, 18);
	assert_string_equal(data, "line one\nline two\n");
	free(data);
}

static void test_read_cap(void **state)
{
	char *data = (char *)0x1;
	size_t len = 99;

	put("a.txt", "0123456789", 0644);
	assert_int_equal(lc_file_read(path_of("a.txt"), 9, &data, &len), LC_ETOOBIG);
	assert_ptr_equal(data, (char *)0x1); /* out-parameters untouched on failure */
	assert_int_equal(len, 99);
	lc_err_clear();
	assert_int_equal(lc_file_read(path_of("a.txt"), 10, &data, &len), 0);
	free(data);
}

static void test_read_cap_on_pipe(void **state)
{
	char *data;
	size_t len;

	/* /proc files report size 0, so the cap must hold while reading. */
	assert_int_equal(lc_file_read("/proc/self/maps", 16, &data, &len), LC_ETOOBIG);
}

static void test_read_errors(void **state)
{
	char *data;
	size_t len;

	assert_int_equal(lc_file_read(path_of("missing"), 10, &data, &len), LC_ENOTFOUND);
	assert_non_null(strstr(lc_err_msg(), "missing"));
	lc_err_clear();
	assert_int_equal(lc_file_read(dir, 10, &data, &len), LC_EIO);
}

static void test_write_new_file_uses_umask(void **state)
{
	struct stat st;
	mode_t old = umask(027);
	char *data;
	size_t len;

	assert_int_equal(lc_file_write_atomic(path_of("new.txt"), "abc", 3), 0);
	umask(old);
	assert_int_equal(stat(path_of("new.txt"), &st), 0);
	/* The umask may have been read before this test changed it; accept
	 * the process's original umask or the one set here, never 0600. */
	assert_true((st.st_mode & 0777) == (0666 & ~027) || (st.st_mode & 0777) == (0666 & ~old));
	assert_int_equal(lc_file_read(path_of("new.txt"), 10, &data, &len), 0);
	assert_string_equal(data, "abc");
	free(data);
	assert_int_equal(count_entries(), 1);
}

static void test_write_keeps_mode(void **state)
{
	struct stat st;

	put("run.sh", "#!/bin/sh\n", 0751);
	assert_int_equal(lc_file_write_atomic(path_of("run.sh"), "#!/bin/sh\necho\n", 15), 0);
	assert_int_equal(stat(path_of("run.sh"), &st), 0);
	assert_int_equal(st.st_mode & 07777, 0751);
}

static void test_write_through_symlink(void **state)
{
	struct stat st;
	char *data;
	size_t len;

	put("target.txt", "old", 0644);
	assert_int_equal(symlink("target.txt", path_of("link.txt")), 0);
	assert_int_equal(lc_file_write_atomic(path_of("link.txt"), "new", 3), 0);
	assert_int_equal(lstat(path_of("link.txt"), &st), 0);
	assert_true(S_ISLNK(st.st_mode));
	assert_int_equal(lc_file_read(path_of("target.txt"), 10, &data, &len), 0);
	assert_string_equal(data, "new");
	free(data);
}

/* A staged write changes nothing until committed; a discarded one leaves nothing. */
static void test_stage_commit_and_discard(void **state)
{
	lc_file_stage st;
	struct stat sb;
	char *data;
	size_t len;

	put("f.txt", "old\n", 0640);
	assert_int_equal(lc_file_stage_write(&st, path_of("f.txt"), "new\n", 4), 0);
	assert_int_equal(lc_file_read(path_of("f.txt"), 10, &data, &len), 0);
	assert_string_equal(data, "old\n");
	free(data);
	assert_int_equal(count_entries(), 2); /* f.txt and the temporary file */
	assert_int_equal(lc_file_stage_commit(&st), 0);
	assert_int_equal(lc_file_read(path_of("f.txt"), 10, &data, &len), 0);
	assert_string_equal(data, "new\n");
	free(data);
	assert_int_equal(stat(path_of("f.txt"), &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0640);
	assert_int_equal(count_entries(), 1);
	/* discard: the file keeps its text, the temporary file goes; twice is harmless */
	assert_int_equal(lc_file_stage_write(&st, path_of("f.txt"), "other\n", 6), 0);
	lc_file_stage_discard(&st);
	lc_file_stage_discard(&st);
	assert_int_equal(lc_file_read(path_of("f.txt"), 10, &data, &len), 0);
	assert_string_equal(data, "new\n");
	free(data);
	assert_int_equal(count_entries(), 1);
}

static void test_write_missing_directory(void **state)
{
	assert_int_equal(lc_file_write_atomic(path_of("no/such/dir/f"), "x", 1), LC_ENOTFOUND);
	assert_int_equal(count_entries(), 0);
}

/*
 * A write cut off half way (here by RLIMIT_FSIZE, which makes write() fail
 * with EFBIG after the limit) must leave the old file whole and no
 * temporary file behind.
 */
static void test_interrupted_write_loses_nothing(void **state)
{
	static char big[100000];
	char *data;
	size_t len;
	pid_t pid;
	int status;

	put("keep.txt", "precious contents\n", 0644);
	memset(big, 'x', sizeof(big));
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct rlimit rl = {4096, 4096};
		signal(SIGXFSZ, SIG_IGN);
		setrlimit(RLIMIT_FSIZE, &rl);
		_exit(lc_file_write_atomic(path_of("keep.txt"), big, sizeof(big)) == LC_EIO ? 0
		                                                                            : 1);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(lc_file_read(path_of("keep.txt"), 1 << 20, &data, &len), 0);
	assert_string_equal(data, "precious contents\n");
	free(data);
	assert_int_equal(count_entries(), 1);
}

/* A process killed in the middle of the write leaves the old file whole. */
static void test_killed_writer_loses_nothing(void **state)
{
	size_t n = 256u << 20;
	char *big = malloc(n), *data;
	size_t len;
	pid_t pid;
	int status;

	assert_non_null(big);
	memset(big, 'y', n);
	put("keep.txt", "precious\n", 0644);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		lc_file_write_atomic(path_of("keep.txt"), big, n);
		_exit(0);
	}
	usleep(20000);
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	free(big);
	assert_int_equal(lc_file_read(path_of("keep.txt"), n + 1, &data, &len), 0);
	/* Either the write finished before the kill, or the old file is whole. */
	assert_true(strcmp(data, "precious\n") == 0 || len == n);
	free(data);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_read_whole_file, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_read_cap, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_read_cap_on_pipe, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_read_errors, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_write_new_file_uses_umask, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_write_keeps_mode, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_write_through_symlink, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_stage_commit_and_discard, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_write_missing_directory, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_interrupted_write_loses_nothing, setup,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(test_killed_writer_loses_nothing, setup, teardown),
	};
	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
