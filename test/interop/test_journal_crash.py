#!/usr/bin/python3
"""Journal crash tests (issue 3): real twinmq processes SIGKILLed at random moments.

What a client holds a RECEIPT for must survive kill -9 at any instant:
  - persistent SENDs with receipts, while the broker is killed mid-stream (20+ kills);
  - acknowledgements whose receipt the client saw are never redelivered;
  - transactions: a receipted COMMIT is all there, any commit is all-or-nothing;
  - durable topic subscriptions keep what arrived while their subscriber was away;
  - a full disk (a small tmpfs the test mounts itself) refuses persistent sends with
    an ERROR, serves non-persistent ones, and recovers when space returns.

Run ONLY with /usr/bin/python3 (test/run_all does):
    TWINMQ_BUILD=$PWD/build /usr/bin/python3 test/interop/test_journal_crash.py -v

The client here is a small raw STOMP speaker so the test knows exactly which receipts
arrived before the kill. Every wait is bounded; every broker is killed by pid.
"""
import os
import random
import select
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import unittest

from pair_harness import twinmq_binary

WAIT = 10.0  # seconds: bounds a failure, never a timing assertion


class Broker:
    """A persistent twinmq on 127.0.0.1:0 whose data directory outlives its processes."""

    def __init__(self, data_dir, journal_extra="", name="crash", broker_extra=""):
        self.dir = tempfile.mkdtemp(prefix="twinmq-crash-")
        self.config = os.path.join(self.dir, "broker.xml")
        with open(self.config, "w") as f:
            f.write('<broker brokerName="%s" dataDirectory="%s" persistent="true" %s>\n'
                    '  <transportConnectors>\n'
                    '    <transportConnector name="stomp" uri="stomp://127.0.0.1:0"/>\n'
                    '  </transportConnectors>\n'
                    '  <persistenceAdapter><journal %s/></persistenceAdapter>\n'
                    '</broker>\n' % (name, data_dir, broker_extra, journal_extra))
        self.proc = None
        self.port = None

    def start(self):
        self.log = open(os.path.join(self.dir, "broker.log"), "ab")
        self.proc = subprocess.Popen([twinmq_binary(), "--config", self.config],
                                     stdout=subprocess.PIPE, stderr=self.log)
        deadline = time.time() + WAIT
        line = b""
        while time.time() < deadline:
            r, _, _ = select.select([self.proc.stdout], [], [], deadline - time.time())
            if not r:
                break
            ch = os.read(self.proc.stdout.fileno(), 1)
            if not ch:
                break
            line += ch
            if ch == b"\n":
                if line.startswith(b"twinmq: listening stomp "):
                    self.port = int(line.rsplit(b":", 1)[1])
                    return
                line = b""
        self.kill()
        raise AssertionError("broker did not report a listening stomp connector within %ss; log:\n%s"
                             % (WAIT, self.log_text()))

    def kill(self, sig=signal.SIGKILL):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(WAIT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(WAIT)
        if self.proc:
            self.proc.stdout.close()
            self.log.close()
        self.proc = None

    def log_text(self):
        try:
            with open(os.path.join(self.dir, "broker.log"), "rb") as f:
                return f.read().decode(errors="replace")[-4000:]
        except OSError:
            return ""

    def cleanup(self):
        self.kill()
        shutil.rmtree(self.dir, ignore_errors=True)


class Stomp:
    """A raw STOMP 1.2 client: frames out, frames in, nothing hidden."""

    def __init__(self, port, headers=None):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=WAIT)
        self.buf = b""
        self.closed = False
        h = {"accept-version": "1.2", "host": "localhost", "heart-beat": "0,0"}
        h.update(headers or {})
        self.send_frame("CONNECT", h)
        f = self.read_frame(WAIT)
        assert f and f[0] == "CONNECTED", "expected CONNECTED, got %r" % (f,)

    def send_frame(self, command, headers, body=b""):
        out = [command]
        for k, v in headers.items():
            out.append("%s:%s" % (k, v))
        data = ("\n".join(out) + "\n").encode()
        if body:
            data += b"content-length:%d\n" % len(body)
        data += b"\n" + body + b"\0"
        try:
            self.sock.sendall(data)
        except OSError:
            self.closed = True

    def read_frame(self, timeout):
        """Next frame as (command, headers, body); None on timeout or close."""
        deadline = time.time() + timeout
        while True:
            while self.buf.startswith(b"\n") or self.buf.startswith(b"\r\n"):
                self.buf = self.buf[1:] if self.buf.startswith(b"\n") else self.buf[2:]
            end = self.buf.find(b"\n\n")
            if end >= 0:
                head = self.buf[:end].decode()
                lines = head.split("\n")
                headers = {}
                for l in lines[1:]:
                    k, _, v = l.partition(":")
                    headers.setdefault(k, v)
                start = end + 2
                if "content-length" in headers:
                    n = int(headers["content-length"])
                    if len(self.buf) >= start + n + 1:
                        body = self.buf[start:start + n]
                        self.buf = self.buf[start + n + 1:]
                        return lines[0], headers, body
                else:
                    nul = self.buf.find(b"\0", start)
                    if nul >= 0:
                        body = self.buf[start:nul]
                        self.buf = self.buf[nul + 1:]
                        return lines[0], headers, body
            left = deadline - time.time()
            if left <= 0:
                return None
            # A failed send (closed) may still leave the broker's last frame (an ERROR)
            # to be read: a closed peer makes the socket readable at once, so this
            # returns quickly either way.
            r, _, _ = select.select([self.sock], [], [], left)
            if not r:
                return None
            try:
                chunk = self.sock.recv(65536)
            except OSError:
                chunk = b""
            if not chunk:
                self.closed = True
                return None
            self.buf += chunk

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def drain(port, destination, headers=None, idle=1.0, ack="auto", until=None):
    """Every message currently on `destination`: list of (body, headers). With `until`,
    stops as soon as that many arrived (`idle` then bounds the wait for each)."""
    c = Stomp(port, headers)
    sub = {"id": "drain", "destination": destination, "ack": ack, "receipt": "sub"}
    sub.update({k: v for k, v in (headers or {}).items() if k.startswith("activemq.")})
    sub.pop("client-id", None)
    c.send_frame("SUBSCRIBE", sub)
    got = []
    while True:
        f = c.read_frame(idle)
        if f is None:
            break
        if f[0] == "MESSAGE":
            got.append((f[2].decode(), f[1]))
            if ack != "auto":
                c.send_frame("ACK", {"id": f[1]["ack"]})
            if until is not None and len(got) >= until:
                break
        elif f[0] == "ERROR":
            raise AssertionError("ERROR while draining: %r" % (f,))
    c.close()
    return got


