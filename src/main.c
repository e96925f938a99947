/*
 * main.c - lcode's entry point: global options and subcommand dispatch.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lc_config.h"
#include "src/commands.h"
#include "src/err.h"
#include "src/term.h"
#include "src/banned.h"

const struct lc_command lc_commands[] = {
        {NULL, NULL, NULL, NULL},
};

void lc_print_error(const char *context)
{
	const char *msg = lc_err_msg();

	if (msg[0] == '\0')
		msg = lc_err_str(lc_err_code());
	fprintf(stderr, "%slcode: %s%s%s%s\n", lc_term_red(stderr), lc_term_reset(stderr),
	        context ? context : "", context ? ": " : "", msg);
}

static void usage(FILE *f)
{
	const struct lc_command *c;

	fprintf(f, "usage: lcode [OPTIONS]\n");
	if (lc_commands[0].name)
		fprintf(f, "       lcode COMMAND [ARGS...]\n");
	fprintf(f, "\nlcode is a coding agent that runs a local GGUF model in its own process.\n"
	           "\nOptions:\n"
	           "  -h, --help       show this help and exit\n"
	           "  -V, --version    print the version and exit\n");
	if (lc_commands[0].name) {
		fprintf(f, "\nCommands:\n");
		for (c = lc_commands; c->name; c++) {
			char head[64];
			snprintf(head, sizeof(head), "%s %s", c->name, c->args);
			fprintf(f, "  %-40s %s\n", head, c->summary);
		}
		fprintf(f, "\n'lcode COMMAND --help' describes a command.\n");
	}
	fprintf(f, "\nEnvironment:\n"
	           "  LCODE_LOG         diagnostics on stderr: debug, info, warn (default), error\n"
	           "  LCODE_PROMPT_DIR  directory whose files override the built-in prompts\n"
	           "  NO_COLOR          when set, no colour even on a terminal\n"
	           "\nExit status: 0 done, 1 failed, 2 usage error, 3 model or backend error.\n"
	           "See lcode(1) for more.\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	        {"help", no_argument, NULL, 'h'},
	        {"version", no_argument, NULL, 'V'},
	        {NULL, 0, NULL, 0},
	};
	const struct lc_command *c;
	int ch;

	if (argc > 1 && argv[1][0] != '-') {
		for (c = lc_commands; c->name; c++)
			if (strcmp(c->name, argv[1]) == 0)
				return c->run(argc - 1, argv + 1);
		fprintf(stderr, "lcode: unknown command '%s'; see 'lcode --help'\n", argv[1]);
		return LC_EXIT_USAGE;
	}
	/* "+": stop at the first non-option so commands parse their own flags. */
	while ((ch = getopt_long(argc, argv, "+hV", opts, NULL)) != -1) {
		switch (ch) {
		case 'h':
			usage(stdout);
			return LC_EXIT_OK;
		case 'V':
			printf("lcode %s\n", LC_VERSION);
			return LC_EXIT_OK;
		default:
			fprintf(stderr, "see 'lcode --help'\n");
			return LC_EXIT_USAGE;
		}
	}
	usage(stderr);
	return LC_EXIT_USAGE;
}
