#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/sampler.h"
#include "src/err.h"
#include "src/banned.h"

struct cand {
	int32_t id;
	float logit;
	float p;
};

struct lc_sampler {
	struct lc_sampler_params par;
	int n_vocab;
	struct cand *cand; /* [n_vocab] */
	int32_t *hist;     /* ring of the last penalty_last_n accepted tokens */
	int n_hist;        /* tokens in hist */
	int hist_pos;      /* next slot to write */
	uint64_t st[4];    /* xoshiro256** state */
};

/* splitmix64 (Steele, Lea & Flood 2014), to spread one seed over 256 bits. */
static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

uint64_t lc_sampler_next_u64(lc_sampler *s)
{
	uint64_t *st = s->st;
	uint64_t result = rotl(st[1] * 5, 7) * 9, t = st[1] << 17;

	st[2] ^= st[0];
	st[3] ^= st[1];
	st[1] ^= st[2];
	st[0] ^= st[3];
	st[2] ^= t;
	st[3] = rotl(st[3], 45);
	return result;
}

void lc_sampler_reset(lc_sampler *s)
{
	uint64_t x = s->par.seed;
	int i;

	for (i = 0; i < 4; i++)
		s->st[i] = splitmix64(&x);
	s->n_hist = 0;
	s->hist_pos = 0;
}

int lc_sampler_new(lc_sampler **out, const struct lc_sampler_params *params, int n_vocab)
{
	const struct lc_sampler_params *p = params;
	lc_sampler *s;

	if (n_vocab < 1)
		return lc_err_set(LC_EPARSE, "sampler: vocabulary of %d tokens", n_vocab);
	if (isnan(p->temp) || isnan(p->top_p) || isnan(p->min_p) || !(p->repeat_penalty > 0.0f) ||
	    isnan(p->freq_penalty) || isnan(p->presence_penalty) || p->penalty_last_n < 0 ||
	    p->top_p < 0.0f)
		return lc_err_set(LC_EPARSE, "sampler: invalid parameters");
	s = calloc(1, sizeof(*s));
	if (!s)
		return lc_err_set(LC_ENOMEM, "sampler: out of memory");
	s->par = *p;
	s->n_vocab = n_vocab;
	s->cand = malloc((size_t)n_vocab * sizeof(*s->cand));
	s->hist = malloc(((size_t)p->penalty_last_n + 1) * sizeof(*s->hist));
	if (!s->cand || !s->hist) {
		lc_sampler_free(s);
		return lc_err_set(LC_ENOMEM, "sampler: out of memory");
	}
	lc_sampler_reset(s);
	*out = s;
	return 0;
}

void lc_sampler_free(lc_sampler *s)
{
	if (!s)
		return;
	free(s->cand);
	free(s->hist);
	free(s);
}

void lc_sampler_accept(lc_sampler *s, int32_t token)
{
	if (s->par.penalty_last_n == 0)
		return;
	s->hist[s->hist_pos] = token;
	s->hist_pos = (s->hist_pos + 1) % s->par.penalty_last_n;
	if (s->n_hist < s->par.penalty_last_n)
		s->n_hist++;
}

/* cand is still indexed by id here. */
static void apply_penalties(lc_sampler *s)
{
	const struct lc_sampler_params *p = &s->par;
	int i, j;

	if (p->repeat_penalty == 1.0f && p->freq_penalty == 0.0f && p->presence_penalty == 0.0f)
		return;
	for (i = 0; i < s->n_hist; i++) {
		int32_t id = s->hist[i];
		int count = 0;
		float *lg;

		if (id < 0 || id >= s->n_vocab)
			continue;
		for (j = 0; j < i; j++)
			if (s->hist[j] == id)
				break;
		if (j < i)
			continue; /* counted at its first occurrence */
		for (j = i; j < s->n_hist; j++)
			count += s->hist[j] == id;
		lg = &s->cand[id].logit;
		if (*lg > 0.0f)
			*lg /= p->repeat_penalty;
		else
			*lg *= p->repeat_penalty;
		*lg -= (float)count * p->freq_penalty + p->presence_penalty;
	}
}

