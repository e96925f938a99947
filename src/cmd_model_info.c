/*
 * cmd_model_info.c - `lcode model-info FILE`: what a GGUF model file holds.
 *
 * Reads the header and metadata only (lc_gguf_open maps the file; no weight
 * is touched) and prints one "name: value" line per fact.
 */
#include <getopt.h>
#include <limits.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/template.h"
#include "runtime/gguf.h"
#include "runtime/qtype.h"
#include "src/commands.h"
#include "src/err.h"
#include "src/models.h"
#include "src/banned.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: lcode model-info FILE\n"
	           "\nPrint what the GGUF model FILE (or a name from 'lcode models') holds:\n"
	           "architecture, parameter count, tensor types (and those lcode cannot run),\n"
	           "context length, vocabulary, chat-template family, file size.\n"
	           "\nOptions:\n"
	           "  -h, --help    show this help and exit\n"
	           "\nExit status: 0 done, 2 usage error, 3 not a usable GGUF file.\n");
}

/* Print a string from the file: printable ASCII and UTF-8 as is, control bytes escaped. */
static void print_str(lc_gguf_str s)
{
	uint64_t i;

	for (i = 0; i < s.len && i < 200; i++) {
		unsigned char c = (unsigned char)s.data[i];
		if (c < 0x20 || c == 0x7f)
			printf("\\x%02x", c);
		else
			putchar(c);
	}
	if (i < s.len)
		printf("...");
}

/* 494032768 -> "494.0M": one decimal, K/M/B/T by the value's power of 1000. */
static void print_count(uint64_t n)
{
	if (n < 1000)
		printf("%" PRIu64, n);
	else if (n < 1000000)
		printf("%.1fK", (double)n / 1e3);
	else if (n < 1000000000)
		printf("%.1fM", (double)n / 1e6);
	else if (n < UINT64_C(1000000000000))
		printf("%.1fB", (double)n / 1e9);
	else
		printf("%.1fT", (double)n / 1e12);
}

static void print_size(size_t n)
{
	printf("%zu bytes", n);
	if (n >= (size_t)1 << 30)
		printf(" (%.1f GiB)", (double)n / (1 << 30));
	else if (n >= (size_t)1 << 20)
		printf(" (%.1f MiB)", (double)n / (1 << 20));
	else if (n >= 1024)
		printf(" (%.1f KiB)", (double)n / 1024);
}

static void print_types(const lc_gguf *g)
{
	uint64_t count[LC_QTYPE_COUNT] = {0};
	uint32_t order[LC_QTYPE_COUNT];
	uint32_t n = 0, i, j;
	int64_t t;

	for (t = 0; t < lc_gguf_n_tensors(g); t++)
		count[lc_gguf_tensor_at(g, t)->type]++; /* known types only: the reader checked */
	for (i = 0; i < LC_QTYPE_COUNT; i++)
		if (count[i])
			order[n++] = i;
	/* insertion sort: most tensors first, ties by type id */
	for (i = 1; i < n; i++)
		for (j = i; j > 0 && count[order[j]] > count[order[j - 1]]; j--) {
			uint32_t tmp = order[j];
			order[j] = order[j - 1];
			order[j - 1] = tmp;
		}
	if (n == 0)
		printf("none");
	for (i = 0; i < n; i++)
		printf("%s%s: %" PRIu64, i ? ", " : "", lc_qtype_name(order[i]), count[order[i]]);
}

/* The tensor types lcode has no kernels for, by id: "none" or "IQ2_XXS, TQ1_0 (...)". */
static void print_unsupported(const lc_gguf *g)
{
	int seen[LC_QTYPE_COUNT] = {0};
	uint32_t i, n = 0;
	int64_t t;

	for (t = 0; t < lc_gguf_n_tensors(g); t++)
		seen[lc_gguf_tensor_at(g, t)->type] = 1;
	for (i = 0; i < LC_QTYPE_COUNT; i++)
		if (seen[i] && !lc_qtype_is_supported(i))
			printf("%s%s", n++ ? ", " : "", lc_qtype_name(i));
	printf(n ? " (lcode cannot run this file)" : "none");
}

