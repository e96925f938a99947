#!/usr/bin/env python3
"""A fake OpenAI-compatible server on 127.0.0.1 for lcode's tests.

It speaks the chat completions streaming protocol as OpenAI documents it
(server-sent events "data: {chat.completion.chunk}", tool-call deltas keyed
by "index", a final "data: [DONE]"), answers llama-server's GET /props,
Ollama's POST /api/show and LM Studio's GET /api/v1/models and /api/v0/models,
lists models at GET /v1/models (vLLM adds max_model_len to each), and serves
files with or without HTTP Range support.

With .show set the server is Ollama: POST /api/show answers, and POST /api/chat
streams the same script as Ollama's NDJSON (docs/api.md, "Generate a chat
completion": message.content pieces, message.tool_calls with arguments as
objects, a last line with "done": true, done_reason, prompt_eval_count and
eval_count; {"error": M} in the middle when the reply has "error"; a call
with "with_id" carries its id). .ollama_ctx records the context each such
request would run with: its options.num_ctx, else .ollama_default_ctx.

Replies to POST /v1/chat/completions come from a script, one per request:
  {"content": ["Hel", "lo"]}                         content deltas
  {"calls": [{"id", "name", "args": ["{\\"a", "\\": 1}"]}]}  tool-call deltas:
      the name in one event, the arguments in the given pieces
  {"same_index": True, ...} every call under index 0, told apart by its id (Ollama)
  {"cut": True, ...}        the stream closes before its end (no [DONE])
  {"status": 429, "headers": {...}, "body": {...}}   an HTTP error
  {"silent": 30}            headers, then nothing for 30 s
  {"silent_after": 30, ...} the content deltas, then nothing for 30 s
  {"cut_before": True}      the role-only first event, then the connection closes
  {"name_split": 2, ...}    each call's name arrives in 2 deltas (the id with the first)
  {"piece": 3, "crlf": True, "comments": True, ...}   the event stream written 3 bytes
      at a time (each its own TCP segment), lines ended by CRLF, ": keep-alive"
      comment lines between events
Every request is recorded in .requests (path, headers, JSON body).

Files: .files[name] = {"data": bytes, "ranges": bool, "cut_at": n (the first
response stops after n bytes), "gone_after_cut": bool (404 after that),
"etag": '"v1"', "last_modified": "HTTP-date", "headers": {...}}, served at
/files/NAME. A Range request with an If-Range that is neither the file's ETag
nor its Last-Modified gets the whole file (RFC 9110, 13.1.5).
"""
import json
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class FakeServer:
    def __init__(self):
        self.script = []
        self.requests = []
        self.files = {}
        self.props = None     # dict for GET /props, or None for 404
        self.props_delay = 0  # seconds GET /props waits before it answers
        self.show = None      # dict for POST /api/show, or None for 404 (and no /api/chat)
        self.ollama_default_ctx = 4096  # the context Ollama runs with when none is asked
        self.ollama_ctx = []  # per POST /api/chat: the context Ollama would run it with
        self.models = [{"id": "fake-model", "object": "model"}]
        self.lmstudio_v1 = None  # dict for LM Studio's GET /api/v1/models, or None for 404
        self.lmstudio_v0 = None  # dict for LM Studio's GET /api/v0/models, or None for 404
        self.lock = threading.Lock()
        self.cut_done = set()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def record(self, body=None):
                with outer.lock:
                    outer.requests.append({"method": self.command, "path": self.path,
                                           "headers": {k.lower(): v for k, v in self.headers.items()},
                                           "body": body})

            def send_json(self, code, obj, headers=None):
                data = json.dumps(obj).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                self.record()
                if self.path == "/props":
                    time.sleep(outer.props_delay)
                if self.path == "/props" and outer.props is not None:
                    return self.send_json(200, outer.props)
                if self.path == "/v1/models":
                    return self.send_json(200, {"object": "list", "data": outer.models})
                if self.path == "/api/v1/models" and outer.lmstudio_v1 is not None:
                    return self.send_json(200, outer.lmstudio_v1)
                if self.path == "/api/v0/models" and outer.lmstudio_v0 is not None:
                    return self.send_json(200, outer.lmstudio_v0)
                if self.path.startswith("/files/") or "/resolve/main/" in self.path:
                    return self.serve_file(self.path.rsplit("/", 1)[1])
                self.send_json(404, {"error": "not found"})

            def do_POST(self):
                n = int(self.headers.get("Content-Length", "0"))
                raw = self.rfile.read(n)
                try:
                    body = json.loads(raw)
                except ValueError:
                    body = None
                self.record(body)
                if self.path == "/api/show":
                    if outer.show is None:
                        return self.send_json(404, {"error": "not found"})
                    return self.send_json(200, outer.show)
                if self.path == "/api/chat" and outer.show is not None:
                    with outer.lock:
                        reply = outer.script.pop(0) if outer.script else {"content": ["(end)"]}
                        # what Ollama would run with: the request's num_ctx, else its own
                        opts = (body or {}).get("options") or {}
                        outer.ollama_ctx.append(opts.get("num_ctx", outer.ollama_default_ctx))
                    return self.reply_ollama(reply)
                if self.path != "/v1/chat/completions":
                    return self.send_json(404, {"error": "not found"})
                with outer.lock:
                    reply = outer.script.pop(0) if outer.script else {"content": ["(script ended)"]}
                self.reply(reply)

            def reply_ollama(self, r):
                """Ollama's POST /api/chat stream: one JSON object per line."""
                if "status" in r:
                    return self.send_json(r["status"], r.get("body", {}))
                self.send_response(200)
                self.send_header("Content-Type", "application/x-ndjson")
                self.send_header("Connection", "close")
                self.end_headers()

                def line(obj):
                    obj = dict({"model": "fake-model", "created_at": "2025-07-07T20:22:19Z"}, **obj)
                    self.wfile.write(json.dumps(obj).encode() + b"\n")
                    self.wfile.flush()

                for piece in r.get("content", []):
                    line({"message": {"role": "assistant", "content": piece}, "done": False})
                if "error" in r:
                    line({"error": r["error"]})
                    self.close_connection = True
                    return
                calls = []
                for c in r.get("calls", []):
                    fn = {"name": c["name"], "arguments": json.loads("".join(c["args"]))}
                    calls.append({"id": c["id"], "function": fn} if c.get("with_id") else
                                 {"function": fn})
                if calls:
                    line({"message": {"role": "assistant", "content": "", "tool_calls": calls},
                          "done": False})
                if r.get("cut"):
                    self.close_connection = True
                    return
                line({"message": {"role": "assistant", "content": ""}, "done": True,
                      "done_reason": r.get("done_reason", "stop"), "total_duration": 1,
                      "prompt_eval_count": 1000, "eval_count": 10})
                self.close_connection = True

            def reply(self, r):
                if "status" in r:
                    return self.send_json(r["status"], r.get("body", {}), r.get("headers"))
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Connection", "close")
                self.end_headers()
                if "silent" in r:
                    self.wfile.flush()
                    time.sleep(r["silent"])
                    return
                base = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1,
                        "model": "fake-model"}
                eol = b"\r\n" if r.get("crlf") else b"\n"

                def send(raw):
                    n = r.get("piece")
                    if not n:
                        self.wfile.write(raw)
                        self.wfile.flush()
                        return
                    self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                    for k in range(0, len(raw), n):
                        self.wfile.write(raw[k:k + n])
                        self.wfile.flush()
                        time.sleep(0.002)

                def event(delta=None, finish=None, usage=None):
                    c = dict(base)
                    c["choices"] = [] if usage else [{"index": 0, "delta": delta or {},
                                                      "finish_reason": finish}]
                    if usage:
                        c["usage"] = usage
                    if r.get("comments"):
                        send(b": keep-alive" + eol + eol)
                    send(b"data: " + json.dumps(c).encode() + eol + eol)

                event({"role": "assistant", "content": ""})
                if r.get("cut_before"):
                    self.close_connection = True
                    return
                for piece in r.get("content", []):
                    event({"content": piece})
                if "silent_after" in r:
                    time.sleep(r["silent_after"])
                    return
                for i, call in enumerate(r.get("calls", [])):
                    if r.get("same_index"):
                        i = 0
                    k = r.get("name_split", 1)
                    step = -(-len(call["name"]) // k)
                    parts = [call["name"][j:j + step] for j in range(0, len(call["name"]), step)]
                    event({"tool_calls": [{"index": i, "id": call["id"], "type": "function",
                                           "function": {"name": parts[0], "arguments": ""}}]})
                    for part in parts[1:]:
                        event({"tool_calls": [{"index": i, "function": {"name": part}}]})
                    if r.get("cut"):
                        self.close_connection = True
                        return
                    for piece in call["args"]:
                        event({"tool_calls": [{"index": i, "function": {"arguments": piece}}]})
                if r.get("cut"):
                    self.close_connection = True
                    return
                event({}, "tool_calls" if r.get("calls") else "stop")
                event(usage={"prompt_tokens": 1000, "completion_tokens": 10, "total_tokens": 1010})
                send(b"data: [DONE]" + eol + eol)
                self.close_connection = True

            def serve_file(self, name):
                f = outer.files.get(name)
                if f is None:
                    return self.send_json(404, {"error": "no such file"})
                with outer.lock:
                    gone = f.get("gone_after_cut") and name in outer.cut_done
                if gone:
                    return self.send_json(404, {"error": "gone"})
                data, start = f["data"], 0
                rng = self.headers.get("Range")
                cond = self.headers.get("If-Range")
                if cond is not None and cond not in (f.get("etag"), f.get("last_modified")):
                    rng = None  # the client's bytes are of another version
                code = 200
                if rng and f.get("ranges", True) and rng.startswith("bytes="):
                    start = int(rng[6:].split("-")[0])
                    if start >= len(data):
                        self.send_response(416)
                        self.send_header("Content-Range", f"bytes */{len(data)}")
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                        return
                    code = 206
                body = data[start:]
                self.send_response(code)
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Content-Length", str(len(body)))
                if f.get("ranges", True):
                    self.send_header("Accept-Ranges", "bytes")
                if code == 206:
                    self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
                if f.get("etag"):
                    self.send_header("ETag", f["etag"])
                if f.get("last_modified"):
                    self.send_header("Last-Modified", f["last_modified"])
                for k, v in f.get("headers", {}).items():
                    self.send_header(k, v)
                self.send_header("Connection", "close")
                self.end_headers()
                cut = f.get("cut_at")
                with outer.lock:
                    first = name not in outer.cut_done
                    outer.cut_done.add(name)
                if cut is not None and first:
                    self.wfile.write(body[:cut])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.wfile.write(body)
                self.close_connection = True

        class Server(ThreadingHTTPServer):
            def handle_error(self, request, client_address):
                # a client that gave up (a time-out, Ctrl-C) is what some tests are about
                if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
                    super().handle_error(request, client_address)

        self.httpd = Server(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def chat_requests(self):
        return [r for r in self.requests if r["path"] in ("/v1/chat/completions", "/api/chat")]

    def reset(self, script=()):
        with self.lock:
            self.script = list(script)
            self.requests = []
            self.ollama_ctx = []

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()
