# SPDX-License-Identifier: GPL-2.0-only
# connect_probe.py PORT: what a tenant's shell on the hub gets from connect() to 127.0.0.1:PORT
# and [::1]:PORT. Prints one line per address: "ADDR connected" or "ADDR ERRNO-NAME".
# Sent to the hub on stdin (`ssh ... /usr/bin/python3 - PORT < connect_probe.py`).
import errno
import socket
import sys

port = int(sys.argv[1])
for family, addr in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")):
    s = socket.socket(family, socket.SOCK_STREAM)
    s.settimeout(5)
    try:
        s.connect((addr, port))
        print(addr, "connected")
    except OSError as e:
        print(addr, errno.errorcode.get(e.errno, str(e.errno)))
    finally:
        s.close()
