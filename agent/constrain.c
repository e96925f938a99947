#include "agent/constrain.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "src/err.h"
#include "src/banned.h"

#define MAX_DEPTH      16  /* JSON nesting the recogniser follows */
#define MAX_TEXT       255 /* bytes of a tool name, key, enum value or path being matched */
#define MAX_PEND       16  /* bytes of a quoted block held until their line shows its kind */
#define MAX_WS         32  /* consecutive white space bytes allowed inside a call */
#define MAX_PROPS      64  /* properties per object schema */
#define MAX_INT_DIGITS 15  /* digits of an integer part */
#define INT_LIMIT      1000000000000000LL /* 10^15: integer parts stay below it */
#define NO_BOUND       ((int64_t)1 << 60) /* a length or count bound that is absent */

enum mode {
	M_FREE,        /* outside a call; watching for the trigger */
	M_NOCALL,      /* Llama 3: the message did not open with a call */
	M_L3_START,    /* Llama 3: before the first non-space byte */
	M_MISTRAL_ARR, /* Mistral: after [TOOL_CALLS], expecting '[' */
	M_JSON,        /* inside a JSON call: the frame stack decides */
	M_AFTER,       /* a JSON call object closed */
	M_REACT,       /* inside a ReAct call: rstate decides */
	M_DONE         /* nothing more but white space */
};

enum frame_kind { F_CALL, F_OBJECT, F_ARRAY, F_STRING, F_NUMBER, F_LITERAL };

enum obj_state { O_START, O_KEY, O_COLON, O_VALUE, O_NEXT, O_KEY_EXPECT };
enum arr_state { A_START, A_VALUE, A_NEXT };
/* S_U*: the hex digits of \uXXXX; S_LOW_*, S_L*: the \uXXXX of a low surrogate owed. */
enum str_state {
	S_CHARS,
	S_ESC,
	S_U1,
	S_U2,
	S_U3,
	S_U4,
	S_LOW_BS,
	S_LOW_U,
	S_L1,
	S_L2,
	S_L3,
	S_L4
};
enum num_state { N_START, N_SIGN, N_ZERO, N_INT, N_FRAC0, N_FRAC, N_EXP0, N_EXPSIGN, N_EXP };

enum react_state {
	R_ACT_SP,
	R_NAME,
	R_ARG_START,
	R_KEY,
	R_AFTER_COLON,
	R_VALUE_START,
	R_LINE,
	R_ENUM,
	R_PATH,
	R_VALUE_END,
	R_BLOCK_OPEN,
	R_BLOCK
};

struct frame {
	uint8_t kind, st;
	uint8_t is_int;          /* number: integer only; lo/hi apply digit by digit */
	uint8_t no_minus;        /* number, not integer only: minimum >= 0 */
	uint8_t neg;             /* number: began with '-' */
	uint8_t enum_match;      /* string: value must be one of schema's enum (or a tool name) */
	uint8_t lit_pos;         /* literal: bytes matched; number: digits of the integer part */
	uint16_t esc;            /* string: the hex digits of the \u escape read so far */
	const char *lit;         /* literal: "true", "false" or "null" */
	const cJSON *schema;     /* this value's schema; NULL = any JSON */
	const cJSON *val_schema; /* object: schema of the current key's value */
	uint64_t seen, required; /* object: property bits */
	/* number: magnitude of the integer part; string: code points; array: items so far */
	int64_t n;
	/* number: minimum/maximum (integers only); string: minLength/maxLength; array: items */
	int64_t lo, hi;
	int8_t key_idx; /* object: current key's property index, -1 = other */
};

struct state {
	uint8_t mode, rstate;
	uint8_t trig_pos; /* free mode: bytes of the trigger matched */
	uint8_t ws;       /* consecutive white space inside a call */
	uint8_t after_pos;
	uint8_t depth;
	uint8_t text_len;
	/* ReAct block: how this line matches the closing line >>>[ \t]*\r?: 0-3 '>' read,
	 * 3 also after blanks, 4 after the '\r', 255 = it is content */
	uint8_t block_close;
	int16_t tool; /* index of the called tool, -1 before it is known */
	int n_calls;
	uint64_t seen, required; /* ReAct: argument bits */
	const cJSON *val_schema; /* ReAct: schema of the current argument */
	int8_t key_idx;
	/* ReAct, with files set: what the current argument is bound to (B_*), the
	 * file its path argument named (-1: none yet), and for a quoted block the
	 * first line-start occurrence [q_off, q_off + q_len) of its settled text in
	 * that file, plus bytes that may still turn out to close the block */
	uint8_t bind;
	uint8_t q_npend;
	int32_t file;
	size_t q_off, q_len;
	char q_pend[MAX_PEND];
	/* ReAct string: code points so far (a line: up to its last non-blank byte; a
	 * block: of its finished lines) and pending ones (a line: blanks after
	 * them; a block: the current line) */
	int64_t r_len, r_pend;
	char text[MAX_TEXT];
	struct frame stack[MAX_DEPTH];
};

struct lc_constraint {
	enum lc_call_format fmt;
	const cJSON *tools;
	int n_tools;
	const char *trigger;
	const char *args_key;      /* "arguments" or "parameters" */
	lc_constraint_files files; /* n_paths == 0: none */
	struct state st;
};

enum binding { B_NONE, B_PATH, B_DIR_OR_PATH, B_QUOTE };

/* --- schema helpers ---------------------------------------------------- */

static const cJSON *tool_fn(const lc_constraint *c, int i)
{
	return cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(c->tools, i), "function");
}

static const char *tool_name(const lc_constraint *c, int i)
{
	const cJSON *n = cJSON_GetObjectItemCaseSensitive(tool_fn(c, i), "name");
	return cJSON_IsString(n) ? n->valuestring : "";
}

