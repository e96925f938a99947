#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/model.h"
#include "runtime/pool.h"
#include "runtime/qtype.h"
#include "runtime/quant.h"
#include "src/arena.h"
#include "src/err.h"
#include "src/banned.h"

/* Matrix products that share one input row block (Q/K/V, gate/up). */
#define MAX_GROUP 3

struct layer {
	/* Weights (ne[0] = input columns, ne[1] = output rows), in the mapping. */
	const lc_gguf_tensor *wq;     /* (n_embd) -> (n_head * head_dim) */
	const lc_gguf_tensor *wk;     /* (n_embd) -> (n_head_kv * head_dim) */
	const lc_gguf_tensor *wv;     /* (n_embd) -> (n_head_kv * head_dim_v) */
	const lc_gguf_tensor *wo;     /* (n_head * head_dim_v) -> (n_embd) */
	const lc_gguf_tensor *w_gate; /* (n_embd) -> (n_ff) */
	const lc_gguf_tensor *w_up;   /* (n_embd) -> (n_ff) */
	const lc_gguf_tensor *w_down; /* (n_ff) -> (n_embd) */
	/* Vectors, copied to f32 at load (into lc_model.vecs); NULL when absent. */
	float *attn_norm; /* (n_embd) */
	float *ffn_norm;  /* (n_embd) */
	float *bq;        /* (n_head * head_dim) */
	float *bk;        /* (n_head_kv * head_dim) */
	float *bv;        /* (n_head_kv * head_dim_v) */
	float *q_norm;    /* (head_dim), qwen3 */
	float *k_norm;    /* (head_dim), qwen3 */
	/* KV cache, binary16. */
	uint16_t *k_cache; /* (n_ctx, n_head_kv * head_dim) */
	uint16_t *v_cache; /* (n_ctx, n_head_kv * head_dim_v) */
};

struct lc_model {
	enum lc_model_arch arch;
	int n_vocab, n_embd, n_layer, n_head, n_head_kv, head_dim, head_dim_v, n_ff;
	int n_ctx, n_ctx_train, n_rot, n_batch;
	float eps;                      /* RMSNorm epsilon */
	float freq_base;                /* RoPE base */
	float freq_scale;               /* RoPE linear scaling: positions are multiplied by it */
	int rope_neox;                  /* 1: rotate (x[i], x[i + n_rot/2]); 0: (x[2i], x[2i+1]) */
	float kq_scale;                 /* 1 / sqrt(head_dim) */
	const lc_gguf_tensor *tok_embd; /* (n_embd) x n_vocab */
	const lc_gguf_tensor *output;   /* (n_embd) -> (n_vocab); tok_embd when tied */
	float *output_norm;             /* (n_embd) */
	float *rope_freqs;              /* (n_rot / 2) divisors of each frequency, or NULL */
	struct layer *layers;
	float *vecs;  /* owned: every 1-D tensor as f32 */
	uint16_t *kv; /* owned: every layer's cache */
	size_t kv_bytes;
	int n_past;

	lc_pool *pool;
	lc_arena arena;
	/* Scratch, from the arena; b = n_batch. */
	float *x;            /* (b, n_embd) the residual stream */
	float *h;            /* (b, n_embd) normed input / sublayer output */
	float *q;            /* (b, n_head * head_dim) */
	float *k;            /* (b, n_head_kv * head_dim) */
	float *v;            /* (b, n_head_kv * head_dim_v) */
	float *att;          /* (b, n_head * head_dim_v) */
	float *g;            /* (b, n_ff) */
	float *u;            /* (b, n_ff) */
	float *rope_cos;     /* (b, n_rot / 2) */
	float *rope_sin;     /* (b, n_rot / 2) */
	float *scores;       /* (n_threads, n_ctx) attention weights */
	void *xq[MAX_GROUP]; /* activations converted for a weight type */
	size_t xq_bytes;     /* bytes of each xq slot */
};

/* ---- binary16 to f32 by table: attention reads the cache element-wise ---- */

static float f16_table[65536];
static pthread_once_t f16_once = PTHREAD_ONCE_INIT;

static void f16_table_fill(void)
{
	uint32_t i;

	for (i = 0; i < 65536; i++)
		f16_table[i] = lc_fp16_to_fp32((uint16_t)i);
}

/* ---- loading ---- */

static const char *arch_names[] = {"llama", "qwen2", "qwen3"};

static int meta_key(char *buf, size_t size, const char *arch, const char *suffix)
{
	int n = snprintf(buf, size, "%s.%s", arch, suffix);

	if (n < 0 || (size_t)n >= size)
		return lc_err_set(LC_EPARSE, "model: metadata key '%s.%s' too long", arch, suffix);
	return 0;
}

