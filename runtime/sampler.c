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

/* 1 when a ranks below b in cand_cmp's order. */
static int cand_below(const struct cand *a, const struct cand *b)
{
	return cand_cmp(a, b) > 0;
}

static void heap_sift_down(struct cand *h, int n, int i)
{
	for (;;) {
		int l = 2 * i + 1, r = l + 1, m = i;
		struct cand t;

		/* Min-heap on rank: the root is the worst of the kept k. */
		if (l < n && cand_below(&h[l], &h[m]))
			m = l;
		if (r < n && cand_below(&h[r], &h[m]))
			m = r;
		if (m == i)
			return;
		t = h[i], h[i] = h[m], h[m] = t;
		i = m;
	}
}

/* Keep the k best of c[0..n) in c[0..k), sorted. */
static int top_k(struct cand *c, int n, int k)
{
	int i;

	if (k <= 0 || k >= n) {
		qsort(c, (size_t)n, sizeof(*c), cand_cmp);
		return n;
	}
	for (i = k / 2 - 1; i >= 0; i--)
		heap_sift_down(c, k, i);
	for (i = k; i < n; i++) {
		if (cand_below(&c[0], &c[i])) {
			c[0] = c[i];
			heap_sift_down(c, k, 0);
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

int lc_sampler_sample(lc_sampler *s, const float *logits, int32_t *token)
{
	const struct lc_sampler_params *p = &s->par;
	struct cand *c = s->cand;
	int i, n = 0;
	double u, cum, total;

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
	*token = c[i].id;
	return 0;
}
