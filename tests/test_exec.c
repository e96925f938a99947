/*
 * Tests for tools/exec.c and tools/sandbox.c with real processes.
 *
 * A temp dir holds a "repository" (repo/ with .git/HEAD, src/a.txt and
 * top.txt) and, beside it, outside/marker. Each containment case runs a
 * command that tries to break out and then checks the outcome from here:
 * the marker keeps its content, outside/ has no new entry, .git is
 * unchanged. The socket, ptrace, fork bomb, hang and output cases run
 * through run_contained(), which also compares a find(1)/cksum(1) listing of
 * outside/ and .git before and after, and checks that the command's process
 * group is gone. Where the same command must succeed without the sandbox, the
 * no-sandbox executor runs it as a control, so a pass shows the sandbox
 * (not a broken command) did the blocking.
 *
 * Expected values come from the commands' own definitions (exit 7 exits 7,
 * kill -TERM gives signal 15) and hand computations (byte counts of seq).
 * When this kernel lacks Landlock or seccomp, the sandboxed cases check
 * that commands are refused instead; the refusal and the no_sandbox opt-out
 * are also tested on any kernel through LC_SANDBOX_TEST_NO_LANDLOCK.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/utsname.h>
#include <unistd.h>
#include <cmocka.h>

#include "src/err.h"
#include "tools/exec.h"
#include "tools/sandbox.h"

static char root[64];
static char repo[96];
static char outside[96];
static char marker[128];
static lc_exec *sandboxed;  /* .git protected by a read-only mount where possible */
static lc_exec *rules_only; /* .git protected by Landlock rules alone */
static lc_exec *unconfined; /* no_sandbox */
static int usable;          /* the sandbox can be set up here */

