#!/usr/bin/env python3
"""stream_bridge.py - the host side of the emulated device's byte stream (tests/port/run.sh,
cortex-m4 job): the device program (tests/port/device.c under qemu with semihosting) writes
PREFIX.tx and reads PREFIX.rx, two FIFOs; each time it opens them, this bridge opens a TCP
connection to HOST:PORT (the local receiver) and copies bytes both ways until the device closes
its side. What the receiver records is what left through the program's own stream (cfg.io).

  stream_bridge.py PREFIX HOST PORT     (runs until killed; one line per connection on stdout)"""
import os
import select
import socket
import sys

prefix, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
tx, rx = prefix + ".tx", prefix + ".rx"
for path in (tx, rx):
    if not os.path.exists(path):
        os.mkfifo(path, 0o600)
n = 0
while True:
    t = os.open(tx, os.O_RDONLY)          # the device's connect opens it for writing
    s = socket.create_connection((host, port), timeout=30)
    r = os.open(rx, os.O_WRONLY)          # and then this one for reading
    n += 1
    up = down = 0
    server_open = True
    while True:
        ready, _, _ = select.select([t] + ([s] if server_open else []), [], [], 120)
        if not ready:
            break
        if t in ready:
            data = os.read(t, 65536)
            if not data:                  # the device closed its stream
                break
            up += len(data)
            if server_open:
                s.sendall(data)           # else: the request went to a closed stream, dropped
        if server_open and s in ready:
            data = s.recv(65536)
            if not data:                  # the receiver closed: the device reads the end, and
                server_open = False       # what it still writes is read and dropped (no EPIPE)
                os.close(r)
                r = -1
                continue
            down += len(data)
            os.write(r, data)
    s.close()
    if r >= 0:
        os.close(r)
    os.close(t)
    print("bridge: connection %d: %d bytes up, %d down" % (n, up, down), flush=True)
