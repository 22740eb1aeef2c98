#!/usr/bin/python3
"""Interop: a third-party STOMP client (python3-stomp, stomp.py 8) against a real twinmq.

Run ONLY with /usr/bin/python3 (Debian's python3-stomp is installed for it; the
python3 first on PATH may be another interpreter):

    TWINMQ_BUILD=$PWD/build /usr/bin/python3 test/interop/test_stomp_py.py [-v] [TestClass.test_name]

The broker is started once per test class on port 0; the test reads the port from
its `twinmq: listening stomp <ip>:<port>` line. Every wait is bounded (WAIT seconds)
and fails with what it waited for. The broker is stopped by pid in tearDownClass
(SIGTERM, then SIGKILL), and every stomp.py socket is closed in tearDown.
"""
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import uuid

import stomp

from pair_harness import twinmq_binary

WAIT = 5.0  # seconds: bounds a failure, never a timing assertion


class Broker:
    """One twinmq process on 127.0.0.1:0 with a config in a private temp dir."""

    def __init__(self, stomp_options=None, users=(), scheme="stomp", extra_xml=""):
        self.dir = tempfile.mkdtemp(prefix="twinmq-interop-")
        options = {"transport.connectAttemptTimeout": "2000", "transport.heartBeat": "300"}
        options.update(stomp_options or {})
        query = "&amp;".join("%s=%s" % kv for kv in options.items())
        plugins = ""
        if users:
            plugins = ("<plugins><simpleAuthenticationPlugin><users>"
                       + "".join('<authenticationUser username="%s" password="%s"/>' % u for u in users)
                       + "</users></simpleAuthenticationPlugin></plugins>")
        self.config = os.path.join(self.dir, "broker.xml")
        with open(self.config, "w") as f:
            f.write('<broker brokerName="interop" dataDirectory="%s/data" persistent="false">\n'
                    '  <transportConnectors>\n'
                    '    <transportConnector name="stomp" uri="%s://127.0.0.1:0?%s"/>\n'
                    '  </transportConnectors>\n'
                    '  <destinationPolicy><policyMap><policyEntries>\n'
                    '    <policyEntry queue="&gt;" maximumRedeliveries="2" deadLetterQueue="/queue/DLQ"/>\n'
                    '  </policyEntries></policyMap></destinationPolicy>\n'
                    '  %s\n'
                    '  %s\n'
                    '</broker>\n' % (self.dir, scheme, query, plugins, extra_xml))
        self.stderr = open(os.path.join(self.dir, "stderr.log"), "wb")
        self.proc = subprocess.Popen([twinmq_binary(), "--config", self.config],
                                     stdout=subprocess.PIPE, stderr=self.stderr, stdin=subprocess.DEVNULL)
        self.port = self._await_listening()
        # Keep draining stdout so the broker can never block on a full pipe.
        threading.Thread(target=self._drain, daemon=True).start()

    def _await_listening(self):
        deadline = time.monotonic() + 10
        fd = self.proc.stdout.fileno()
        buf = b""
        while time.monotonic() < deadline:
            ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                break
            chunk = os.read(fd, 4096)
            if not chunk:
                break
            buf += chunk
            for line in buf.decode(errors="replace").splitlines():
                if line.startswith("twinmq: listening stomp "):
                    return int(line.rsplit(":", 1)[1])
        self.stop()
        raise RuntimeError("broker did not print its listening line; stdout=%r stderr=%r"
                           % (buf, self.log()[-3000:]))

    def _drain(self):
        try:
            while self.proc.stdout.read(4096):
                pass
        except (OSError, ValueError):
            pass

    def log(self):
        with open(os.path.join(self.dir, "stderr.log"), "rb") as f:
            return f.read().decode(errors="replace")

    def stop(self):
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
        self.stderr.close()
        if not os.environ.get("TWINMQ_KEEP_TMP"):
            shutil.rmtree(self.dir, ignore_errors=True)