static const cJSON *tool_params(const lc_constraint *c, int i)
{
	return cJSON_GetObjectItemCaseSensitive(tool_fn(c, i), "parameters");
}

static int type_allows(const cJSON *schema, const char *type)
{
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(schema, "type"), *x;

	if (!t)
		return 1;
	if (cJSON_IsString(t))
		return strcmp(t->valuestring, type) == 0 ||
		       (strcmp(t->valuestring, "number") == 0 && strcmp(type, "integer") == 0);
	cJSON_ArrayForEach(x, t)
	{
		if (cJSON_IsString(x) &&
		    (strcmp(x->valuestring, type) == 0 ||
		     (strcmp(x->valuestring, "number") == 0 && strcmp(type, "integer") == 0)))
			return 1;
	}
	return 0;
}

static const cJSON *schema_enum(const cJSON *schema)
{
	const cJSON *e = cJSON_GetObjectItemCaseSensitive(schema, "enum");
	return cJSON_IsArray(e) ? e : NULL;
}

enum rounding { B_CEIL, B_FLOOR, B_TRUNC };

/*
 * An integer bound from keyword kw of schema, rounded as lc_schema_validate
 * compares it: an integer v >= m iff v >= ceil(m), v <= m iff v <= floor(m);
 * lengths are cast to size_t there, which truncates. dflt when absent.
 */
static int64_t bound(const cJSON *schema, const char *kw, enum rounding r, int64_t dflt)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(schema, kw);
	double d;

	if (!cJSON_IsNumber(v))
		return dflt;
	d = r == B_CEIL    ? ceil(v->valuedouble)
	    : r == B_FLOOR ? floor(v->valuedouble)
	                   : trunc(v->valuedouble);
	if (d >= (double)NO_BOUND)
		return NO_BOUND;
	if (d <= -(double)NO_BOUND)
		return -NO_BOUND;
	return (int64_t)d;
}

/* minLength and maxLength of a string schema, in code points. */
static void length_bounds(const cJSON *schema, int64_t *lo, int64_t *hi)
{
	*lo = bound(schema, "minLength", B_TRUNC, 0);
	*hi = bound(schema, "maxLength", B_TRUNC, NO_BOUND);
}

/* JSON Schema counts code points; tools/schema.c counts the bytes that do not
 * continue a UTF-8 sequence, and so does this. */
static int starts_code_point(int b)
{
	return (b & 0xC0) != 0x80;
}

static int extra_allowed(const cJSON *schema)
{
	return !cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(schema, "additionalProperties"));
}

static const cJSON *props_of(const cJSON *schema)
{
	return cJSON_GetObjectItemCaseSensitive(schema, "properties");
}

/* The property bits of the names in list (a JSON array of strings). */
static uint64_t name_bits(const cJSON *schema, const cJSON *req)
{
	const cJSON *r, *p;
	uint64_t bits = 0;

	cJSON_ArrayForEach(r, req)
	{
		int i = 0;
		if (!cJSON_IsString(r))
			continue;
		cJSON_ArrayForEach(p, props_of(schema))
		{
			if (i < MAX_PROPS && strcmp(p->string, r->valuestring) == 0)
				bits |= 1ull << i;
			i++;
		}
	}
	return bits;
}

/* Does text (n bytes) start some allowed key? exact: must equal one. Returns the
 * property index (>= 0), -1 for an additional key, -2 when not allowed. */
static int key_match(const cJSON *schema, uint64_t seen, const char *text, size_t n, int exact)
{
	const cJSON *p;
	int i = 0;

	cJSON_ArrayForEach(p, props_of(schema))
	{
		size_t len = strlen(p->string);
		if (i < MAX_PROPS && !(seen & (1ull << i)) && len >= n &&
		    memcmp(p->string, text, n) == 0 && (!exact || len == n))
			return i;
		i++;
	}
	return extra_allowed(schema) ? -1 : -2;
}

static const cJSON *prop_at(const cJSON *schema, int idx)
{
	return cJSON_GetArrayItem(props_of(schema), idx);
}

static uint64_t required_bits(const cJSON *schema)
{
	return name_bits(schema, cJSON_GetObjectItemCaseSensitive(schema, "required"));
}

/* What property idx, once given, makes required too ("dependentRequired"). */
static uint64_t dependent_bits(const cJSON *schema, int idx)
{
	const cJSON *p = prop_at(schema, idx);

	return p ? name_bits(schema,
	                     cJSON_GetObjectItemCaseSensitive(
	                             cJSON_GetObjectItemCaseSensitive(schema, "dependentRequired"),
	                             p->string))
	         : 0;
}

/* Does text start (or, exact, equal) a string in list? For enums and tool names. */
static int enum_match(const cJSON *list, const char *text, size_t n, int exact)
{
	const cJSON *e;
	int i = 0;

	cJSON_ArrayForEach(e, list)
	{
		if (cJSON_IsString(e) && strlen(e->valuestring) >= n &&
		    memcmp(e->valuestring, text, n) == 0 && (!exact || strlen(e->valuestring) == n))
			return i;
		i++;
	}
	return -1;
}

static int tool_match(const lc_constraint *c, const char *text, size_t n, int exact)
{
	for (int i = 0; i < c->n_tools; i++) {
		const char *nm = tool_name(c, i);
		if (strlen(nm) >= n && memcmp(nm, text, n) == 0 && (!exact || strlen(nm) == n))
			return i;
	}
	return -1;
}

static int is_ws(int b)
{
	return b == ' ' || b == '\t' || b == '\n' || b == '\r';
}

static int text_add(struct state *s, int b)
{
	if (s->text_len >= MAX_TEXT)
		return 0;
	s->text[s->text_len++] = (char)b;
	return 1;
}

/* --- files: paths named and lines quoted (ReAct) --------------------- */

