#!/usr/bin/env python3
"""The program's surface: --help, --version, exit statuses, and the man page.

usage: test_cli.py LCODE MANPAGE      (TAP output)

The man page is the independent reference for --help: every option, command
and environment variable one names, the other names too; and for each command,
the flags of `lcode CMD --help` are those its man page entry lists.
"""
import os
import re
import subprocess
import sys

lcode, manpage = sys.argv[1], sys.argv[2]
results = []


def check(name, cond, detail=""):
    results.append((name, bool(cond), detail))


def run(*args, env=None):
    e = dict(os.environ)
    if env:
        e.update(env)
    p = subprocess.run([lcode, *args], capture_output=True, text=True, env=e, timeout=60)
    return p.returncode, p.stdout, p.stderr


def section(text, title):
    """Lines of a man page section (.SH TITLE) up to the next .SH."""
    m = re.search(r'^\.SH "?%s"?\s*$(.*?)(?=^\.SH|\Z)' % re.escape(title), text, re.M | re.S)
    return m.group(1) if m else ""


def man_names(sec):
    """Names introduced by .TP entries: the first word of the line after .TP."""
    out = set()
    lines = sec.splitlines()
    for i, line in enumerate(lines):
        if line.strip() == ".TP" and i + 1 < len(lines):
            words = re.sub(r'^\.(B|BR|BI|I|IR|IB)\s+', '', lines[i + 1]).replace('\\-', '-')
            words = words.replace('"', '').split()
            if words:
                out.add(words[0].rstrip(','))
    return out


man = open(manpage, encoding="utf-8").read()
rc, help_text, _ = run("--help")
check("--help exits 0", rc == 0, f"rc={rc}")
check("--help writes usage to stdout", help_text.startswith("usage: lcode"))

# Options: every long and short flag in each.
help_opts = set(re.findall(r'(?<![\w-])(--?[a-zA-Z][\w-]*)', section_h := help_text.split("\nCommands:")[0].split("\nEnvironment:")[0]))
man_opts = set(re.findall(r'(?<![\w\\-])(-{1,2}[a-zA-Z][\w-]*)', section(man, "OPTIONS").replace('\\-', '-')))
check("options in --help are in the man page", help_opts <= man_opts, f"missing from man: {sorted(help_opts - man_opts)}")
check("options in the man page are in --help", man_opts <= help_opts, f"missing from --help: {sorted(man_opts - help_opts)}")

# Commands.
m = re.search(r'\nCommands:\n(.*?)\n\n', help_text, re.S)
help_cmds = set(l.split()[0] for l in m.group(1).splitlines()) if m else set()
man_cmds = man_names(section(man, "COMMANDS"))
check("commands in --help and the man page agree", help_cmds == man_cmds,
      f"help={sorted(help_cmds)} man={sorted(man_cmds)}")

# Each command's options: the flags of `lcode CMD --help` (its usage lines and the
# head of each option line) are those of its man page entry (the .TP line and
# the .IP items below it). -h/--help, which every command takes, is checked apart.
FLAG = r'(?<![\w-])(--?[A-Za-z][\w-]*)'
HELP_FLAGS = {"-h", "--help"}


def help_flags(text):
    lines = text.splitlines()
    usage = []
    for line in lines:
        if not line.strip():
            break
        usage.append(line)
    out = set(re.findall(FLAG, "\n".join(usage)))
    for line in lines[len(usage):]:
        m = re.match(r'^\s+((?:--?[A-Za-z][\w-]*(?:,\s+)?)+)', line)
        if m:
            out |= set(re.findall(FLAG, m.group(1)))
    return out - HELP_FLAGS


def roff_text(line):
    line = re.sub(r'\\f[BIRP]', '', line).replace('\\-', '-').replace('"', '')
    return re.sub(r'^\.(B|BR|BI|I|IR|IB|IP)\s+', '', line)


def man_entries(sec):
    """COMMANDS entries: name -> flags of the .TP line and of the .IP items after it."""
    out, name = {}, None
    lines = sec.splitlines()
    for i, line in enumerate(lines):
        if line.strip() == ".TP" and i + 1 < len(lines):
            head = roff_text(lines[i + 1])
            name = head.split()[0]
            out[name] = set(re.findall(FLAG, head))
        elif name and line.startswith(".IP"):
            out[name] |= set(re.findall(FLAG, roff_text(line)))
    return {k: v - HELP_FLAGS for k, v in out.items()}


entries = man_entries(section(man, "COMMANDS"))
for cmd in sorted(help_cmds):
    rc, out, _ = run(cmd, "--help")
    check(f"'{cmd} --help' exits 0 with its usage",
          rc == 0 and out.startswith(f"usage: lcode {cmd}"), f"rc={rc} {out[:80]!r}")
    hf, mf = help_flags(out), entries.get(cmd)
    check(f"'{cmd}': the flags of --help and of its man page entry agree", hf == mf,
          f"--help only: {sorted(hf - (mf or set()))}, man only: {sorted((mf or set()) - hf)}")

# Environment variables.
m = re.search(r'\nEnvironment:\n(.*?)\n\n', help_text, re.S)
help_env = set(re.findall(r'^\s+([A-Z_]+)\s', m.group(1), re.M)) if m else set()
man_env = man_names(section(man, "ENVIRONMENT"))
check("environment in --help and the man page agree", help_env == man_env and help_env,
      f"help={sorted(help_env)} man={sorted(man_env)}")

# Version: meson.build is the reference.
src_root = os.environ.get("LC_SOURCE_ROOT", os.path.join(os.path.dirname(manpage), ".."))
want = re.search(r"version:\s*'([^']+)'", open(os.path.join(src_root, "meson.build")).read()).group(1)
rc, out, _ = run("--version")
check("--version prints the project version", rc == 0 and out.strip() == f"lcode {want}", out)
check("man page carries the project version", f'"lcode {want}"' in man)

# Usage errors exit 2 with a pointer to --help, and print nothing to stdout.
for args in (["--no-such-flag"], ["no-such-command"]):
    rc, out, err = run(*args)
    check(f"'{' '.join(args)}' is a usage error (2)", rc == 2 and out == "" and "--help" in err,
          f"rc={rc} err={err!r}")

# Without a terminal there is no colour anywhere.
rc, out, err = run("no-such-command")
check("no escape sequences when not on a terminal", "\033[" not in out + err)

print(f"1..{len(results)}")
for i, (name, ok, detail) in enumerate(results, 1):
    print(f"{'ok' if ok else 'not ok'} {i} - {name}")
    if not ok and detail:
        print(f"# {detail}")
sys.exit(0 if all(ok for _, ok, _ in results) else 1)
