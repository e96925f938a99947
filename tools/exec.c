/*
 * exec.c - the shell executor process and its protocol.
 *
 * Frames on the socketpair, integers in host byte order (both ends are the
 * same program), every length checked against a cap before anything is
 * allocated:
 *
 *   hello    executor -> lcode, once:  magic 'LCXH', i32 status, u32 len, text
 *            (text: the temp dir on success, the error message otherwise)
 *   request  lcode -> executor:        magic 'LCXQ', u32 seq, u32 timeout_ms,
 *            u32 max_procs, u32 output_max, u32 cwd_len, u32 cmd_len, cwd, cmd
 *   reply    executor -> lcode:        magic 'LCXR', i32 status, i32 exit_status,
 *            i32 signal, u32 flags, u64 bytes_seen, u64 bytes_cut,
 *            u64 duration_ms, u32 msg_len, u32 out_len, msg, output
 *
 * The cancel channel is a pipe carrying the u32 seq of the command to stop;
 * a stale seq (a command already finished) is ignored.
 *
 * Between a command's fork and its execve, the child reports on a
 * close-on-exec pipe: a record (i32 code, i32 git_mounted, u32 len, text)
 * with code 0 just before execve, and one with a negative code when a step
 * failed. EOF after the code-0 record alone means execve succeeded.
 */
#include "tools/exec.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "src/err.h"
#include "src/banned.h"

extern char **environ;

#define MAGIC_HELLO 0x4c435848u /* 'LCXH' */
#define MAGIC_REQ   0x4c435851u /* 'LCXQ' */
#define MAGIC_REPLY 0x4c435852u /* 'LCXR' */

#define REQ_HDR    32
#define REPLY_HDR  56
#define MSG_MAX    LC_ERR_MSG_MAX
#define MARKER_MAX 64
#define CWD_MAX    PATH_MAX

#define FLAG_TIMED_OUT    (1u << 0)
#define FLAG_CANCELLED    (1u << 1)
#define FLAG_PROC_LIMITED (1u << 2)
#define FLAG_SANDBOXED    (1u << 3)
#define FLAG_GIT_MOUNTED  (1u << 4)
#define FLAG_PIDS_CGROUP  (1u << 5)

#define TICK_MS       50  /* poll period while a command runs */
#define COUNT_MS      100 /* how often the process group is counted */
#define REAP_LIMIT_MS 5000
#define READ_CHUNK    (256 * 1024)
#define FD_SOCK       3
#define FD_CANCEL     4

struct lc_exec {
	pid_t pid;                     /* the executor; 0 once reaped */
	int sock;                      /* requests and replies; -1 once closed */
	int cancel;                    /* write end of the cancel pipe, non-blocking */
	volatile sig_atomic_t running; /* seq of the command running, 0 for none */
	uint32_t seq;
	int no_sandbox;
	lc_sandbox_report report;
	char repo_root[PATH_MAX];
	char tmpdir[PATH_MAX];
};

/* What the executor knows; a copy lives in the executor process. */
struct exec_conf {
	char repo_root[PATH_MAX];
	char tmpdir[PATH_MAX];
	int no_sandbox;
	int no_git_mount;
	unsigned grace_ms;
	uint64_t max_file_size;
	char cgroup[PATH_MAX]; /* our pids cgroup, "" when none could be made */
};

/* ---- byte order and I/O helpers ---- */

