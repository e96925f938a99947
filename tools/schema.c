#include "tools/schema.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "src/err.h"
#include "src/banned.h"

/* Where in the value a check failed, as "'a'.'b'[3]"; for messages only. */
struct where {
	char path[256];
	size_t len;
};

static void where_push_key(struct where *w, const char *key, size_t *saved)
{
	int n;

	*saved = w->len;
	n = snprintf(w->path + w->len, sizeof(w->path) - w->len, "%s'%s'", w->len ? "." : "", key);
	if (n > 0)
		w->len += (size_t)n < sizeof(w->path) - w->len ? (size_t)n : 0;
}

static void where_push_index(struct where *w, int i, size_t *saved)
{
	int n;

	*saved = w->len;
	n = snprintf(w->path + w->len, sizeof(w->path) - w->len, "[%d]", i);
	if (n > 0)
		w->len += (size_t)n < sizeof(w->path) - w->len ? (size_t)n : 0;
}

static void where_pop(struct where *w, size_t saved)
{
	w->len = saved;
	w->path[saved] = '\0';
}

static const char *where_str(const struct where *w)
{
	return w->len ? w->path : "arguments";
}

static const char *json_type_name(const cJSON *v)
{
	if (cJSON_IsObject(v))
		return "object";
	if (cJSON_IsArray(v))
		return "array";
	if (cJSON_IsString(v))
		return "string";
	if (cJSON_IsNumber(v))
		return v->valuedouble == floor(v->valuedouble) && fabs(v->valuedouble) < 9.007e15
		               ? "integer"
		               : "number";
	if (cJSON_IsBool(v))
		return "boolean";
	if (cJSON_IsNull(v))
		return "null";
	return "invalid";
}

static int type_matches(const char *want, const cJSON *v)
{
	const char *got = json_type_name(v);

	if (strcmp(want, got) == 0)
		return 1;
	return strcmp(want, "number") == 0 && strcmp(got, "integer") == 0;
}

static int check_type(const cJSON *type, const cJSON *v, struct where *w)
{
	const cJSON *t;

	if (cJSON_IsString(type)) {
		if (type_matches(type->valuestring, v))
			return 0;
		return lc_err_set(LC_EPARSE, "%s: expected %s, got %s", where_str(w),
		                  type->valuestring, json_type_name(v));
	}
	if (!cJSON_IsArray(type))
		return lc_err_set(LC_EUNSUPPORTED, "schema: 'type' must be a string or an array");
	cJSON_ArrayForEach(t, type)
	{
		if (cJSON_IsString(t) && type_matches(t->valuestring, v))
			return 0;
	}
	return lc_err_set(LC_EPARSE, "%s: %s is not an allowed type", where_str(w),
	                  json_type_name(v));
}

static int validate(const cJSON *schema, const cJSON *v, struct where *w);

static int check_object(const cJSON *schema, const cJSON *v, struct where *w)
{
	const cJSON *props = cJSON_GetObjectItemCaseSensitive(schema, "properties");
	const cJSON *req = cJSON_GetObjectItemCaseSensitive(schema, "required");
	const cJSON *extra = cJSON_GetObjectItemCaseSensitive(schema, "additionalProperties");
	const cJSON *item, *sub;
	size_t saved;
	int rc;

	if (!cJSON_IsObject(v))
		return 0;
	cJSON_ArrayForEach(item, req)
	{
		if (!cJSON_IsString(item))
			return lc_err_set(LC_EUNSUPPORTED, "schema: 'required' must list strings");
		if (!cJSON_GetObjectItemCaseSensitive(v, item->valuestring))
			return lc_err_set(LC_EPARSE, "%s: missing required argument '%s'",
			                  where_str(w), item->valuestring);
	}
	cJSON_ArrayForEach(item, v)
	{
		const cJSON *needs = cJSON_GetObjectItemCaseSensitive(
		        cJSON_GetObjectItemCaseSensitive(schema, "dependentRequired"),
		        item->string);
		const cJSON *n;
		cJSON_ArrayForEach(n, needs)
		{
			if (!cJSON_IsString(n))
				return lc_err_set(LC_EUNSUPPORTED,
				                  "schema: 'dependentRequired' must list strings");
			if (!cJSON_GetObjectItemCaseSensitive(v, n->valuestring))
				return lc_err_set(LC_EPARSE, "%s: argument '%s' needs '%s' too",
				                  where_str(w), item->string, n->valuestring);
		}
	}
	cJSON_ArrayForEach(item, v)
	{
		sub = props ? cJSON_GetObjectItemCaseSensitive(props, item->string) : NULL;
		if (!sub) {
			if (cJSON_IsFalse(extra))
				return lc_err_set(LC_EPARSE, "%s: unknown argument '%s'",
				                  where_str(w), item->string);
			if (!cJSON_IsObject(extra))
				continue;
			sub = extra;
		}
		where_push_key(w, item->string, &saved);
		rc = validate(sub, item, w);
		where_pop(w, saved);
		if (rc)
			return rc;
	}
	return 0;
}

