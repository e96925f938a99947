/*
 * Tests for agent/generate.c over the scripted model (agent/scriptlm.c) and
 * the real Qwen2 tokenizer ($LC_SHARED_DATA/vocab/ggml-vocab-qwen2.gguf). The
 * script is the reference: greedy decoding must reproduce it byte for byte.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "agent/generate.h"
#include "agent/scriptlm.h"
#include "src/err.h"
#include "tools/schema.h"

static lc_gguf *gguf;
static lc_tokenizer *tok;
static cJSON *tools;

static int setup(void **state)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/vocab/ggml-vocab-qwen2.gguf", getenv("LC_SHARED_DATA"));
	if (lc_gguf_open(&gguf, path) || lc_tokenizer_new(&tok, gguf))
		return -1;
	tools = cJSON_Parse("[{\"type\":\"function\",\"function\":{\"name\":\"read_file\","
	                    "\"parameters\":{\"type\":\"object\",\"properties\":{\"path\":{"
	                    "\"type\":\"string\"}},\"required\":[\"path\"]}}}]");
	return tools ? 0 : -1;
}

static int teardown(void **state)
{
	cJSON_Delete(tools);
	lc_tokenizer_free(tok);
	lc_gguf_free(gguf);
	return 0;
}

static void tokenize(const char *text, int32_t **ids, size_t *n)
{
	assert_int_equal(lc_tokenize_alloc(tok, text, strlen(text), 0, 1, 1 << 20, ids, n), 0);
}

struct fixture {
	lc_scriptlm *script;
	lc_lm lm;
	lc_sampler *sampler;
	lc_seq kv;
	lc_gen_opts o;
};

static void fixture_init(struct fixture *f, const char *const *turns, size_t n, int n_ctx)
{
	struct lc_sampler_params sp = LC_SAMPLER_PARAMS_INIT;

	sp.temp = 0; /* greedy */
	sp.repeat_penalty = 1.0f;
	assert_int_equal(lc_scriptlm_new(&f->script, tok, turns, n, n_ctx), 0);
	lc_scriptlm_lm(f->script, &f->lm);
	assert_int_equal(lc_sampler_new(&f->sampler, &sp, f->lm.n_vocab), 0);
	lc_seq_init(&f->kv);
	memset(&f->o, 0, sizeof(f->o));
	f->o.tok = tok;
	f->o.sampler = f->sampler;
	f->o.max_tokens = 512;
	f->o.loop_guard = 1;
}

static void fixture_release(struct fixture *f)
{
	lc_seq_release(&f->kv);
	lc_sampler_free(f->sampler);
	lc_scriptlm_free(f->script);
}

static void test_script_is_reproduced(void **state)
{
	const char *turns[] = {"Let me look.\n<tool_call>\n{\"name\": \"read_file\", "
	                       "\"arguments\": {\"path\": \"a.py\"}}\n</tool_call>"};
	struct fixture f;
	lc_buf text = LC_BUF_INIT(1 << 20);
	lc_gen_stats st;
	lc_constraint *c;
	int32_t *prompt;
	size_t n;

	fixture_init(&f, turns, 1, 4096);
	assert_int_equal(lc_constraint_new(&c, LC_CALL_HERMES, tools), 0);
	f.o.constraint = c;
	tokenize("<|im_start|>user\nshow a.py<|im_end|>\n<|im_start|>assistant\n", &prompt, &n);
	assert_int_equal(lc_generate(&f.lm, &f.kv, prompt, n, &f.o, &text, &st), 0);
	assert_string_equal(text.data, turns[0]);
	assert_true(st.stopped_eog);
	assert_int_equal(st.n_prompt, (int)n);
	assert_int_equal(st.n_rejected, 0);
	assert_int_equal(lc_constraint_n_calls(c), 1);
	free(prompt);
	lc_constraint_free(c);
	lc_buf_release(&text);
	fixture_release(&f);
}

