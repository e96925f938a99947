/*
 * sandbox.h - confinement of one shell command, applied in its child
 * between fork() and execve().
 *
 * What lc_sandbox_apply() sets up, in this order:
 *
 *  1. .git read-only, when a private mount namespace can be had (root, or
 *     an unprivileged user namespace): the repository's .git is bind-mounted
 *     read-only over itself, so the whole repository root can be granted
 *     write access below (new top-level files included). Otherwise Landlock
 *     alone protects .git, see 3.
 *  2. prctl(PR_SET_NO_NEW_PRIVS): no set-uid or file-capability gains.
 *  3. Landlock (kernel documentation, "Landlock: unprivileged access
 *     control", ABI 1..7): every filesystem right the running ABI knows is
 *     handled; read and execute are granted on "/", write on the private
 *     temp dir, on /dev/null, /dev/zero, /dev/full, and on the repository:
 *     - with the read-only .git mount: on the repository root;
 *     - without it: on each top-level entry except ".git" (directories get
 *       every right, files the file rights; symlinks get none). Landlock
 *       rights are inherited down a hierarchy, so a right on the root would
 *       reach into .git; what is lost is creating, removing or renaming
 *       entries directly in the repository root (files inside existing
 *       top-level directories can be created and removed).
 *     ABI >= 4: TCP bind and connect are denied. ABI >= 6: signals to, and
 *     abstract unix sockets of, processes outside the sandbox are denied.
 *  4. All capabilities dropped (bounding, ambient, effective, permitted,
 *     inheritable sets), so root in the sandbox is an ordinary uid 0.
 *  5. A seccomp filter (classic BPF, seccomp(2)) for the build's own
 *     architecture (lc_sandbox_arch(); on any other the sandbox counts as
 *     unavailable): calls from another architecture and x32 calls fail; socket()/socketpair() for
 * any family but AF_UNIX, ptrace, process_vm_readv/writev, io_uring, bpf, mount and the new mount
 * API, umount, pivot_root, chroot, unshare, setns, clone with namespace flags, kexec, module
 * loading, reboot, swapon/off, perf_event_open, userfaultfd, pidfd_getfd, open_by_handle_at, setsid
 *     and setpgid fail with EPERM; clone3 fails with ENOSYS so that libc
 *     falls back to clone, whose flags the filter can see. setsid/setpgid
 *     are denied so that every process the command starts stays in its
 *     process group, which the executor counts and kills as one.
 *
 * Limits (lc_sandbox_limits(), applied with or without the sandbox):
 * RLIMIT_CORE 0 and RLIMIT_FSIZE. Processes are capped by the executor
 * counting the process group (RLIMIT_NPROC does not bind uid 0, and for
 * other users it counts every process of the user, not the command's).
 */
#ifndef LC_SANDBOX_H
#define LC_SANDBOX_H

#include <stdint.h>

typedef struct lc_sandbox_report {
	int landlock_abi; /* Landlock ABI version, 0 when unavailable */
	int seccomp;      /* 1 when a seccomp filter returning errno can be set */
	char why[256];    /* "" when both are available, otherwise the reason */
} lc_sandbox_report;

/*
 * For tests only: when this environment variable is "1", lc_sandbox_probe()
 * reports Landlock as missing (ENOSYS) whatever the kernel offers, so that
 * the refusal and the --no-sandbox opt-out can be tested on any kernel. It
 * can only make lcode refuse commands, never confine them less.
 */
#define LC_SANDBOX_TEST_NO_LANDLOCK "LCODE_TEST_NO_LANDLOCK"

/*
 * Find out what this kernel offers. Fills *out; never fails (what is
 * missing is said in out->why). Touches nothing: safe in any process.
 */
void lc_sandbox_probe(lc_sandbox_report *out);

/*
 * The architecture the seccomp filter is built for: "x86_64", "aarch64" or
 * "riscv64" (uname -m spelling), NULL when this build's architecture has
 * none; then lc_sandbox_probe() reports seccomp as unavailable, saying why.
 * Static string.
 */
const char *lc_sandbox_arch(void);

/* 1 when both Landlock and seccomp are available, else 0. */
int lc_sandbox_usable(const lc_sandbox_report *r);

typedef struct lc_sandbox_policy {
	const char *repo_root;  /* absolute, canonical; writable except .git */
	const char *tmp_dir;    /* absolute, canonical; writable; NULL for none */
	const char *cwd;        /* directory to change to once set up */
	uint64_t max_file_size; /* RLIMIT_FSIZE in bytes; 0 leaves it alone */
	int no_git_mount;       /* 1: protect .git by Landlock rules alone (step 1 skipped) */
} lc_sandbox_policy;

/*
 * Set RLIMIT_CORE to 0 and RLIMIT_FSIZE to p->max_file_size in the calling
 * process. Returns 0 or LC_EIO.
 */
int lc_sandbox_limits(const lc_sandbox_policy *p);

/*
 * Confine the calling process as described at the top of this file and
 * change to p->cwd. Irreversible; meant for a freshly forked,
 * single-threaded child just before execve(). *git_mounted, if not NULL,
 * gets 1 when .git was protected by a read-only mount, 0 when by Landlock
 * rules alone. Returns 0; LC_EUNSUPPORTED when Landlock or seccomp is
 * missing; LC_EIO when a step fails (the message names the step).
 */
int lc_sandbox_apply(const lc_sandbox_policy *p, int *git_mounted);

#endif