/* How argument key (n bytes) of the called tool is bound (B_*). */
static uint8_t binding_of(const lc_constraint *c, const struct state *s, const char *key, size_t n)
{
	const lc_constraint_files *f = &c->files;
	const char *tool = s->tool >= 0 ? tool_name(c, s->tool) : "";

	for (size_t i = 0; i < f->n_binds; i++) {
		const lc_constraint_bind *b = &f->binds[i];
		if (strcmp(b->tool, tool) != 0)
			continue;
		if (strlen(b->path_arg) == n && memcmp(b->path_arg, key, n) == 0)
			return b->dirs ? B_DIR_OR_PATH : B_PATH;
		if (b->quote_arg && strlen(b->quote_arg) == n && memcmp(b->quote_arg, key, n) == 0)
			return B_QUOTE;
	}
	return B_NONE;
}

/*
 * The listed path that text (n bytes) starts (or, exact, equals); -1 = none.
 * With dirs, an exact text may also be a directory holding a listed path
 * ("src" or "src/" for "src/a.c"; "." for any): then -2.
 */
static int32_t path_match(const lc_constraint *c, const char *text, size_t n, int exact, int dirs)
{
	int32_t dir = -1;

	if (dirs && (n == 0 || (n == 1 && text[0] == '.')))
		return exact && n ? -2 : 0;
	for (size_t i = 0; i < c->files.n_paths; i++) {
		const char *p = c->files.paths[i];
		size_t len = strlen(p);
		if (len < n || memcmp(p, text, n) != 0)
			continue;
		if (!exact || len == n)
			return (int32_t)i;
		if (dirs && (text[n - 1] == '/' || p[n] == '/'))
			dir = -2;
	}
	return dir;
}

/* Is there a named, readable, non-empty file to quote? */
static int quotable(const lc_constraint *c, const struct state *s)
{
	const char *t;
	size_t len;

	return s->file >= 0 && c->files.read(c->files.ud, (size_t)s->file, &t, &len) == 0 &&
	       len > 0;
}

/*
 * Can the settled quote be extended by e (n bytes)? The quote is whole lines
 * of the file, so it must start at a line start; a file whose last line has
 * no newline reads as if it had one. On success *off is the first such
 * occurrence at or after the current one (any occurrence of the longer text
 * is one of the shorter).
 */
static int quote_extends(const lc_constraint *c, const struct state *s, const char *e, size_t n,
                         size_t *off)
{
	const char *t;
	size_t len, end;

	if (c->files.read(c->files.ud, (size_t)s->file, &t, &len) || len == 0)
		return 0;
	end = len + (t[len - 1] != '\n');
	for (size_t q = s->q_off; q + s->q_len + n <= end; q++) {
		size_t k = 0;
		if (q > 0 && t[q - 1] != '\n')
			continue;
		if (q != s->q_off && memcmp(t + q, t + s->q_off, s->q_len) != 0)
			continue;
		while (k < n && (q + s->q_len + k < len ? t[q + s->q_len + k] : '\n') == e[k])
			k++;
		if (k == n) {
			*off = q;
			return 1;
		}
	}
	return 0;
}

/* --- JSON frames ------------------------------------------------------- */

static struct frame *top(struct state *s)
{
	return &s->stack[s->depth - 1];
}

static int push(struct state *s, const struct frame *f)
{
	if (s->depth >= MAX_DEPTH)
		return 0;
	s->stack[s->depth++] = *f;
	return 1;
}

static int value_done(const lc_constraint *c, struct state *s);

/* Do the values of magnitude [a, b], signed as f's number, meet [f->lo, f->hi]? */
static int span_meets(const struct frame *f, int64_t a, int64_t b)
{
	int64_t x = f->neg ? -b : a, y = f->neg ? -a : b;

	return x <= f->hi && y >= f->lo;
}

/*
 * Can the integer begun in f still end in [lo, hi]? Its completions: after a
 * lone '-', every magnitude below INT_LIMIT (-0 included); after "0" or "-0",
 * 0; after k digits of value d, d * 10^j + [0, 10^j) for each j with
 * k + j <= MAX_INT_DIGITS. A prefix is allowed iff one of them is in range,
 * so a refused byte is the first one after which no valid integer exists.
 */
static int int_reachable(const struct frame *f)
{
	int64_t p = 1;

	if (f->st == N_SIGN)
		return span_meets(f, 0, INT_LIMIT - 1);
	if (f->st == N_ZERO)
		return span_meets(f, 0, 0);
	for (int k = f->lit_pos; k <= MAX_INT_DIGITS; k++, p *= 10)
		if (span_meets(f, f->n * p, (f->n + 1) * p - 1))
			return 1;
	return 0;
}