static void write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/* The file's content, "" when absent; static buffer. */
static const char *read_text(const char *path)
{
	static char buf[256];
	FILE *f = fopen(path, "r");
	size_t n;

	buf[0] = '\0';
	if (!f)
		return buf;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static int count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	assert_non_null(d);
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

/* Processes whose command line has an argument equal to arg. */
static int count_procs_with_arg(const char *arg)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	int n = 0;

	assert_non_null(d);
	while ((de = readdir(d)) != NULL) {
		char path[300], buf[4096];
		ssize_t r, i;
		int fd;

		if (de->d_name[0] < '1' || de->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/cmdline", de->d_name);
		fd = open(path, O_RDONLY);
		if (fd < 0)
			continue;
		r = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (r <= 0)
			continue;
		buf[r] = '\0';
		for (i = 0; i < r; i += (ssize_t)strlen(buf + i) + 1)
			if (strcmp(buf + i, arg) == 0) {
				n++;
				break;
			}
	}
	closedir(d);
	return n;
}

/* Outside untouched: the marker and nothing else. */
static void assert_outside_intact(void)
{
	assert_string_equal(read_text(marker), "keep\n");
	assert_int_equal(count_entries(outside), 1);
}

static void assert_git_intact(void)
{
	char path[400];

	snprintf(path, sizeof(path), "%s/.git/HEAD", repo);
	assert_string_equal(read_text(path), "ref: refs/heads/main\n");
	snprintf(path, sizeof(path), "%s/.git", repo);
	assert_int_equal(count_entries(path), 1);
}

/* Run with the limits the tests use; asserts lc_exec_run succeeded. */
static void run(lc_exec *e, const char *command, unsigned timeout_ms, lc_exec_result *res)
{
	lc_exec_cmd c = LC_EXEC_CMD_INIT;

	c.command = command;
	c.timeout_ms = timeout_ms ? timeout_ms : 20000;
	c.max_procs = 64;
	lc_err_clear();
	if (lc_exec_run(e, &c, res) != 0)
		fail_msg("lc_exec_run('%s'): %s", command, lc_err_msg());
}

/*
 * What lies outside the command's reach: outside/ (the marker) and the
 * repository's .git, as find(1) and cksum(1) see them (names, types, modes,
 * sizes, mtimes, checksums of the files). Owned.
 */
static char *outside_snapshot(void)
{
	char cmd[512], *buf = NULL;
	size_t len = 0, cap = 0;
	FILE *p;

	snprintf(cmd, sizeof(cmd),
	         "cd '%s' && find outside repo/.git -printf '%%p %%y %%m %%s %%T@\\n' | "
	         "LC_ALL=C sort && find outside repo/.git -type f -exec cksum {} + | LC_ALL=C sort",
	         root);
	p = popen(cmd, "r");
	assert_non_null(p);
	for (;;) {
		size_t n;

		if (cap - len < 4096) {
			buf = realloc(buf, cap + 8192);
			assert_non_null(buf);
			cap += 8192;
		}
		n = fread(buf + len, 1, cap - len - 1, p);
		if (n == 0)
			break;
		len += n;
	}
	buf[len] = '\0';
	assert_int_equal(pclose(p), 0);
	assert_non_null(strstr(buf, "outside/marker f"));
	return buf;
}

/*
 * Run command under e as run() does, with its shell's pid (which is its
 * process group: the child calls setsid) written to $TMPDIR/pgid first;
 * then check that outside/ and .git are as they were and that nothing of
 * the group is left. *pgid (may be NULL) gets the group.
 */
static void run_contained(lc_exec *e, const char *command, unsigned timeout_ms, lc_exec_result *res,
                          pid_t *pgid)
{
	char *full, *before, *after, path[4200];
	size_t n = strlen(command) + 64;
	long g;

	full = malloc(n);
	assert_non_null(full);
	snprintf(full, n, "echo $$ > \"$TMPDIR/pgid\"; %s", command);
	snprintf(path, sizeof(path), "%s/pgid", lc_exec_tmpdir(e));
	unlink(path);
	before = outside_snapshot();
	run(e, full, timeout_ms, res);
	after = outside_snapshot();
	assert_string_equal(after, before);
	g = strtol(read_text(path), NULL, 10);
	if (g <= 1)
		fail_msg("'%s' left no pgid in %s", command, path);
	/* the group is gone: no process of it, not even a zombie */
	errno = 0;
	assert_int_equal(kill(-(pid_t)g, 0), -1);
	assert_int_equal(errno, ESRCH);
	if (pgid)
		*pgid = (pid_t)g;
	free(before);
	free(after);
	free(full);
}

static int setup(void **state)
{
	char path[400];
	lc_exec_opts o = LC_EXEC_OPTS_INIT;
	lc_sandbox_report rep;

	snprintf(root, sizeof(root), "/tmp/lc-test-exec-XXXXXX");
	if (!mkdtemp(root))
		return -1;
	snprintf(repo, sizeof(repo), "%s/repo", root);
	snprintf(outside, sizeof(outside), "%s/outside", root);
	snprintf(marker, sizeof(marker), "%s/marker", outside);
	mkdir(repo, 0755);
	mkdir(outside, 0755);
	snprintf(path, sizeof(path), "%s/.git", repo);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/.git/HEAD", repo);
	write_text(path, "ref: refs/heads/main\n");
	snprintf(path, sizeof(path), "%s/src", repo);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/src/a.txt", repo);
	write_text(path, "a\n");
	snprintf(path, sizeof(path), "%s/top.txt", repo);
	write_text(path, "top\n");
	write_text(marker, "keep\n");

	lc_sandbox_probe(&rep);
	usable = lc_sandbox_usable(&rep);
	o.repo_root = repo;
	o.grace_ms = 300;
	if (lc_exec_start(&sandboxed, &o) != 0)
		return -1;
	o.no_git_mount = 1;
	if (lc_exec_start(&rules_only, &o) != 0)
		return -1;
	o.no_git_mount = 0;
	o.no_sandbox = 1;
	if (lc_exec_start(&unconfined, &o) != 0)
		return -1;
	return 0;
}

static int teardown(void **state)
{
	char cmd[400];

	lc_exec_free(sandboxed);
	lc_exec_free(rules_only);
	lc_exec_free(unconfined);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	return system(cmd) == 0 ? 0 : -1;
}

static void test_echo_captured(void **state)
{
	lc_exec_result r;

	run(unconfined, "echo hello; echo oops >&2; pwd", 0, &r);
	assert_int_equal(r.exit_status, 0);
	assert_int_equal(r.signal, 0);
	assert_int_equal(r.sandboxed, 0);
	/* the default cwd is the repository root */
	{
		char want[400];

		snprintf(want, sizeof(want), "hello\noops\n%s\n", repo);
		assert_string_equal(r.output, want);
		assert_int_equal(r.bytes_seen, strlen(want));
	}
	lc_exec_result_release(&r);
	if (!usable)
		skip();
	run(sandboxed, "echo hello; echo oops >&2", 0, &r);
	assert_string_equal(r.output, "hello\noops\n");
	assert_int_equal(r.sandboxed, 1);
	assert_int_equal(r.bytes_cut, 0);
	lc_exec_result_release(&r);
}

static void test_descriptors_closed(void **state)
{
	lc_exec *e = usable ? sandboxed : unconfined;
	lc_exec_result r;

	/*
	 * The executor's channel, cancel pipe and set-up pipe must not reach the
	 * command. Each descriptor from 3 up is probed by the shell itself (a
	 * listing of /proc would race with the shell's own pipes); cat reads EOF
	 * from /dev/null at once.
	 */
	run(e,
	    "for fd in $(seq 3 255); do (: <&$fd) 2>/dev/null && printf '%s ' $fd; done; cat; "
	    "readlink /proc/self/fd/0",
	    0, &r);
	assert_string_equal(r.output, "/dev/null\n");
	lc_exec_result_release(&r);
}

static void test_exit_status_and_signal(void **state)
{
	lc_exec *e = usable ? sandboxed : unconfined;
	lc_exec_result r;

	run(e, "exit 7", 0, &r);
	assert_int_equal(r.exit_status, 7);
	assert_int_equal(r.signal, 0);
	lc_exec_result_release(&r);
	run(e, "kill -TERM $$", 0, &r);
	assert_int_equal(r.signal, SIGTERM);
	assert_int_equal(r.exit_status, -1);
	assert_int_equal(r.timed_out, 0);
	lc_exec_result_release(&r);
}

static void test_refused_without_sandbox(void **state)
{
	lc_exec_opts o = LC_EXEC_OPTS_INIT;
	lc_exec_cmd c = LC_EXEC_CMD_INIT;
	lc_exec *no_ll, *opted_out;
	lc_exec_result r;
	char cmd[512], path[400];
	int rc;

	c.command = "true";
	lc_err_clear();
	rc = lc_exec_run(sandboxed, &c, &r);
	if (usable) {
		assert_int_equal(rc, 0);
		lc_exec_result_release(&r);
		assert_true(lc_exec_sandbox(sandboxed)->landlock_abi >= 1);
	} else {
		assert_int_equal(rc, LC_EDENIED);
		assert_non_null(strstr(lc_err_msg(), "sandbox"));
	}

	/* A kernel without Landlock, whatever this one has (sandbox.h's test switch). */
	assert_int_equal(setenv(LC_SANDBOX_TEST_NO_LANDLOCK, "1", 1), 0);
	o.repo_root = repo;
	o.grace_ms = 300;
	rc = lc_exec_start(&no_ll, &o);
	o.no_sandbox = 1;
	if (rc == 0)
		rc = lc_exec_start(&opted_out, &o);
	unsetenv(LC_SANDBOX_TEST_NO_LANDLOCK);
	assert_int_equal(rc, 0);
	assert_int_equal(lc_exec_sandbox(no_ll)->landlock_abi, 0);

	/* refused, nothing run, and the message says why and how to opt out */
	snprintf(path, sizeof(path), "%s/ran.txt", repo);
	snprintf(cmd, sizeof(cmd), "echo ran > '%s'", path);
	c.command = cmd;
	lc_err_clear();
	assert_int_equal(lc_exec_run(no_ll, &c, &r), LC_EDENIED);
	assert_non_null(strstr(lc_err_msg(), "refusing to run commands without a sandbox"));
	assert_non_null(strstr(lc_err_msg(), "does not offer Landlock"));
	assert_non_null(strstr(lc_err_msg(), "--no-sandbox"));
	assert_int_not_equal(access(path, F_OK), 0);

	/* --no-sandbox (no_sandbox = 1): the same command runs, unconfined */
	lc_err_clear();
	assert_int_equal(lc_exec_run(opted_out, &c, &r), 0);
	assert_int_equal(r.exit_status, 0);
	assert_int_equal(r.sandboxed, 0);
	lc_exec_result_release(&r);
	assert_string_equal(read_text(path), "ran\n");
	unlink(path);
	lc_exec_free(no_ll);
	lc_exec_free(opted_out);
}

/* The seccomp filter is for the machine's own architecture (uname(2) names it). */
static void test_filter_arch(void **state)
{
	struct utsname u;
	lc_sandbox_report rep;

	assert_int_equal(uname(&u), 0);
	if (strcmp(u.machine, "x86_64") != 0 && strcmp(u.machine, "aarch64") != 0 &&
	    strcmp(u.machine, "riscv64") != 0) {
		/* any other: no filter, and the probe says why */
		assert_null(lc_sandbox_arch());
		lc_sandbox_probe(&rep);
		assert_int_equal(rep.seccomp, 0);
		assert_non_null(strstr(rep.why, "architecture"));
		return;
	}
	assert_non_null(lc_sandbox_arch());
	assert_string_equal(lc_sandbox_arch(), u.machine);
}

static void test_write_outside_denied(void **state)
{
	char cmd[4096];
	lc_exec_result r;

	if (!usable)
		skip();
	snprintf(cmd, sizeof(cmd),
	         "echo x > '%s'; echo y >> '%s'; touch '%s/new'; mkdir '%s/dir'; "
	         "ln -s /etc '%s/link'; rm -f '%s'; mv '%s' '%s/moved'",
	         marker, marker, outside, outside, outside, marker, marker, repo);
	run(sandboxed, cmd, 0, &r);
	assert_int_not_equal(r.exit_status, 0);
	lc_exec_result_release(&r);
	assert_outside_intact();
	run(rules_only, cmd, 0, &r);
	lc_exec_result_release(&r);
	assert_outside_intact();
}

static void test_write_inside_allowed(void **state)
{
	char path[400];
	lc_exec_result r;

	if (!usable)
		skip();
	run(sandboxed,
	    "echo b > src/b.txt && echo more >> top.txt && mkdir -p src/d/e && "
	    "echo new > newtop.txt && rm newtop.txt && echo t > \"$TMPDIR/t\" && "
	    "cat \"$TMPDIR/t\"",
	    0, &r);
	assert_int_equal(r.exit_status, 0);
	assert_string_equal(r.output, "t\n");
	lc_exec_result_release(&r);
	snprintf(path, sizeof(path), "%s/src/b.txt", repo);
	assert_string_equal(read_text(path), "b\n");
	snprintf(path, sizeof(path), "%s/top.txt", repo);
	assert_string_equal(read_text(path), "top\nmore\n");
	/* rules-only: writes inside existing top-level entries still work */
	run(rules_only, "echo c > src/c.txt && rm src/c.txt && echo ok", 0, &r);
	assert_int_equal(r.exit_status, 0);
	assert_string_equal(r.output, "ok\n");
	lc_exec_result_release(&r);
	/* but a new top-level entry cannot be made (documented in sandbox.h) */
	run(rules_only, "echo n > newtop2.txt", 0, &r);
	assert_int_not_equal(r.exit_status, 0);
	lc_exec_result_release(&r);
	snprintf(path, sizeof(path), "%s/newtop2.txt", repo);
	assert_int_not_equal(access(path, F_OK), 0);
}

static void test_git_read_only(void **state)
{
	static const char cmd[] = "cat .git/HEAD; echo x > .git/HEAD; touch .git/new; "
	                          "mkdir .git/hooks; ln -s /tmp .git/link; rm -rf .git; "
	                          "mv .git gone; cd .git && echo y > HEAD";
	lc_exec_result r;

	if (!usable)
		skip();
	run(sandboxed, cmd, 0, &r);
	/* .git stays readable */
	assert_memory_equal(r.output, "ref: refs/heads/main\n", 21);
	lc_exec_result_release(&r);
	assert_git_intact();
	run(rules_only, cmd, 0, &r);
	assert_int_equal(r.git_mounted, 0);
	assert_memory_equal(r.output, "ref: refs/heads/main\n", 21);
	lc_exec_result_release(&r);
	assert_git_intact();
}

/* A listening TCP socket on 127.0.0.1; *port gets its port. */
static int listen_tcp(int *port)
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);
	int s = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);

	assert_true(s >= 0);
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(s, 8), 0);
	assert_int_equal(getsockname(s, (struct sockaddr *)&a, &len), 0);
	*port = ntohs(a.sin_port);
	return s;
}

