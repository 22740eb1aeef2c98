#!/usr/bin/python3
"""twinmq-resync (src/tools/twinmq-resync): the whole recovery after a failover, with
real processes on loopback, and every refusal.

The story (ResyncStoryTest): a pair serves; receipted persistent messages go in, some
are consumed and acknowledged; kill -9 of the master; the slave takes over and takes
more messages and acknowledgements; a resync while it runs is refused naming its pid;
it is stopped (SIGTERM); a dry run changes nothing; the resync copies its store over
the old master's (keeping a backup); the old master restarts with its own
configuration and serves, the slave restarts with its own and gets in sync; a client
with both brokers in its list (master first) fails back to the master and finds every
receipted message exactly once (a second copy only if flagged redelivered), and none of
the acknowledged ones.

A second story: a split (a hung master that comes back and serves alone) makes the
resync refuse, listing the old master's own events; --discard-forked-tail replaces them,
saying what it discards, and the backup keeps them. (test_resync_fork.py has the
whole story of a link cut: salvage, restart, replay.)

The refusals (ResyncRefusalTest) run against stores written by a standalone broker;
the remote form runs through a fake ssh (a script that runs the command here, for host
localhost), so the ssh + rsync path is the one tested.

Run ONLY with /usr/bin/python3 (test/run_all does):
    TWINMQ_BUILD=$PWD/build /usr/bin/python3 test/interop/test_resync.py -v
"""
import glob
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pair_harness as h  # noqa: E402

import stomp  # noqa: E402

QUEUE = "/queue/resync"


def resync(*args, env=None):
    """Runs the tool; returns (exit status, stdout, stderr)."""
    p = subprocess.run([h.resync_tool(), "--twinmq", h.twinmq_binary()] + list(args),
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                       timeout=60, env=env)
    return p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")


class Collector(stomp.ConnectionListener):
    def __init__(self):
        self.cond = threading.Condition()
        self.messages = []  # (body, headers)

    def on_message(self, frame):
        with self.cond:
            self.messages.append((frame.body, dict(frame.headers)))
            self.cond.notify_all()

    def wait_body(self, body, timeout=h.WAIT):
        with self.cond:
            return self.cond.wait_for(lambda: any(b == body for b, _ in self.messages), timeout)


class Fixture(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="twinmq-resync-")
        self.procs = []

    def tearDown(self):
        for p in self.procs:
            p.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def start(self, name, config):
        p = h.Proc(self.dir, name, config)
        self.procs.append(p)
        return p

    def path(self, *parts):
        return os.path.join(self.dir, *parts)