/* <arch>.<suffix> as a positive int; def when absent and def > 0. */
static int meta_int(const lc_gguf *g, const char *arch, const char *suffix, int def, int *out)
{
	char key[128];
	uint32_t v;
	int err;

	if ((err = meta_key(key, sizeof(key), arch, suffix)) < 0)
		return err;
	if (lc_gguf_find_key(g, key) < 0) {
		if (def > 0) {
			*out = def;
			return 0;
		}
		return lc_err_set(LC_ENOTFOUND, "model: metadata key '%s' is missing", key);
	}
	if ((err = lc_gguf_get_u32(g, key, &v)) < 0)
		return err;
	if (v == 0 || v > INT32_MAX / 4)
		return lc_err_set(LC_EPARSE, "model: metadata '%s' = %u is out of range", key, v);
	*out = (int)v;
	return 0;
}

static int meta_float(const lc_gguf *g, const char *arch, const char *suffix, float def, float *out)
{
	char key[128];
	float v;
	int err;

	if ((err = meta_key(key, sizeof(key), arch, suffix)) < 0)
		return err;
	if (lc_gguf_find_key(g, key) < 0) {
		*out = def;
		return 0;
	}
	if ((err = lc_gguf_get_f32(g, key, &v)) < 0)
		return err;
	if (!isfinite(v) || v <= 0.0f)
		return lc_err_set(LC_EPARSE, "model: metadata '%s' = %g is out of range", key,
		                  (double)v);
	*out = v;
	return 0;
}

/*
 * The tensor called name, checked to be (ne0, ne1) (ne1 = 0: a vector) of a
 * type runtime/quant.h has kernels for. NULL in *out when absent and not
 * required.
 */
static int find_tensor(const lc_gguf *g, const char *name, int64_t ne0, int64_t ne1, int required,
                       const lc_gguf_tensor **out)
{
	const lc_gguf_tensor *t = lc_gguf_find_tensor(g, name);
	const char *tname;
	int64_t want1 = ne1 ? ne1 : 1;

	if (!t) {
		if (required)
			return lc_err_set(LC_ENOTFOUND, "model: tensor '%s' is missing", name);
		*out = NULL;
		return 0;
	}
	if (t->ne[0] != ne0 || t->ne[1] != want1 || t->ne[2] != 1 || t->ne[3] != 1)
		return lc_err_set(LC_EPARSE,
		                  "model: tensor '%s' has shape [%lld, %lld, %lld, %lld], expected "
		                  "[%lld, %lld]",
		                  name, (long long)t->ne[0], (long long)t->ne[1],
		                  (long long)t->ne[2], (long long)t->ne[3], (long long)ne0,
		                  (long long)want1);
	tname = lc_qtype_name(t->type);
	if (!lc_qtype_is_supported(t->type) || !lc_quant_kernels(t->type))
		return lc_err_set(
		        LC_EUNSUPPORTED,
		        "model: tensor '%s' has type %s, which lcode does not run (it "
		        "runs F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q2_K to Q6_K)",
		        name, tname ? tname : "unknown");
	if (lc_qtype_row_size(t->type, ne0) == 0)
		return lc_err_set(LC_EPARSE,
		                  "model: tensor '%s' rows of %lld are not whole %s blocks", name,
		                  (long long)ne0, tname);
	*out = t;
	return 0;
}

/* Vectors are few and small: copy them to f32 so the hot loops read one type. */
struct vec_plan {
	const lc_gguf_tensor *t;
	float **dst;
};

static int add_vec(struct vec_plan *plan, int *n_plan, int max_plan, const lc_gguf *g,
                   const char *name, int64_t n, int required, float **dst)
{
	const lc_gguf_tensor *t;
	int err;

	*dst = NULL;
	if ((err = find_tensor(g, name, n, 0, required, &t)) < 0)
		return err;
	if (!t)
		return 0;
	if (*n_plan >= max_plan)
		return lc_err_set(LC_ERROR, "model: too many vectors");
	plan[*n_plan].t = t;
	plan[*n_plan].dst = dst;
	(*n_plan)++;
	return 0;
}

