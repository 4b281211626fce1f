#!/usr/bin/env python3
"""Traffic probes for homegate's end-to-end tests.

serve PORT...                      TCP and UDP echo on each port (all addresses)
tcp HOST PORT [TIMEOUT]            exit 0 if a TCP echo round trip works
udp HOST PORT [TIMEOUT]            exit 0 if a UDP echo round trip works
stream HOST PORT SECONDS [MS]      UDP pings every MS ms; prints JSON with the
                                   longest gap between answers
bulk HOST PORT MEGABYTES           exit 0 if MEGABYTES of random data come back
                                   from a TCP echo unchanged (large segments
                                   both ways: offload and segmentation)
"""
import hashlib
import os
import json
import socket
import sys
import threading
import time


def serve(ports):
    def tcp_echo(port):
        server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("0.0.0.0", port))
        server.listen(128)
        while True:
            conn, _ = server.accept()

            def handle(c):
                with c:
                    while True:
                        data = c.recv(65536)
                        if not data:
                            return
                        c.sendall(data)

            threading.Thread(target=handle, args=(conn,), daemon=True).start()

    def udp_echo(port):
        server = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        server.bind(("0.0.0.0", port))
        while True:
            data, addr = server.recvfrom(65536)
            server.sendto(data, addr)

    for port in ports:
        threading.Thread(target=tcp_echo, args=(port,), daemon=True).start()
        threading.Thread(target=udp_echo, args=(port,), daemon=True).start()
    print("ready", flush=True)
    while True:
        time.sleep(3600)


def tcp(host, port, timeout):
    try:
        with socket.create_connection((host, port), timeout=timeout) as conn:
            conn.settimeout(timeout)
            conn.sendall(b"homegate")
            return conn.recv(64) == b"homegate"
    except OSError:
        return False


def udp(host, port, timeout):
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.settimeout(timeout / 3)
    deadline = time.time() + timeout
    try:
        while time.time() < deadline:
            try:
                sock.sendto(b"homegate", (host, port))
                data, _ = sock.recvfrom(64)
                if data == b"homegate":
                    return True
            except OSError:
                pass
        return False
    finally:
        sock.close()


def stream(host, port, seconds, interval_ms):
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setblocking(False)
    start = time.time()
    last_answer = None
    first_answer = None
    max_gap = 0.0
    sent = received = 0
    next_send = start
    while time.time() - start < seconds:
        now = time.time()
        if now >= next_send:
            try:
                sock.sendto(str(sent).encode(), (host, port))
            except OSError:
                pass
            sent += 1
            next_send += interval_ms / 1000.0
        try:
            while True:
                sock.recvfrom(64)
                received += 1
                t = time.time()
                if last_answer is not None:
                    max_gap = max(max_gap, t - last_answer)
                else:
                    first_answer = t
                last_answer = t
        except BlockingIOError:
            pass
        time.sleep(0.002)
    if last_answer is not None:
        max_gap = max(max_gap, time.time() - last_answer)
    print(json.dumps({
        "sent": sent,
        "received": received,
        "max_gap_ms": round(max_gap * 1000, 1),
        "first_answer_ms": None if first_answer is None else round((first_answer - start) * 1000, 1),
    }), flush=True)
    return received > 0


def bulk(host, port, megabytes):
    data = os.urandom(megabytes * 1024 * 1024)
    received = hashlib.sha256()
    count = 0
    with socket.create_connection((host, port), timeout=10) as conn:
        conn.settimeout(30)
        sender = threading.Thread(target=conn.sendall, args=(data,), daemon=True)
        sender.start()
        while count < len(data):
            chunk = conn.recv(1 << 20)
            if not chunk:
                break
            received.update(chunk)
            count += len(chunk)
        sender.join()
    ok = count == len(data) and received.digest() == hashlib.sha256(data).digest()
    print(json.dumps({"sent": len(data), "received": count, "identical": ok}))
    return ok


def main(argv):
    mode = argv[1]
    if mode == "serve":
        serve([int(p) for p in argv[2:]])
    elif mode == "tcp":
        return 0 if tcp(argv[2], int(argv[3]), float(argv[4]) if len(argv) > 4 else 1.0) else 1
    elif mode == "udp":
        return 0 if udp(argv[2], int(argv[3]), float(argv[4]) if len(argv) > 4 else 1.0) else 1
    elif mode == "bulk":
        return 0 if bulk(argv[2], int(argv[3]), int(argv[4])) else 1
    elif mode == "stream":
        interval = int(argv[5]) if len(argv) > 5 else 20
        return 0 if stream(argv[2], int(argv[3]), float(argv[4]), interval) else 1
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