/* Start a value whose first byte is b, under schema (NULL = any). */
static int value_begin(const lc_constraint *c, struct state *s, const cJSON *schema, int b)
{
	struct frame f = {0};
	const cJSON *en = schema_enum(schema);

	f.schema = schema;
	f.key_idx = -1;
	if (en) {
		/* Enums of strings only: the value must be one of them. */
		if (b != '"')
			return 0;
		f.kind = F_STRING;
		f.enum_match = 1;
		s->text_len = 0;
		return push(s, &f);
	}
	switch (b) {
	case '"':
		if (!type_allows(schema, "string"))
			return 0;
		f.kind = F_STRING;
		length_bounds(schema, &f.lo, &f.hi);
		return push(s, &f);
	case '{':
		if (!type_allows(schema, "object"))
			return 0;
		f.kind = F_OBJECT;
		f.st = O_START;
		f.required = required_bits(schema);
		return push(s, &f);
	case '[':
		if (!type_allows(schema, "array"))
			return 0;
		f.kind = F_ARRAY;
		f.st = A_START;
		f.lo = bound(schema, "minItems", B_CEIL, 0);
		f.hi = bound(schema, "maxItems", B_FLOOR, NO_BOUND);
		return push(s, &f);
	case 't':
	case 'f':
	case 'n':
		if (!type_allows(schema, b == 'n' ? "null" : "boolean"))
			return 0;
		f.kind = F_LITERAL;
		f.lit = b == 't' ? "true" : b == 'f' ? "false" : "null";
		f.lit_pos = 1;
		return push(s, &f);
	default:
		if (b != '-' && !(b >= '0' && b <= '9'))
			return 0;
		if (!type_allows(schema, "integer"))
			return 0;
		f.kind = F_NUMBER;
		f.is_int = !type_allows(schema, "number");
		if (f.is_int) {
			f.lo = bound(schema, "minimum", B_CEIL, -INT_LIMIT);
			f.hi = bound(schema, "maximum", B_FLOOR, INT_LIMIT);
		} else {
			/* NEEDSWORK: bounds of non-integer numbers are checked after
			 * decoding; an exact prefix test would have to round as strtod. */
			const cJSON *mn = cJSON_GetObjectItemCaseSensitive(schema, "minimum");
			f.no_minus = cJSON_IsNumber(mn) && mn->valuedouble >= 0;
		}
		if (b == '-') {
			if (f.no_minus)
				return 0;
			f.neg = 1;
			f.st = N_SIGN;
		} else {
			f.st = b == '0' ? N_ZERO : N_INT;
			f.n = b - '0';
			f.lit_pos = 1;
		}
		if (f.is_int && !int_reachable(&f))
			return 0;
		return push(s, &f);
	}
}

static int ws_ok(struct state *s, int b)
{
	if (!is_ws(b)) {
		s->ws = 0;
		return 0;
	}
	return ++s->ws <= MAX_WS;
}

static int feed_byte(const lc_constraint *c, struct state *s, int b);

/* A number ends at the first byte that cannot continue it; that byte goes to the parent. */
static int number_byte(const lc_constraint *c, struct state *s, struct frame *f, int b)
{
	int digit = b >= '0' && b <= '9';

	switch (f->st) {
	case N_SIGN:
		if (!digit)
			return 0;
		f->st = b == '0' ? N_ZERO : N_INT;
		f->n = b - '0';
		f->lit_pos = 1;
		return !f->is_int || int_reachable(f);
	case N_ZERO:
	case N_INT:
		/* Integer parts stay exact in a double: at most 15 digits. */
		if (digit && f->st == N_INT) {
			if (f->lit_pos >= MAX_INT_DIGITS)
				return 0;
			f->lit_pos++;
			f->n = f->n * 10 + (b - '0');
			return !f->is_int || int_reachable(f);
		}
		if (!f->is_int && b == '.') {
			f->st = N_FRAC0;
			return 1;
		}
		if (!f->is_int && (b == 'e' || b == 'E')) {
			f->st = N_EXP0;
			return 1;
		}
		if (digit) /* no leading zeros */
			return 0;
		break;
	case N_FRAC0:
		if (!digit)
			return 0;
		f->st = N_FRAC;
		return 1;
	case N_FRAC:
		if (digit)
			return 1;
		if (b == 'e' || b == 'E') {
			f->st = N_EXP0;
			return 1;
		}
		break;
	case N_EXP0:
		if (b == '+' || b == '-') {
			f->st = N_EXPSIGN;
			return 1;
		}
		/* fall through */
	case N_EXPSIGN:
		if (!digit)
			return 0;
		f->st = N_EXP;
		return 1;
	case N_EXP:
		if (digit)
			return 1;
		break;
	}
	/* Complete: pop, then the parent takes b. */
	if (f->is_int && !span_meets(f, f->n, f->n))
		return 0;
	if (!value_done(c, s))
		return 0;
	return feed_byte(c, s, b);
}

static int hex_digit(int b)
{
	if (b >= '0' && b <= '9')
		return b - '0';
	if (b >= 'a' && b <= 'f')
		return b - 'a' + 10;
	if (b >= 'A' && b <= 'F')
		return b - 'A' + 10;
	return -1;
}

/*
 * A \uXXXX escape, digit by digit, as cJSON decodes it: U+0000 would cut
 * the string short and a lone surrogate fails to parse, so a high surrogate
 * (D800-DBFF) must be followed by the \uXXXX of a low one (DC00-DFFF) and
 * neither may appear alone.
 */
static int unicode_byte(struct frame *f, int b)
{
	int h = hex_digit(b);

	if (h < 0)
		return 0;
	f->esc = (uint16_t)(f->esc << 4 | h);
	switch (f->st) {
	case S_U2:
		if (f->esc >= 0xDC && f->esc <= 0xDF)
			return 0;
		break;
	case S_U4:
		if (f->esc == 0)
			return 0;
		f->st = f->esc >= 0xD800 && f->esc <= 0xDBFF ? S_LOW_BS : S_CHARS;
		return 1;
	case S_L1:
		if (h != 0xD)
			return 0;
		break;
	case S_L2:
		if (f->esc < 0xDC || f->esc > 0xDF)
			return 0;
		break;
	case S_L4:
		f->st = S_CHARS;
		return 1;
	}
	f->st++;
	return 1;
}

