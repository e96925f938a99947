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
#include "src/run.h"
#include "src/term.h"
#include "src/banned.h"

const struct lc_command lc_commands[] = {
        {"model-info", "FILE", "show what a GGUF model file holds", lc_cmd_model_info},
        {"tokenize", "--model FILE TEXT", "print the token ids of a text", lc_cmd_tokenize},
        {"generate", "--model FILE -p TEXT", "continue a prompt with the model", lc_cmd_generate},
        {"perplexity", "--model FILE -f TEXTFILE", "measure the model's perplexity on a text",
         lc_cmd_perplexity},
        {"bench", "--model FILE [-p N] [-n N]", "measure prefill and decode speed", lc_cmd_bench},
        {"tool", "NAME JSON-ARGS", "run one tool as the agent would", lc_cmd_tool},
        {"undo", "", "take back the agent's last change", lc_cmd_undo},
        {"pull", "URL|hf:OWNER/REPO/FILE", "download a model file", lc_cmd_pull},
        {"models", "", "list the downloaded model files", lc_cmd_models},
        {"hook", "install|uninstall", "install or remove the git pre-commit hook", lc_cmd_hook},
        {"pre-commit", "[--model PATH]", "run the configured request over the staged files",
         lc_cmd_pre_commit},
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

	fprintf(f, "usage: lcode [OPTIONS] [-m REQUEST]\n");
	if (lc_commands[0].name)
		fprintf(f, "       lcode COMMAND [ARGS...]\n");
	fprintf(f,
	        "\nlcode is a coding agent that runs a local GGUF model in its own process.\n"
	        "Without -m it reads requests from a prompt (/help lists its commands).\n"
	        "\nOptions:\n"
	        "  -m, --message TEXT     run one request and exit\n"
	        "      --model PATH       the GGUF model file (or LCODE_MODEL), or a name from\n"
	        "                         'lcode models', or demo (lcode's own small model)\n"
	        "      --backend NAME     local (default) or openai: an OpenAI-compatible server\n"
	        "      --base-url URL     the server, e.g. http://127.0.0.1:11434/v1\n"
	        "      --remote-model NAME the server's model (default: the first it lists)\n"
	        "      --remote-timeout N seconds the server may stay silent (default 300)\n"
	        "  -C, --dir DIR          work in the repository at DIR\n"
	        "      --json             print one JSON event per line on stdout\n"
	        "      --approval MODE    ask, auto-edit (default) or full-auto\n"
	        "      --no-sandbox       run commands without the sandbox\n"
	        "      --no-commit        leave the changes uncommitted\n"
	        "      --no-constrain     do not constrain tool calls while decoding\n"
	        "      --call-format FMT  hermes, llama3, mistral or react\n"
	        "      --ctx N            context size in tokens (default 8192)\n"
	        "      --threads N        threads for the model (default: the cores)\n"
	        "      --temp T           sampling temperature (default 0: greedy)\n"
	        "      --seed N           random seed for sampling\n"
	        "      --max-steps N      model messages per request (default 40)\n"
	        "      --max-tokens N     tokens per model message (default 2048)\n"
	        "      --max-failures N   stop a request at its Nth refused or failed tool call\n"
	        "                         (default 6)\n"
	        "      --script FILE      let a script speak for the model (for tests)\n"
	        "      --dump-prompt FILE write the conversation, as the model sees it, to FILE\n"
	        "  -h, --help             show this help and exit\n"
	        "  -V, --version          print the version and exit\n");
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
	           "  LCODE_MODEL       the model file when --model is not given\n"
	           "  LCODE_API_KEY     the key sent to an OpenAI-compatible server\n"
	           "  HF_ENDPOINT       replaces https://huggingface.co for 'lcode pull hf:...'\n"
	           "  LCODE_LOG         diagnostics on stderr: debug, info, warn (default), error\n"
	           "  LCODE_PROMPT_DIR  directory whose files override the built-in prompts\n"
	           "  NO_COLOR          when set, no colour even on a terminal\n"
	           "\nConfiguration: $XDG_CONFIG_HOME/lcode/config, then .lcode/config in the\n"
	           "repository (key = value lines); options and LCODE_MODEL come first.\n"
	           "\nExit status: 0 done, 1 failed, 2 usage error, 3 model or backend error.\n"
	           "See lcode(1) for more.\n");
}