class Recorder(stomp.ConnectionListener):
    """Records everything a connection receives; waits are bounded."""

    def __init__(self):
        self.cond = threading.Condition()
        self.connected = None
        self.messages = []
        self.receipts = []
        self.errors = []
        self.heartbeats = 0
        self.disconnected = False

    def _record(self, fn):
        with self.cond:
            fn()
            self.cond.notify_all()

    def on_connected(self, frame):
        self._record(lambda: setattr(self, "connected", frame))

    def on_message(self, frame):
        self._record(lambda: self.messages.append(frame))

    def on_receipt(self, frame):
        self._record(lambda: self.receipts.append(frame.headers.get("receipt-id")))

    def on_error(self, frame):
        self._record(lambda: self.errors.append(frame))

    def on_heartbeat(self):
        def inc():
            self.heartbeats += 1
        self._record(inc)

    def on_disconnected(self):
        self._record(lambda: setattr(self, "disconnected", True))

    def wait_for(self, pred, what, timeout=WAIT):
        with self.cond:
            if not self.cond.wait_for(pred, timeout):
                raise AssertionError("timed out after %.1fs waiting for %s (messages=%s receipts=%s errors=%s)"
                                     % (timeout, what, [m.body for m in self.messages], self.receipts,
                                        [(e.headers, e.body) for e in self.errors]))

    def wait_messages(self, n, timeout=WAIT):
        self.wait_for(lambda: len(self.messages) >= n, "%d messages" % n, timeout)
        return list(self.messages[:n])

    def wait_receipt(self, rid, timeout=WAIT):
        self.wait_for(lambda: rid in self.receipts, "RECEIPT %s" % rid, timeout)

    def take(self):
        with self.cond:
            got, self.messages = self.messages, []
            return got


class InteropCase(unittest.TestCase):
    broker_options = {}

    @classmethod
    def setUpClass(cls):
        cls.broker = Broker(cls.broker_options)

    @classmethod
    def tearDownClass(cls):
        cls.broker.stop()

    def setUp(self):
        self.conns = []

    def tearDown(self):
        for conn in self.conns:
            try:
                conn.transport.disconnect_socket()
            except Exception:  # already gone
                pass

    def connect(self, version="1.2", heartbeats=(0, 0), **kwargs):
        cls = {"1.0": stomp.Connection10, "1.1": stomp.Connection11, "1.2": stomp.Connection12}[version]
        args = dict(reconnect_attempts_max=1, **kwargs)
        if version != "1.0":
            args["heartbeats"] = heartbeats
        conn = cls([("127.0.0.1", self.broker.port)], **args)
        rec = Recorder()
        conn.set_listener("recorder", rec)
        self.conns.append(conn)
        conn.connect(wait=False)
        rec.wait_for(lambda: rec.connected is not None or rec.errors, "CONNECTED")
        self.assertFalse(rec.errors, "ERROR on connect")
        return conn, rec

    def sync_send(self, conn, rec, destination, body, **headers):
        rid = "r-" + uuid.uuid4().hex[:8]
        conn.send(destination, body, receipt=rid, **headers)
        rec.wait_receipt(rid)

    def sync_subscribe(self, conn, rec, destination, sub_id, ack="auto", **headers):
        rid = "r-" + uuid.uuid4().hex[:8]
        conn.subscribe(destination, sub_id, ack=ack, receipt=rid, **headers)
        rec.wait_receipt(rid)

    def barrier(self, conn, rec):
        """Returns after the broker handled a no-op frame from conn (anything due to conn came first)."""
        rid = "b-" + uuid.uuid4().hex[:8]
        conn.send("/topic/interop.barrier", "", receipt=rid)
        rec.wait_receipt(rid)

    @staticmethod
    def q(name):
        return "/queue/interop.%s.%s" % (name, uuid.uuid4().hex[:6])


