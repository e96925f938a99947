/*
 * loopguard.h - catch the model repeating itself, at two levels.
 *
 * Token level: while tokens are generated, a periodic tail of token ids is
 * caught as soon as it appears: period p in 1..LC_LOOP_MAX_PERIOD, the cycle
 * seen at least LC_LOOP_MIN_REPEATS times in a row, covering at least
 * LC_LOOP_MIN_SPAN tokens. The guard then says where to roll the KV cache
 * back to (the end of the cycle's first occurrence) and which token to ban at
 * that position (the one that would start the second occurrence), so decoding
 * resumes with the cycle's continuation banned.
 *
 * Tool level: the same tool call (name + arguments), or a cycle of up to
 * LC_LOOP_MAX_CALL_PERIOD calls, repeated LC_LOOP_MIN_REPEATS times in a row.
 * The first time, the agent tells the model so in the observation; the second
 * time, it ends the request.
 */
#ifndef LC_LOOPGUARD_H
#define LC_LOOPGUARD_H

#include <stddef.h>
#include <stdint.h>

#define LC_LOOP_MAX_PERIOD      128
#define LC_LOOP_MIN_REPEATS     3
#define LC_LOOP_MIN_SPAN        48
#define LC_LOOP_MAX_CALL_PERIOD 5

/* Token-level guard over one generation. Caller owns the struct. */
typedef struct lc_token_guard {
	int32_t *tokens; /* generated ids since the guard was reset; owned */
	size_t n, cap;
	/* run[p]: how many of the latest tokens t[i] equal t[i - p] in a row */
	uint32_t run[LC_LOOP_MAX_PERIOD + 1];
} lc_token_guard;

/* A caught cycle. Positions count tokens pushed since the last reset. */
typedef struct lc_loop {
	size_t period;   /* tokens in one cycle */
	size_t start;    /* where the periodic tail begins */
	size_t rollback; /* keep tokens [0, rollback): start + period */
	int32_t banned;  /* token not to sample at position rollback */
} lc_loop;

void lc_token_guard_init(lc_token_guard *g);
void lc_token_guard_release(lc_token_guard *g);

/* Forget every token; keep the allocation. */
void lc_token_guard_reset(lc_token_guard *g);

/*
 * Append one generated token. Returns 1 and fills *loop when the tail is now
 * a cycle as defined above (the smallest such period), 0 when not, LC_ENOMEM.
 */
int lc_token_guard_push(lc_token_guard *g, int32_t token, lc_loop *loop);

/*
 * Drop tokens so that n remain (after a KV rollback); n <= g->n. The run
 * lengths are recomputed, so the guard sees the kept tokens exactly as if
 * only they had been pushed.
 */
void lc_token_guard_truncate(lc_token_guard *g, size_t n);

/* Tool-level guard over one request. */
typedef struct lc_call_guard {
	uint64_t *calls; /* hash of each call's name and canonical arguments; owned */
	size_t n, cap;
	int warned; /* a loop was already reported to the model */
} lc_call_guard;

enum lc_call_verdict {
	LC_CALL_OK = 0,   /* no loop */
	LC_CALL_WARN = 1, /* first loop: tell the model in the observation */
	LC_CALL_STOP = 2  /* loop again after a warning: end the request */
};

void lc_call_guard_init(lc_call_guard *g);
void lc_call_guard_release(lc_call_guard *g);

/*
 * Record a call given by the tool name and its arguments in a canonical
 * form (e.g. cJSON_PrintUnformatted of the parsed arguments, so spacing does
 * not matter). Returns an lc_call_verdict, or LC_ENOMEM. *period_out, if not
 * NULL, gets the cycle length when the verdict is not LC_CALL_OK.
 */
int lc_call_guard_push(lc_call_guard *g, const char *name, const char *args, size_t *period_out);

#endif
