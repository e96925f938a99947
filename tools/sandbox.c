/*
 * sandbox.c - Landlock, seccomp, capabilities and a read-only .git for
 * one command's child. See sandbox.h for what is confined and why.
 *
 * Sources: Documentation/userspace-api/landlock.rst (ABI versions and
 * their rights), Documentation/userspace-api/seccomp_filter.rst and
 * seccomp(2) (filter layout, struct seccomp_data), capabilities(7),
 * mount_namespaces(7), user_namespaces(7).
 */
#include "tools/sandbox.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/audit.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>

#include "src/err.h"
#include "src/banned.h"

/*
 * Landlock's uapi, spelled out here because the installed linux/landlock.h
 * may predate the ABI the kernel offers (Debian 12's stops at ABI 2).
 */
#define LL_CREATE_RULESET_VERSION (1U << 0)
#define LL_RULE_PATH_BENEATH      1

#define LL_FS_EXECUTE     (1ULL << 0)
#define LL_FS_WRITE_FILE  (1ULL << 1)
#define LL_FS_READ_FILE   (1ULL << 2)
#define LL_FS_READ_DIR    (1ULL << 3)
#define LL_FS_REMOVE_DIR  (1ULL << 4)
#define LL_FS_REMOVE_FILE (1ULL << 5)
#define LL_FS_MAKE_CHAR   (1ULL << 6)
#define LL_FS_MAKE_DIR    (1ULL << 7)
#define LL_FS_MAKE_REG    (1ULL << 8)
#define LL_FS_MAKE_SOCK   (1ULL << 9)
#define LL_FS_MAKE_FIFO   (1ULL << 10)
#define LL_FS_MAKE_BLOCK  (1ULL << 11)
#define LL_FS_MAKE_SYM    (1ULL << 12)
#define LL_FS_REFER       (1ULL << 13) /* ABI 2 */
#define LL_FS_TRUNCATE    (1ULL << 14) /* ABI 3 */
#define LL_FS_IOCTL_DEV   (1ULL << 15) /* ABI 5 */

#define LL_NET_BIND_TCP    (1ULL << 0) /* ABI 4 */
#define LL_NET_CONNECT_TCP (1ULL << 1)

#define LL_SCOPE_ABSTRACT_UNIX_SOCKET (1ULL << 0) /* ABI 6 */
#define LL_SCOPE_SIGNAL               (1ULL << 1)

/* The rights a rule on a non-directory may carry. */
#define LL_FS_FILE_RIGHTS                                                                          \
	(LL_FS_EXECUTE | LL_FS_WRITE_FILE | LL_FS_READ_FILE | LL_FS_TRUNCATE | LL_FS_IOCTL_DEV)

struct ll_ruleset_attr {
	uint64_t handled_access_fs;
	uint64_t handled_access_net; /* ABI 4 */
	uint64_t scoped;             /* ABI 6 */
};

struct ll_path_beneath_attr {
	uint64_t allowed_access;
	int32_t parent_fd;
} __attribute__((packed));

static int ll_abi(void)
{
	long v = syscall(SYS_landlock_create_ruleset, NULL, 0, LL_CREATE_RULESET_VERSION);

	return v < 0 ? 0 : (int)v;
}

static int seccomp_available(void)
{
	uint32_t action = SECCOMP_RET_ERRNO;

	return lc_sandbox_arch() != NULL &&
	       syscall(SYS_seccomp, SECCOMP_GET_ACTION_AVAIL, 0, &action) == 0;
}

void lc_sandbox_probe(lc_sandbox_report *out)
{
	const char *forced = getenv(LC_SANDBOX_TEST_NO_LANDLOCK);
	int e;

	memset(out, 0, sizeof(*out));
	out->landlock_abi = ll_abi();
	e = errno;
	if (forced && strcmp(forced, "1") == 0) {
		/* For tests: the refusal path on a kernel that has Landlock. */
		out->landlock_abi = 0;
		e = ENOSYS;
	}
	out->seccomp = seccomp_available();
	if (out->landlock_abi == 0 && !out->seccomp)
		snprintf(out->why, sizeof(out->why),
		         "this kernel offers neither Landlock (%s) nor seccomp filters",
		         strerror(e));
	else if (out->landlock_abi == 0)
		snprintf(out->why, sizeof(out->why),
		         "this kernel does not offer Landlock (%s); it needs Linux >= 5.13 with "
		         "landlock in the lsm= list",
		         strerror(e));
	else if (!out->seccomp && !lc_sandbox_arch())
		snprintf(out->why, sizeof(out->why),
		         "lcode has no seccomp filter for this build's architecture (it knows "
		         "x86_64, aarch64 and riscv64)");
	else if (!out->seccomp)
		snprintf(out->why, sizeof(out->why),
		         "this kernel does not offer seccomp filters (CONFIG_SECCOMP_FILTER)");
}

