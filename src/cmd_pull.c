/*
 * cmd_pull.c - `lcode pull URL|hf:OWNER/REPO/FILE [-o PATH] [--sha256 HEX]`.
 *
 * hf:OWNER/REPO/FILE is Hugging Face's resolve URL,
 * {HF_ENDPOINT or https://huggingface.co}/OWNER/REPO/resolve/main/FILE.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "src/commands.h"
#include "src/err.h"
#include "src/models.h"
#include "src/banned.h"

static volatile sig_atomic_t pull_cancel;

static void on_sigint(int sig)
{
	(void)sig;
	pull_cancel = 1;
}

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: lcode pull URL [-o PATH] [--sha256 HEX]\n"
	        "       lcode pull hf:OWNER/REPO/FILE.gguf [-o PATH] [--sha256 HEX]\n"
	        "\nDownload a model file into the models directory ($XDG_CACHE_HOME/lcode/models,\n"
	        "by default ~/.cache/lcode/models), or to PATH. An interrupted download is\n"
	        "resumed from FILE.part, unless the server's file changed since; the file gets\n"
	        "its name only once it is complete and its SHA-256 matches HEX or the digest\n"
	        "the server names (Hugging Face does). A file already there is kept; with\n"
	        "--sha256 its digest is checked.\n"
	        "\nOptions:\n"
	        "  -o, --output PATH   where to put the file\n"
	        "      --sha256 HEX    the file's expected SHA-256\n"
	        "  -h, --help          show this help and exit\n"
	        "\nEnvironment: HF_ENDPOINT replaces https://huggingface.co for hf: names.\n"
	        "\nExit status: 0 done, 1 failed, 2 usage error.\n");
}

/* mkdir -p */
static int make_dirs(const char *path)
{
	char p[PATH_MAX];

	if ((size_t)snprintf(p, sizeof(p), "%s", path) >= sizeof(p))
		return lc_err_set(LC_ETOOBIG, "path too long: '%s'", path);
	for (char *s = p + 1;; s++) {
		if (*s == '/' || *s == '\0') {
			char c = *s;
			*s = '\0';
			if (mkdir(p, 0755) < 0 && errno != EEXIST)
				return lc_err_set_errno(LC_EIO, errno, "cannot create '%s'", p);
			*s = c;
			if (!c)
				return 0;
		}
	}
}

/* The URL for an argument: http(s) as is, hf:OWNER/REPO/FILE expanded. */
static int url_of(const char *arg, char *out, size_t cap)
{
	const char *ep = getenv("HF_ENDPOINT"), *p, *file;
	int n;

	if (strncmp(arg, "http://", 7) == 0 || strncmp(arg, "https://", 8) == 0)
		n = snprintf(out, cap, "%s", arg);
	else if (strncmp(arg, "hf:", 3) == 0) {
		p = arg + 3;
		file = strchr(p, '/');
		file = file ? strchr(file + 1, '/') : NULL;
		if (!file || file == p || !file[1] || strstr(p, ".."))
			return lc_err_set(LC_EPARSE, "'%s' is not hf:OWNER/REPO/FILE", arg);
		if (!ep || !ep[0])
			ep = "https://huggingface.co";
		n = snprintf(out, cap, "%s%s%.*s/resolve/main/%s", ep,
		             ep[strlen(ep) - 1] == '/' ? "" : "/", (int)(file - p), p, file + 1);
	} else {
		return lc_err_set(LC_EPARSE,
		                  "'%s' is neither an http(s) URL nor hf:OWNER/REPO/FILE", arg);
	}
	if (n < 0 || (size_t)n >= cap)
		return lc_err_set(LC_ETOOBIG, "URL too long");
	return 0;
}

/* The file name a URL ends in, without its query; refused when it is empty or "..". */
static int name_of(const char *url, char *out, size_t cap)
{
	size_t end = strcspn(url, "?#");
	const char *s = url + end;

	while (s > url && s[-1] != '/')
		s--;
	if (url + end == s || (url + end - s == 2 && s[0] == '.' && s[1] == '.') ||
	    (url + end - s == 1 && s[0] == '.') || (size_t)(url + end - s) >= cap)
		return lc_err_set(LC_EPARSE, "no file name in '%s'; give one with -o", url);
	snprintf(out, cap, "%.*s", (int)(url + end - s), s);
	return 0;
}

