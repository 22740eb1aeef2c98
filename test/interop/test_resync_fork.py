#!/usr/bin/python3
"""A link cut without a witness, with real processes on loopback: both brokers serve,
and recovery must not destroy what the old master confirmed after the histories forked
(README "Recovering the pair after a failover", "When both served: the forked tail").

The fork is made once per run (ForkedStores.setUpClass): a pair (README's defaults,
minimumReplicas 0) whose replication link runs through pair_harness.LinkProxy; the proxy
freezes (bytes stop both ways, sockets stay open), the slave takes over after its link
timeout and the master, having lost its slave, serves alone; receipted persistent
messages then go to BOTH brokers; both are stopped. Each test works on its own copy of
the two stopped stores.

ForkStoryTest: twinmq-resync refuses, naming the destination and the count; with
--salvage FILE it copies, and FILE holds exactly the messages the old master confirmed
after the fork; the pair restarts as the README says (master, then slave);
`twinmq replay FILE --to failover:(...)` sends them; a consumer then finds every message
either broker ever receipted exactly once (the replayed ones included).

ForkOptionsTest: --discard-forked-tail, --dry-run, a salvage file that cannot be
written, a destination with nothing after the fork, the remote form (through a fake
ssh), compare-stores' exit codes, and replay's refusals (not a salvage file; a second
run after a first one) and --skip.

Run ONLY with /usr/bin/python3 (test/run_all does):
    TWINMQ_BUILD=$PWD/build /usr/bin/python3 test/interop/test_resync_fork.py -v
"""
import glob
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pair_harness as h  # noqa: E402

QUEUE = "/queue/orders"
OTHER = "/queue/audit"


def run(*cmd):
    p = subprocess.run(list(cmd), stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                       timeout=60)
    return p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")


def resync(*args):
    return run(h.resync_tool(), "--twinmq", h.twinmq_binary(), *args)


def twinmq(*args):
    return run(h.twinmq_binary(), *args)


def copy_data_dir(src, dst):
    shutil.copytree(src, dst, symlinks=True, ignore=lambda _d, names: [n for n in names if n == "lock"])


def read_salvage(path):
    """The frames of a salvage file: [(command, {header: value}, body bytes)]."""
    with open(path, "rb") as f:
        data = f.read()
    frames = []
    while data.strip(b"\n"):
        data = data.lstrip(b"\n")
        head, _, rest = data.partition(b"\n\n")
        lines = head.decode().split("\n")
        headers = {}
        for line in lines[1:]:
            k, _, v = line.partition(":")
            headers.setdefault(k, v)
        if "content-length" in headers:
            n = int(headers["content-length"])
            body, data = rest[:n], rest[n + 1:]
        else:
            body, _, data = rest.partition(b"\0")
        frames.append((lines[0], headers, body))
    return frames


def drain(port, marker="end"):
    """Every message on QUEUE and OTHER, in arrival order, up to a marker sent last."""
    producer = h.RawStomp(port)
    producer.send(OTHER, marker)
    producer.send(QUEUE, marker)
    producer.close()
    consumer = h.RawStomp(port)
    got, ends = [], 0
    consumer.subscribe(QUEUE, sub_id="q", ack="auto")
    consumer.subscribe(OTHER, sub_id="o", ack="auto")
    while ends < 2:
        headers, body = consumer.receive()
        if body == marker:
            ends += 1
        else:
            got.append((headers, body))
    consumer.close()
    return got


