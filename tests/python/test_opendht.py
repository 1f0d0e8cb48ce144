"""An independent OpenDHT client against a real SCOPE overlay, using only the standard library.

The Rust test `opendht_python` starts the daemons and passes their gateway URLs in
SCOPE_GATEWAYS (comma-separated). Run by hand with the same variable set.
"""

import hashlib
import http.client
import os
import socket
import threading
import time
import unittest
import urllib.parse
import uuid
import xmlrpc.client
from xmlrpc.client import Binary, Fault

URLS = [u for u in os.environ.get("SCOPE_GATEWAYS", "").split(",") if u]
APP = "scope-python-test"


def proxy(i):
    return xmlrpc.client.ServerProxy(URLS[i % len(URLS)])


def fresh_key():
    return Binary(hashlib.sha1(uuid.uuid4().bytes).digest())


def values(result):
    vals, placemark = result
    return [v.data for v in vals], placemark.data


def raw_post(i, body, headers=None):
    """POSTs raw bytes to node i; returns (status, body)."""
    u = urllib.parse.urlparse(URLS[i])
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    conn.request("POST", "/", body=body, headers=headers or {"Content-Type": "text/xml"})
    r = conn.getresponse()
    out = (r.status, r.read())
    conn.close()
    return out


def fault_of(body):
    try:
        xmlrpc.client.loads(body)
    except Fault as f:
        return f
    raise AssertionError("expected a fault, got %r" % body[:200])


