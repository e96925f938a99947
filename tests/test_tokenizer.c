/*
 * Tests for runtime/tokenizer.c.
 *
 * Conformance: every case of llama.cpp's tokenizer test suite for seven
 * vocabularies ($LC_SHARED_DATA/vocab/ggml-vocab-NAME.gguf with .inp/.out;
 * the expected ids were produced by the models' Hugging Face tokenizers and
 * are what llama.cpp's tests/test-tokenizer-0 checks, without BOS and without
 * parsing special tokens). Then round trips, special-token parsing, BOS,
 * pieces, and errors on a small GGUF file written here.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "runtime/gguf.h"
#include "runtime/tokenizer.h"
#include "src/buf.h"
#include "src/err.h"
#include "src/file.h"

#define MAX_IDS 4096

static const char *vocab_path(const char *name, const char *ext, char *buf, size_t size)
{
	const char *root = getenv("LC_SHARED_DATA");

	snprintf(buf, size, "%s/vocab/ggml-vocab-%s.gguf%s", root ? root : "../shared/data", name,
	         ext);
	return buf;
}

static lc_tokenizer *load(const char *name)
{
	char path[4096];
	lc_gguf *g = NULL;
	lc_tokenizer *t = NULL;
	int rc;

	rc = lc_gguf_open(&g, vocab_path(name, "", path, sizeof(path)));
	if (rc < 0)
		print_message("# %s: %s\n", path, lc_err_msg());
	assert_int_equal(rc, 0);
	rc = lc_tokenizer_new(&t, g);
	if (rc < 0)
		print_message("# %s: %s\n", name, lc_err_msg());
	assert_int_equal(rc, 0);
	lc_gguf_free(g);
	return t;
}

struct cases {
	char *inp, *out; /* whole files */
	const char *text[256];
	size_t len[256];
	const char *expect[256]; /* lines of .out */
	size_t n;
};

/* Split as test-tokenizer-0.cpp does: separator "\n__ggml_vocab_test__\n". */
static void read_cases(const char *name, struct cases *c)
{
	static const char sep[] = "\n__ggml_vocab_test__\n";
	char path[4096];
	size_t inp_len, out_len, pos = 0, n_out = 0;
	char *line;

	memset(c, 0, sizeof(*c));
	assert_int_equal(lc_file_read(vocab_path(name, ".inp", path, sizeof(path)), 1 << 20,
	                              &c->inp, &inp_len),
	                 0);
	assert_int_equal(lc_file_read(vocab_path(name, ".out", path, sizeof(path)), 1 << 20,
	                              &c->out, &out_len),
	                 0);
	while (pos < inp_len) {
		char *next = memmem(c->inp + pos, inp_len - pos, sep, sizeof(sep) - 1);

		assert_true(c->n < 256);
		c->text[c->n] = c->inp + pos;
		if (!next) {
			c->len[c->n++] = inp_len - pos;
			break;
		}
		c->len[c->n++] = (size_t)(next - (c->inp + pos));
		pos = (size_t)(next - c->inp) + sizeof(sep) - 1;
	}
	for (line = c->out; line && *line; n_out++) {
		char *nl = strchr(line, '\n');

		assert_true(n_out < 256);
		c->expect[n_out] = line;
		if (nl)
			*nl = '\0';
		line = nl ? nl + 1 : NULL;
	}
	assert_int_equal(n_out, c->n);
}

static size_t parse_ids(const char *s, int32_t *ids, size_t max)
{
	size_t n = 0;
	char *end;

	for (;;) {
		long v;

		while (*s == ' ')
			s++;
		if (!*s)
			break;
		v = strtol(s, &end, 10);
		assert_true(end != s);
		assert_true(n < max);
		ids[n++] = (int32_t)v;
		s = end;
	}
	return n;
}

/* text on one "# " line: newlines and tabs escaped, so TAP stays readable */
static void print_text(const char *what, const char *s, size_t n)
{
	size_t i;

	print_message("#   %s '", what);
	for (i = 0; i < n; i++) {
		if (s[i] == '\n')
			print_message("\\n");
		else if (s[i] == '\r')
			print_message("\\r");
		else if (s[i] == '\t')
			print_message("\\t");
		else
			print_message("%c", s[i]);
	}
	print_message("'\n");
}