class JournalCrashTest(unittest.TestCase):
    def setUp(self):
        self.data = tempfile.mkdtemp(prefix="twinmq-crash-data-")
        self.broker = Broker(self.data)
        self.rng = random.Random(int(os.environ.get("TWINMQ_CRASH_SEED", "20261125")))

    def tearDown(self):
        self.broker.cleanup()
        shutil.rmtree(self.data, ignore_errors=True)

    def test_receipted_sends_and_acks_survive_sigkill(self):
        """22 rounds: a producer streams persistent sends with receipts and a consumer acks
        with receipts while the broker is SIGKILLed at a random moment."""
        receipted = set()          # bodies whose SEND receipt arrived
        ack_receipted = set()      # bodies whose ACK receipt arrived
        ack_sent = set()           # bodies we sent an ACK for (receipt or not)
        seq = 0
        kills = 22
        for rnd in range(kills):
            self.broker.start()
            prod = Stomp(self.broker.port)
            cons = Stomp(self.broker.port)
            cons.send_frame("SUBSCRIBE", {"id": "c", "destination": "/queue/crash",
                                          "ack": "client-individual", "activemq.prefetchSize": "50"})
            pending = {}           # receipt id -> body (sends)
            ack_pending = {}       # receipt id -> body (acks)
            kill_at = time.time() + self.rng.uniform(0.05, 0.4)
            while time.time() < kill_at:
                for _ in range(20):
                    seq += 1
                    body = "m%06d" % seq
                    pending["s%d" % seq] = body
                    prod.send_frame("SEND", {"destination": "/queue/crash", "persistent": "true",
                                             "receipt": "s%d" % seq}, body.encode())
                f = prod.read_frame(0.001)
                while f:
                    if f[0] == "RECEIPT":
                        receipted.add(pending.pop(f[1]["receipt-id"]))
                    f = prod.read_frame(0)
                m = cons.read_frame(0.001)
                while m:
                    if m[0] == "MESSAGE":
                        body = m[2].decode()
                        ack_pending["a" + body] = body
                        ack_sent.add(body)
                        cons.send_frame("ACK", {"id": m[1]["ack"], "receipt": "a" + body})
                    elif m[0] == "RECEIPT":
                        ack_receipted.add(ack_pending.pop(m[1]["receipt-id"]))
                    m = cons.read_frame(0)
            self.broker.kill(signal.SIGKILL)
            # What arrived before the kill still counts; nothing after it can.
            for c, table, into in ((prod, pending, receipted), (cons, ack_pending, ack_receipted)):
                f = c.read_frame(0.05)
                while f:
                    if f[0] == "RECEIPT" and f[1]["receipt-id"] in table:
                        into.add(table.pop(f[1]["receipt-id"]))
                    f = c.read_frame(0.01)
                c.close()
        self.assertGreaterEqual(kills, 20)
        self.assertGreater(len(receipted), 100, "too few receipts to mean anything")
        self.assertGreater(len(ack_receipted), 10, "too few ack receipts to mean anything")

        self.broker.start()
        left = [b for b, _ in drain(self.broker.port, "/queue/crash")]
        # An ACK whose receipt never arrived may or may not have been made durable:
        # such a message may be gone or back; every other receipted one must be here.
        lost = receipted - ack_sent - set(left)
        self.assertEqual(lost, set(), "receipted messages lost after %d kills: %s" % (kills, sorted(lost)[:10]))
        redelivered_acked = ack_receipted & set(left)
        self.assertEqual(redelivered_acked, set(),
                         "messages whose ACK was receipted came back: %s" % sorted(redelivered_acked)[:10])
        self.assertEqual(len(left), len(set(left)), "a message was delivered twice from the recovered queue")
        print("\n  %d kills: %d sends receipted, %d acks receipted, %d left, none lost"
              % (kills, len(receipted), len(ack_receipted), len(left)))

    def test_transactions_are_all_or_nothing_across_sigkill(self):
        committed = set()   # tx ids whose COMMIT receipt arrived
        attempted = set()
        txn = 0
        for rnd in range(8):
            self.broker.start()
            c = Stomp(self.broker.port)
            kill_at = time.time() + self.rng.uniform(0.05, 0.3)
            pending = {}
            while time.time() < kill_at:
                txn += 1
                tx = "t%d" % txn
                attempted.add(tx)
                c.send_frame("BEGIN", {"transaction": tx})
                for i in range(5):
                    c.send_frame("SEND", {"destination": "/queue/tx", "persistent": "true",
                                          "transaction": tx}, ("%s-%d" % (tx, i)).encode())
                c.send_frame("COMMIT", {"transaction": tx, "receipt": tx})
                pending[tx] = True
                f = c.read_frame(0.002)
                while f:
                    if f[0] == "RECEIPT":
                        committed.add(f[1]["receipt-id"])
                    f = c.read_frame(0)
            self.broker.kill(signal.SIGKILL)
            c.close()
        self.broker.start()
        bodies = [b for b, _ in drain(self.broker.port, "/queue/tx")]
        per_tx = {}
        for b in bodies:
            per_tx.setdefault(b.rsplit("-", 1)[0], set()).add(b)
        for tx, parts in per_tx.items():
            self.assertEqual(len(parts), 5, "transaction %s partly applied: %s" % (tx, sorted(parts)))
        missing = committed - set(per_tx)
        self.assertEqual(missing, set(), "receipted commits lost: %s" % sorted(missing)[:10])
        self.assertGreater(len(committed), 10)

    def test_durable_subscription_backlog_survives_sigkill(self):
        headers = {"client-id": "durable-client", "activemq.subscriptionName": "keep"}
        self.broker.start()
        drain(self.broker.port, "/topic/news", headers)  # creates the durable subscription
        receipted = set()
        n = 0
        for rnd in range(5):
            self.broker.kill(signal.SIGKILL) if self.broker.proc else None
            self.broker.start()
            p = Stomp(self.broker.port)
            pending = {}
            kill_at = time.time() + self.rng.uniform(0.05, 0.2)
            while time.time() < kill_at:
                n += 1
                pending["r%d" % n] = "n%d" % n
                p.send_frame("SEND", {"destination": "/topic/news", "persistent": "true",
                                      "receipt": "r%d" % n}, ("n%d" % n).encode())
                f = p.read_frame(0.001)
                while f:
                    if f[0] == "RECEIPT":
                        receipted.add(pending.pop(f[1]["receipt-id"]))
                    f = p.read_frame(0)
            self.broker.kill(signal.SIGKILL)
            p.close()
        self.broker.start()
        got = {b for b, _ in drain(self.broker.port, "/topic/news", headers)}
        self.assertEqual(receipted - got, set(), "durable subscriber lost receipted messages")
        self.assertGreater(len(receipted), 10)


