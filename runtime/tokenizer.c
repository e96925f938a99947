/*
 * tokenizer.c - byte-level BPE (gpt2) and SentencePiece BPE (llama)
 * tokenizers, exact to llama.cpp.
 *
 * Sources: llama.cpp src/llama-vocab.cpp (load, special-token partition,
 * the BPE and SPM sessions, token_to_piece, detokenize) and src/unicode.cpp
 * (the pre-tokenizer: each regex of a sequence splits every piece the
 * previous one left into matches and the gaps between them). The regexes
 * are the pre-tokenizers of the models' tokenizer.json files as llama.cpp
 * lists them, run here by PCRE2 with Unicode properties.
 */
#define PCRE2_CODE_UNIT_WIDTH 8

#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/tokenizer.h"
#include "src/err.h"
#include "src/banned.h"

/* Token attributes, llama.cpp's llama_token_attr bits. */
enum {
	ATTR_UNDEFINED = 0,
	ATTR_UNKNOWN = 1 << 0,
	ATTR_UNUSED = 1 << 1,
	ATTR_NORMAL = 1 << 2,
	ATTR_CONTROL = 1 << 3,
	ATTR_USER_DEFINED = 1 << 4,
	ATTR_BYTE = 1 << 5
};

enum kind { KIND_BPE, KIND_SPM };

#define MAX_REGEX 8

/* Longest token text accepted, bytes: far above any real vocabulary. */
#define MAX_TOKEN_LEN (1u << 16)

/* --- pre-tokenizers ---------------------------------------------------- */

/* GPT-2's pattern; the closing "|\s+" of tokenizer.json is left out as in
 * llama.cpp: the gaps between matches become pieces of their own anyway. */
#define RE_GPT2 "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)"

/* Llama 3's pattern with (?i:...) spelled out, as llama.cpp adapts it. */
#define RE_LLAMA3                                                                                  \
	"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|" \
	"\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"

#define RE_QWEN2                                                                                   \
	"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|" \
	"\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"

#define RE_SEED_CODER                                                                              \
	"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|" \
	"\\p{N}{1}| ?[^\\s\\p{L}\\p{N}\\r\\n]+|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"

/* CJK ideographs, everything from U+0800 to U+4E00, Hangul. */
#define RE_DEEPSEEK_CJK "[\\x{4E00}-\\x{9FA5}\\x{800}-\\x{4E00}\\x{AC00}-\\x{D7FF}]+"

static const char *const re_default[] = {"[\\p{P}\\$\\+<=>\\^~\\|]+", RE_GPT2, "\\p{N}+",
                                         "[0-9][0-9][0-9]", NULL};
static const char *const re_gpt2[] = {RE_GPT2, NULL};
static const char *const re_llama3[] = {RE_LLAMA3, NULL};
static const char *const re_qwen2[] = {RE_QWEN2, NULL};
static const char *const re_seed_coder[] = {RE_SEED_CODER, NULL};
static const char *const re_starcoder[] = {"\\p{N}", RE_GPT2, NULL};
static const char *const re_deepseek_coder[] = {"[\r\n]",        "\\s?\\p{L}+", "\\s?\\p{P}+",
                                                RE_DEEPSEEK_CJK, "\\p{N}",      NULL};
/* DeepSeek LLM: Latin, Greek, Cyrillic, Armenian, Georgian, Cherokee... letters spelled out. */
static const char *const re_deepseek_llm[] = {
        "[\r\n]",
        "\\s?[A-Za-z\\x{B5}\\x{C0}-\\x{D6}\\x{D8}-\\x{F6}\\x{F8}-\\x{1BA}\\x{1BC}-\\x{1BF}"
        "\\x{1C4}-\\x{293}\\x{295}-\\x{2AF}\\x{370}-\\x{373}\\x{376}\\x{377}\\x{37B}-\\x{37D}"
        "\\x{37F}\\x{386}\\x{388}-\\x{38A}\\x{38C}\\x{38E}-\\x{3A1}\\x{3A3}-\\x{3F5}"
        "\\x{3F7}-\\x{481}\\x{48A}-\\x{52F}\\x{531}-\\x{556}\\x{10A0}-\\x{10C5}"
        "\\x{13A0}-\\x{13F5}\\x{13F8}-\\x{13FD}\\x{1C90}-\\x{1CBA}\\x{1CBD}-\\x{1CBF}"
        "\\x{1D00}-\\x{1D2B}\\x{1D6B}-\\x{1D77}\\x{1D79}-\\x{1D9A}\\x{1E00}-\\x{1F15}"
        "\\x{1F18}-\\x{1F1D}\\x{1F20}-\\x{1F45}\\x{1F48}-\\x{1F4D}\\x{1F50}-\\x{1F57}\\x{1F59}"
        "\\x{1F5B}\\x{1F5D}\\x{1F5F}-\\x{1F7D}\\x{1F80}-\\x{1FB4}\\x{1FB6}-\\x{1FBC}\\x{1FBE}"
        "\\x{1FC2}-\\x{1FC4}\\x{1FC6}-\\x{1FCC}\\x{1FD0}-\\x{1FD3}\\x{1FD6}-\\x{1FDB}"
        "\\x{1FE0}-\\x{1FEC}\\x{1FF2}-\\x{1FF4}\\x{1FF6}-\\x{1FFC}\\x{2102}\\x{2107}"
        "\\x{210A}-\\x{2113}\\x{2115}\\x{2119}-\\x{211D}\\x{2124}\\x{2126}\\x{2128}"
        "\\x{212A}-\\x{212D}\\x{212F}-\\x{2134}\\x{2139}\\x{213C}-\\x{213F}\\x{2145}-\\x{2149}"
        "\\x{214E}\\x{2183}\\x{2184}\\x{2C00}-\\x{2C7B}\\x{2C7E}-\\x{2CE4}\\x{2CEB}-\\x{2CEE}"
        "\\x{2CF2}\\x{2CF3}\\x{A640}-\\x{A66D}\\x{A680}-\\x{A69B}\\x{A722}-\\x{A76F}"
        "\\x{A771}-\\x{A787}\\x{A78B}-\\x{A78E}\\x{AB70}-\\x{ABBF}\\x{FB00}-\\x{FB06}"
        "\\x{FB13}-\\x{FB17}\\x{FF21}-\\x{FF3A}\\x{FF41}-\\x{FF5A}\\x{10400}-\\x{1044F}"
        "\\x{104B0}-\\x{104D3}\\x{104D8}-\\x{104FB}\\x{10C80}-\\x{10CB2}\\x{10CC0}-\\x{10CF2}"
        "\\x{118A0}-\\x{118DF}\\x{1E900}-\\x{1E943}]+",
        "\\s?[!-/:-~\\x{FF01}-\\x{FF0F}\\x{FF1A}-\\x{FF5E}\\x{2018}-\\x{201F}\\x{3000}-\\x{3002}]+",
        "\\s+$",
        RE_DEEPSEEK_CJK,
        "\\p{N}+",
        NULL};

struct pre_def {
	const char *name;
	const char *const *regexes;
	unsigned char clean_spaces;  /* detokenize: HF clean_up_tokenization_spaces */
	unsigned char ignore_merges; /* a piece that is a whole token skips the merges */
	unsigned char add_bos;       /* default of add_bos_token */
	unsigned char no_bos;        /* no default BOS id */
};

/* Names and settings as llama.cpp's llama_vocab::impl::load gives them. */
static const struct pre_def pre_defs[] = {
        {"default", re_default, 1, 0, 0, 0},
        {"llama3", re_llama3, 1, 1, 1, 0},
        {"llama-v3", re_llama3, 1, 1, 1, 0},
        {"llama-bpe", re_llama3, 1, 1, 1, 0},
        {"falcon3", re_llama3, 1, 1, 1, 0},
        {"falcon-h1", re_llama3, 1, 1, 1, 0},
        {"pixtral", re_llama3, 1, 1, 1, 0},
        {"midm-2.0", re_llama3, 1, 1, 1, 0},
        {"lfm2", re_llama3, 1, 1, 1, 0},
        {"dbrx", re_llama3, 1, 0, 0, 0},
        {"smaug-bpe", re_llama3, 1, 0, 0, 0},
        {"glm4", re_llama3, 1, 0, 0, 1},
        {"chatglm-bpe", re_llama3, 1, 0, 0, 1},
        {"deepseek-llm", re_deepseek_llm, 0, 0, 0, 0},
        {"deepseek-coder", re_deepseek_coder, 0, 0, 0, 0},
        {"starcoder", re_starcoder, 1, 0, 0, 0},
        {"refact", re_starcoder, 1, 0, 0, 0},
        {"command-r", re_starcoder, 0, 0, 0, 0},
        {"smollm", re_starcoder, 0, 0, 0, 0},
        {"codeshell", re_starcoder, 1, 0, 0, 0},
        {"exaone", re_starcoder, 1, 0, 0, 0},
        {"minerva-7b", re_starcoder, 1, 0, 0, 0},
        {"gpt-2", re_gpt2, 1, 0, 0, 0},
        {"phi-2", re_gpt2, 1, 0, 0, 0},
        {"jina-es", re_gpt2, 1, 0, 0, 0},
        {"jina-de", re_gpt2, 1, 0, 0, 0},
        {"gigachat", re_gpt2, 1, 0, 0, 0},
        {"jina-v2-es", re_gpt2, 1, 0, 0, 0},
        {"jina-v2-de", re_gpt2, 1, 0, 0, 0},
        {"mpt", re_gpt2, 1, 0, 0, 0},
        {"olmo", re_gpt2, 1, 0, 0, 0},
        {"jais", re_gpt2, 1, 0, 0, 0},
        {"exaone4", re_gpt2, 1, 0, 0, 0},
        {"mellum", re_gpt2, 1, 0, 0, 0},
        {"trillion", re_gpt2, 0, 0, 0, 0},
        {"granite-docling", re_gpt2, 0, 0, 0, 0},
        {"qwen2", re_qwen2, 0, 0, 0, 0},
        {"deepseek-r1-qwen", re_qwen2, 0, 0, 0, 0},
        {"kormo", re_qwen2, 0, 0, 0, 0},
        {"megrez", re_qwen2, 1, 0, 0, 0},
        {"stablelm2", re_qwen2, 1, 0, 0, 0},
        {"hunyuan", re_qwen2, 0, 0, 0, 0},
        {"seed-coder", re_seed_coder, 0, 0, 0, 0},
};

