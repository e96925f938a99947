#!/usr/bin/env python3
"""The OpenAI-compatible backend and `lcode pull` / `lcode models`, end to end.

usage: test_remote.py LCODE      (TAP output)

Every server is tests/fake_openai_server.py on 127.0.0.1, started here. The
expected bytes, digests and messages come from the script given to the fake
server and from Python's hashlib, not from lcode.
"""
import glob
import hashlib
import json
import os
import pty
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fake_openai_server import FakeServer  # noqa: E402
import make_model  # noqa: E402

lcode = sys.argv[1]
results = []


def check(name, cond, detail=""):
    results.append((name, bool(cond), detail))


top = tempfile.mkdtemp(prefix="lcode-remote-")
ENV = dict(os.environ, XDG_CONFIG_HOME=os.path.join(top, "config"),
           XDG_CACHE_HOME=os.path.join(top, "cache"), HOME=top,
           LCODE_API_KEY="sk-test-secret", OPENBLAS_NUM_THREADS="1")
ENV.pop("LCODE_MODEL", None)
srv = FakeServer()


def git(repo, *args):
    return subprocess.run(["git", "-C", repo, *args], capture_output=True, text=True, check=True)


def new_repo(name):
    repo = os.path.join(top, name)
    os.makedirs(repo)
    git(repo, "init", "-q", "-b", "main")
    git(repo, "config", "user.name", "Test")
    git(repo, "config", "user.email", "test@example.com")
    with open(os.path.join(repo, "hello.py"), "w") as f:
        f.write("def greet():\n    return 'hello'\n")
    git(repo, "add", "hello.py")
    git(repo, "commit", "-q", "-m", "init")
    return repo


def run(repo, *args, timeout=60, env=None):
    p = subprocess.run([lcode, "-C", repo, "--backend", "openai", "--base-url",
                        srv.url + "/v1", "--no-sandbox", *args], capture_output=True,
                       text=True, timeout=timeout, env=env or ENV)
    return p.returncode, p.stdout, p.stderr