static int check_array(const cJSON *schema, const cJSON *v, struct where *w)
{
	const cJSON *items = cJSON_GetObjectItemCaseSensitive(schema, "items");
	const cJSON *lo = cJSON_GetObjectItemCaseSensitive(schema, "minItems");
	const cJSON *hi = cJSON_GetObjectItemCaseSensitive(schema, "maxItems");
	const cJSON *item;
	size_t saved;
	int n, i = 0, rc;

	if (!cJSON_IsArray(v))
		return 0;
	n = cJSON_GetArraySize(v);
	if (cJSON_IsNumber(lo) && n < lo->valuedouble)
		return lc_err_set(LC_EPARSE, "%s: needs at least %d items, has %d", where_str(w),
		                  lo->valueint, n);
	if (cJSON_IsNumber(hi) && n > hi->valuedouble)
		return lc_err_set(LC_EPARSE, "%s: allows at most %d items, has %d", where_str(w),
		                  hi->valueint, n);
	if (!items)
		return 0;
	cJSON_ArrayForEach(item, v)
	{
		where_push_index(w, i++, &saved);
		rc = validate(items, item, w);
		where_pop(w, saved);
		if (rc)
			return rc;
	}
	return 0;
}

/* Length of a UTF-8 string in code points, as JSON Schema counts it. */
static size_t utf8_length(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		if (((unsigned char)*s & 0xC0) != 0x80)
			n++;
	return n;
}

static int check_scalar(const cJSON *schema, const cJSON *v, struct where *w)
{
	const cJSON *lo = cJSON_GetObjectItemCaseSensitive(schema, "minimum");
	const cJSON *hi = cJSON_GetObjectItemCaseSensitive(schema, "maximum");
	const cJSON *minlen = cJSON_GetObjectItemCaseSensitive(schema, "minLength");
	const cJSON *maxlen = cJSON_GetObjectItemCaseSensitive(schema, "maxLength");
	const cJSON *en = cJSON_GetObjectItemCaseSensitive(schema, "enum");
	const cJSON *e;

	if (cJSON_IsNumber(v)) {
		if (cJSON_IsNumber(lo) && v->valuedouble < lo->valuedouble)
			return lc_err_set(LC_EPARSE, "%s: %g is below the minimum %g", where_str(w),
			                  v->valuedouble, lo->valuedouble);
		if (cJSON_IsNumber(hi) && v->valuedouble > hi->valuedouble)
			return lc_err_set(LC_EPARSE, "%s: %g is above the maximum %g", where_str(w),
			                  v->valuedouble, hi->valuedouble);
	}
	if (cJSON_IsString(v)) {
		size_t n = utf8_length(v->valuestring);
		if (cJSON_IsNumber(minlen) && n < (size_t)minlen->valuedouble)
			return lc_err_set(LC_EPARSE, "%s: must not be shorter than %d characters",
			                  where_str(w), minlen->valueint);
		if (cJSON_IsNumber(maxlen) && n > (size_t)maxlen->valuedouble)
			return lc_err_set(LC_EPARSE, "%s: must not be longer than %d characters",
			                  where_str(w), maxlen->valueint);
	}
	if (en) {
		cJSON_ArrayForEach(e, en)
		{
			if (cJSON_Compare(e, v, 1))
				return 0;
		}
		return lc_err_set(LC_EPARSE, "%s: not one of the allowed values", where_str(w));
	}
	return 0;
}

static const char *const known_keywords[] = {
        "type",        "properties",
        "required",    "additionalProperties",
        "items",       "enum",
        "minimum",     "maximum",
        "minLength",   "maxLength",
        "minItems",    "maxItems",
        "description", "title",
        "default",     "examples",
        "$schema",     "dependentRequired",
        NULL,
};

static int validate(const cJSON *schema, const cJSON *v, struct where *w)
{
	const cJSON *kw, *type;
	int rc;

	if (cJSON_IsTrue(schema))
		return 0;
	if (!cJSON_IsObject(schema))
		return lc_err_set(LC_EUNSUPPORTED, "schema: a schema must be an object");
	cJSON_ArrayForEach(kw, schema)
	{
		int known = 0;
		for (int i = 0; known_keywords[i]; i++)
			known |= strcmp(kw->string, known_keywords[i]) == 0;
		if (!known)
			return lc_err_set(LC_EUNSUPPORTED, "schema: keyword '%s' is not supported",
			                  kw->string);
	}
	type = cJSON_GetObjectItemCaseSensitive(schema, "type");
	if (type && (rc = check_type(type, v, w)))
		return rc;
	if ((rc = check_object(schema, v, w)) || (rc = check_array(schema, v, w)))
		return rc;
	return check_scalar(schema, v, w);
}

int lc_schema_validate(const cJSON *schema, const cJSON *value)
{
	struct where w = {{0}, 0};

	return validate(schema, value, &w);
}