/* --- the tokenizer ----------------------------------------------------- */

struct lc_tokenizer {
	enum kind kind;
	const struct pre_def *pre; /* BPE only */
	uint32_t n_vocab;

	char *text;        /* every token's text, each NUL-terminated */
	uint32_t *tok_off; /* [n_vocab] offset of a token's text in text */
	uint32_t *tok_len; /* [n_vocab] its length */
	float *score;      /* [n_vocab] */
	uint8_t *attr;     /* [n_vocab] ATTR_* */
	uint8_t *eog;      /* [n_vocab] 1 when the token ends generation */
	uint32_t *tok_map; /* open addressing, text -> id + 1 (0: empty) */
	size_t tok_mask;

	char *merge_text;     /* every merge "left right", NUL-terminated */
	uint32_t *merge_off;  /* [n_merges] */
	uint32_t *merge_left; /* [n_merges] length of the left part */
	uint32_t *merge_len;  /* [n_merges] length of "left right" */
	uint32_t n_merges;
	uint32_t *merge_map; /* (left, right) -> rank + 1 */
	size_t merge_mask;

	char *piece;       /* every token's piece (detokenized bytes) */
	size_t *piece_off; /* [n_vocab + 1] */
	int32_t *special;  /* control, user-defined, unknown tokens: longest first */
	uint32_t n_special;

	int32_t bos, eos, eot, eom, unk;
	int add_bos, add_eos, add_space_prefix, clean_spaces, ignore_merges;

	pcre2_code *re[MAX_REGEX];
	int n_re;

	char byte_enc[256][3]; /* GPT-2 bytes_to_unicode, as UTF-8 */
	uint8_t byte_enc_len[256];
	int16_t byte_dec[512]; /* code point -> byte, -1 when none */
};

/* --- small helpers ----------------------------------------------------- */

/* FNV-1a, 64 bits, in steps so a pair of strings hashes without a copy. */
#define FNV_INIT 1469598103934665603ull

static uint64_t fnv(uint64_t h, const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		h ^= (unsigned char)s[i];
		h *= 1099511628211ull;
	}
	return h;
}

/* A capacity for need elements of elem bytes, doubling from have; 0 on overflow. */
static size_t next_cap(size_t have, size_t need, size_t elem)
{
	size_t cap = have ? have : 16;

	while (cap < need) {
		if (cap > SIZE_MAX / 2)
			return 0;
		cap *= 2;
	}
	if (cap > SIZE_MAX / elem)
		return 0;
	return cap;
}

/* Grow array x (alloc elements) to hold need; on failure set rc and goto fail. */
#define GROW(x, alloc, need)                                                                       \
	do {                                                                                       \
		if ((need) > (alloc)) {                                                            \
			size_t ncap_ = next_cap((alloc), (need), sizeof(*(x)));                    \
			void *np_ = ncap_ ? realloc((x), ncap_ * sizeof(*(x))) : NULL;             \
			if (!np_) {                                                                \
				rc = lc_err_set(LC_ENOMEM, "tokenizer: out of memory");            \
				goto fail;                                                         \
			}                                                                          \
			(x) = np_;                                                                 \
			(alloc) = ncap_;                                                           \
		}                                                                                  \
	} while (0)

/* Bytes of the UTF-8 sequence a lead byte starts (llama.cpp's unicode_len_utf8). */
static size_t utf8_len(unsigned char c)
{
	static const uint8_t lookup[16] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4};

	return lookup[c >> 4];
}

/*
 * Decode one code point at s[*pos] (n bytes in all) the way llama.cpp's
 * unicode_cpts_from_utf8 does: lead and continuation bits are checked, the
 * value is not (overlong forms and surrogates pass); a bad sequence gives
 * U+FFFD and moves one byte.
 */
static uint32_t utf8_decode(const unsigned char *s, size_t n, size_t *pos)
{
	size_t i = *pos;
	unsigned c = s[i];
	uint32_t cp;

	if (!(c & 0x80)) {
		*pos = i + 1;
		return c;
	}
	if (!(c & 0x40))
		goto bad;
	if (!(c & 0x20)) {
		if (i + 1 >= n || (s[i + 1] & 0xc0) != 0x80)
			goto bad;
		*pos = i + 2;
		return ((c & 0x1fu) << 6) | (s[i + 1] & 0x3fu);
	}
	if (!(c & 0x10)) {
		if (i + 2 >= n || (s[i + 1] & 0xc0) != 0x80 || (s[i + 2] & 0xc0) != 0x80)
			goto bad;
		*pos = i + 3;
		return ((c & 0x0fu) << 12) | ((s[i + 1] & 0x3fu) << 6) | (s[i + 2] & 0x3fu);
	}
	if (!(c & 0x08)) {
		if (i + 3 >= n || (s[i + 1] & 0xc0) != 0x80 || (s[i + 2] & 0xc0) != 0x80 ||
		    (s[i + 3] & 0xc0) != 0x80)
			goto bad;
		cp = ((c & 0x07u) << 18) | ((s[i + 1] & 0x3fu) << 12) | ((s[i + 2] & 0x3fu) << 6) |
		     (s[i + 3] & 0x3fu);
		if (cp > 0x10ffff)
			goto bad; /* llama.cpp cannot encode these again */
		*pos = i + 4;
		return cp;
	}
bad:
	*pos = i + 1;
	return 0xfffd;
}