static int string_byte(const lc_constraint *c, struct state *s, struct frame *f, int b)
{
	switch (f->st) {
	case S_CHARS:
		if (b == '"') {
			if (f->enum_match) {
				const cJSON *list = schema_enum(f->schema);
				int idx = list ? enum_match(list, s->text, s->text_len, 1)
				               : tool_match(c, s->text, s->text_len, 1);
				if (idx < 0)
					return 0;
				if (!list)
					s->tool = (int16_t)idx;
			} else if (f->n < f->lo) {
				return 0; /* minLength */
			}
			return value_done(c, s);
		}
		if (b < 0x20)
			return 0;
		if (f->enum_match) {
			const cJSON *list = schema_enum(f->schema);
			if (b == '\\' || !text_add(s, b))
				return 0;
			return list ? enum_match(list, s->text, s->text_len, 0) >= 0
			            : tool_match(c, s->text, s->text_len, 0) >= 0;
		}
		/* Every escape, a surrogate pair too, decodes to one code point. */
		if (b == '\\' || starts_code_point(b)) {
			if (f->n >= f->hi)
				return 0; /* maxLength */
			f->n++;
		}
		if (b == '\\')
			f->st = S_ESC;
		return 1;
	case S_ESC:
		if (b == 'u') {
			f->st = S_U1;
			f->esc = 0;
			return 1;
		}
		if (!strchr("\"\\/bfnrt", b) || b == 0)
			return 0;
		f->st = S_CHARS;
		return 1;
	case S_LOW_BS:
		if (b != '\\')
			return 0;
		f->st = S_LOW_U;
		return 1;
	case S_LOW_U:
		if (b != 'u')
			return 0;
		f->st = S_L1;
		f->esc = 0;
		return 1;
	default: /* S_U1..S_U4, S_L1..S_L4 */
		return unicode_byte(f, b);
	}
}

/* The call object: {"name": <tool>, "<args_key>": <that tool's parameters>}. */
static int call_key_byte(const lc_constraint *c, struct state *s, struct frame *f, int b)
{
	const char *want = f->seen == 0 ? "name" : c->args_key;

	if (b == '"') {
		if (s->text_len != strlen(want))
			return 0;
		f->key_idx = f->seen == 0 ? 0 : 1;
		f->st = O_COLON;
		return 1;
	}
	if (!text_add(s, b) || s->text_len > strlen(want) || want[s->text_len - 1] != b)
		return 0;
	return 1;
}

static int object_byte(const lc_constraint *c, struct state *s, struct frame *f, int b)
{
	int is_call = f->kind == F_CALL;

	switch (f->st) {
	case O_START:
	case O_KEY_EXPECT:
		if (ws_ok(s, b))
			return 1;
		if (b == '}' && f->st == O_START) {
			if (is_call || (f->required & ~f->seen))
				return 0;
			return value_done(c, s);
		}
		if (b != '"')
			return 0;
		s->text_len = 0;
		f->st = O_KEY;
		return 1;
	case O_KEY:
		if (is_call)
			return call_key_byte(c, s, f, b);
		if (b == '"') {
			int idx = key_match(f->schema, f->seen, s->text, s->text_len, 1);
			if (idx == -2 || s->text_len == 0)
				return 0;
			f->key_idx = (int8_t)idx;
			if (idx >= 0) {
				f->seen |= 1ull << idx;
				f->required |= dependent_bits(f->schema, idx);
				f->val_schema = prop_at(f->schema, idx);
			} else {
				const cJSON *extra = cJSON_GetObjectItemCaseSensitive(
				        f->schema, "additionalProperties");
				f->val_schema = cJSON_IsObject(extra) ? extra : NULL;
			}
			f->st = O_COLON;
			return 1;
		}
		if (b == '\\' || b < 0x20 || !text_add(s, b))
			return 0;
		return key_match(f->schema, f->seen, s->text, s->text_len, 0) != -2;
	case O_COLON:
		if (ws_ok(s, b))
			return 1;
		if (b != ':')
			return 0;
		f->st = O_VALUE;
		return 1;
	case O_VALUE:
		if (ws_ok(s, b))
			return 1;
		f->st = O_NEXT;
		if (is_call) {
			if (f->key_idx == 0) {
				/* The name: a string that must be a tool's name. */
				struct frame nf = {0};
				if (b != '"')
					return 0;
				nf.kind = F_STRING;
				nf.enum_match = 1;
				s->text_len = 0;
				f->seen = 1;
				return push(s, &nf);
			}
			f->seen = 3;
			if (b != '{')
				return 0;
			return value_begin(c, s, tool_params(c, s->tool), b);
		}
		return value_begin(c, s, f->val_schema, b);
	case O_NEXT:
		if (ws_ok(s, b))
			return 1;
		if (b == ',') {
			/* Only when another key can follow. */
			if (is_call ? f->seen == 3 : key_match(f->schema, f->seen, "", 0, 0) == -2)
				return 0;
			f->st = O_KEY_EXPECT;
			return 1;
		}
		if (b != '}')
			return 0;
		if (is_call ? f->seen != 3 : (f->required & ~f->seen) != 0)
			return 0;
		return value_done(c, s);
	}
	return 0;
}

/* minItems/maxItems are kept at the byte that would break them: ']' or ','. */
static int array_byte(const lc_constraint *c, struct state *s, struct frame *f, int b)
{
	const cJSON *items = cJSON_GetObjectItemCaseSensitive(f->schema, "items");

	if (ws_ok(s, b))
		return 1;
	switch (f->st) {
	case A_START:
		if (b == ']')
			return f->lo <= 0 && value_done(c, s);
		if (f->hi < 1)
			return 0;
		/* fall through */
	case A_VALUE:
		f->st = A_NEXT;
		f->n++;
		return value_begin(c, s, items, b);
	case A_NEXT:
		if (b == ',') {
			if (f->n >= f->hi)
				return 0;
			f->st = A_VALUE;
			return 1;
		}
		return b == ']' && f->n >= f->lo && value_done(c, s);
	}
	return 0;
}

/* The value on top of the stack is complete: pop it and tell the parent. */
static int value_done(const lc_constraint *c, struct state *s)
{
	s->depth--;
	s->ws = 0;
	if (s->depth > 0)
		return 1; /* parents already moved to their "next" state */
	if (s->mode == M_REACT) {
		s->rstate = R_VALUE_END;
		return 1;
	}
	/* The call object closed. */
	s->mode = M_AFTER;
	s->after_pos = 0;
	s->n_calls++;
	return 1;
}