int lc_sandbox_usable(const lc_sandbox_report *r)
{
	return r->landlock_abi > 0 && r->seccomp;
}

int lc_sandbox_limits(const lc_sandbox_policy *p)
{
	struct rlimit rl = {0, 0};

	if (setrlimit(RLIMIT_CORE, &rl) != 0)
		return lc_err_set_errno(LC_EIO, errno, "sandbox: setrlimit(RLIMIT_CORE)");
	if (p->max_file_size > 0) {
		rl.rlim_cur = rl.rlim_max = (rlim_t)p->max_file_size;
		if (setrlimit(RLIMIT_FSIZE, &rl) != 0)
			return lc_err_set_errno(LC_EIO, errno, "sandbox: setrlimit(RLIMIT_FSIZE)");
	}
	return 0;
}

/* ---- 1. read-only .git through a private mount namespace ---- */

static int write_proc_file(const char *path, const char *text)
{
	size_t n = strlen(text);
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	int ok;

	if (fd < 0)
		return -1;
	ok = write(fd, text, n) == (ssize_t)n;
	close(fd);
	return ok ? 0 : -1;
}

/* Enter a new mount namespace; as non-root, inside a user namespace. */
static int enter_mount_ns(void)
{
	char map[64];
	uid_t uid = getuid();
	gid_t gid = getgid();

	if (unshare(CLONE_NEWNS) == 0)
		return 0;
	if (unshare(CLONE_NEWUSER | CLONE_NEWNS) != 0)
		return -1;
	/* Map our own ids to themselves so files keep their owners. */
	snprintf(map, sizeof(map), "%lu %lu 1\n", (unsigned long)uid, (unsigned long)uid);
	if (write_proc_file("/proc/self/setgroups", "deny") != 0 ||
	    write_proc_file("/proc/self/uid_map", map) != 0)
		return -1;
	snprintf(map, sizeof(map), "%lu %lu 1\n", (unsigned long)gid, (unsigned long)gid);
	return write_proc_file("/proc/self/gid_map", map);
}

/*
 * 1 when .git is now read-only in a private mount namespace (or there is
 * no .git), 0 when that could not be done and Landlock rules must keep
 * .git out of reach instead. A failure here is no error: the fallback is
 * as safe, only less convenient.
 */
static int git_readonly_mount(const char *repo_root)
{
	char git[PATH_MAX];
	struct stat st;
	struct statvfs sv;
	unsigned long flags = MS_BIND | MS_REMOUNT | MS_RDONLY;
	int n;

	n = snprintf(git, sizeof(git), "%s/.git", repo_root);
	if (n < 0 || (size_t)n >= sizeof(git))
		return 0;
	if (lstat(git, &st) != 0)
		return errno == ENOENT;
	/* A symlinked .git could be swapped under the mount; leave it to Landlock. */
	if (S_ISLNK(st.st_mode))
		return 0;
	if (enter_mount_ns() != 0)
		return 0;
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
		return 0;
	if (mount(git, git, NULL, MS_BIND | MS_REC, NULL) != 0)
		return 0;
	/* A remount must keep the locked flags of the mount underneath. */
	if (statvfs(git, &sv) == 0) {
		if (sv.f_flag & ST_NOSUID)
			flags |= MS_NOSUID;
		if (sv.f_flag & ST_NODEV)
			flags |= MS_NODEV;
		if (sv.f_flag & ST_NOEXEC)
			flags |= MS_NOEXEC;
		if (sv.f_flag & ST_NOATIME)
			flags |= MS_NOATIME;
		if (sv.f_flag & ST_NODIRATIME)
			flags |= MS_NODIRATIME;
		if (sv.f_flag & ST_RELATIME)
			flags |= MS_RELATIME;
	}
	if (mount(NULL, git, NULL, flags, NULL) != 0)
		return 0;
	return 1;
}

/* ---- 3. Landlock ---- */

