#!/usr/bin/env python3
"""A thin HTTP front on chdb (an embedded, current ClickHouse engine) for the
tests: the subset of ClickHouse's HTTP interface that the clickhouse audit
and state backends use (backends/clickhouse/ch_http.c), so their migrations
and every statement they send run on a current engine as well as on the
18.16 server of scripts/servers/clickhouse.sh. Test infrastructure only.

    chdb_http.py --data DIR --port-file FILE [--port N]

What it speaks:
  - GET /ping -> "Ok.\n" (as the real server).
  - POST / (GET too) with URL parameters database=NAME (default "default"),
    query=SQL, and for one or more external tables NAME_structure="col Type,
    ..." (NAME_format: TabSeparated only) with a multipart/form-data body
    whose parts are the tables' rows. Without external tables the statement
    is query= followed by the body (the real server's order), so an INSERT
    carries its rows after the statement in the body.
  - Output format: the statement's FORMAT clause, else TabSeparated.
  - Errors: HTTP 500 (the real server also uses 400/404 for some codes; the
    backends do not read the status when a code is there) with the body
    "Code: N. DB::Exception: ...\n" and the header X-ClickHouse-Exception-Code.
  - Any other URL parameter (a setting, session_id, ...) is refused with
    Code 115 UNKNOWN_SETTING: a backend that starts sending one must not
    pass here by being silently ignored.

What it cannot show (docs/backends/clickhouse-*.md): the real server's HTTP
layer. External tables are emulated with a temporary table per request;
no auth (credentials are ignored), no HTTP compression, no sessions, one
statement at a time (chdb is not re-entrant: a lock serialises them), so
nothing about a real server's concurrency, merges timing or clusters.
"""

import argparse
import http.server
import os
import re
import sys
import threading
import urllib.parse

from chdb import session as chdb_session

IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# A structure is "name Type, name Type": plain identifiers and simple types.
STRUCTURE = re.compile(r"^[A-Za-z0-9_ ,()]+$")


class ChError(Exception):
    def __init__(self, code, text):
        super().__init__(text)
        self.code = code
        self.text = text


def parse_error(e):
    text = str(e).strip()
    m = re.match(r"^Code: (\d+)\.", text)
    return ChError(int(m.group(1)) if m else 1000, text if m else "Code: 1000. DB::Exception: " + text)


def sql_text(data):
    """data (bytes) as the str chdb takes. chdb's query() wants UTF-8 text,
    the real server takes any bytes: a byte that is not UTF-8 can only sit
    in a string literal or a TabSeparated field (anywhere else the real
    server rejects it too), where ClickHouse reads the escape \\xHH as that
    byte, so it travels as one. Not a backslash-escaped byte: both the
    backends' quoting and their TSV escape the backslash itself."""
    text = data.decode("utf-8", "surrogateescape")
    return re.sub("[\udc80-\udcff]", lambda m: "\\x%02X" % (ord(m.group()) - 0xDC00), text)


def multipart_parts(body, content_type):
    """{name: bytes} of a multipart/form-data body."""
    m = re.search(r'boundary="?([^";]+)"?', content_type or "")
    if not m:
        raise ChError(27, "Code: 27. DB::Exception: multipart body without a boundary. (CANNOT_PARSE_INPUT_ASSERTION_FAILED)")
    delim = b"--" + m.group(1).encode()
    parts = {}
    for chunk in body.split(delim)[1:]:
        if chunk.startswith(b"--"):
            break
        chunk = chunk[2:] if chunk.startswith(b"\r\n") else chunk
        head, _, data = chunk.partition(b"\r\n\r\n")
        if data.endswith(b"\r\n"):
            data = data[:-2]
        nm = re.search(rb'name="([^"]+)"', head)
        if nm:
            parts[nm.group(1).decode()] = data
    return parts


