/*
 * cmd_perplexity.c - `lcode perplexity --model FILE -f TEXTFILE`: the
 * model's perplexity on a text, computed as llama.cpp's llama-perplexity
 * does (tools/perplexity/perplexity.cpp, perplexity()):
 *
 *  - the whole text is tokenized once, BOS first when the model adds one;
 *    fewer than 2 * n_ctx tokens is refused, as llama-perplexity refuses it;
 *  - it is cut into windows of n_ctx tokens (a trailing part shorter than a
 *    window is dropped); each window is evaluated from an empty cache, its
 *    first token replaced by BOS when the model adds one;
 *  - only the second half of each window is scored: for positions j in
 *    [n_ctx/2, n_ctx - 1), nll_j = -log softmax(logits_j)[token_{j+1}];
 *  - PPL = exp(mean nll), and its standard error exp(mean) * sqrt((mean(nll^2)
 *    - mean(nll)^2) / (N - 1)), N the number of scored tokens.
 */
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "runtime/gguf.h"
#include "runtime/model.h"
#include "runtime/tokenizer.h"
#include "src/commands.h"
#include "src/err.h"
#include "src/file.h"
#include "src/models.h"
#include "src/banned.h"

#define MAX_TEXT   ((size_t)64 << 20)
#define MAX_TOKENS ((size_t)32 << 20)
/* Tokens per forward step: bounds the logits buffer (n_batch * n_vocab floats). */
#define PPL_BATCH 32

