/*
 * commands.h - the program's subcommands (lcode COMMAND ...).
 *
 * Each command parses its own arguments and returns an exit status:
 * LC_EXIT_OK, LC_EXIT_FAIL (the request could not be completed),
 * LC_EXIT_USAGE, LC_EXIT_MODEL (model or backend error).
 */
#ifndef LC_COMMANDS_H
#define LC_COMMANDS_H

enum lc_exit { LC_EXIT_OK = 0, LC_EXIT_FAIL = 1, LC_EXIT_USAGE = 2, LC_EXIT_MODEL = 3 };

struct lc_command {
	const char *name;
	const char *args;                  /* synopsis of the arguments, for --help */
	const char *summary;               /* one line, for --help */
	int (*run)(int argc, char **argv); /* argv[0] is the command's name */
};

/* Commands, ended by an entry whose name is NULL. */
extern const struct lc_command lc_commands[];

/* Print "lcode: <msg>" for the error in the slot to stderr, in colour on a terminal. */
void lc_print_error(const char *context);

/* lcode model-info FILE (src/cmd_model_info.c) */
int lc_cmd_model_info(int argc, char **argv);

/* lcode tokenize --model FILE TEXT (src/cmd_tokenize.c) */
int lc_cmd_tokenize(int argc, char **argv);

/* lcode generate: continue a prompt with the model (src/cmd_generate.c). */
int lc_cmd_generate(int argc, char **argv);

/* lcode perplexity: the model's perplexity on a text (src/cmd_perplexity.c). */
int lc_cmd_perplexity(int argc, char **argv);

/* lcode bench: load time, prefill and decode speed of a model (src/cmd_bench.c). */
int lc_cmd_bench(int argc, char **argv);

/* lcode tool NAME JSON-ARGS (src/cmd_tool.c) */
int lc_cmd_tool(int argc, char **argv);

/* lcode pull URL|hf:OWNER/REPO/FILE (src/cmd_pull.c) */
int lc_cmd_pull(int argc, char **argv);

/* lcode models (src/cmd_models.c) */
int lc_cmd_models(int argc, char **argv);

/* lcode hook install|uninstall (src/cmd_hook.c) */
int lc_cmd_hook(int argc, char **argv);

/* lcode pre-commit (src/cmd_pre_commit.c) */
int lc_cmd_pre_commit(int argc, char **argv);

/* lcode undo (src/cmd_undo.c) */
int lc_cmd_undo(int argc, char **argv);

#endif