def mount_tmpfs(path, size):
    return subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%s" % size, "tmpfs", path],
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode == 0


class LargeTransactionTest(unittest.TestCase):
    """A receipted transaction is readable at restart, whatever its size: one that would
    not fit a journal record is refused at the SEND that passes maxTransactionSize (it
    used to be fsynced and receipted, then cut at restart as a "torn tail")."""

    MIB = 1 << 20
    BODY = 10 * MIB - 1024  # the largest body under the default wireFormat.maxFrameSize (10 MiB)

    def setUp(self):
        self.data = tempfile.mkdtemp(prefix="twinmq-bigtx-data-")
        self.broker = None

    def tearDown(self):
        if self.broker:
            self.broker.cleanup()
        shutil.rmtree(self.data, ignore_errors=True)

    def start(self, broker_extra=""):
        self.broker = Broker(self.data, broker_extra=broker_extra, name="bigtx")
        self.broker.start()

    def send_tx(self, c, tx, count, size, commit_wait=WAIT):
        """BEGIN, `count` persistent SENDs of `size` bytes; returns the first ERROR, if any."""
        c.send_frame("BEGIN", {"transaction": tx})
        for i in range(count):
            body = (b"%s-%03d:" % (tx.encode(), i)).ljust(size, b"x")
            c.send_frame("SEND", {"destination": "/queue/big", "persistent": "true", "transaction": tx}, body)
            if c.closed:
                break
        c.send_frame("COMMIT", {"transaction": tx, "receipt": "commit-" + tx})
        return c.read_frame(commit_wait)  # a bound: hundreds of MiB to fsync on a shared disk

    def test_a_transaction_past_max_transaction_size_is_refused_and_rolled_back(self):
        self.start()  # the default limit, 64 MiB
        c = Stomp(self.broker.port)
        f = self.send_tx(c, "huge", 100, self.BODY)  # the 1 GiB transaction that was lost
        c.close()
        self.assertIsNotNone(f, "no answer to a 1 GiB transaction; log:\n" + self.broker.log_text())
        self.assertEqual(f[0], "ERROR", "expected an ERROR, got %r" % (f[:2],))
        self.assertEqual(f[1].get("message"), "transaction too large")
        body = f[2].decode()
        self.assertIn("transaction 'huge'", body)
        self.assertIn("maxTransactionSize", body)
        self.assertIn("rolled back", body)
        # Nothing of it was applied, the broker still serves, and a restart finds a clean store.
        ok = Stomp(self.broker.port)
        ok.send_frame("SEND", {"destination": "/queue/big", "persistent": "true", "receipt": "r"}, b"after")
        r = ok.read_frame(WAIT)
        self.assertEqual(r and r[0], "RECEIPT", "broker did not serve after the refusal: %r" % (r,))
        ok.close()
        self.broker.kill(signal.SIGKILL)
        self.broker.start()
        self.assertEqual([b for b, _ in drain(self.broker.port, "/queue/big")], ["after"])
        self.assertNotIn("torn", self.broker.log_text())

    def test_the_largest_transaction_allowed_survives_sigkill(self):
        # maxTransactionSize at its maximum: a receipted commit just under it must come
        # back whole after kill -9 (before the fix a record this large was cut at restart).
        self.start('maxTransactionSize="512 mb"')
        c = Stomp(self.broker.port)
        f = self.send_tx(c, "max", 25, self.BODY, commit_wait=120)  # 250 MiB in one record
        c.close()
        self.assertEqual(f and f[0], "RECEIPT", "commit not receipted: %r; log:\n%s"
                         % (f and f[:2], self.broker.log_text()))
        self.broker.kill(signal.SIGKILL)
        self.broker.start()
        # Restarted index-only (the default memoryUsage), the messages are read back from
        # the 250 MiB record after start-up, not before: wait for them, not for a pause.
        got = drain(self.broker.port, "/queue/big", idle=60.0, until=25)
        self.assertEqual(len(got), 25, "a receipted 250 MiB transaction came back with %d of 25 messages; log:\n%s"
                         % (len(got), self.broker.log_text()))
        self.assertEqual(sorted(b[:8] for b, _ in got), ["max-%03d:" % i for i in range(25)])
        self.assertTrue(all(len(b) == self.BODY for b, _ in got))
        self.assertNotIn("torn", self.broker.log_text())