static void print_ids(const char *what, const int32_t *ids, size_t n)
{
	size_t i;

	print_message("#   %s:", what);
	for (i = 0; i < n; i++)
		print_message(" %d", (int)ids[i]);
	print_message("\n");
}

/*
 * Every case tokenizes to the expected ids; and detokenizes back to the
 * input bytes (exact mode; for SPM with the prepended space stripped).
 */
static void run_conformance(const char *name)
{
	static int32_t got[MAX_IDS], want[MAX_IDS];
	lc_tokenizer *t = load(name);
	struct cases c;
	size_t i, n_fail = 0, n_rt_fail = 0;
	unsigned flags = strcmp(lc_tokenizer_model(t), "llama") == 0 ? LC_DETOK_STRIP_SPACE : 0;

	read_cases(name, &c);
	for (i = 0; i < c.n; i++) {
		size_t n_got = 0, n_want = parse_ids(c.expect[i], want, MAX_IDS);
		lc_buf b = LC_BUF_INIT(1 << 20);
		int rc = lc_tokenize(t, c.text[i], c.len[i], 0, 0, got, MAX_IDS, &n_got);

		if (rc < 0)
			print_message("# %s case %zu: %s\n", name, i, lc_err_msg());
		assert_int_equal(rc, 0);
		if (n_got != n_want || memcmp(got, want, n_got * sizeof(*got)) != 0) {
			print_message("# %s case %zu differs\n", name, i);
			print_text("text", c.text[i], c.len[i]);
			print_ids("want", want, n_want);
			print_ids("got ", got, n_got);
			n_fail++;
		}
		assert_int_equal(lc_detokenize(t, got, n_got, flags, &b), 0);
		if (b.len != c.len[i] || (b.len && memcmp(b.data, c.text[i], b.len) != 0)) {
			print_message("# %s case %zu: round trip differs\n", name, i);
			print_text("gives", b.data ? b.data : "", b.len);
			n_rt_fail++;
		}
		lc_buf_release(&b);
	}
	assert_int_equal(c.n, 46);
	assert_int_equal(n_fail, 0);
	assert_int_equal(n_rt_fail, 0);
	free(c.inp);
	free(c.out);
	lc_tokenizer_free(t);
}

static void test_llama_bpe(void **state)
{
	run_conformance("llama-bpe");
}

static void test_qwen2(void **state)
{
	run_conformance("qwen2");
}

static void test_deepseek_coder(void **state)
{
	run_conformance("deepseek-coder");
}

static void test_deepseek_llm(void **state)
{
	run_conformance("deepseek-llm");
}

static void test_starcoder(void **state)
{
	run_conformance("starcoder");
}

static void test_gpt2(void **state)
{
	run_conformance("gpt-2");
}

static void test_llama_spm(void **state)
{
	run_conformance("llama-spm");
}

/*
 * Special-token text: one id with parse_special, ordinary text without.
 * Ids from Qwen2's tokenizer_config.json: <|im_start|> 151644, <|im_end|>
 * 151645, <|endoftext|> 151643.
 */
static void test_qwen2_special(void **state)
{
	static const char text[] = "<|im_start|>user\nhi<|im_end|>";
	lc_tokenizer *t = load("qwen2");
	int32_t ids[64];
	size_t n = 0, i;
	lc_buf b = LC_BUF_INIT(1024);

	assert_int_equal(lc_tokenizer_find(t, "<|im_start|>"), 151644);
	assert_int_equal(lc_tokenizer_find(t, "<|im_end|>"), 151645);
	assert_int_equal(lc_tokenizer_find(t, "<|no_such_token|>"), -1);
	assert_true(lc_tokenizer_is_eog(t, 151645));
	assert_true(lc_tokenizer_is_eog(t, 151643));
	assert_false(lc_tokenizer_is_eog(t, 151644));
	assert_int_equal(lc_tokenizer_eot(t), 151645);

	assert_int_equal(lc_tokenize(t, text, strlen(text), 0, 1, ids, 64, &n), 0);
	assert_true(n >= 4);
	assert_int_equal(ids[0], 151644);
	assert_int_equal(ids[n - 1], 151645);
	/* control tokens vanish without LC_DETOK_SPECIAL, and are their text with it */
	assert_int_equal(lc_detokenize(t, ids, n, 0, &b), 0);
	assert_string_equal(b.data, "user\nhi");
	lc_buf_reset(&b);
	assert_int_equal(lc_detokenize(t, ids, n, LC_DETOK_SPECIAL, &b), 0);
	assert_string_equal(b.data, text);

	assert_int_equal(lc_tokenize(t, text, strlen(text), 0, 0, ids, 64, &n), 0);
	for (i = 0; i < n; i++) {
		assert_int_not_equal(ids[i], 151644);
		assert_int_not_equal(ids[i], 151645);
	}
	lc_buf_reset(&b);
	assert_int_equal(lc_detokenize(t, ids, n, 0, &b), 0);
	assert_string_equal(b.data, text);
	lc_buf_release(&b);
	lc_tokenizer_free(t);
}