class ConnectAndMessaging(InteropCase):
    def test_connect_each_version(self):
        for version in ("1.0", "1.1", "1.2"):
            with self.subTest(version=version):
                conn, rec = self.connect(version)
                self.assertEqual(rec.connected.headers.get("version", "1.0"), version)
                self.assertTrue(rec.connected.headers.get("session"))
                self.assertTrue(rec.connected.headers.get("server"))

    def test_send_receive_each_version(self):
        for version in ("1.0", "1.1", "1.2"):
            with self.subTest(version=version):
                dest = self.q("sr" + version)
                conn, rec = self.connect(version)
                if version == "1.0":
                    rid = "sub-" + version
                    conn.subscribe(dest, id="s1", ack="auto", receipt=rid)
                    rec.wait_receipt(rid)
                else:
                    self.sync_subscribe(conn, rec, dest, "s1")
                self.sync_send(conn, rec, dest, "hello " + version, **{"x-custom": "v-" + version})
                (m,) = rec.wait_messages(1)
                self.assertEqual(m.body, "hello " + version)
                self.assertEqual(m.headers["destination"], dest)
                self.assertEqual(m.headers["x-custom"], "v-" + version)
                self.assertTrue(m.headers["message-id"].startswith("ID:"))
                if version != "1.0":
                    self.assertEqual(m.headers["subscription"], "s1")

    def test_header_escaping_round_trip(self):
        # stomp.py escapes ':' '\n' '\\' (and '\r' in 1.2) in SEND headers and unescapes MESSAGE headers.
        for version, value in (("1.1", "a:b\nc\\d"), ("1.2", "a:b\nc\\d\re")):
            with self.subTest(version=version):
                dest = self.q("esc")
                conn, rec = self.connect(version)
                self.sync_subscribe(conn, rec, dest, "s")
                self.sync_send(conn, rec, dest, "x", **{"x-esc": value})
                (m,) = rec.wait_messages(1)
                self.assertEqual(m.headers["x-esc"], value)

    def test_binary_body_with_nul_bytes(self):
        dest = self.q("bin")
        conn, rec = self.connect("1.2", auto_decode=False)
        self.sync_subscribe(conn, rec, dest, "s")
        body = bytes(range(256)) * 4
        self.sync_send(conn, rec, dest, body)
        (m,) = rec.wait_messages(1)
        self.assertEqual(m.body, body)

    def test_receipts(self):
        dest = self.q("rcpt")
        conn, rec = self.connect("1.2")
        conn.subscribe(dest, "s", ack="client-individual", receipt="r-sub")
        conn.send(dest, "m", receipt="r-send")
        conn.begin("tx1", receipt="r-begin")
        conn.commit("tx1", receipt="r-commit")
        for rid in ("r-sub", "r-send", "r-begin", "r-commit"):
            rec.wait_receipt(rid)
        (m,) = rec.wait_messages(1)
        conn.ack(m.headers["ack"], receipt="r-ack")
        rec.wait_receipt("r-ack")
        conn.unsubscribe("s", receipt="r-unsub")
        rec.wait_receipt("r-unsub")
        self.assertEqual(rec.receipts, ["r-sub", "r-send", "r-begin", "r-commit", "r-ack", "r-unsub"])

    def test_disconnect_receipt_then_close(self):
        conn, rec = self.connect("1.2")
        conn.send_frame("DISCONNECT", {"receipt": "bye"})
        rec.wait_receipt("bye")
        rec.wait_for(lambda: rec.disconnected, "the broker to close after the DISCONNECT receipt")

    def test_topic_fan_out_and_drop_without_subscribers(self):
        topic = "/topic/interop.fan." + uuid.uuid4().hex[:6]
        producer, prec = self.connect("1.2")
        self.sync_send(producer, prec, topic, "nobody listens")
        subs = []
        for i, version in enumerate(("1.0", "1.1", "1.2")):
            conn, rec = self.connect(version)
            conn.subscribe(topic, id="t%d" % i, receipt="sub%d" % i)
            rec.wait_receipt("sub%d" % i)
            subs.append((conn, rec))
        for i in range(5):
            self.sync_send(producer, prec, topic, "f%d" % i)
        for conn, rec in subs:
            got = [m.body for m in rec.wait_messages(5)]
            self.assertEqual(got, ["f%d" % i for i in range(5)])
            self.barrier(conn, rec)
            self.assertEqual(len(rec.messages), 5, "the message sent before anyone subscribed must be dropped")

    def test_queue_round_robin(self):
        dest = self.q("rr")
        (a, ra), (b, rb) = self.connect("1.2"), self.connect("1.1")
        self.sync_subscribe(a, ra, dest, "s")
        self.sync_subscribe(b, rb, dest, "s")
        producer, prec = self.connect("1.2")
        for i in range(10):
            self.sync_send(producer, prec, dest, str(i))
        ga = [m.body for m in ra.wait_messages(5)]
        gb = [m.body for m in rb.wait_messages(5)]
        self.assertEqual(sorted(ga + gb, key=int), [str(i) for i in range(10)])