static uint64_t ll_fs_rights(int abi)
{
	uint64_t r = (LL_FS_MAKE_SYM << 1) - 1; /* ABI 1: bits 0..12 */

	if (abi >= 2)
		r |= LL_FS_REFER;
	if (abi >= 3)
		r |= LL_FS_TRUNCATE;
	if (abi >= 5)
		r |= LL_FS_IOCTL_DEV;
	return r;
}

/* Grant rights (clipped to handled and to what the inode type takes). */
static int ll_allow_fd(int ruleset, int fd, uint64_t rights, uint64_t handled, const char *what)
{
	struct ll_path_beneath_attr pb;
	struct stat st;

	if (fstat(fd, &st) != 0)
		return lc_err_set_errno(LC_EIO, errno, "sandbox: stat '%s'", what);
	if (!S_ISDIR(st.st_mode))
		rights &= LL_FS_FILE_RIGHTS;
	pb.allowed_access = rights & handled;
	pb.parent_fd = fd;
	if (pb.allowed_access == 0)
		return 0;
	if (syscall(SYS_landlock_add_rule, ruleset, LL_RULE_PATH_BENEATH, &pb, 0) != 0)
		return lc_err_set_errno(LC_EIO, errno, "sandbox: landlock_add_rule '%s'", what);
	return 0;
}

static int ll_allow_path(int ruleset, const char *path, uint64_t rights, uint64_t handled,
                         int optional)
{
	int fd = open(path, O_PATH | O_CLOEXEC);
	int rc;

	if (fd < 0) {
		if (optional)
			return 0;
		return lc_err_set_errno(LC_EIO, errno, "sandbox: open '%s'", path);
	}
	rc = ll_allow_fd(ruleset, fd, rights, handled, path);
	close(fd);
	return rc;
}

/* Write to every top-level entry of the repository but .git and symlinks. */
static int ll_allow_repo_entries(int ruleset, const char *repo_root, uint64_t handled)
{
	DIR *d;
	struct dirent *de;
	int dfd, rc = 0;

	d = opendir(repo_root);
	if (!d)
		return lc_err_set_errno(LC_EIO, errno, "sandbox: opendir '%s'", repo_root);
	dfd = dirfd(d);
	while ((de = readdir(d)) != NULL) {
		int fd;

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0 ||
		    strcmp(de->d_name, ".git") == 0)
			continue;
		/* O_NOFOLLOW with O_PATH opens the symlink itself: skip it. */
		fd = openat(dfd, de->d_name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			continue; /* removed meanwhile */
		{
			struct stat st;

			if (fstat(fd, &st) == 0 && !S_ISLNK(st.st_mode))
				rc = ll_allow_fd(ruleset, fd, handled, handled, de->d_name);
		}
		close(fd);
		if (rc)
			break;
	}
	closedir(d);
	return rc;
}

static int landlock_apply(const lc_sandbox_policy *p, int abi, int git_mounted)
{
	static const char *const devs[] = {"/dev/null", "/dev/zero", "/dev/full"};
	struct ll_ruleset_attr attr;
	size_t attr_size = sizeof(attr.handled_access_fs);
	uint64_t handled = ll_fs_rights(abi);
	uint64_t read = LL_FS_EXECUTE | LL_FS_READ_FILE | LL_FS_READ_DIR;
	uint64_t dev = LL_FS_READ_FILE | LL_FS_WRITE_FILE | LL_FS_TRUNCATE | LL_FS_IOCTL_DEV;
	int ruleset, rc = 0;
	size_t i;

	memset(&attr, 0, sizeof(attr));
	attr.handled_access_fs = handled;
	if (abi >= 4) {
		/* Handled with no rule: no TCP bind or connect at all. */
		attr.handled_access_net = LL_NET_BIND_TCP | LL_NET_CONNECT_TCP;
		attr_size = offsetof(struct ll_ruleset_attr, scoped);
	}
	if (abi >= 6) {
		attr.scoped = LL_SCOPE_ABSTRACT_UNIX_SOCKET | LL_SCOPE_SIGNAL;
		attr_size = sizeof(attr);
	}
	ruleset = (int)syscall(SYS_landlock_create_ruleset, &attr, attr_size, 0);
	if (ruleset < 0)
		return lc_err_set_errno(LC_EIO, errno, "sandbox: landlock_create_ruleset (ABI %d)",
		                        abi);

	rc = ll_allow_path(ruleset, "/", read, handled, 0);
	for (i = 0; rc == 0 && i < sizeof(devs) / sizeof(devs[0]); i++)
		rc = ll_allow_path(ruleset, devs[i], dev, handled, 1);
	if (rc == 0 && p->tmp_dir)
		rc = ll_allow_path(ruleset, p->tmp_dir, handled, handled, 0);
	if (rc == 0) {
		if (git_mounted)
			rc = ll_allow_path(ruleset, p->repo_root, handled, handled, 0);
		else
			rc = ll_allow_repo_entries(ruleset, p->repo_root, handled);
	}
	if (rc == 0 && syscall(SYS_landlock_restrict_self, ruleset, 0) != 0)
		rc = lc_err_set_errno(LC_EIO, errno, "sandbox: landlock_restrict_self");
	close(ruleset);
	return rc;
}

