#!/usr/bin/python3
"""A recording TCP forwarder: what storescu really sent, byte for byte.

usage: wiretap.py TARGET_PORT OUT_DIR

Listens on a free loopback port (written to OUT_DIR/port once listening),
forwards every connection to 127.0.0.1:TARGET_PORT and appends each
direction to OUT_DIR/conn-<n>.c2s and conn-<n>.s2c. dcmtk re-encodes the
data sets it sends (it does not copy the file), so the only honest
reference for "byte-identical to what was sent" is the wire. Runs until
killed.
"""
import os
import socket
import sys
import threading


def pump(src, dst, path):
    with open(path, "ab") as f:
        while True:
            try:
                b = src.recv(65536)
            except OSError:
                b = b""
            if not b:
                break
            f.write(b)
            f.flush()
            try:
                dst.sendall(b)
            except OSError:
                break
    for s in (dst, src):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def main():
    target = int(sys.argv[1])
    out = sys.argv[2]
    lsock = socket.socket()
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lsock.bind(("127.0.0.1", 0))
    lsock.listen(16)
    tmp = os.path.join(out, "port.tmp")
    with open(tmp, "w") as f:
        f.write("%d\n" % lsock.getsockname()[1])
    os.rename(tmp, os.path.join(out, "port"))
    n = 0
    while True:
        c, _ = lsock.accept()
        n += 1
        s = socket.create_connection(("127.0.0.1", target))
        base = os.path.join(out, "conn-%04d" % n)
        threading.Thread(target=pump, args=(c, s, base + ".c2s"),
                         daemon=True).start()
        threading.Thread(target=pump, args=(s, c, base + ".s2c"),
                         daemon=True).start()


if __name__ == "__main__":
    main()