class Acknowledgement(InteropCase):
    def produce(self, dest, n):
        conn, rec = self.connect("1.2")
        for i in range(n):
            self.sync_send(conn, rec, dest, "m%d" % i)

    def test_client_ack_is_cumulative_and_unacked_are_redelivered(self):
        dest = self.q("client")
        self.produce(dest, 3)
        conn, rec = self.connect("1.2")
        self.sync_subscribe(conn, rec, dest, "s", ack="client")
        ms = rec.wait_messages(3)
        conn.ack(ms[1].headers["ack"], receipt="ack1")  # acks m0 and m1
        rec.wait_receipt("ack1")
        conn.transport.disconnect_socket()
        conn2, rec2 = self.connect("1.2")
        self.sync_subscribe(conn2, rec2, dest, "s", ack="client")
        (m,) = rec2.wait_messages(1)
        self.assertEqual(m.body, "m2")
        self.assertEqual(m.headers.get("redelivered"), "true")
        self.barrier(conn2, rec2)
        self.assertEqual(len(rec2.messages), 1)

    def test_client_individual_ack_1_1(self):
        dest = self.q("indiv")
        self.produce(dest, 3)
        conn, rec = self.connect("1.1")
        self.sync_subscribe(conn, rec, dest, "s11", ack="client-individual")
        ms = rec.wait_messages(3)
        conn.ack(ms[1].headers["message-id"], "s11", receipt="ack")
        rec.wait_receipt("ack")
        conn.transport.disconnect_socket()
        conn2, rec2 = self.connect("1.1")
        self.sync_subscribe(conn2, rec2, dest, "s11", ack="client-individual")
        got = rec2.wait_messages(2)
        self.assertEqual([m.body for m in got], ["m0", "m2"])
        self.assertTrue(all(m.headers.get("redelivered") == "true" for m in got))

    def test_client_ack_1_0(self):
        dest = self.q("ack10")
        self.produce(dest, 2)
        conn, rec = self.connect("1.0")
        conn.subscribe(dest, id="s", ack="client", receipt="sub")
        rec.wait_receipt("sub")
        ms = rec.wait_messages(2)
        conn.ack(ms[0].headers["message-id"], receipt="ack")
        rec.wait_receipt("ack")
        conn.transport.disconnect_socket()
        conn2, rec2 = self.connect("1.0")
        conn2.subscribe(dest, id="s", ack="client", receipt="sub2")
        rec2.wait_receipt("sub2")
        (m,) = rec2.wait_messages(1)
        self.assertEqual(m.body, "m1")

    def test_nack_redelivers_then_dead_letters(self):
        # The broker of this class has maximumRedeliveries=2: three deliveries, then the DLQ.
        dest = self.q("nack")
        dlq, rdlq = self.connect("1.2")
        self.sync_subscribe(dlq, rdlq, "/queue/DLQ", "d")
        self.produce(dest, 1)
        conn, rec = self.connect("1.2")
        self.sync_subscribe(conn, rec, dest, "s", ack="client-individual")
        for delivery in range(3):
            (m,) = rec.wait_messages(delivery + 1)[delivery:]
            self.assertEqual(m.body, "m0")
            self.assertEqual(m.headers.get("redelivered") == "true", delivery > 0)
            conn.nack(m.headers["ack"], receipt="n%d" % delivery)
            rec.wait_receipt("n%d" % delivery)
        dead = [m for m in rdlq.wait_messages(1) if m.body == "m0"]
        self.assertTrue(dead, "the NACKed message should be in the DLQ")
        self.barrier(conn, rec)
        self.assertEqual(len(rec.messages), 3)

    def test_nack_1_1(self):
        dest = self.q("nack11")
        self.produce(dest, 1)
        conn, rec = self.connect("1.1")
        self.sync_subscribe(conn, rec, dest, "s", ack="client-individual")
        (m,) = rec.wait_messages(1)
        conn.nack(m.headers["message-id"], "s", receipt="n")
        rec.wait_receipt("n")
        m2 = rec.wait_messages(2)[1]
        self.assertEqual(m2.body, "m0")
        self.assertEqual(m2.headers.get("redelivered"), "true")