/*
 * BOS: Llama 3 asks for it (add_bos_token), <|begin_of_text|> = 128000,
 * <|eot_id|> = 128009 (Meta's tokenizer_config.json); "Hello world" is
 * 9906 1917 (the .out file).
 */
static void test_llama3_bos(void **state)
{
	lc_tokenizer *t = load("llama-bpe");
	int32_t ids[16];
	size_t n = 0;

	assert_int_equal(lc_tokenizer_bos(t), 128000);
	assert_int_equal(lc_tokenizer_add_bos(t), 1);
	assert_int_equal(lc_tokenizer_eot(t), 128009);
	assert_true(lc_tokenizer_is_eog(t, 128009));
	assert_int_equal(lc_tokenize(t, "Hello world", 11, 1, 0, ids, 16, &n), 0);
	assert_int_equal(n, 3);
	assert_int_equal(ids[0], 128000);
	assert_int_equal(ids[1], 9906);
	assert_int_equal(ids[2], 1917);
	assert_int_equal(lc_tokenize(t, "Hello world", 11, 0, 0, ids, 16, &n), 0);
	assert_int_equal(n, 2);
	/* text spelling BOS is one id only when special tokens are parsed */
	assert_int_equal(lc_tokenize(t, "<|begin_of_text|>Hello", 22, 0, 1, ids, 16, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(ids[0], 128000);
	assert_int_equal(ids[1], 9906);
	assert_int_equal(lc_tokenize(t, "<|begin_of_text|>Hello", 22, 0, 0, ids, 16, &n), 0);
	assert_true(n > 2);
	lc_tokenizer_free(t);
}

/*
 * SPM: BOS 1 in front, the leading space, byte fallback. Ids of Llama 2's
 * tokenizer.model: "<s>" 1, "</s>" 2, "<0x0A>" 13 ("\n"), "▁Hello" 15043.
 */
static void test_spm(void **state)
{
	lc_tokenizer *t = load("llama-spm");
	int32_t ids[16];
	size_t n = 0, len = 0;
	const char *p;
	lc_buf b = LC_BUF_INIT(1024);

	assert_int_equal(lc_tokenizer_bos(t), 1);
	assert_int_equal(lc_tokenizer_eos(t), 2);
	assert_true(lc_tokenizer_is_eog(t, 2));
	assert_int_equal(lc_tokenize(t, "Hello", 5, 1, 0, ids, 16, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(ids[0], 1);
	assert_int_equal(ids[1], 15043);
	/* an empty text with BOS asked for is BOS alone, without: nothing */
	assert_int_equal(lc_tokenize(t, "", 0, 1, 0, ids, 16, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(lc_tokenize(t, "", 0, 0, 0, ids, 16, &n), 0);
	assert_int_equal(n, 0);

	p = lc_token_piece(t, 13, &len);
	assert_int_equal(len, 1);
	assert_int_equal(p[0], '\n');
	p = lc_token_piece(t, 15043, &len);
	assert_int_equal(len, 6);
	assert_memory_equal(p, " Hello", 6);
	assert_int_equal(lc_tokenizer_token_type(t, 13), LC_TOKEN_TYPE_BYTE);
	assert_int_equal(lc_tokenizer_token_type(t, 1), LC_TOKEN_TYPE_CONTROL);

	/* leading space: kept in exact mode, dropped with LC_DETOK_STRIP_SPACE */
	ids[0] = 15043;
	assert_int_equal(lc_detokenize(t, ids, 1, 0, &b), 0);
	assert_string_equal(b.data, " Hello");
	lc_buf_reset(&b);
	assert_int_equal(lc_detokenize(t, ids, 1, LC_DETOK_STRIP_SPACE, &b), 0);
	assert_string_equal(b.data, "Hello");
	lc_buf_release(&b);
	lc_tokenizer_free(t);
}

/* GPT-2 bytes_to_unicode: byte 0x20 is U+0120 "Ġ", byte 0x0A is U+010A "Ċ". */
static void test_byte_level_pieces(void **state)
{
	lc_tokenizer *t = load("gpt-2");
	int32_t id_space = lc_tokenizer_find(t, "\xc4\xa0"),
	        id_nl = lc_tokenizer_find(t, "\xc4\x8a");
	int32_t ids[16], ids2[16];
	size_t len = 0, n = 0, n2 = 0;
	const char *p;

	assert_true(id_space >= 0);
	assert_true(id_nl >= 0);
	p = lc_token_piece(t, id_space, &len);
	assert_int_equal(len, 1);
	assert_int_equal(p[0], ' ');
	p = lc_token_piece(t, id_nl, &len);
	assert_int_equal(len, 1);
	assert_int_equal(p[0], '\n');
	assert_null(lc_token_piece(t, -1, &len));
	assert_null(lc_token_piece(t, (int32_t)lc_tokenizer_n_vocab(t), &len));
	/* a byte that is no UTF-8 is read as U+FFFD, as llama.cpp reads it */
	assert_int_equal(lc_tokenize(t, "a\xff", 2, 0, 0, ids, 16, &n), 0);
	assert_int_equal(lc_tokenize(t, "a\xef\xbf\xbd", 4, 0, 0, ids2, 16, &n2), 0);
	assert_int_equal(n, n2);
	assert_memory_equal(ids, ids2, n * sizeof(*ids));
	lc_tokenizer_free(t);
}

static void test_too_many_ids(void **state)
{
	lc_tokenizer *t = load("gpt-2");
	int32_t ids[2], *all = NULL;
	size_t n = 99;

	lc_err_clear();
	assert_int_equal(lc_tokenize(t, "one two three four", 18, 0, 0, ids, 2, &n), LC_ETOOBIG);
	assert_int_equal(n, 99);
	lc_err_clear();
	assert_int_equal(lc_tokenize_alloc(t, "one two three four", 18, 0, 0, 4, &all, &n), 0);
	assert_int_equal(n, 4);
	free(all);
	assert_int_equal(lc_tokenize_alloc(t, "one two three four", 18, 0, 0, 3, &all, &n),
	                 LC_ETOOBIG);
	lc_err_clear();
	lc_tokenizer_free(t);
}

/* --- a small GGUF, written here (GGUF v3, docs/gguf.md) --- */

static void put(lc_buf *b, const void *p, size_t n)
{
	assert_int_equal(lc_buf_add(b, p, n), 0);
}

static void put_u32(lc_buf *b, uint32_t v)
{
	put(b, &v, 4); /* little-endian host */
}

static void put_u64(lc_buf *b, uint64_t v)
{
	put(b, &v, 8);
}

static void put_str(lc_buf *b, const char *s)
{
	put_u64(b, strlen(s));
	put(b, s, strlen(s));
}

static void put_kv_str(lc_buf *b, const char *key, const char *val)
{
	put_str(b, key);
	put_u32(b, 8); /* STRING */
	put_str(b, val);
}

static void put_kv_strs(lc_buf *b, const char *key, const char *const *vals, size_t n)
{
	size_t i;

	put_str(b, key);
	put_u32(b, 9); /* ARRAY */
	put_u32(b, 8); /* of STRING */
	put_u64(b, n);
	for (i = 0; i < n; i++)
		put_str(b, vals[i]);
}

static int tokenizer_from_meta(const char *model, const char *pre, lc_buf *file)
{
	static const char *const tokens[] = {"a", "b", "ab"};
	static const char *const merges[] = {"a b"};
	lc_gguf *g = NULL;
	lc_tokenizer *t = NULL;
	int rc;

	put(file, "GGUF", 4);
	put_u32(file, 3);
	put_u64(file, 0); /* tensors */
	put_u64(file, 4); /* metadata */
	put_kv_str(file, "tokenizer.ggml.model", model);
	put_kv_str(file, "tokenizer.ggml.pre", pre);
	put_kv_strs(file, "tokenizer.ggml.tokens", tokens, 3);
	put_kv_strs(file, "tokenizer.ggml.merges", merges, 1);
	while (file->len % 32)
		put(file, "", 1);
	rc = lc_gguf_open_memory(&g, file->data, file->len);
	if (rc < 0)
		print_message("# gguf: %s\n", lc_err_msg());
	assert_int_equal(rc, 0);
	rc = lc_tokenizer_new(&t, g);
	if (rc == 0) {
		int32_t ids[4];
		size_t n = 0;

		/* "ab" merges to the one token "ab" (id 2) */
		assert_int_equal(lc_tokenize(t, "ab", 2, 0, 0, ids, 4, &n), 0);
		assert_int_equal(n, 1);
		assert_int_equal(ids[0], 2);
	}
	lc_tokenizer_free(t);
	lc_gguf_free(g);
	return rc;
}

static void test_unsupported(void **state)
{
	lc_buf f = LC_BUF_INIT(1 << 16);

	lc_err_clear();
	assert_int_equal(tokenizer_from_meta("gpt2", "no-such-pre", &f), LC_EUNSUPPORTED);
	assert_non_null(strstr(lc_err_msg(), "'no-such-pre'"));
	assert_non_null(strstr(lc_err_msg(), "pre-tokenizer"));
	lc_err_clear();
	lc_buf_reset(&f);
	assert_int_equal(tokenizer_from_meta("bert", "default", &f), LC_EUNSUPPORTED);
	assert_non_null(strstr(lc_err_msg(), "'bert'"));
	lc_err_clear();
	lc_buf_reset(&f);
	assert_int_equal(tokenizer_from_meta("gpt2", "qwen2", &f), 0);
	lc_buf_release(&f);
}

/* The same tokenizer from plain arrays; a duplicate token is refused. */
static void test_from_arrays(void **state)
{
	lc_tokenizer_str tokens[3] = {{"a", 1}, {"b", 1}, {"a", 1}};
	lc_tokenizer_str merges[1] = {{"a b", 3}};
	lc_tokenizer_vocab v = LC_TOKENIZER_VOCAB_INIT;
	lc_tokenizer *t = NULL;

	v.model = "gpt2";
	v.pre = "gpt-2";
	v.n_tokens = 3;
	v.tokens = tokens;
	v.n_merges = 1;
	v.merges = merges;
	lc_err_clear();
	assert_int_equal(lc_tokenizer_new_vocab(&t, &v), LC_EPARSE);
	assert_non_null(strstr(lc_err_msg(), "duplicate"));
	lc_err_clear();
	tokens[2].data = "ab";
	tokens[2].len = 2;
	assert_int_equal(lc_tokenizer_new_vocab(&t, &v), 0);
	assert_int_equal(lc_tokenizer_find(t, "ab"), 2);
	assert_string_equal(lc_tokenizer_pre(t), "gpt-2");
	lc_tokenizer_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_llama_bpe),         cmocka_unit_test(test_qwen2),
	        cmocka_unit_test(test_deepseek_coder),    cmocka_unit_test(test_deepseek_llm),
	        cmocka_unit_test(test_starcoder),         cmocka_unit_test(test_gpt2),
	        cmocka_unit_test(test_llama_spm),         cmocka_unit_test(test_qwen2_special),
	        cmocka_unit_test(test_llama3_bos),        cmocka_unit_test(test_spm),
	        cmocka_unit_test(test_byte_level_pieces), cmocka_unit_test(test_too_many_ids),
	        cmocka_unit_test(test_unsupported),       cmocka_unit_test(test_from_arrays),
	};
	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
