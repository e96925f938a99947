/*
 * Tests for tools/validate.c. For each rule: an edit that must be refused,
 * a near-identical one that must pass, and an "already broken before" case
 * that must pass. Expected verdicts and line numbers are hand-derived from
 * the rules in tools/validate.h and, for Python, from the Python reference
 * (2.1.8 Indentation) - each refused Python text is one CPython rejects with
 * IndentationError/TabError.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "tools/validate.h"
#include "src/err.h"

struct vcase {
	const char *name;
	const char *path;
	const char *old; /* NULL: new file */
	const char *new_text;
	unsigned rule;      /* 0: must pass; else the rule that must refuse */
	const char *reason; /* substring of the reason, with the line */
};

#define PYF "def f(x):\n    if x:\n        return 1\n    return 2\n"
#define CF  "int f(int x)\n{\n\tif (x) {\n\t\treturn 1;\n\t}\n\treturn 0;\n}\n"

static const struct vcase cases[] = {
        /* nothing changed */
        {"no change", "a.txt", "same\n", "same\n", LC_VALIDATE_NOCHANGE,
         "a.txt:1: the edit changes nothing"},
        {"one byte changed", "a.txt", "same\n", "samE\n", 0, NULL},
        {"new empty file", "a.txt", NULL, "", 0, NULL},

        /* repeats */
        {"loop: block 4 times", "r.txt", "top\n",
         "top\nx = 1\ny = 2\nx = 1\ny = 2\nx = 1\ny = 2\nx = 1\ny = 2\n", LC_VALIDATE_REPEAT,
         "r.txt:2: the same 2-line block is repeated 4 times in a row (lines 2-9)"},
        {"block 3 times passes", "r.txt", "top\n",
         "top\nx = 1\ny = 2\nx = 1\ny = 2\nx = 1\ny = 2\n", 0, NULL},
        {"old already repeated", "r.txt", "a\nb\na\nb\na\nb\na\nb\n", "a\nb\na\nb\na\nb\na\nb\nc\n",
         0, NULL},

        /* elision placeholders */
        {"placeholder replaces body", "e.py", "def f():\n    a = 1\n    b = 2\n    return a + b\n",
         "def f():\n    # ... existing code ...\n    return a + b\n", LC_VALIDATE_ELISION,
         "e.py:2: '# ... existing code ...' stands in for 2 removed lines"},
        {"placeholder comment, nothing removed", "e.py",
         "def f():\n    a = 1\n    b = 2\n    return a + b\n",
         "def f():\n    # ... existing code ...\n    a = 1\n    b = 2\n    return a + b\n", 0,
         NULL},
        {"bracketed placeholder in C", "e.c", "int a;\nint b;\nint c;\n",
         "int a;\n[rest unchanged]\n", LC_VALIDATE_ELISION,
         "e.c:2: '[rest unchanged]' stands in for 2 removed lines"},
        {"placeholder already in old", "e.js",
         "// ... rest of the code ...\nlet a = 1;\nlet b = 2;\n",
         "// ... rest of the code ...\nlet a = 1;\n", 0, NULL},
        {"python ellipsis statement is code", "e.py", "def f():\n    return 1\n",
         "def f():\n    ...\n", 0, NULL},

        /* python indentation */
        {"unexpected indent", "p.py", PYF,
         "def f(x):\n    if x:\n        return 1\n    return 2\n        y = 2\n",
         LC_VALIDATE_PYTHON, "p.py:5: unexpected indent"},
        {"same edit, right indent", "p.py", PYF,
         "def f(x):\n    if x:\n        return 1\n    return 2\n    y = 2\n", 0, NULL},
        {"dedent to unknown level", "p.py", PYF,
         "def f(x):\n    if x:\n        return 1\n  return 2\n", LC_VALIDATE_PYTHON,
         "p.py:4: unindent does not match any outer indentation level"},
        {"no block after colon", "p.py", PYF, "def f(x):\n    if x:\n    return 1\n    return 2\n",
         LC_VALIDATE_PYTHON, "p.py:3: expected an indented block after line 2"},
        {"colon at end of file", "p.py", PYF, PYF "def g():\n", LC_VALIDATE_PYTHON,
         "p.py:5: expected an indented block"},
        {"tabs and spaces inconsistent", "p.py", PYF,
         "def f(x):\n    if x:\n\treturn 1\n    return 2\n", LC_VALIDATE_PYTHON,
         "p.py:3: inconsistent use of tabs and spaces"},
        {"brackets, strings, continuation", "p.py", PYF,
         "def f(x):\n    d = {1:\n  2}\n    s = \"\"\"\n  text:\n\"\"\"\n    t = 1 + \\\n  2\n    "
         "if x:  # note:\n"
         "        return (1,\n    2)\n    return 2\n",
         0, NULL},
        {"python already broken", "p.py", "def f():\nreturn 1\n", "def f():\nreturn 2\n", 0, NULL},
        /* python brackets: the messages and lines CPython 3.11 gives for these texts */
        {"python: extra ')'", "p.py", PYF, "def f(x, 1)):\n    return 2\n", LC_VALIDATE_PYTHON,
         "p.py:1: unmatched ')'"},
        {"python: ']' closes '('", "p.py", PYF, "def f(x):\n    return (1,\n      2]\n",
         LC_VALIDATE_PYTHON,
         "p.py:3: closing parenthesis ']' does not match opening parenthesis '(' on line 2"},
        {"python: '[' never closed", "p.py", PYF, "def f(x):\n    return [1,\n", LC_VALIDATE_PYTHON,
         "p.py:2: '[' was never closed"},
        {"python: docstring never closed", "p.py", PYF, "def f(x):\n    \"\"\"Doc.\n    return 2\n",
         LC_VALIDATE_PYTHON, "p.py:2: unterminated triple-quoted string literal"},
        {"python: brackets in strings and comments", "p.py", PYF,
         "def f(x):\n    s = \")]}\" + '(['  # ({\n    return f\"{x}\"\n", 0, NULL},

        /* brackets */
        {"C: brace removed", "b.c", CF,
         "int f(int x)\n{\n\tif (x) {\n\t\treturn 1;\n\treturn 0;\n}\n", LC_VALIDATE_BRACKETS,
         "b.c:2: '{' opened here is never closed"},
        {"C: brace kept", "b.c", CF,
         "int f(int x)\n{\n\tif (x) {\n\t\treturn 2;\n\t}\n\treturn 0;\n}\n", 0, NULL},
        {"C: closer without opener", "b.c", CF, CF "}\n", LC_VALIDATE_BRACKETS,
         "b.c:8: '}' has no opening '{'"},
        {"C: mismatch", "b.c", CF,
         "int f(int x)\n{\n\tif (x] {\n\t\treturn 1;\n\t}\n\treturn 0;\n}\n", LC_VALIDATE_BRACKETS,
         "b.c:3: ']' does not match the '(' opened on line 3"},
        {"C: brackets in strings, chars, comments, macros", "b.c", CF,
         CF
         "const char *s = \"{(\";\nchar c = '}';\n/* { */\n// (\n#define OPEN {\nint d = 1'000;\n",
         0, NULL},
        {"C: comment left open", "b.c", CF, CF "/* unfinished\n", LC_VALIDATE_BRACKETS,
         "b.c:8: comment opened here is never closed"},
        {"C: already unbalanced", "b.c", "int f() {\n", "int g() {\n", 0, NULL},
        {"JS: template and regex", "t.js", "let a = 1;\n",
         "let a = `x{ ${a + (1)} }`;\nlet r = /[(]/.test(a);\nlet b = a / 2;\n", 0, NULL},
        {"JS: template brace dropped", "t.ts", "let a = 1;\n", "let a = `x ${a + (1)`;\nf(a);\n",
         LC_VALIDATE_BRACKETS, NULL},
        {"Rust: lifetimes and raw strings", "l.rs", "fn f() {}\n",
         "fn f<'a>(x: &'a str) -> char {\n    let s = r#\"{\"#;\n    let c = '{';\n    /* /* } */ "
         "*/\n    c\n}\n",
         0, NULL},
        {"Rust: paren dropped", "l.rs", "fn f() {}\n", "fn f( {}\n", LC_VALIDATE_BRACKETS,
         "l.rs:1: '(' opened here is never closed"},
        {"Go: raw string", "g.go", "package m\n", "package m\nvar s = `{`\nfunc f() {\n}\n", 0,
         NULL},
        {"JSON: bracket dropped", "c.json", "{\"a\": [1, 2]}\n", "{\"a\": [1, 2}\n",
         LC_VALIDATE_BRACKETS, "c.json:1: '}' does not match the '[' opened on line 1"},
        {"JSON: brackets in strings", "c.json", "{\"a\": [1, 2]}\n",
         "{\"a\": [1, 2], \"b\": \"]}\"}\n", 0, NULL},
        {"other file types not checked", "notes.txt", "(a)\n", "(a\n", 0, NULL},

        /* tabs and spaces */
        {"C: spaces in a tab file", "i.c", CF,
         "int f(int x)\n{\n\tif (x) {\n        return 1;\n\t}\n\treturn 0;\n}\n",
         LC_VALIDATE_INDENT, "i.c:4: indented with spaces where the file indents with tabs"},
        {"C: tabs in a tab file", "i.c", CF,
         "int f(int x)\n{\n\tif (x) {\n\t\treturn 2;\n\t}\n\treturn 0;\n}\n", 0, NULL},
        {"C: comment star lines are not indentation", "i.c", CF, "/*\n * doc\n */\n" CF, 0, NULL},
        {"already mixed", "i.txt", "\ta\n    b\n", "\ta\n    b\n\tc\n", 0, NULL},
        {"python: tabs in a space file", "i.txt", "if x:\n    a\n", "if x:\n    a\n\tb\n",
         LC_VALIDATE_INDENT, "i.txt:3: indented with tabs where the file indents with spaces"},
};