static int read_hparams(lc_model *m, const lc_gguf *g, const char *arch)
{
	char key[128];
	lc_gguf_str s;
	int err, n_expert = 0;

	if ((err = meta_int(g, arch, "block_count", 0, &m->n_layer)) < 0 ||
	    (err = meta_int(g, arch, "embedding_length", 0, &m->n_embd)) < 0 ||
	    (err = meta_int(g, arch, "feed_forward_length", 0, &m->n_ff)) < 0 ||
	    (err = meta_int(g, arch, "attention.head_count", 0, &m->n_head)) < 0 ||
	    (err = meta_int(g, arch, "attention.head_count_kv", m->n_head, &m->n_head_kv)) < 0 ||
	    (err = meta_int(g, arch, "context_length", 0, &m->n_ctx_train)) < 0)
		return err;
	/* Without key_length the head size is n_embd / n_head, which must divide. */
	m->head_dim = m->n_embd % m->n_head == 0 ? m->n_embd / m->n_head : 0;
	if ((err = meta_int(g, arch, "attention.key_length", m->head_dim, &m->head_dim)) < 0 ||
	    (err = meta_int(g, arch, "attention.value_length", m->head_dim, &m->head_dim_v)) < 0 ||
	    (err = meta_int(g, arch, "rope.dimension_count", m->head_dim, &m->n_rot)) < 0)
		return err;
	if ((err = meta_float(g, arch, "attention.layer_norm_rms_epsilon", 1e-5f, &m->eps)) < 0 ||
	    (err = meta_float(g, arch, "rope.freq_base", 10000.0f, &m->freq_base)) < 0)
		return err;
	if (m->n_head % m->n_head_kv != 0)
		return lc_err_set(LC_EPARSE, "model: %d heads are not a multiple of %d KV heads",
		                  m->n_head, m->n_head_kv);
	if (m->n_rot % 2 != 0 || m->n_rot > m->head_dim)
		return lc_err_set(LC_EPARSE, "model: RoPE dimension %d does not fit head size %d",
		                  m->n_rot, m->head_dim);
	if ((err = meta_key(key, sizeof(key), arch, "expert_count")) < 0)
		return err;
	if (lc_gguf_find_key(g, key) >= 0) {
		uint32_t v;
		if ((err = lc_gguf_get_u32(g, key, &v)) < 0)
			return err;
		n_expert = v > INT32_MAX ? INT32_MAX : (int)v;
		if (n_expert > 0)
			return lc_err_set(LC_EUNSUPPORTED,
			                  "model: mixture-of-experts models (%d experts) are not "
			                  "supported",
			                  n_expert);
	}
	/* RoPE scaling: linear is a position multiplier; the others change the math. */
	m->freq_scale = 1.0f;
	if ((err = meta_key(key, sizeof(key), arch, "rope.scaling.type")) < 0)
		return err;
	if (lc_gguf_find_key(g, key) >= 0) {
		if ((err = lc_gguf_get_str(g, key, &s)) < 0)
			return err;
		if (lc_gguf_str_eq(s, "linear")) {
			float factor;
			if ((err = meta_float(g, arch, "rope.scaling.factor", 1.0f, &factor)) < 0)
				return err;
			m->freq_scale = 1.0f / factor;
		} else if (!lc_gguf_str_eq(s, "none")) {
			return lc_err_set(LC_EUNSUPPORTED,
			                  "model: RoPE scaling '%.*s' is not supported",
			                  (int)(s.len > 32 ? 32 : s.len), s.data);
		}
	} else {
		float factor;
		if ((err = meta_float(g, arch, "rope.scale_linear", 1.0f, &factor)) < 0)
			return err;
		m->freq_scale = 1.0f / factor;
	}
	m->kq_scale = 1.0f / sqrtf((float)m->head_dim);
	return 0;
}