/* Falling logit, then rising id: a total order, so results never depend on qsort. */
static int cand_cmp(const void *a, const void *b)
{
	const struct cand *x = a, *y = b;

	if (x->logit != y->logit)
		return x->logit > y->logit ? -1 : 1;
	return (x->id > y->id) - (x->id < y->id);
}

/* 1 when a should sit above b in a heap: a ranks below b (min-heap) or above it (max-heap). */
static int heap_before(const struct cand *a, const struct cand *b, int max_heap)
{
	int d = cand_cmp(a, b);

	return max_heap ? d < 0 : d > 0;
}

/* Min-heap on rank: the root is the worst kept; max-heap: the root is the best left. */
static void heap_sift_down(struct cand *h, int n, int i, int max_heap)
{
	for (;;) {
		int l = 2 * i + 1, r = l + 1, m = i;
		struct cand t;

		if (l < n && heap_before(&h[l], &h[m], max_heap))
			m = l;
		if (r < n && heap_before(&h[r], &h[m], max_heap))
			m = r;
		if (m == i)
			return;
		t = h[i], h[i] = h[m], h[m] = t;
		i = m;
	}
}

/* Keep the k best of c[0..n) in c[0..k), sorted; the others in c[k..n), unordered. */
static int top_k(struct cand *c, int n, int k)
{
	int i;

	if (k <= 0 || k >= n) {
		qsort(c, (size_t)n, sizeof(*c), cand_cmp);
		return n;
	}
	for (i = k / 2 - 1; i >= 0; i--)
		heap_sift_down(c, k, i, 0);
	for (i = k; i < n; i++) {
		if (cand_cmp(&c[0], &c[i]) > 0) {
			/* swap, not copy: the constrained walk reads the rest in c[k..n) */
			struct cand t = c[0];
			c[0] = c[i];
			c[i] = t;
			heap_sift_down(c, k, 0, 0);
		}
	}
	qsort(c, (size_t)k, sizeof(*c), cand_cmp);
	return k;
}

/* p = softmax(logit / temp) over c[0..n), c[0] holding the largest logit. */
static void softmax(struct cand *c, int n, float temp)
{
	double sum = 0.0;
	int i;

	for (i = 0; i < n; i++) {
		c[i].p = expf((c[i].logit - c[0].logit) / temp);
		sum += c[i].p;
	}
	for (i = 0; i < n; i++)
		c[i].p = (float)(c[i].p / sum);
}

/*
 * Copy logits into s->cand, apply the penalties and drop masked tokens
 * (-INFINITY, NaN); the number of candidates left in s->cand[0..n).
 */
static int collect(lc_sampler *s, const float *logits)
{
	struct cand *c = s->cand;
	int i, n = 0;

	for (i = 0; i < s->n_vocab; i++) {
		c[i].id = i;
		c[i].logit = logits[i];
	}
	apply_penalties(s);
	for (i = 0; i < s->n_vocab; i++) {
		if (isnan(c[i].logit) || c[i].logit == -INFINITY)
			continue;
		c[n++] = c[i];
	}
	return n;
}

/* Top-p, min-p, temperature and the draw over c[0..n), sorted best first, n >= 1. */
static int32_t draw(lc_sampler *s, struct cand *c, int n)
{
	const struct lc_sampler_params *p = &s->par;
	double u, cum, total;
	int i;

	softmax(c, n, 1.0f);
	if (p->top_p < 1.0f) {
		cum = 0.0;
		for (i = 0; i < n; i++) {
			cum += c[i].p;
			if (cum >= p->top_p) {
				n = i + 1;
				break;
			}
		}
	}
	if (p->min_p > 0.0f) {
		float thr = c[0].logit + logf(p->min_p);
		for (i = 1; i < n; i++)
			if (c[i].logit < thr)
				break;
		n = i;
	}
	softmax(c, n, p->temp);
	u = (double)(lc_sampler_next_u64(s) >> 11) * 0x1.0p-53;
	total = 0.0;
	for (i = 0; i < n; i++)
		total += c[i].p;
	cum = 0.0;
	for (i = 0; i < n - 1; i++) {
		cum += c[i].p;
		if (cum > u * total)
			break;
	}
	return c[i].id;
}