static int json_byte(const lc_constraint *c, struct state *s, int b)
{
	struct frame *f = top(s);

	switch (f->kind) {
	case F_CALL:
	case F_OBJECT:
		return object_byte(c, s, f, b);
	case F_ARRAY:
		return array_byte(c, s, f, b);
	case F_STRING:
		return string_byte(c, s, f, b);
	case F_NUMBER:
		return number_byte(c, s, f, b);
	case F_LITERAL:
		if (f->lit[f->lit_pos] != b)
			return 0;
		if (f->lit[++f->lit_pos] == '\0')
			return value_done(c, s);
		return 1;
	}
	return 0;
}

static int start_call(const lc_constraint *c, struct state *s)
{
	struct frame f = {0};

	f.kind = F_CALL;
	f.st = O_START;
	s->mode = M_JSON;
	s->depth = 0;
	s->tool = -1;
	s->ws = 0;
	return push(s, &f);
}

/* --- ReAct ------------------------------------------------------------- */

static const char *react_type(const cJSON *schema)
{
	static const char *const types[] = {"string", "integer", "number", "boolean"};

	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (type_allows(schema, types[i]))
			return types[i];
	return "string";
}

/* White space as the ReAct parser trims it (isspace in the C locale). */
static int is_c_space(int b)
{
	return is_ws(b) || b == '\v' || b == '\f';
}

/*
 * A byte of a one-line string value. The parser trims the line, so blanks
 * count only once a later byte follows them: r_len holds the code points up
 * to the last non-blank byte, r_pend the blanks after it.
 */
static int line_byte(struct state *s, int b)
{
	int64_t lo, hi, n;

	if (is_c_space(b)) {
		s->r_pend++;
		return 1;
	}
	length_bounds(s->val_schema, &lo, &hi);
	n = s->r_len + s->r_pend + starts_code_point(b);
	if (n > hi)
		return 0; /* maxLength */
	s->r_len = n;
	s->r_pend = 0;
	return 1;
}

/*
 * A byte of a <<< block. The value is every line before the closing one,
 * newlines included; the parser closes at a line that is >>> followed by
 * blanks and an optional '\r'. Until the line shows whether it closes, its
 * code points wait in r_pend. A byte is allowed while a valid ending
 * remains: closing at this line, or ending it as content within maxLength.
 */
static int block_byte(struct state *s, int b)
{
	int64_t lo, hi;

	length_bounds(s->val_schema, &lo, &hi);
	if (b == '\n') {
		if (s->block_close == 3 || s->block_close == 4) {
			if (s->r_len < lo)
				return 0; /* minLength */
			s->rstate = R_ARG_START;
			return 1;
		}
		if (s->r_len + s->r_pend + 1 > hi)
			return 0; /* maxLength */
		s->r_len += s->r_pend + 1;
		s->r_pend = 0;
		s->block_close = 0;
		return 1;
	}
	if (s->block_close < 3 && b == '>')
		s->block_close++;
	else if (s->block_close == 3 && b == '\r')
		s->block_close = 4;
	else if (!(s->block_close == 3 && (b == ' ' || b == '\t')))
		s->block_close = 255;
	s->r_pend += starts_code_point(b);
	return (s->block_close != 255 && s->r_len >= lo) || s->r_len + s->r_pend + 1 <= hi;
}

/*
 * A byte of a quoted <<< block: block_byte's rules, and the text must stay
 * consecutive whole lines of the named file. Bytes that may yet close the
 * block (a line starting ">>>") wait in q_pend; they are allowed while
 * closing is possible (some text settled) or they can still be content.
 */
static int quote_byte(const lc_constraint *c, struct state *s, int b)
{
	size_t off;
	char e[MAX_PEND + 1];
	size_t n = s->q_npend;

	if (!block_byte(s, b))
		return 0;
	if (s->rstate != R_BLOCK)
		return s->q_len > 0; /* closed: an empty quote matches nothing */
	memcpy(e, s->q_pend, n);
	e[n++] = (char)b;
	if (b != '\n' && s->block_close != 255) {
		if (n > MAX_PEND)
			return 0;
		memcpy(s->q_pend, e, n);
		s->q_npend = (uint8_t)n;
		return s->q_len > 0 || quote_extends(c, s, e, n, &off);
	}
	if (!quote_extends(c, s, e, n, &off))
		return 0;
	s->q_off = off;
	s->q_len += n;
	s->q_npend = 0;
	return 1;
}