static void test_rule_table(void **state)
{
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct vcase *c = &cases[i];
		char *reason = NULL;
		unsigned rule = 0;
		int rc;

		lc_err_clear();
		rc = lc_validate(c->path, c->old, c->old ? strlen(c->old) : 0, c->new_text,
		                 strlen(c->new_text), NULL, 0, NULL, &reason, &rule);
		if (c->rule == 0) {
			if (rc != 0)
				fail_msg("%s: refused: %s", c->name,
				         reason ? reason : lc_err_msg());
			assert_null(reason);
			continue;
		}
		if (rc != LC_EDENIED)
			fail_msg("%s: rc %d, want LC_EDENIED", c->name, rc);
		if (rule != c->rule)
			fail_msg("%s: rule %u, want %u (%s)", c->name, rule, c->rule, reason);
		assert_non_null(reason);
		if (c->reason && !strstr(reason, c->reason))
			fail_msg("%s: reason '%s' lacks '%s'", c->name, reason, c->reason);
		assert_non_null(strstr(lc_err_msg(), reason));
		free(reason);
	}
}

static void test_untargeted_reindent(void **state)
{
	/* The edit targets line 2; line 4 changed indentation only. */
	static const char old[] = "def f():\n    a = 1\n    if a:\n        b = 2\n";
	static const char new_text[] = "def f():\n    a = 3\n    if a:\n      b = 2\n";
	lc_line_range only2 = {2, 1}, both = {2, 3};
	lc_validate_opts opts = LC_VALIDATE_OPTS_INIT;
	char *reason = NULL;

	opts.rules = LC_VALIDATE_INDENT;
	assert_int_equal(lc_validate("f.py", old, strlen(old), new_text, strlen(new_text), &only2,
	                             1, &opts, &reason, NULL),
	                 LC_EDENIED);
	assert_string_equal(reason,
	                    "f.py:4: indentation changed on a line the edit did not target");
	free(reason);
	reason = NULL;
	assert_int_equal(lc_validate("f.py", old, strlen(old), new_text, strlen(new_text), &both, 1,
	                             &opts, &reason, NULL),
	                 0);
	assert_null(reason);
}

static void test_repeat_options(void **state)
{
	/* With max_repeats 4 the 4-times block passes; the rule can be switched off. */
	static const char rep[] = "x\ny\nx\ny\nx\ny\nx\ny\n";
	lc_validate_opts opts = LC_VALIDATE_OPTS_INIT;

	opts.max_repeats = 4;
	assert_int_equal(lc_validate("r.txt", "", 0, rep, strlen(rep), NULL, 0, &opts, NULL, NULL),
	                 0);
	opts.max_repeats = 3;
	assert_int_equal(lc_validate("r.txt", "", 0, rep, strlen(rep), NULL, 0, &opts, NULL, NULL),
	                 LC_EDENIED);
	opts.rules &= ~(unsigned)LC_VALIDATE_REPEAT;
	assert_int_equal(lc_validate("r.txt", "", 0, rep, strlen(rep), NULL, 0, &opts, NULL, NULL),
	                 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_rule_table),
	        cmocka_unit_test(test_untargeted_reindent),
	        cmocka_unit_test(test_repeat_options),
	};
	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