static void usage(FILE *f)
{
	fprintf(f, "usage: lcode perplexity --model FILE -f TEXTFILE [--ctx N] [--threads N]\n"
	           "\nCompute the perplexity of the GGUF model FILE on TEXTFILE as llama.cpp's\n"
	           "llama-perplexity does: windows of N tokens, the second half of each scored.\n"
	           "\nOptions:\n"
	           "  -m, --model FILE   the GGUF model file (or a name from 'lcode models')\n"
	           "  -f, --file FILE    the text\n"
	           "      --ctx N        window length in tokens (default 512)\n"
	           "      --threads N    threads (default 2)\n"
	           "  -h, --help         show this help and exit\n"
	           "\nExit status: 0 done, 1 failed, 2 usage error, 3 model error.\n");
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* -log softmax(logits)[target], in double. */
static double nll_of(const float *logits, int n_vocab, int32_t target)
{
	double mx = logits[0], sum = 0.0;
	int i;

	for (i = 1; i < n_vocab; i++)
		if (logits[i] > mx)
			mx = logits[i];
	for (i = 0; i < n_vocab; i++)
		sum += exp((double)logits[i] - mx);
	return log(sum) - ((double)logits[target] - mx);
}

int lc_cmd_perplexity(int argc, char **argv)
{
	enum { O_CTX = 256, O_THREADS };
	static const struct option opts[] = {
	        {"model", required_argument, NULL, 'm'},
	        {"file", required_argument, NULL, 'f'},
	        {"ctx", required_argument, NULL, O_CTX},
	        {"threads", required_argument, NULL, O_THREADS},
	        {"help", no_argument, NULL, 'h'},
	        {NULL, 0, NULL, 0},
	};
	struct lc_model_params mp = LC_MODEL_PARAMS_INIT;
	const char *model = NULL, *path = NULL;
	char file[PATH_MAX];
	int ch, status = LC_EXIT_MODEL, n_ctx = 512, n_vocab, n_chunk, c, j, add_bos;
	lc_gguf *g = NULL;
	lc_tokenizer *tok = NULL;
	lc_model *m = NULL;
	char *text = NULL;
	size_t text_len, n_ids = 0;
	int32_t *ids = NULL, *win = NULL;
	float *logits = NULL;
	double nll = 0.0, nll2 = 0.0, t0;
	long count = 0;
	char *end;
	long v;

	mp.n_threads = 2;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "m:f:h", opts, NULL)) != -1) {
		switch (ch) {
		case 'm':
			model = optarg;
			break;
		case 'f':
			path = optarg;
			break;
		case O_CTX:
		case O_THREADS:
			v = strtol(optarg, &end, 10);
			if (end == optarg || *end || v < (ch == O_CTX ? 4 : 1) || v > 1000000) {
				fprintf(stderr,
				        "lcode: invalid number '%s'; see 'lcode perplexity "
				        "--help'\n",
				        optarg);
				return LC_EXIT_USAGE;
			}
			if (ch == O_CTX)
				n_ctx = (int)v;
			else
				mp.n_threads = (int)v;
			break;
		case 'h':
			usage(stdout);
			return LC_EXIT_OK;
		default:
			fprintf(stderr, "see 'lcode perplexity --help'\n");
			return LC_EXIT_USAGE;
		}
	}
	if (!model || !path || optind != argc) {
		fprintf(stderr, "lcode: perplexity takes --model FILE and -f TEXTFILE; "
		                "see 'lcode perplexity --help'\n");
		return LC_EXIT_USAGE;
	}
	lc_err_clear();
	if (lc_file_read(path, MAX_TEXT, &text, &text_len) < 0) {
		status = LC_EXIT_FAIL;
		goto fail;
	}
	mp.n_ctx = n_ctx;
	mp.n_batch = PPL_BATCH;
	if (lc_models_resolve(model, file, sizeof(file)) < 0)
		goto fail;
	model = file;
	if (lc_gguf_open(&g, model) < 0 || lc_tokenizer_new(&tok, g) < 0 ||
	    lc_model_new(&m, g, &mp) < 0)
		goto fail;
	if (lc_model_n_ctx(m) < n_ctx) {
		lc_err_set(LC_ETOOBIG,
		           "a window of %d tokens is longer than the model's context of %d", n_ctx,
		           lc_model_n_ctx(m));
		status = LC_EXIT_USAGE;
		goto fail;
	}
	n_vocab = lc_model_n_vocab(m);
	add_bos = lc_tokenizer_add_bos(tok) && lc_tokenizer_bos(tok) >= 0;
	if (lc_tokenize_alloc(tok, text, text_len, 1, 0, MAX_TOKENS, &ids, &n_ids) < 0)
		goto fail;
	/* llama-perplexity refuses fewer than 2 * n_ctx tokens; so does lcode, so that
	 * every estimate it prints is one llama-perplexity would print too. */
	if (n_ids < 2 * (size_t)n_ctx) {
		lc_err_set(LC_EPARSE,
		           "'%s' has %zu tokens; perplexity with windows of %d tokens needs at "
		           "least %d (two windows), as llama-perplexity does; use a longer text or "
		           "a smaller --ctx",
		           path, n_ids, n_ctx, 2 * n_ctx);
		status = LC_EXIT_FAIL;
		goto fail;
	}
	n_chunk = (int)(n_ids / (size_t)n_ctx);
	win = malloc((size_t)n_ctx * sizeof(*win));
	logits = malloc((size_t)PPL_BATCH * n_vocab * sizeof(float));
	if (!win || !logits) {
		lc_err_set(LC_ENOMEM, "out of memory");
		goto fail;
	}
	fprintf(stderr, "lcode: %zu tokens, %d windows of %d\n", n_ids, n_chunk, n_ctx);
	t0 = now();
	for (c = 0; c < n_chunk; c++) {
		int first = n_ctx / 2, pos;

		memcpy(win, ids + (size_t)c * n_ctx, (size_t)n_ctx * sizeof(*win));
		if (add_bos)
			win[0] = lc_tokenizer_bos(tok);
		lc_model_truncate(m, 0);
		for (pos = 0; pos < n_ctx; pos += PPL_BATCH) {
			int n = n_ctx - pos < PPL_BATCH ? n_ctx - pos : PPL_BATCH;
			/* Logits only when this batch holds a scored position. */
			int want = pos + n > first;

			if (lc_model_eval(m, win + pos, n, want ? logits : NULL, 1) < 0)
				goto fail;
			for (j = pos; want && j < pos + n; j++) {
				double e;

				if (j < first || j >= n_ctx - 1)
					continue;
				e = nll_of(logits + (size_t)(j - pos) * n_vocab, n_vocab,
				           win[j + 1]);
				nll += e;
				nll2 += e * e;
				count++;
			}
		}
		printf("[%d]%.4f%s", c + 1, exp(nll / (double)count), c + 1 < n_chunk ? "," : "\n");
		fflush(stdout);
	}
	{
		double mean = nll / (double)count, var = nll2 / (double)count - mean * mean;
		double ppl = exp(mean);

		if (count > 1 && var > 0.0)
			printf("Final estimate: PPL = %.4f +/- %.5f\n", ppl,
			       sqrt(var / (double)(count - 1)) * ppl);
		else
			printf("Final estimate: PPL = %.4f\n", ppl);
	}
	fprintf(stderr, "lcode: %.2f s, %.2f tokens/s\n", now() - t0,
	        (double)n_chunk * n_ctx / (now() - t0));
	status = LC_EXIT_OK;
	goto done;
fail:
	lc_print_error(NULL);
done:
	free(logits);
	free(win);
	free(ids);
	free(text);
	lc_model_free(m);
	lc_tokenizer_free(tok);
	lc_gguf_free(g);
	return status;
}
