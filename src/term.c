#include "src/term.h"

#include <stdlib.h>
#include <unistd.h>

#include "src/banned.h"

bool lc_term_color(FILE *f)
{
	const char *nc = getenv("NO_COLOR");

	if (nc && nc[0] != '\0')
		return false;
	return isatty(fileno(f)) == 1;
}

#define SGR(name, seq)                                                                             \
	const char *lc_term_##name(FILE *f)                                                        \
	{                                                                                          \
		return lc_term_color(f) ? seq : "";                                                \
	}

SGR(bold, "\033[1m")
SGR(red, "\033[31m")
SGR(green, "\033[32m")
SGR(yellow, "\033[33m")
SGR(dim, "\033[2m")
SGR(reset, "\033[0m")