int lc_cmd_pull(int argc, char **argv)
{
	static const struct option opts[] = {
	        {"help", no_argument, NULL, 'h'},
	        {"output", required_argument, NULL, 'o'},
	        {"sha256", required_argument, NULL, 's'},
	        {NULL, 0, NULL, 0},
	};
	const char *output = NULL, *sha = NULL;
	char url[8192], dir[PATH_MAX], name[1024], dest[PATH_MAX], digest[65];
	lc_download_opts dopts = {0};
	uint64_t size = 0;
	struct stat st;
	int ch;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "ho:", opts, NULL)) != -1) {
		switch (ch) {
		case 'h':
			usage(stdout);
			return LC_EXIT_OK;
		case 'o':
			output = optarg;
			break;
		case 's':
			sha = optarg;
			break;
		default:
			fprintf(stderr, "see 'lcode pull --help'\n");
			return LC_EXIT_USAGE;
		}
	}
	if (optind + 1 != argc) {
		fprintf(stderr, "lcode: pull takes one URL; see 'lcode pull --help'\n");
		return LC_EXIT_USAGE;
	}
	if (url_of(argv[optind], url, sizeof(url))) {
		lc_print_error(NULL);
		return LC_EXIT_USAGE;
	}
	if (output) {
		if ((size_t)snprintf(dest, sizeof(dest), "%s", output) >= sizeof(dest)) {
			fprintf(stderr, "lcode: path too long\n");
			return LC_EXIT_USAGE;
		}
	} else {
		if (name_of(url, name, sizeof(name))) {
			lc_print_error(NULL);
			return LC_EXIT_USAGE;
		}
		if (lc_models_dir(dir, sizeof(dir)) || make_dirs(dir)) {
			lc_print_error(NULL);
			return LC_EXIT_FAIL;
		}
		if ((size_t)snprintf(dest, sizeof(dest), "%s/%s", dir, name) >= sizeof(dest)) {
			fprintf(stderr, "lcode: path too long\n");
			return LC_EXIT_USAGE;
		}
	}
	if (stat(dest, &st) == 0 && sha) {
		/* Nothing to download, but the digest the user gave is checked all the same. */
		if (strlen(sha) != 64 || strspn(sha, "0123456789abcdefABCDEF") != 64) {
			fprintf(stderr, "lcode: --sha256 takes 64 hex digits, not '%s'\n", sha);
			return LC_EXIT_USAGE;
		}
		if (lc_models_sha256(dest, digest)) {
			lc_print_error("pull");
			return LC_EXIT_FAIL;
		}
		if (strcasecmp(digest, sha) != 0) {
			fprintf(stderr,
			        "lcode: '%s' is already there with SHA-256 %s, not %s; delete it "
			        "to download it again\n",
			        dest, digest, sha);
			return LC_EXIT_FAIL;
		}
		fprintf(stderr, "lcode: '%s' is already there; its SHA-256 matches\n", dest);
		printf("%s\n", dest);
		return LC_EXIT_OK;
	}
	if (stat(dest, &st) == 0) {
		fprintf(stderr, "lcode: '%s' is already there; delete it to download it again\n",
		        dest);
		printf("%s\n", dest);
		return LC_EXIT_OK;
	}
	dopts.url = url;
	dopts.dest = dest;
	dopts.sha256 = sha;
	dopts.progress = isatty(STDERR_FILENO);
	dopts.cancel = &pull_cancel;
	signal(SIGINT, on_sigint);
	if (lc_download(&dopts, &size, digest)) {
		lc_print_error("pull");
		return lc_err_code() == LC_EPARSE && sha ? LC_EXIT_USAGE : LC_EXIT_FAIL;
	}
	fprintf(stderr, "lcode: %s: %" PRIu64 " bytes, sha256 %s\n", dest, size, digest);
	printf("%s\n", dest);
	return LC_EXIT_OK;
}
