/*
 * scriptlm.h - a language model that says what a script tells it to.
 *
 * For tests and demonstrations of the agent loop without weights: each turn
 * of the script is a text that is tokenized with the real tokenizer, and the
 * model's logits put that text's next token first (logit 10), the
 * end-of-turn token second (5) and everything else last (0). With greedy
 * sampling the model emits the turn token by token, then ends its turn; a
 * banned or refused token falls back to the next best, as with a real model.
 *
 * A turn begins whenever a prompt is evaluated (more than one token, or a
 * cache rolled back before the turn began); turns past the end of the script
 * are empty (the model ends its turn at once).
 */
#ifndef LC_SCRIPTLM_H
#define LC_SCRIPTLM_H

#include <stddef.h>

#include "agent/generate.h"

typedef struct lc_scriptlm lc_scriptlm;

/*
 * A scripted model over tok (borrowed) with n_turns texts (copied), and a
 * context of n_ctx tokens. Errors: LC_ENOMEM, LC_ETOOBIG (a turn too long).
 */
int lc_scriptlm_new(lc_scriptlm **out, const lc_tokenizer *tok, const char *const *turns,
                    size_t n_turns, int n_ctx);
void lc_scriptlm_free(lc_scriptlm *s);

/* The lc_lm to generate with; valid while s lives. */
void lc_scriptlm_lm(lc_scriptlm *s, lc_lm *lm);

/* Tokens evaluated in all, and the number of turns begun, for tests. */
size_t lc_scriptlm_n_evaluated(const lc_scriptlm *s);
size_t lc_scriptlm_n_turns_begun(const lc_scriptlm *s);

/*
 * Read a script file: turns separated by lines that read exactly
 * "--- turn ---". On success *turns_out is an owned array of owned strings
 * (free with lc_scriptlm_turns_free). Errors as lc_file_read.
 */
int lc_scriptlm_read(const char *path, char ***turns_out, size_t *n_out);
void lc_scriptlm_turns_free(char **turns, size_t n);

#endif
