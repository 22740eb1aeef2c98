#!/usr/bin/python3
"""etcd_harness.py, the real etcd the pair's Python witness tests will start: a single
member serves and stops by pid; a three-member cluster keeps serving with a member
killed, and the member rejoins with its data; authentication is enabled through
etcdctl. A few seconds.

Run ONLY with /usr/bin/python3 (test/run_all does):
    /usr/bin/python3 test/interop/test_etcd_harness.py -v
"""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import etcd_harness as eh  # noqa: E402


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


class SingleMemberTest(unittest.TestCase):
    def test_serves_then_stops_by_pid(self):
        with eh.EtcdCluster(size=1) as etcd:
            self.assertEqual(len(etcd.endpoints()), 1)
            self.assertTrue(etcd.uri().startswith("etcd://127.0.0.1:"))
            etcd.put("/harness/key", b"\x00value")
            self.assertEqual(etcd.get("/harness/key"), b"\x00value")
            self.assertIsNone(etcd.get("/harness/missing"))
            # The tuning's minimum TTL: etcd raises a shorter one to it.
            lease, ttl = etcd.grant(1)
            self.assertNotEqual(lease, 0)
            self.assertEqual(ttl, eh.MIN_LEASE_TTL_S)
            pids = etcd.pids()
            workdir = etcd.workdir
        self.assertEqual(len(pids), 1)
        self.assertFalse(alive(pids[0]))
        self.assertFalse(os.path.exists(workdir))

    def test_auth(self):
        with eh.EtcdCluster(size=1) as etcd:
            etcd.enable_auth(user="alice", password="pw", prefix="/twinmq/")
            etcd.put("/twinmq/holder", "a", user="alice", password="pw")
            self.assertEqual(etcd.get("/twinmq/holder", user="alice", password="pw"), b"a")
            with self.assertRaises(eh.EtcdError) as anonymous:
                etcd.get("/twinmq/holder")
            self.assertIn("user name is empty", str(anonymous.exception))
            with self.assertRaises(eh.EtcdError) as wrong:
                etcd.get("/twinmq/holder", user="alice", password="wrong")
            self.assertIn("authentication failed", str(wrong.exception))
            with self.assertRaises(eh.EtcdError) as denied:
                etcd.get("/elsewhere", user="alice", password="pw")
            self.assertIn("permission denied", str(denied.exception))


class ClusterTest(unittest.TestCase):
    def test_kill_and_restart_a_member(self):
        with eh.EtcdCluster(size=3) as cluster:
            self.assertEqual(len(set(cluster.pids())), 3)
            cluster.put("/harness/holder", "before")
            first_pid = cluster.members[0].pid
            cluster.kill(0)
            self.assertFalse(alive(first_pid))
            self.assertFalse(cluster.members[0].running)
            # Two of three still make a quorum; a leader may need re-electing first.
            deadline = eh.time.monotonic() + eh.WAIT
            while True:
                try:
                    cluster.put("/harness/holder", "after")
                    break
                except eh.EtcdError:
                    if eh.time.monotonic() >= deadline:
                        raise
                    eh.time.sleep(0.01)
            cluster.restart(0)
            self.assertNotEqual(cluster.members[0].pid, first_pid)
            # A linearizable read through the restarted member alone sees the latest value.
            self.assertEqual(cluster.get("/harness/holder", member=0), b"after")
            pids = cluster.pids()
        self.assertEqual(len(pids), 3)
        for pid in pids:
            self.assertFalse(alive(pid))


if __name__ == "__main__":
    unittest.main()