class Transactions(InteropCase):
    def test_commit_makes_sends_visible(self):
        dest = self.q("tx")
        consumer, crec = self.connect("1.2")
        self.sync_subscribe(consumer, crec, dest, "s")
        conn, rec = self.connect("1.1")
        tx = conn.begin()
        conn.send(dest, "in-tx", transaction=tx)
        self.sync_send(conn, rec, dest, "outside")
        self.assertEqual([m.body for m in crec.wait_messages(1)], ["outside"])
        self.barrier(consumer, crec)
        self.assertEqual(len(crec.messages), 1, "a transacted send was visible before COMMIT")
        conn.commit(tx, receipt="c")
        rec.wait_receipt("c")
        self.assertEqual([m.body for m in crec.wait_messages(2)], ["outside", "in-tx"])

    def test_abort_discards_sends(self):
        dest = self.q("txabort")
        consumer, crec = self.connect("1.2")
        self.sync_subscribe(consumer, crec, dest, "s")
        conn, rec = self.connect("1.2")
        tx = conn.begin()
        conn.send(dest, "discarded", transaction=tx)
        conn.abort(tx, receipt="a")
        rec.wait_receipt("a")
        self.sync_send(conn, rec, dest, "marker")
        self.assertEqual([m.body for m in crec.wait_messages(1)], ["marker"])
        self.barrier(consumer, crec)
        self.assertEqual(len(crec.messages), 1)

    def test_aborted_ack_is_undone(self):
        dest = self.q("txack")
        producer, prec = self.connect("1.2")
        self.sync_send(producer, prec, dest, "m0")
        conn, rec = self.connect("1.2")
        self.sync_subscribe(conn, rec, dest, "s", ack="client-individual")
        (m,) = rec.wait_messages(1)
        tx = conn.begin()
        conn.ack(m.headers["ack"], transaction=tx)
        conn.abort(tx, receipt="a")
        rec.wait_receipt("a")
        conn.transport.disconnect_socket()
        conn2, rec2 = self.connect("1.2")
        self.sync_subscribe(conn2, rec2, dest, "s", ack="client-individual")
        (again,) = rec2.wait_messages(1)
        self.assertEqual(again.body, "m0")
        self.assertEqual(again.headers.get("redelivered"), "true")


class HeartBeats(InteropCase):
    def test_heart_beats_both_ways_keep_the_connection(self):
        dest = self.q("hb")
        # The broker follows a client's rate down to transport.minHeartBeat, but never offers
        # more than transport.heartBeat (300 ms in these tests): asking 500 gets 300 offered.
        conn, rec = self.connect("1.2", heartbeats=(500, 500))
        self.assertEqual(rec.connected.headers.get("heart-beat"), "300,300")
        # stomp.py sends a beat every 500 ms (max of ours and the broker's); the broker beats us.
        rec.wait_for(lambda: rec.heartbeats >= 3, "3 heart-beats from the broker", timeout=5)
        self.assertFalse(rec.disconnected)
        self.assertFalse(rec.errors)
        self.sync_subscribe(conn, rec, dest, "s")
        self.sync_send(conn, rec, dest, "still alive")
        self.assertEqual(rec.wait_messages(1)[0].body, "still alive")