class OpenDht(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if len(URLS) < 2:
            raise unittest.SkipTest("SCOPE_GATEWAYS not set")

    def test_put_via_one_node_get_via_every_other(self):
        key, val = fresh_key(), b"hello from node 0"
        self.assertEqual(proxy(0).put(key, Binary(val), 600, APP), 0)
        for i in range(1, len(URLS)):
            got, mark = values(proxy(i).get(key, 10, Binary(b""), APP))
            self.assertEqual(got, [val], "node %d" % i)
            self.assertEqual(mark, b"")

    def test_multi_values_and_paging(self):
        key = fresh_key()
        want = {("value %d " % n).encode() * 60 for n in range(7)}
        for n, v in enumerate(sorted(want)):
            self.assertEqual(proxy(n).put(key, Binary(v), 600, APP), 0)
        # the same value again only extends its TTL: still 7 values
        self.assertEqual(proxy(3).put(key, Binary(sorted(want)[0]), 600, APP), 0)
        got, mark, pages = [], b"", 0
        while True:
            page, mark = values(proxy(5).get(key, 2, Binary(mark), APP))
            self.assertLessEqual(len(page), 2)
            got += page
            pages += 1
            if not mark:
                break
            self.assertLess(pages, 20, "paging does not end")
        self.assertEqual(sorted(got), sorted(want))
        self.assertGreaterEqual(pages, 4)

    def test_ttl_expiry(self):
        key = fresh_key()
        self.assertEqual(proxy(1).put(key, Binary(b"short-lived"), 2, APP), 0)
        self.assertEqual(values(proxy(2).get(key, 10, Binary(b""), APP))[0], [b"short-lived"])
        time.sleep(3)
        self.assertEqual(values(proxy(3).get(key, 10, Binary(b""), APP))[0], [])

    def test_put_removable_and_rm(self):
        key, val, secret = fresh_key(), b"removable", b"my secret"
        sh = Binary(hashlib.sha1(secret).digest())
        vh = Binary(hashlib.sha1(val).digest())
        self.assertEqual(proxy(0).put_removable(key, Binary(val), "SHA", sh, 600, APP), 0)
        # the wrong secret: status 0 as in OpenDHT, but nothing is removed
        self.assertEqual(proxy(1).rm(key, vh, "SHA", Binary(b"wrong"), 600, APP), 0)
        self.assertEqual(values(proxy(2).get(key, 10, Binary(b""), APP))[0], [val])
        self.assertEqual(proxy(3).rm(key, vh, "SHA", Binary(secret), 600, APP), 0)
        for i in range(len(URLS)):
            self.assertEqual(values(proxy(i).get(key, 10, Binary(b""), APP))[0], [], i)
        # a put of the same value under the same secret hash stays removed (tombstone)
        self.assertEqual(proxy(4).put_removable(key, Binary(val), "SHA", sh, 600, APP), 0)
        self.assertEqual(values(proxy(5).get(key, 10, Binary(b""), APP))[0], [])

    def test_get_details(self):
        key, secret = fresh_key(), b"s3cret"
        sh = hashlib.sha1(secret).digest()
        self.assertEqual(proxy(0).put_removable(key, Binary(b"a"), "SHA", Binary(sh), 100, APP), 0)
        self.assertEqual(proxy(0).put(key, Binary(b"b"), 50, APP), 0)
        rows, mark = proxy(6).get_details(key, 10, Binary(b""), APP)
        self.assertEqual(mark.data, b"")
        by_value = {r[0].data: r for r in rows}
        self.assertEqual(set(by_value), {b"a", b"b"})
        a, b = by_value[b"a"], by_value[b"b"]
        self.assertTrue(90 <= a[1] <= 100, a[1])
        self.assertEqual((a[2], a[3].data), ("SHA", sh))
        self.assertTrue(40 <= b[1] <= 50, b[1])

    def test_bad_input(self):
        p = proxy(2)
        self.assertEqual(fault_of(raw_post(2, b"<methodCall><oops")[1]).faultCode, -32700)
        doctype = (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]>'
                   b"<methodCall><methodName>get</methodName><params/></methodCall>")
        status, body = raw_post(2, doctype)
        self.assertEqual(status, 200)
        self.assertLess(fault_of(body).faultCode, 0)
        with self.assertRaises(Fault) as e:
            p.no_such_method()
        self.assertEqual(e.exception.faultCode, -32601)
        with self.assertRaises(Fault) as e:
            p.get(fresh_key(), 10, Binary(b""))  # wrong arity
        self.assertEqual(e.exception.faultCode, -32602)
        with self.assertRaises(Fault) as e:
            p.get(fresh_key(), "ten", Binary(b""), APP)  # wrong type
        self.assertEqual(e.exception.faultCode, -32602)
        with self.assertRaises(Fault) as e:
            p.put(Binary(b"k" * 21), Binary(b"v"), 60, APP)
        self.assertIn("key is longer than 20 bytes", e.exception.faultString)
        with self.assertRaises(Fault) as e:
            p.put(fresh_key(), Binary(b"v" * 1025), 60, APP)
        self.assertIn("value is longer than 1024 bytes", e.exception.faultString)

    def test_oversized_body_is_413(self):
        u = urllib.parse.urlparse(URLS[1])
        conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
        conn.putrequest("POST", "/")
        conn.putheader("Content-Type", "text/xml")
        conn.putheader("Content-Length", str(64 * 1024 * 1024))
        conn.endheaders()
        conn.send(b"<methodCall>")
        self.assertEqual(conn.getresponse().status, 413)
        conn.close()

    def test_idle_connection_times_out(self):
        u = urllib.parse.urlparse(URLS[7 % len(URLS)])
        s = socket.create_connection((u.hostname, u.port), timeout=20)
        start = time.monotonic()
        s.sendall(b"POST / HTTP/1.1\r\nHost: x\r\n")  # and then nothing
        self.assertEqual(s.recv(4096)[:0], b"")
        while s.recv(4096):
            pass
        self.assertLess(time.monotonic() - start, 15)
        s.close()

    def test_multicall_and_introspection(self):
        p = proxy(3)
        self.assertIn("put_removable", p.system.listMethods())
        self.assertTrue(p.system.methodHelp("get"))
        key = fresh_key()
        mc = xmlrpc.client.MultiCall(p)
        mc.put(key, Binary(b"batched"), 600, APP)
        mc.get(key, 10, Binary(b""), APP)
        mc.nope()
        results = mc()
        self.assertEqual(results[0], 0)
        self.assertEqual(values(results[1])[0], [b"batched"])
        with self.assertRaises(Fault):
            results[2]

    def test_scope_methods(self):
        p = proxy(4)
        st = p.scope.status()
        self.assertEqual(len(st["node_id"].data), 20)
        self.assertGreater(st["leaf_set_size"], 0)
        route = p.scope.route(fresh_key())
        self.assertEqual(len(route["node_id"].data), 20)
        blob = os.urandom(300_000)
        h = p.scope.put_blob(Binary(blob), 600, APP)
        self.assertEqual(proxy(6).scope.get_blob(h).data, blob)

    def test_watch_wakes_on_a_put_through_another_node(self):
        key = fresh_key()
        w = proxy(1)
        start = w.scope.watch([key], "", 0)  # subscribe, and learn the cursor for "now"
        self.assertEqual(start["changes"], [])
        time.sleep(1.0)  # let the subscription reach the key's root
        box = {}

        def poll():
            t = time.monotonic()
            box["r"] = xmlrpc.client.ServerProxy(URLS[1]).scope.watch([key], start["cursor"], 60)
            box["t"] = time.monotonic() - t

        th = threading.Thread(target=poll)
        th.start()
        time.sleep(0.5)
        self.assertEqual(proxy(5).put(key, Binary(b"first"), 600, APP), 0)
        th.join(30)
        self.assertFalse(th.is_alive(), "watch did not wake")
        self.assertLess(box["t"], 20)
        ch = box["r"]["changes"]
        self.assertEqual([(c["kind"], c["value"].data) for c in ch], [("put", b"first")])
        self.assertEqual(ch[0]["key"].data, key.data)
        # resume: the next change only, no repeat of the first
        self.assertEqual(proxy(6).put(key, Binary(b"second"), 600, APP), 0)
        deadline, seen, cursor = time.monotonic() + 20, [], box["r"]["cursor"]
        while not seen and time.monotonic() < deadline:
            r = w.scope.watch([key], cursor, 10)
            seen, cursor = r["changes"], r["cursor"]
        self.assertEqual([c["value"].data for c in seen], [b"second"])


if __name__ == "__main__":
    unittest.main()