static int load_tensors(lc_model *m, const lc_gguf *g)
{
	/* Per layer at most 8 vectors, plus output_norm and rope_freqs. */
	struct vec_plan *plan = NULL;
	int n_plan = 0, max_plan, err = 0, l, i;
	int64_t q_dim = (int64_t)m->n_head * m->head_dim;
	int64_t k_dim = (int64_t)m->n_head_kv * m->head_dim;
	int64_t v_dim = (int64_t)m->n_head_kv * m->head_dim_v;
	int64_t o_dim = (int64_t)m->n_head * m->head_dim_v;
	int is_qwen2 = m->arch == LC_MODEL_ARCH_QWEN2, is_qwen3 = m->arch == LC_MODEL_ARCH_QWEN3;
	size_t n_floats = 0;
	float *p;
	char name[96];

	m->tok_embd = lc_gguf_find_tensor(g, "token_embd.weight");
	if (!m->tok_embd)
		return lc_err_set(LC_ENOTFOUND, "model: tensor 'token_embd.weight' is missing");
	if (m->tok_embd->ne[1] < 1 || m->tok_embd->ne[1] > INT32_MAX)
		return lc_err_set(LC_EPARSE, "model: tensor 'token_embd.weight' has %lld rows",
		                  (long long)m->tok_embd->ne[1]);
	m->n_vocab = (int)m->tok_embd->ne[1];
	if ((err = find_tensor(g, "token_embd.weight", m->n_embd, m->n_vocab, 1, &m->tok_embd)) < 0)
		return err;
	if ((err = find_tensor(g, "output.weight", m->n_embd, m->n_vocab, 0, &m->output)) < 0)
		return err;
	if (!m->output)
		m->output = m->tok_embd; /* tied embeddings */

	m->layers = calloc((size_t)m->n_layer, sizeof(*m->layers));
	max_plan = 8 * m->n_layer + 2;
	plan = calloc((size_t)max_plan, sizeof(*plan));
	if (!m->layers || !plan) {
		err = lc_err_set(LC_ENOMEM, "model: out of memory");
		goto done;
	}
	if ((err = add_vec(plan, &n_plan, max_plan, g, "output_norm.weight", m->n_embd, 1,
	                   &m->output_norm)) < 0 ||
	    (err = add_vec(plan, &n_plan, max_plan, g, "rope_freqs.weight", m->n_rot / 2, 0,
	                   &m->rope_freqs)) < 0)
		goto done;

#define W(field, suffix, ne0, ne1)                                                                 \
	do {                                                                                       \
		snprintf(name, sizeof(name), "blk.%d." suffix, l);                                 \
		if ((err = find_tensor(g, name, ne0, ne1, 1, &L->field)) < 0)                      \
			goto done;                                                                 \
	} while (0)
#define V(field, suffix, n, req)                                                                   \
	do {                                                                                       \
		snprintf(name, sizeof(name), "blk.%d." suffix, l);                                 \
		if ((err = add_vec(plan, &n_plan, max_plan, g, name, n, req, &L->field)) < 0)      \
			goto done;                                                                 \
	} while (0)

	for (l = 0; l < m->n_layer; l++) {
		struct layer *L = &m->layers[l];

		V(attn_norm, "attn_norm.weight", m->n_embd, 1);
		W(wq, "attn_q.weight", m->n_embd, q_dim);
		W(wk, "attn_k.weight", m->n_embd, k_dim);
		W(wv, "attn_v.weight", m->n_embd, v_dim);
		W(wo, "attn_output.weight", o_dim, m->n_embd);
		/* Biases: required by qwen2, allowed (as llama.cpp does) for llama. */
		V(bq, "attn_q.bias", q_dim, is_qwen2);
		V(bk, "attn_k.bias", k_dim, is_qwen2);
		V(bv, "attn_v.bias", v_dim, is_qwen2);
		if (is_qwen3) {
			V(q_norm, "attn_q_norm.weight", m->head_dim, 1);
			V(k_norm, "attn_k_norm.weight", m->head_dim, 1);
		}
		V(ffn_norm, "ffn_norm.weight", m->n_embd, 1);
		W(w_gate, "ffn_gate.weight", m->n_embd, m->n_ff);
		W(w_up, "ffn_up.weight", m->n_embd, m->n_ff);
		W(w_down, "ffn_down.weight", m->n_ff, m->n_embd);
	}
#undef W
#undef V

	for (i = 0; i < n_plan; i++)
		n_floats += (size_t)plan[i].t->ne[0];
	m->vecs = malloc(n_floats * sizeof(float));
	if (!m->vecs) {
		err = lc_err_set(LC_ENOMEM, "model: out of memory");
		goto done;
	}
	for (i = 0, p = m->vecs; i < n_plan; i++) {
		if ((err = lc_dequantize_row(plan[i].t->type, plan[i].t->data, p,
		                             plan[i].t->ne[0])) < 0)
			goto done;
		*plan[i].dst = p;
		p += plan[i].t->ne[0];
	}
done:
	free(plan);
	return err;
}

/* *total += a * b * c bytes, overflow-checked. */
static int size_add(size_t *total, size_t a, size_t b, size_t c)
{
	size_t n;

	if (b != 0 && a > SIZE_MAX / b)
		goto toobig;
	n = a * b;
	if (c != 0 && n > SIZE_MAX / c)
		goto toobig;
	n *= c;
	/* Room for the arena's alignment padding too. */
	if (n > SIZE_MAX - 64 || *total > SIZE_MAX - 64 - n)
		goto toobig;
	*total += n + 64;
	return 0;
toobig:
	return lc_err_set(LC_ETOOBIG, "model: buffer sizes overflow");
}

/* Largest converted activation row any weight needs, bytes. */
static size_t max_dot_row(const lc_model *m)
{
	size_t best = lc_quant_dot_row_size(m->output->type, m->n_embd);
	int l;

	for (l = 0; l < m->n_layer; l++) {
		const struct layer *L = &m->layers[l];
		const lc_gguf_tensor *ts[] = {L->wq,     L->wk,   L->wv,    L->wo,
		                              L->w_gate, L->w_up, L->w_down};
		size_t i;

		for (i = 0; i < sizeof(ts) / sizeof(ts[0]); i++) {
			size_t n = lc_quant_dot_row_size(ts[i]->type, ts[i]->ne[0]);
			if (n > best)
				best = n;
		}
	}
	return best;
}

