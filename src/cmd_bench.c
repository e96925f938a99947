/*
 * cmd_bench.c - `lcode bench --model FILE`: how fast the runtime runs a
 * model, in the manner of llama.cpp's llama-bench (tools/llama-bench).
 *
 * The model is loaded once (load time: lc_gguf_open and lc_model_new, from
 * open to a model ready to evaluate). Then, after one untimed warm-up of each
 * test (it also reads the weights in from the mapping):
 *   pp N: N prompt tokens in one lc_model_eval call (batched prefill);
 *   tg N: N tokens one lc_model_eval call each, after a TG_PROMPT-token
 *         prompt that is not timed.
 * Each test runs REPS times from an empty KV cache; the result is the mean of
 * the runs' tokens/s and their sample standard deviation (n - 1), as
 * llama-bench reports avg_ts and stddev_ts. Token ids are drawn uniformly
 * from the vocabulary by splitmix64 with a fixed seed, and no sampling is
 * done: a benchmark measures the forward pass, not the text (the logits of
 * the last token are still computed, as in a real decode step).
 */
#include <cjson/cJSON.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "runtime/gguf.h"
#include "runtime/model.h"
#include "runtime/qtype.h"
#include "src/commands.h"
#include "src/err.h"
#include "src/models.h"
#include "src/banned.h"

#define BENCH_SEED 42        /* the token ids' seed, printed with the results */
#define TG_PROMPT  8         /* untimed prompt tokens before a tg run */
#define MAX_TOKENS (1 << 20) /* -p and -n caps (the context caps them further) */
#define MAX_REPS   1000      /* -r cap */
#define TYPES_MAX  256       /* bytes of the tensor-type summary line */

struct bench_test {
	char name[32]; /* "pp512", "tg128" */
	int n_prompt;  /* tokens per timed call: N for pp, 0 for tg */
	int n_gen;     /* tokens decoded one at a time: 0 for pp, N for tg */
	int n_past;    /* cache positions filled before the timed tokens */
	double *ns;    /* (reps) nanoseconds per run */
	double avg_ts, sd_ts, avg_ns, sd_ns;
};

struct bench_model {
	const char *path;
	const char *arch;
	const char *main_type; /* the tensor type that holds the most bytes */
	size_t size;           /* bytes of tensor data */
	uint64_t n_params;     /* the tensors' elements */
	char types[TYPES_MAX]; /* "Q8_0: 169, F32: 121", most tensors first */
	int n_threads;
	double load_ms;
};

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: lcode bench --model FILE [-p N] [-n N] [-t THREADS] [-r REPS] [--json]\n"
	        "\nMeasure how fast lcode runs the GGUF model FILE, as llama.cpp's llama-bench "
	        "does:\n"
	        "load time, prefill of N prompt tokens (pp N) and decode of N tokens one at a "
	        "time\n"
	        "(tg N, after an untimed %d-token prompt), in tokens/s as the mean and standard\n"
	        "deviation over REPS runs (one untimed warm-up run first; the KV cache is cleared\n"
	        "before each run), and the peak resident memory. Token ids are random ids from\n"
	        "the vocabulary with a fixed seed (%d). A Markdown table goes to standard output.\n"
	        "\nOptions:\n"
	        "  -m, --model FILE        the GGUF model file (or a name from 'lcode models')\n"
	        "  -p, --n-prompt N        prompt tokens for pp; 0 skips it (default 512)\n"
	        "  -n, --n-gen N           tokens for tg; 0 skips it (default 128)\n"
	        "  -t, --threads N         threads (default: the cores, %ld here)\n"
	        "  -r, --repetitions REPS  runs of each test (default 5)\n"
	        "      --json              print one JSON object instead of the table\n"
	        "  -h, --help              show this help and exit\n"
	        "\nExit status: 0 done, 2 usage error, 3 model error.\n",
	        TG_PROMPT, BENCH_SEED, sysconf(_SC_NPROCESSORS_ONLN));
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Parse a whole number in [lo, hi]; 0 on success, else a message and -1. */
static int parse_num(const char *flag, const char *s, int lo, int hi, int *out)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (end == s || *end != '\0' || v < lo || v > hi) {
		fprintf(stderr, "lcode: bench: %s takes a whole number from %d to %d, not '%s'\n",
		        flag, lo, hi, s);
		return -1;
	}
	*out = (int)v;
	return 0;
}