static void test_tcp_socket_denied(void **state)
{
	char cmd[512];
	lc_exec_result r;
	int port, s, c;

	if (access("/bin/bash", X_OK) != 0)
		skip();
	s = listen_tcp(&port);
	snprintf(cmd, sizeof(cmd),
	         "bash -c 'exec 3<>/dev/tcp/127.0.0.1/%d && echo connected'; "
	         "/usr/bin/python3 -c 'import socket; socket.socket(socket.AF_INET6)' "
	         "2>/dev/null && echo inet6",
	         port);
	/* control: without the sandbox the connection is made */
	run(unconfined, cmd, 0, &r);
	assert_non_null(strstr(r.output, "connected"));
	lc_exec_result_release(&r);
	c = accept(s, NULL, NULL);
	assert_true(c >= 0);
	close(c);
	if (!usable) {
		close(s);
		skip();
	}
	run_contained(sandboxed, cmd, 0, &r, NULL);
	assert_null(strstr(r.output, "connected"));
	assert_null(strstr(r.output, "inet6"));
	lc_exec_result_release(&r);
	c = accept(s, NULL, NULL);
	assert_int_equal(c, -1);
	assert_true(errno == EAGAIN || errno == EWOULDBLOCK);
	/* AF_UNIX stays available */
	run(sandboxed, "/usr/bin/python3 -c 'import socket; socket.socketpair(); print(1)'", 0, &r);
	assert_string_equal(r.output, "1\n");
	lc_exec_result_release(&r);
	close(s);
}

