#!/usr/bin/python3
"""The examples and `make run`'s pair launcher, run as a user would run them.

- examples/python: consumer.py and producer.py against a pair started by
  src/tools/run-pair; the master is killed (-9) mid-stream; every receipted message
  reaches the consumer, part of them from the slave.
- examples/js: the same with node, stompit (installed by `npm install` from the
  example's own package.json and lock file, in a temporary copy of the folder) and
  its ConnectFailover.
- examples/demo-failover.sh: exits 0 and ends with its PASS summary line.
- src/tools/run-pair: announces where clients connect once the pair is in sync,
  refuses to start when a port is taken, says so when the master dies and keeps the
  slave, and on SIGINT stops both brokers (both exit 0) and closes their ports.

Run ONLY with /usr/bin/python3 (test/run_all does):
    TWINMQ_BUILD=$PWD/build /usr/bin/python3 test/interop/test_examples.py -v

Every pair runs on ports the OS or run-pair picks, with its data in a temporary
directory; every wait is bounded; every process is stopped by its pid.
"""
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import unittest

WAIT = 30.0  # seconds: bounds a failure, never a timing assertion
ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
COUNT = 40       # messages per failover run
KILL_AFTER = 12  # receipts before the master is killed
PY = "/usr/bin/python3"


def build_dir():
    return os.environ.get("TWINMQ_BUILD") or os.path.join(ROOT, "build")


