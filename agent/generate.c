#include "agent/generate.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agent/loopguard.h"
#include "src/err.h"
#include "src/banned.h"

static int model_eval(void *self, const int32_t *tokens, int n, float *logits)
{
	return lc_model_eval(self, tokens, n, logits, 0);
}

static int model_truncate(void *self, int n)
{
	return lc_model_truncate(self, n);
}

void lc_lm_from_model(lc_lm *lm, lc_model *m)
{
	lm->self = m;
	lm->n_vocab = lc_model_n_vocab(m);
	lm->n_ctx = lc_model_n_ctx(m);
	lm->eval = model_eval;
	lm->truncate = model_truncate;
}

void lc_seq_init(lc_seq *s)
{
	memset(s, 0, sizeof(*s));
}

void lc_seq_release(lc_seq *s)
{
	if (!s)
		return;
	free(s->ids);
	memset(s, 0, sizeof(*s));
}

int lc_seq_push(lc_seq *s, const int32_t *ids, size_t n)
{
	if (s->n + n > s->cap) {
		size_t cap = s->cap ? s->cap : 1024;
		int32_t *p;
		while (cap < s->n + n)
			cap *= 2;
		p = realloc(s->ids, cap * sizeof(*p));
		if (!p)
			return lc_err_set(LC_ENOMEM, "out of memory");
		s->ids = p;
		s->cap = cap;
	}
	memcpy(s->ids + s->n, ids, n * sizeof(*ids));
	s->n += n;
	return 0;
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Evaluate kv->ids[from..n) after truncating the model to from. */
static int eval_range(lc_lm *lm, lc_seq *kv, size_t from, float *logits)
{
	int rc = lm->truncate(lm->self, (int)from);

	if (rc)
		return rc;
	return lm->eval(lm->self, kv->ids + from, (int)(kv->n - from), logits);
}

/* Make the cache hold target and leave the logits of its last token. */
static int sync_prompt(lc_lm *lm, lc_seq *kv, const int32_t *target, size_t n_target, float *logits,
                       lc_gen_stats *st)
{
	size_t lcp = 0;
	int rc;

	if (n_target == 0)
		return lc_err_set(LC_EPARSE, "generate: empty prompt");
	if (n_target > (size_t)lm->n_ctx)
		return lc_err_set(LC_ETOOBIG,
		                  "the prompt has %zu tokens, more than the context of %d",
		                  n_target, lm->n_ctx);
	while (lcp < kv->n && lcp < n_target && kv->ids[lcp] == target[lcp])
		lcp++;
	/* The last token is always evaluated again: its logits are needed. */
	if (lcp == n_target)
		lcp--;
	kv->n = lcp;
	if ((rc = lc_seq_push(kv, target + lcp, n_target - lcp)))
		return rc;
	st->n_reused = (int)lcp;
	st->n_prompt = (int)(n_target - lcp);
	rc = eval_range(lm, kv, lcp, logits);
	if (rc)
		kv->n = lcp; /* the model may hold part of the batch; truncate on next use */
	return rc;
}

/* lc_sampler_allow_fn over the constraint: may token t come next? */
static int allowed(void *ctx, int32_t t)
{
	const lc_gen_opts *o = ctx;
	size_t len;
	const char *piece;

	if (lc_tokenizer_is_eog(o->tok, t))
		return lc_constraint_allows_end(o->constraint);
	piece = lc_token_piece(o->tok, t, &len);
	if (!piece)
		return 0;
	return lc_constraint_allows(o->constraint, piece, len);
}

/* Sample one token from work (masked tokens at -INFINITY) that the constraint allows. */
static int pick(const lc_gen_opts *o, const float *work, int32_t *out, lc_gen_stats *st)
{
	int refused = 0, rc;

	if (!o->constraint)
		rc = lc_sampler_sample(o->sampler, work, out);
	else
		rc = lc_sampler_sample_constrained(o->sampler, work, allowed, (void *)o, out,
		                                   &refused);
	if (rc == LC_EDENIED)
		return lc_err_set(LC_ERROR,
		                  "generate: the tool-call constraint allows no token here");
	if (rc)
		return lc_err_set(LC_ERROR, "generate: every token is masked here");
	st->n_rejected += refused;
	return 0;
}

int lc_generate(lc_lm *lm, lc_seq *kv, const int32_t *target, size_t n_target, const lc_gen_opts *o,
                lc_buf *text, lc_gen_stats *stats)
{
	lc_gen_stats st = {0};
	lc_token_guard guard;
	size_t *offsets = NULL; /* text length before each generated token */
	size_t text_start = text->len, gen_start;
	float *logits = NULL, *work = NULL;
	int32_t ban = -1;
	double t0 = now();
	int n_tok = (int)lc_tokenizer_n_vocab(o->tok), rc;

	lc_token_guard_init(&guard);
	logits = malloc((size_t)lm->n_vocab * sizeof(float));
	work = malloc((size_t)lm->n_vocab * sizeof(float));
	offsets = malloc(((size_t)o->max_tokens + 1) * sizeof(*offsets));
	if (!logits || !work || !offsets) {
		rc = lc_err_set(LC_ENOMEM, "out of memory");
		goto out;
	}
	if (o->constraint)
		lc_constraint_reset(o->constraint);
	if ((rc = sync_prompt(lm, kv, target, n_target, logits, &st)))
		goto out;
	st.t_prompt = now() - t0;
	t0 = now();
	gen_start = kv->n;

	while (st.n_gen < o->max_tokens) {
		int32_t t;
		size_t len;
		const char *piece;
		lc_loop loop;

		if (o->cancel && *o->cancel) {
			rc = lc_err_set(LC_ECANCELLED, "generation stopped");
			goto out;
		}
		memcpy(work, logits, (size_t)lm->n_vocab * sizeof(float));
		/* Embedding rows past the tokenizer's vocabulary (padding) are no tokens. */
		for (int i = n_tok; i < lm->n_vocab; i++)
			work[i] = -INFINITY;
		if (ban >= 0)
			work[ban] = -INFINITY;
		ban = -1;
		if ((rc = pick(o, work, &t, &st)))
			goto out;
		if (lc_tokenizer_is_eog(o->tok, t)) {
			st.stopped_eog = 1;
			break;
		}
		if (kv->n + 1 > (size_t)lm->n_ctx) {
			rc = lc_err_set(LC_ETOOBIG, "the context of %d tokens is full", lm->n_ctx);
			goto out;
		}
		piece = lc_token_piece(o->tok, t, &len);
		offsets[st.n_gen] = text->len;
		if ((rc = lc_buf_add(text, piece, len))) {
			rc = lc_err_set(rc, "the model's message is too long");
			goto out;
		}
		if (o->constraint && (rc = lc_constraint_feed(o->constraint, piece, len)))
			goto out;
		lc_sampler_accept(o->sampler, t);
		if ((rc = lc_seq_push(kv, &t, 1)))
			goto out;
		st.n_gen++;
		if (o->on_text)
			o->on_text(o->ud, piece, len);

		if (o->loop_guard && (rc = lc_token_guard_push(&guard, t, &loop)) == 1) {
			/* Roll back to the end of the cycle's first occurrence. */
			if (++st.n_loops > LC_GEN_MAX_LOOPS) {
				rc = lc_err_set(LC_ERROR, "the model kept repeating itself");
				goto out;
			}
			st.n_gen = (int)loop.rollback;
			lc_buf_truncate(text, offsets[loop.rollback]);
			kv->n = gen_start + loop.rollback;
			lc_token_guard_truncate(&guard, loop.rollback);
			if (o->constraint) {
				lc_constraint_reset(o->constraint);
				rc = lc_constraint_feed(o->constraint, text->data + text_start,
				                        text->len - text_start);
				if (rc)
					goto out;
			}
			ban = loop.banned;
			if ((rc = eval_range(lm, kv, kv->n - 1, logits)))
				goto out;
			continue;
		}
		if (rc < 0)
			goto out;
		if ((rc = lm->eval(lm->self, &t, 1, logits)))
			goto out;
	}
	rc = 0;
out:
	st.t_gen = now() - t0;
	if (stats)
		*stats = st;
	lc_token_guard_release(&guard);
	free(offsets);
	free(logits);
	free(work);
	return rc;
}
