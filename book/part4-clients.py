#!/usr/bin/env python3
"""Clients for the Part 4 experiments (book/recording/part4-events.sh).

    part4-clients.py hold PORT N SECONDS   N kept-alive connections, one GET each, held open
    part4-clients.py crowd PORT N          N clients at once; the answered ones leave, then
                                           the rest are waited for
    part4-clients.py idle PORT             one GET, then wait for the server to hang up
    part4-clients.py slow PORT COPIES      GET the 1 MiB file COPIES times in one write,
                                           stall, then read every byte
"""

import socket
import sys
import time

PATH = "/hello.txt"


def request(path=PATH):
    return f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode()


def read_response(sock, timeout, buffered=None):
    """Status line and body of one response, or None on timeout/EOF.
    `buffered` (a bytearray) keeps bytes that belong to the next response."""
    data = buffered if buffered is not None else bytearray()
    sock.settimeout(timeout)
    try:
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            if not chunk:
                return None
            data += chunk
        end = data.index(b"\r\n\r\n")
        head = bytes(data[:end])
        length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n")
                      if line.lower().startswith(b"content-length:"))
        while len(data) < end + 4 + length:
            chunk = sock.recv(65536)
            if not chunk:
                return None
            data += chunk
        body = bytes(data[end + 4:end + 4 + length])
        del data[:end + 4 + length]
        return head.split(b"\r\n")[0].decode(), body
    except (socket.timeout, ConnectionError):
        return None


def connect(port, n):
    return [socket.create_connection(("127.0.0.1", port)) for _ in range(n)]


def hold(port, n, seconds):
    clients = connect(port, n)
    for c in clients:
        c.sendall(request())
    answered = sum(1 for c in clients if read_response(c, 10))
    print(f"{n} connections open, {answered} answered; holding them for {seconds} s", flush=True)
    time.sleep(seconds)


def crowd(port, n):
    clients = connect(port, n)
    for c in clients:
        c.sendall(request())
    statuses = {}
    answered, waiting = [], []
    for c in clients:
        response = read_response(c, 0.5 if not answered else 0.05)
        if response:
            answered.append(c)
            statuses[response[0]] = statuses.get(response[0], 0) + 1
        else:
            waiting.append(c)
    print(f"{n} clients connected; answered at once: {len(answered)} {statuses}", flush=True)
    time.sleep(6)  # the shell measures the server meanwhile
    for c in answered:
        c.close()
    print(f"the {len(answered)} answered clients left", flush=True)
    started = time.time()
    statuses = {}
    for c in waiting:
        response = read_response(c, 10)
        key = response[0] if response else "no answer"
        statuses[key] = statuses.get(key, 0) + 1
    print(f"the {len(waiting)} waiting clients: {statuses} within {time.time() - started:.2f} s", flush=True)


def idle(port):
    c = socket.create_connection(("127.0.0.1", port))
    c.sendall(request())
    status, body = read_response(c, 10)
    started = time.time()
    print(f"{status}, {len(body)} bytes; now saying nothing ...", flush=True)
    c.settimeout(30)
    rest = c.recv(1)
    print(f"the server {'closed the connection' if rest == b'' else 'sent more'} "
          f"after {time.time() - started:.2f} s", flush=True)


def slow(port, copies):
    c = socket.create_connection(("127.0.0.1", port))
    c.sendall(request("/files/one-mebibyte.bin") * copies)
    time.sleep(0.5)
    total = 0
    buffered = bytearray()
    for _ in range(copies):
        status, body = read_response(c, 10, buffered)
        total += len(body)
        time.sleep(0.1)
    print(f"{copies} answers, {total} bytes of body, every one {status}", flush=True)


if __name__ == "__main__":
    command, port, *rest = sys.argv[1:]
    port = int(port)
    if command == "hold":
        hold(port, int(rest[0]), float(rest[1]))
    elif command == "crowd":
        crowd(port, int(rest[0]))
    elif command == "idle":
        idle(port)
    elif command == "slow":
        slow(port, int(rest[0]))
    else:
        sys.exit(__doc__)
