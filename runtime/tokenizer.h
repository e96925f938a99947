/*
 * tokenizer.h - the model's own tokenizer, read from GGUF metadata.
 *
 * Two tokenizer models, named as tokenizer.ggml.model names them:
 *
 *  - "gpt2": byte-level BPE. The text is split by the pre-tokenizer that
 *    tokenizer.ggml.pre names (a sequence of regexes, each applied to the
 *    pieces the previous one left), each piece's bytes are mapped to printable
 *    code points (GPT-2's bytes_to_unicode), and merges are applied by rank.
 *  - "llama": SentencePiece BPE (SPM). A space is put in front of the text and
 *    after every special token, spaces become U+2581, pieces are merged by
 *    score, and characters missing from the vocabulary fall back to <0xXX>
 *    byte tokens.
 *
 * The result is the one llama.cpp gives (src/llama-vocab.cpp, src/unicode.cpp;
 * checked against llama.cpp's tokenizer conformance data). Special tokens
 * (token_type control, user-defined or unknown) are split off the text first,
 * longest first; control and unknown tokens only when parse_special is set,
 * user-defined ones always, as llama.cpp does.
 *
 * Token ids are int32_t, 0 <= id < lc_tokenizer_n_vocab(). "None" is -1.
 * A tokenizer is immutable after lc_tokenizer_new: every function here may be
 * called from several threads at once.
 */
#ifndef LC_TOKENIZER_H
#define LC_TOKENIZER_H

#include <stddef.h>
#include <stdint.h>

#include "runtime/gguf.h"
#include "src/buf.h"

typedef struct lc_tokenizer lc_tokenizer;

/* tokenizer.ggml.token_type values, as llama.cpp numbers them. */
enum lc_token_type {
	LC_TOKEN_TYPE_UNDEFINED = 0,
	LC_TOKEN_TYPE_NORMAL = 1,
	LC_TOKEN_TYPE_UNKNOWN = 2,
	LC_TOKEN_TYPE_CONTROL = 3,
	LC_TOKEN_TYPE_USER_DEFINED = 4,
	LC_TOKEN_TYPE_UNUSED = 5,
	LC_TOKEN_TYPE_BYTE = 6
};

/* The longest text lc_tokenize accepts, bytes. */
#define LC_TOKENIZE_MAX_TEXT ((size_t)256 << 20)

/* A string that is not NUL-terminated. */
typedef struct lc_tokenizer_str {
	const char *data;
	size_t len;
} lc_tokenizer_str;

/*
 * A vocabulary as plain arrays: what lc_tokenizer_new() reads from GGUF, for
 * callers (and tests) that have the arrays without a GGUF file. Everything is
 * borrowed for the duration of lc_tokenizer_new_vocab() only; the tokenizer
 * copies what it keeps.
 */
typedef struct lc_tokenizer_vocab {
	const char *model;              /* "gpt2" or "llama" */
	const char *pre;                /* pre-tokenizer name; NULL: "default" */
	uint32_t n_tokens;              /* > 0 */
	const lc_tokenizer_str *tokens; /* [n_tokens] token texts */
	const float *scores;            /* [n_tokens] or NULL (all 0) */
	const int32_t *types;           /* [n_tokens] enum lc_token_type, or NULL (all normal) */
	uint32_t n_merges;              /* gpt2: merges, rank = index */
	const lc_tokenizer_str *merges; /* [n_merges] "left right" */
	/* Special token ids from the metadata; -1: not given, the model's default applies. */
	int64_t bos_id, eos_id, eot_id, eom_id, unk_id, pad_id;
	/* Flags from the metadata; -1: not given, the model's default applies. */
	int add_bos, add_eos, add_space_prefix;
} lc_tokenizer_vocab;

#define LC_TOKENIZER_VOCAB_INIT                                                                    \
	{                                                                                          \
		NULL, NULL, 0, NULL, NULL, NULL, 0, NULL, -1, -1, -1, -1, -1, -1, -1, -1, -1       \
	}

/*
 * Build the tokenizer of the model in g from its tokenizer.ggml.* metadata
 * (model, pre, tokens, scores, token_type, merges, bos/eos/eot/eom/unknown/
 * padding_token_id, add_bos_token, add_eos_token, add_space_prefix). g may be
 * freed afterwards: the tokenizer keeps copies. On success *out is owned (free
 * with lc_tokenizer_free).
 *
 * Errors: LC_EUNSUPPORTED (a tokenizer model or pre-tokenizer lcode does not
 * implement; the message names it), LC_ENOTFOUND (no tokenizer.ggml.model or
 * tokens, or a gpt2 model without merges), LC_EPARSE (a key of the wrong
 * type, array lengths that disagree, a duplicate token), LC_ENOMEM.
 */
int lc_tokenizer_new(lc_tokenizer **out, const lc_gguf *g);

/* The same from plain arrays. Errors as lc_tokenizer_new. */
int lc_tokenizer_new_vocab(lc_tokenizer **out, const lc_tokenizer_vocab *v);

/* Free. NULL is fine. */
void lc_tokenizer_free(lc_tokenizer *t);