class ResyncStoryTest(Fixture):
    def test_failover_resync_failback_loses_and_duplicates_nothing(self):
        mstomp, mrepl, sstomp = h.free_port(), h.free_port(), h.free_port()
        master_conf = h.write_file(self.path("master.xml"), h.master_xml(self.path("master"), mstomp, mrepl))
        slave_conf = h.write_file(self.path("slave.xml"), h.slave_xml(self.path("slave"), sstomp, mrepl))

        # 1. The pair serves.
        master = self.start("master", master_conf)
        self.assertEqual(master.wait_listening("stomp"), mstomp, master.log_text())
        slave = self.start("slave", slave_conf)
        self.assertTrue(slave.wait_log("IN SYNC"), slave.log_text())

        receipted, acked = [], []
        producer = h.RawStomp(mstomp)
        for i in range(30):
            producer.send(QUEUE, "m%d" % i)  # returns once the RECEIPT came
            receipted.append("m%d" % i)
        consumer = h.RawStomp(mstomp)
        consumer.subscribe(QUEUE)
        delivered = [consumer.receive() for _ in range(10)]
        for headers, body in delivered[:5]:
            consumer.ack(headers)
            acked.append(body)
        delivered_not_acked = [body for _, body in delivered[5:]]
        self.assertTrue(os.path.exists(self.path("master", "journal", "paired")),
                        "the master should have written its pairing note")

        # 2. The master dies; the slave takes over; clients go on with it.
        master.stop(signal.SIGKILL)
        producer.sock.close()
        consumer.sock.close()
        self.assertEqual(slave.wait_listening("stomp"), sstomp, slave.log_text())
        self.assertIn("PROMOTED", slave.log_text())
        producer = h.RawStomp(sstomp)
        for i in range(30, 50):
            producer.send(QUEUE, "m%d" % i)
            receipted.append("m%d" % i)
        consumer = h.RawStomp(sstomp)
        consumer.subscribe(QUEUE)
        for _ in range(3):
            headers, body = consumer.receive()
            # After a takeover every message is flagged: the old master may have delivered it.
            self.assertEqual(headers.get("redelivered"), "true", (body, headers))
            self.assertIn(body, delivered_not_acked + receipted[10:30], "an acknowledged message came back")
            consumer.ack(headers)
            acked.append(body)
        consumer.close()
        producer.close()

        # 3. A resync while the promoted slave runs is refused, naming it.
        rc, out, err = resync("--from", self.path("slave"), "--to", self.path("master"))
        self.assertEqual(rc, 1, out + err)
        self.assertIn("stop the broker (pid %d) first" % slave.pid, err)

        # 4. The operator stops it in a quiet window.
        self.assertEqual(slave.stop(signal.SIGTERM), 0, slave.log_text())
        before_master = h.tree_snapshot(self.path("master"))
        before_slave = h.tree_snapshot(self.path("slave"))
        old_master_journal = h.contents(self.path("master", "journal"))

        # 5. The dry run checks everything and changes nothing.
        rc, out, err = resync("--from", self.path("slave"), "--to", self.path("master"), "--dry-run")
        self.assertEqual(rc, 0, out + err)
        self.assertIn("dry run: nothing was changed", out)
        self.assertEqual(h.tree_snapshot(self.path("master")), before_master)
        self.assertEqual(h.tree_snapshot(self.path("slave")), before_slave)

        # 6. The resync.
        rc, out, err = resync("--from", self.path("slave"), "--to", self.path("master"),
                              "--master-config", master_conf, "--slave-config", slave_conf)
        self.assertEqual(rc, 0, out + err)
        self.assertIn("%s --config %s" % (h.twinmq_binary(), master_conf), out)
        self.assertIn("%s --config %s" % (h.twinmq_binary(), slave_conf), out)
        self.assertLess(out.index("--config " + master_conf), out.index("--config " + slave_conf))
        self.assertEqual(h.contents(self.path("slave")),
                         {k: v[3] for k, v in before_slave.items()
                          if v[3] is not None and os.path.basename(k) != "lock"}, "the source is left as it was")
        copied = h.contents(self.path("master", "journal"))
        source = h.contents(self.path("slave", "journal"), skip=("lock", "paired"))
        self.assertEqual(copied, source, "the old master's store is now the promoted slave's")
        self.assertNotIn("paired", copied)
        backups = glob.glob(self.path("master", "journal.before-resync-*"))
        self.assertEqual(len(backups), 1, os.listdir(self.path("master")))
        self.assertEqual(h.contents(backups[0]), old_master_journal, "the backup holds the old store as it was")
        self.assertEqual(glob.glob(self.path("master", ".journal.resync-*")), [], "no temporary directory left")
        rc, vout, _ = h.verify_store(self.path("master", "journal"))
        self.assertEqual(rc, 0, vout)
        self.assertIn("epoch        1\n", vout)

        # 7. Restart: the old master (its own configuration, the copied data) serves...
        master = self.start("master2", master_conf)
        self.assertEqual(master.wait_listening("stomp"), mstomp, master.log_text())
        self.assertNotIn("CLOSED", master.log_text())
        # ... then the slave (its own configuration) attaches and gets in sync.
        slave = self.start("slave2", slave_conf)
        self.assertTrue(slave.wait_log("IN SYNC"), slave.log_text() + master.log_text())
        status = subprocess.run([h.twinmq_binary(), "status", "--config", slave_conf], stdout=subprocess.PIPE,
                                timeout=h.WAIT).stdout.decode()
        self.assertIn("role: slave", status)
        self.assertIn("in sync: yes", status)
        self.assertIn("client connectors: closed", status)

        # 8. A client listing both brokers, master first, fails back to the master and finds
        # every receipted message once (a second copy only if flagged redelivered), none of
        # the acknowledged ones. A last message sent after them marks the end of the queue.
        listener = Collector()
        conn = stomp.Connection([("127.0.0.1", mstomp), ("127.0.0.1", sstomp)], reconnect_attempts_max=3)
        conn.set_listener("", listener)
        conn.connect(wait=True)
        conn.subscribe(QUEUE, id="1", ack="auto")
        conn.send(QUEUE, "end", headers={"persistent": "true"})
        self.assertTrue(listener.wait_body("end"), listener.messages)
        conn.disconnect()

        got = [(b, hd) for b, hd in listener.messages if b != "end"]
        bodies = [b for b, _ in got]
        want = [m for m in receipted if m not in acked]
        self.assertEqual(sorted(set(bodies)), sorted(want), "receipted and not acknowledged, each present")
        for body in set(bodies):
            copies = [hd for b, hd in got if b == body]
            for extra in copies[1:]:
                self.assertEqual(extra.get("redelivered"), "true", "duplicate of %s not flagged" % body)

    def test_after_a_split_the_old_masters_own_writes_are_named_and_kept_in_the_backup(self):
        """A hung master (SIGSTOP) lets the slave take over; thawed, it serves alone
        (minimumReplicas 0) and takes a message the promoted slave never sees. The resync
        refuses, naming exactly that event; --discard-forked-tail replaces it, saying so,
        and the backup keeps it."""
        mstomp, mrepl, sstomp = h.free_port(), h.free_port(), h.free_port()
        master = self.start("master", h.write_file(self.path("master.xml"),
                                                   h.master_xml(self.path("master"), mstomp, mrepl)))
        self.assertEqual(master.wait_listening("stomp"), mstomp, master.log_text())
        slave = self.start("slave", h.write_file(self.path("slave.xml"),
                                                 h.slave_xml(self.path("slave"), sstomp, mrepl)))
        self.assertTrue(slave.wait_log("IN SYNC"), slave.log_text())
        c = h.RawStomp(mstomp)
        c.send(QUEUE, "before")
        master.proc.send_signal(signal.SIGSTOP)
        try:
            self.assertEqual(slave.wait_listening("stomp"), sstomp, slave.log_text())
        finally:
            master.proc.send_signal(signal.SIGCONT)
        self.assertTrue(master.wait_log("lost"), master.log_text())
        c.send(QUEUE, "only-on-the-old-master")  # receipted: the master serves alone now
        c.close()
        self.assertEqual(master.stop(), 0, master.log_text())
        self.assertEqual(slave.stop(), 0, slave.log_text())
        before = h.contents(self.path("master"))
        rc, out, err = resync("--from", self.path("slave"), "--to", self.path("master"))
        self.assertEqual(rc, 1, out + err)
        self.assertIn("holds 1 event after it that the promoted slave never had", out)
        self.assertIn("/queue/resync: 1 message enqueued", out)
        self.assertIn("--salvage", err)
        self.assertIn("--discard-forked-tail", err)
        self.assertEqual(h.contents(self.path("master")), before, "a refusal changes nothing")
        rc, out, err = resync("--from", self.path("slave"), "--to", self.path("master"), "--discard-forked-tail")
        self.assertEqual(rc, 0, out + err)
        self.assertIn("DISCARDING the old master's 1 event(s) after seq", out)
        self.assertIn("They stay in the backup", out)
        backup = glob.glob(self.path("master", "journal.before-resync-*"))
        self.assertEqual(len(backup), 1)
        _, report, _ = h.verify_store(backup[0])
        self.assertIn("/queue/resync                            2", report)