/* ---- 4. capabilities ---- */

static int drop_capabilities(void)
{
	struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct data[2];
	int cap;

	memset(data, 0, sizeof(data));
	if (syscall(SYS_capget, &hdr, data) != 0)
		return lc_err_set_errno(LC_EIO, errno, "sandbox: capget");
	if ((data[0].permitted | data[1].permitted | data[0].inheritable | data[1].inheritable) ==
	    0)
		return 0; /* nothing to drop, and no CAP_SETPCAP to drop the bounding set */
	prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	/* The bounding set caps what execve() of a uid-0 program gives back. */
	for (cap = 0; cap < 64; cap++) {
		if (prctl(PR_CAPBSET_READ, cap, 0, 0, 0) <= 0)
			continue;
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0)
			return lc_err_set_errno(LC_EIO, errno, "sandbox: drop capability %d", cap);
	}
	memset(data, 0, sizeof(data));
	if (syscall(SYS_capset, &hdr, data) != 0)
		return lc_err_set_errno(LC_EIO, errno, "sandbox: capset");
	return 0;
}

/* ---- 5. seccomp ---- */

/*
 * The audit architecture of this build (linux/audit.h), which seccomp_data
 * carries for every call: the filter below allows calls of this one only.
 * Syscall numbers are the build's own (sys/syscall.h), so a filter for
 * another architecture would deny the wrong calls; where the build's
 * architecture is not listed here, no filter is installed and the probe
 * reports seccomp as unavailable, so commands are refused (or run
 * unconfined with --no-sandbox). x86_64 without x32 (__ILP32__), aarch64
 * and riscv64, little-endian: the filter reads an int argument from the
 * low word of a 64-bit slot at its start.
 */
#if defined(__x86_64__) && !defined(__ILP32__)
#define SECCOMP_ARCH      AUDIT_ARCH_X86_64
#define SECCOMP_ARCH_NAME "x86_64"
#define SECCOMP_X32       1
#elif defined(__aarch64__) && defined(__AARCH64EL__) && !defined(__ILP32__)
#define SECCOMP_ARCH      AUDIT_ARCH_AARCH64
#define SECCOMP_ARCH_NAME "aarch64"
#define SECCOMP_X32       0
#elif defined(__riscv) && __riscv_xlen == 64 && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define SECCOMP_ARCH      AUDIT_ARCH_RISCV64
#define SECCOMP_ARCH_NAME "riscv64"
#define SECCOMP_X32       0
#endif

const char *lc_sandbox_arch(void)
{
#ifdef SECCOMP_ARCH
	return SECCOMP_ARCH_NAME;
#else
	return NULL;
#endif
}

#ifdef SECCOMP_ARCH

#define ARCH_OFF offsetof(struct seccomp_data, arch)
#define NR_OFF   offsetof(struct seccomp_data, nr)
/* args are 64-bit little-endian; the low word holds an int argument */
#define ARG0_LO_OFF offsetof(struct seccomp_data, args[0])

#define X32_SYSCALL_BIT 0x40000000U

#define RET_ERRNO(e) (SECCOMP_RET_ERRNO | ((e)&SECCOMP_RET_DATA))

/* clone() flags that create namespaces (CLONE_NEWNS .. CLONE_NEWNET). */
#define CLONE_NS_FLAGS                                                                             \
	(CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER |             \
	 CLONE_NEWPID | CLONE_NEWNET)