/*
 * Tokenize len bytes of text (any bytes: invalid UTF-8 is read as U+FFFD per
 * bad byte, as llama.cpp does) into ids[0..*n_out).
 *
 * add_special: put the model's BOS in front (and EOS at the end) when its
 *   metadata asks for it (tokenizer.ggml.add_bos_token / add_eos_token, or the
 *   model type's default) - llama.cpp's add_special. 0: never.
 * parse_special: text that spells a control token ("<|im_start|>") becomes
 *   that token's single id. 0 (for user text): such text is tokenized as
 *   ordinary text. User-defined tokens are always matched.
 *
 * Errors: LC_ETOOBIG (more than max_ids ids, or text longer than
 * LC_TOKENIZE_MAX_TEXT; ids then holds a partial result and *n_out is not
 * written), LC_ENOMEM, LC_ERROR (the regex engine failed, e.g. its stack limit).
 */
int lc_tokenize(const lc_tokenizer *t, const char *text, size_t len, int add_special,
                int parse_special, int32_t *ids, size_t max_ids, size_t *n_out);

/*
 * As lc_tokenize, into an array the function allocates: on success *ids_out
 * is owned (free with free(); never NULL, even for 0 ids) and *n_out its
 * length. At most max_ids ids, else LC_ETOOBIG.
 */
int lc_tokenize_alloc(const lc_tokenizer *t, const char *text, size_t len, int add_special,
                      int parse_special, size_t max_ids, int32_t **ids_out, size_t *n_out);

/* Flags of lc_detokenize. With none, the output is the exact bytes of the pieces. */
enum lc_detok_flags {
	/* Write control and unknown tokens as their text (e.g. "<|im_end|>");
	 * without it they produce nothing. */
	LC_DETOK_SPECIAL = 1 << 0,
	/* SPM: drop the space the tokenizer put in front of the text (one
	 * leading space of the first piece), when the model adds one. */
	LC_DETOK_STRIP_SPACE = 1 << 1,
	/* Drop a leading BOS and a trailing EOS when the model adds them. */
	LC_DETOK_REMOVE_SPECIAL = 1 << 2,
	/* HF's clean_up_tokenization_spaces (" ," -> ",", " 's" -> "'s", ...)
	 * when the model's pre-tokenizer calls for it, as llama.cpp does. Lossy. */
	LC_DETOK_CLEAN_SPACES = 1 << 3
};

/*
 * Append the text of n ids to out (flags: enum lc_detok_flags). On error out
 * keeps what it had. Errors: LC_EPARSE (an id out of range; the message
 * names it), LC_ETOOBIG (out's cap), LC_ENOMEM.
 */
int lc_detokenize(const lc_tokenizer *t, const int32_t *ids, size_t n, unsigned flags, lc_buf *out);

/*
 * The bytes token id stands for (llama.cpp's token_to_piece with special
 * text rendered): control tokens give their text, byte tokens their byte,
 * normal tokens their decoded bytes. Borrowed, valid until lc_tokenizer_free;
 * not NUL-terminated when it holds a byte 0. NULL (and *len = 0) for an id out
 * of range.
 */
const char *lc_token_piece(const lc_tokenizer *t, int32_t id, size_t *len);

/* The token's text as stored in the vocabulary; borrowed as above, NUL-terminated. */
const char *lc_tokenizer_text(const lc_tokenizer *t, int32_t id, size_t *len);

/* enum lc_token_type of id (after llama.cpp's fix-ups), -1 when out of range. */
int lc_tokenizer_token_type(const lc_tokenizer *t, int32_t id);

uint32_t lc_tokenizer_n_vocab(const lc_tokenizer *t);
int32_t lc_tokenizer_bos(const lc_tokenizer *t); /* -1 when none */
int32_t lc_tokenizer_eos(const lc_tokenizer *t);
int32_t lc_tokenizer_eot(const lc_tokenizer *t); /* end of turn: "<|im_end|>", "<|eot_id|>"... */

/* 1 when the model asks for BOS in front of a prompt (add_bos_token). */
int lc_tokenizer_add_bos(const lc_tokenizer *t);

/* "gpt2" or "llama"; and the pre-tokenizer's name ("default" when none). Static/borrowed. */
const char *lc_tokenizer_model(const lc_tokenizer *t);
const char *lc_tokenizer_pre(const lc_tokenizer *t);

/*
 * 1 when id ends generation: EOS, EOT, EOM and the end-of-turn tokens
 * llama.cpp recognises by text ("<|im_end|>", "<|eot_id|>", "<|endoftext|>",
 * "<end_of_turn>", ...). 0 otherwise, also for ids out of range.
 */
int lc_tokenizer_is_eog(const lc_tokenizer *t, int32_t id);

/* Id of the token whose text is exactly text (NUL-terminated), -1 if none. */
int32_t lc_tokenizer_find(const lc_tokenizer *t, const char *text);

/* The same for len bytes at text. */
int32_t lc_tokenizer_find_n(const lc_tokenizer *t, const char *text, size_t len);

#endif
