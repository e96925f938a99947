/*
 * cmd_tokenize.c - `lcode tokenize --model FILE TEXT`: the model's token ids
 * for a text, with the tokenizer read from the model file's metadata.
 */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/gguf.h"
#include "runtime/tokenizer.h"
#include "src/buf.h"
#include "src/commands.h"
#include "src/err.h"
#include "src/models.h"
#include "src/banned.h"

/* The most text read from standard input, bytes. */
#define MAX_STDIN ((size_t)64 << 20)

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: lcode tokenize --model FILE [--bos] [--special] [--pieces] TEXT\n"
	        "\nTokenize TEXT (standard input when TEXT is '-') with the tokenizer of the\n"
	        "GGUF model FILE and print the token ids on one line, separated by spaces.\n"
	        "\nOptions:\n"
	        "  -m, --model FILE  the GGUF model file whose tokenizer is used (or a name\n"
	        "                    from 'lcode models')\n"
	        "  -b, --bos         add BOS (and EOS) when the model's metadata asks for it\n"
	        "  -s, --special     read special-token text such as <|im_start|> as that token\n"
	        "  -p, --pieces      print 'ID<TAB>PIECE' per token, the piece escaped\n"
	        "  -h, --help        show this help and exit\n"
	        "\nExit status: 0 done, 1 failed, 2 usage error, 3 model or tokenizer error.\n");
}

static int read_stdin(lc_buf *b)
{
	char chunk[65536];
	size_t n;
	int rc;

	while ((n = fread(chunk, 1, sizeof(chunk), stdin)) > 0)
		if ((rc = lc_buf_add(b, chunk, n)) < 0)
			return lc_err_set(rc, "standard input is over %zu bytes", b->max);
	if (ferror(stdin))
		return lc_err_set(LC_EIO, "cannot read standard input");
	return 0;
}

/* A piece on one line: backslash, control bytes and DEL escaped; UTF-8 as is. */
static void print_piece(const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c == '\\')
			fputs("\\\\", stdout);
		else if (c == '\n')
			fputs("\\n", stdout);
		else if (c == '\t')
			fputs("\\t", stdout);
		else if (c == '\r')
			fputs("\\r", stdout);
		else if (c < 0x20 || c == 0x7f)
			printf("\\x%02x", c);
		else
			putchar(c);
	}
}

int lc_cmd_tokenize(int argc, char **argv)
{
	static const struct option opts[] = {
	        {"model", required_argument, NULL, 'm'}, {"bos", no_argument, NULL, 'b'},
	        {"special", no_argument, NULL, 's'},     {"pieces", no_argument, NULL, 'p'},
	        {"help", no_argument, NULL, 'h'},        {NULL, 0, NULL, 0},
	};
	const char *model = NULL, *text;
	int bos = 0, special = 0, pieces = 0, ch, status = LC_EXIT_FAIL;
	lc_buf in = LC_BUF_INIT(MAX_STDIN);
	lc_gguf *g = NULL;
	lc_tokenizer *t = NULL;
	int32_t *ids = NULL;
	char path[PATH_MAX];
	size_t len, n = 0, i;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "m:bsph", opts, NULL)) != -1) {
		switch (ch) {
		case 'm':
			model = optarg;
			break;
		case 'b':
			bos = 1;
			break;
		case 's':
			special = 1;
			break;
		case 'p':
			pieces = 1;
			break;
		case 'h':
			usage(stdout);
			return LC_EXIT_OK;
		default:
			fprintf(stderr, "see 'lcode tokenize --help'\n");
			return LC_EXIT_USAGE;
		}
	}
	if (!model || argc - optind != 1) {
		fprintf(stderr, "lcode: tokenize takes --model FILE and one TEXT; "
		                "see 'lcode tokenize --help'\n");
		return LC_EXIT_USAGE;
	}
	text = argv[optind];
	len = strlen(text);
	lc_err_clear();
	if (strcmp(text, "-") == 0) {
		if (read_stdin(&in) < 0) {
			lc_print_error(NULL);
			goto done;
		}
		text = in.data ? in.data : "";
		len = in.len;
	}
	if (lc_models_resolve(model, path, sizeof(path)) < 0) {
		lc_print_error(NULL);
		status = LC_EXIT_MODEL;
		goto done;
	}
	model = path;
	if (lc_gguf_open(&g, model) < 0 || lc_tokenizer_new(&t, g) < 0) {
		lc_print_error(model);
		status = LC_EXIT_MODEL;
		goto done;
	}
	if (lc_tokenize_alloc(t, text, len, bos, special, LC_TOKENIZE_MAX_TEXT, &ids, &n) < 0) {
		lc_print_error(NULL);
		goto done;
	}
	for (i = 0; i < n; i++) {
		if (pieces) {
			size_t pl;
			const char *p = lc_token_piece(t, ids[i], &pl);

			printf("%d\t", (int)ids[i]);
			print_piece(p, pl);
			putchar('\n');
		} else {
			printf("%s%d", i ? " " : "", (int)ids[i]);
		}
	}
	if (!pieces)
		putchar('\n');
	if (fflush(stdout) != 0) {
		lc_err_set(LC_EIO, "cannot write standard output");
		lc_print_error(NULL);
		goto done;
	}
	status = LC_EXIT_OK;
done:
	free(ids);
	lc_tokenizer_free(t);
	lc_gguf_free(g);
	lc_buf_release(&in);
	return status;
}
