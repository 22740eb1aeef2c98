#!/usr/bin/python3
"""Failover with a third-party client (issue 4): python3-stomp with both brokers of a
twinmq pair in its host list keeps sending and receiving across a failover, and every
message whose RECEIPT it saw is delivered afterwards.

The master is killed (-9) in the middle of a stream of persistent SENDs with receipts;
stomp.py reconnects through its host list (the master refuses, the slave — which was
closed until now — accepts), the application resubscribes and re-sends what had no
receipt (at-least-once), and the consumer, failing over the same way, receives every
receipted message.

Run ONLY with /usr/bin/python3 (test/run_all does):
    TWINMQ_BUILD=$PWD/build /usr/bin/python3 test/interop/test_failover.py -v

Every wait is bounded; every broker is killed by pid; no fixed ports (the master's come
from its `twinmq: listening` lines, the slave's is a free port picked up front).
"""
import shutil
import signal
import tempfile
import threading
import time
import unittest

import stomp

from pair_harness import WAIT, start_pair


class Collector(stomp.ConnectionListener):
    """Receipts and messages of one stomp.py connection, plus whether it is connected."""

    def __init__(self):
        self.cond = threading.Condition()
        self.receipts = set()
        self.bodies = []
        self.connected = False
        self.disconnects = 0

    def on_connected(self, frame):
        with self.cond:
            self.connected = True
            self.cond.notify_all()

    def on_disconnected(self):
        with self.cond:
            self.connected = False
            self.disconnects += 1
            self.cond.notify_all()

    def on_receipt(self, frame):
        with self.cond:
            self.receipts.add(frame.headers.get("receipt-id"))
            self.cond.notify_all()

    def on_message(self, frame):
        with self.cond:
            self.bodies.append(frame.body)
            self.cond.notify_all()

    def wait(self, pred, timeout):
        deadline = time.time() + timeout
        with self.cond:
            while not pred():
                left = deadline - time.time()
                if left <= 0:
                    return False
                self.cond.wait(left)
            return True


class FailoverTest(unittest.TestCase):
    N = 200
    KILL_AT = 80

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="twinmq-failover-")
        self.procs = []
        self.master, self.slave, self.mport, self.sport = start_pair(self.dir, self.procs)

    def tearDown(self):
        for p in self.procs:
            p.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def connection(self, listener):
        # Master first, then the slave, as ActiveMQ's failover:(m,s)?randomize=false.
        c = stomp.Connection([("127.0.0.1", self.mport), ("127.0.0.1", self.sport)],
                             reconnect_sleep_initial=0.05, reconnect_sleep_increase=0.0,
                             reconnect_sleep_jitter=0.0, reconnect_attempts_max=100)
        c.set_listener("", listener)
        c.connect(wait=True)
        return c

    def test_receipted_messages_survive_a_failover(self):
        consumer_l = Collector()
        consumer = self.connection(consumer_l)
        consumer.subscribe("/queue/failover", id="1", ack="auto")
        producer_l = Collector()
        producer = self.connection(producer_l)

        receipted = []
        failovers = 0
        i = 0
        while i < self.N:
            if i == self.KILL_AT and failovers == 0:
                self.master.stop(signal.SIGKILL)
            body = "msg-%d" % i
            rid = "r-%d-%d" % (i, failovers)
            try:
                producer.send("/queue/failover", body, headers={"persistent": "true", "receipt": rid})
            except stomp.exception.NotConnectedException:
                pass
            ok = producer_l.wait(lambda: rid in producer_l.receipts or not producer_l.connected, WAIT)
            if ok and rid in producer_l.receipts:
                receipted.append(body)
                i += 1
                continue
            # No receipt: the broker went away. Reconnect through the host list and
            # send the same message again (it may arrive twice: at-least-once).
            failovers += 1
            self.assertLessEqual(failovers, 3, "too many failovers")
            self.assertTrue(producer_l.wait(lambda: not producer_l.connected, WAIT))
            producer.connect(wait=True)
        self.assertGreaterEqual(failovers, 1, "the producer never noticed the failover")
        self.assertIn("listening stomp", self.slave_stdout_hint())

        # The consumer was on the master too: it is told, reconnects through the host
        # list and resubscribes (application-level, as with ActiveMQ).
        self.assertTrue(consumer_l.wait(lambda: consumer_l.disconnects >= 1, WAIT))
        consumer.connect(wait=True)
        consumer.subscribe("/queue/failover", id="1", ack="auto")
        want = set(receipted)
        got_all = consumer_l.wait(lambda: want.issubset(set(consumer_l.bodies)), WAIT)
        missing = sorted(want - set(consumer_l.bodies))
        self.assertTrue(got_all, "receipted messages missing after failover: %d, e.g. %s" %
                        (len(missing), missing[:5]))
        producer.disconnect()
        consumer.disconnect()

    def slave_stdout_hint(self):
        port = self.slave.wait_listening("stomp", WAIT)
        return "listening stomp" if port == self.sport else "slave never listened"


if __name__ == "__main__":
    unittest.main()