static const int denied_syscalls[] = {
        SYS_ptrace,
        SYS_process_vm_readv,
        SYS_process_vm_writev,
        SYS_io_uring_setup,
        SYS_io_uring_enter,
        SYS_io_uring_register,
        SYS_bpf,
        SYS_mount,
        SYS_umount2,
        SYS_pivot_root,
        SYS_chroot,
        SYS_unshare,
        SYS_setns,
        SYS_kexec_load,
        SYS_kexec_file_load,
        SYS_init_module,
        SYS_finit_module,
        SYS_delete_module,
        SYS_open_tree,
        SYS_move_mount,
        SYS_fsopen,
        SYS_fsconfig,
        SYS_fsmount,
        SYS_fspick,
        SYS_mount_setattr,
        SYS_reboot,
        SYS_swapon,
        SYS_swapoff,
        SYS_perf_event_open,
        SYS_userfaultfd,
        SYS_pidfd_getfd,
        SYS_open_by_handle_at,
        SYS_setsid,
        SYS_setpgid,
};

#define N_DENIED (sizeof(denied_syscalls) / sizeof(denied_syscalls[0]))
/* arch check (3) + x32 check (3; 1 without x32) + 2 per denied call + clone3 (2) +
 * sockets (6) + clone (5) */
#define FILTER_LEN (6 + 2 * N_DENIED + 2 + 6 + 5)

static int seccomp_apply(void)
{
	struct sock_filter f[FILTER_LEN];
	struct sock_fprog prog;
	size_t n = 0, i;

	/* Another architecture's numbers mean other calls: refuse them all. */
	f[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, ARCH_OFF);
	f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SECCOMP_ARCH, 1, 0);
	f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, RET_ERRNO(EPERM));
	f[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, NR_OFF);
	if (SECCOMP_X32) {
		/* x32 calls share AUDIT_ARCH_X86_64 and carry bit 30 in the number. */
		f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, X32_SYSCALL_BIT, 0,
		                                      1);
		f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, RET_ERRNO(EPERM));
	}
	for (i = 0; i < N_DENIED; i++) {
		f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K,
		                                      (uint32_t)denied_syscalls[i], 0, 1);
		f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, RET_ERRNO(EPERM));
	}
	/* clone3 passes its flags in memory the filter cannot read. */
	f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_clone3, 0, 1);
	f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, RET_ERRNO(ENOSYS));
	/* socket/socketpair: AF_UNIX only */
	f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_socket, 1, 0);
	f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_socketpair, 0, 4);
	f[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, ARG0_LO_OFF);
	f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AF_UNIX, 0, 1);
	f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
	f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, RET_ERRNO(EPERM));
	/* clone: no namespace flags; anything else is allowed */
	f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_clone, 0, 3);
	f[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, ARG0_LO_OFF);
	f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, CLONE_NS_FLAGS, 0, 1);
	f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, RET_ERRNO(EPERM));
	f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);

	prog.len = (unsigned short)n;
	prog.filter = f;
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) != 0)
		return lc_err_set_errno(LC_EIO, errno, "sandbox: seccomp(SECCOMP_SET_MODE_FILTER)");
	return 0;
}

#else /* no SECCOMP_ARCH */

static int seccomp_apply(void)
{
	return lc_err_set(LC_EUNSUPPORTED, "sandbox: no seccomp filter for this architecture");
}

#endif

int lc_sandbox_apply(const lc_sandbox_policy *p, int *git_mounted)
{
	lc_sandbox_report rep;
	int mounted, rc;

	lc_sandbox_probe(&rep);
	if (!lc_sandbox_usable(&rep))
		return lc_err_set(LC_EUNSUPPORTED, "sandbox: %s", rep.why);
	mounted = p->no_git_mount ? 0 : git_readonly_mount(p->repo_root);
	/* After the mounts, so that a cwd inside .git sees the read-only one. */
	if (p->cwd && chdir(p->cwd) != 0)
		return lc_err_set_errno(LC_EIO, errno, "sandbox: chdir '%s'", p->cwd);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
		return lc_err_set_errno(LC_EIO, errno, "sandbox: prctl(PR_SET_NO_NEW_PRIVS)");
	rc = landlock_apply(p, rep.landlock_abi, mounted);
	if (rc == 0)
		rc = drop_capabilities();
	if (rc == 0)
		rc = seccomp_apply();
	if (rc == 0 && git_mounted)
		*git_mounted = mounted;
	return rc;
}