/* Encode cp (<= 0x10FFFF) into out[4]; returns the length. */
static size_t utf8_encode(uint32_t cp, char *out)
{
	if (cp <= 0x7f) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp <= 0x7ff) {
		out[0] = (char)(0xc0 | (cp >> 6));
		out[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp <= 0xffff) {
		out[0] = (char)(0xe0 | (cp >> 12));
		out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		out[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | (cp >> 18));
	out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	out[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* --- lookups ----------------------------------------------------------- */

int32_t lc_tokenizer_find_n(const lc_tokenizer *t, const char *s, size_t n)
{
	size_t i;

	if (!t || !s)
		return -1;
	i = (size_t)fnv(FNV_INIT, s, n) & t->tok_mask;
	for (;; i = (i + 1) & t->tok_mask) {
		uint32_t v = t->tok_map[i];
		uint32_t id;

		if (v == 0)
			return -1;
		id = v - 1;
		if (t->tok_len[id] == n && memcmp(t->text + t->tok_off[id], s, n) == 0)
			return (int32_t)id;
	}
}

int32_t lc_tokenizer_find(const lc_tokenizer *t, const char *text)
{
	return text ? lc_tokenizer_find_n(t, text, strlen(text)) : -1;
}

static uint64_t pair_hash(const char *l, size_t nl, const char *r, size_t nr)
{
	static const char sep = '\x01';

	return fnv(fnv(fnv(FNV_INIT, l, nl), &sep, 1), r, nr);
}

/* Rank of merging l and r, -1 when no merge joins them. */
static int64_t merge_rank(const lc_tokenizer *t, const char *l, size_t nl, const char *r, size_t nr)
{
	size_t i;

	if (!t->n_merges)
		return -1;
	i = (size_t)pair_hash(l, nl, r, nr) & t->merge_mask;
	for (;; i = (i + 1) & t->merge_mask) {
		uint32_t v = t->merge_map[i];
		const char *m;

		if (v == 0)
			return -1;
		m = t->merge_text + t->merge_off[v - 1];
		if (t->merge_left[v - 1] == nl && t->merge_len[v - 1] == nl + 1 + nr &&
		    memcmp(m, l, nl) == 0 && memcmp(m + nl + 1, r, nr) == 0)
			return (int64_t)(v - 1);
	}
}

/* --- tokenize: scratch ------------------------------------------------- */

struct part {
	size_t off, len; /* into the caller's text */
	int32_t id;      /* -1: raw text; else a special token */
};

struct span {
	size_t start, len; /* code points */
};

struct sym {
	int prev, next;
	size_t off, n; /* bytes into the word */
};

struct bigram {
	double key; /* smaller first: BPE rank, or SPM -score */
	int left, right;
	size_t size;
};

struct sess {
	const lc_tokenizer *t;
	int32_t *ids;
	size_t n_ids, max_ids, ids_alloc;
	int grow_ids; /* ids is ours to grow */

	struct part *parts, *parts2;
	size_t parts_alloc, parts2_alloc;
	uint32_t *cpts;
	size_t cpts_alloc;
	char *utf; /* the text as valid UTF-8, one code point per input code point */
	size_t utf_alloc;
	uint32_t *cp_at; /* byte offset in utf -> code point index */
	size_t cp_at_alloc;
	size_t *boff; /* code point index -> byte offset in utf */
	size_t boff_alloc;
	struct span *spans, *spans2;
	size_t spans_alloc, spans2_alloc;
	char *word;
	size_t word_alloc;
	struct sym *syms;
	size_t syms_alloc;
	struct bigram *heap;
	size_t heap_n, heap_alloc;

	pcre2_match_data *md[MAX_REGEX];
	pcre2_match_context *mctx;
	pcre2_jit_stack *jit_stack;
};

static void sess_release(struct sess *s)
{
	int i;

	free(s->parts);
	free(s->parts2);
	free(s->cpts);
	free(s->utf);
	free(s->cp_at);
	free(s->boff);
	free(s->spans);
	free(s->spans2);
	free(s->word);
	free(s->syms);
	free(s->heap);
	for (i = 0; i < MAX_REGEX; i++)
		pcre2_match_data_free(s->md[i]);
	pcre2_match_context_free(s->mctx);
	pcre2_jit_stack_free(s->jit_stack);
}

static int push_id(struct sess *s, int32_t id)
{
	int rc = 0;

	if (s->n_ids >= s->max_ids)
		return lc_err_set(LC_ETOOBIG, "tokenizer: more than %zu tokens", s->max_ids);
	if (s->grow_ids)
		GROW(s->ids, s->ids_alloc, s->n_ids + 1);
	s->ids[s->n_ids++] = id;
fail:
	return rc;
}

static int heap_before(const struct bigram *a, const struct bigram *b)
{
	return a->key < b->key || (a->key == b->key && a->left < b->left);
}

static int heap_push(struct sess *s, const struct bigram *b)
{
	size_t i;
	int rc = 0;

	GROW(s->heap, s->heap_alloc, s->heap_n + 1);
	i = s->heap_n++;
	while (i > 0) {
		size_t p = (i - 1) / 2;

		if (!heap_before(b, &s->heap[p]))
			break;
		s->heap[i] = s->heap[p];
		i = p;
	}
	s->heap[i] = *b;
fail:
	return rc;
}

static struct bigram heap_pop(struct sess *s)
{
	struct bigram top = s->heap[0], last = s->heap[--s->heap_n];
	size_t i = 0, n = s->heap_n;

	for (;;) {
		size_t c = 2 * i + 1;

		if (c >= n)
			break;
		if (c + 1 < n && heap_before(&s->heap[c + 1], &s->heap[c]))
			c++;
		if (!heap_before(&s->heap[c], &last))
			break;
		s->heap[i] = s->heap[c];
		i = c;
	}
	if (n)
		s->heap[i] = last;
	return top;
}

/* Split word[0..n) into UTF-8 characters, chained. */
static int split_syms(struct sess *s, const char *w, size_t n, size_t *n_syms)
{
	size_t off = 0, k = 0;
	int rc = 0;

	while (off < n) {
		size_t cl = utf8_len((unsigned char)w[off]);

		if (cl > n - off)
			cl = n - off;
		GROW(s->syms, s->syms_alloc, k + 1);
		s->syms[k].off = off;
		s->syms[k].n = cl;
		s->syms[k].prev = (int)k - 1;
		off += cl;
		s->syms[k].next = off == n ? -1 : (int)k + 1;
		k++;
	}
	*n_syms = k;
fail:
	return rc;
}

/* Merge the right symbol of b into its left one. */
static void merge_syms(struct sess *s, const struct bigram *b)
{
	struct sym *l = &s->syms[b->left], *r = &s->syms[b->right];

	l->n += r->n;
	r->n = 0;
	l->next = r->next;
	if (r->next >= 0)
		s->syms[r->next].prev = b->left;
}

/* --- BPE --------------------------------------------------------------- */

static int bpe_add(struct sess *s, const char *w, int left, int right)
{
	const struct sym *l, *r;
	struct bigram b;
	int64_t rank;

	if (left < 0 || right < 0)
		return 0;
	l = &s->syms[left];
	r = &s->syms[right];
	rank = merge_rank(s->t, w + l->off, l->n, w + r->off, r->n);
	if (rank < 0)
		return 0;
	b.key = (double)rank;
	b.left = left;
	b.right = right;
	b.size = l->n + r->n;
	return heap_push(s, &b);
}

/* One pre-tokenized piece, already byte-encoded, through the merges. */
static int bpe_word(struct sess *s, const char *w, size_t n)
{
	const lc_tokenizer *t = s->t;
	size_t n_syms, i;
	int32_t id;
	int rc, k;

	if (t->ignore_merges && (id = lc_tokenizer_find_n(t, w, n)) >= 0)
		return push_id(s, id);
	if ((rc = split_syms(s, w, n, &n_syms)) < 0)
		return rc;
	s->heap_n = 0;
	for (i = 1; i < n_syms; i++)
		if ((rc = bpe_add(s, w, (int)i - 1, (int)i)) < 0)
			return rc;
	while (s->heap_n) {
		struct bigram b = heap_pop(s);
		const struct sym *l = &s->syms[b.left], *r = &s->syms[b.right];

		/* Outdated: one side has been merged into something else since. */
		if (l->n == 0 || r->n == 0 || l->n + r->n != b.size)
			continue;
		merge_syms(s, &b);
		if ((rc = bpe_add(s, w, s->syms[b.left].prev, b.left)) < 0 ||
		    (rc = bpe_add(s, w, b.left, s->syms[b.left].next)) < 0)
			return rc;
	}
	for (k = n_syms ? 0 : -1; k != -1; k = s->syms[k].next) {
		const struct sym *y = &s->syms[k];

		id = lc_tokenizer_find_n(t, w + y->off, y->n);
		if (id >= 0) {
			if ((rc = push_id(s, id)) < 0)
				return rc;
			continue;
		}
		/* Not in the vocabulary: its single bytes, those that are tokens. */
		for (i = 0; i < y->n; i++) {
			id = lc_tokenizer_find_n(t, w + y->off + i, 1);
			if (id >= 0 && (rc = push_id(s, id)) < 0)
				return rc;
		}
	}
	return 0;
}

/*
 * Split span sp of the text with regex r: matches and the gaps between them
 * both become spans (llama.cpp's unicode_regex_split_stl).
 */
static int regex_split(struct sess *s, int r, const struct span *sp, size_t *n_out)
{
	const char *subj = s->utf + s->boff[sp->start];
	size_t sub_len = s->boff[sp->start + sp->len] - s->boff[sp->start];
	size_t base = s->boff[sp->start];
	size_t pos = 0, prev = 0, n = *n_out;
	int rc = 0;

	while (pos <= sub_len) {
		PCRE2_SIZE *ov;
		size_t ms, me;
		int m = pcre2_match(s->t->re[r], (PCRE2_SPTR)subj, sub_len, pos, PCRE2_NO_UTF_CHECK,
		                    s->md[r], s->mctx);

		if (m == PCRE2_ERROR_NOMATCH)
			break;
		if (m < 0) {
			PCRE2_UCHAR msg[120];

			pcre2_get_error_message(m, msg, sizeof(msg));
			rc = lc_err_set(LC_ERROR, "tokenizer: pre-tokenizer regex failed: %s",
			                (const char *)msg);
			goto fail;
		}
		ov = pcre2_get_ovector_pointer(s->md[r]);
		ms = ov[0];
		me = ov[1];
		if (me <= ms) {
			/* An empty match splits nothing: step over one character. */
			if (me >= sub_len)
				break;
			pos = me + utf8_len((unsigned char)subj[me]);
			continue;
		}
		GROW(s->spans2, s->spans2_alloc, n + 2);
		if (ms > prev) {
			s->spans2[n].start = s->cp_at[base + prev];
			s->spans2[n].len = s->cp_at[base + ms] - s->cp_at[base + prev];
			n++;
		}
		s->spans2[n].start = s->cp_at[base + ms];
		s->spans2[n].len = s->cp_at[base + me] - s->cp_at[base + ms];
		n++;
		prev = pos = me;
	}
	if (prev < sub_len) {
		GROW(s->spans2, s->spans2_alloc, n + 1);
		s->spans2[n].start = s->cp_at[base + prev];
		s->spans2[n].len = s->cp_at[base + sub_len] - s->cp_at[base + prev];
		n++;
	}
	*n_out = n;
fail:
	return rc;
}

/* Raw text through the pre-tokenizer, byte encoding and merges. */
static int bpe_fragment(struct sess *s, const char *text, size_t len)
{
	const lc_tokenizer *t = s->t;
	const unsigned char *u = (const unsigned char *)text;
	size_t n_cp = 0, pos = 0, ub = 0, n_spans, i, j;
	int rc = 0, r;

	/* Code points, and the text again as valid UTF-8 for PCRE2 (surrogates,
	 * which llama.cpp lets through, are matched as U+FFFD). */
	GROW(s->cpts, s->cpts_alloc, len + 1);
	GROW(s->boff, s->boff_alloc, len + 1);
	GROW(s->utf, s->utf_alloc, len * 3 + 4);
	while (pos < len) {
		uint32_t cp = utf8_decode(u, len, &pos);
		uint32_t safe = (cp >= 0xd800 && cp <= 0xdfff) ? 0xfffd : cp;

		s->cpts[n_cp] = cp;
		s->boff[n_cp] = ub;
		ub += utf8_encode(safe, s->utf + ub);
		n_cp++;
	}
	s->boff[n_cp] = ub;
	GROW(s->cp_at, s->cp_at_alloc, ub + 1);
	for (i = 0; i < n_cp; i++)
		for (j = s->boff[i]; j < s->boff[i + 1]; j++)
			s->cp_at[j] = (uint32_t)i;
	s->cp_at[ub] = (uint32_t)n_cp;

	GROW(s->spans, s->spans_alloc, 1);
	s->spans[0].start = 0;
	s->spans[0].len = n_cp;
	n_spans = n_cp ? 1 : 0;
	for (r = 0; r < t->n_re; r++) {
		size_t n2 = 0;
		struct span *tmp;
		size_t tmp_alloc;

		for (i = 0; i < n_spans; i++)
			if ((rc = regex_split(s, r, &s->spans[i], &n2)) < 0)
				goto fail;
		tmp = s->spans;
		s->spans = s->spans2;
		s->spans2 = tmp;
		tmp_alloc = s->spans_alloc;
		s->spans_alloc = s->spans2_alloc;
		s->spans2_alloc = tmp_alloc;
		n_spans = n2;
	}

	for (i = 0; i < n_spans; i++) {
		size_t wn = 0;

		for (j = s->spans[i].start; j < s->spans[i].start + s->spans[i].len; j++) {
			char b[4];
			size_t bn = utf8_encode(s->cpts[j], b), k;

			GROW(s->word, s->word_alloc, wn + bn * 2);
			for (k = 0; k < bn; k++) {
				unsigned char c = (unsigned char)b[k];

				memcpy(s->word + wn, t->byte_enc[c], t->byte_enc_len[c]);
				wn += t->byte_enc_len[c];
			}
		}
		if (wn && (rc = bpe_word(s, s->word, wn)) < 0)
			goto fail;
	}
fail:
	return rc;
}

/* --- SPM --------------------------------------------------------------- */

static int spm_add(struct sess *s, const char *w, int left, int right)
{
	const struct sym *l, *r;
	struct bigram b;
	int32_t id;

	if (left < 0 || right < 0)
		return 0;
	l = &s->syms[left];
	r = &s->syms[right];
	id = lc_tokenizer_find_n(s->t, w + l->off, l->n + r->n);
	if (id < 0)
		return 0;
	b.key = -(double)s->t->score[id];
	b.left = left;
	b.right = right;
	b.size = l->n + r->n;
	return heap_push(s, &b);
}

static int32_t spm_byte_token(const lc_tokenizer *t, unsigned char c)
{
	char hex[8];
	int32_t id;

	snprintf(hex, sizeof(hex), "<0x%02X>", c);
	id = lc_tokenizer_find_n(t, hex, 6);
	if (id < 0)
		id = lc_tokenizer_find_n(t, (const char *)&c, 1);
	return id;
}

static int spm_fragment(struct sess *s, const char *text, size_t len, int prefix_space)
{
	const lc_tokenizer *t = s->t;
	size_t wn = 0, n_syms, i;
	int rc = 0, k;

	/* " " in front when asked, then every space as U+2581 (3 bytes). */
	if (len > (SIZE_MAX - 3) / 3)
		return lc_err_set(LC_ETOOBIG, "tokenizer: text too long");
	GROW(s->word, s->word_alloc, len * 3 + 3);
	if (prefix_space) {
		memcpy(s->word, "\xe2\x96\x81", 3);
		wn = 3;
	}
	for (i = 0; i < len; i++) {
		if (text[i] == ' ') {
			memcpy(s->word + wn, "\xe2\x96\x81", 3);
			wn += 3;
		} else {
			s->word[wn++] = text[i];
		}
	}
	if ((rc = split_syms(s, s->word, wn, &n_syms)) < 0)
		goto fail;
	s->heap_n = 0;
	for (i = 1; i < n_syms; i++)
		if ((rc = spm_add(s, s->word, (int)i - 1, (int)i)) < 0)
			goto fail;
	while (s->heap_n) {
		struct bigram b = heap_pop(s);
		const struct sym *l = &s->syms[b.left], *r = &s->syms[b.right];

		if (l->n == 0 || r->n == 0 || l->n + r->n != b.size)
			continue;
		merge_syms(s, &b);
		if ((rc = spm_add(s, s->word, s->syms[b.left].prev, b.left)) < 0 ||
		    (rc = spm_add(s, s->word, b.left, s->syms[b.left].next)) < 0)
			goto fail;
	}
	for (k = n_syms ? 0 : -1; k != -1; k = s->syms[k].next) {
		const struct sym *y = &s->syms[k];
		int32_t id = lc_tokenizer_find_n(t, s->word + y->off, y->n);

		if (id >= 0) {
			if ((rc = push_id(s, id)) < 0)
				goto fail;
			continue;
		}
		/* Merged symbols are always tokens: this is one character the
		 * vocabulary lacks. Byte fallback. */
		for (i = 0; i < y->n; i++) {
			id = spm_byte_token(t, (unsigned char)s->word[y->off + i]);
			if (id < 0)
				id = t->unk;
			if (id >= 0 && (rc = push_id(s, id)) < 0)
				goto fail;
		}
	}
fail:
	return rc;
}

/* --- tokenize ---------------------------------------------------------- */

/* Split the special tokens off the text, longest first (tokenizer_st_partition). */
static int partition(struct sess *s, const char *text, size_t len, int parse_special,
                     size_t *n_parts)
{
	const lc_tokenizer *t = s->t;
	size_t n = 0, i;
	uint32_t k;
	int rc = 0;

	if (len == 0) {
		*n_parts = 0;
		return 0;
	}
	GROW(s->parts, s->parts_alloc, 1);
	s->parts[0].off = 0;
	s->parts[0].len = len;
	s->parts[0].id = -1;
	n = 1;
	for (k = 0; k < t->n_special; k++) {
		int32_t id = t->special[k];
		const char *tok = t->text + t->tok_off[id];
		size_t tl = t->tok_len[id], n2 = 0;

		if (!parse_special && (t->attr[id] & (ATTR_CONTROL | ATTR_UNKNOWN)))
			continue;
		if (tl > len || !memmem(text, len, tok, tl))
			continue;
		for (i = 0; i < n; i++) {
			struct part p = s->parts[i];
			const char *hit;

			if (p.id >= 0) {
				GROW(s->parts2, s->parts2_alloc, n2 + 1);
				s->parts2[n2++] = p;
				continue;
			}
			while (p.len && (hit = memmem(text + p.off, p.len, tok, tl)) != NULL) {
				size_t left = (size_t)(hit - (text + p.off));

				GROW(s->parts2, s->parts2_alloc, n2 + 2);
				if (left) {
					s->parts2[n2].off = p.off;
					s->parts2[n2].len = left;
					s->parts2[n2++].id = -1;
				}
				s->parts2[n2].off = p.off + left;
				s->parts2[n2].len = tl;
				s->parts2[n2++].id = id;
				p.off += left + tl;
				p.len -= left + tl;
			}
			if (p.len) {
				GROW(s->parts2, s->parts2_alloc, n2 + 1);
				s->parts2[n2++] = p;
			}
		}
		{
			struct part *tmp = s->parts;
			size_t tmp_alloc = s->parts_alloc;

			s->parts = s->parts2;
			s->parts_alloc = s->parts2_alloc;
			s->parts2 = tmp;
			s->parts2_alloc = tmp_alloc;
			n = n2;
		}
	}
	*n_parts = n;
fail:
	return rc;
}

static int tokenize_into(struct sess *s, const char *text, size_t len, int add_special,
                         int parse_special)
{
	const lc_tokenizer *t = s->t;
	size_t n_parts = 0, i;
	int rc = 0, r, prev_special = 1;

	if (len > LC_TOKENIZE_MAX_TEXT)
		return lc_err_set(LC_ETOOBIG,
		                  "tokenizer: text of %zu bytes is over the limit of %zu", len,
		                  (size_t)LC_TOKENIZE_MAX_TEXT);
	if (!text && len)
		return lc_err_set(LC_ERROR, "tokenizer: no text");
	if (t->kind == KIND_BPE) {
		s->mctx = pcre2_match_context_create(NULL);
		s->jit_stack = pcre2_jit_stack_create(32 * 1024, 64 * 1024 * 1024, NULL);
		if (!s->mctx || !s->jit_stack)
			return lc_err_set(LC_ENOMEM, "tokenizer: out of memory");
		pcre2_jit_stack_assign(s->mctx, NULL, s->jit_stack);
		for (r = 0; r < t->n_re; r++) {
			s->md[r] = pcre2_match_data_create_from_pattern(t->re[r], NULL);
			if (!s->md[r])
				return lc_err_set(LC_ENOMEM, "tokenizer: out of memory");
		}
	}
	if ((rc = partition(s, text, len, parse_special, &n_parts)) < 0)
		return rc;
	if (add_special && t->add_bos && (rc = push_id(s, t->bos)) < 0)
		return rc;
	for (i = 0; i < n_parts; i++) {
		const struct part *p = &s->parts[i];

		if (p->id >= 0) {
			rc = push_id(s, p->id);
			prev_special = 1;
		} else if (t->kind == KIND_SPM) {
			rc = spm_fragment(s, text + p->off, p->len,
			                  t->add_space_prefix && prev_special);
			prev_special = 0;
		} else {
			rc = bpe_fragment(s, text + p->off, p->len);
		}
		if (rc < 0)
			return rc;
	}
	if (add_special && t->add_eos && (rc = push_id(s, t->eos)) < 0)
		return rc;
	return 0;
}

int lc_tokenize(const lc_tokenizer *t, const char *text, size_t len, int add_special,
                int parse_special, int32_t *ids, size_t max_ids, size_t *n_out)
{
	struct sess s;
	int rc;

	memset(&s, 0, sizeof(s));
	s.t = t;
	s.ids = ids;
	s.max_ids = max_ids;
	s.ids_alloc = max_ids;
	rc = tokenize_into(&s, text, len, add_special, parse_special);
	if (rc == 0)
		*n_out = s.n_ids;
	sess_release(&s);
	return rc;
}

int lc_tokenize_alloc(const lc_tokenizer *t, const char *text, size_t len, int add_special,
                      int parse_special, size_t max_ids, int32_t **ids_out, size_t *n_out)
{
	struct sess s;
	int rc = 0;

	memset(&s, 0, sizeof(s));
	s.t = t;
	s.max_ids = max_ids;
	s.grow_ids = 1;
	GROW(s.ids, s.ids_alloc, 1);
	rc = tokenize_into(&s, text, len, add_special, parse_special);
	if (rc == 0) {
		*ids_out = s.ids;
		*n_out = s.n_ids;
		s.ids = NULL;
	}
fail:
	free(s.ids);
	sess_release(&s);
	return rc;
}

/* --- detokenize -------------------------------------------------------- */

const char *lc_token_piece(const lc_tokenizer *t, int32_t id, size_t *len)
{
	if (!t || id < 0 || (uint32_t)id >= t->n_vocab) {
		if (len)
			*len = 0;
		return NULL;
	}
	if (len)
		*len = t->piece_off[id + 1] - t->piece_off[id];
	return t->piece + t->piece_off[id];
}

/* llama.cpp's clean_spaces passes over s[0..*n): " ?" " !" " ." " ,", " ' ", " 's" ... */
static void clean_spaces(char *s, size_t *n)
{
	size_t total, i, n1 = *n, n2, n3;

	total = n1 ? 1 : 0;
	for (i = 1; i < n1; i++) {
		char x = s[i];

		if (s[i - 1] == ' ' && (x == '?' || x == '!' || x == '.' || x == ','))
			total--;
		s[total++] = x;
	}
	n2 = total;
	total = n2 ? 1 : 0;
	for (i = 1; i < n2; i++) {
		char x = s[i];

		if (x == '\'' && i + 1 < n2 && s[i - 1] == ' ' && s[i + 1] == ' ') {
			total--;
			s[++i] = '\0';
		}
		s[total++] = x;
	}
	n3 = total;
	total = n3 ? 1 : 0;
	for (i = 1; i < n3; i++) {
		char x = s[i];

		if (s[i - 1] == ' ' && x == '\'' && i + 1 < n3) {
			char x1 = s[i + 1];

			if (x1 == 's' || x1 == 'm')
				total--;
			else if (i + 2 < n3 &&
			         ((x1 == 'r' && s[i + 2] == 'e') || (x1 == 'v' && s[i + 2] == 'e')))
				total--;
		}
		s[total++] = x;
	}
	*n = total;
}

int lc_detokenize(const lc_tokenizer *t, const int32_t *ids, size_t n, unsigned flags, lc_buf *out)
{
	size_t start = out->len, i;
	int remove_space = (flags & LC_DETOK_STRIP_SPACE) && t->add_space_prefix;
	int rc = 0;

	for (i = 0; i < n; i++)
		if (ids[i] < 0 || (uint32_t)ids[i] >= t->n_vocab)
			return lc_err_set(LC_EPARSE,
			                  "tokenizer: token id %d out of range (n_vocab %u)",
			                  (int)ids[i], t->n_vocab);
	if ((flags & LC_DETOK_REMOVE_SPECIAL) && t->add_bos && n > 0 && ids[0] == t->bos) {
		ids++;
		n--;
	}
	if ((flags & LC_DETOK_REMOVE_SPECIAL) && t->add_eos && n > 0 && ids[n - 1] == t->eos)
		n--;
	for (i = 0; i < n; i++) {
		size_t pl;
		const char *p;

		if (!(flags & LC_DETOK_SPECIAL) &&
		    (t->attr[ids[i]] & (ATTR_CONTROL | ATTR_UNKNOWN))) {
			remove_space = 0;
			continue;
		}
		p = lc_token_piece(t, ids[i], &pl);
		if (remove_space && pl && p[0] == ' ') {
			p++;
			pl--;
		}
		remove_space = 0;
		if ((rc = lc_buf_add(out, p, pl)) < 0) {
			if (rc == LC_ETOOBIG)
				rc = lc_err_set(rc, "tokenizer: text over the limit of %zu bytes",
				                out->max);
			else
				rc = lc_err_set(rc, "tokenizer: out of memory");
			goto fail;
		}
	}
	if ((flags & LC_DETOK_CLEAN_SPACES) && t->clean_spaces && out->len > start) {
		size_t m = out->len - start;

		clean_spaces(out->data + start, &m);
		lc_buf_truncate(out, start + m);
	}
	return 0;
fail:
	lc_buf_truncate(out, start);
	return rc;
}

/* --- accessors --------------------------------------------------------- */

uint32_t lc_tokenizer_n_vocab(const lc_tokenizer *t)
{
	return t->n_vocab;
}

int32_t lc_tokenizer_bos(const lc_tokenizer *t)
{
	return t->bos;
}

int32_t lc_tokenizer_eos(const lc_tokenizer *t)
{
	return t->eos;
}

int32_t lc_tokenizer_eot(const lc_tokenizer *t)
{
	return t->eot;
}

int lc_tokenizer_add_bos(const lc_tokenizer *t)
{
	return t->add_bos;
}

const char *lc_tokenizer_model(const lc_tokenizer *t)
{
	return t->kind == KIND_SPM ? "llama" : "gpt2";
}

const char *lc_tokenizer_pre(const lc_tokenizer *t)
{
	return t->kind == KIND_SPM ? "default" : t->pre->name;
}

int lc_tokenizer_is_eog(const lc_tokenizer *t, int32_t id)
{
	return t && id >= 0 && (uint32_t)id < t->n_vocab && t->eog[id];
}

const char *lc_tokenizer_text(const lc_tokenizer *t, int32_t id, size_t *len)
{
	if (!t || id < 0 || (uint32_t)id >= t->n_vocab) {
		if (len)
			*len = 0;
		return NULL;
	}
	if (len)
		*len = t->tok_len[id];
	return t->text + t->tok_off[id];
}

int lc_tokenizer_token_type(const lc_tokenizer *t, int32_t id)
{
	uint8_t a;

	if (!t || id < 0 || (uint32_t)id >= t->n_vocab)
		return -1;
	a = t->attr[id];
	if (a & ATTR_CONTROL)
		return LC_TOKEN_TYPE_CONTROL;
	if (a & ATTR_USER_DEFINED)
		return LC_TOKEN_TYPE_USER_DEFINED;
	if (a & ATTR_UNKNOWN)
		return LC_TOKEN_TYPE_UNKNOWN;
	if (a & ATTR_BYTE)
		return LC_TOKEN_TYPE_BYTE;
	if (a & ATTR_UNUSED)
		return LC_TOKEN_TYPE_UNUSED;
	if (a & ATTR_NORMAL)
		return LC_TOKEN_TYPE_NORMAL;
	return LC_TOKEN_TYPE_UNDEFINED;
}

/* --- construction ------------------------------------------------------ */

void lc_tokenizer_free(lc_tokenizer *t)
{
	int i;

	if (!t)
		return;
	free(t->text);
	free(t->tok_off);
	free(t->tok_len);
	free(t->score);
	free(t->attr);
	free(t->eog);
	free(t->tok_map);
	free(t->merge_text);
	free(t->merge_off);
	free(t->merge_left);
	free(t->merge_len);
	free(t->merge_map);
	free(t->piece);
	free(t->piece_off);
	free(t->special);
	for (i = 0; i < t->n_re; i++)
		pcre2_code_free(t->re[i]);
	free(t);
}

static uint8_t type_to_attr(int32_t type)
{
	switch (type) {
	case LC_TOKEN_TYPE_UNKNOWN:
		return ATTR_UNKNOWN;
	case LC_TOKEN_TYPE_UNUSED:
		return ATTR_UNUSED;
	case LC_TOKEN_TYPE_NORMAL:
		return ATTR_NORMAL;
	case LC_TOKEN_TYPE_CONTROL:
		return ATTR_CONTROL;
	case LC_TOKEN_TYPE_USER_DEFINED:
		return ATTR_USER_DEFINED;
	case LC_TOKEN_TYPE_BYTE:
		return ATTR_BYTE;
	default:
		return ATTR_UNDEFINED;
	}
}

/* A power-of-two table of at least twice n slots; 0 on overflow. */
static size_t table_size(size_t n)
{
	size_t cap = 16;

	while (cap < n * 2) {
		if (cap > SIZE_MAX / 8)
			return 0;
		cap *= 2;
	}
	return cap;
}

static int build_tokens(lc_tokenizer *t, const lc_tokenizer_vocab *v)
{
	size_t total = 0, size, off = 0, cap;
	uint32_t i;
	int rc = 0;

	for (i = 0; i < v->n_tokens; i++) {
		size_t l = v->tokens[i].len ? v->tokens[i].len : 32;

		if (v->tokens[i].len > MAX_TOKEN_LEN)
			return lc_err_set(LC_EPARSE, "tokenizer: token %u is %zu bytes long", i,
			                  v->tokens[i].len);
		total += l + 1;
	}
	if (total > UINT32_MAX)
		return lc_err_set(LC_ETOOBIG, "tokenizer: vocabulary text too large");
	size = v->n_tokens;
	cap = table_size(size);
	t->text = malloc(total);
	t->tok_off = calloc(size, sizeof(*t->tok_off));
	t->tok_len = calloc(size, sizeof(*t->tok_len));
	t->score = calloc(size, sizeof(*t->score));
	t->attr = calloc(size, sizeof(*t->attr));
	t->eog = calloc(size, sizeof(*t->eog));
	t->tok_map = cap ? calloc(cap, sizeof(*t->tok_map)) : NULL;
	if (!t->text || !t->tok_off || !t->tok_len || !t->score || !t->attr || !t->eog ||
	    !t->tok_map)
		return lc_err_set(LC_ENOMEM, "tokenizer: out of memory");
	t->tok_mask = cap - 1;
	for (i = 0; i < v->n_tokens; i++) {
		size_t l = v->tokens[i].len, slot;
		int32_t dup;

		if (l) {
			memcpy(t->text + off, v->tokens[i].data, l);
		} else {
			/* llama.cpp's name for an empty token */
			l = (size_t)snprintf(t->text + off, 32, "[EMPTY_%u]", i);
		}
		t->text[off + l] = '\0';
		t->tok_off[i] = (uint32_t)off;
		t->tok_len[i] = (uint32_t)l;
		off += l + 1;
		t->score[i] = v->scores ? v->scores[i] : 0.0f;
		t->attr[i] = v->types ? type_to_attr(v->types[i]) : ATTR_NORMAL;

		dup = lc_tokenizer_find_n(t, t->text + t->tok_off[i], l);
		if (dup >= 0)
			return lc_err_set(LC_EPARSE,
			                  "tokenizer: duplicate token '%.64s' (ids %d and %u)",
			                  t->text + t->tok_off[i], (int)dup, i);
		slot = (size_t)fnv(FNV_INIT, t->text + t->tok_off[i], l) & t->tok_mask;
		while (t->tok_map[slot])
			slot = (slot + 1) & t->tok_mask;
		t->tok_map[slot] = i + 1;
	}
	return rc;
}

static int build_merges(lc_tokenizer *t, const lc_tokenizer_vocab *v)
{
	size_t total = 0, off = 0, cap;
	uint32_t i;

	for (i = 0; i < v->n_merges; i++) {
		if (v->merges[i].len > MAX_TOKEN_LEN * 2 + 1)
			return lc_err_set(LC_EPARSE, "tokenizer: merge %u is %zu bytes long", i,
			                  v->merges[i].len);
		total += v->merges[i].len + 1;
	}
	if (total > UINT32_MAX)
		return lc_err_set(LC_ETOOBIG, "tokenizer: merges too large");
	cap = table_size(v->n_merges);
	t->merge_text = malloc(total ? total : 1);
	t->merge_off = calloc(v->n_merges ? v->n_merges : 1, sizeof(*t->merge_off));
	t->merge_left = calloc(v->n_merges ? v->n_merges : 1, sizeof(*t->merge_left));
	t->merge_len = calloc(v->n_merges ? v->n_merges : 1, sizeof(*t->merge_len));
	t->merge_map = cap ? calloc(cap, sizeof(*t->merge_map)) : NULL;
	if (!t->merge_text || !t->merge_off || !t->merge_left || !t->merge_len || !t->merge_map)
		return lc_err_set(LC_ENOMEM, "tokenizer: out of memory");
	t->merge_mask = cap - 1;
	for (i = 0; i < v->n_merges; i++) {
		const char *m = v->merges[i].data;
		size_t l = v->merges[i].len, sp, slot;
		const char *space;

		/* Split at the first space after the first byte (llama.cpp's
		 * find(' ', 1)); a merge without one can never apply. */
		space = l > 1 ? memchr(m + 1, ' ', l - 1) : NULL;
		if (!space)
			continue;
		sp = (size_t)(space - m);
		memcpy(t->merge_text + off, m, l);
		t->merge_text[off + l] = '\0';
		/* The first of equal pairs keeps its (lower) rank. */
		if (t->n_merges && merge_rank(t, m, sp, m + sp + 1, l - sp - 1) >= 0)
			continue;
		t->merge_off[i] = (uint32_t)off;
		t->merge_left[i] = (uint32_t)sp;
		t->merge_len[i] = (uint32_t)l;
		off += l + 1;
		slot = (size_t)pair_hash(m, sp, m + sp + 1, l - sp - 1) & t->merge_mask;
		while (t->merge_map[slot])
			slot = (slot + 1) & t->merge_mask;
		t->merge_map[slot] = i + 1;
		t->n_merges = v->n_merges; /* lookups are on from the first merge */
	}
	return 0;
}

/* Piece of token id: what llama.cpp's token_to_piece gives with special = true. */
static int make_piece(const lc_tokenizer *t, uint32_t id, lc_buf *b)
{
	const char *s = t->text + t->tok_off[id];
	size_t n = t->tok_len[id], pos = 0;
	uint8_t a = t->attr[id];
	int rc = 0;

	if (a & (ATTR_UNKNOWN | ATTR_CONTROL | ATTR_USER_DEFINED))
		return lc_buf_add(b, s, n);
	if (a & ATTR_NORMAL) {
		if (t->kind == KIND_SPM) {
			while (pos < n) {
				if (n - pos >= 3 && memcmp(s + pos, "\xe2\x96\x81", 3) == 0) {
					rc = lc_buf_addc(b, ' ');
					pos += 3;
				} else {
					rc = lc_buf_addc(b, s[pos++]);
				}
				if (rc < 0)
					return rc;
			}
			return 0;
		}
		while (pos < n) {
			uint32_t cp = utf8_decode((const unsigned char *)s, n, &pos);

			if (cp < 512 && t->byte_dec[cp] >= 0) {
				rc = lc_buf_addc(b, (char)t->byte_dec[cp]);
			} else {
				char u[4];
				size_t k, un = utf8_encode(cp, u);

				/* llama.cpp's llama_decode_text marks what is no byte */
				rc = lc_buf_adds(b, "[UNK_BYTE_0x");
				for (k = 0; rc == 0 && k < un; k++)
					rc = lc_buf_addf(b, "%02x", (unsigned char)u[k]);
				if (rc == 0)
					rc = lc_buf_add(b, s, n);
				if (rc == 0)
					rc = lc_buf_addc(b, ']');
			}
			if (rc < 0)
				return rc;
		}
		return 0;
	}
	if (a & ATTR_BYTE) {
		/* "<0xXX>" */
		char hex[3] = {0, 0, 0};
		unsigned long val;

		if (n >= 5)
			memcpy(hex, s + 3, 2);
		val = strtoul(hex, NULL, 16);
		return lc_buf_addc(b, (char)(val & 0xff));
	}
	return 0;
}

static int build_pieces(lc_tokenizer *t)
{
	lc_buf b = LC_BUF_INIT(SIZE_MAX / 2);
	uint32_t i;
	int rc = 0;

	t->piece_off = calloc((size_t)t->n_vocab + 1, sizeof(*t->piece_off));
	if (!t->piece_off)
		return lc_err_set(LC_ENOMEM, "tokenizer: out of memory");
	for (i = 0; i < t->n_vocab; i++) {
		t->piece_off[i] = b.len;
		if ((rc = make_piece(t, i, &b)) < 0) {
			rc = lc_err_set(LC_ENOMEM, "tokenizer: out of memory");
			goto fail;
		}
	}
	t->piece_off[t->n_vocab] = b.len;
	t->piece = lc_buf_take(&b, NULL);
	if (!t->piece)
		rc = lc_err_set(LC_ENOMEM, "tokenizer: out of memory");
fail:
	lc_buf_release(&b);
	return rc;
}

static int cmp_special(const void *a, const void *b, void *ctx)
{
	const lc_tokenizer *t = ctx;
	int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;

	if (t->tok_len[x] != t->tok_len[y])
		return t->tok_len[x] > t->tok_len[y] ? -1 : 1;
	return (x > y) - (x < y);
}

static int build_specials(lc_tokenizer *t)
{
	uint32_t i, n = 0;

	t->special = calloc(t->n_vocab, sizeof(*t->special));
	if (!t->special)
		return lc_err_set(LC_ENOMEM, "tokenizer: out of memory");
	for (i = 0; i < t->n_vocab; i++)
		if (t->attr[i] & (ATTR_CONTROL | ATTR_USER_DEFINED | ATTR_UNKNOWN))
			t->special[n++] = (int32_t)i;
	t->n_special = n;
	qsort_r(t->special, n, sizeof(*t->special), cmp_special, t);
	return 0;
}

/* Mark a token found by its text as control (llama.cpp overrides the type). */
static int32_t find_control(lc_tokenizer *t, const char *text)
{
	int32_t id = lc_tokenizer_find(t, text);

	if (id >= 0 && !(t->attr[id] & ATTR_CONTROL))
		t->attr[id] |= ATTR_CONTROL;
	return id;
}

/* EOT/EOM detection and the end-of-generation set, as llama.cpp does it by text. */
static void build_eog(lc_tokenizer *t)
{
	static const char *const eot_names[] = {
	        "<|eot_id|>",
	        "<|im_end|>",
	        "<|end|>",
	        "<end_of_turn>",
	        "<|endoftext|>",
	        "<|end_of_text|>",
	        "<EOT>",
	        "_<EOT>",
	        "[EOT]",
	        "<\xef\xbd\x9c"
	        "end\xe2\x96\x81of\xe2\x96\x81sentence\xef\xbd\x9c>",
	        "<end_of_utterance>",
	        NULL};
	static const char *const eog_names[] = {
	        "<|eot_id|>",
	        "<|im_end|>",
	        "<|end|>",
	        "<|return|>",
	        "<|call|>",
	        "<|flush|>",
	        "<|calls|>",
	        "<end_of_turn>",
	        "<|endoftext|>",
	        "</s>",
	        "<|eom_id|>",
	        "<EOT>",
	        "_<EOT>",
	        "[EOT]",
	        "[EOS]",
	        "<|end_of_text|>",
	        "<end_of_utterance>",
	        "<\xef\xbd\x9c"
	        "end\xe2\x96\x81of\xe2\x96\x81sentence\xef\xbd\x9c>",
	        NULL};
	/* FIM pad/repo/separator tokens also end generation in llama.cpp. */
	static const char *const fim_names[] = {
	        "<|fim_pad|>",   "<fim-pad>",  "<fim_pad>",    "<|fim_repo|>",
	        "<|repo_name|>", "<fim-repo>", "<|file_sep|>", NULL};
	static const char *const user_names[] = {"<|channel|>", "<|message|>", "<|start|>",
	                                         "<|constrain|>", NULL};
	int32_t id, end_id;
	int i;

	for (i = 0; t->eot < 0 && eot_names[i]; i++)
		t->eot = find_control(t, eot_names[i]);
	if (t->eom < 0)
		t->eom = find_control(t, "<|eom_id|>");
	for (i = 0; fim_names[i]; i++)
		if ((id = find_control(t, fim_names[i])) >= 0)
			t->eog[id] = 1;
	for (i = 0; eog_names[i]; i++)
		if ((id = find_control(t, eog_names[i])) >= 0)
			t->eog[id] = 1;
	/* gpt-oss: rendered as text, never special */
	for (i = 0; user_names[i]; i++)
		if ((id = lc_tokenizer_find(t, user_names[i])) >= 0)
			t->attr[id] = ATTR_USER_DEFINED;
	if (t->eos >= 0)
		t->eog[t->eos] = 1;
	if (t->eot >= 0)
		t->eog[t->eot] = 1;
	if (t->eom >= 0)
		t->eog[t->eom] = 1;
	/* o200k_harmony and solar-open: "<|end|>" ends a message, not generation */
	end_id = lc_tokenizer_find(t, "<|end|>");
	if (end_id >= 0 && t->eog[end_id]) {
		int32_t ret = lc_tokenizer_find(t, "<|return|>"),
		        call = lc_tokenizer_find(t, "<|call|>");
		int32_t calls = lc_tokenizer_find(t, "<|calls|>"),
		        flush = lc_tokenizer_find(t, "<|flush|>");

		if ((ret >= 0 && call >= 0) || (calls >= 0 && flush >= 0)) {
			t->eog[end_id] = 0;
			t->attr[end_id] = ATTR_USER_DEFINED;
		}
	}
}

static int compile_regexes(lc_tokenizer *t)
{
	int i;

	for (i = 0; t->pre->regexes[i]; i++) {
		int err;
		PCRE2_SIZE at;

		if (i >= MAX_REGEX)
			return lc_err_set(LC_ERROR, "tokenizer: too many regexes");
		t->re[i] = pcre2_compile((PCRE2_SPTR)t->pre->regexes[i], PCRE2_ZERO_TERMINATED,
		                         PCRE2_UTF | PCRE2_UCP | PCRE2_DOLLAR_ENDONLY, &err, &at,
		                         NULL);
		if (!t->re[i]) {
			PCRE2_UCHAR msg[120];

			pcre2_get_error_message(err, msg, sizeof(msg));
			return lc_err_set(LC_ERROR, "tokenizer: pre-tokenizer '%s': regex %d: %s",
			                  t->pre->name, i, (const char *)msg);
		}
		t->n_re = i + 1;
		/* Without JIT (some platforms), pcre2_match interprets: slower, same result. */
		(void)pcre2_jit_compile(t->re[i], PCRE2_JIT_COMPLETE);
	}
	return 0;
}

/* GPT-2's bytes_to_unicode: printable bytes stand for themselves, the rest
 * for 256, 257, ... in byte order. */
static void build_byte_maps(lc_tokenizer *t)
{
	int b, n = 0;

	for (b = 0; b < 512; b++)
		t->byte_dec[b] = -1;
	for (b = 0; b < 256; b++) {
		uint32_t cp;

		if ((b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) ||
		    (b >= 0xae && b <= 0xff))
			cp = (uint32_t)b;
		else
			cp = 256u + (uint32_t)n++;
		t->byte_enc_len[b] = (uint8_t)utf8_encode(cp, t->byte_enc[b]);
		t->byte_dec[cp] = (int16_t)b;
	}
}

static const struct pre_def *find_pre(const char *name)
{
	size_t i;

	if (!name || !name[0])
		return &pre_defs[0];
	for (i = 0; i < sizeof(pre_defs) / sizeof(pre_defs[0]); i++)
		if (strcmp(pre_defs[i].name, name) == 0)
			return &pre_defs[i];
	return NULL;
}

/* An id from the metadata if given and in range, else the default if in range, else -1. */
static int32_t pick_id(int64_t given, int64_t def, uint32_t n)
{
	if (given >= 0 && given < (int64_t)n)
		return (int32_t)given;
	return def >= 0 && def < (int64_t)n ? (int32_t)def : -1;
}

int lc_tokenizer_new_vocab(lc_tokenizer **out, const lc_tokenizer_vocab *v)
{
	lc_tokenizer *t;
	int64_t def_bos, def_eos, def_unk;
	int rc;

	if (!v->model)
		return lc_err_set(LC_ENOTFOUND, "tokenizer: no tokenizer model");
	if (!v->n_tokens || !v->tokens)
		return lc_err_set(LC_ENOTFOUND, "tokenizer: empty vocabulary");
	if (v->n_tokens > INT32_MAX)
		return lc_err_set(LC_EPARSE, "tokenizer: %u tokens is too many", v->n_tokens);
	t = calloc(1, sizeof(*t));
	if (!t)
		return lc_err_set(LC_ENOMEM, "tokenizer: out of memory");
	t->n_vocab = v->n_tokens;
	if (strcmp(v->model, "gpt2") == 0) {
		t->kind = KIND_BPE;
		t->pre = find_pre(v->pre);
		if (!t->pre) {
			rc = lc_err_set(
			        LC_EUNSUPPORTED,
			        "tokenizer: unsupported pre-tokenizer '%.64s' (tokenizer.ggml.pre)",
			        v->pre);
			goto fail;
		}
		if (!v->merges && v->n_merges == 0) {
			rc = lc_err_set(LC_ENOTFOUND,
			                "tokenizer: gpt2 tokenizer without tokenizer.ggml.merges");
			goto fail;
		}
		def_bos = def_eos = t->pre->no_bos ? -1 : 11;
		def_unk = -1;
		t->add_space_prefix = 0;
		t->add_bos = t->pre->add_bos;
		t->add_eos = 0;
		t->clean_spaces = t->pre->clean_spaces;
		t->ignore_merges = t->pre->ignore_merges;
	} else if (strcmp(v->model, "llama") == 0) {
		t->kind = KIND_SPM;
		def_bos = 1;
		def_eos = 2;
		def_unk = 0;
		t->add_space_prefix = 1;
		t->add_bos = 1;
		t->add_eos = 0;
	} else {
		rc = lc_err_set(
		        LC_EUNSUPPORTED,
		        "tokenizer: unsupported tokenizer model '%.64s' (tokenizer.ggml.model)",
		        v->model);
		goto fail;
	}
	if (v->add_space_prefix >= 0)
		t->add_space_prefix = v->add_space_prefix != 0;
	if ((rc = build_tokens(t, v)) < 0)
		goto fail;
	if (t->kind == KIND_BPE && (rc = build_merges(t, v)) < 0)
		goto fail;
	t->bos = pick_id(v->bos_id, def_bos, t->n_vocab);
	t->eos = pick_id(v->eos_id, def_eos, t->n_vocab);
	t->unk = pick_id(v->unk_id, def_unk, t->n_vocab);
	t->eot = pick_id(v->eot_id, -1, t->n_vocab);
	t->eom = pick_id(v->eom_id, -1, t->n_vocab);
	if (v->add_bos >= 0)
		t->add_bos = v->add_bos != 0;
	if (v->add_eos >= 0)
		t->add_eos = v->add_eos != 0;
	if (t->add_bos && t->bos < 0) {
		rc = lc_err_set(LC_EPARSE, "tokenizer: tokenizer.ggml.add_bos_token is true, but "
		                           "tokenizer.ggml.bos_token_id is not set");
		goto fail;
	}
	if (t->add_eos && t->eos < 0) {
		rc = lc_err_set(LC_EPARSE, "tokenizer: tokenizer.ggml.add_eos_token is true, but "
		                           "tokenizer.ggml.eos_token_id is not set");
		goto fail;
	}
	build_eog(t);
	build_byte_maps(t);
	if ((rc = build_specials(t)) < 0 || (rc = build_pieces(t)) < 0)
		goto fail;
	if (t->kind == KIND_BPE && (rc = compile_regexes(t)) < 0)
		goto fail;
	*out = t;
	return 0;
fail:
	lc_tokenizer_free(t);
	return rc;
}

/* --- GGUF -------------------------------------------------------------- */

/* A string key into buf (NUL-terminated, cut at size - 1); 0, or LC_ENOTFOUND / LC_EPARSE. */
static int get_cstr(const lc_gguf *g, const char *key, char *buf, size_t size)
{
	lc_gguf_str s;
	int rc;

	if (lc_gguf_find_key(g, key) < 0)
		return LC_ENOTFOUND;
	if ((rc = lc_gguf_get_str(g, key, &s)) < 0)
		return rc;
	snprintf(buf, size, "%.*s", (int)(s.len < size ? s.len : size - 1), s.data);
	return 0;
}

static int get_opt_id(const lc_gguf *g, const char *key, int64_t *out)
{
	uint32_t v;
	int rc;

	if (lc_gguf_find_key(g, key) < 0)
		return 0;
	if ((rc = lc_gguf_get_u32(g, key, &v)) < 0)
		return rc;
	*out = v;
	return 0;
}

static int get_opt_bool(const lc_gguf *g, const char *key, int *out)
{
	int v, rc;

	if (lc_gguf_find_key(g, key) < 0)
		return 0;
	if ((rc = lc_gguf_get_bool(g, key, &v)) < 0)
		return rc;
	*out = v != 0;
	return 0;
}

/* A string array as lc_tokenizer_str[n] (owned by the caller, free()). */
static int get_str_array(const lc_gguf *g, const char *key, lc_tokenizer_str **out, uint32_t *n)
{
	lc_gguf_arr arr;
	lc_tokenizer_str *s;
	uint64_t i;
	int rc;

	if ((rc = lc_gguf_get_arr(g, key, &arr)) < 0)
		return rc;
	if (arr.type != LC_GGUF_TYPE_STRING)
		return lc_err_set(LC_EPARSE, "tokenizer: %s is not an array of strings", key);
	if (arr.n > INT32_MAX)
		return lc_err_set(LC_EPARSE, "tokenizer: %s has %llu entries", key,
		                  (unsigned long long)arr.n);
	s = calloc(arr.n ? arr.n : 1, sizeof(*s));
	if (!s)
		return lc_err_set(LC_ENOMEM, "tokenizer: out of memory");
	for (i = 0; i < arr.n; i++) {
		lc_gguf_str e = lc_gguf_arr_str(g, &arr, i);

		s[i].data = e.data;
		s[i].len = (size_t)e.len;
	}
	*out = s;
	*n = (uint32_t)arr.n;
	return 0;
}

int lc_tokenizer_new(lc_tokenizer **out, const lc_gguf *g)
{
	lc_tokenizer_vocab v = LC_TOKENIZER_VOCAB_INIT;
	lc_tokenizer_str *tokens = NULL, *merges = NULL;
	float *scores = NULL;
	int32_t *types = NULL;
	char model[64], pre[64];
	lc_gguf_arr arr;
	uint32_t i;
	int rc;

	if ((rc = get_cstr(g, "tokenizer.ggml.model", model, sizeof(model))) < 0) {
		if (rc == LC_ENOTFOUND)
			rc = lc_err_set(rc, "tokenizer: no tokenizer.ggml.model in the model file");
		goto done;
	}
	v.model = model;
	rc = get_cstr(g, "tokenizer.ggml.pre", pre, sizeof(pre));
	if (rc < 0 && rc != LC_ENOTFOUND)
		goto done;
	v.pre = rc == 0 ? pre : NULL;
	if (strcmp(model, "gpt2") != 0 && strcmp(model, "llama") != 0) {
		rc = lc_err_set(
		        LC_EUNSUPPORTED,
		        "tokenizer: unsupported tokenizer model '%s' (tokenizer.ggml.model)",
		        model);
		goto done;
	}
	if (lc_gguf_find_key(g, "tokenizer.ggml.tokens") < 0) {
		rc = lc_err_set(LC_ENOTFOUND,
		                "tokenizer: no tokenizer.ggml.tokens in the model file");
		goto done;
	}
	if ((rc = get_str_array(g, "tokenizer.ggml.tokens", &tokens, &v.n_tokens)) < 0)
		goto done;
	v.tokens = tokens;

	if (lc_gguf_find_key(g, "tokenizer.ggml.scores") >= 0) {
		if ((rc = lc_gguf_get_arr(g, "tokenizer.ggml.scores", &arr)) < 0)
			goto done;
		if ((arr.type != LC_GGUF_TYPE_FLOAT32 && arr.type != LC_GGUF_TYPE_INT32) ||
		    arr.n < v.n_tokens) {
			rc = lc_err_set(LC_EPARSE,
			                "tokenizer: tokenizer.ggml.scores is not %u floats",
			                v.n_tokens);
			goto done;
		}
		if (!(scores = calloc(v.n_tokens, sizeof(*scores)))) {
			rc = lc_err_set(LC_ENOMEM, "tokenizer: out of memory");
			goto done;
		}
		for (i = 0; i < v.n_tokens; i++) {
			const char *p = (const char *)arr.data + (size_t)i * 4;

			if (arr.type == LC_GGUF_TYPE_FLOAT32) {
				memcpy(&scores[i], p, 4);
			} else {
				int32_t iv;

				memcpy(&iv, p, 4);
				scores[i] = (float)iv;
			}
		}
		v.scores = scores;
	}
	if (lc_gguf_find_key(g, "tokenizer.ggml.token_type") >= 0) {
		if ((rc = lc_gguf_get_arr(g, "tokenizer.ggml.token_type", &arr)) < 0)
			goto done;
		if (arr.type != LC_GGUF_TYPE_INT32 || arr.n < v.n_tokens) {
			rc = lc_err_set(
			        LC_EPARSE,
			        "tokenizer: tokenizer.ggml.token_type is not %u int32 values",
			        v.n_tokens);
			goto done;
		}
		if (!(types = calloc(v.n_tokens, sizeof(*types)))) {
			rc = lc_err_set(LC_ENOMEM, "tokenizer: out of memory");
			goto done;
		}
		memcpy(types, arr.data, (size_t)v.n_tokens * 4);
		v.types = types;
	}
	if (lc_gguf_find_key(g, "tokenizer.ggml.merges") >= 0) {
		if ((rc = get_str_array(g, "tokenizer.ggml.merges", &merges, &v.n_merges)) < 0)
			goto done;
		v.merges = merges;
	}
	if ((rc = get_opt_id(g, "tokenizer.ggml.bos_token_id", &v.bos_id)) < 0 ||
	    (rc = get_opt_id(g, "tokenizer.ggml.eos_token_id", &v.eos_id)) < 0 ||
	    (rc = get_opt_id(g, "tokenizer.ggml.eot_token_id", &v.eot_id)) < 0 ||
	    (rc = get_opt_id(g, "tokenizer.ggml.eom_token_id", &v.eom_id)) < 0 ||
	    (rc = get_opt_id(g, "tokenizer.ggml.unknown_token_id", &v.unk_id)) < 0 ||
	    (rc = get_opt_id(g, "tokenizer.ggml.padding_token_id", &v.pad_id)) < 0 ||
	    (rc = get_opt_bool(g, "tokenizer.ggml.add_bos_token", &v.add_bos)) < 0 ||
	    (rc = get_opt_bool(g, "tokenizer.ggml.add_eos_token", &v.add_eos)) < 0 ||
	    (rc = get_opt_bool(g, "tokenizer.ggml.add_space_prefix", &v.add_space_prefix)) < 0)
		goto done;
	rc = lc_tokenizer_new_vocab(out, &v);
done:
	free(tokens);
	free(merges);
	free(scores);
	free(types);
	return rc;
}