static int alloc_state(lc_model *m, int n_threads)
{
	size_t b = (size_t)m->n_batch, f = sizeof(float), total = 0, kv_row_k, kv_row_v, per_layer;
	size_t q_dim = (size_t)m->n_head * m->head_dim, k_dim = (size_t)m->n_head_kv * m->head_dim;
	size_t v_dim = (size_t)m->n_head_kv * m->head_dim_v,
	       o_dim = (size_t)m->n_head * m->head_dim_v;
	struct {
		void **p;
		size_t a, b, c;
	} bufs[] = {
	        {(void **)&m->x, b, m->n_embd, f},
	        {(void **)&m->h, b, m->n_embd, f},
	        {(void **)&m->q, b, q_dim, f},
	        {(void **)&m->k, b, k_dim, f},
	        {(void **)&m->v, b, v_dim, f},
	        {(void **)&m->att, b, o_dim, f},
	        {(void **)&m->g, b, m->n_ff, f},
	        {(void **)&m->u, b, m->n_ff, f},
	        {(void **)&m->rope_cos, b, (size_t)m->n_rot / 2 + 1, f},
	        {(void **)&m->rope_sin, b, (size_t)m->n_rot / 2 + 1, f},
	        {(void **)&m->scores, (size_t)n_threads, (size_t)m->n_ctx, f},
	        {&m->xq[0], b, 0, 1},
	        {&m->xq[1], b, 0, 1},
	        {&m->xq[2], b, 0, 1},
	};
	size_t i;
	int l, err;

	m->xq_bytes = max_dot_row(m);
	for (i = 0; i < sizeof(bufs) / sizeof(bufs[0]); i++) {
		if (bufs[i].b == 0)
			bufs[i].b = m->xq_bytes;
		if ((err = size_add(&total, bufs[i].a, bufs[i].b, bufs[i].c)) < 0)
			return err;
	}
	lc_arena_init(&m->arena, total);
	m->arena.chunk_size = total;
	for (i = 0; i < sizeof(bufs) / sizeof(bufs[0]); i++) {
		*bufs[i].p = lc_arena_alloc(&m->arena, bufs[i].a * bufs[i].b * bufs[i].c);
		if (!*bufs[i].p)
			return lc_err_code() ? lc_err_code() : LC_ENOMEM;
	}

	/* The cache is calloc'ed: untouched pages of a long context cost no memory. */
	kv_row_k = k_dim * sizeof(uint16_t);
	kv_row_v = v_dim * sizeof(uint16_t);
	per_layer = 0;
	if ((err = size_add(&per_layer, (size_t)m->n_ctx, kv_row_k + kv_row_v, 1)) < 0)
		return err;
	per_layer -= 64;
	if (per_layer > SIZE_MAX / (size_t)m->n_layer)
		return lc_err_set(LC_ETOOBIG, "model: KV cache size overflows");
	m->kv_bytes = per_layer * (size_t)m->n_layer;
	m->kv = calloc(1, m->kv_bytes);
	if (!m->kv)
		return lc_err_set(LC_ENOMEM, "model: out of memory for a KV cache of %zu bytes",
		                  m->kv_bytes);
	for (l = 0; l < m->n_layer; l++) {
		uint16_t *base = m->kv + (size_t)l * (per_layer / sizeof(uint16_t));
		m->layers[l].k_cache = base;
		m->layers[l].v_cache = base + (size_t)m->n_ctx * k_dim;
	}
	return 0;
}

int lc_model_new(lc_model **out, const lc_gguf *g, const struct lc_model_params *params)
{
	struct lc_model_params def = LC_MODEL_PARAMS_INIT;
	lc_model *m;
	lc_gguf_str s;
	char arch[32];
	int err, i, n_threads;

	if (!params)
		params = &def;
	pthread_once(&f16_once, f16_table_fill);
	if ((err = lc_gguf_get_str(g, "general.architecture", &s)) < 0)
		return err == LC_ENOTFOUND ? lc_err_set(LC_ENOTFOUND, "model: metadata key "
		                                                      "'general.architecture' is "
		                                                      "missing")
		                           : err;
	m = calloc(1, sizeof(*m));
	if (!m)
		return lc_err_set(LC_ENOMEM, "model: out of memory");
	for (i = 0; i < 3; i++)
		if (lc_gguf_str_eq(s, arch_names[i]))
			break;
	if (i == 3) {
		err = lc_err_set(LC_EUNSUPPORTED, "model: architecture '%.*s' is not supported",
		                 (int)(s.len > 64 ? 64 : s.len), s.data);
		goto fail;
	}
	m->arch = (enum lc_model_arch)i;
	snprintf(arch, sizeof(arch), "%s", arch_names[i]);
	m->rope_neox = m->arch != LC_MODEL_ARCH_LLAMA;
	if ((err = read_hparams(m, g, arch)) < 0 || (err = load_tensors(m, g)) < 0)
		goto fail;

	m->n_ctx = params->n_ctx > 0 && params->n_ctx < m->n_ctx_train ? params->n_ctx
	                                                               : m->n_ctx_train;
	m->n_batch = params->n_batch > 0 ? params->n_batch : 512;
	if (m->n_batch > m->n_ctx)
		m->n_batch = m->n_ctx;
	n_threads = params->n_threads > 0 ? params->n_threads : 1;
	if ((err = alloc_state(m, n_threads)) < 0 || (err = lc_pool_new(&m->pool, n_threads)) < 0)
		goto fail;
	*out = m;
	return 0;
fail:
	lc_model_free(m);
	return err;
}