int lc_sampler_sample(lc_sampler *s, const float *logits, int32_t *token)
{
	const struct lc_sampler_params *p = &s->par;
	struct cand *c = s->cand;
	int i, n = collect(s, logits);

	if (n == 0)
		return lc_err_set(LC_EPARSE, "sampler: every token is masked");
	if (p->temp <= 0.0f) {
		float bl = -INFINITY;
		int32_t id = -1;
		for (i = 0; i < n; i++)
			if (id < 0 || c[i].logit > bl)
				bl = c[i].logit, id = c[i].id;
		*token = id;
		return 0;
	}
	n = top_k(c, n, p->top_k);
	*token = draw(s, c, n);
	return 0;
}

/* Candidates sorted up front by a constrained walk; a deeper walk goes on in a heap. */
#define WALK_CHUNK 64

/*
 * One step of the constrained walk at candidate x, n_kept allowed tokens
 * kept so far: -1 stop before x (min-p would drop it), 0 x refused, 1 keep
 * x, 2 keep x and stop (greedy, or top-k reached). thr: min-p's threshold,
 * set by the first allowed token.
 */
static int walk_step(const struct lc_sampler_params *p, float *thr, int n_kept,
                     const struct cand *x, lc_sampler_allow_fn allow, void *ctx)
{
	if (n_kept > 0 && x->logit < *thr)
		return -1;
	if (!allow(ctx, x->id))
		return 0;
	if (p->temp <= 0.0f)
		return 2;
	if (n_kept == 0)
		*thr = x->logit + logf(fmaxf(p->min_p, LC_SAMPLER_MIN_P_FLOOR));
	return p->top_k > 0 && n_kept + 1 == p->top_k ? 2 : 1;
}

int lc_sampler_sample_constrained(lc_sampler *s, const float *logits, lc_sampler_allow_fn allow,
                                  void *ctx, int32_t *token, int *n_refused)
{
	const struct lc_sampler_params *p = &s->par;
	struct cand *c = s->cand, *h;
	int n = collect(s, logits), chunk, heap_n, w, k = 0, refused = 0, d, i;
	float thr = -INFINITY;

	if (n == 0)
		return lc_err_set(LC_EPARSE, "sampler: every token is masked");
	/* The first candidates sorted, as top-k sorts them: most walks end among them. */
	chunk = p->top_k > WALK_CHUNK ? p->top_k : WALK_CHUNK;
	chunk = top_k(c, n, chunk < n ? chunk : n);
	for (i = 0; i < chunk; i++) {
		if ((d = walk_step(p, &thr, k, &c[i], allow, ctx)) < 0)
			goto walked;
		if (d == 0) {
			refused++;
			continue;
		}
		c[k++] = c[i]; /* k <= i: kept tokens stay in order at the front */
		if (d == 2)
			goto walked;
	}
	/*
	 * The rest in a max-heap: O(n) comparisons and no query to build, then
	 * O(log n) per candidate, so the queries remain the candidates walked.
	 * Kept tokens go to c[w..n), worst first; the heap is h[0..heap_n) with
	 * h + heap_n <= c + w.
	 */
	h = c + chunk;
	heap_n = n - chunk;
	w = n;
	for (i = heap_n / 2 - 1; i >= 0; i--)
		heap_sift_down(h, heap_n, i, 1);
	while (heap_n > 0) {
		struct cand best = h[0];

		if ((d = walk_step(p, &thr, k + n - w, &best, allow, ctx)) < 0)
			break;
		h[0] = h[--heap_n];
		heap_sift_down(h, heap_n, 0, 1);
		if (d == 0) {
			refused++;
			continue;
		}
		c[--w] = best;
		if (d == 2)
			break;
	}
	for (i = 0; i < (n - w) / 2; i++) {
		struct cand t = c[w + i];
		c[w + i] = c[n - 1 - i];
		c[n - 1 - i] = t;
	}
	memmove(c + k, c + w, (size_t)(n - w) * sizeof(*c));
	k += n - w;
walked:
	if (k == 0)
		return lc_err_set(LC_EDENIED,
		                  "sampler: the constraint allows none of the %d tokens", n);
	*token = p->temp <= 0.0f ? c[0].id : draw(s, c, k);
	if (n_refused)
		*n_refused = refused;
	return 0;
}
