/*
 * banned.h - functions lcode's code must not call, after git's banned.h.
 *
 * Include it last, after every system header, in each .c file. A banned call
 * then fails to compile with a name that says which function and why.
 */
#ifndef LC_BANNED_H
#define LC_BANNED_H

#define LC_BANNED(func) sorry_##func##_is_a_banned_function

/* unbounded copies: use snprintf, memcpy with a checked length, or lc_buf */
#undef strcpy
#define strcpy(x, y) LC_BANNED(strcpy)
#undef strcat
#define strcat(x, y) LC_BANNED(strcat)
#undef strncpy
#define strncpy(x, y, n) LC_BANNED(strncpy)
#undef strncat
#define strncat(x, y, n) LC_BANNED(strncat)
#undef sprintf
#undef vsprintf
#define sprintf(...)  LC_BANNED(sprintf)
#define vsprintf(...) LC_BANNED(vsprintf)
#undef gets
#define gets(x) LC_BANNED(gets)

/* hidden global state or no error reporting */
#undef strtok
#define strtok(x, y) LC_BANNED(strtok)
#undef atoi
#define atoi(x) LC_BANNED(atoi)
#undef atol
#define atol(x) LC_BANNED(atol)
#undef gmtime
#define gmtime(t) LC_BANNED(gmtime)
#undef localtime
#define localtime(t) LC_BANNED(localtime)
#undef ctime
#define ctime(t) LC_BANNED(ctime)
#undef asctime
#define asctime(t) LC_BANNED(asctime)

/* racy temporary names: use mkstemp */
#undef mktemp
#define mktemp(x) LC_BANNED(mktemp)
#undef tmpnam
#define tmpnam(x) LC_BANNED(tmpnam)

#endif
