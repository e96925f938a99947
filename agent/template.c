#include "agent/template.h"

#include <string.h>

#include "src/banned.h"

static const struct {
	const char *marker;
	enum lc_template_family family;
} markers[] = {
        {"<|im_start|>", LC_TEMPLATE_CHATML},
        {"<|start_header_id|>", LC_TEMPLATE_LLAMA3},
        {"### Instruction:", LC_TEMPLATE_DEEPSEEK_CODER},
        {"[INST]", LC_TEMPLATE_MISTRAL},
};

enum lc_template_family lc_template_detect(const char *jinja, size_t len)
{
	size_t i;

	if (!jinja)
		return LC_TEMPLATE_UNKNOWN;
	for (i = 0; i < sizeof(markers) / sizeof(markers[0]); i++)
		if (memmem(jinja, len, markers[i].marker, strlen(markers[i].marker)))
			return markers[i].family;
	return LC_TEMPLATE_UNKNOWN;
}

const char *lc_template_family_name(enum lc_template_family family)
{
	switch (family) {
	case LC_TEMPLATE_CHATML:
		return "chatml";
	case LC_TEMPLATE_LLAMA3:
		return "llama3";
	case LC_TEMPLATE_MISTRAL:
		return "mistral";
	case LC_TEMPLATE_DEEPSEEK_CODER:
		return "deepseek-coder";
	case LC_TEMPLATE_UNKNOWN:
	case LC_TEMPLATE_COUNT:
		break;
	}
	return "unknown";
}
