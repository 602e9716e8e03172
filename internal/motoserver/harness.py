"""Runs moto in-process for callgate's tests and adds a small control API.

moto makes every VPC endpoint "available" at once and has no accept/reject, so
the tests could never see pendingAcceptance, rejected or an endpoint that
vanished. This harness serves moto exactly as moto_server does
(ThreadedMotoServer is the same WSGI app) and, on a second loopback port, lets
the test reach into moto's EC2 backend:

  POST /endpoint-state?id=vpce-...&state=pendingAcceptance   set State
  POST /endpoint-remove?id=vpce-...                          forget the endpoint

Protocol with the Go side: one line "READY <moto-port> <control-port>" on
stdout; the process exits when stdin closes (the test process died).
"""

import logging
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

from moto.ec2.models import ec2_backends
from moto.server import ThreadedMotoServer


def find_endpoint(endpoint_id):
    # dict.items bypasses BackendDict.__getitem__, which would create
    # backends for every account and region just by looking.
    for _, regions in list(dict.items(ec2_backends)):
        for _, backend in list(dict.items(regions)):
            endpoints = getattr(backend, "vpc_end_points", {})
            if endpoint_id in endpoints:
                return backend, endpoints[endpoint_id]
    return None, None


class Control(BaseHTTPRequestHandler):
    def do_POST(self):
        url = urlparse(self.path)
        query = parse_qs(url.query)
        endpoint_id = query.get("id", [""])[0]
        backend, endpoint = find_endpoint(endpoint_id)
        if endpoint is None:
            return self.reply(404, "no such endpoint: %s\n" % endpoint_id)
        if url.path == "/endpoint-state":
            state = query.get("state", [""])[0]
            if not state:
                return self.reply(400, "state is required\n")
            endpoint.state = state
            return self.reply(200, "ok\n")
        if url.path == "/endpoint-remove":
            del backend.vpc_end_points[endpoint_id]
            return self.reply(200, "ok\n")
        return self.reply(404, "unknown path %s\n" % url.path)

    def reply(self, code, body):
        data = body.encode()
        self.send_response(code)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


def main():
    # werkzeug logs every request to stderr; the Go side keeps stderr only
    # for diagnostics when start-up fails.
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    moto.start()
    _, moto_port = moto.get_host_and_port()
    control = ThreadingHTTPServer(("127.0.0.1", 0), Control)
    threading.Thread(target=control.serve_forever, daemon=True).start()
    print("READY %d %d" % (moto_port, control.server_address[1]), flush=True)
    # Block until the parent closes stdin (or dies): no orphaned servers.
    sys.stdin.read()
    control.shutdown()
    moto.stop()


if __name__ == "__main__":
    main()