class BadInput(InteropCase):
    def test_bad_frame_gets_error_and_close_others_unaffected(self):
        dest = self.q("bad")
        good, grec = self.connect("1.2")
        self.sync_subscribe(good, grec, dest, "s")
        bad, brec = self.connect("1.2")
        self.sync_send(bad, brec, dest, "accepted before the bad frame")
        bad.send_frame("FROBNICATE", {"receipt": "r-bad"})
        brec.wait_for(lambda: brec.errors, "an ERROR for an unknown command")
        err = brec.errors[0]
        self.assertTrue(err.headers.get("message"))
        self.assertIn("FROBNICATE", err.body)
        self.assertEqual(err.headers.get("receipt-id"), "r-bad")
        brec.wait_for(lambda: brec.disconnected, "the broker to close the connection after ERROR")
        self.assertEqual(grec.wait_messages(1)[0].body, "accepted before the bad frame")
        self.sync_send(good, grec, dest, "after")
        self.assertEqual(grec.wait_messages(2)[1].body, "after")

    def test_ack_of_unknown_id_gets_error(self):
        conn, rec = self.connect("1.2")
        conn.ack("no-such-ack-id", receipt="r")
        rec.wait_for(lambda: rec.errors, "an ERROR for ACK of an unknown id")
        self.assertIn("no-such-ack-id", rec.errors[0].body)
        rec.wait_for(lambda: rec.disconnected, "close after ERROR")


class Authentication(InteropCase):
    @classmethod
    def setUpClass(cls):
        cls.broker = Broker(users=[("alice", "secret")])

    def test_valid_and_invalid_credentials(self):
        conn = stomp.Connection12([("127.0.0.1", self.broker.port)], reconnect_attempts_max=1)
        rec = Recorder()
        conn.set_listener("r", rec)
        self.conns.append(conn)
        conn.connect("alice", "secret", wait=False)
        rec.wait_for(lambda: rec.connected is not None or rec.errors, "CONNECTED")
        self.assertIsNotNone(rec.connected)

        bad = stomp.Connection12([("127.0.0.1", self.broker.port)], reconnect_attempts_max=1)
        brec = Recorder()
        bad.set_listener("r", brec)
        self.conns.append(bad)
        bad.connect("alice", "wrong", wait=False)
        brec.wait_for(lambda: brec.errors or brec.connected is not None, "an answer to CONNECT")
        self.assertIsNone(brec.connected)
        self.assertTrue(brec.errors[0].headers.get("message"))
        brec.wait_for(lambda: brec.disconnected, "close after the refused CONNECT")


class HashedAuthentication(InteropCase):
    """A password given as the yescrypt hash `twinmq hash-password` prints (README "Security")."""

    @classmethod
    def setUpClass(cls):
        out = subprocess.run([twinmq_binary(), "hash-password"], input=b"s3cret\n", capture_output=True,
                             timeout=30, check=True)
        cls.hash = out.stdout.decode().strip()
        cls.broker = Broker(users=[("carol", cls.hash)])

    def test_hashed_password_logs_in_and_the_hash_itself_does_not(self):
        self.assertTrue(self.hash.startswith("$y$"), self.hash)
        conn = stomp.Connection12([("127.0.0.1", self.broker.port)], reconnect_attempts_max=1)
        rec = Recorder()
        conn.set_listener("r", rec)
        self.conns.append(conn)
        conn.connect("carol", "s3cret", wait=False)
        rec.wait_for(lambda: rec.connected is not None or rec.errors, "CONNECTED")
        self.assertIsNotNone(rec.connected)

        bad = stomp.Connection12([("127.0.0.1", self.broker.port)], reconnect_attempts_max=1)
        brec = Recorder()
        bad.set_listener("r", brec)
        self.conns.append(bad)
        bad.connect("carol", self.hash, wait=False)
        brec.wait_for(lambda: brec.errors or brec.connected is not None, "an answer to CONNECT")
        self.assertIsNone(brec.connected)
        self.assertEqual(brec.errors[0].headers.get("message"), "not authorized")