class Process:
    """A child process whose stdout+stderr lines are collected by a thread."""

    def __init__(self, args, cwd=None):
        self.args = args
        self.proc = subprocess.Popen(args, cwd=cwd, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        self.lines = []
        self.cond = threading.Condition()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for raw in self.proc.stdout:
            with self.cond:
                self.lines.append(raw.decode(errors="replace").rstrip("\n"))
                self.cond.notify_all()
        with self.cond:
            self.lines.append(None)  # end of output
            self.cond.notify_all()

    def wait_line(self, pattern, timeout=WAIT):
        """The first match of regex `pattern` in the output, or None (output ended or timeout)."""
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        with self.cond:
            i = 0
            while True:
                while i < len(self.lines):
                    line = self.lines[i]
                    if line is None:
                        return None
                    m = rx.search(line)
                    if m:
                        return m
                    i += 1
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self.cond.wait(left)

    def finish(self, timeout=WAIT):
        """Exit status (None if it had to be killed) once the output is read to its end."""
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(WAIT)
            rc = None
        self.reader.join(WAIT)
        return rc

    def output(self):
        with self.cond:
            return "\n".join(l for l in self.lines if l is not None)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.finish()
        self.proc.stdout.close()


def pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie still answers kill 0: ask /proc.
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def port_open(port):
    with socket.socket() as s:
        s.settimeout(2)
        return s.connect_ex(("127.0.0.1", port)) == 0


class Pair:
    """src/tools/run-pair on free ports with its data in `workdir`."""

    def __init__(self, workdir, ports="0,0,0"):
        self.run_pair = Process([os.path.join(ROOT, "src", "tools", "run-pair"), build_dir(),
                                 "--ports", ports, "-Dtwinmq.base=" + workdir])
        self.pids = {}

    def wait_ready(self):
        """(master port, slave port) from the 'clients connect to' line; pids recorded."""
        m = self.run_pair.wait_line(r"^run-pair: clients connect to "
                                    r"failover:\(tcp://127\.0\.0\.1:(\d+),tcp://127\.0\.0\.1:(\d+)\)$")
        if m is None:
            raise AssertionError("run-pair never announced the pair:\n" + self.run_pair.output())
        for name in ("master", "slave"):
            p = self.run_pair.wait_line(r"^run-pair: %s pid (\d+)$" % name, 1)
            self.pids[name] = int(p.group(1))
        self.master_port, self.slave_port = int(m.group(1)), int(m.group(2))
        r = self.run_pair.wait_line(r"^\[master\] +twinmq: listening replication \S+:(\d+)$", 1)
        self.replication_port = int(r.group(1))
        return self.master_port, self.slave_port

    def hosts(self):
        return "127.0.0.1:%d,127.0.0.1:%d" % (self.master_port, self.slave_port)

    def kill_master(self):
        os.kill(self.pids["master"], signal.SIGKILL)

    def interrupt(self):
        """Ctrl-C to run-pair; its exit status."""
        self.run_pair.proc.send_signal(signal.SIGINT)
        return self.run_pair.finish(3 * WAIT)

    def close(self):
        if self.run_pair.proc.poll() is None:
            self.interrupt()
        for pid in self.pids.values():  # only if run-pair could not stop them
            if pid_alive(pid):
                os.kill(pid, signal.SIGKILL)
        self.run_pair.stop()


class ExamplesTest(unittest.TestCase):

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="twinmq-examples-")
        self.cleanups = []

    def tearDown(self):
        for c in reversed(self.cleanups):
            c()
        shutil.rmtree(self.dir, ignore_errors=True)

    def start_pair(self, ports="0,0,0"):
        pair = Pair(self.dir, ports)
        self.cleanups.append(pair.close)
        pair.wait_ready()
        return pair

    def start(self, args, cwd=None):
        p = Process(args, cwd)
        self.cleanups.append(p.stop)
        return p

    def failover_run(self, pair, consumer_args, producer_args, language):
        """Consumer and producer across a kill -9 of the master; checks what arrived."""
        consumer = self.start(consumer_args + ["--hosts", pair.hosts(), "--count", str(COUNT),
                                               "--timeout", str(2 * WAIT)])
        self.assertIsNotNone(consumer.wait_line(r"^consumer: connected to"), consumer.output())
        producer = self.start(producer_args + ["--hosts", pair.hosts(), "--count", str(COUNT),
                                               "--delay", "0.1"])
        self.assertIsNotNone(producer.wait_line(r"^producer: sent message %d " % (KILL_AFTER - 1)),
                             producer.output())
        pair.kill_master()

        self.assertEqual(producer.finish(2 * WAIT), 0, producer.output())
        self.assertEqual(consumer.finish(2 * WAIT), 0, consumer.output())
        out_p, out_c = producer.output(), consumer.output()
        self.assertIn("producer: lost 127.0.0.1:%d" % pair.master_port, out_p, language)
        self.assertIn("producer: %d messages sent, every one confirmed by a receipt" % COUNT, out_p)
        # Every receipted message (all COUNT: the producer re-sends until it has a
        # receipt) reached the consumer, and the slave delivered some of them.
        bodies = set(re.findall(r"^consumer: received (message \d+) from", out_c, re.M))
        self.assertEqual(bodies, {"message %d" % i for i in range(COUNT)}, out_c)
        summary = re.search(r"^consumer: %d distinct messages received \(\d+ more than once\); "
                            r"from each broker: (.*)$" % COUNT, out_c, re.M)
        self.assertIsNotNone(summary, out_c)
        self.assertRegex(summary.group(1), r"127\.0\.0\.1:%d [1-9]" % pair.slave_port, out_c)

        # run-pair noticed, kept the slave, and stops it cleanly on Ctrl-C.
        self.assertIsNotNone(pair.run_pair.wait_line(
            r"^run-pair: master was killed by signal 9 \(SIGKILL\)$"), pair.run_pair.output())
        self.assertIsNotNone(pair.run_pair.wait_line(r"^run-pair: the slave keeps running"))
        self.assertIsNotNone(pair.run_pair.wait_line(r"^run-pair: the slave has taken over and serves "
                                                     r"clients on 127\.0\.0\.1:%d" % pair.slave_port))
        self.assertEqual(pair.interrupt(), 0, pair.run_pair.output())
        self.assertIsNotNone(pair.run_pair.wait_line(r"^run-pair: slave exited 0 "), pair.run_pair.output())

    def test_python_examples_carry_on_across_a_master_kill(self):
        pair = self.start_pair()
        ex = os.path.join(ROOT, "examples", "python")
        self.failover_run(pair, [PY, os.path.join(ex, "consumer.py")],
                          [PY, os.path.join(ex, "producer.py")], "python")

    def test_js_examples_carry_on_across_a_master_kill(self):
        node, npm = shutil.which("node"), shutil.which("npm")
        if not node or not npm:
            self.fail("node and npm are needed for examples/js: run `make deps` "
                      "(installs Debian's nodejs and npm)")
        # A copy of the folder, as a user would have it, with stompit installed from
        # the example's package.json and package-lock.json (npm's cache serves repeats).
        src = os.path.join(ROOT, "examples", "js")
        js = os.path.join(self.dir, "js")
        shutil.copytree(src, js, ignore=shutil.ignore_patterns("node_modules"))
        install = subprocess.run([npm, "install", "--no-audit", "--no-fund", "--prefer-offline"],
                                 cwd=js, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                 timeout=120)
        self.assertEqual(install.returncode, 0, "npm install failed in a copy of examples/js:\n"
                         + install.stdout.decode(errors="replace"))
        pair = self.start_pair()
        self.failover_run(pair, [node, os.path.join(js, "consumer.js")],
                          [node, os.path.join(js, "producer.js")], "js")

    def test_demo_script_passes(self):
        demo = self.start([os.path.join(ROOT, "examples", "demo-failover.sh"), build_dir(),
                           "--count", "30", "--kill-after", "10"])
        rc = demo.finish(4 * WAIT)
        out = demo.output()
        self.assertEqual(rc, 0, out)
        self.assertRegex(out.rstrip().splitlines()[-1],
                         r"^demo: PASS: master killed after 10 receipted messages; the consumer carried "
                         r"on against the slave at 127\.0\.0\.1:\d+ and received all 30 receipted "
                         r"messages \([1-9]\d* from the slave, \d+ delivered twice\)$", out)

    def test_run_pair_refuses_a_taken_port_and_stops_both_on_ctrl_c(self):
        pair = self.start_pair()
        m, s = pair.master_port, pair.slave_port
        self.assertTrue(port_open(m))
        self.assertFalse(port_open(s), "the slave's STOMP port must stay closed while the master lives")

        # A second pair on the same ports is refused before anything starts.
        again = Process([os.path.join(ROOT, "src", "tools", "run-pair"), build_dir(),
                         "--ports", "%d,%d,%d" % (m, pair.replication_port, s),
                         "-Dtwinmq.base=" + os.path.join(self.dir, "second")])
        self.cleanups.append(again.stop)
        self.assertEqual(again.finish(), 1, again.output())
        self.assertIn("run-pair: port %d, the master's STOMP port, is already in use" % m, again.output())
        self.assertNotIn("run-pair: master pid", again.output())

        self.assertEqual(pair.interrupt(), 0, pair.run_pair.output())
        out = pair.run_pair.output()
        self.assertIn("run-pair: slave exited 0 (stopped cleanly)", out)
        self.assertIn("run-pair: master exited 0 (stopped cleanly)", out)
        # The slave is stopped first, so it never takes over from a master stopping on purpose.
        self.assertLess(out.index("run-pair: slave exited 0"), out.index("run-pair: master exited 0"))
        self.assertNotIn("PROMOTED", out)
        for name, pid in pair.pids.items():
            self.assertFalse(pid_alive(pid), "%s (pid %d) still running" % (name, pid))
        for port in (m, pair.replication_port, s):
            self.assertFalse(port_open(port), "port %d still open" % port)


if __name__ == "__main__":
    unittest.main()