static void test_ptrace_denied(void **state)
{
	/* PTRACE_ATTACH (16) to a sibling; prints the result and errno. */
	static const char cmd[] = "sleep 30.125 & /usr/bin/python3 -c 'import ctypes, sys; "
	                          "l = ctypes.CDLL(None, use_errno=True); "
	                          "r = l.ptrace(16, int(sys.argv[1]), 0, 0); "
	                          "print(\"ptrace\", r, ctypes.get_errno())' $!; kill -9 $!";
	lc_exec_result r;

	if (access("/usr/bin/python3", X_OK) != 0)
		skip();
	run(unconfined, cmd, 0, &r);
	assert_string_equal(r.output, "ptrace 0 0\n");
	lc_exec_result_release(&r);
	if (!usable)
		skip();
	run_contained(sandboxed, cmd, 0, &r, NULL);
	/* EPERM is 1 */
	assert_string_equal(r.output, "ptrace -1 1\n");
	lc_exec_result_release(&r);
	assert_int_equal(count_procs_with_arg("30.125"), 0);
}

static void test_namespaces_and_mounts_denied(void **state)
{
	lc_exec_result r;

	if (!usable)
		skip();
	run(sandboxed, "unshare -m true || echo unshare-denied; setsid true || echo setsid-denied",
	    0, &r);
	assert_non_null(strstr(r.output, "unshare-denied"));
	assert_non_null(strstr(r.output, "setsid-denied"));
	lc_exec_result_release(&r);
}

