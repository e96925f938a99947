/*
 * cmd_generate.c - `lcode generate --model FILE -p TEXT`: continue a prompt
 * with the in-process model, streaming the text to standard output and the
 * prefill and decode speeds to standard error.
 */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "runtime/gguf.h"
#include "runtime/model.h"
#include "runtime/sampler.h"
#include "runtime/tokenizer.h"
#include "src/commands.h"
#include "src/err.h"
#include "src/models.h"
#include "src/banned.h"

/* The most prompt tokens accepted (the context caps it further). */
#define MAX_PROMPT_TOKENS ((size_t)1 << 20)

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: lcode generate --model FILE -p TEXT [-n N] [--temp T] [--seed S]\n"
	        "                      [--top-k K] [--top-p P] [--min-p P] [--ctx N] [--threads "
	        "N]\n"
	        "\nContinue TEXT with the GGUF model FILE and print the new text as it is made;\n"
	        "prefill and decode speeds go to standard error.\n"
	        "\nOptions:\n"
	        "  -m, --model FILE  the GGUF model file (or a name from 'lcode models')\n"
	        "  -p, --prompt TEXT the text to continue (BOS added when the model asks)\n"
	        "  -n, --n-predict N most tokens to generate (default 128)\n"
	        "      --temp T      temperature; 0 is greedy (default 0.8)\n"
	        "      --seed S      random seed (default 0)\n"
	        "      --top-k K     keep the K likeliest tokens; 0 is off (default 40)\n"
	        "      --top-p P     keep the likeliest tokens up to probability P (default 0.95)\n"
	        "      --min-p P     drop tokens below P times the top probability (default 0.05)\n"
	        "      --ctx N       context length in tokens (default 4096, capped by the model)\n"
	        "      --threads N   threads (default 2)\n"
	        "  -h, --help        show this help and exit\n"
	        "\nExit status: 0 done, 1 failed, 2 usage error, 3 model error.\n");
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Parse a number option; 0 on success. */
static int num(const char *s, double lo, double hi, double *out)
{
	char *end;
	double v = strtod(s, &end);

	if (end == s || *end != '\0' || !(v >= lo && v <= hi))
		return -1;
	*out = v;
	return 0;
}