static int react_byte(const lc_constraint *c, struct state *s, int b)
{
	const cJSON *params = s->tool >= 0 ? tool_params(c, s->tool) : NULL;

	switch (s->rstate) {
	case R_ACT_SP:
		if (b != ' ')
			return 0;
		s->rstate = R_NAME;
		s->text_len = 0;
		return 1;
	case R_NAME:
		if (b == '\n') {
			int t = tool_match(c, s->text, s->text_len, 1);
			if (t < 0)
				return 0;
			s->tool = (int16_t)t;
			s->seen = 0;
			s->file = -1;
			s->required = required_bits(tool_params(c, t));
			s->rstate = R_ARG_START;
			s->n_calls++;
			return 1;
		}
		return text_add(s, b) && tool_match(c, s->text, s->text_len, 0) >= 0;
	case R_ARG_START:
		s->text_len = 0;
		s->rstate = R_KEY;
		/* fall through */
	case R_KEY:
		if (b == ':') {
			int idx = key_match(params, s->seen, s->text, s->text_len, 1);
			if (idx < 0 || s->text_len == 0)
				return 0; /* ReAct arguments must be declared properties */
			s->seen |= 1ull << idx;
			s->required |= dependent_bits(params, idx);
			s->val_schema = prop_at(params, idx);
			s->bind = binding_of(c, s, s->text, s->text_len);
			if (s->bind == B_QUOTE && !quotable(c, s))
				s->bind = B_NONE; /* no file named yet, or nothing in it */
			s->rstate = R_AFTER_COLON;
			return 1;
		}
		if (!((b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z') || b == '_' ||
		      (s->text_len > 0 && b >= '0' && b <= '9')))
			return 0;
		return text_add(s, b) && key_match(params, s->seen, s->text, s->text_len, 0) >= 0;
	case R_AFTER_COLON:
		if (b == '\n') {
			if (strcmp(react_type(s->val_schema), "string") != 0 ||
			    schema_enum(s->val_schema) || s->bind == B_PATH ||
			    s->bind == B_DIR_OR_PATH)
				return 0; /* a path is one line */
			s->rstate = R_BLOCK_OPEN;
			s->after_pos = 0;
			return 1;
		}
		if (b != ' ' || s->bind == B_QUOTE)
			return 0; /* a quote is a block of whole lines */
		s->rstate = R_VALUE_START;
		return 1;
	case R_VALUE_START: {
		const char *type = react_type(s->val_schema);
		if (is_c_space(b))
			return 0;
		if (s->bind == B_PATH || s->bind == B_DIR_OR_PATH) {
			s->text_len = 0;
			s->rstate = R_PATH;
			return react_byte(c, s, b);
		}
		if (schema_enum(s->val_schema)) {
			s->text_len = 0;
			s->rstate = R_ENUM;
			return react_byte(c, s, b);
		}
		if (strcmp(type, "string") == 0) {
			s->rstate = R_LINE;
			s->r_len = 0;
			s->r_pend = 0;
			return line_byte(s, b);
		}
		s->depth = 0;
		if (strcmp(type, "boolean") == 0 && b != 't' && b != 'f')
			return 0;
		return value_begin(c, s, s->val_schema, b);
	}
	case R_LINE: {
		int64_t lo, hi;
		if (b == '\r')
			return 0;
		if (b != '\n')
			return line_byte(s, b);
		length_bounds(s->val_schema, &lo, &hi);
		if (s->r_len < lo)
			return 0; /* minLength */
		s->rstate = R_ARG_START;
		return 1;
	}
	case R_ENUM:
		if (b == '\n') {
			if (enum_match(schema_enum(s->val_schema), s->text, s->text_len, 1) < 0)
				return 0;
			s->rstate = R_ARG_START;
			return 1;
		}
		return text_add(s, b) &&
		       enum_match(schema_enum(s->val_schema), s->text, s->text_len, 0) >= 0;
	case R_PATH:
		if (b == '\n') {
			int32_t i =
			        path_match(c, s->text, s->text_len, 1, s->bind == B_DIR_OR_PATH);
			if (i == -1)
				return 0;
			s->file = i; /* -2, a directory: nothing to quote */
			s->rstate = R_ARG_START;
			return 1;
		}
		return text_add(s, b) &&
		       path_match(c, s->text, s->text_len, 0, s->bind == B_DIR_OR_PATH) >= 0;
	case R_VALUE_END:
		if (b != '\n')
			return 0;
		s->rstate = R_ARG_START;
		return 1;
	case R_BLOCK_OPEN:
		if ("<<<\n"[s->after_pos] != b)
			return 0;
		if (++s->after_pos == 4) {
			s->rstate = R_BLOCK;
			s->block_close = 0;
			s->r_len = 0;
			s->r_pend = 0;
			s->q_off = 0;
			s->q_len = 0;
			s->q_npend = 0;
		}
		return 1;
	case R_BLOCK:
		return s->bind == B_QUOTE ? quote_byte(c, s, b) : block_byte(s, b);
	}
	return 0;
}

/* --- the machine ------------------------------------------------------- */

/* Longest suffix of (matched prefix + b) that is a prefix of trigger. */
static uint8_t trigger_step(const char *trigger, uint8_t pos, int b)
{
	char buf[32];
	size_t n;

	if (trigger[pos] == b)
		return pos + 1;
	n = pos;
	memcpy(buf, trigger, n);
	buf[n++] = (char)b;
	for (size_t k = n - 1; k > 0; k--)
		if (memcmp(buf + n - k, trigger, k) == 0)
			return (uint8_t)k;
	return 0;
}

static int feed_byte(const lc_constraint *c, struct state *s, int b)
{
	switch (s->mode) {
	case M_NOCALL:
	case M_FREE:
		if (s->mode == M_NOCALL)
			return 1;
		s->trig_pos = trigger_step(c->trigger, s->trig_pos, b);
		if (c->trigger[s->trig_pos] != '\0')
			return 1;
		s->trig_pos = 0;
		if (c->fmt == LC_CALL_REACT) {
			s->mode = M_REACT;
			s->rstate = R_ACT_SP;
			s->tool = -1;
			return 1;
		}
		if (c->fmt == LC_CALL_MISTRAL) {
			s->mode = M_MISTRAL_ARR;
			s->ws = 0;
			return 1;
		}
		/* Hermes: the call object follows, after optional white space. */
		s->mode = M_AFTER; /* reuse: wait for '{' */
		s->after_pos = 255;
		s->ws = 0;
		return 1;
	case M_L3_START:
		if (is_ws(b))
			return ws_ok(s, b);
		if (b != '{') {
			s->mode = M_NOCALL;
			return 1;
		}
		return start_call(c, s);
	case M_MISTRAL_ARR:
		if (is_ws(b))
			return ws_ok(s, b);
		if (b != '[')
			return 0;
		s->mode = M_AFTER;
		s->after_pos = 255;
		return 1;
	case M_JSON:
		return json_byte(c, s, b);
	case M_REACT:
		if (s->depth > 0)
			return json_byte(c, s, b);
		return react_byte(c, s, b);
	case M_AFTER:
		if (s->after_pos == 255) {
			/* Before a call object: white space, then '{'. */
			if (is_ws(b))
				return ws_ok(s, b);
			return b == '{' && start_call(c, s);
		}
		if (c->fmt == LC_CALL_HERMES) {
			static const char close[] = "</tool_call>";
			if (s->after_pos == 0 && is_ws(b))
				return ws_ok(s, b);
			if (close[s->after_pos] != b)
				return 0;
			if (close[++s->after_pos] == '\0') {
				s->mode = M_FREE;
				s->trig_pos = 0;
			}
			return 1;
		}
		if (c->fmt == LC_CALL_MISTRAL) {
			if (is_ws(b))
				return ws_ok(s, b);
			if (b == ',') {
				s->after_pos = 255;
				return 1;
			}
			if (b != ']')
				return 0;
			s->mode = M_DONE;
			return 1;
		}
		/* Llama 3: the message is the call; only white space may follow. */
		return is_ws(b) && ws_ok(s, b);
	case M_DONE:
		return is_ws(b) && ws_ok(s, b);
	}
	return 0;
}

static void state_init(const lc_constraint *c, struct state *s)
{
	memset(s, 0, sizeof(*s));
	s->tool = -1;
	s->file = -1;
	s->mode = c->fmt == LC_CALL_LLAMA3 ? M_L3_START : M_FREE;
	/* ReAct's trigger is "\nAction:"; a message starts as if after a newline. */
	s->trig_pos = c->fmt == LC_CALL_REACT ? 1 : 0;
}

int lc_constraint_new(lc_constraint **out, enum lc_call_format fmt, const cJSON *tools)
{
	lc_constraint *c = calloc(1, sizeof(*c));

	if (!c)
		return lc_err_set(LC_ENOMEM, "out of memory");
	c->fmt = fmt;
	c->tools = tools;
	c->n_tools = cJSON_GetArraySize(tools);
	c->args_key = fmt == LC_CALL_LLAMA3 ? "parameters" : "arguments";
	c->trigger = fmt == LC_CALL_HERMES    ? "<tool_call>"
	             : fmt == LC_CALL_MISTRAL ? "[TOOL_CALLS]"
	             : fmt == LC_CALL_REACT   ? "\nAction:"
	                                      : "";
	for (int i = 0; i < c->n_tools; i++) {
		if (cJSON_GetArraySize(props_of(tool_params(c, i))) > MAX_PROPS) {
			lc_err_set(LC_EUNSUPPORTED, "tool '%s' has more than %d arguments",
			           tool_name(c, i), MAX_PROPS);
			free(c);
			return LC_EUNSUPPORTED;
		}
	}
	state_init(c, &c->st);
	*out = c;
	return 0;
}

void lc_constraint_set_files(lc_constraint *c, const lc_constraint_files *files)
{
	static const lc_constraint_files none = {0};

	c->files = files && files->n_paths && files->read ? *files : none;
}

void lc_constraint_free(lc_constraint *c)
{
	free(c);
}

void lc_constraint_reset(lc_constraint *c)
{
	state_init(c, &c->st);
}

int lc_constraint_allows(const lc_constraint *c, const char *bytes, size_t n)
{
	struct state s = c->st;

	for (size_t i = 0; i < n; i++)
		if (!feed_byte(c, &s, (unsigned char)bytes[i]))
			return 0;
	return 1;
}

int lc_constraint_feed(lc_constraint *c, const char *bytes, size_t n)
{
	struct state s = c->st;

	for (size_t i = 0; i < n; i++)
		if (!feed_byte(c, &s, (unsigned char)bytes[i]))
			return lc_err_set(LC_EDENIED,
			                  "constraint: byte %zu of the text is not "
			                  "allowed here",
			                  i);
	c->st = s;
	return 0;
}

int lc_constraint_allows_end(const lc_constraint *c)
{
	const struct state *s = &c->st;
	const struct frame *f;

	switch (s->mode) {
	case M_FREE:
	case M_NOCALL:
	case M_L3_START:
	case M_DONE:
		return 1;
	case M_AFTER:
		return c->fmt == LC_CALL_LLAMA3;
	case M_REACT:
		if ((s->required & ~s->seen) != 0)
			return 0;
		/* At a line start, or right after a complete one-line value: the
		 * parser reads a last line without its newline. */
		if (s->depth == 0) {
			int64_t lo, hi;
			length_bounds(s->val_schema, &lo, &hi);
			return s->rstate == R_ARG_START || s->rstate == R_VALUE_END ||
			       (s->rstate == R_LINE && s->r_len >= lo) ||
			       (s->rstate == R_BLOCK &&
			        (s->block_close == 3 || s->block_close == 4) && s->r_len >= lo &&
			        (s->bind != B_QUOTE || s->q_len > 0)) ||
			       (s->rstate == R_PATH &&
			        path_match(c, s->text, s->text_len, 1, s->bind == B_DIR_OR_PATH) !=
			                -1) ||
			       (s->rstate == R_ENUM && enum_match(schema_enum(s->val_schema),
			                                          s->text, s->text_len, 1) >= 0);
		}
		f = &s->stack[0];
		return s->depth == 1 && f->kind == F_NUMBER &&
		       (f->st == N_ZERO || f->st == N_INT || f->st == N_FRAC || f->st == N_EXP) &&
		       (!f->is_int || span_meets(f, f->n, f->n));
	default:
		return 0;
	}
}

int lc_constraint_in_call(const lc_constraint *c)
{
	switch (c->st.mode) {
	case M_FREE:
	case M_NOCALL:
	case M_L3_START:
		return 0;
	default:
		return 1;
	}
}

int lc_constraint_n_calls(const lc_constraint *c)
{
	return c->st.n_calls;
}