static void test_executor_survives_kill(void **state)
{
	lc_exec_result r;

	/* Landlock ABI 6 scopes signals to the sandbox; before it, uid 0 could kill uid 0. */
	if (!usable || lc_exec_sandbox(sandboxed)->landlock_abi < 6)
		skip();
	/* $PPID is the executor */
	run(sandboxed, "kill -9 $PPID", 0, &r);
	lc_exec_result_release(&r);
	run(sandboxed, "echo alive", 0, &r);
	assert_string_equal(r.output, "alive\n");
	lc_exec_result_release(&r);
}

static void test_fork_bomb_contained(void **state)
{
	lc_exec *e = usable ? sandboxed : unconfined;
	lc_exec_result r;

	/* Linear: each round leaves one more sleep behind; max_procs is 64. */
	run_contained(e, "while :; do sleep 77.5 & done", 20000, &r, NULL);
	assert_int_equal(r.proc_limited, 1);
	assert_int_equal(r.timed_out, 0);
	/* killed, or (pids cgroup) the shell gave up on a refused fork */
	assert_true(r.signal == SIGKILL || r.exit_status != 0);
	lc_exec_result_release(&r);
	assert_int_equal(count_procs_with_arg("77.5"), 0);
}

static void test_exponential_fork_bomb_contained(void **state)
{
	lc_exec *e = usable ? sandboxed : unconfined;
	lc_exec_result r;

	/*
	 * f forks two copies of itself per call. Only with the pids cgroup:
	 * polling alone lets it make thousands of processes first, which a
	 * shared test machine should not have to bear.
	 */
	run(e, "true", 0, &r);
	lc_exec_result_release(&r);
	if (!r.pids_capped) {
		printf("# exponential fork bomb skipped: the executor could make no pids cgroup "
		       "here (no cgroup v1 pids hierarchy, nor v2 with pids delegated to us), and "
		       "polling alone would let it make thousands of processes first\n");
		skip();
	}
	run_contained(e, "f() { f | f & }; f; sleep 20", 20000, &r, NULL);
	assert_int_equal(r.proc_limited, 1);
	assert_int_equal(r.timed_out, 0);
	lc_exec_result_release(&r);
	run(e, "echo alive", 0, &r);
	assert_string_equal(r.output, "alive\n");
	lc_exec_result_release(&r);
}