static void test_second_turn_evaluates_only_new_tokens(void **state)
{
	const char *turns[] = {"first answer", "second answer"};
	struct fixture f;
	lc_buf text = LC_BUF_INIT(1 << 20);
	lc_gen_stats st;
	int32_t *p1, *delta;
	size_t n1, nd, kept;
	lc_seq target;

	fixture_init(&f, turns, 2, 4096);
	tokenize("<|im_start|>user\nq1<|im_end|>\n<|im_start|>assistant\n", &p1, &n1);
	assert_int_equal(lc_generate(&f.lm, &f.kv, p1, n1, &f.o, &text, &st), 0);
	assert_string_equal(text.data, "first answer");
	kept = f.kv.n;
	/* The next prompt is the cache's tokens plus the new turn. */
	tokenize("<|im_end|>\n<|im_start|>user\nq2<|im_end|>\n<|im_start|>assistant\n", &delta,
	         &nd);
	lc_seq_init(&target);
	lc_seq_push(&target, f.kv.ids, f.kv.n);
	lc_seq_push(&target, delta, nd);
	lc_buf_reset(&text);
	assert_int_equal(lc_generate(&f.lm, &f.kv, target.ids, target.n, &f.o, &text, &st), 0);
	assert_string_equal(text.data, "second answer");
	assert_int_equal(st.n_reused, (int)kept);
	assert_int_equal(st.n_prompt, (int)nd);
	lc_seq_release(&target);
	free(p1);
	free(delta);
	lc_buf_release(&text);
	fixture_release(&f);
}

static void test_loop_is_cut(void **state)
{
	char loop[4096] = "Thinking:";
	const char *turns[] = {loop};
	struct fixture f;
	lc_buf text = LC_BUF_INIT(1 << 20);
	lc_gen_stats st;
	int32_t *p;
	size_t n;

	for (int i = 0; i < 100; i++)
		memcpy(loop + 9 + 10 * i, " again and", 11);
	fixture_init(&f, turns, 1, 8192);
	tokenize("<|im_start|>assistant\n", &p, &n);
	assert_int_equal(lc_generate(&f.lm, &f.kv, p, n, &f.o, &text, &st), 0);
	assert_true(st.n_loops >= 1);
	assert_true(st.stopped_eog);
	/* One cycle is kept, the repeats are gone. */
	assert_true(text.len < 60);
	assert_non_null(strstr(text.data, " again and"));
	assert_null(strstr(text.data, " again and again and again and"));
	/* The cache mirror matches what was kept: prompt plus kept tokens. */
	assert_int_equal(f.kv.n, n + (size_t)st.n_gen);
	free(p);
	lc_buf_release(&text);
	fixture_release(&f);
}

static void test_cancel_and_context_limit(void **state)
{
	const char *turns[] = {"a long enough answer that takes more than a few tokens to say"};
	volatile sig_atomic_t cancel = 1;
	struct fixture f;
	lc_buf text = LC_BUF_INIT(1 << 20);
	int32_t *p;
	size_t n;

	fixture_init(&f, turns, 1, 8);
	tokenize("<|im_start|>assistant\n", &p, &n);
	f.o.cancel = &cancel;
	lc_err_clear();
	assert_int_equal(lc_generate(&f.lm, &f.kv, p, n, &f.o, &text, NULL), LC_ECANCELLED);
	cancel = 0;
	lc_err_clear();
	/* 8 tokens of context: the answer does not fit. */
	assert_int_equal(lc_generate(&f.lm, &f.kv, p, n, &f.o, &text, NULL), LC_ETOOBIG);
	lc_err_clear();
	free(p);
	lc_buf_release(&text);
	fixture_release(&f);
}

/*
 * A model with random logits (a sum of uniforms, spread about 17) that opens
 * a call: its first logits put the tokens of <tool_call> far ahead (this
 * vocabulary spells it in 4 tokens), and once the constraint has seen a
 * whole call, the end of the turn. Everything between is random, so only the
 * constraint makes it a call.
 */
struct randlm {
	uint64_t rng;
	int n_vocab, n_evals;
	const int32_t *open; /* the tokens of "<tool_call>" */
	int n_open;
	int32_t end;
	const lc_constraint *c;
};

static float rand_logit(struct randlm *r)
{
	float x = 0;

	for (int i = 0; i < 4; i++) {
		r->rng ^= r->rng << 13;
		r->rng ^= r->rng >> 7;
		r->rng ^= r->rng << 17;
		x += (float)(r->rng >> 40) / (float)(1 << 24) - 0.5f;
	}
	return x * 30.0f;
}

