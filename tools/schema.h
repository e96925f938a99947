/*
 * schema.h - check tool arguments against a JSON Schema.
 *
 * The subset of JSON Schema (draft 2020-12, "Validation" vocabulary) that
 * tool schemas use: "type" (object, array, string, integer, number,
 * boolean, null; a string or an array of them), "properties", "required",
 * "dependentRequired" (an object's property that needs others with it),
 * "additionalProperties" (false or a schema), "items", "enum", "minimum",
 * "maximum", "minLength", "maxLength", "minItems", "maxItems". Keywords
 * outside the subset ("description", "title", "default", "examples") are
 * ignored; any other keyword is a schema error, so a schema never claims a
 * check that is not made.
 */
#ifndef LC_SCHEMA_H
#define LC_SCHEMA_H

#include <cjson/cJSON.h>

/*
 * 0 when value satisfies schema. LC_EPARSE when it does not, with a message
 * that names the place ("arguments: 'start': expected integer, got string").
 * LC_EUNSUPPORTED when the schema uses a keyword outside the subset.
 */
int lc_schema_validate(const cJSON *schema, const cJSON *value);

#endif