static void print_info(const char *path, const lc_gguf *g)
{
	lc_gguf_str arch = {NULL, 0}, s;
	lc_gguf_arr toks;
	uint64_t params = 0, ctx;
	int64_t t;
	int have_arch;

	printf("file:           %s\n", path);
	printf("file size:      ");
	print_size(lc_gguf_file_size(g));
	printf("\ngguf version:   %" PRIu32 "\n", lc_gguf_version(g));

	have_arch = lc_gguf_find_key(g, "general.architecture") >= 0 &&
	            lc_gguf_get_str(g, "general.architecture", &arch) == 0;
	printf("architecture:   ");
	if (have_arch)
		print_str(arch);
	else
		printf("unknown");

	for (t = 0; t < lc_gguf_n_tensors(g); t++) {
		const lc_gguf_tensor *x = lc_gguf_tensor_at(g, t);
		uint64_t nel = (uint64_t)(x->ne[0] * x->ne[1] * x->ne[2] * x->ne[3]);
		params = nel > UINT64_MAX - params ? UINT64_MAX : params + nel;
	}
	printf("\nparameters:     ");
	print_count(params);
	printf(" (%" PRIu64 ")\ntensors:        %" PRId64 "\ntensor types:   ", params,
	       lc_gguf_n_tensors(g));
	print_types(g);
	printf("\nunsupported:    ");
	print_unsupported(g);

	printf("\ncontext length: ");
	if (have_arch && arch.len < 200) {
		char key[256];
		snprintf(key, sizeof(key), "%.*s.context_length", (int)arch.len, arch.data);
		if (lc_gguf_find_key(g, key) >= 0 && lc_gguf_get_u64(g, key, &ctx) == 0)
			printf("%" PRIu64, ctx);
		else
			printf("unknown");
	} else {
		printf("unknown");
	}

	printf("\nvocabulary:     ");
	if (lc_gguf_find_key(g, "tokenizer.ggml.model") >= 0 &&
	    lc_gguf_get_str(g, "tokenizer.ggml.model", &s) == 0)
		print_str(s);
	else
		printf("unknown");
	if (lc_gguf_find_key(g, "tokenizer.ggml.tokens") >= 0 &&
	    lc_gguf_get_arr(g, "tokenizer.ggml.tokens", &toks) == 0)
		printf(", %" PRIu64 " tokens", toks.n);
	else
		printf(", no tokens");

	printf("\nchat template:  ");
	if (lc_gguf_find_key(g, "tokenizer.chat_template") >= 0 &&
	    lc_gguf_get_str(g, "tokenizer.chat_template", &s) == 0)
		printf("%s", lc_template_family_name(lc_template_detect(s.data, (size_t)s.len)));
	else
		printf("none");
	printf("\n");
	lc_err_clear(); /* a wrongly typed optional key only makes its line "unknown" */
}

int lc_cmd_model_info(int argc, char **argv)
{
	static const struct option opts[] = {
	        {"help", no_argument, NULL, 'h'},
	        {NULL, 0, NULL, 0},
	};
	lc_gguf *g = NULL;
	char path[PATH_MAX];
	int ch;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (ch) {
		case 'h':
			usage(stdout);
			return LC_EXIT_OK;
		default:
			fprintf(stderr, "see 'lcode model-info --help'\n");
			return LC_EXIT_USAGE;
		}
	}
	if (argc - optind != 1) {
		fprintf(stderr,
		        "lcode: model-info takes one FILE; see 'lcode model-info --help'\n");
		return LC_EXIT_USAGE;
	}
	lc_err_clear();
	if (lc_models_resolve(argv[optind], path, sizeof(path)) < 0) {
		lc_print_error(NULL);
		return LC_EXIT_MODEL;
	}
	if (lc_gguf_open(&g, path) < 0) {
		lc_print_error(path);
		return LC_EXIT_MODEL;
	}
	print_info(path, g);
	lc_gguf_free(g);
	return LC_EXIT_OK;
}