def make_ca(directory, name):
    """A throwaway CA in `directory` with the openssl command line: returns (cert, key)."""
    cert, key = os.path.join(directory, name + "-ca.pem"), os.path.join(directory, name + "-ca.key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-nodes", "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=%s test CA" % name],
                   check=True, capture_output=True, timeout=30)
    return cert, key


def issue(directory, ca, common_name):
    """A certificate for localhost / 127.0.0.1 signed by `ca`: returns (cert, key)."""
    cert = os.path.join(directory, common_name + ".pem")
    key = os.path.join(directory, common_name + ".key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-nodes", "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=" + common_name,
                    "-CA", ca[0], "-CAkey", ca[1], "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
                    "-addext", "basicConstraints=critical,CA:FALSE"],
                   check=True, capture_output=True, timeout=30)
    return cert, key


class OverTls(InteropCase):
    """stomp.py's own TLS (Python's ssl module) against a stomp+ssl:// connector with needClientAuth."""

    @classmethod
    def setUpClass(cls):
        cls.pki = tempfile.mkdtemp(prefix="twinmq-interop-pki-")
        cls.ca = make_ca(cls.pki, "good")
        cls.rogue_ca = make_ca(cls.pki, "rogue")
        server = issue(cls.pki, cls.ca, "broker")
        cls.client_cert = issue(cls.pki, cls.ca, "client")
        cls.rogue_cert = issue(cls.pki, cls.rogue_ca, "mallory")
        ssl_context = ('<sslContext certificate="%s" privateKey="%s" trustedCAs="%s"/>'
                       % (server[0], server[1], cls.ca[0]))
        cls.broker = Broker({"needClientAuth": "true"}, scheme="stomp+ssl", extra_xml=ssl_context)

    @classmethod
    def tearDownClass(cls):
        cls.broker.stop()
        if not os.environ.get("TWINMQ_KEEP_TMP"):
            shutil.rmtree(cls.pki, ignore_errors=True)

    def tls_connection(self, cert):
        conn = stomp.Connection12([("127.0.0.1", self.broker.port)], reconnect_attempts_max=1, heartbeats=(0, 0))
        conn.set_ssl(for_hosts=[("127.0.0.1", self.broker.port)], ca_certs=self.ca[0],
                     cert_file=cert[0] if cert else None, key_file=cert[1] if cert else None)
        rec = Recorder()
        conn.set_listener("recorder", rec)
        self.conns.append(conn)
        return conn, rec

    def test_send_and_receive_over_tls(self):
        conn, rec = self.tls_connection(self.client_cert)
        conn.connect(wait=False)
        rec.wait_for(lambda: rec.connected is not None or rec.errors, "CONNECTED over TLS")
        self.assertEqual(rec.connected.headers.get("version"), "1.2")
        q = self.q("tls")
        self.sync_subscribe(conn, rec, q, "s1")
        big = "x" * 200000  # several TLS records
        for body in ("hello over tls", big):
            self.sync_send(conn, rec, q, body)
        got = rec.wait_messages(2)
        self.assertEqual([m.body for m in got], ["hello over tls", big])

    def test_client_certificates_the_broker_does_not_trust_are_refused(self):
        for name, cert in (("no certificate", None), ("another CA", self.rogue_cert)):
            with self.subTest(name):
                conn, rec = self.tls_connection(cert)
                try:
                    conn.connect(wait=False)
                    rec.wait_for(lambda: rec.disconnected or rec.connected is not None or rec.errors,
                                 "the broker to refuse the handshake")
                except (stomp.exception.ConnectFailedException, stomp.exception.NotConnectedException, OSError):
                    pass  # refused during the handshake (or closed before CONNECT went out): what we want
                self.assertIsNone(rec.connected)
        log = self.broker.log()
        self.assertIn("peer did not return a certificate", log)
        self.assertIn("certificate verify failed", log)


if __name__ == "__main__":
    if not os.access(twinmq_binary(), os.X_OK):
        sys.stderr.write("no twinmq binary at %s (set TWINMQ_BUILD)\n" % twinmq_binary())
    unittest.main(verbosity=2)