class DiskFullTest(unittest.TestCase):
    def setUp(self):
        self.mnt = tempfile.mkdtemp(prefix="twinmq-diskfull-")
        if not mount_tmpfs(self.mnt, "3m"):
            os.rmdir(self.mnt)
            self.skipTest("cannot mount a tmpfs here (needs root): disk-full behaviour not checked")
        self.broker = Broker(os.path.join(self.mnt, "data"), 'maxSegmentSize="256 kb"')

    def tearDown(self):
        self.broker.cleanup()
        subprocess.run(["umount", self.mnt], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.rmdir(self.mnt)

    def test_full_disk_refuses_persistent_keeps_serving_and_recovers(self):
        self.broker.start()
        c = Stomp(self.broker.port)
        body = b"x" * 1024
        receipted = []
        error = None
        held = 0
        for i in range(10000):  # 10 MB of persistent messages into a 3 MB file system
            c.send_frame("SEND", {"destination": "/queue/full", "persistent": "true", "receipt": "r%d" % i},
                         body[:-8] + b"%08d" % i)
            # The send whose write fails is held (never receipted: it is not durable);
            # the sends after it are refused with an ERROR.
            f = c.read_frame(1.0)
            if f is None:
                held += 1
                self.assertLess(held, 5, "persistent sends neither receipted nor refused on a full disk")
                continue
            if f[0] == "ERROR":
                error = f
                break
            receipted.append(int(f[1]["receipt-id"][1:]))
        self.assertIsNotNone(error, "the broker never refused a persistent send on a full disk")
        self.assertIn("No space left", error[2].decode() + error[1].get("message", ""))
        c.close()
        # Non-persistent work goes on.
        c = Stomp(self.broker.port)
        c.send_frame("SEND", {"destination": "/queue/np", "receipt": "np"}, b"still here")
        f = c.read_frame(WAIT)
        self.assertEqual(f[0], "RECEIPT", "non-persistent send refused on a full disk: %r" % (f,))
        c.close()
        # Space returns: persistent sends are accepted again (the journal retries).
        subprocess.run(["mount", "-o", "remount,size=64m", self.mnt], check=True)
        deadline = time.time() + WAIT
        accepted = False
        while time.time() < deadline and not accepted:
            c = Stomp(self.broker.port)
            c.send_frame("SEND", {"destination": "/queue/full", "persistent": "true", "receipt": "again"},
                         b"after")
            f = c.read_frame(WAIT)
            accepted = f is not None and f[0] == "RECEIPT"
            c.close()
            if not accepted:
                time.sleep(0.2)  # the journal retries its failed write about once a second
        self.assertTrue(accepted, "persistent sends still refused after space returned")
        # Nothing receipted was lost: restart and count.
        self.broker.kill(signal.SIGKILL)
        self.broker.start()
        got = [b for b, _ in drain(self.broker.port, "/queue/full")]
        have = {int(b[-8:]) for b in got if b != "after"}
        self.assertEqual(set(receipted) - have, set(), "receipted messages lost around the full disk")
        self.assertIn("after", got)


if __name__ == "__main__":
    unittest.main(verbosity=2)