static void test_hang_times_out(void **state)
{
	lc_exec *e = usable ? sandboxed : unconfined;
	lc_exec_result r;
	long bg;

	run_contained(e, "sleep 1000.25 & echo $!; sleep 1000.5", 1000, &r, NULL);
	assert_int_equal(r.timed_out, 1);
	assert_int_equal(r.signal, SIGTERM);
	bg = strtol(r.output, NULL, 10);
	assert_true(bg > 1);
	lc_exec_result_release(&r);
	/* the background child went with the group */
	assert_int_equal(kill((pid_t)bg, 0), -1);
	assert_int_equal(errno, ESRCH);
	assert_int_equal(count_procs_with_arg("1000.25"), 0);
	assert_int_equal(count_procs_with_arg("1000.5"), 0);

	/* a command that ignores SIGTERM gets SIGKILL after the grace period */
	run_contained(e, "trap '' TERM; sleep 1000.75; sleep 1000.75", 500, &r, NULL);
	assert_int_equal(r.timed_out, 1);
	assert_int_equal(r.signal, SIGKILL);
	lc_exec_result_release(&r);
	assert_int_equal(count_procs_with_arg("1000.75"), 0);
}

static void test_leftover_background_killed(void **state)
{
	lc_exec *e = usable ? sandboxed : unconfined;
	lc_exec_result r;

	run(e, "sleep 1000.125 >/dev/null 2>&1 & echo started", 0, &r);
	assert_int_equal(r.exit_status, 0);
	assert_int_equal(r.timed_out, 0);
	assert_string_equal(r.output, "started\n");
	lc_exec_result_release(&r);
	assert_int_equal(count_procs_with_arg("1000.125"), 0);
}

