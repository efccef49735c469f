#!/usr/bin/env python3
"""The audit service over HTTP only: a handler ferryd POSTs each user.login event to (a push
subscription). It appends each event as one JSON line to --out and answers 200 only once
the line is on disk (fsync), so an event is acked after it is kept. An event POSTed again
(a retry after a lost answer) is recognised by its CloudEvent source and id and not
written twice. Anything else than a CloudEvent in binary mode is answered 400.

  python3 examples/http/audit_handler.py --port 8080 --out /tmp/audit.jsonl
"""
import argparse
import http.server
import json
import os
import threading


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8080)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    seen = set()
    if os.path.exists(a.out):
        with open(a.out) as f:
            for line in f:
                e = json.loads(line)
                seen.add((e["source"], e["id"]))
    out = open(a.out, "a")
    lock = threading.Lock()  # a thread per connection: ferryd keeps several open

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as ferryd's client keeps its connections

        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            source, event_id = self.headers.get("ce-source"), self.headers.get("ce-id")
            if self.headers.get("ce-specversion") != "1.0" or not source or not event_id:
                return self.answer(400, b"not a CloudEvent in binary mode")
            with lock:
                self.keep(source, event_id, body)
            self.answer(200, b"kept")

        def keep(self, source, event_id, body):
            if (source, event_id) not in seen:
                event = {"id": event_id, "source": source, "type": self.headers.get("ce-type"),
                         "subject": self.headers.get("ce-subject"),
                         "time": self.headers.get("ce-time"), "data": json.loads(body or b"null"),
                         "delivery_count": int(self.headers.get("ferry-delivery-count", "1"))}
                out.write(json.dumps(event) + "\n")
                out.flush()
                os.fsync(out.fileno())
                seen.add((source, event_id))

        def answer(self, status, text):
            self.send_response(status)
            self.send_header("Content-Length", str(len(text)))
            self.end_headers()
            self.wfile.write(text)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer((a.host, a.port), Handler)
    server.daemon_threads = True
    print("audit handler on http://%s:%d/" % (a.host, server.server_port), flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