int lc_cmd_generate(int argc, char **argv)
{
	enum { O_TEMP = 256, O_SEED, O_TOPK, O_TOPP, O_MINP, O_CTX, O_THREADS };
	static const struct option opts[] = {
	        {"model", required_argument, NULL, 'm'},
	        {"prompt", required_argument, NULL, 'p'},
	        {"n-predict", required_argument, NULL, 'n'},
	        {"temp", required_argument, NULL, O_TEMP},
	        {"seed", required_argument, NULL, O_SEED},
	        {"top-k", required_argument, NULL, O_TOPK},
	        {"top-p", required_argument, NULL, O_TOPP},
	        {"min-p", required_argument, NULL, O_MINP},
	        {"ctx", required_argument, NULL, O_CTX},
	        {"threads", required_argument, NULL, O_THREADS},
	        {"help", no_argument, NULL, 'h'},
	        {NULL, 0, NULL, 0},
	};
	struct lc_sampler_params sp = LC_SAMPLER_PARAMS_INIT;
	struct lc_model_params mp = LC_MODEL_PARAMS_INIT;
	const char *model = NULL, *prompt = NULL;
	char file[PATH_MAX];
	int n_predict = 128, ch, status = LC_EXIT_MODEL, n_vocab, i, n_gen = 0, n_eval = 0;
	lc_gguf *g = NULL;
	lc_tokenizer *tok = NULL;
	lc_model *m = NULL;
	lc_sampler *smp = NULL;
	int32_t *ids = NULL, t;
	float *logits = NULL;
	size_t n_ids = 0;
	double v, t0, t_prefill, t_decode;

	mp.n_ctx = 4096;
	mp.n_threads = 2;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "m:p:n:h", opts, NULL)) != -1) {
		switch (ch) {
		case 'm':
			model = optarg;
			break;
		case 'p':
			prompt = optarg;
			break;
		case 'h':
			usage(stdout);
			return LC_EXIT_OK;
		case 'n':
		case O_TEMP:
		case O_SEED:
		case O_TOPK:
		case O_TOPP:
		case O_MINP:
		case O_CTX:
		case O_THREADS:
			if (num(optarg, 0.0, ch == O_SEED ? 1.8e19 : 1e9, &v) < 0) {
				fprintf(stderr,
				        "lcode: invalid number '%s'; see 'lcode generate --help'\n",
				        optarg);
				return LC_EXIT_USAGE;
			}
			if (ch == 'n')
				n_predict = (int)v;
			else if (ch == O_TEMP)
				sp.temp = (float)v;
			else if (ch == O_SEED)
				sp.seed = (uint64_t)v;
			else if (ch == O_TOPK)
				sp.top_k = (int)v;
			else if (ch == O_TOPP)
				sp.top_p = (float)v;
			else if (ch == O_MINP)
				sp.min_p = (float)v;
			else if (ch == O_CTX)
				mp.n_ctx = (int)v;
			else
				mp.n_threads = (int)v < 1 ? 1 : (int)v;
			break;
		default:
			fprintf(stderr, "see 'lcode generate --help'\n");
			return LC_EXIT_USAGE;
		}
	}
	if (!model || !prompt || optind != argc) {
		fprintf(stderr, "lcode: generate takes --model FILE and -p TEXT; "
		                "see 'lcode generate --help'\n");
		return LC_EXIT_USAGE;
	}
	lc_err_clear();
	t0 = now();
	if (lc_models_resolve(model, file, sizeof(file)) < 0)
		goto fail;
	model = file;
	if (lc_gguf_open(&g, model) < 0 || lc_tokenizer_new(&tok, g) < 0 ||
	    lc_model_new(&m, g, &mp) < 0)
		goto fail;
	fprintf(stderr, "lcode: loaded %s (%s, %d layers, n_ctx %d, %d threads) in %.2f s\n", model,
	        lc_model_arch_name(m), lc_model_n_layer(m), lc_model_n_ctx(m),
	        lc_model_n_threads(m), now() - t0);
	n_vocab = lc_model_n_vocab(m);
	if (lc_tokenize_alloc(tok, prompt, strlen(prompt), 1, 1, MAX_PROMPT_TOKENS, &ids, &n_ids) <
	    0)
		goto fail;
	if (n_ids == 0) {
		lc_err_set(LC_EPARSE, "the prompt has no tokens");
		status = LC_EXIT_USAGE;
		goto fail;
	}
	if (lc_sampler_new(&smp, &sp, n_vocab) < 0)
		goto fail;
	logits = malloc((size_t)n_vocab * sizeof(float));
	if (!logits) {
		lc_err_set(LC_ENOMEM, "out of memory");
		goto fail;
	}
	for (i = 0; i < (int)n_ids; i++)
		lc_sampler_accept(smp, ids[i]);
	t0 = now();
	if (lc_model_eval(m, ids, (int)n_ids, logits, 0) < 0)
		goto fail;
	t_prefill = now() - t0;
	fputs(prompt, stdout);
	fflush(stdout);
	t0 = now();
	for (n_gen = 0; n_gen < n_predict; n_gen++) {
		const char *piece;
		size_t plen;

		if (lc_sampler_sample(smp, logits, &t) < 0)
			goto fail;
		if (lc_tokenizer_is_eog(tok, t))
			break;
		piece = lc_token_piece(tok, t, &plen);
		fwrite(piece, 1, plen, stdout);
		fflush(stdout);
		lc_sampler_accept(smp, t);
		if (n_gen + 1 == n_predict)
			continue;
		if (lc_model_eval(m, &t, 1, logits, 0) < 0) {
			if (lc_err_code() == LC_ETOOBIG) {
				lc_err_clear();
				n_gen++;
				break; /* the context is full: stop as llama.cpp does */
			}
			goto fail;
		}
		n_eval++;
	}
	t_decode = now() - t0;
	putchar('\n');
	fprintf(stderr, "lcode: prefill %zu tokens in %.3f s (%.2f tokens/s)\n", n_ids, t_prefill,
	        (double)n_ids / t_prefill);
	fprintf(stderr, "lcode: generated %d tokens; decode %d tokens in %.3f s (%.2f tokens/s)\n",
	        n_gen, n_eval, t_decode, n_eval > 0 ? (double)n_eval / t_decode : 0.0);
	status = LC_EXIT_OK;
	goto done;
fail:
	lc_print_error(NULL);
done:
	free(logits);
	free(ids);
	lc_sampler_free(smp);
	lc_model_free(m);
	lc_tokenizer_free(tok);
	lc_gguf_free(g);
	return status;
}