static int randlm_eval(void *self, const int32_t *tokens, int n, float *logits)
{
	struct randlm *r = self;

	for (int i = 0; i < r->n_vocab; i++)
		logits[i] = rand_logit(r);
	if (r->n_evals < r->n_open)
		logits[r->open[r->n_evals]] = 1000.0f;
	else if (lc_constraint_n_calls(r->c) > 0 && !lc_constraint_in_call(r->c))
		logits[r->end] = 1000.0f;
	r->n_evals++;
	return 0;
}

static int randlm_truncate(void *self, int n)
{
	return 0;
}

/*
 * The promise with the real Qwen2 vocabulary (multi-byte pieces) and
 * sampling at temperature 1: whatever the random model says inside a call,
 * the message parses (agent/toolcall.c) and its arguments satisfy the schema
 * (tools/schema.c), bounds included, over 6 seeds.
 */
static void test_random_model_calls_parse(void **state)
{
	cJSON *bounded = cJSON_Parse(
	        "[{\"type\":\"function\",\"function\":{\"name\":\"shell\",\"parameters\":"
	        "{\"type\":\"object\",\"properties\":{\"command\":{\"type\":\"string\","
	        "\"minLength\":1,\"maxLength\":40},\"timeout\":{\"type\":\"integer\","
	        "\"minimum\":1,\"maximum\":3600}},\"required\":[\"command\",\"timeout\"],"
	        "\"additionalProperties\":false}}}]");
	int32_t *prompt, *open;
	size_t n, n_open;
	int complete = 0;

	assert_non_null(bounded);
	tokenize("<|im_start|>user\nrun it<|im_end|>\n<|im_start|>assistant\n", &prompt, &n);
	tokenize("<tool_call>", &open, &n_open);
	for (uint64_t seed = 1; seed <= 6; seed++) {
		struct lc_sampler_params sp = LC_SAMPLER_PARAMS_INIT;
		struct randlm r = {0};
		lc_lm lm = {0};
		lc_gen_opts o = {0};
		lc_buf text = LC_BUF_INIT(1 << 20);
		lc_constraint *c;
		lc_sampler *smp;
		lc_gen_stats st;
		lc_seq kv;
		lc_parsed_msg m;

		assert_int_equal(lc_constraint_new(&c, LC_CALL_HERMES, bounded), 0);
		r = (struct randlm){seed * 0x9e3779b97f4a7c15ull,
		                    (int)lc_tokenizer_n_vocab(tok),
		                    0,
		                    open,
		                    (int)n_open,
		                    lc_tokenizer_eos(tok),
		                    c};
		lm = (lc_lm){&r, r.n_vocab, 8192, randlm_eval, randlm_truncate};
		sp.temp = 1.0f;
		sp.seed = seed;
		assert_int_equal(lc_sampler_new(&smp, &sp, lm.n_vocab), 0);
		o.tok = tok;
		o.sampler = smp;
		o.constraint = c;
		o.max_tokens = 600;
		lc_seq_init(&kv);
		assert_int_equal(lc_generate(&lm, &kv, prompt, n, &o, &text, &st), 0);
		if (st.stopped_eog) {
			complete++;
			if (lc_toolcall_parse(LC_CALL_HERMES, text.data, text.len, bounded, &m))
				fail_msg("seed %d: %s: %s", (int)seed, lc_err_msg(), text.data);
			assert_int_equal(m.n_calls, 1);
			if (lc_schema_validate(lc_toolcall_schema(bounded, "shell"),
			                       m.calls[0].args))
				fail_msg("seed %d: %s: %s", (int)seed, lc_err_msg(), text.data);
			lc_parsed_msg_release(&m);
		}
		assert_true(st.n_rejected > 0);
		lc_seq_release(&kv);
		lc_buf_release(&text);
		lc_sampler_free(smp);
		lc_constraint_free(c);
	}
	/* most runs must finish their call in 600 tokens, or the test checks little */
	assert_true(complete >= 4);
	free(open);
	free(prompt);
	cJSON_Delete(bounded);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_script_is_reproduced),
	        cmocka_unit_test(test_second_turn_evaluates_only_new_tokens),
	        cmocka_unit_test(test_loop_is_cut),
	        cmocka_unit_test(test_cancel_and_context_limit),
	        cmocka_unit_test(test_random_model_calls_parse),
	};
	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, setup, teardown);
}