static int parse_int(const char *name, const char *v, int lo, int hi, int *out)
{
	char *end;
	long x = strtol(v, &end, 10);

	if (!*v || *end || x < lo || x > hi) {
		fprintf(stderr, "lcode: %s takes a whole number from %d to %d, not '%s'\n", name,
		        lo, hi, v);
		return -1;
	}
	*out = (int)x;
	return 0;
}

int main(int argc, char **argv)
{
	enum {
		OPT_MODEL = 256,
		OPT_JSON,
		OPT_APPROVAL,
		OPT_NO_SANDBOX,
		OPT_NO_COMMIT,
		OPT_NO_CONSTRAIN,
		OPT_CALL_FORMAT,
		OPT_CTX,
		OPT_THREADS,
		OPT_TEMP,
		OPT_SEED,
		OPT_MAX_STEPS,
		OPT_MAX_TOKENS,
		OPT_SCRIPT,
		OPT_DUMP_PROMPT,
		OPT_BACKEND,
		OPT_BASE_URL,
		OPT_REMOTE_MODEL,
		OPT_REMOTE_TIMEOUT,
		OPT_MAX_FAILURES
	};
	static const struct option opts[] = {
	        {"help", no_argument, NULL, 'h'},
	        {"version", no_argument, NULL, 'V'},
	        {"message", required_argument, NULL, 'm'},
	        {"dir", required_argument, NULL, 'C'},
	        {"model", required_argument, NULL, OPT_MODEL},
	        {"json", no_argument, NULL, OPT_JSON},
	        {"approval", required_argument, NULL, OPT_APPROVAL},
	        {"no-sandbox", no_argument, NULL, OPT_NO_SANDBOX},
	        {"no-commit", no_argument, NULL, OPT_NO_COMMIT},
	        {"no-constrain", no_argument, NULL, OPT_NO_CONSTRAIN},
	        {"call-format", required_argument, NULL, OPT_CALL_FORMAT},
	        {"ctx", required_argument, NULL, OPT_CTX},
	        {"threads", required_argument, NULL, OPT_THREADS},
	        {"temp", required_argument, NULL, OPT_TEMP},
	        {"seed", required_argument, NULL, OPT_SEED},
	        {"max-steps", required_argument, NULL, OPT_MAX_STEPS},
	        {"max-tokens", required_argument, NULL, OPT_MAX_TOKENS},
	        {"max-failures", required_argument, NULL, OPT_MAX_FAILURES},
	        {"script", required_argument, NULL, OPT_SCRIPT},
	        {"dump-prompt", required_argument, NULL, OPT_DUMP_PROMPT},
	        {"backend", required_argument, NULL, OPT_BACKEND},
	        {"base-url", required_argument, NULL, OPT_BASE_URL},
	        {"remote-model", required_argument, NULL, OPT_REMOTE_MODEL},
	        {"remote-timeout", required_argument, NULL, OPT_REMOTE_TIMEOUT},
	        {NULL, 0, NULL, 0},
	};
	struct lc_run_opts ro = {0};
	const struct lc_command *c;
	char *end;
	int ch, seed;

	if (argc > 1 && argv[1][0] != '-') {
		for (c = lc_commands; c->name; c++)
			if (strcmp(c->name, argv[1]) == 0)
				return c->run(argc - 1, argv + 1);
		fprintf(stderr, "lcode: unknown command '%s'; see 'lcode --help'\n", argv[1]);
		return LC_EXIT_USAGE;
	}
	/* Unset until given: the configuration files fill the rest (src/config.h). */
	ro.approval = LC_APPROVAL_UNSET;
	ro.temp = -1.0f;
	/* "+": stop at the first non-option so commands parse their own flags. */
	while ((ch = getopt_long(argc, argv, "+hVm:C:", opts, NULL)) != -1) {
		switch (ch) {
		case 'h':
			usage(stdout);
			return LC_EXIT_OK;
		case 'V':
			printf("lcode %s\n", LC_VERSION);
			return LC_EXIT_OK;
		case 'm':
			ro.message = optarg;
			break;
		case 'C':
			ro.dir = optarg;
			break;
		case OPT_MODEL:
			ro.model = optarg;
			break;
		case OPT_JSON:
			ro.json = 1;
			break;
		case OPT_APPROVAL:
			if (strcmp(optarg, "ask") == 0)
				ro.approval = LC_APPROVAL_ASK;
			else if (strcmp(optarg, "auto-edit") == 0)
				ro.approval = LC_APPROVAL_AUTO_EDIT;
			else if (strcmp(optarg, "full-auto") == 0)
				ro.approval = LC_APPROVAL_FULL_AUTO;
			else {
				fprintf(stderr,
				        "lcode: --approval takes ask, auto-edit or full-auto\n");
				return LC_EXIT_USAGE;
			}
			break;
		case OPT_NO_SANDBOX:
			ro.no_sandbox = 1;
			break;
		case OPT_NO_COMMIT:
			ro.no_commit = 1;
			break;
		case OPT_NO_CONSTRAIN:
			ro.no_constrain = 1;
			break;
		case OPT_CALL_FORMAT:
			ro.call_format = optarg;
			break;
		case OPT_CTX:
			if (parse_int("--ctx", optarg, 64, 1 << 20, &ro.n_ctx))
				return LC_EXIT_USAGE;
			break;
		case OPT_THREADS:
			if (parse_int("--threads", optarg, 1, 512, &ro.n_threads))
				return LC_EXIT_USAGE;
			break;
		case OPT_TEMP:
			ro.temp = strtof(optarg, &end);
			if (*end || end == optarg || !(ro.temp >= 0)) {
				fprintf(stderr, "lcode: --temp takes a number >= 0\n");
				return LC_EXIT_USAGE;
			}
			break;
		case OPT_SEED:
			if (parse_int("--seed", optarg, 0, 2147483647, &seed))
				return LC_EXIT_USAGE;
			ro.seed = (unsigned long long)seed;
			ro.has_seed = 1;
			break;
		case OPT_MAX_STEPS:
			if (parse_int("--max-steps", optarg, 1, 10000, &ro.max_steps))
				return LC_EXIT_USAGE;
			break;
		case OPT_MAX_FAILURES:
			if (parse_int("--max-failures", optarg, 1, 1000, &ro.max_failures))
				return LC_EXIT_USAGE;
			break;
		case OPT_MAX_TOKENS:
			if (parse_int("--max-tokens", optarg, 1, 1 << 20, &ro.max_tokens))
				return LC_EXIT_USAGE;
			break;
		case OPT_SCRIPT:
			ro.script = optarg;
			break;
		case OPT_DUMP_PROMPT:
			ro.dump_prompt = optarg;
			break;
		case OPT_BACKEND:
			if (strcmp(optarg, "local") != 0 && strcmp(optarg, "openai") != 0) {
				fprintf(stderr, "lcode: --backend takes local or openai\n");
				return LC_EXIT_USAGE;
			}
			ro.backend = optarg;
			break;
		case OPT_BASE_URL:
			ro.base_url = optarg;
			break;
		case OPT_REMOTE_MODEL:
			ro.remote_model = optarg;
			break;
		case OPT_REMOTE_TIMEOUT:
			if (parse_int("--remote-timeout", optarg, 1, 86400, &ro.remote_timeout))
				return LC_EXIT_USAGE;
			break;
		default:
			fprintf(stderr, "see 'lcode --help'\n");
			return LC_EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "lcode: unexpected argument '%s'; see 'lcode --help'\n",
		        argv[optind]);
		return LC_EXIT_USAGE;
	}
	return ro.message ? lc_run(&ro) : lc_repl(&ro);
}