static void put_u32(unsigned char *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

static void put_u64(unsigned char *p, uint64_t v)
{
	memcpy(p, &v, 8);
}

static uint32_t get_u32(const unsigned char *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

static uint64_t get_u64(const unsigned char *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

static int write_all(int fd, const void *buf, size_t n)
{
	const char *p = buf;

	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* 0: read n bytes; 1: EOF before the first byte; -1: error or EOF midway. */
static int read_all(int fd, void *buf, size_t n)
{
	char *p = buf;
	size_t got = 0;

	while (got < n) {
		ssize_t r = read(fd, p + got, n - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0)
			return got == 0 ? 1 : -1;
		got += (size_t)r;
	}
	return 0;
}

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static void close_from(int lowfd)
{
#ifdef SYS_close_range
	if (syscall(SYS_close_range, (unsigned)lowfd, ~0u, 0u) == 0)
		return;
#endif
	{
		long max = sysconf(_SC_OPEN_MAX);
		int fd;

		if (max < 0 || max > 65536)
			max = 65536;
		for (fd = lowfd; fd < max; fd++)
			close(fd);
	}
}

/* ---- output capture: head and tail ---- */

struct capture {
	char *head;
	size_t head_max, head_len;
	char *tail; /* ring of tail_max bytes */
	size_t tail_max, tail_pos, tail_len;
	uint64_t seen;
};

static int capture_init(struct capture *c, size_t max)
{
	c->head_max = (max + 1) / 2;
	c->tail_max = max - c->head_max;
	c->head = malloc(c->head_max + 1);
	c->tail = malloc(c->tail_max + 1);
	if (!c->head || !c->tail) {
		free(c->head);
		free(c->tail);
		return -1;
	}
	return 0;
}

static void capture_release(struct capture *c)
{
	free(c->head);
	free(c->tail);
	c->head = c->tail = NULL;
}

static void capture_add(struct capture *c, const char *p, size_t n)
{
	size_t k, first;

	c->seen += n;
	k = c->head_max - c->head_len;
	if (k > n)
		k = n;
	memcpy(c->head + c->head_len, p, k);
	c->head_len += k;
	p += k;
	n -= k;
	if (n == 0 || c->tail_max == 0)
		return;
	if (n > c->tail_max) {
		p += n - c->tail_max;
		n = c->tail_max;
	}
	first = c->tail_max - c->tail_pos;
	if (first > n)
		first = n;
	memcpy(c->tail + c->tail_pos, p, first);
	memcpy(c->tail, p + first, n - first);
	c->tail_pos = (c->tail_pos + n) % c->tail_max;
	c->tail_len = c->tail_len + n > c->tail_max ? c->tail_max : c->tail_len + n;
}

/* Head, marker if anything was cut, tail in order. *out is malloc'd. */
static int capture_finish(struct capture *c, char **out, size_t *out_len, uint64_t *cut_out)
{
	uint64_t cut = c->seen - c->head_len - c->tail_len;
	char marker[MARKER_MAX] = "";
	size_t mlen = 0, len, start, first;
	char *s;

	if (cut > 0) {
		int m = snprintf(marker, sizeof(marker), "\n[... %llu bytes cut ...]\n",
		                 (unsigned long long)cut);
		mlen = m > 0 ? (size_t)m : 0;
	}
	len = c->head_len + mlen + c->tail_len;
	s = malloc(len + 1);
	if (!s)
		return -1;
	memcpy(s, c->head, c->head_len);
	memcpy(s + c->head_len, marker, mlen);
	/* Until the ring wraps its bytes sit at [0, tail_len); after, the oldest is at tail_pos. */
	start = c->tail_len < c->tail_max ? 0 : c->tail_pos;
	first = c->tail_max - start < c->tail_len ? c->tail_max - start : c->tail_len;
	memcpy(s + c->head_len + mlen, c->tail + start, first);
	memcpy(s + c->head_len + mlen + first, c->tail, c->tail_len - first);
	s[len] = '\0';
	*out = s;
	*out_len = len;
	*cut_out = cut;
	return 0;
}

/* ---- process group bookkeeping ---- */

/* Processes whose process group is pgid, from /proc/<pid>/stat (proc(5)). */
static unsigned count_group(pid_t pgid)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	unsigned n = 0;

	if (!d)
		return 0;
	while ((de = readdir(d)) != NULL) {
		char path[300], buf[512];
		const char *rp;
		ssize_t r;
		int fd, pid_ok = de->d_name[0] >= '1' && de->d_name[0] <= '9';
		long pgrp;
		char state;
		int ppid;

		if (!pid_ok)
			continue;
		snprintf(path, sizeof(path), "/proc/%s/stat", de->d_name);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		r = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (r <= 0)
			continue;
		buf[r] = '\0';
		/* "pid (comm) state ppid pgrp ...": comm may hold anything, so the last ')' */
		rp = strrchr(buf, ')');
		if (rp && sscanf(rp + 1, " %c %d %ld", &state, &ppid, &pgrp) == 3 &&
		    pgrp == (long)pgid)
			n++;
	}
	closedir(d);
	return n;
}

/* Reap every child that has exited; the executor is a subreaper. */
static void reap_strays(void)
{
	int st;

	while (waitpid(-1, &st, WNOHANG) > 0)
		;
}

/* SIGKILL the group until nothing of it is left (or REAP_LIMIT_MS passes). */
static void kill_and_reap_group(pid_t pgid)
{
	uint64_t end = mono_ms() + REAP_LIMIT_MS;

	for (;;) {
		kill(-pgid, SIGKILL);
		reap_strays();
		if (kill(-pgid, 0) != 0 && errno == ESRCH)
			break;
		if (mono_ms() > end)
			break;
		sleep_ms(2);
	}
}

/* ---- pids cgroup: a hard cap on the number of processes ---- */

/*
 * Polling the process group cannot stop an exponential fork bomb: it
 * makes thousands of processes between two polls. The pids controller
 * makes fork() fail past pids.max. RLIMIT_NPROC would not do: it does
 * not bind uid 0. We make a child cgroup of our own (cgroup v1 "pids"
 * hierarchy, or cgroup v2 where pids is enabled for our subtree) when the
 * cgroup filesystem lets us; elsewhere only polling remains.
 */
static int cgroup_write(const char *dir, const char *file, const char *text)
{
	char path[PATH_MAX + 32];
	size_t n = strlen(text);
	int fd, ok;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ok = write(fd, text, n) == (ssize_t)n;
	close(fd);
	return ok ? 0 : -1;
}

/* A number from a cgroup file: pids.current, or the "max N" line of pids.events. -1 if none. */
static long cgroup_read(const char *dir, const char *file)
{
	char path[PATH_MAX + 32], buf[128];
	const char *p = buf;
	ssize_t r;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	r = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (r <= 0)
		return -1;
	buf[r] = '\0';
	if (strncmp(buf, "max ", 4) == 0)
		p = buf + 4;
	else if (buf[0] < '0' || buf[0] > '9')
		return -1;
	return strtol(p, NULL, 10);
}

static void cgroup_setup(struct exec_conf *c)
{
	char line[PATH_MAX + 64], base[PATH_MAX], dir[PATH_MAX + 64];
	FILE *f = fopen("/proc/self/cgroup", "re");
	int found = 0;

	c->cgroup[0] = '\0';
	if (!f)
		return;
	while (!found && fgets(line, sizeof(line), f)) {
		char *ctl = strchr(line, ':'), *path, *nl;

		if (!ctl || !(path = strchr(ctl + 1, ':')))
			continue;
		*path++ = '\0';
		ctl++;
		if ((nl = strchr(path, '\n')) != NULL)
			*nl = '\0';
		if (strcmp(path, "/") == 0)
			path = "";
		/* v1: a hierarchy whose controller list holds "pids" */
		if (strcmp(ctl, "pids") == 0 || strncmp(ctl, "pids,", 5) == 0 ||
		    strstr(ctl, ",pids") != NULL)
			found = snprintf(base, sizeof(base), "/sys/fs/cgroup/pids%s", path) > 0;
		else if (ctl[0] == '\0' && strncmp(line, "0", 2) == 0 &&
		         access("/sys/fs/cgroup/cgroup.controllers", F_OK) == 0)
			found = snprintf(base, sizeof(base), "/sys/fs/cgroup%s", path) > 0;
	}
	fclose(f);
	if (!found || strlen(base) > PATH_MAX - 64)
		return;
	snprintf(dir, sizeof(dir), "%s/lcode-exec-%ld", base, (long)getpid());
	if (mkdir(dir, 0755) != 0)
		return;
	if (cgroup_write(dir, "pids.max", "max") != 0) {
		rmdir(dir);
		return;
	}
	memcpy(c->cgroup, dir, strlen(dir) + 1);
}

/* ---- temp dir removal ---- */

static void remove_tree_at(int at, const char *name, int depth)
{
	int fd;
	DIR *d;
	struct dirent *de;

	if (unlinkat(at, name, 0) == 0 || (errno != EISDIR && errno != EPERM))
		return;
	if (depth > 64)
		return;
	fchmodat(at, name, 0700, 0);
	fd = openat(at, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return;
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		remove_tree_at(dirfd(d), de->d_name, depth + 1);
	}
	closedir(d);
	unlinkat(at, name, AT_REMOVEDIR);
}

/* ---- the command's child ---- */

static void child_report(int fd, int code, int mounted, const char *msg)
{
	unsigned char hdr[12];
	size_t len = strlen(msg);

	if (len > MSG_MAX)
		len = MSG_MAX;
	put_u32(hdr, (uint32_t)code);
	put_u32(hdr + 4, (uint32_t)mounted);
	put_u32(hdr + 8, (uint32_t)len);
	if (write_all(fd, hdr, sizeof(hdr)) == 0)
		write_all(fd, msg, len);
}

static void child_main(const struct exec_conf *c, const char *cwd, const char *cmd, int out_wr,
                       int err_wr)
{
	lc_sandbox_policy pol;
	sigset_t all;
	int sig, fd, mounted = 0, flags = 0;
	char *argv[4];
	int rc;

	if (setsid() < 0) {
		child_report(err_wr, LC_EIO, 0, "shell: setsid failed");
		_exit(127);
	}
	prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	/* Before the sandbox, which would not let us write to /sys. */
	if (c->cgroup[0] && cgroup_write(c->cgroup, "cgroup.procs", "0") == 0)
		flags |= 2;
	fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (fd < 0 || dup2(fd, 0) < 0 || dup2(out_wr, 1) < 0 || dup2(out_wr, 2) < 0 ||
	    dup3(err_wr, FD_SOCK, O_CLOEXEC) < 0) {
		child_report(err_wr, LC_EIO, 0, "shell: cannot set up the command's descriptors");
		_exit(127);
	}
	close_from(FD_SOCK + 1);
	err_wr = FD_SOCK;
	/* The executor ignores terminal signals; the command must not inherit that. */
	for (sig = 1; sig < NSIG; sig++)
		signal(sig, SIG_DFL);
	sigfillset(&all);
	sigprocmask(SIG_UNBLOCK, &all, NULL);

	setenv("TMPDIR", c->tmpdir, 1);
	memset(&pol, 0, sizeof(pol));
	pol.repo_root = c->repo_root;
	pol.tmp_dir = c->tmpdir;
	pol.cwd = cwd;
	pol.max_file_size = c->max_file_size;
	pol.no_git_mount = c->no_git_mount;
	rc = lc_sandbox_limits(&pol);
	if (rc == 0 && !c->no_sandbox)
		rc = lc_sandbox_apply(&pol, &mounted);
	else if (rc == 0 && chdir(cwd) != 0)
		rc = lc_err_set_errno(LC_EIO, errno, "shell: chdir '%s'", cwd);
	if (rc != 0) {
		child_report(err_wr, rc, 0, lc_err_msg());
		_exit(127);
	}
	child_report(err_wr, 0, flags | (mounted ? 1 : 0), "");
	argv[0] = "sh";
	argv[1] = "-c";
	argv[2] = (char *)cmd;
	argv[3] = NULL;
	execve("/bin/sh", argv, environ);
	lc_err_set_errno(LC_EIO, errno, "shell: execve '/bin/sh'");
	child_report(err_wr, LC_EIO, 0, lc_err_msg());
	_exit(127);
}

/* ---- the executor ---- */

struct run_state {
	int status; /* 0, or a negative code: the command did not run */
	char msg[MSG_MAX + 1];
	int exit_status, signal;
	uint32_t flags;
	uint64_t duration_ms;
};

/* Read the child's set-up records until EOF. 0 when execve was reached. */
static int read_setup(int fd, struct run_state *rs)
{
	unsigned char buf[2 * (12 + MSG_MAX)];
	size_t len = 0;
	uint32_t code, mlen;

	for (;;) {
		ssize_t r = read(fd, buf + len, sizeof(buf) - len);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		len += (size_t)r;
		if (len == sizeof(buf))
			break;
	}
	if (len < 12) {
		snprintf(rs->msg, sizeof(rs->msg), "shell: the command's child died during set-up");
		return LC_EIO;
	}
	code = get_u32(buf);
	mlen = get_u32(buf + 8);
	if (code == 0) {
		if (get_u32(buf + 4) & 1)
			rs->flags |= FLAG_GIT_MOUNTED;
		if (get_u32(buf + 4) & 2)
			rs->flags |= FLAG_PIDS_CGROUP;
		if (len == 12)
			return 0;
		/* a second record: execve failed */
		if (len < 24)
			return LC_EIO;
		code = get_u32(buf + 12);
		mlen = get_u32(buf + 20);
		memmove(buf, buf + 12, len - 12);
		len -= 12;
	}
	if (mlen > MSG_MAX || 12 + (size_t)mlen > len)
		mlen = 0;
	memcpy(rs->msg, buf + 12, mlen);
	rs->msg[mlen] = '\0';
	return (int)code < 0 ? (int)code : LC_EIO;
}

static void run_command(const struct exec_conf *c, uint32_t seq, uint32_t timeout_ms,
                        uint32_t max_procs, const char *cwd, const char *cmd, struct capture *cap,
                        struct run_state *rs, int *parent_gone)
{
	int out[2], setup[2];
	pid_t pid;
	uint64_t start, now, deadline, kill_at = 0, drain_until = 0, next_count;
	int main_done = 0, out_open = 1, stage = 0; /* stage: 0 running, 1 TERM sent, 2 KILL sent */
	int wstatus = 0, pidfd;
	long refused_before = -1;
	char *chunk;

	chunk = malloc(READ_CHUNK);
	if (!chunk) {
		rs->status = LC_ENOMEM;
		snprintf(rs->msg, sizeof(rs->msg), "shell: out of memory");
		return;
	}
	if (pipe2(out, O_CLOEXEC) != 0) {
		rs->status = LC_EIO;
		snprintf(rs->msg, sizeof(rs->msg), "shell: pipe: %s", strerror(errno));
		free(chunk);
		return;
	}
	if (pipe2(setup, O_CLOEXEC) != 0) {
		rs->status = LC_EIO;
		snprintf(rs->msg, sizeof(rs->msg), "shell: pipe: %s", strerror(errno));
		close(out[0]);
		close(out[1]);
		free(chunk);
		return;
	}
	if (c->cgroup[0]) {
		char max[32];

		/* One more than allowed: reaching it is how the poll below sees a bomb. */
		snprintf(max, sizeof(max), "%u", max_procs + 1);
		cgroup_write(c->cgroup, "pids.max", max);
		refused_before = cgroup_read(c->cgroup, "pids.events");
	}
	/* A bigger pipe means fewer wake-ups for chatty commands; best effort. */
	fcntl(out[0], F_SETPIPE_SZ, 1 << 20);
	start = mono_ms();
	pid = fork();
	if (pid < 0) {
		rs->status = LC_EIO;
		snprintf(rs->msg, sizeof(rs->msg), "shell: fork: %s", strerror(errno));
		close(out[0]);
		close(out[1]);
		close(setup[0]);
		close(setup[1]);
		free(chunk);
		return;
	}
	if (pid == 0) {
		close(out[0]);
		close(setup[0]);
		child_main(c, cwd, cmd, out[1], setup[1]);
	}
	close(out[1]);
	close(setup[1]);
	/* Nothing signals the group before read_setup() saw the child's setsid() done. */
	rs->status = read_setup(setup[0], rs);
	close(setup[0]);
	if (rs->status != 0) {
		kill_and_reap_group(pid);
		close(out[0]);
		free(chunk);
		return;
	}
	if (!c->no_sandbox)
		rs->flags |= FLAG_SANDBOXED;

	/* Where there is a pidfd, the main process's exit wakes poll() at once. */
	pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	deadline = start + timeout_ms;
	next_count = start;
	for (;;) {
		struct pollfd pf[4];
		int np = 0, i_out = -1, i_cancel, i_sock;

		if (main_done && !out_open)
			break;
		if (out_open) {
			pf[np].fd = out[0];
			pf[np].events = POLLIN;
			i_out = np++;
		}
		pf[np].fd = FD_CANCEL;
		pf[np].events = POLLIN;
		i_cancel = np++;
		pf[np].fd = FD_SOCK;
		pf[np].events = POLLIN;
		i_sock = np++;
		if (pidfd >= 0 && !main_done) {
			pf[np].fd = pidfd;
			pf[np].events = POLLIN;
			np++;
		}
		if (poll(pf, (nfds_t)np, TICK_MS) < 0 && errno != EINTR)
			break;
		if (i_out >= 0 && (pf[i_out].revents & (POLLIN | POLLHUP | POLLERR))) {
			ssize_t r = read(out[0], chunk, READ_CHUNK);

			if (r > 0)
				capture_add(cap, chunk, (size_t)r);
			else if (r == 0 || (errno != EINTR && errno != EAGAIN))
				out_open = 0;
		}
		if (pf[i_cancel].revents & POLLIN) {
			unsigned char b[4 * 16];
			ssize_t r = read(FD_CANCEL, b, sizeof(b));
			ssize_t k;

			for (k = 0; r > 0 && k + 4 <= r; k += 4)
				if (get_u32(b + k) == seq && stage == 0 && !main_done) {
					rs->flags |= FLAG_CANCELLED;
					kill(-pid, SIGTERM);
					stage = 1;
					kill_at = mono_ms() + c->grace_ms;
				}
		}
		if (pf[i_sock].revents) {
			/* lcode closed the channel (or broke the protocol): stop everything. */
			*parent_gone = 1;
			break;
		}
		now = mono_ms();
		if (!main_done) {
			siginfo_t si;

			memset(&si, 0, sizeof(si));
			if (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 &&
			    si.si_pid == pid) {
				/* Still a zombie, so its pid (the pgid) cannot be reused yet. */
				main_done = 1;
				kill(-pid, SIGKILL);
				waitpid(pid, &wstatus, 0);
				drain_until = now + c->grace_ms;
			}
		}
		if (!main_done && stage == 0 && now >= deadline) {
			rs->flags |= FLAG_TIMED_OUT;
			kill(-pid, SIGTERM);
			stage = 1;
			kill_at = now + c->grace_ms;
		}
		if (stage == 1 && now >= kill_at) {
			kill(-pid, SIGKILL);
			stage = 2;
			if (!drain_until)
				drain_until = now + c->grace_ms;
		}
		if (!main_done && stage < 2 && now >= next_count) {
			long n = -1;

			/* a fork refused by pids.max counts as passing the cap */
			if ((rs->flags & FLAG_PIDS_CGROUP) &&
			    cgroup_read(c->cgroup, "pids.events") > refused_before)
				n = (long)max_procs + 1;
			if (n < 0 && (rs->flags & FLAG_PIDS_CGROUP))
				n = cgroup_read(c->cgroup, "pids.current");
			if (n < 0)
				n = (long)count_group(pid);
			/* pids.current is cheap: read it every tick */
			next_count = now + ((rs->flags & FLAG_PIDS_CGROUP) ? 0 : COUNT_MS);
			if (n > (long)max_procs) {
				rs->flags |= FLAG_PROC_LIMITED;
				kill(-pid, SIGKILL);
				stage = 2;
				drain_until = now + c->grace_ms;
			}
		}
		/* Something outside the group may hold the pipe: stop waiting for EOF. */
		if (out_open && drain_until && now >= drain_until)
			out_open = 0;
	}
	close(out[0]);
	if (pidfd >= 0)
		close(pidfd);
	if (!*parent_gone && !main_done)
		waitpid(pid, &wstatus, 0);
	kill_and_reap_group(pid);
	/* The main process may have given up on a refused fork before a poll saw it. */
	if ((rs->flags & FLAG_PIDS_CGROUP) && refused_before >= 0 &&
	    cgroup_read(c->cgroup, "pids.events") > refused_before)
		rs->flags |= FLAG_PROC_LIMITED;
	rs->duration_ms = mono_ms() - start;
	if (WIFSIGNALED(wstatus)) {
		rs->signal = WTERMSIG(wstatus);
		rs->exit_status = -1;
	} else {
		rs->exit_status = WEXITSTATUS(wstatus);
	}
	free(chunk);
}

static int send_reply(int sock, const struct run_state *rs, const char *out, size_t out_len,
                      uint64_t seen, uint64_t cut)
{
	unsigned char h[REPLY_HDR];
	size_t mlen = strlen(rs->msg);

	put_u32(h, MAGIC_REPLY);
	put_u32(h + 4, (uint32_t)rs->status);
	put_u32(h + 8, (uint32_t)rs->exit_status);
	put_u32(h + 12, (uint32_t)rs->signal);
	put_u32(h + 16, rs->flags);
	put_u32(h + 20, 0);
	put_u64(h + 24, seen);
	put_u64(h + 32, cut);
	put_u64(h + 40, rs->duration_ms);
	put_u32(h + 48, (uint32_t)mlen);
	put_u32(h + 52, (uint32_t)out_len);
	if (write_all(sock, h, sizeof(h)) != 0 || write_all(sock, rs->msg, mlen) != 0 ||
	    write_all(sock, out, out_len) != 0)
		return -1;
	return 0;
}

/* Serve one request. 0 to go on, 1 on EOF (lcode closed), -1 on a broken channel. */
static int serve_one(const struct exec_conf *c)
{
	unsigned char h[REQ_HDR];
	struct run_state rs;
	struct capture cap;
	uint32_t seq, timeout_ms, max_procs, output_max, cwd_len, cmd_len;
	char *cwd = NULL, *cmd = NULL, *out = NULL;
	size_t out_len = 0;
	uint64_t cut = 0;
	int rc, parent_gone = 0;

	rc = read_all(FD_SOCK, h, sizeof(h));
	if (rc != 0)
		return rc;
	seq = get_u32(h + 4);
	timeout_ms = get_u32(h + 8);
	max_procs = get_u32(h + 12);
	output_max = get_u32(h + 16);
	cwd_len = get_u32(h + 20);
	cmd_len = get_u32(h + 24);
	if (get_u32(h) != MAGIC_REQ || cwd_len == 0 || cwd_len >= CWD_MAX || cmd_len == 0 ||
	    cmd_len > LC_EXEC_COMMAND_MAX || output_max > LC_EXEC_OUTPUT_MAX || timeout_ms == 0 ||
	    timeout_ms > LC_EXEC_TIMEOUT_MAX_MS || max_procs == 0 || max_procs > LC_EXEC_PROCS_MAX)
		return -1;
	cwd = malloc((size_t)cwd_len + 1);
	cmd = malloc((size_t)cmd_len + 1);
	if (!cwd || !cmd || read_all(FD_SOCK, cwd, cwd_len) != 0 ||
	    read_all(FD_SOCK, cmd, cmd_len) != 0) {
		rc = -1;
		goto out_free;
	}
	cwd[cwd_len] = '\0';
	cmd[cmd_len] = '\0';
	memset(&rs, 0, sizeof(rs));
	memset(&cap, 0, sizeof(cap));
	if (memchr(cwd, '\0', cwd_len) || memchr(cmd, '\0', cmd_len)) {
		rs.status = LC_EPARSE;
		snprintf(rs.msg, sizeof(rs.msg), "shell: NUL byte in the command or cwd");
	} else if (capture_init(&cap, output_max) != 0) {
		rs.status = LC_ENOMEM;
		snprintf(rs.msg, sizeof(rs.msg), "shell: out of memory");
	} else {
		run_command(c, seq, timeout_ms, max_procs, cwd, cmd, &cap, &rs, &parent_gone);
		if (rs.status == 0 && capture_finish(&cap, &out, &out_len, &cut) != 0) {
			rs.status = LC_ENOMEM;
			snprintf(rs.msg, sizeof(rs.msg), "shell: out of memory");
		}
		capture_release(&cap);
		if (!parent_gone)
			reap_strays();
	}
	rc = parent_gone ? 1 : 0;
	if (!parent_gone && send_reply(FD_SOCK, &rs, out, out_len, cap.seen, cut) != 0)
		rc = -1;
out_free:
	free(out);
	free(cwd);
	free(cmd);
	return rc;
}

static void executor_main(struct exec_conf *c, int sock, int cancel_rd)
{
	static const int ignored[] = {SIGINT, SIGQUIT, SIGTSTP, SIGTTIN, SIGTTOU, SIGHUP, SIGPIPE};
	unsigned char h[12];
	const char *text;
	char tmpl[PATH_MAX];
	const char *base = getenv("TMPDIR");
	size_t i, len;
	int status = 0, fd, a, b;

	for (i = 0; i < sizeof(ignored) / sizeof(ignored[0]); i++)
		signal(ignored[i], SIG_IGN);
	/* Off lcode's terminal: no terminal signals, no controlling tty for commands. */
	setsid();
	/* Orphans of a command come back to us, so we can reap them. */
	prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
	a = fcntl(sock, F_DUPFD_CLOEXEC, 16);
	b = fcntl(cancel_rd, F_DUPFD_CLOEXEC, 16);
	if (a < 0 || b < 0 || dup3(a, FD_SOCK, O_CLOEXEC) < 0 || dup3(b, FD_CANCEL, O_CLOEXEC) < 0)
		_exit(1);
	close_from(FD_CANCEL + 1);
	fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (fd >= 0) {
		dup2(fd, 0);
		dup2(fd, 1);
		if (fd > 2)
			close(fd);
	}

	cgroup_setup(c);
	if (!base || base[0] != '/' || strlen(base) > PATH_MAX / 2)
		base = "/tmp";
	snprintf(tmpl, sizeof(tmpl), "%s/lcode-exec-XXXXXX", base);
	if (!mkdtemp(tmpl) || !realpath(tmpl, c->tmpdir)) {
		status = LC_EIO;
		snprintf(c->tmpdir, sizeof(c->tmpdir),
		         "shell: cannot create a temp dir under '%s': %s", base, strerror(errno));
	}
	text = c->tmpdir;
	len = strlen(text);
	put_u32(h, MAGIC_HELLO);
	put_u32(h + 4, (uint32_t)status);
	put_u32(h + 8, (uint32_t)len);
	if (write_all(FD_SOCK, h, sizeof(h)) != 0 || write_all(FD_SOCK, text, len) != 0 ||
	    status != 0)
		goto out;
	while (serve_one(c) == 0)
		;
out:
	if (status == 0)
		remove_tree_at(AT_FDCWD, c->tmpdir, 0);
	if (c->cgroup[0])
		rmdir(c->cgroup);
	_exit(0);
}

/* ---- lcode's side ---- */

int lc_exec_start(lc_exec **out, const lc_exec_opts *opts)
{
	struct exec_conf *conf = NULL;
	lc_exec *e = NULL;
	int sv[2] = {-1, -1}, cp[2] = {-1, -1};
	unsigned char h[12];
	uint32_t len;
	int status, rc;
	struct stat st;

	conf = calloc(1, sizeof(*conf));
	e = calloc(1, sizeof(*e));
	if (e)
		e->sock = e->cancel = -1;
	if (!conf || !e) {
		rc = lc_err_set(LC_ENOMEM, "shell: out of memory");
		goto fail;
	}
	if (!opts->repo_root || !realpath(opts->repo_root, conf->repo_root) ||
	    stat(conf->repo_root, &st) != 0 || !S_ISDIR(st.st_mode)) {
		rc = lc_err_set(LC_ENOTFOUND, "shell: repository root '%s' is not a directory",
		                opts->repo_root ? opts->repo_root : "(null)");
		goto fail;
	}
	conf->no_sandbox = opts->no_sandbox;
	conf->no_git_mount = opts->no_git_mount;
	conf->grace_ms = opts->grace_ms ? opts->grace_ms : LC_EXEC_GRACE_DEFAULT_MS;
	conf->max_file_size = opts->max_file_size ? opts->max_file_size : LC_EXEC_FSIZE_DEFAULT;
	e->no_sandbox = opts->no_sandbox;
	lc_sandbox_probe(&e->report);

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0 ||
	    pipe2(cp, O_CLOEXEC) != 0) {
		rc = lc_err_set_errno(LC_EIO, errno, "shell: cannot create the executor's channel");
		goto fail;
	}
	fcntl(cp[1], F_SETFL, O_NONBLOCK);
	e->pid = fork();
	if (e->pid < 0) {
		rc = lc_err_set_errno(LC_EIO, errno, "shell: cannot fork the executor");
		goto fail;
	}
	if (e->pid == 0) {
		close(sv[0]);
		close(cp[1]);
		executor_main(conf, sv[1], cp[0]);
	}
	close(sv[1]);
	close(cp[0]);
	sv[1] = cp[0] = -1;
	e->sock = sv[0];
	e->cancel = cp[1];
	sv[0] = cp[1] = -1;

	if (read_all(e->sock, h, sizeof(h)) != 0 || get_u32(h) != MAGIC_HELLO ||
	    (len = get_u32(h + 8)) >= sizeof(e->tmpdir) || read_all(e->sock, e->tmpdir, len) != 0) {
		rc = lc_err_set(LC_EIO, "shell: the executor did not start");
		goto fail;
	}
	e->tmpdir[len] = '\0';
	status = (int)get_u32(h + 4);
	if (status != 0) {
		rc = lc_err_set(LC_EIO, "%s", e->tmpdir);
		goto fail;
	}
	memcpy(e->repo_root, conf->repo_root, sizeof(e->repo_root));
	free(conf);
	*out = e;
	return 0;

fail:
	if (sv[0] >= 0)
		close(sv[0]);
	if (sv[1] >= 0)
		close(sv[1]);
	if (cp[0] >= 0)
		close(cp[0]);
	if (cp[1] >= 0)
		close(cp[1]);
	lc_exec_free(e);
	free(conf);
	return rc;
}

/* The executor is unusable: close the channel so that it exits. */
static int exec_broken(lc_exec *e, const char *what)
{
	if (e->sock >= 0) {
		close(e->sock);
		e->sock = -1;
	}
	return lc_err_set(LC_EIO, "shell: %s", what);
}

int lc_exec_run(lc_exec *e, const lc_exec_cmd *cmd, lc_exec_result *res)
{
	unsigned char q[REQ_HDR], h[REPLY_HDR];
	const char *cwd = cmd->cwd ? cmd->cwd : e->repo_root;
	size_t cwd_len = strlen(cwd), cmd_len = cmd->command ? strlen(cmd->command) : 0;
	uint32_t timeout_ms, output_max, max_procs, msg_len, out_len, flags;
	char msg[MSG_MAX + 1];
	char *output = NULL;
	int rc = 0, status;

	if (!e->no_sandbox && !lc_sandbox_usable(&e->report))
		return lc_err_set(LC_EDENIED,
		                  "shell: refusing to run commands without a sandbox: %s "
		                  "(--no-sandbox runs them unconfined)",
		                  e->report.why);
	if (e->sock < 0)
		return lc_err_set(LC_EIO, "shell: the executor is not running");
	if (cmd_len == 0)
		return lc_err_set(LC_EPARSE, "shell: empty command");
	if (cmd_len > LC_EXEC_COMMAND_MAX)
		return lc_err_set(LC_ETOOBIG, "shell: command of %zu bytes is over the cap of %u",
		                  cmd_len, LC_EXEC_COMMAND_MAX);
	if (cwd_len == 0 || cwd_len >= CWD_MAX)
		return lc_err_set(LC_ETOOBIG, "shell: working directory name of %zu bytes",
		                  cwd_len);
	timeout_ms = cmd->timeout_ms ? cmd->timeout_ms : LC_EXEC_TIMEOUT_DEFAULT_MS;
	if (timeout_ms > LC_EXEC_TIMEOUT_MAX_MS)
		timeout_ms = LC_EXEC_TIMEOUT_MAX_MS;
	output_max = LC_EXEC_OUTPUT_DEFAULT;
	if (cmd->output_max)
		output_max = cmd->output_max > LC_EXEC_OUTPUT_MAX ? LC_EXEC_OUTPUT_MAX
		                                                  : (uint32_t)cmd->output_max;
	max_procs = cmd->max_procs ? cmd->max_procs : LC_EXEC_PROCS_DEFAULT;
	if (max_procs > LC_EXEC_PROCS_MAX)
		max_procs = LC_EXEC_PROCS_MAX;

	if (++e->seq == 0)
		e->seq = 1;
	put_u32(q, MAGIC_REQ);
	put_u32(q + 4, e->seq);
	put_u32(q + 8, timeout_ms);
	put_u32(q + 12, max_procs);
	put_u32(q + 16, output_max);
	put_u32(q + 20, (uint32_t)cwd_len);
	put_u32(q + 24, (uint32_t)cmd_len);
	put_u32(q + 28, 0);
	e->running = (sig_atomic_t)e->seq;
	if (write_all(e->sock, q, sizeof(q)) != 0 || write_all(e->sock, cwd, cwd_len) != 0 ||
	    write_all(e->sock, cmd->command, cmd_len) != 0) {
		rc = exec_broken(e, "the executor is gone");
		goto done;
	}
	if (read_all(e->sock, h, sizeof(h)) != 0) {
		rc = exec_broken(e, "the executor is gone");
		goto done;
	}
	msg_len = get_u32(h + 48);
	out_len = get_u32(h + 52);
	if (get_u32(h) != MAGIC_REPLY || msg_len > MSG_MAX ||
	    out_len > LC_EXEC_OUTPUT_MAX + MARKER_MAX) {
		rc = exec_broken(e, "malformed reply from the executor");
		if (rc == LC_EIO)
			rc = LC_EPARSE;
		goto done;
	}
	output = malloc((size_t)out_len + 1);
	if (!output) {
		rc = exec_broken(e, "out of memory for the command's output");
		goto done;
	}
	if (read_all(e->sock, msg, msg_len) != 0 || read_all(e->sock, output, out_len) != 0) {
		rc = exec_broken(e, "the executor is gone");
		goto done;
	}
	msg[msg_len] = '\0';
	output[out_len] = '\0';
	status = (int)get_u32(h + 4);
	if (status != 0) {
		rc = lc_err_set(status < 0 ? status : LC_EIO, "%s", msg);
		goto done;
	}
	flags = get_u32(h + 16);
	memset(res, 0, sizeof(*res));
	res->exit_status = (int)get_u32(h + 8);
	res->signal = (int)get_u32(h + 12);
	res->timed_out = !!(flags & FLAG_TIMED_OUT);
	res->cancelled = !!(flags & FLAG_CANCELLED);
	res->proc_limited = !!(flags & FLAG_PROC_LIMITED);
	res->sandboxed = !!(flags & FLAG_SANDBOXED);
	res->git_mounted = !!(flags & FLAG_GIT_MOUNTED);
	res->pids_capped = !!(flags & FLAG_PIDS_CGROUP);
	res->bytes_seen = get_u64(h + 24);
	res->bytes_cut = get_u64(h + 32);
	res->duration_ms = get_u64(h + 40);
	res->output = output;
	res->output_len = out_len;
	output = NULL;
done:
	e->running = 0;
	free(output);
	return rc;
}

void lc_exec_cancel(lc_exec *e)
{
	unsigned char b[4];
	uint32_t seq = (uint32_t)e->running;
	int saved = errno;

	if (seq != 0 && e->cancel >= 0) {
		put_u32(b, seq);
		/* Non-blocking: a full pipe already holds enough cancels. */
		if (write(e->cancel, b, sizeof(b)) < 0) {
			/* nothing to do from a signal handler */
		}
	}
	errno = saved;
}

const lc_sandbox_report *lc_exec_sandbox(const lc_exec *e)
{
	return &e->report;
}

const char *lc_exec_tmpdir(const lc_exec *e)
{
	return e->tmpdir;
}

int lc_exec_stop(lc_exec *e)
{
	int st = 0, rc = 0;

	if (e->sock >= 0) {
		close(e->sock);
		e->sock = -1;
	}
	if (e->cancel >= 0) {
		close(e->cancel);
		e->cancel = -1;
	}
	if (e->pid > 0) {
		while (waitpid(e->pid, &st, 0) < 0) {
			if (errno != EINTR) {
				st = -1;
				break;
			}
		}
		e->pid = 0;
		if (st != 0)
			rc = lc_err_set(LC_EIO, "shell: the executor did not exit cleanly");
	}
	return rc;
}

void lc_exec_free(lc_exec *e)
{
	if (!e)
		return;
	lc_exec_stop(e);
	free(e);
}

void lc_exec_result_release(lc_exec_result *res)
{
	if (!res)
		return;
	free(res->output);
	res->output = NULL;
	res->output_len = 0;
}
