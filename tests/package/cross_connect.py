#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-only
# cross_connect.py OWNER_UID CALLER_UID STOP_FILE: the cross-tenant connect loop of test_deb.sh.
#
# Run as root. Forks a listener that drops to OWNER_UID and listens on 127.0.0.1 and ::1 (so
# the sockets are the owner's), and a caller that drops to CALLER_UID and connects to both
# ports in turn until STOP_FILE exists. Prints one JSON line when stopped:
#   {"slipped": N, "refused": N, "other": {"errno name": N}, "root_ok": 2}
# slipped counts connects that succeeded (another tenant reached the listener), refused the
# ones that failed with ECONNREFUSED; root_ok counts the two control connects made as root
# (not a tenant) before the loop, which show that the listeners accept.
import errno
import json
import os
import signal
import socket
import sys
import time


def drop_to(uid):
    os.setgroups([])
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)


def connect_once(family, port):
    host = "127.0.0.1" if family == socket.AF_INET else "::1"
    s = socket.socket(family, socket.SOCK_STREAM)
    # A reset on close: no TIME_WAIT piles up if connects slip.
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    s.settimeout(2)
    try:
        s.connect((host, port))
        return 0
    except OSError as e:
        return e.errno or -1
    finally:
        s.close()


def main():
    owner, caller, stop_file = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    rd, wr = os.pipe()
    listener = os.fork()
    if listener == 0:
        os.close(rd)
        drop_to(owner)
        socks = []
        for family, host in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")):
            s = socket.socket(family, socket.SOCK_STREAM)
            s.bind((host, 0))
            s.listen(128)
            socks.append(s)
        os.write(wr, ("%d %d\n" % tuple(s.getsockname()[1] for s in socks)).encode())
        os.close(wr)
        for s in socks:
            s.setblocking(False)
        while True:
            for s in socks:
                try:
                    s.accept()[0].close()
                except BlockingIOError:
                    pass
            time.sleep(0.001)
    os.close(wr)
    try:
        ports = [int(p) for p in os.read(rd, 64).split()]
        if len(ports) != 2:
            raise RuntimeError("the listener did not report its ports")
        families = (socket.AF_INET, socket.AF_INET6)
        root_ok = sum(1 for f, p in zip(families, ports) if connect_once(f, p) == 0)
        r, w = os.pipe()
        stopping = []
        # The caller cannot see STOP_FILE (the test's directory is root's): root watches it and
        # tells the caller with SIGUSR1.
        signal.signal(signal.SIGUSR1, lambda signum, frame: stopping.append(signum))
        child = os.fork()
        if child == 0:
            os.close(r)
            drop_to(caller)
            counts = {"slipped": 0, "refused": 0, "other": {}}
            i = 0
            while not stopping:
                err = connect_once(families[i % 2], ports[i % 2])
                i += 1
                if err == 0:
                    counts["slipped"] += 1
                elif err == errno.ECONNREFUSED:
                    counts["refused"] += 1
                else:
                    name = errno.errorcode.get(err, str(err))
                    counts["other"][name] = counts["other"].get(name, 0) + 1
                time.sleep(0.002)
            os.write(w, json.dumps(counts).encode())
            os._exit(0)
        os.close(w)
        signal.signal(signal.SIGUSR1, signal.SIG_DFL)
        while not os.path.exists(stop_file):
            time.sleep(0.05)
        os.kill(child, signal.SIGUSR1)
        data = b""
        while True:
            chunk = os.read(r, 4096)
            if not chunk:
                break
            data += chunk
        os.waitpid(child, 0)
        counts = json.loads(data)
        counts["root_ok"] = root_ok
        print(json.dumps(counts), flush=True)
    finally:
        os.kill(listener, signal.SIGKILL)
        os.waitpid(listener, 0)


if __name__ == "__main__":
    main()
