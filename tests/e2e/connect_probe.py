# SPDX-License-Identifier: GPL-2.0-only
# connect_probe.py PORT [ADDR...]: what a tenant's shell on the hub gets from connect() to
# ADDR:PORT for each ADDR (default 127.0.0.1 and ::1). Prints one line per address:
# "ADDR connected" or "ADDR ERRNO-NAME".
# Sent to the hub on stdin (`ssh ... /usr/bin/python3 - PORT [ADDR...] < connect_probe.py`).
import errno
import socket
import sys

port = int(sys.argv[1])
for addr in sys.argv[2:] or ["127.0.0.1", "::1"]:
    family = socket.AF_INET6 if ":" in addr else socket.AF_INET
    s = socket.socket(family, socket.SOCK_STREAM)
    s.settimeout(5)
    try:
        s.connect((addr, port))
        print(addr, "connected")
    except OSError as e:
        print(addr, errno.errorcode.get(e.errno, str(e.errno)))
    finally:
        s.close()