void lc_model_free(lc_model *m)
{
	if (!m)
		return;
	lc_pool_free(m->pool);
	lc_arena_release(&m->arena);
	free(m->kv);
	free(m->vecs);
	free(m->layers);
	free(m);
}

/* ---- the forward pass ---- */

/* y = x / sqrt(mean(x^2) + eps) * w, for n_rows rows of n (Zhang & Sennrich 2019). */
static void rms_norm(float *y, const float *x, const float *w, int n_rows, int n, float eps)
{
	int r, i;

	for (r = 0; r < n_rows; r++) {
		const float *xr = x + (size_t)r * n;
		float *yr = y + (size_t)r * n;
		double ss = 0.0;
		float scale;

		for (i = 0; i < n; i++)
			ss += (double)xr[i] * xr[i];
		scale = 1.0f / sqrtf((float)(ss / n) + eps);
		for (i = 0; i < n; i++)
			yr[i] = xr[i] * scale * w[i];
	}
}

struct mm_job {
	const lc_gguf_tensor *w;
	const void *xq;
	float *y;
};

struct mm_group {
	struct mm_job jobs[MAX_GROUP];
	int n_jobs;
	int n_tokens;
};

static void mm_task(void *ctx, int ith, int nth)
{
	const struct mm_group *grp = ctx;
	int j;

	for (j = 0; j < grp->n_jobs; j++) {
		const struct mm_job *jb = &grp->jobs[j];
		int64_t n_rows = jb->w->ne[1];
		int64_t r0 = n_rows * ith / nth, r1 = n_rows * (ith + 1) / nth;

		if (r0 < r1)
			lc_matmul_rows(jb->w->type, jb->w->data, n_rows, jb->w->ne[0], jb->xq,
			               grp->n_tokens, jb->y, r0, r1);
	}
}

/*
 * y_j = x . w_j^T for up to MAX_GROUP weights with the same input width:
 * x (n_tokens, ne0) f32, y_j (n_tokens, w_j->ne[1]). The input is converted
 * once per distinct vec-dot type; the rows of all products are split over
 * the pool in one run.
 */
static int matmul_group(lc_model *m, const float *x, int n_tokens, const lc_gguf_tensor **ws,
                        float **ys, int n)
{
	struct mm_group grp;
	int i, j, err;

	grp.n_jobs = n;
	grp.n_tokens = n_tokens;
	for (i = 0; i < n; i++) {
		uint32_t vdt = lc_qtype_vec_dot_type(ws[i]->type);

		for (j = 0; j < i; j++)
			if (lc_qtype_vec_dot_type(ws[j]->type) == vdt)
				break;
		grp.jobs[i].w = ws[i];
		grp.jobs[i].y = ys[i];
		if (j < i) {
			grp.jobs[i].xq = grp.jobs[j].xq;
			continue;
		}
		if ((err = lc_matmul_quantize_x(ws[i]->type, x, ws[i]->ne[0], n_tokens, m->xq[i])) <
		    0)
			return err;
		grp.jobs[i].xq = m->xq[i];
	}
	lc_pool_run(m->pool, mm_task, &grp);
	return 0;
}

static int matmul1(lc_model *m, const float *x, int n_tokens, const lc_gguf_tensor *w, float *y)
{
	return matmul_group(m, x, n_tokens, &w, &y, 1);
}

static void add_bias(float *y, const float *b, int n_rows, int n)
{
	int r, i;

	if (!b)
		return;
	for (r = 0; r < n_rows; r++)
		for (i = 0; i < n; i++)
			y[(size_t)r * n + i] += b[i];
}

/* Rotate the first n_rot elements of each head of x (n_tokens, n_heads * hd). */
static void rope(const lc_model *m, float *x, int n_tokens, int n_heads)
{
	int half = m->n_rot / 2, t, h, i;

	for (t = 0; t < n_tokens; t++) {
		const float *c = m->rope_cos + (size_t)t * (half + 1);
		const float *s = m->rope_sin + (size_t)t * (half + 1);

		for (h = 0; h < n_heads; h++) {
			float *xh = x + ((size_t)t * n_heads + h) * m->head_dim;

			for (i = 0; i < half; i++) {
				int i0 = m->rope_neox ? i : 2 * i;
				int i1 = m->rope_neox ? i + half : 2 * i + 1;
				float x0 = xh[i0], x1 = xh[i1];

				xh[i0] = x0 * c[i] - x1 * s[i];
				xh[i1] = x0 * s[i] + x1 * c[i];
			}
		}
	}
}

/*
 * Angles for positions n_past .. n_past + n_tokens - 1: theta_i = p *
 * freq_scale * base^(-2i / n_rot) / rope_freqs[i] (RoFormer eq. 15; the
 * divisors are Llama 3.1's long-context frequency factors).
 */