static void test_huge_output_capped(void **state)
{
	lc_exec *e = usable ? sandboxed : unconfined;
	lc_exec_cmd c = LC_EXEC_CMD_INIT;
	lc_exec_result r;

	run_contained(e, "head -c 1G /dev/zero", 0, &r, NULL);
	assert_int_equal(r.exit_status, 0);
	assert_int_equal(r.bytes_seen, 1ull << 30);
	assert_int_equal(r.bytes_cut, (1ull << 30) - LC_EXEC_OUTPUT_DEFAULT);
	assert_true(r.output_len <= LC_EXEC_OUTPUT_DEFAULT + 64);
	assert_non_null(memmem(r.output, r.output_len, "bytes cut ...]", 14));
	lc_exec_result_release(&r);

	/*
	 * seq 1 100000 writes 9*2 + 90*3 + 900*4 + 9000*5 + 90000*6 + 7 = 588895
	 * bytes; 100 kept: the first 50 and the last 50.
	 */
	c.command = "seq 1 100000";
	c.output_max = 100;
	assert_int_equal(lc_exec_run(e, &c, &r), 0);
	assert_int_equal(r.bytes_seen, 588895);
	assert_int_equal(r.bytes_cut, 588795);
	assert_memory_equal(r.output, "1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n11\n", 24);
	assert_non_null(strstr(r.output, "\n[... 588795 bytes cut ...]\n"));
	/* last 50 bytes: the "\n" ending 99992, seven 6-byte lines and "100000\n" */
	assert_string_equal(r.output + r.output_len - 50,
	                    "\n99993\n99994\n99995\n99996\n99997\n99998\n99999\n100000\n");
	lc_exec_result_release(&r);

	/* the executor is still there */
	run(e, "echo alive", 0, &r);
	assert_string_equal(r.output, "alive\n");
	lc_exec_result_release(&r);
}

static lc_exec *to_cancel;

static void on_alarm(int sig)
{
	lc_exec_cancel(to_cancel);
}

static void test_cancel(void **state)
{
	struct itimerval it = {{0, 0}, {0, 300000}};
	struct sigaction sa;
	lc_exec_result r;

	to_cancel = usable ? sandboxed : unconfined;
	/* nothing running: a no-op */
	lc_exec_cancel(to_cancel);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;
	sigaction(SIGALRM, &sa, NULL);
	setitimer(ITIMER_REAL, &it, NULL);
	run(to_cancel, "sleep 1000.375", 60000, &r);
	signal(SIGALRM, SIG_DFL);
	assert_int_equal(r.cancelled, 1);
	assert_int_equal(r.timed_out, 0);
	assert_int_equal(r.signal, SIGTERM);
	lc_exec_result_release(&r);
	assert_int_equal(count_procs_with_arg("1000.375"), 0);
	/* the stale cancel from before does not hit the next command */
	run(to_cancel, "echo next", 0, &r);
	assert_int_equal(r.cancelled, 0);
	assert_string_equal(r.output, "next\n");
	lc_exec_result_release(&r);
}