class ForkedStores(unittest.TestCase):
    """The fork, made once: `cls.base` holds master/ and slave/ (stopped), and the lists
    of what each broker receipted."""

    @classmethod
    def setUpClass(cls):
        cls.base = tempfile.mkdtemp(prefix="twinmq-fork-base-")
        procs, proxy = [], None
        try:
            master = h.Proc(cls.base, "master", h.write_file(os.path.join(cls.base, "master.xml"),
                                                             h.master_xml(os.path.join(cls.base, "master"), 0, 0)))
            procs.append(master)
            mport, rport = master.wait_listening("stomp"), master.wait_listening("replication")
            assert mport and rport, master.log_text()
            proxy = h.LinkProxy(rport)
            sport = h.free_port()
            slave = h.Proc(cls.base, "slave", h.write_file(os.path.join(cls.base, "slave.xml"),
                                                           h.slave_xml(os.path.join(cls.base, "slave"), sport,
                                                                       proxy.port)))
            procs.append(slave)
            assert slave.wait_log("IN SYNC"), slave.log_text()

            # While the pair is in sync: every receipt waits for both journals.
            c = h.RawStomp(mport)
            cls.before = ["before-%d" % i for i in range(5)]
            for body in cls.before:
                c.send(QUEUE, body)

            # The cable is cut without either side being told.
            proxy.freeze()
            assert slave.wait_listening("stomp") == sport, slave.log_text()
            assert master.wait_log("serves ALONE"), master.log_text()

            # Both serve. The old master confirms its own: a plain one, one with a header
            # that needs escaping and a binary body, and one on a queue only it has.
            cls.old_master = ["old-master-%d" % i for i in range(3)]
            for body in cls.old_master:
                c.send(QUEUE, body)
            c.request("SEND", {"destination": QUEUE, "persistent": "true", "priority": "7",
                               "x-note": "a\\cb\\nc"}, b"bin\0ary")
            cls.old_master.append("bin\0ary")
            c.send(OTHER, "old-master-audit")
            cls.old_master.append("old-master-audit")
            c.close()
            p = h.RawStomp(sport)
            cls.promoted = ["promoted-%d" % i for i in range(4)]
            for body in cls.promoted:
                p.send(QUEUE, body)
            p.close()
            assert master.stop() == 0, master.log_text()
            assert slave.stop() == 0, slave.log_text()
        except BaseException:
            shutil.rmtree(cls.base, ignore_errors=True)
            raise
        finally:
            for proc in procs:
                proc.close()
            if proxy is not None:
                proxy.close()

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.base, ignore_errors=True)

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="twinmq-fork-")
        self.procs = []
        copy_data_dir(os.path.join(self.base, "master"), self.path("master"))
        copy_data_dir(os.path.join(self.base, "slave"), self.path("slave"))

    def tearDown(self):
        for p in self.procs:
            p.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def path(self, *parts):
        return os.path.join(self.dir, *parts)

    def start(self, name, config):
        p = h.Proc(self.dir, name, config)
        self.procs.append(p)
        return p

    def standalone(self, name):
        """A standalone broker on store `name` (port from its readiness line)."""
        broker = self.start(name + "-broker", h.write_file(self.path(name + ".xml"), h.standalone_xml(self.path(name))))
        port = broker.wait_listening("stomp")
        self.assertIsNotNone(port, broker.log_text())
        return broker, port


class ForkStoryTest(ForkedStores):
    def test_refused_then_salvaged_restarted_and_replayed_loses_and_duplicates_nothing(self):
        before_master = h.contents(self.path("master"))

        # 1. The resync refuses, naming what the old master holds after the fork.
        rc, out, err = resync("--from", self.path("slave"), "--to", self.path("master"))
        self.assertEqual(rc, 1, out + err)
        self.assertIn("the old master's store holds 6 events after it that the promoted slave never had", out)
        self.assertIn("%s: 4 messages enqueued" % QUEUE, out)
        self.assertIn("4 still queued at its end", out)
        self.assertIn("%s: 1 message enqueued" % OTHER, out)
        self.assertIn("destination added: %s" % OTHER, out)
        self.assertIn("accepted (a receipt may have been sent)", out)
        self.assertIn("REFUSED: the old master's store holds 6 event(s)", err)
        self.assertIn("among them 5 live message(s)", err)
        self.assertIn("--salvage " + self.path("master", "forked-tail-"), err)
        self.assertIn(" replay " + self.path("master", "forked-tail-"), err)
        self.assertIn("--discard-forked-tail", err)
        self.assertEqual(h.contents(self.path("master")), before_master, "a refusal changes nothing")

        # 2. With --salvage: the file first, then the copy.
        salvage = self.path("tail.stomp")
        mstomp, mrepl, sstomp = h.free_port(), h.free_port(), h.free_port()
        master_conf = h.write_file(self.path("master.xml"), h.master_xml(self.path("master"), mstomp, mrepl))
        slave_conf = h.write_file(self.path("slave.xml"), h.slave_xml(self.path("slave"), sstomp, mrepl))
        rc, out, err = resync("--from", self.path("slave"), "--to", self.path("master"), "--salvage", salvage,
                              "--master-config", master_conf, "--slave-config", slave_conf)
        self.assertEqual(rc, 0, out + err)
        self.assertIn("wrote 5 messages", out)
        self.assertIn("swapped:", out)
        replay_line = [l.strip() for l in out.splitlines() if " replay " in l]
        self.assertEqual(replay_line, ["%s replay %s --to 'failover:(tcp://127.0.0.1:%d,tcp://127.0.0.1:%d)"
                                       "?randomize=false'" % (h.twinmq_binary(), salvage, mstomp, sstomp)], out)
        self.assertLess(out.index("--config " + slave_conf), out.index(" replay "))

        # The file holds exactly what the old master confirmed after the fork, in order.
        frames = read_salvage(salvage)
        self.assertEqual(frames[0][0], "TWINMQ-SALVAGE")
        self.assertEqual(frames[0][1]["messages"], "5")
        sends = frames[1:]
        self.assertEqual([cmd for cmd, _, _ in sends], ["SEND"] * 5)
        self.assertEqual([b.decode() for _, _, b in sends], self.old_master)
        self.assertEqual([hd["destination"] for _, hd, _ in sends], [QUEUE] * 4 + [OTHER])
        self.assertTrue(all(hd["persistent"] == "true" and hd["twinmq-salvaged-from"].startswith("ID\\c")
                            for _, hd, _ in sends))
        self.assertEqual(sends[3][1]["x-note"], "a\\cb\\nc")
        self.assertEqual(sends[3][1]["priority"], "7")

        # 3. The pair restarts as the README says: master first, then the slave.
        master = self.start("master2", master_conf)
        self.assertEqual(master.wait_listening("stomp"), mstomp, master.log_text())
        slave = self.start("slave2", slave_conf)
        self.assertTrue(slave.wait_log("IN SYNC"), slave.log_text() + master.log_text())

        # 4. The salvaged messages go back to the pair, each with a receipt.
        uri = "failover:(tcp://127.0.0.1:%d,tcp://127.0.0.1:%d)?randomize=false" % (mstomp, sstomp)
        rc, out, err = twinmq("replay", salvage, "--to", uri)
        self.assertEqual(rc, 0, out + err)
        self.assertIn("sent 5, confirmed 5", out)

        # 5. Every message either broker ever receipted, exactly once.
        got = drain(mstomp)
        bodies = sorted(body for _, body in got)
        self.assertEqual(bodies, sorted(self.before + self.promoted + self.old_master))
        replayed = [hd for hd, body in got if body in self.old_master]
        self.assertTrue(all("twinmq-salvaged-from" in hd for hd in replayed), replayed)
        note = [hd for hd, body in got if body == "bin\0ary"][0]
        self.assertEqual(note.get("x-note"), "a\\cb\\nc")  # as the broker re-escapes it
        self.assertEqual(note.get("priority"), "7")