class ResyncRefusalTest(Fixture):
    """Stores written by a standalone broker: `a` and `b` share a store identity and epoch,
    `a` holds `ahead` more messages than `b`."""

    def make_store(self, name, messages):
        conf = h.write_file(self.path(name + ".xml"), h.standalone_xml(self.path(name)))
        broker = self.start(name, conf)
        port = broker.wait_listening("stomp")
        self.assertIsNotNone(port, broker.log_text())
        c = h.RawStomp(port)
        for m in messages:
            c.send(QUEUE, m)
        c.close()
        self.assertEqual(broker.stop(), 0, broker.log_text())
        return conf

    def pair_of_stores(self, ahead=3):
        self.make_store("a", ["x%d" % i for i in range(5)])
        shutil.copytree(self.path("a"), self.path("b"), symlinks=True)
        self.make_store("a", ["y%d" % i for i in range(ahead)])

    def assertRefused(self, result, *needles):
        rc, out, err = result
        self.assertEqual(rc, 1, out + err)
        self.assertIn("REFUSED", err)
        self.assertIn("what to do:", err)
        for n in needles:
            self.assertIn(n, err)

    def drain(self, name):
        """Every message of QUEUE in the store `name`, read by a broker started on it."""
        broker = self.start(name + "-reader", h.write_file(self.path(name + "-reader.xml"),
                                                           h.standalone_xml(self.path(name))))
        port = broker.wait_listening("stomp")
        self.assertIsNotNone(port, broker.log_text())
        c = h.RawStomp(port)
        c.send(QUEUE, "end")
        c.subscribe(QUEUE, ack="auto")
        bodies = []
        while True:
            _, body = c.receive()
            if body == "end":
                break
            bodies.append(body)
        c.close()
        self.assertEqual(broker.stop(), 0)
        return bodies

    def fake_ssh(self, stall_rsync=False):
        self.ssh_log = self.path("fake-ssh.log")
        return h.fake_ssh(self.dir, stall_rsync)

    def ssh_commands(self):
        """What the fake ssh was asked to run so far."""
        return h.ssh_commands(self.dir)

    def test_usage_errors_exit_2(self):
        self.assertEqual(resync()[0], 2)
        self.assertEqual(resync("--from", "x")[0], 2)
        rc, _, err = resync("--from", "h1:/a", "--to", "h2:/b")
        self.assertEqual(rc, 2)
        self.assertIn("both remote", err)

    def test_the_stores_named_by_the_configurations(self):
        # What an operator has at hand: the two brokers' configurations (their dataDirectory).
        self.pair_of_stores()
        a_conf = self.path("a.xml")
        b_conf = h.write_file(self.path("b.xml"), h.standalone_xml(self.path("b")))
        rc, out, err = resync("--slave-config", a_conf, "--master-config", b_conf, "--dry-run")
        self.assertEqual(rc, 0, out + err)
        self.assertIn("from %s" % self.path("a", "journal"), out)
        self.assertIn("to   %s" % self.path("b", "journal"), out)
        self.assertIn("dry run: nothing was changed", out)
        # --from wins over --slave-config (which then only names the restart command).
        rc, out, err = resync("--from", self.path("a"), "--slave-config", b_conf, "--master-config", b_conf,
                              "--dry-run")
        self.assertEqual(rc, 0, out + err)
        self.assertIn("from %s" % self.path("a"), out)
        # A configuration twinmq refuses is refused with its FILE:LINE.
        bad = h.write_file(self.path("bad.xml"), '<broker brokerName="x" dataDirectory="/tmp" persistnt="true"/>\n')
        self.assertRefused(resync("--slave-config", bad, "--master-config", b_conf), "--slave-config " + bad,
                           bad + ":1:", "--check-config")
        rc, _, err = resync("--slave-config", a_conf)
        self.assertEqual(rc, 2)
        self.assertIn("--master-config FILE", err)

    def test_missing_or_foreign_directories_are_refused(self):
        self.pair_of_stores()
        self.assertRefused(resync("--from", self.path("nope"), "--to", self.path("b")), "does not exist")
        self.assertRefused(resync("--from", self.path("a"), "--to", self.path("nope")), "does not exist",
                           "mkdir -p")
        os.mkdir(self.path("other"))
        h.write_file(self.path("other", "readme"), "not a store")
        self.assertRefused(resync("--from", self.path("other"), "--to", self.path("b")),
                           "not a twinmq data directory")
        self.assertRefused(resync("--from", self.path("a"), "--to", self.path("other")),
                           "not a twinmq data directory")

    def test_the_same_directory_twice_is_refused(self):
        self.pair_of_stores()
        self.assertRefused(resync("--from", self.path("a"), "--to", self.path("a", "journal")), "same store")

    def test_a_running_broker_on_the_destination_is_refused_naming_its_pid(self):
        self.pair_of_stores()
        before = h.tree_snapshot(self.path("a"))
        broker = self.start("b-running", h.write_file(self.path("b-run.xml"), h.standalone_xml(self.path("b"))))
        self.assertIsNotNone(broker.wait_listening("stomp"), broker.log_text())
        self.assertRefused(resync("--from", self.path("a"), "--to", self.path("b")),
                           "stop the broker (pid %d) first" % broker.pid)
        self.assertEqual(h.tree_snapshot(self.path("a")), before)
        self.assertEqual(broker.stop(), 0)

    def test_a_corrupt_source_is_refused_and_nothing_is_copied(self):
        self.pair_of_stores()
        segments = sorted(glob.glob(self.path("a", "journal", "*.seg")) or
                          [p for p in glob.glob(self.path("a", "journal", "*")) if os.path.getsize(p) > 200])
        self.assertTrue(segments, os.listdir(self.path("a", "journal")))
        with open(segments[0], "r+b") as f:  # a byte inside the first record
            f.seek(100)
            byte = f.read(1)
            f.seek(100)
            f.write(bytes([byte[0] ^ 0xFF]))
        before = h.tree_snapshot(self.path("b"))
        self.assertRefused(resync("--from", self.path("a"), "--to", self.path("b")),
                           "failed verify-store", "Nothing was copied")
        self.assertEqual(h.tree_snapshot(self.path("b")), before)

    def test_an_older_source_is_refused_unless_forced(self):
        self.pair_of_stores()
        self.assertRefused(resync("--from", self.path("b"), "--to", self.path("a")), "source is behind", "--force")
        # Forced, the destination's own messages are still not dropped without a word.
        self.assertRefused(resync("--from", self.path("b"), "--to", self.path("a"), "--force"),
                           "holds 3 event(s) after the histories forked", "--discard-forked-tail")
        rc, out, err = resync("--from", self.path("b"), "--to", self.path("a"), "--force", "--discard-forked-tail")
        self.assertEqual(rc, 0, out + err)
        self.assertEqual(sorted(self.drain("a")), ["x%d" % i for i in range(5)])

    def test_another_store_is_refused(self):
        self.pair_of_stores()
        self.make_store("c", ["z"])
        self.assertRefused(resync("--from", self.path("c"), "--to", self.path("b")), "different stores")

    def test_backup_dir_and_an_empty_destination(self):
        self.pair_of_stores()
        os.mkdir(self.path("backups"))
        rc, out, err = resync("--from", self.path("a"), "--to", self.path("b"), "--backup-dir", self.path("backups"))
        self.assertEqual(rc, 0, out + err)
        self.assertEqual(len(glob.glob(self.path("backups", "journal.before-resync-*"))), 1)
        self.assertIn("<the old master's configuration", out)  # no --master-config: a placeholder
        # A new disk: the store goes into the empty directory given (here <dataDirectory>/journal).
        os.makedirs(self.path("fresh", "journal"))
        rc, out, err = resync("--from", self.path("a"), "--to", self.path("fresh", "journal"))
        self.assertEqual(rc, 0, out + err)
        self.assertEqual(sorted(self.drain("fresh")), sorted(["x%d" % i for i in range(5)] +
                                                             ["y%d" % i for i in range(3)]))

    def test_remote_source_and_remote_destination_over_ssh_and_rsync(self):
        self.pair_of_stores()
        ssh = self.fake_ssh()
        want = sorted(["x%d" % i for i in range(5)] + ["y%d" % i for i in range(3)])
        remote = ["--rsh", ssh, "--remote-twinmq", h.twinmq_binary()]
        # Pulling from the promoted machine onto this one.
        shutil.copytree(self.path("b"), self.path("b2"), symlinks=True)
        rc, out, err = resync("--from", "operator@localhost:" + self.path("a"), "--to", self.path("b"), *remote)
        self.assertEqual(rc, 0, out + err)
        log = self.ssh_commands()
        self.assertIn("python3 -c", log)
        self.assertIn("rsync --server", log)
        self.assertIn("(host localhost)", out)
        self.assertEqual(sorted(self.drain("b")), want)
        # Pushing from this machine onto the old master's.
        os.remove(self.ssh_log)
        rc, out, err = resync("--from", self.path("a"), "--to", "localhost:" + self.path("b2"), *remote)
        self.assertEqual(rc, 0, out + err)
        self.assertIn("rsync --server", self.ssh_commands())
        self.assertEqual(len(glob.glob(self.path("b2", "journal.before-resync-*"))), 1)
        self.assertEqual(sorted(self.drain("b2")), want)
        # A remote side whose host cannot be reached: refused with ssh's reason.
        self.assertRefused(resync("--from", "elsewhere:" + self.path("a"), "--to", self.path("b2"), *remote),
                           "unknown host")

    def test_an_interrupted_copy_leaves_the_old_master_untouched(self):
        self.pair_of_stores()
        ssh = self.fake_ssh(stall_rsync=True)
        before = h.contents(self.path("b"))
        tool = subprocess.Popen([h.resync_tool(), "--twinmq", h.twinmq_binary(), "--rsh", ssh,
                                 "--remote-twinmq", h.twinmq_binary(),
                                 "--from", "localhost:" + self.path("a"), "--to", self.path("b")],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
        try:
            # Wait (bounded) until the copy has started, then stop the tool as an operator would.
            stalled = False
            deadline = time.time() + h.WAIT
            while not stalled and time.time() < deadline and tool.poll() is None:
                stalled = "rsync --server" in self.ssh_commands()
                time.sleep(0.02)
            self.assertTrue(stalled, "the copy never started")
            self.assertNotEqual(glob.glob(self.path("b", ".journal.resync-*")), [], (os.listdir(self.path("b")), tool.poll()))
            tool.send_signal(signal.SIGTERM)
            out, err = tool.communicate(timeout=h.WAIT)
        finally:
            if tool.poll() is None:
                tool.kill()
                tool.wait()
        self.assertEqual(tool.returncode, 1, out + err)
        self.assertIn(b"interrupted", err)
        self.assertEqual(h.contents(self.path("b")), before, "the old master's store is as it was")
        self.assertEqual(glob.glob(self.path("b", ".journal.resync-*")), [], "the partial copy is removed")
        self.assertEqual(glob.glob(self.path("b", "journal.before-resync-*")), [])
        # And the locks went with the tool: a broker starts on either store.
        self.assertEqual(sorted(self.drain("b")), ["x%d" % i for i in range(5)])


if __name__ == "__main__":
    unittest.main()
