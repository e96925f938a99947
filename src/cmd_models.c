/*
 * cmd_models.c - `lcode models`: the GGUF files in the models directory.
 *
 * One line per file: name, size, architecture (general.architecture) and
 * the dominant tensor type (the one that holds the most bytes), read from
 * the header with runtime/gguf.h.
 */
#include <dirent.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "runtime/gguf.h"
#include "runtime/qtype.h"
#include "src/commands.h"
#include "src/err.h"
#include "src/models.h"
#include "src/banned.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: lcode models\n"
	           "\nList the GGUF files in the models directory ($XDG_CACHE_HOME/lcode/models,\n"
	           "by default ~/.cache/lcode/models): name, size, architecture and the tensor\n"
	           "type that holds most of the weights. --model accepts these names.\n"
	           "\nOptions:\n"
	           "  -h, --help    show this help and exit\n"
	           "\nExit status: 0 done, 1 failed, 2 usage error.\n");
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void print_one(const char *dir, const char *name)
{
	char path[PATH_MAX], size[32], arch[64] = "?";
	uint64_t bytes[LC_QTYPE_COUNT] = {0};
	const char *quant = "?";
	lc_gguf *g = NULL;
	lc_gguf_str s;
	struct stat st;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >= sizeof(path) ||
	    stat(path, &st) < 0)
		return;
	if (st.st_size >= (off_t)1 << 30)
		snprintf(size, sizeof(size), "%.1f GiB", (double)st.st_size / (1 << 30));
	else
		snprintf(size, sizeof(size), "%.1f MiB", (double)st.st_size / (1 << 20));
	if (lc_gguf_open(&g, path) == 0) {
		int64_t best = -1;
		if (lc_gguf_find_key(g, "general.architecture") >= 0 &&
		    lc_gguf_get_str(g, "general.architecture", &s) == 0)
			snprintf(arch, sizeof(arch), "%.*s", (int)(s.len < 63 ? s.len : 63),
			         s.data);
		for (int64_t t = 0; t < lc_gguf_n_tensors(g); t++) {
			const lc_gguf_tensor *x = lc_gguf_tensor_at(g, t);
			bytes[x->type] += x->size;
		}
		for (int64_t i = 0; i < LC_QTYPE_COUNT; i++)
			if (bytes[i] && (best < 0 || bytes[i] > bytes[best]))
				best = i;
		if (best >= 0)
			quant = lc_qtype_name((enum lc_qtype)best);
	} else {
		snprintf(arch, sizeof(arch), "(unreadable: %.40s)", lc_err_msg());
		lc_err_clear();
	}
	printf("%-48s %10s  %-10s %s\n", name, size, arch, quant);
	lc_gguf_free(g);
}

int lc_cmd_models(int argc, char **argv)
{
	static const struct option opts[] = {
	        {"help", no_argument, NULL, 'h'},
	        {NULL, 0, NULL, 0},
	};
	char dir[PATH_MAX], **names = NULL;
	size_t n = 0, cap = 0;
	struct dirent *e;
	DIR *d;
	int ch, status = LC_EXIT_OK;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (ch == 'h') {
			usage(stdout);
			return LC_EXIT_OK;
		}
		fprintf(stderr, "see 'lcode models --help'\n");
		return LC_EXIT_USAGE;
	}
	if (optind != argc) {
		fprintf(stderr, "lcode: models takes no arguments; see 'lcode models --help'\n");
		return LC_EXIT_USAGE;
	}
	if (lc_models_dir(dir, sizeof(dir))) {
		lc_print_error(NULL);
		return LC_EXIT_FAIL;
	}
	if (!(d = opendir(dir))) {
		fprintf(stderr, "lcode: no models yet in '%s'; 'lcode pull' downloads one\n", dir);
		return LC_EXIT_OK;
	}
	while ((e = readdir(d))) {
		size_t len = strlen(e->d_name);
		if (len < 6 || strcmp(e->d_name + len - 5, ".gguf") != 0)
			continue;
		if (n == cap) {
			size_t nc = cap ? cap * 2 : 16;
			char **g = nc > 100000 ? NULL : realloc(names, nc * sizeof(*g));
			if (!g) {
				fprintf(stderr, "lcode: too many files in '%s'\n", dir);
				status = LC_EXIT_FAIL;
				break;
			}
			names = g;
			cap = nc;
		}
		if (!(names[n] = strdup(e->d_name))) {
			status = LC_EXIT_FAIL;
			break;
		}
		n++;
	}
	closedir(d);
	if (n)
		qsort(names, n, sizeof(*names), by_name);
	if (n)
		printf("%-48s %10s  %-10s %s\n", "NAME", "SIZE", "ARCH", "QUANT");
	for (size_t i = 0; i < n; i++) {
		print_one(dir, names[i]);
		free(names[i]);
	}
	free(names);
	if (!n && status == LC_EXIT_OK)
		fprintf(stderr, "lcode: no models yet in '%s'; 'lcode pull' downloads one\n", dir);
	return status;
}