def call(cid, name, args, pieces=3):
    """A tool call whose JSON arguments arrive in `pieces` parts."""
    text = json.dumps(args)
    step = max(1, len(text) // pieces + 1)
    return {"id": cid, "name": name, "args": [text[i:i + step] for i in range(0, len(text), step)]}


# 1. A multi-step task: read_file, edit (arguments split across events), answer; committed.
repo = new_repo("task")
srv.props = {"default_generation_settings": {"n_ctx": 4096}}
srv.reset([
    {"content": ["Let me look."], "calls": [call("call_a", "read_file", {"path": "hello.py"})]},
    {"calls": [call("call_b", "edit", {"path": "hello.py", "search": "    return 'hello'\n",
                                       "replace": "    return 'hello, world'\n"}, pieces=5)]},
    {"content": ["Greeting ", "changed."]},
])
rc, out, err = run(repo, "-m", "make greet say hello, world", "--remote-model", "coder")
check("task: exit 0", rc == 0, f"rc={rc} err={err!r}")
check("task: the answer is the last message", out.strip() == "Greeting changed.", repr(out))
with open(os.path.join(repo, "hello.py")) as f:
    check("task: the file is edited", f.read() == "def greet():\n    return 'hello, world'\n")
log = git(repo, "log", "-1", "--format=%s%n%b").stdout
check("task: the change is committed with the request as subject",
      log.startswith("make greet say hello, world"), repr(log))
st = git(repo, "status", "--porcelain", "--untracked-files=no").stdout
check("task: nothing left uncommitted", st == "", repr(st))
chats = srv.chat_requests()
check("task: three chat requests", len(chats) == 3, len(chats))
if len(chats) == 3:
    b0, b1, b2 = (c["body"] for c in chats)
    check("request: stream true, model named, tools sent",
          b0["stream"] is True and b0["model"] == "coder"
          and {t["function"]["name"] for t in b0["tools"]} >= {"read_file", "edit"})
    check("request: the API key as a Bearer token",
          chats[0]["headers"].get("authorization") == "Bearer sk-test-secret")
    check("request: no Ollama options on the OpenAI-compatible endpoint, which drops them",
          "options" not in b0, b0.get("options"))
    check("request: system then user first",
          [m["role"] for m in b0["messages"]] == ["system", "user"], b0["messages"])
    msgs = b2["messages"]
    roles = [m["role"] for m in msgs]
    check("history: assistant tool_calls and tool results keep their ids",
          roles == ["system", "user", "assistant", "tool", "assistant", "tool"], roles)
    if len(msgs) == 6:
        a1, t1, a2, t2 = msgs[2], msgs[3], msgs[4], msgs[5]
        check("history: first call sent back structured",
              a1["tool_calls"][0]["id"] == "call_a"
              and a1["tool_calls"][0]["function"]["name"] == "read_file"
              and json.loads(a1["tool_calls"][0]["function"]["arguments"]) == {"path": "hello.py"}
              and a1["content"] == "Let me look.", a1)
        check("history: tool result answers call_a with the file",
              t1["tool_call_id"] == "call_a" and "return 'hello'" in t1["content"], t1)
        check("history: second result answers call_b", t2["tool_call_id"] == "call_b"
              and a2["tool_calls"][0]["id"] == "call_b", t2)
    key_seen = "sk-test-secret" in out + err
    check("the API key is never printed", not key_seen)

# 2. Calls written as plain content (Hermes text) are parsed; results go back as user text.
repo = new_repo("plain")
srv.props = None
srv.reset([
    {"content": ['<tool_call>\n{"name": "read_file", "arguments": {"path": "hello.py"}}\n</tool_call>']},
    {"content": ["It returns hello."]},
])
rc, out, err = run(repo, "-m", "what does greet return?")
chats = srv.chat_requests()
check("plain calls: exit 0 and the answer", rc == 0 and out.strip() == "It returns hello.",
      f"rc={rc} out={out!r} err={err!r}")
check("plain calls: the model is the first listed by /v1/models",
      chats and chats[0]["body"]["model"] == "fake-model")
if len(chats) == 2:
    msgs = chats[1]["body"]["messages"]
    check("plain calls: the result goes back as a user <tool_response>",
          [m["role"] for m in msgs] == ["system", "user", "assistant", "user"]
          and msgs[3]["content"].startswith("<tool_response>")
          and "tool_calls" not in msgs[2], msgs[2:])

# 2b. Two calls in one message under the same index, told apart by id (Ollama's way).
srv.reset([
    {"same_index": True, "calls": [call("o1", "read_file", {"path": "hello.py"}),
                                   call("o2", "list_files", {})]},
    {"content": ["ok"]},
])
rc, out, err = run(repo, "-m", "look around")
chats = srv.chat_requests()
msgs = chats[1]["body"]["messages"] if len(chats) == 2 else []
check("same index, new id: two calls, each answered by its own id",
      rc == 0 and [m.get("tool_call_id") for m in msgs if m["role"] == "tool"] == ["o1", "o2"]
      and "hello.py" in msgs[-1]["content"], f"rc={rc} err={err!r} {msgs[2:]}")

# 2b'. Calls a server returns as content, in each format lcode parses (agent/toolcall.h):
# without --call-format the first format that finds a call is used.
FORMS = {
    "llama3": ['<|python_tag|>{"name": "read_file", ', '"parameters": {"path": "hello.py"}}'],
    "mistral": ['[TOOL_CALLS][{"name": "read_file", ', '"arguments": {"path": "hello.py"}}]'],
    "react": ["Thought: I should read it.\nAction: read_file\n", "path: hello.py\n"],
}
for form, pieces in FORMS.items():
    srv.reset([{"content": pieces}, {"content": ["It returns hello."]}])
    rc, out, err = run(repo, "-m", "what does greet return?")
    chats = srv.chat_requests()
    last = chats[-1]["body"]["messages"][-1] if len(chats) == 2 else {}
    check(f"text calls, {form} form: found without --call-format, run, answered",
          rc == 0 and out.strip() == "It returns hello." and last.get("role") == "user"
          and last["content"].startswith("<tool_response>")
          and "return 'hello'" in last["content"], f"rc={rc} out={out!r} err={err!r} {last}")

# --call-format is honoured: a Hermes call is not one in the Llama 3.1 format...
srv.reset([{"content": ['<tool_call>{"name": "read_file", "arguments": {"path": "hello.py"}}'
                        '</tool_call>']}])
rc, out, err = run(repo, "-m", "hi", "--call-format", "llama3")
check("--call-format llama3: Hermes text is the answer, not a call",
      rc == 0 and "<tool_call>" in out and len(srv.chat_requests()) == 1, f"rc={rc} {out!r}")
# ...a malformed call in the given format goes back to the model with the reason...
srv.reset([{"content": ['[TOOL_CALLS][{"name": "read_file", "arguments": {"path": }}]']},
           {"content": ["sorry"]}])
rc, out, err = run(repo, "-m", "hi", "--call-format", "mistral")
chats = srv.chat_requests()
last = chats[-1]["body"]["messages"][-1] if len(chats) == 2 else {}
check("--call-format mistral: a malformed call is sent back with what was wrong",
      rc == 0 and out.strip() == "sorry"
      and "your tool call could not be used" in last.get("content", ""), f"rc={rc} {last}")
# ...and with ReAct the system message teaches the format; no "tools" are sent.
srv.reset([{"content": ["Action: read_file\npath: hello.py\n"]}, {"content": ["ok"]}])
rc, out, err = run(repo, "-m", "hi", "--call-format", "react")
chats = srv.chat_requests()
b0 = chats[0]["body"] if chats else {}
sysmsg = b0.get("messages", [{}])[0].get("content", "")
check("--call-format react: the ReAct tool list in the system message, no tools field",
      rc == 0 and out.strip() == "ok" and "tools" not in b0
      and 'a line "Action: NAME"' in sysmsg and "read_file" in sysmsg and len(chats) == 2,
      f"rc={rc} err={err!r} {sysmsg[-300:]!r}")

# 2c. The event stream in 3-byte TCP segments, CRLF line ends, ": keep-alive" comments
# between events (all allowed by the WHATWG server-sent events format): same result.
srv.reset([
    {"content": ["Reading ", "it."], "calls": [call("p1", "read_file", {"path": "hello.py"})],
     "piece": 3, "crlf": True, "comments": True},
    {"content": ["It returns ", "hello."], "piece": 3, "crlf": True, "comments": True},
])
rc, out, err = run(repo, "-m", "what does greet return?")
chats = srv.chat_requests()
msgs = chats[1]["body"]["messages"] if len(chats) == 2 else []
check("tiny CRLF pieces with comments: the call and the answer come through",
      rc == 0 and out.strip() == "It returns hello."
      and [m.get("tool_call_id") for m in msgs if m["role"] == "tool"] == ["p1"]
      and msgs[2]["content"] == "Reading it.", f"rc={rc} out={out!r} err={err!r} {msgs[2:]}")

# 2d. A tool name that arrives in three deltas is one name, not three calls.
srv.reset([
    {"calls": [call("n1", "read_file", {"path": "hello.py"})], "name_split": 3},
    {"content": ["ok"]},
])
rc, out, err = run(repo, "-m", "look")
chats = srv.chat_requests()
a = chats[1]["body"]["messages"][2] if len(chats) == 2 else {}
check("a name split across deltas: one read_file call, answered",
      rc == 0 and [c["function"]["name"] for c in a.get("tool_calls", [])] == ["read_file"]
      and "return 'hello'" in chats[1]["body"]["messages"][3]["content"],
      f"rc={rc} err={err!r} {a}")

# 2e. The context size each server tells is the n_ctx lcode works with (the session log's
# header says which): vLLM's max_model_len in /v1/models (vllm/entrypoints/openai/protocol.py,
# ModelCard), LM Studio's loaded context_length (/api/v1/models) over max_context_length, and
# /api/v0/models' max_context_length for older LM Studio.
def session_n_ctx(repo):
    logs = sorted(glob.glob(os.path.join(repo, ".lcode", "sessions", "*.jsonl")))
    with open(logs[-1]) as f:
        return json.loads(f.readline()).get("n_ctx")


def ctx_case(name, models=None, v1=None, v0=None, args=()):
    r = new_repo("ctx-" + name)
    srv.models = models or [{"id": "fake-model", "object": "model"}]
    srv.lmstudio_v1, srv.lmstudio_v0 = v1, v0
    srv.reset([{"content": ["ok"]}])
    rc, out, err = run(r, "-m", "hi", *args)
    srv.models = [{"id": "fake-model", "object": "model"}]
    srv.lmstudio_v1 = srv.lmstudio_v0 = None
    return rc, err, session_n_ctx(r) if rc == 0 else None


rc, err, n = ctx_case("vllm", models=[{"id": "other", "max_model_len": 999},
                                      {"id": "fake-model", "max_model_len": 3000}],
                      args=("--remote-model", "fake-model"))
check("vLLM: n_ctx is the named model's max_model_len", rc == 0 and n == 3000, f"{n} {err!r}")
rc, err, n = ctx_case("vllm-ctx", models=[{"id": "fake-model", "max_model_len": 3000}],
                      args=("--ctx", "20000"))
check("vLLM: --ctx above max_model_len is held to it", rc == 0 and n == 3000, f"{n} {err!r}")
rc, err, n = ctx_case("lms1", v1={"models": [
    {"type": "llm", "key": "fake-model", "max_context_length": 32768,
     "loaded_instances": [{"id": "fake-model", "config": {"context_length": 4096}}]}]})
check("LM Studio v1: n_ctx is the loaded instance's context_length, not the trained 32768",
      rc == 0 and n == 4096 and "does not say" not in err, f"{n} {err!r}")
rc, err, n = ctx_case("lms1-unloaded", v1={"models": [
    {"type": "llm", "key": "fake-model", "max_context_length": 32768, "loaded_instances": []}]})
check("LM Studio v1, not loaded: 8192 (under the trained 32768), with a warning",
      rc == 0 and n == 8192 and "does not say which context it runs 'fake-model' with" in err
      and "assumes 8192 tokens" in err, f"{n} {err!r}")
rc, err, n = ctx_case("lms0", v0={"object": "list", "data": [
    {"id": "fake-model", "object": "model", "state": "loaded", "max_context_length": 6000}]})
check("LM Studio v0: max_context_length under 8192 is the n_ctx, with a warning",
      rc == 0 and n == 6000 and "assumes 6000 tokens" in err, f"{n} {err!r}")

# 2f. Ollama (POST /api/show answers): its own POST /api/chat, where options.num_ctx holds
# (its /v1 endpoint has no options: docs/api/openai-compatibility.mdx, "Setting the context
# size"). The same multi-step task; then the context it runs with is lcode's n_ctx.
SHOW = {"details": {"format": "gguf", "family": "qwen2", "quantization_level": "Q4_K_M"},
        "model_info": {"general.architecture": "qwen2", "qwen2.context_length": 32768},
        "parameters": 'stop                           "<|im_end|>"'}
srv.show = dict(SHOW)
repo = new_repo("ollama")
srv.reset([
    {"content": ["Let me ", "look."], "calls": [call("x1", "read_file", {"path": "hello.py"})]},
    {"calls": [dict(call("x2", "edit", {"path": "hello.py", "search": "    return 'hello'\n",
                                        "replace": "    return 'hi'\n"}), with_id=True)]},
    {"content": ["Done."]},
])
rc, out, err = run(repo, "-m", "say hi", "--remote-model", "qwen2.5-coder:7b")
chats = srv.chat_requests()
check("ollama: exit 0, the answer, the edit made, all over /api/chat",
      rc == 0 and out.strip() == "Done." and [c["path"] for c in chats] == ["/api/chat"] * 3
      and open(os.path.join(repo, "hello.py")).read() == "def greet():\n    return 'hi'\n",
      f"rc={rc} out={out!r} err={err!r} {[c['path'] for c in chats]}")
if len(chats) == 3:
    b0, b2 = chats[0]["body"], chats[2]["body"]
    check("ollama: stream, model, tools, and options num_ctx / num_predict / temperature",
          b0["stream"] is True and b0["model"] == "qwen2.5-coder:7b"
          and {t["function"]["name"] for t in b0["tools"]} >= {"read_file", "edit"}
          and b0["options"] == {"num_ctx": 8192, "num_predict": 2048, "temperature": 0},
          b0.get("options"))
    m = b2["messages"]
    check("ollama: history in Ollama's shape (arguments objects, tool_name on results)",
          [x["role"] for x in m] == ["system", "user", "assistant", "tool", "assistant", "tool"]
          and m[2]["content"] == "Let me look."
          and m[2]["tool_calls"] == [{"function": {"name": "read_file",
                                                   "arguments": {"path": "hello.py"}}}]
          and m[3]["tool_name"] == "read_file" and "tool_call_id" not in m[3]
          and "return 'hello'" in m[3]["content"]
          and m[4]["tool_calls"][0]["id"] == "x2" and m[5]["tool_call_id"] == "x2"
          and m[5]["tool_name"] == "edit", m[2:])
check("ollama: the context Ollama ran with is lcode's n_ctx (8192: under the trained 32768)",
      srv.ollama_ctx == [8192] * 3 and session_n_ctx(repo) == 8192,
      f"{srv.ollama_ctx} {session_n_ctx(repo) if rc == 0 else None}")

# Each case: what /api/show says, lcode's options, the context Ollama must run with.
for name, show, args, want in [
        ("a Modelfile's num_ctx", dict(SHOW, parameters='num_ctx    16384\nstop "x"'), (), 16384),
        ("a model trained for 2048", dict(SHOW, model_info={"qwen2.context_length": 2048}), (),
         2048),
        ("--ctx 3000", dict(SHOW), ("--ctx", "3000"), 3000)]:
    srv.show = show
    repo = new_repo("ollama-" + str(want))
    srv.reset([{"content": ["ok"]}])
    rc, out, err = run(repo, "-m", "hi", *args)
    check(f"ollama: {name}: Ollama runs with {want}, lcode counts with {want}",
          rc == 0 and srv.ollama_ctx == [want] and session_n_ctx(repo) == want,
          f"rc={rc} {srv.ollama_ctx} err={err!r}")
srv.reset([{"content": ["Part"], "error": "an error was encountered while running the model"}])
rc, out, err = run(repo, "-m", "hi")
check("ollama: an error line in the middle of the stream ends it with the server's words",
      rc == 3 and "an error was encountered while running the model" in err,
      f"rc={rc} err={err!r}")
srv.reset([{"status": 404, "body": {"error": "model 'nope' not found"}}])
rc, out, err = run(repo, "-m", "hi")
check("ollama: HTTP 404 with Ollama's {\"error\": M}: exit 3 with M",
      rc == 3 and "HTTP 404" in err and "model 'nope' not found" in err, f"rc={rc} err={err!r}")
srv.reset([{"calls": [call("c", "read_file", {"path": "hello.py"})], "cut": True},
           {"content": ["again"]}])
rc, out, err = run(repo, "-m", "hi")
check("ollama: a stream without its done line is an error, not a half message",
      rc == 3 and "ended before the message did" in err, f"rc={rc} err={err!r}")
srv.show = None

# 3. 429 with Retry-After, then success.
repo = new_repo("retry")
srv.reset([{"status": 429, "headers": {"Retry-After": "1"},
            "body": {"error": {"message": "slow down"}}},
           {"content": ["fine"]}])
t0 = time.time()
rc, out, err = run(repo, "-m", "hi", env=dict(ENV, LCODE_LOG="info"))
dt = time.time() - t0
check("429 then success: exit 0 after a retry", rc == 0 and out.strip() == "fine"
      and len(srv.chat_requests()) == 2, f"rc={rc} err={err!r}")
check("429: Retry-After was honoured (waited >= 1 s)", dt >= 1.0, dt)
retry_lines = [l for l in err.splitlines() if "trying again in 1.0 s" in l]
check("429: one retry line naming its subject once",
      len(retry_lines) == 1 and retry_lines[0].count("remote:") == 1
      and "HTTP 429" in retry_lines[0] and "slow down" in retry_lines[0], err)

# 3b. 503 without Retry-After: the backoff's first pause (0.5 s), then success.
srv.reset([{"status": 503, "body": {"error": "loading model"}}, {"content": ["up"]}])
rc, out, err = run(repo, "-m", "hi", env=dict(ENV, LCODE_LOG="info"))
check("503 then success: exit 0 after one retry, paused by the backoff's 0.5 s",
      rc == 0 and out.strip() == "up" and len(srv.chat_requests()) == 2
      and "HTTP 503" in err and "loading model; trying again in 0.5 s" in err,
      f"rc={rc} err={err!r}")

# 4. A 400 with an error body: the server's own text, exit 3, no retry.
srv.reset([{"status": 400, "body": {"error": {"message": "model 'x' does not support tools",
                                               "type": "invalid_request_error"}}}])
rc, out, err = run(repo, "-m", "hi")
check("400: exit 3 with the server's message",
      rc == 3 and "HTTP 400" in err and "model 'x' does not support tools" in err,
      f"rc={rc} err={err!r}")
check("400: not retried", len(srv.chat_requests()) == 1)
check("400: one line", len(err.strip().splitlines()) == 1, err)

# 5. A stream cut in the middle of a tool call: an error, not a half call.
srv.reset([{"calls": [call("c1", "read_file", {"path": "hello.py"})], "cut": True}])
rc, out, err = run(repo, "-m", "hi")
check("cut stream: exit 3, says the stream ended early",
      rc == 3 and "ended before the message did" in err, f"rc={rc} err={err!r}")

# 5b. A stream cut before any content is tried again: nothing was shown or half-parsed.
srv.reset([{"cut_before": True}, {"content": ["whole"]}])
rc, out, err = run(repo, "-m", "hi")
check("cut before any content: retried, then the answer",
      rc == 0 and out.strip() == "whole" and len(srv.chat_requests()) == 2,
      f"rc={rc} err={err!r}")

# 6. A server that goes silent: the time-out ends it.
srv.reset([{"silent": 6}])
t0 = time.time()
rc, out, err = run(repo, "-m", "hi", "--remote-timeout", "1")
dt = time.time() - t0
check("silent server: exit 3 with a time-out message", rc == 3 and "no answer" in err,
      f"rc={rc} err={err!r}")
check("silent server: gave up well before the server spoke", dt < 5.5, dt)

# 6b. Silence in the middle of a stream: the same time-out, and no retry (text was shown).
srv.reset([{"content": ["Half an ", "answer"], "silent_after": 6}])
t0 = time.time()
rc, out, err = run(repo, "-m", "hi", "--remote-timeout", "1")
dt = time.time() - t0
check("silent mid-stream: exit 3 with a time-out message, one request",
      rc == 3 and "no answer" in err and len(srv.chat_requests()) == 1,
      f"rc={rc} err={err!r}")
check("silent mid-stream: gave up well before the server spoke again", dt < 5.5, dt)

# 6c. A /props that hangs costs the start-up at most the probe's time-out (here the 1 s of
# --remote-timeout, which is shorter than the usual 5 s), and Ctrl-C stops it at once.
srv.props = {"default_generation_settings": {"n_ctx": 4096}}
srv.props_delay = 10
srv.reset([{"content": ["after the wait"]}])
t0 = time.time()
rc, out, err = run(repo, "-m", "hi", "--remote-timeout", "1")
dt = time.time() - t0
check("hanging /props: the request still runs, answered", rc == 0
      and out.strip() == "after the wait", f"rc={rc} err={err!r}")
check("hanging /props: start-up gave up on it after about 1 s, not 10", dt < 5, dt)
srv.reset([{"content": ["never asked"]}])
p = subprocess.Popen([lcode, "-C", repo, "--backend", "openai", "--base-url", srv.url + "/v1",
                      "--no-sandbox", "-m", "hi"], stdout=subprocess.PIPE,
                     stderr=subprocess.PIPE, text=True, env=ENV)
while not any(r["path"] == "/props" for r in srv.requests) and p.poll() is None:
    time.sleep(0.05)
t0 = time.time()
p.send_signal(signal.SIGINT)
out, err = p.communicate(timeout=30)
dt = time.time() - t0
check("Ctrl-C during a start-up probe: stops at once, says cancelled, asks nothing more",
      p.returncode == 3 and "cancelled" in err and dt < 2.5 and srv.chat_requests() == [],
      f"rc={p.returncode} dt={dt} err={err!r}")
srv.props_delay = 0
srv.props = None

# 7. Nothing listening: a clear message after retries.
dead = FakeServer()
dead_url = dead.url
dead.close()
p = subprocess.run([lcode, "-C", repo, "--backend", "openai", "--base-url", dead_url + "/v1",
                    "--remote-model", "m", "--no-sandbox", "-m", "hi"],
                   capture_output=True, text=True, timeout=60, env=ENV)
check("no server: exit 3, says it cannot reach it", p.returncode == 3 and "cannot reach" in p.stderr,
      f"rc={p.returncode} err={p.stderr!r}")

# 7b. The same settings from .lcode/config, no options given.
crepo = new_repo("configured")
os.makedirs(os.path.join(crepo, ".lcode"))
with open(os.path.join(crepo, ".lcode", "config"), "w") as f:
    f.write(f"backend = openai\nbase-url = {srv.url}/v1\nremote-model = from-config\n"
            "remote-timeout = 1\n")
srv.reset([{"content": ["configured"]}, {"silent": 6}])
p = subprocess.run([lcode, "-C", crepo, "--no-sandbox", "-m", "hi"], capture_output=True,
                   text=True, timeout=60, env=ENV)
chats = srv.chat_requests()
check("config: backend, base-url and remote-model from .lcode/config",
      p.returncode == 0 and p.stdout.strip() == "configured" and len(chats) == 1
      and chats[0]["body"]["model"] == "from-config", f"rc={p.returncode} err={p.stderr!r}")
p = subprocess.run([lcode, "-C", crepo, "--no-sandbox", "-m", "hi"], capture_output=True,
                   text=True, timeout=60, env=ENV)
check("config: remote-timeout = 1 ends a silent server's wait",
      p.returncode == 3 and "no answer" in p.stderr and "for 1 s" in p.stderr,
      f"rc={p.returncode} err={p.stderr!r}")

# 8. Usage errors.
p = subprocess.run([lcode, "--backend", "openai", "-m", "hi", "-C", repo], capture_output=True,
                   text=True, env=ENV, timeout=30)
check("--backend openai without --base-url is a usage error",
      p.returncode == 2 and "--base-url" in p.stderr, p.stderr)
p = subprocess.run([lcode, "--backend", "cloud", "-m", "hi"], capture_output=True, text=True,
                   env=ENV, timeout=30)
check("--backend cloud is a usage error", p.returncode == 2, p.stderr)

# --- lcode pull -------------------------------------------------------------
data = bytes((i * 7 + 3) % 251 for i in range(300000))
digest = hashlib.sha256(data).hexdigest()
models_dir = os.path.join(top, "cache", "lcode", "models")


def pull(*args, env=None):
    p = subprocess.run([lcode, "pull", *args], capture_output=True, text=True, timeout=60,
                       env=env or ENV)
    return p.returncode, p.stdout, p.stderr


def range_requests(name):
    return [r for r in srv.requests if r["path"].endswith("/" + name) and "range" in r["headers"]]


# 9. A download cut half way is resumed with a Range request; the bytes match.
srv.files["a.gguf"] = {"data": data, "cut_at": 120000}
srv.reset()
rc, out, err = pull(srv.url + "/files/a.gguf", "--sha256", digest)
dest = os.path.join(models_dir, "a.gguf")
check("pull: exit 0, prints the path", rc == 0 and out.strip() == dest, f"rc={rc} {err!r}")
check("pull: the server saw a Range request from where the cut was",
      [r["headers"]["range"] for r in range_requests("a.gguf")] == ["bytes=120000-"],
      [r["headers"] for r in srv.requests])
check("pull: the file's bytes are the server's", os.path.exists(dest)
      and open(dest, "rb").read() == data)
check("pull: no .part left", not os.path.exists(dest + ".part"))

# 10. An interrupted download left by an earlier run is resumed.
out_path = os.path.join(top, "b.gguf")
with open(out_path + ".part", "wb") as f:
    f.write(data[:50000])
srv.files["b.gguf"] = {"data": data}
srv.reset()
rc, out, err = pull(srv.url + "/files/b.gguf", "-o", out_path)
check("resume .part: exit 0, Range from 50000, bytes match",
      rc == 0 and [r["headers"]["range"] for r in range_requests("b.gguf")] == ["bytes=50000-"]
      and open(out_path, "rb").read() == data, f"rc={rc} err={err!r}")

# 11. A server without Range support: the .part starts over, the file is still right.
out_path = os.path.join(top, "c.gguf")
with open(out_path + ".part", "wb") as f:
    f.write(b"garbage that is not the start of the file")
srv.files["c.gguf"] = {"data": data, "ranges": False}
srv.reset()
rc, out, err = pull(srv.url + "/files/c.gguf", "-o", out_path, "--sha256", digest)
check("no Range support: starts over, bytes match", rc == 0 and open(out_path, "rb").read() == data,
      f"rc={rc} err={err!r}")

# 12. A wrong SHA-256 (given, then named by the server): no final file, the .part is kept.
out_path = os.path.join(top, "d.gguf")
srv.files["d.gguf"] = {"data": data}
rc, out, err = pull(srv.url + "/files/d.gguf", "-o", out_path, "--sha256", "0" * 64)
check("wrong --sha256: exit 1, says which digest it has",
      rc == 1 and digest in err and "0" * 64 in err, f"rc={rc} err={err!r}")
check("wrong --sha256: no final file, the .part kept",
      not os.path.exists(out_path) and os.path.getsize(out_path + ".part") == len(data))
rc, out, err = pull(srv.url + "/files/d.gguf", "-o", out_path, "--sha256", digest)
check("the right --sha256 afterwards completes from the .part (416: nothing left)",
      rc == 0 and open(out_path, "rb").read() == data, f"rc={rc} err={err!r}")
out_path = os.path.join(top, "e.gguf")
srv.files["e.gguf"] = {"data": data, "headers": {"X-Linked-ETag": '"' + "ab" * 32 + '"'}}
rc, out, err = pull(srv.url + "/files/e.gguf", "-o", out_path)
check("a server-named SHA-256 that differs is refused", rc == 1 and not os.path.exists(out_path)
      and "ab" * 32 in err, f"rc={rc} err={err!r}")
rc, out, err = pull(srv.url + "/files/e.gguf", "-o", out_path, "--sha256", "xyz")
check("--sha256 that is not hex is a usage error", rc == 2, f"rc={rc} err={err!r}")

# 12c. A file that changed on the server between two runs is not spliced: the .part's
# ETag goes out as If-Range, the server answers with the whole new file (RFC 9110 13.1.5).
v1 = bytes((i * 13 + 1) % 256 for i in range(200000))
v2 = bytes((i * 17 + 5) % 256 for i in range(200000))
out_path = os.path.join(top, "v.gguf")
srv.files["v.gguf"] = {"data": v1, "etag": '"v1"', "cut_at": 80000, "gone_after_cut": True}
srv.reset()
rc, out, err = pull(srv.url + "/files/v.gguf", "-o", out_path)
check("changed file: the first run stops with a .part and its ETag beside it",
      rc == 1 and os.path.getsize(out_path + ".part") == 80000
      and open(out_path + ".part.if-range").read() == '"v1"', f"rc={rc} err={err!r}")
srv.files["v.gguf"] = {"data": v2, "etag": '"v2"'}
srv.reset()
rc, out, err = pull(srv.url + "/files/v.gguf", "-o", out_path)
reqs = [r["headers"] for r in srv.requests if r["path"] == "/files/v.gguf"]
check("changed file: the resuming request carries Range and If-Range: \"v1\"",
      [(h.get("range"), h.get("if-range")) for h in reqs] == [("bytes=80000-", '"v1"')], reqs)
check("changed file: the result is the new version whole, not v1 then v2",
      rc == 0 and open(out_path, "rb").read() == v2, f"rc={rc} err={err!r}")
check("changed file: the If-Range file goes with the .part",
      not os.path.exists(out_path + ".part") and not os.path.exists(out_path + ".part.if-range"))

# 12d. Unchanged, with only a weak ETag: Last-Modified is the validator, the range is kept.
date = "Wed, 21 Oct 2015 07:28:00 GMT"
out_path = os.path.join(top, "w.gguf")
srv.files["w.gguf"] = {"data": v1, "etag": 'W/"weak"', "last_modified": date, "cut_at": 70000,
                       "gone_after_cut": True}
rc, out, err = pull(srv.url + "/files/w.gguf", "-o", out_path)
srv.files["w.gguf"] = {"data": v1, "etag": 'W/"weak"', "last_modified": date}
srv.reset()
rc, out, err = pull(srv.url + "/files/w.gguf", "-o", out_path, "--sha256",
                    hashlib.sha256(v1).hexdigest())
reqs = [r["headers"] for r in srv.requests if r["path"] == "/files/w.gguf"]
check("weak ETag: If-Range is the Last-Modified date, the download resumes at 70000",
      rc == 0 and [(h.get("range"), h.get("if-range")) for h in reqs] == [("bytes=70000-", date)]
      and open(out_path, "rb").read() == v1, f"rc={rc} err={err!r} {reqs}")

# 12e. The file is already there: --sha256 checks it (no request), without it is kept as is.
srv.reset()
rc, out, err = pull(srv.url + "/files/w.gguf", "-o", out_path, "--sha256",
                    hashlib.sha256(v1).hexdigest().upper())
check("already there, right --sha256: exit 0, says it matches, no request",
      rc == 0 and "matches" in err and out.strip() == out_path and srv.requests == [],
      f"rc={rc} err={err!r}")
rc, out, err = pull(srv.url + "/files/w.gguf", "-o", out_path, "--sha256", "1" * 64)
check("already there, wrong --sha256: exit 1 naming both digests, the file kept",
      rc == 1 and hashlib.sha256(v1).hexdigest() in err and "1" * 64 in err
      and open(out_path, "rb").read() == v1 and srv.requests == [], f"rc={rc} err={err!r}")

# 12b. On a terminal the progress bar's last line gives the download's rate, however fast
# it was: a file from loopback takes well under the bar's 0.2 s between redraws.
out_path = os.path.join(top, "p.gguf")
srv.files["p.gguf"] = {"data": data}
master, slave = pty.openpty()
p = subprocess.Popen([lcode, "pull", srv.url + "/files/p.gguf", "-o", out_path],
                     stdout=subprocess.PIPE, stderr=slave, env=ENV)
os.close(slave)
bar = b""
while True:
    try:
        chunk = os.read(master, 4096)
    except OSError:  # EIO: the other end is closed
        break
    if not chunk:
        break
    bar += chunk
os.close(master)
p.wait(timeout=60)
last = bar.decode(errors="replace").replace("\r\n", "\n").split("\r")[-1]
check("pull on a terminal: the last progress line has a rate that is not 0 B/s",
      p.returncode == 0 and re.search(r"[0-9.]+ (B|KiB|MiB|GiB)/s", last)
      and "  0 B/s" not in last, repr(bar[-400:]))

# 13. hf:OWNER/REPO/FILE goes to HF_ENDPOINT/OWNER/REPO/resolve/main/FILE; its X-Linked-ETag holds.
# The file is a small qwen2 model whose 2-D weights are all Q8_0 (tests/make_model.py).
model_src = os.path.join(top, "tiny-src.gguf")
make_model.write(model_src, arch="qwen2", qtype="Q8_0", n_embd=64, n_layer=1, n_head=2,
                 n_head_kv=1, n_ff=128, n_ctx=256)
gdata = open(model_src, "rb").read()
srv.files["tiny.gguf"] = {"data": gdata,
                          "headers": {"X-Linked-ETag": '"' + hashlib.sha256(gdata).hexdigest() + '"'}}
srv.reset()
rc, out, err = pull("hf:someone/some-repo/tiny.gguf", env=dict(ENV, HF_ENDPOINT=srv.url))
check("hf: resolves to /OWNER/REPO/resolve/main/FILE",
      rc == 0 and [r["path"] for r in srv.requests] == ["/someone/some-repo/resolve/main/tiny.gguf"],
      f"rc={rc} err={err!r} {[r['path'] for r in srv.requests]}")

# 14. lcode models lists it with the architecture and the type most of its bytes have.
p = subprocess.run([lcode, "models"], capture_output=True, text=True, env=ENV, timeout=30)
rows = {l.split()[0]: l.split() for l in p.stdout.splitlines()[1:] if l.strip()}
check("models: lists tiny.gguf and a.gguf", p.returncode == 0 and "tiny.gguf" in rows
      and "a.gguf" in rows, p.stdout + p.stderr)
check("models: the header names the columns",
      p.stdout.splitlines()[0].split() == ["NAME", "SIZE", "ARCH", "QUANT"], p.stdout)
check("models: tiny.gguf is qwen2, Q8_0 (as written)",
      rows.get("tiny.gguf", [])[-2:] == ["qwen2", "Q8_0"], rows.get("tiny.gguf"))
check("models: a file that is not GGUF says so instead of a type",
      "unreadable" in " ".join(rows.get("a.gguf", [])), rows.get("a.gguf"))

# 15. --model NAME finds the file in the models directory (it gets past the model check).
repo = new_repo("byname")
p = subprocess.run([lcode, "-C", repo, "--model", "tiny", "--no-sandbox", "-m", "hi",
                    "--script", os.devnull], capture_output=True, text=True, env=ENV, timeout=60)
check("--model NAME resolves in the models directory (an empty script answers)",
      p.returncode == 0, f"rc={p.returncode} err={p.stderr!r}")
p = subprocess.run([lcode, "-C", repo, "--model", "tinyx", "--no-sandbox", "-m", "hi",
                    "--script", os.devnull], capture_output=True, text=True, env=ENV, timeout=60)
check("--model with an unknown name fails on the name as given",
      p.returncode == 3 and "'tinyx'" in p.stderr, f"rc={p.returncode} err={p.stderr!r}")

# 15b. The other commands that take a model accept the name as well.
p1 = subprocess.run([lcode, "tokenize", "--model", "tiny", "hello"], capture_output=True,
                    text=True, env=ENV, timeout=30)
p2 = subprocess.run([lcode, "tokenize", "--model", os.path.join(models_dir, "tiny.gguf"),
                     "hello"], capture_output=True, text=True, env=ENV, timeout=30)
check("tokenize --model NAME: the same ids as with the path",
      p1.returncode == 0 and p1.stdout.strip() and p1.stdout == p2.stdout,
      f"{p1.returncode} {p1.stdout!r} {p1.stderr!r} / {p2.stdout!r}")
p = subprocess.run([lcode, "model-info", "tiny"], capture_output=True, text=True, env=ENV,
                   timeout=30)
check("model-info NAME: reads the file in the models directory",
      p.returncode == 0 and "qwen2" in p.stdout and "tiny.gguf" in p.stdout,
      f"{p.returncode} {p.stdout!r} {p.stderr!r}")
p = subprocess.run([lcode, "generate", "--model", "tiny", "-p", "hi", "-n", "2"],
                   capture_output=True, env=ENV, timeout=60)  # random weights: any bytes
check("generate --model NAME: loads the file in the models directory",
      p.returncode == 0 and b"tiny.gguf" in p.stderr, f"{p.returncode} {p.stderr!r}")

srv.close()
shutil.rmtree(top, ignore_errors=True)
print(f"1..{len(results)}")
for i, (name, ok, detail) in enumerate(results, 1):
    print(f"{'ok' if ok else 'not ok'} {i} - {name}")
    if not ok and detail:
        print(f"# {str(detail)[:2000]}")
sys.exit(0 if all(ok for _, ok, _ in results) else 1)
