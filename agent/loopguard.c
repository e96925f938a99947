#include "agent/loopguard.h"

#include <stdlib.h>
#include <string.h>

#include "src/err.h"
#include "src/banned.h"

void lc_token_guard_init(lc_token_guard *g)
{
	memset(g, 0, sizeof(*g));
}

void lc_token_guard_release(lc_token_guard *g)
{
	if (!g)
		return;
	free(g->tokens);
	memset(g, 0, sizeof(*g));
}

void lc_token_guard_reset(lc_token_guard *g)
{
	g->n = 0;
	memset(g->run, 0, sizeof(g->run));
}

static int grow(void **p, size_t *cap, size_t n, size_t elem)
{
	size_t ncap;
	void *q;

	if (n < *cap)
		return 0;
	ncap = *cap ? *cap * 2 : 256;
	q = realloc(*p, ncap * elem);
	if (!q)
		return lc_err_set(LC_ENOMEM, "loop guard: out of memory");
	*p = q;
	*cap = ncap;
	return 0;
}

/* Update the run lengths for the token just appended at index n - 1. */
static void update_runs(lc_token_guard *g)
{
	size_t i = g->n - 1;

	for (size_t p = 1; p <= LC_LOOP_MAX_PERIOD; p++)
		g->run[p] = (i >= p && g->tokens[i] == g->tokens[i - p]) ? g->run[p] + 1 : 0;
}

static int find_cycle(const lc_token_guard *g, lc_loop *loop)
{
	for (size_t p = 1; p <= LC_LOOP_MAX_PERIOD; p++) {
		/* run[p] matches in a row mean the last run[p] + p tokens have period p. */
		size_t span = (size_t)g->run[p] + p;
		size_t need = LC_LOOP_MIN_REPEATS * p;

		if (need < LC_LOOP_MIN_SPAN)
			need = LC_LOOP_MIN_SPAN;
		if (span >= need) {
			loop->period = p;
			loop->start = g->n - span;
			loop->rollback = loop->start + p;
			loop->banned = g->tokens[loop->rollback];
			return 1;
		}
	}
	return 0;
}

int lc_token_guard_push(lc_token_guard *g, int32_t token, lc_loop *loop)
{
	int rc = grow((void **)&g->tokens, &g->cap, g->n, sizeof(*g->tokens));

	if (rc)
		return rc;
	g->tokens[g->n++] = token;
	update_runs(g);
	return find_cycle(g, loop);
}

void lc_token_guard_truncate(lc_token_guard *g, size_t n)
{
	size_t keep = n < g->n ? n : g->n;

	memset(g->run, 0, sizeof(g->run));
	g->n = 0;
	while (g->n < keep) {
		g->n++;
		update_runs(g);
	}
}

void lc_call_guard_init(lc_call_guard *g)
{
	memset(g, 0, sizeof(*g));
}

void lc_call_guard_release(lc_call_guard *g)
{
	if (!g)
		return;
	free(g->calls);
	memset(g, 0, sizeof(*g));
}

/* FNV-1a, 64 bit, over name, a separator and args. */
static uint64_t call_hash(const char *name, const char *args)
{
	uint64_t h = 0xcbf29ce484222325ull;
	const unsigned char *s;

	for (s = (const unsigned char *)name; *s; s++)
		h = (h ^ *s) * 0x100000001b3ull;
	h = (h ^ 0xff) * 0x100000001b3ull;
	for (s = (const unsigned char *)args; *s; s++)
		h = (h ^ *s) * 0x100000001b3ull;
	return h;
}

int lc_call_guard_push(lc_call_guard *g, const char *name, const char *args, size_t *period_out)
{
	int rc = grow((void **)&g->calls, &g->cap, g->n, sizeof(*g->calls));

	if (rc)
		return rc;
	g->calls[g->n++] = call_hash(name, args);
	for (size_t p = 1; p <= LC_LOOP_MAX_CALL_PERIOD; p++) {
		size_t span = LC_LOOP_MIN_REPEATS * p, i;

		if (g->n < span)
			break;
		for (i = g->n - span + p; i < g->n; i++)
			if (g->calls[i] != g->calls[i - p])
				break;
		if (i < g->n)
			continue;
		if (period_out)
			*period_out = p;
		if (g->warned)
			return LC_CALL_STOP;
		/* The history stays: one more call that continues the cycle is
		 * the loop's second occurrence. */
		g->warned = 1;
		return LC_CALL_WARN;
	}
	return LC_CALL_OK;
}