class ForkOptionsTest(ForkedStores):
    def test_discard_forked_tail_proceeds_and_says_what_it_discarded(self):
        old = h.contents(self.path("master", "journal"))
        rc, out, err = resync("--from", self.path("slave"), "--to", self.path("master"), "--discard-forked-tail")
        self.assertEqual(rc, 0, out + err)
        self.assertIn("DISCARDING the old master's 6 event(s)", out)
        self.assertIn("5 live message(s)", out)
        self.assertIn("They stay in the backup", out)
        backups = glob.glob(self.path("master", "journal.before-resync-*"))
        self.assertEqual(len(backups), 1)
        self.assertEqual(h.contents(backups[0]), old, "the backup keeps the discarded tail")
        self.assertEqual(h.contents(self.path("master", "journal")),
                         h.contents(self.path("slave", "journal"), skip=("lock", "paired")))

    def test_dry_run_shows_the_listing_and_changes_nothing(self):
        before = h.tree_snapshot(self.dir)
        rc, out, err = resync("--from", self.path("slave"), "--to", self.path("master"), "--dry-run")
        self.assertEqual(rc, 1, out + err)  # what the real run would do: refuse
        self.assertIn("%s: 4 messages enqueued" % QUEUE, out)
        self.assertIn("REFUSED", err)
        rc, out, err = resync("--from", self.path("slave"), "--to", self.path("master"), "--dry-run",
                              "--salvage", self.path("tail.stomp"))
        self.assertEqual(rc, 0, out + err)
        self.assertIn("1. salvage the old master's 5 live message(s) after seq", out)
        self.assertIn("dry run: nothing was changed", out)
        self.assertIn(" replay " + self.path("tail.stomp"), out)
        self.assertEqual(h.tree_snapshot(self.dir), before)

    def test_a_salvage_file_that_cannot_be_written_stops_the_resync(self):
        before = h.contents(self.path("master"))
        h.write_file(self.path("taken.stomp"), "an earlier salvage")
        rc, out, err = resync("--from", self.path("slave"), "--to", self.path("master"), "--salvage",
                              self.path("taken.stomp"))
        self.assertEqual(rc, 1, out + err)
        self.assertIn("exists already: a salvage file is never replaced", err)
        rc, out, err = resync("--from", self.path("slave"), "--to", self.path("master"), "--salvage",
                              self.path("master", "journal", "tail.stomp"))
        self.assertEqual(rc, 2, out + err)
        self.assertIn("inside the old master's store", err)
        rc, out, err = resync("--from", self.path("slave"), "--to", self.path("master"), "--salvage",
                              self.path("nodir", "tail.stomp"))
        self.assertEqual(rc, 1, out + err)
        self.assertIn("does not exist", err)
        self.assertEqual(h.contents(self.path("master")), before)

    def test_nothing_after_the_fork_resyncs_as_before_without_a_listing(self):
        # The promoted slave's own store as the destination's history: a copy of it
        # holds nothing the source lacks.
        shutil.rmtree(self.path("master"))
        copy_data_dir(self.path("slave"), self.path("master"))
        broker, port = self.standalone("slave")  # the promoted side goes on alone
        c = h.RawStomp(port)
        c.send(QUEUE, "later")
        c.close()
        self.assertEqual(broker.stop(), 0)
        rc, out, err = resync("--from", self.path("slave"), "--to", self.path("master"), "--force")
        self.assertEqual(rc, 0, out + err)
        self.assertIn("holds nothing after seq", out)
        self.assertNotIn("enqueued", out)
        self.assertNotIn("REFUSED", err)

    def test_remote_source_compares_through_its_history(self):
        ssh = h.fake_ssh(self.dir)
        rc, out, err = resync("--from", "localhost:" + self.path("slave"), "--to", self.path("master"),
                              "--rsh", ssh, "--remote-twinmq", h.twinmq_binary())
        self.assertEqual(rc, 1, out + err)
        self.assertIn("python3 -c", h.ssh_commands(self.dir))  # the source's agent sent its history
        self.assertIn("%s: 4 messages enqueued" % QUEUE, out)
        self.assertIn("REFUSED: the old master's store holds 6 event(s)", err)
        # Pushing onto a remote old master: the salvage file is written there.
        rc, out, err = resync("--from", self.path("slave"), "--to", "localhost:" + self.path("master"),
                              "--rsh", ssh, "--remote-twinmq", h.twinmq_binary(),
                              "--salvage", self.path("remote.stomp"))
        self.assertEqual(rc, 0, out + err)
        self.assertEqual(len(read_salvage(self.path("remote.stomp"))), 6)

    def test_compare_stores_exit_codes_and_json(self):
        rc, out, err = twinmq("compare-stores", "--json", self.path("slave"), self.path("master"))
        self.assertEqual(rc, 1, out + err)
        report = json.loads(out)
        self.assertEqual(report["b_after_fork"]["messages_live"], 5)
        self.assertTrue(report["fork"]["exact"])
        fork = report["fork"]["seq"]
        rc, out, err = twinmq("compare-stores", self.path("master"), self.path("slave"))
        self.assertEqual(rc, 1, out + err)  # the other way round: the promoted side's 4 are B's tail
        self.assertIn("enqueued  4 messages", out)
        rc, out, err = twinmq("compare-stores", self.path("slave"), self.path("slave"))
        self.assertEqual(rc, 0, out + err)
        rc, out, err = twinmq("compare-stores", self.path("slave"), self.path("nowhere"))
        self.assertEqual(rc, 2, out + err)
        rc, out, err = twinmq("salvage", "--from", self.path("master"), "--fork-seq", str(fork),
                              "--out", self.path("by-hand.stomp"))
        self.assertEqual(rc, 0, out + err)
        self.assertEqual(len(read_salvage(self.path("by-hand.stomp"))), 6)

    def test_replay_refuses_what_is_not_a_salvage_file_and_a_second_run(self):
        salvage = self.path("tail.stomp")
        rc, out, err = twinmq("salvage", "--from", self.path("master"), "--fork-seq",
                              str(json.loads(twinmq("compare-stores", "--json", self.path("slave"),
                                                    self.path("master"))[1])["fork"]["seq"]),
                              "--out", salvage)
        self.assertEqual(rc, 0, out + err)
        broker, port = self.standalone("fresh")
        to = "tcp://127.0.0.1:%d" % port
        rc, out, err = twinmq("replay", self.path("fresh.xml"), "--to", to)
        self.assertEqual(rc, 2, out + err)
        self.assertIn("not a salvage file", err)
        rc, out, err = twinmq("replay", salvage, "--to", to, "--skip", "2")
        self.assertEqual(rc, 0, out + err)
        self.assertIn("sent 3, confirmed 3", out)
        # A second run would send the confirmed ones again: refused, with both choices.
        rc, out, err = twinmq("replay", salvage, "--to", to)
        self.assertEqual(rc, 1, out + err)
        self.assertIn("REFUSED: an earlier replay", err)
        self.assertIn("--skip 0", err)
        rc, out, err = twinmq("replay", salvage, "--to", to, "--skip", "0")
        self.assertEqual(rc, 0, out + err)
        got = drain(port)
        self.assertEqual(sorted(b for _, b in got), sorted(self.old_master[2:] + self.old_master))
        self.assertEqual(broker.stop(), 0)
        # A broker that is not there: nothing is sent, and the output says so.
        rc, out, err = twinmq("replay", salvage, "--to", to, "--skip", "0", "--timeout", "1")
        self.assertEqual(rc, 1, out + err)
        self.assertIn("Nothing was sent", err)


if __name__ == "__main__":
    unittest.main()