static void rope_angles(lc_model *m, int n_tokens)
{
	int half = m->n_rot / 2, t, i;

	for (t = 0; t < n_tokens; t++) {
		double p = (double)(m->n_past + t) * m->freq_scale;

		for (i = 0; i < half; i++) {
			double theta = p * pow((double)m->freq_base, -2.0 * i / m->n_rot);
			if (m->rope_freqs)
				theta /= m->rope_freqs[i];
			m->rope_cos[(size_t)t * (half + 1) + i] = (float)cos(theta);
			m->rope_sin[(size_t)t * (half + 1) + i] = (float)sin(theta);
		}
	}
}

struct att_ctx {
	lc_model *m;
	const struct layer *L;
	int n_tokens;
};

/*
 * Causal scaled dot-product attention (Vaswani et al. 2017) with grouped KV
 * heads: query head h reads KV head h / (n_head / n_head_kv). Work items are
 * (token, head) pairs, dealt round-robin to the threads.
 */
static void att_task(void *ctx, int ith, int nth)
{
	const struct att_ctx *a = ctx;
	const lc_model *m = a->m;
	int group = m->n_head / m->n_head_kv, hd = m->head_dim, hdv = m->head_dim_v;
	size_t k_dim = (size_t)m->n_head_kv * hd, v_dim = (size_t)m->n_head_kv * hdv;
	float *sc = m->scores + (size_t)ith * m->n_ctx;
	int item, n_items = a->n_tokens * m->n_head;

	for (item = ith; item < n_items; item += nth) {
		int t = item / m->n_head, h = item % m->n_head, kvh = h / group;
		int n_kv = m->n_past + t + 1, j, d;
		const float *q = m->q + ((size_t)t * m->n_head + h) * hd;
		float *o = m->att + ((size_t)t * m->n_head + h) * hdv;
		float mx = -INFINITY;
		double sum = 0.0;
		float inv;

		for (j = 0; j < n_kv; j++) {
			const uint16_t *kr = a->L->k_cache + (size_t)j * k_dim + (size_t)kvh * hd;
			float s = 0.0f;
			for (d = 0; d < hd; d++)
				s += q[d] * f16_table[kr[d]];
			s *= m->kq_scale;
			sc[j] = s;
			if (s > mx)
				mx = s;
		}
		for (j = 0; j < n_kv; j++) {
			sc[j] = expf(sc[j] - mx);
			sum += sc[j];
		}
		inv = (float)(1.0 / sum);
		for (d = 0; d < hdv; d++)
			o[d] = 0.0f;
		for (j = 0; j < n_kv; j++) {
			const uint16_t *vr = a->L->v_cache + (size_t)j * v_dim + (size_t)kvh * hdv;
			float p = sc[j] * inv;
			for (d = 0; d < hdv; d++)
				o[d] += p * f16_table[vr[d]];
		}
	}
}

/* One step over n_tokens <= n_batch tokens; token ids already checked. */
static int eval_batch(lc_model *m, const int32_t *tokens, int n_tokens, float *logits,
                      int all_logits)
{
	int n_embd = m->n_embd, hd = m->head_dim, l, t, i, err;
	size_t q_dim = (size_t)m->n_head * hd, k_dim = (size_t)m->n_head_kv * hd;
	size_t v_dim = (size_t)m->n_head_kv * m->head_dim_v;
	size_t emb_row = lc_qtype_row_size(m->tok_embd->type, n_embd);

	for (t = 0; t < n_tokens; t++) {
		const char *row = (const char *)m->tok_embd->data + (size_t)tokens[t] * emb_row;
		if ((err = lc_dequantize_row(m->tok_embd->type, row, m->x + (size_t)t * n_embd,
		                             n_embd)) < 0)
			return err;
	}
	rope_angles(m, n_tokens);

	for (l = 0; l < m->n_layer; l++) {
		const struct layer *L = &m->layers[l];
		const lc_gguf_tensor *ws[MAX_GROUP];
		float *ys[MAX_GROUP];
		struct att_ctx actx;

		/* Attention sublayer. */
		rms_norm(m->h, m->x, L->attn_norm, n_tokens, n_embd, m->eps);
		ws[0] = L->wq, ws[1] = L->wk, ws[2] = L->wv;
		ys[0] = m->q, ys[1] = m->k, ys[2] = m->v;
		if ((err = matmul_group(m, m->h, n_tokens, ws, ys, 3)) < 0)
			return err;
		add_bias(m->q, L->bq, n_tokens, (int)q_dim);
		add_bias(m->k, L->bk, n_tokens, (int)k_dim);
		add_bias(m->v, L->bv, n_tokens, (int)v_dim);
		if (L->q_norm) {
			rms_norm(m->q, m->q, L->q_norm, n_tokens * m->n_head, hd, m->eps);
			rms_norm(m->k, m->k, L->k_norm, n_tokens * m->n_head_kv, hd, m->eps);
		}
		rope(m, m->q, n_tokens, m->n_head);
		rope(m, m->k, n_tokens, m->n_head_kv);
		for (t = 0; t < n_tokens; t++) {
			uint16_t *kc = L->k_cache + (size_t)(m->n_past + t) * k_dim;
			uint16_t *vc = L->v_cache + (size_t)(m->n_past + t) * v_dim;
			for (i = 0; i < (int)k_dim; i++)
				kc[i] = lc_fp32_to_fp16(m->k[(size_t)t * k_dim + i]);
			for (i = 0; i < (int)v_dim; i++)
				vc[i] = lc_fp32_to_fp16(m->v[(size_t)t * v_dim + i]);
		}
		actx.m = m;
		actx.L = L;
		actx.n_tokens = n_tokens;
		lc_pool_run(m->pool, att_task, &actx);
		if ((err = matmul1(m, m->att, n_tokens, L->wo, m->h)) < 0)
			return err;
		for (i = 0; i < n_tokens * n_embd; i++)
			m->x[i] += m->h[i];

		/* Feed-forward sublayer: down(silu(gate(h)) * up(h)) (Shazeer 2020). */
		rms_norm(m->h, m->x, L->ffn_norm, n_tokens, n_embd, m->eps);
		ws[0] = L->w_gate, ws[1] = L->w_up;
		ys[0] = m->g, ys[1] = m->u;
		if ((err = matmul_group(m, m->h, n_tokens, ws, ys, 2)) < 0)
			return err;
		for (i = 0; i < n_tokens * m->n_ff; i++) {
			float gv = m->g[i];
			m->g[i] = gv / (1.0f + expf(-gv)) * m->u[i];
		}
		if ((err = matmul1(m, m->g, n_tokens, L->w_down, m->h)) < 0)
			return err;
		for (i = 0; i < n_tokens * n_embd; i++)
			m->x[i] += m->h[i];
	}

	if (logits) {
		int first = all_logits ? 0 : n_tokens - 1, n_out = n_tokens - first;

		rms_norm(m->h, m->x + (size_t)first * n_embd, m->output_norm, n_out, n_embd,
		         m->eps);
		if ((err = matmul1(m, m->h, n_out, m->output, logits)) < 0)
			return err;
	}
	return 0;
}