class Engine:
    """One chdb session; every statement under one lock (chdb is not
    re-entrant, and USE db is session state)."""

    def __init__(self, path):
        self.lock = threading.Lock()
        self.sess = chdb_session.Session(path)

    def run(self, database, sql, ext):
        if not IDENT.match(database):
            raise ChError(81, "Code: 81. DB::Exception: Database %s does not exist. (UNKNOWN_DATABASE)" % database)
        with self.lock:
            try:
                # The real server answers UNKNOWN_DATABASE for a missing one,
                # except for CREATE DATABASE itself (default always exists).
                self.sess.query("USE " + database)
            except Exception as e:  # noqa: BLE001
                err = parse_error(e)
                if not (database == "default" or sql.lstrip().upper().startswith("CREATE DATABASE")):
                    raise err
            made = []
            try:
                for name, (structure, rows) in ext.items():
                    self.sess.query("CREATE TEMPORARY TABLE %s (%s) ENGINE = Memory" % (name, structure))
                    made.append(name)
                    if rows:
                        self.sess.query("INSERT INTO %s FORMAT TabSeparated\n" % name + sql_text(rows))
                return self.sess.query(sql, "TabSeparated").bytes()
            except ChError:
                raise
            except Exception as e:  # noqa: BLE001
                raise parse_error(e)
            finally:
                for name in made:
                    try:
                        self.sess.query("DROP TEMPORARY TABLE IF EXISTS " + name)
                    except Exception:  # noqa: BLE001
                        pass


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as libcurl reuses the connection
    engine = None

    def log_message(self, fmt, *args):  # quiet: the tests read their own logs
        pass

    def answer(self, status, body, code=None):
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=UTF-8")
        self.send_header("Content-Length", str(len(body)))
        if code is not None:
            self.send_header("X-ClickHouse-Exception-Code", str(code))
        self.end_headers()
        self.wfile.write(body)

    def handle_query(self, body):
        url = urllib.parse.urlsplit(self.path)
        if url.path == "/ping":
            return self.answer(200, b"Ok.\n")
        params = urllib.parse.parse_qs(url.query, keep_blank_values=True)
        database = params.pop("database", ["default"])[0]
        query = params.pop("query", [""])[0]
        ext = {}
        for key in [k for k in params if k.endswith("_structure")]:
            name = key[: -len("_structure")]
            structure = params.pop(key)[0]
            fmt = params.pop(name + "_format", ["TabSeparated"])[0]
            if not IDENT.match(name) or not STRUCTURE.match(structure) or fmt not in ("TabSeparated", "TSV"):
                raise ChError(36, "Code: 36. DB::Exception: unsupported external table %s. (BAD_ARGUMENTS)" % name)
            ext[name] = (structure, None)
        if params:
            raise ChError(115, "Code: 115. DB::Exception: Unknown setting %s (chdb_http.py supports none). (UNKNOWN_SETTING)" % ", ".join(sorted(params)))
        if ext:
            parts = multipart_parts(body, self.headers.get("Content-Type"))
            for name in ext:
                ext[name] = (ext[name][0], parts.get(name, b""))
            sql = query
        else:
            sql = (query + "\n" if query else "") + sql_text(body)
        if not sql.strip():
            raise ChError(62, "Code: 62. DB::Exception: Empty query. (SYNTAX_ERROR)")
        return self.answer(200, self.engine.run(database, sql, ext))

    def serve(self, body):
        try:
            self.handle_query(body)
        except ChError as e:
            self.answer(500, (e.text + "\n").encode(), e.code)

    def do_GET(self):
        self.serve(b"")

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        self.serve(self.rfile.read(n) if n else b"")


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True, help="chdb's data path")
    ap.add_argument("--port", type=int, default=0, help="0: a free port")
    ap.add_argument("--port-file", required=True, help="written once listening")
    a = ap.parse_args()
    Handler.engine = Engine(a.data)
    try:
        srv = Server(("127.0.0.1", a.port), Handler)
    except OSError as e:
        print("chdb_http: cannot listen on 127.0.0.1:%d: %s" % (a.port, e), file=sys.stderr)
        return 1
    with open(a.port_file + ".tmp", "w") as f:
        f.write("%d\n" % srv.server_address[1])
    os.replace(a.port_file + ".tmp", a.port_file)
    srv.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
