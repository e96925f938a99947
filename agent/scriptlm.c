#include "agent/scriptlm.h"

#include <stdlib.h>
#include <string.h>

#include "src/err.h"
#include "src/file.h"
#include "src/banned.h"

#define SCRIPT_MAX_TOKENS (1 << 20)
#define SCRIPT_FILE_MAX   (16u << 20)

struct turn {
	int32_t *ids;
	size_t n;
};

struct lc_scriptlm {
	const lc_tokenizer *tok;
	struct turn *turns;
	size_t n_turns;
	int n_ctx;
	size_t n_past;    /* tokens in the pretend cache */
	size_t turn_base; /* n_past when the current turn's prompt ended */
	long turn;        /* index of the current turn, -1 before the first */
	size_t evaluated; /* tokens evaluated in all */
};

static int script_eval(void *self, const int32_t *tokens, int n, float *logits)
{
	lc_scriptlm *s = self;
	const struct turn *t;
	int32_t end, next;
	size_t pos;

	(void)tokens;
	if (n < 1)
		return lc_err_set(LC_EPARSE, "script: nothing to evaluate");
	if (s->n_past + (size_t)n > (size_t)s->n_ctx)
		return lc_err_set(LC_ETOOBIG, "script: context of %d tokens is full", s->n_ctx);
	/* One token right after the turn's prompt, or inside it, continues the turn. */
	if (n > 1 || s->turn < 0 || s->n_past + 1 < s->turn_base) {
		s->n_past += (size_t)n;
		s->turn++;
		s->turn_base = s->n_past;
	} else {
		s->n_past += (size_t)n;
	}
	s->evaluated += (size_t)n;
	pos = s->n_past - s->turn_base;
	t = (size_t)s->turn < s->n_turns ? &s->turns[s->turn] : NULL;
	end = lc_tokenizer_eot(s->tok) >= 0 ? lc_tokenizer_eot(s->tok) : lc_tokenizer_eos(s->tok);
	next = t && pos < t->n ? t->ids[pos] : -1;
	for (int i = 0; i < (int)lc_tokenizer_n_vocab(s->tok); i++)
		logits[i] = 0.0f;
	if (end >= 0)
		logits[end] = next >= 0 ? 5.0f : 10.0f;
	if (next >= 0)
		logits[next] = 10.0f;
	return 0;
}

static int script_truncate(void *self, int n)
{
	lc_scriptlm *s = self;

	if (n < 0 || (size_t)n > s->n_past)
		return lc_err_set(LC_EPARSE, "script: cannot truncate to %d of %zu", n, s->n_past);
	s->n_past = (size_t)n;
	return 0;
}

int lc_scriptlm_new(lc_scriptlm **out, const lc_tokenizer *tok, const char *const *turns,
                    size_t n_turns, int n_ctx)
{
	lc_scriptlm *s = calloc(1, sizeof(*s));
	int rc = 0;

	if (!s || !(s->turns = calloc(n_turns ? n_turns : 1, sizeof(*s->turns)))) {
		free(s);
		return lc_err_set(LC_ENOMEM, "out of memory");
	}
	s->tok = tok;
	s->n_ctx = n_ctx;
	s->turn = -1;
	for (size_t i = 0; i < n_turns; i++) {
		/* parse_special: a script may spell special tokens such as <tool_call>. */
		rc = lc_tokenize_alloc(tok, turns[i], strlen(turns[i]), 0, 1, SCRIPT_MAX_TOKENS,
		                       &s->turns[i].ids, &s->turns[i].n);
		if (rc)
			break;
		s->n_turns++;
	}
	if (rc) {
		lc_scriptlm_free(s);
		return rc;
	}
	*out = s;
	return 0;
}

void lc_scriptlm_free(lc_scriptlm *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n_turns; i++)
		free(s->turns[i].ids);
	free(s->turns);
	free(s);
}

void lc_scriptlm_lm(lc_scriptlm *s, lc_lm *lm)
{
	lm->self = s;
	lm->n_vocab = (int)lc_tokenizer_n_vocab(s->tok);
	lm->n_ctx = s->n_ctx;
	lm->eval = script_eval;
	lm->truncate = script_truncate;
}

size_t lc_scriptlm_n_evaluated(const lc_scriptlm *s)
{
	return s->evaluated;
}

size_t lc_scriptlm_n_turns_begun(const lc_scriptlm *s)
{
	return (size_t)(s->turn + 1);
}

void lc_scriptlm_turns_free(char **turns, size_t n)
{
	for (size_t i = 0; i < n && turns; i++)
		free(turns[i]);
	free(turns);
}

int lc_scriptlm_read(const char *path, char ***turns_out, size_t *n_out)
{
	static const char sep[] = "--- turn ---\n";
	char *data, *p, **turns = NULL;
	size_t len, n = 0;
	int rc;

	if ((rc = lc_file_read(path, SCRIPT_FILE_MAX, &data, &len)))
		return rc;
	p = data;
	for (;;) {
		char *next = strstr(p, sep), **grown;
		size_t tlen;

		while (next && next != data && next[-1] != '\n')
			next = strstr(next + 1, sep);
		tlen = next ? (size_t)(next - p) : strlen(p);
		/* The newline before a separator belongs to it. */
		if (next && tlen > 0 && p[tlen - 1] == '\n')
			tlen--;
		grown = realloc(turns, (n + 1) * sizeof(*turns));
		if (!grown || !(grown[n] = malloc(tlen + 1))) {
			turns = grown ? grown : turns;
			lc_scriptlm_turns_free(turns, n);
			free(data);
			return lc_err_set(LC_ENOMEM, "out of memory");
		}
		turns = grown;
		memcpy(turns[n], p, tlen);
		turns[n][tlen] = '\0';
		n++;
		if (!next)
			break;
		p = next + strlen(sep);
	}
	free(data);
	*turns_out = turns;
	*n_out = n;
	return 0;
}