int lc_model_eval(lc_model *m, const int32_t *tokens, int n_tokens, float *logits_out,
                  int all_logits)
{
	int i, done, err;

	if (n_tokens < 1)
		return lc_err_set(LC_EPARSE, "model: eval of %d tokens", n_tokens);
	for (i = 0; i < n_tokens; i++)
		if (tokens[i] < 0 || tokens[i] >= m->n_vocab)
			return lc_err_set(LC_EPARSE,
			                  "model: token id %d is outside the vocabulary of %d",
			                  (int)tokens[i], m->n_vocab);
	if (n_tokens > m->n_ctx - m->n_past)
		return lc_err_set(
		        LC_ETOOBIG,
		        "model: %d tokens do not fit the context: %d of %d positions used",
		        n_tokens, m->n_past, m->n_ctx);
	for (done = 0; done < n_tokens; done += m->n_batch) {
		int n = n_tokens - done < m->n_batch ? n_tokens - done : m->n_batch;
		int last = done + n == n_tokens;
		float *lg = NULL;

		if (logits_out && all_logits)
			lg = logits_out + (size_t)done * m->n_vocab;
		else if (logits_out && last)
			lg = logits_out;
		if ((err = eval_batch(m, tokens + done, n, lg, all_logits)) < 0)
			return err;
		m->n_past += n;
	}
	return 0;
}

int lc_model_n_past(const lc_model *m)
{
	return m->n_past;
}

int lc_model_truncate(lc_model *m, int n)
{
	if (n < 0 || n > m->n_past)
		return lc_err_set(LC_EPARSE, "model: cannot truncate to %d of %d cached tokens", n,
		                  m->n_past);
	/* Positions past n_past are never read, so nothing needs clearing. */
	m->n_past = n;
	return 0;
}

enum lc_model_arch lc_model_arch(const lc_model *m)
{
	return m->arch;
}

const char *lc_model_arch_name(const lc_model *m)
{
	return arch_names[m->arch];
}

int lc_model_n_vocab(const lc_model *m)
{
	return m->n_vocab;
}

int lc_model_n_ctx(const lc_model *m)
{
	return m->n_ctx;
}

int lc_model_n_ctx_train(const lc_model *m)
{
	return m->n_ctx_train;
}

int lc_model_n_embd(const lc_model *m)
{
	return m->n_embd;
}

int lc_model_n_layer(const lc_model *m)
{
	return m->n_layer;
}

int lc_model_n_head(const lc_model *m)
{
	return m->n_head;
}

int lc_model_n_head_kv(const lc_model *m)
{
	return m->n_head_kv;
}

int lc_model_n_threads(const lc_model *m)
{
	return lc_pool_n_threads(m->pool);
}

size_t lc_model_kv_bytes(const lc_model *m)
{
	return m->kv_bytes;
}

size_t lc_model_scratch_bytes(const lc_model *m)
{
	return m->arena.total;
}