/* splitmix64 (Steele, Lea, Flood 2014): a fixed, portable stream of ids. */
static uint64_t splitmix64(uint64_t *state)
{
	uint64_t z = (*state += UINT64_C(0x9e3779b97f4a7c15));

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

/* Size, parameters and tensor types of the file, as lcode model-info counts them. */
static void describe(const lc_gguf *g, struct bench_model *bm)
{
	uint64_t count[LC_QTYPE_COUNT] = {0};
	size_t bytes[LC_QTYPE_COUNT] = {0};
	int done[LC_QTYPE_COUNT] = {0};
	size_t len = 0;
	uint32_t i, best = 0;
	int64_t t;

	bm->size = 0;
	bm->n_params = 0;
	for (t = 0; t < lc_gguf_n_tensors(g); t++) {
		const lc_gguf_tensor *x = lc_gguf_tensor_at(g, t);
		count[x->type]++;
		bytes[x->type] += x->size;
		bm->size += x->size;
		bm->n_params += (uint64_t)(x->ne[0] * x->ne[1] * x->ne[2] * x->ne[3]);
	}
	for (i = 0; i < LC_QTYPE_COUNT; i++)
		if (bytes[i] > bytes[best])
			best = i;
	bm->main_type = lc_qtype_name(best);
	bm->types[0] = '\0';
	for (;;) { /* most tensors first, ties by type id */
		uint32_t k = LC_QTYPE_COUNT;
		for (i = 0; i < LC_QTYPE_COUNT; i++)
			if (count[i] && !done[i] && (k == LC_QTYPE_COUNT || count[i] > count[k]))
				k = i;
		if (k == LC_QTYPE_COUNT || len >= sizeof(bm->types))
			break;
		done[k] = 1;
		len += (size_t)snprintf(bm->types + len, sizeof(bm->types) - len, "%s%s: %llu",
		                        len ? ", " : "", lc_qtype_name(k),
		                        (unsigned long long)count[k]);
	}
}

/* Mean and sample standard deviation (n - 1; 0 for one value) of x[0..n). */
static void mean_sd(const double *x, int n, double *mean, double *sd)
{
	double s = 0.0, ss = 0.0;
	int i;

	for (i = 0; i < n; i++)
		s += x[i];
	*mean = s / n;
	for (i = 0; i < n; i++)
		ss += (x[i] - *mean) * (x[i] - *mean);
	*sd = n > 1 ? sqrt(ss / (n - 1)) : 0.0;
}

static void progress(const struct bench_test *bt, int run, int reps)
{
	if (!isatty(STDERR_FILENO))
		return;
	if (run < 0)
		fprintf(stderr, "\rlcode: bench: %s warm-up\033[K", bt->name);
	else
		fprintf(stderr, "\rlcode: bench: %s run %d/%d\033[K", bt->name, run + 1, reps);
}

/*
 * One run of a test from an empty cache; *ns gets the timed part's length.
 * Errors: those of lc_model_eval.
 */
static int run_once(lc_model *m, const struct bench_test *bt, const int32_t *ids, float *logits,
                    double *ns)
{
	double t0;
	int i;

	if (lc_model_truncate(m, 0) < 0)
		return lc_err_code();
	if (bt->n_past > 0 && lc_model_eval(m, ids, bt->n_past, logits, 0) < 0)
		return lc_err_code();
	t0 = now();
	if (bt->n_prompt > 0 && lc_model_eval(m, ids + bt->n_past, bt->n_prompt, logits, 0) < 0)
		return lc_err_code();
	for (i = 0; i < bt->n_gen; i++)
		if (lc_model_eval(m, ids + bt->n_past + i, 1, logits, 0) < 0)
			return lc_err_code();
	*ns = (now() - t0) * 1e9;
	if (*ns < 1.0)
		*ns = 1.0; /* a clock that did not move: keep tokens/s finite */
	return 0;
}

#define N_COLS   6
#define CELL_MAX 64

/* One table cell: at most CELL_MAX - 1 bytes, cut beyond. */
__attribute__((format(printf, 2, 3))) static void cellf(char *out, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(out, CELL_MAX, fmt, ap);
	va_end(ap);
}

static void print_row(char cell[][CELL_MAX], const int *width)
{
	int c;

	for (c = 0; c < N_COLS; c++)
		printf(c == 0 ? "| %-*s " : "| %*s ", width[c], cell[c]);
	printf("|\n");
}

static void print_table(const struct bench_model *bm, const struct bench_test *bt, int n_tests,
                        int reps, double rss_mib)
{
	static const char *const head[N_COLS] = {"model",   "size", "params",
	                                         "threads", "test", "t/s"};
	char cell[3][N_COLS][CELL_MAX];
	int width[N_COLS], r, c, i;

	for (c = 0; c < N_COLS; c++)
		cellf(cell[0][c], "%s", head[c]);
	for (r = 1; r <= n_tests; r++) {
		cellf(cell[r][0], "%s %s", bm->arch, bm->main_type);
		if (bm->size >= (size_t)1 << 30)
			cellf(cell[r][1], "%.2f GiB", (double)bm->size / (1 << 30));
		else
			cellf(cell[r][1], "%.2f MiB", (double)bm->size / (1 << 20));
		if (bm->n_params >= 1000000000)
			cellf(cell[r][2], "%.2f B", (double)bm->n_params / 1e9);
		else if (bm->n_params >= 1000000)
			cellf(cell[r][2], "%.2f M", (double)bm->n_params / 1e6);
		else
			cellf(cell[r][2], "%.2f K", (double)bm->n_params / 1e3);
		cellf(cell[r][3], "%d", bm->n_threads);
		cellf(cell[r][4], "%s", bt[r - 1].name);
		cellf(cell[r][5], "%.2f ± %.2f", bt[r - 1].avg_ts, bt[r - 1].sd_ts);
	}
	for (c = 0; c < N_COLS; c++) {
		width[c] = 0;
		for (r = 0; r <= n_tests; r++) {
			int w = (int)strlen(cell[r][c]) - (c == 5 && r > 0); /* "±" is 2 bytes */
			width[c] = w > width[c] ? w : width[c];
		}
	}
	printf("model: %s\nload: %.1f ms\ntensor types: %s\n", bm->path, bm->load_ms, bm->types);
	printf("tokens: random ids from the vocabulary (seed %d); tg after a prompt of %d tokens; "
	       "1 warm-up run and %d timed run%s of each test\n\n",
	       BENCH_SEED, TG_PROMPT, reps, reps == 1 ? "" : "s");
	print_row(cell[0], width);
	for (c = 0; c < N_COLS; c++) {
		printf("| ");
		for (i = 0; i < width[c] - (c > 0); i++)
			putchar('-');
		printf(c > 0 ? ": " : " ");
	}
	printf("|\n");
	for (r = 1; r <= n_tests; r++) {
		width[5]++; /* printf pads by bytes */
		print_row(cell[r], width);
		width[5]--;
	}
	printf("\npeak RSS: %.1f MiB\n", rss_mib);
}

/* One JSON object; field names of the tests are llama-bench's (-o json). 0 or LC_ENOMEM. */
static int print_json(const struct bench_model *bm, const struct bench_test *bt, int n_tests,
                      int reps, double rss_mib)
{
	cJSON *j = cJSON_CreateObject(), *tests = NULL;
	char *s = NULL;
	int i, r, err = LC_ENOMEM;

	if (!j || !cJSON_AddStringToObject(j, "model", bm->path) ||
	    !cJSON_AddStringToObject(j, "arch", bm->arch) ||
	    !cJSON_AddStringToObject(j, "type", bm->main_type) ||
	    !cJSON_AddNumberToObject(j, "size_bytes", (double)bm->size) ||
	    !cJSON_AddNumberToObject(j, "n_params", (double)bm->n_params) ||
	    !cJSON_AddStringToObject(j, "tensor_types", bm->types) ||
	    !cJSON_AddNumberToObject(j, "n_threads", bm->n_threads) ||
	    !cJSON_AddNumberToObject(j, "load_ms", bm->load_ms) ||
	    !cJSON_AddNumberToObject(j, "seed", BENCH_SEED) ||
	    !cJSON_AddNumberToObject(j, "repetitions", reps) ||
	    !(tests = cJSON_AddArrayToObject(j, "tests")))
		goto cleanup;
	for (i = 0; i < n_tests; i++) {
		cJSON *t = cJSON_CreateObject(), *ns, *ts;
		if (!t || !cJSON_AddItemToArray(tests, t)) {
			cJSON_Delete(t);
			goto cleanup;
		}
		if (!cJSON_AddStringToObject(t, "test", bt[i].name) ||
		    !cJSON_AddNumberToObject(t, "n_prompt", bt[i].n_prompt) ||
		    !cJSON_AddNumberToObject(t, "n_gen", bt[i].n_gen) ||
		    !cJSON_AddNumberToObject(t, "n_past", bt[i].n_past) ||
		    !cJSON_AddNumberToObject(t, "avg_ns", round(bt[i].avg_ns)) ||
		    !cJSON_AddNumberToObject(t, "stddev_ns", round(bt[i].sd_ns)) ||
		    !cJSON_AddNumberToObject(t, "avg_ts", bt[i].avg_ts) ||
		    !cJSON_AddNumberToObject(t, "stddev_ts", bt[i].sd_ts) ||
		    !(ns = cJSON_AddArrayToObject(t, "samples_ns")) ||
		    !(ts = cJSON_AddArrayToObject(t, "samples_ts")))
			goto cleanup;
		for (r = 0; r < reps; r++) {
			double n_tok = bt[i].n_prompt + bt[i].n_gen;
			if (!cJSON_AddItemToArray(ns, cJSON_CreateNumber(round(bt[i].ns[r]))) ||
			    !cJSON_AddItemToArray(ts,
			                          cJSON_CreateNumber(n_tok * 1e9 / bt[i].ns[r])))
				goto cleanup;
		}
	}
	if (!cJSON_AddNumberToObject(j, "peak_rss_mib", rss_mib) ||
	    !(s = cJSON_PrintUnformatted(j)))
		goto cleanup;
	printf("%s\n", s);
	err = 0;
cleanup:
	free(s);
	cJSON_Delete(j);
	return err < 0 ? lc_err_set(err, "out of memory") : 0;
}

int lc_cmd_bench(int argc, char **argv)
{
	enum { O_JSON = 256 };
	static const struct option opts[] = {
	        {"model", required_argument, NULL, 'm'},
	        {"n-prompt", required_argument, NULL, 'p'},
	        {"n-gen", required_argument, NULL, 'n'},
	        {"threads", required_argument, NULL, 't'},
	        {"repetitions", required_argument, NULL, 'r'},
	        {"json", no_argument, NULL, O_JSON},
	        {"help", no_argument, NULL, 'h'},
	        {NULL, 0, NULL, 0},
	};
	struct lc_model_params mp = LC_MODEL_PARAMS_INIT;
	struct bench_model bm;
	struct bench_test bt[2];
	struct rusage ru;
	const char *model = NULL;
	char file[PATH_MAX];
	int n_prompt = 512, n_gen = 128, reps = 5, json = 0, ch, n_tests = 0, n_ids, i, r;
	int status = LC_EXIT_MODEL;
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	lc_gguf *g = NULL;
	lc_model *m = NULL;
	int32_t *ids = NULL;
	float *logits = NULL;
	uint64_t rng = BENCH_SEED;
	double t0, rss_mib;

	memset(bt, 0, sizeof(bt));
	mp.n_threads = ncpu < 1 ? 1 : ncpu > 512 ? 512 : (int)ncpu;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "m:p:n:t:r:h", opts, NULL)) != -1) {
		switch (ch) {
		case 'm':
			model = optarg;
			break;
		case 'p':
			if (parse_num("-p", optarg, 0, MAX_TOKENS, &n_prompt) < 0)
				return LC_EXIT_USAGE;
			break;
		case 'n':
			if (parse_num("-n", optarg, 0, MAX_TOKENS, &n_gen) < 0)
				return LC_EXIT_USAGE;
			break;
		case 't':
			if (parse_num("-t", optarg, 1, 512, &mp.n_threads) < 0)
				return LC_EXIT_USAGE;
			break;
		case 'r':
			if (parse_num("-r", optarg, 1, MAX_REPS, &reps) < 0)
				return LC_EXIT_USAGE;
			break;
		case O_JSON:
			json = 1;
			break;
		case 'h':
			usage(stdout);
			return LC_EXIT_OK;
		default:
			fprintf(stderr, "see 'lcode bench --help'\n");
			return LC_EXIT_USAGE;
		}
	}
	if (!model || optind != argc) {
		fprintf(stderr, "lcode: bench takes --model FILE and no other arguments; "
		                "see 'lcode bench --help'\n");
		return LC_EXIT_USAGE;
	}
	if (n_prompt == 0 && n_gen == 0) {
		fprintf(stderr, "lcode: bench: -p 0 and -n 0 leave nothing to measure\n");
		return LC_EXIT_USAGE;
	}
	if (n_prompt > 0) {
		snprintf(bt[n_tests].name, sizeof(bt[n_tests].name), "pp%d", n_prompt);
		bt[n_tests++].n_prompt = n_prompt;
	}
	if (n_gen > 0) {
		snprintf(bt[n_tests].name, sizeof(bt[n_tests].name), "tg%d", n_gen);
		bt[n_tests].n_past = TG_PROMPT;
		bt[n_tests++].n_gen = n_gen;
	}
	n_ids = n_prompt > TG_PROMPT + n_gen ? n_prompt : TG_PROMPT + n_gen;
	mp.n_ctx = n_ids;

	lc_err_clear();
	if (lc_models_resolve(model, file, sizeof(file)) < 0)
		goto fail;
	t0 = now();
	if (lc_gguf_open(&g, file) < 0 || lc_model_new(&m, g, &mp) < 0)
		goto fail;
	bm.load_ms = (now() - t0) * 1e3;
	bm.path = file;
	bm.arch = lc_model_arch_name(m);
	bm.n_threads = lc_model_n_threads(m);
	describe(g, &bm);
	if (lc_model_n_ctx(m) < n_ids) {
		fprintf(stderr, "lcode: bench: ");
		for (i = 0; i < n_tests; i++)
			fprintf(stderr, "%s%s needs a context of %d tokens", i ? ", " : "",
			        bt[i].name, bt[i].n_past + bt[i].n_prompt + bt[i].n_gen);
		fprintf(stderr, "; the model's is %d: lower -p or -n\n", lc_model_n_ctx(m));
		status = LC_EXIT_USAGE;
		goto done;
	}

	ids = malloc((size_t)n_ids * sizeof(*ids));
	logits = malloc((size_t)lc_model_n_vocab(m) * sizeof(*logits));
	for (i = 0; i < n_tests; i++)
		bt[i].ns = calloc((size_t)reps, sizeof(double));
	if (!ids || !logits || !bt[0].ns || (n_tests > 1 && !bt[1].ns)) {
		lc_err_set(LC_ENOMEM, "out of memory");
		goto fail;
	}
	for (i = 0; i < n_ids; i++)
		ids[i] = (int32_t)(splitmix64(&rng) % (uint64_t)lc_model_n_vocab(m));

	for (i = 0; i < n_tests; i++) {
		double warm, rate[MAX_REPS], n_tok = bt[i].n_prompt + bt[i].n_gen;

		progress(&bt[i], -1, reps);
		if (run_once(m, &bt[i], ids, logits, &warm) < 0)
			goto fail;
		for (r = 0; r < reps; r++) {
			progress(&bt[i], r, reps);
			if (run_once(m, &bt[i], ids, logits, &bt[i].ns[r]) < 0)
				goto fail;
			rate[r] = n_tok * 1e9 / bt[i].ns[r];
		}
		mean_sd(bt[i].ns, reps, &bt[i].avg_ns, &bt[i].sd_ns);
		mean_sd(rate, reps, &bt[i].avg_ts, &bt[i].sd_ts);
	}
	if (isatty(STDERR_FILENO))
		fprintf(stderr, "\r\033[K");

	getrusage(RUSAGE_SELF, &ru);
	rss_mib = (double)ru.ru_maxrss / 1024.0; /* Linux: KiB */
	if (json) {
		if (print_json(&bm, bt, n_tests, reps, rss_mib) < 0)
			goto fail;
	} else {
		print_table(&bm, bt, n_tests, reps, rss_mib);
	}
	status = LC_EXIT_OK;
	goto done;
fail:
	if (isatty(STDERR_FILENO))
		fprintf(stderr, "\r\033[K");
	lc_print_error(NULL);
done:
	for (i = 0; i < 2; i++)
		free(bt[i].ns);
	free(logits);
	free(ids);
	lc_model_free(m);
	lc_gguf_free(g);
	return status;
}
