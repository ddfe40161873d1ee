#!/usr/bin/env python3
"""Drives a hijacked attach/exec stream over the daemon's unix socket.

usage: hijack.py SOCK METHOD PATH [BODY_JSON] -- STEP...
  a STEP is "send:<python-escaped bytes>" or "sleep:<seconds>" or "shut"
  (half-close the write side).
Prints the HTTP status line on stderr, then the raw bytes received after
the response head on stdout until the daemon closes the stream (or 15 s of
silence), and exits 0 when the stream ended, 3 on the silence timeout.
"""
import socket
import sys
import time


def main():
    args = sys.argv[1:]
    sep = args.index("--") if "--" in args else len(args)
    head, steps = args[:sep], args[sep + 1:]
    sock_path, method, path = head[0], head[1], head[2]
    body = head[3].encode() if len(head) > 3 else b""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(sock_path)
    req = (f"{method} {path} HTTP/1.1\r\nHost: docker\r\nConnection: Upgrade\r\n"
           f"Upgrade: tcp\r\nContent-Type: application/json\r\n"
           f"Content-Length: {len(body)}\r\n\r\n").encode() + body
    s.sendall(req)
    buf = b""
    while b"\r\n\r\n" not in buf:
        d = s.recv(4096)
        if not d:
            break
        buf += d
    hdr, _, rest = buf.partition(b"\r\n\r\n")
    status = hdr.split(b"\r\n")[0].decode()
    print(status, file=sys.stderr)
    if " 101 " not in status and " 200 " not in status:
        sys.stdout.buffer.write(rest)
        s.settimeout(2)
        try:
            while True:
                d = s.recv(4096)
                if not d:
                    break
                sys.stdout.buffer.write(d)
        except socket.timeout:
            pass
        return 0
    out = bytearray(rest)
    s.settimeout(0.05)

    def drain(until):
        while time.time() < until:
            try:
                d = s.recv(65536)
            except socket.timeout:
                continue
            if not d:
                return True
            out.extend(d)
        return False

    ended = False
    for st in steps:
        kind, _, val = st.partition(":")
        if kind == "send":
            try:
                s.sendall(val.encode().decode("unicode_escape").encode("latin-1"))
            except OSError:
                pass
        elif kind == "sleep":
            if drain(time.time() + float(val)):
                ended = True
                break
        elif kind == "shut":
            s.shutdown(socket.SHUT_WR)
    if not ended:
        ended = drain(time.time() + 15)
    sys.stdout.buffer.write(bytes(out))
    return 0 if ended else 3


if __name__ == "__main__":
    sys.exit(main())
