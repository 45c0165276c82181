#!/usr/bin/python3
"""A loopback stand-in for api.telegram.org, for hbmon-notify's tests.

    notify_telegram.py DIR TOKEN

Listens on 127.0.0.1 (a free port, written to DIR/port once listening) and
answers POST /bot<TOKEN>/sendMessage like the Bot API. Every request is
appended to DIR/requests.jsonl as {"t": unix seconds, "path", "status",
"body": the JSON sent} before it is answered.

What it answers is read from DIR/mode, a list of words used one per
request, the last one sticking:
    ok        200 {"ok": true, ...}
    500       500 {"ok": false, "error_code": 500, ...}
    429:N     429 with parameters.retry_after = N
    400       400 "Bad Request: chat not found"
    400html   400 "can't parse entities" when parse_mode is set, else ok
    hang      never answers (the connection stays open for 60 s)
A new DIR/mode (written to a temp file and renamed) restarts the list.
A wrong token gets 401 Unauthorized, as the real API does.

POST /hook stands in for a webhook receiver the same way (its records
also carry "raw", the body as sent, and "headers").

Any GET stands in for a dead man's switch (Healthchecks.io and the like):
it is recorded as {"t", "method": "GET", "path", "status": 200} and
answered 200 "OK", whatever the mode.
"""
import http.server
import json
import os
import sys
import threading
import time

DIR, TOKEN = sys.argv[1], sys.argv[2]
lock = threading.Lock()
state = {"text": None, "queue": ["ok"], "message_id": 0}


def next_mode():
    try:
        with open(os.path.join(DIR, "mode")) as f:
            text = f.read()
    except FileNotFoundError:
        text = "ok"
    with lock:
        if text != state["text"]:
            state["text"] = text
            state["queue"] = text.split() or ["ok"]
        q = state["queue"]
        return q.pop(0) if len(q) > 1 else q[0]


def record(entry):
    with lock:
        with open(os.path.join(DIR, "requests.jsonl"), "a") as f:
            f.write(json.dumps(entry) + "\n")
            f.flush()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def answer(self, status, obj, headers=()):
        data = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        record({"t": time.time(), "method": "GET", "path": self.path,
                "status": 200})
        data = b"OK"
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        raw = self.rfile.read(length)
        try:
            body = json.loads(raw)
        except ValueError:
            body = {"unparsable": raw.decode("utf-8", "replace")}
        entry = {"t": time.time(), "path": self.path, "body": body,
                 "content_type": self.headers.get("Content-Type", "")}
        if self.path == "/hook":
            entry["raw"] = raw.decode("utf-8", "replace")
            entry["headers"] = {k.lower(): v for k, v in self.headers.items()}
        elif self.path != "/bot%s/sendMessage" % TOKEN:
            entry["status"] = 401
            record(entry)
            self.answer(401, {"ok": False, "error_code": 401,
                              "description": "Unauthorized"})
            return
        mode = next_mode()
        if mode == "400html" and "parse_mode" not in body:
            mode = "ok"
        if mode == "hang":
            entry["status"] = 0
            record(entry)
            time.sleep(60)
            self.close_connection = True
            return
        if mode.startswith("429"):
            retry = int(mode.split(":")[1]) if ":" in mode else 1
            entry["status"] = 429
            record(entry)
            self.answer(429, {"ok": False, "error_code": 429,
                              "description": "Too Many Requests: retry "
                              "after %d" % retry,
                              "parameters": {"retry_after": retry}})
            return
        if mode in ("500", "400", "400html", "403"):
            status = int(mode[:3])
            desc = {500: "Internal Server Error",
                    400: "Bad Request: chat not found",
                    403: "Forbidden: bot was blocked by the user"}[status]
            if mode == "400html":
                desc = "Bad Request: can't parse entities"
            entry["status"] = status
            record(entry)
            self.answer(status, {"ok": False, "error_code": status,
                                 "description": desc})
            return
        with lock:
            state["message_id"] += 1
            mid = state["message_id"]
        entry["status"] = 200
        record(entry)
        self.answer(200, {"ok": True, "result": {
            "message_id": mid, "date": int(time.time()),
            "chat": {"id": body.get("chat_id")},
            "text": body.get("text", "")}})


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
server.daemon_threads = True
tmp = os.path.join(DIR, "port.tmp")
with open(tmp, "w") as f:
    f.write("%d\n" % server.server_address[1])
os.rename(tmp, os.path.join(DIR, "port"))
server.serve_forever()
