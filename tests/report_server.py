#!/usr/bin/env python3
"""report_server.py EXPORT PORT_FILE - a Firebase-like read endpoint on 127.0.0.1 over HTTPS
(tests/certs/server.pem), for telemetry_report --url. It writes its port to PORT_FILE and stops
by itself after 120 s.

  GET /usage.json?auth=good-token   200, the export, chunked (also access_token=good-token; any
                                    other credential, or none: 401 Permission denied)
  GET /plain/usage.json             200, the export with Content-Length
  GET /page/usage.json              200, an HTML page (a captive portal, a wrong URL)
  GET /cut/usage.json               200, Content-Length says more than is sent, then the close"""
import http.server
import os
import ssl
import sys
import threading
import urllib.parse

EXPORT = open(sys.argv[1], "rb").read()
HERE = os.path.dirname(os.path.abspath(__file__))


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def send(self, status, body, ctype="application/json; charset=utf-8", length=None):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body) if length is None else length))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        q = urllib.parse.parse_qs(url.query)
        if url.path == "/usage.json":
            if q.get("auth") != ["good-token"] and q.get("access_token") != ["good-token"]:
                return self.send(401, b'{\n  "error" : "Permission denied"\n}\n')
            self.send_response(200)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Transfer-Encoding", "chunked")
            self.send_header("Connection", "close")
            self.end_headers()
            for i in range(0, len(EXPORT), 7000):
                part = EXPORT[i:i + 7000]
                self.wfile.write(b"%X\r\n%s\r\n" % (len(part), part))
            self.wfile.write(b"0\r\n\r\n")
        elif url.path == "/plain/usage.json":
            self.send(200, EXPORT)
        elif url.path == "/page/usage.json":
            self.send(200, b"<!DOCTYPE html><html><body><h1>Sign in to continue</h1></body></html>\n", "text/html")
        elif url.path == "/cut/usage.json":
            self.send(200, EXPORT[: len(EXPORT) // 2], length=len(EXPORT))
        else:
            self.send(404, b'{"error":"not found"}')
        self.close_connection = True


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(os.path.join(HERE, "certs", "server.pem"), os.path.join(HERE, "certs", "server.key"))
server.socket = ctx.wrap_socket(server.socket, server_side=True)
threading.Timer(120, server.shutdown).start()
tmp = sys.argv[2] + ".tmp"
with open(tmp, "w") as f:
    f.write(str(server.server_address[1]))
os.rename(tmp, sys.argv[2])
server.serve_forever()
os._exit(0)