static void test_no_sandbox_writes_outside(void **state)
{
	char cmd[1024], path[400];
	lc_exec_result r;

	snprintf(path, sizeof(path), "%s/scratch", root);
	snprintf(cmd, sizeof(cmd), "echo free > '%s'", path);
	run(unconfined, cmd, 0, &r);
	assert_int_equal(r.exit_status, 0);
	assert_int_equal(r.sandboxed, 0);
	lc_exec_result_release(&r);
	assert_string_equal(read_text(path), "free\n");
	unlink(path);
}

static void test_bad_requests(void **state)
{
	lc_exec_cmd c = LC_EXEC_CMD_INIT;
	lc_exec_result r;
	char *big = malloc(LC_EXEC_COMMAND_MAX + 2);

	assert_non_null(big);
	memset(big, ' ', LC_EXEC_COMMAND_MAX + 1);
	big[LC_EXEC_COMMAND_MAX + 1] = '\0';
	c.command = big;
	lc_err_clear();
	assert_int_equal(lc_exec_run(unconfined, &c, &r), LC_ETOOBIG);
	free(big);
	c.command = "";
	lc_err_clear();
	assert_int_equal(lc_exec_run(unconfined, &c, &r), LC_EPARSE);
	c.command = "true";
	c.cwd = "/nonexistent/dir";
	lc_err_clear();
	assert_int_equal(lc_exec_run(unconfined, &c, &r), LC_EIO);
	assert_non_null(strstr(lc_err_msg(), "/nonexistent/dir"));
	/* still usable afterwards */
	c.cwd = NULL;
	assert_int_equal(lc_exec_run(unconfined, &c, &r), 0);
	lc_exec_result_release(&r);
}

static void test_tmpdir_removed_at_stop(void **state)
{
	lc_exec_opts o = LC_EXEC_OPTS_INIT;
	lc_exec *e;
	lc_exec_result r;
	char dir[4096];
	struct stat st;

	o.repo_root = repo;
	o.no_sandbox = 1;
	assert_int_equal(lc_exec_start(&e, &o), 0);
	snprintf(dir, sizeof(dir), "%s", lc_exec_tmpdir(e));
	run(e, "mkdir -p \"$TMPDIR/a/b\" && echo x > \"$TMPDIR/a/b/f\" && echo $TMPDIR", 0, &r);
	assert_memory_equal(r.output, dir, strlen(dir));
	lc_exec_result_release(&r);
	assert_int_equal(stat(dir, &st), 0);
	assert_int_equal(lc_exec_stop(e), 0);
	assert_int_equal(stat(dir, &st), -1);
	lc_exec_free(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_echo_captured),
	        cmocka_unit_test(test_descriptors_closed),
	        cmocka_unit_test(test_exit_status_and_signal),
	        cmocka_unit_test(test_refused_without_sandbox),
	        cmocka_unit_test(test_filter_arch),
	        cmocka_unit_test(test_write_outside_denied),
	        cmocka_unit_test(test_write_inside_allowed),
	        cmocka_unit_test(test_git_read_only),
	        cmocka_unit_test(test_tcp_socket_denied),
	        cmocka_unit_test(test_ptrace_denied),
	        cmocka_unit_test(test_namespaces_and_mounts_denied),
	        cmocka_unit_test(test_executor_survives_kill),
	        cmocka_unit_test(test_fork_bomb_contained),
	        cmocka_unit_test(test_exponential_fork_bomb_contained),
	        cmocka_unit_test(test_hang_times_out),
	        cmocka_unit_test(test_leftover_background_killed),
	        cmocka_unit_test(test_huge_output_capped),
	        cmocka_unit_test(test_cancel),
	        cmocka_unit_test(test_no_sandbox_writes_outside),
	        cmocka_unit_test(test_bad_requests),
	        cmocka_unit_test(test_tmpdir_removed_at_stop),
	};
	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, setup, teardown);
}
