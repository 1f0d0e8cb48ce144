"""Fair share: a client flooding puts at one node is refused with status 1, while a second
client (another source address) can still put. Run by the Rust test `fairness` with
SCOPE_GATEWAYS set; the two clients bind 127.0.0.2 and 127.0.0.3, which Linux routes on lo.
"""

import hashlib
import http.client
import os
import sys
import threading
import xmlrpc.client
from xmlrpc.client import Binary

URLS = [u for u in os.environ["SCOPE_GATEWAYS"].split(",") if u]
HOST, PORT = URLS[0].split("//")[1].rstrip("/").split(":")


class BoundTransport(xmlrpc.client.Transport):
    """A keep-alive transport whose connections come from a given source address."""

    def __init__(self, source):
        super().__init__()
        self.source = source

    def make_connection(self, host):
        if self._connection and host == self._connection[0]:
            return self._connection[1]
        self._connection = host, http.client.HTTPConnection(
            host, timeout=60, source_address=(self.source, 0))
        return self._connection[1]


def client(source):
    return xmlrpc.client.ServerProxy(URLS[0], transport=BoundTransport(source))


def key(tag, n):
    return Binary(hashlib.sha1(("%s-%d" % (tag, n)).encode()).digest())


def flood(limit=4000, threads=4):
    """Puts 1000-byte values from 127.0.0.2 until one is refused with status 1."""
    stats = {"ok": 0, "full": 0, "other": 0}
    stop = threading.Event()
    lock = threading.Lock()

    def worker(t):
        p = client("127.0.0.2")
        for n in range(t, limit, threads):
            if stop.is_set():
                return
            s = p.put(key("flood", n), Binary(os.urandom(1000)), 3600, "flood")
            with lock:
                stats[{0: "ok", 1: "full"}.get(s, "other")] += 1
                if stats["full"] >= 20:
                    stop.set()

    ths = [threading.Thread(target=worker, args=(t,)) for t in range(threads)]
    for th in ths:
        th.start()
    for th in ths:
        th.join()
    return stats


def main():
    stats = flood()
    print("flooder from 127.0.0.2: %s" % stats)
    if stats["full"] == 0:
        print("FAIL: the flooder was never refused with status 1")
        return 1
    p = client("127.0.0.3")
    codes = [p.put(key("polite", n), Binary(b"x" * 500), 3600, "polite") for n in range(30)]
    print("second client from 127.0.0.3: %s" % codes)
    if any(c != 0 for c in codes):
        print("FAIL: the second client was refused")
        return 1
    again = client("127.0.0.2").put(key("flood", 99999), Binary(b"y" * 1000), 3600, "flood")
    print("flooder again: %d" % again)
    if again != 1:
        print("FAIL: the flooder was not refused after the second client")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
