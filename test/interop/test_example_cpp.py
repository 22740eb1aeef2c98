#!/usr/bin/python3
"""The C++ examples (examples/cpp/producer and consumer, FailoverClient) across a real
twinmq pair: both run with a failover:(master,slave) URI, the master is killed (-9) in
the middle of the run, and every message the producer printed as receipted is printed
by the consumer (duplicates allowed: at-least-once).

Run ONLY with /usr/bin/python3 (test/run_all does):
    TWINMQ_BUILD=$PWD/build /usr/bin/python3 test/interop/test_example_cpp.py -v

Every wait is bounded; every process is killed by pid; no fixed ports (the master's
come from its `twinmq: listening` lines, the slave's is a free port picked up front).
"""
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import unittest

from pair_harness import WAIT, build_dir, start_pair


class Example:
    """One example program; its stdout lines are collected on a thread."""

    def __init__(self, name, args):
        self.proc = subprocess.Popen([os.path.join(build_dir(), "examples", "cpp", name)] + args,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.lines = []
        self.err = b""
        self.cond = threading.Condition()
        self.readers = [threading.Thread(target=self._read_out, daemon=True),
                        threading.Thread(target=self._read_err, daemon=True)]
        for t in self.readers:
            t.start()

    def _read_out(self):
        for line in self.proc.stdout:
            with self.cond:
                self.lines.append(line.decode().rstrip("\n"))
                self.cond.notify_all()

    def _read_err(self):
        self.err = self.proc.stderr.read()

    def wait_lines(self, n, timeout=WAIT):
        deadline = time.time() + timeout
        with self.cond:
            while len(self.lines) < n:
                left = deadline - time.time()
                if left <= 0 or self.proc.poll() is not None:
                    return len(self.lines) >= n
                self.cond.wait(min(left, 0.1))
            return True

    def wait(self, timeout):
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(WAIT)
        for t in self.readers:
            t.join(WAIT)
        self.proc.stdout.close()
        self.proc.stderr.close()

    def words(self, prefix):
        with self.cond:
            return [l.split(" ")[1] for l in self.lines if l.startswith(prefix + " ")]


class ExampleCppTest(unittest.TestCase):
    N = 300
    KILL_AFTER = 100

    def setUp(self):
        for name in ("producer", "consumer"):
            path = os.path.join(build_dir(), "examples", "cpp", name)
            if not os.access(path, os.X_OK):
                self.fail("%s is not built (meson builds examples/cpp into <build>/examples/cpp)" % path)
        self.dir = tempfile.mkdtemp(prefix="twinmq-example-cpp-")
        self.procs = []
        self.master, self.slave, self.mport, self.sport = start_pair(self.dir, self.procs)
        self.examples = []

    def tearDown(self):
        for e in self.examples:
            e.stop()
        for p in self.procs:
            p.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def example(self, name, args):
        e = Example(name, args)
        self.examples.append(e)
        return e

    def test_every_receipted_message_is_consumed_across_a_failover(self):
        # timeout bounds every reconnect wait inside the examples, should the slave
        # never take over (the test then fails instead of hanging).
        uri = ("failover:(tcp://127.0.0.1:%d,tcp://127.0.0.1:%d)?randomize=false&timeout=20000"
               % (self.mport, self.sport))
        queue = "/queue/example.cpp"
        # The consumer exits after 5 s without a message (the producer is done by then).
        consumer = self.example("consumer", [uri, queue, "1000000", "5"])
        # A pause between messages keeps the producer busy while the master dies.
        producer = self.example("producer", [uri, queue, str(self.N), "2"])
        self.assertTrue(producer.wait_lines(self.KILL_AFTER, 30),
                        "producer printed only %d lines\n%s" % (len(producer.lines), producer.err))
        self.master.stop(signal.SIGKILL)
        self.assertEqual(producer.wait(60), 0, "producer failed:\n%s" % producer.err.decode(errors="replace"))
        self.assertEqual(consumer.wait(60), 0, "consumer failed:\n%s" % consumer.err.decode(errors="replace"))
        for e in self.examples:
            for t in e.readers:
                t.join(WAIT)

        receipted = producer.words("receipted")
        self.assertEqual(len(receipted), self.N, "the producer stopped early:\n%s" % producer.err)
        received = set(consumer.words("received"))
        missing = [b for b in receipted if b not in received]
        self.assertEqual(missing, [], "%d receipted messages never printed by the consumer, e.g. %s\n"
                                      "producer:\n%s\nconsumer:\n%s"
                         % (len(missing), missing[:5], producer.err.decode(errors="replace"),
                            consumer.err.decode(errors="replace")))
        # Both really failed over (the events go to stderr).
        self.assertIn(b"reconnected to tcp://127.0.0.1:%d" % self.sport, producer.err)
        self.assertIn(b"reconnected to tcp://127.0.0.1:%d" % self.sport, consumer.err)

    def test_a_bad_uri_is_reported_and_exits_non_zero(self):
        producer = self.example("producer", ["failover:(tcp://127.0.0.1:1)?maxReconectDelay=5", "/queue/x", "1"])
        self.assertEqual(producer.wait(WAIT), 1)
        for t in producer.readers:
            t.join(WAIT)
        self.assertIn(b"unknown option 'maxReconectDelay' (did you mean maxReconnectDelay?)", producer.err)


if __name__ == "__main__":
    unittest.main()
