#!/usr/bin/python3
"""pair-failover-time: how long a twinmq pair takes to fail over after kill -9.

For each round: a fresh master and slave (temporary data directories, loopback, the
master on ports the OS picks, the slave's STOMP port picked free up front), wait until
the slave is in sync, send N persistent messages with a receipt for the last, kill -9
the master, then poll the slave's STOMP port (connect + CONNECT, every millisecond)
until it answers CONNECTED. Prints every round and the median.

With --witness the pair gets a <witness> (a real etcd this tool starts on free loopback
ports, data in the round's temporary directory; /usr/bin/etcd from Debian's
etcd-server): the slave then takes over only once the master's lease is gone. With
--fault isolate (witness only) the master is not killed but cut off from the slave and
from etcd (both through a proxy that stops forwarding and keeps its sockets open), and
the tool also reports when a client connected to the master got its ERROR.

    src/tools/pair-failover-time.py [--twinmq build/twinmq] [--rounds 10] [--messages 100]
                                    [--witness [--lease-ms 3000] [--fault kill|isolate]]
"""
import argparse
import os
import select
import shutil
import signal
import socket
import statistics
import subprocess
import tempfile
import threading
import time

WAIT = 15.0


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def start(twinmq, workdir, name, xml):
    path = os.path.join(workdir, name + ".xml")
    with open(path, "w") as f:
        f.write(xml)
    log = open(os.path.join(workdir, name + ".log"), "wb")
    return subprocess.Popen([twinmq, "--config", path], stdout=subprocess.PIPE, stderr=log)


def listening(proc, wanted):
    """Reads `twinmq: listening <name> <ip:port>` lines until every name in `wanted`."""
    ports, buf, deadline = {}, b"", time.time() + WAIT
    while not wanted.issubset(ports):
        r, _, _ = select.select([proc.stdout], [], [], max(0, deadline - time.time()))
        data = os.read(proc.stdout.fileno(), 4096) if r else b""
        if not data:
            raise SystemExit("broker did not report %s" % sorted(wanted - set(ports)))
        buf += data
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            if line.startswith(b"twinmq: listening "):
                name, addr = line[len(b"twinmq: listening "):].split(b" ", 1)
                ports[name.decode()] = int(addr.rsplit(b":", 1)[1])
    return ports


def wait_log(path, needle):
    deadline = time.time() + WAIT
    while time.time() < deadline:
        with open(path, "rb") as f:
            if needle in f.read():
                return
        time.sleep(0.01)
    raise SystemExit("no %r in %s" % (needle, path))


class Blackhole:
    """A TCP proxy on its own thread; cut() stops forwarding both ways and keeps every
    socket open (a dead switch: only timeouts notice)."""

    def __init__(self, target):
        self.target, self.cut_ = target, False
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.port = self.listener.getsockname()[1]
        self.peer = {}
        threading.Thread(target=self._run, daemon=True).start()

    def cut(self):
        self.cut_ = True

    def _run(self):
        while True:
            ready, _, _ = select.select([self.listener] + list(self.peer), [], [], 0.05)
            if self.cut_:
                continue
            for s in ready:
                if s is self.listener:
                    c, _ = s.accept()
                    try:
                        u = socket.create_connection(("127.0.0.1", self.target))
                    except OSError:
                        c.close()
                        continue
                    self.peer[c], self.peer[u] = u, c
                    continue
                try:
                    data = s.recv(65536)
                except OSError:
                    data = b""
                other = self.peer.get(s)
                if not data or other is None:
                    self.peer.pop(s, None)
                    if other is not None:
                        self.peer.pop(other, None)
                        other.close()
                    s.close()
                    continue
                other.sendall(data)


def start_etcd(work):
    """A one-member etcd on free loopback ports; returns (process, client port)."""
    client, peer = free_port(), free_port()
    proc = subprocess.Popen(
        ["etcd", "--name", "witness", "--data-dir", os.path.join(work, "etcd"),
         "--listen-client-urls", "http://127.0.0.1:%d" % client,
         "--advertise-client-urls", "http://127.0.0.1:%d" % client,
         "--listen-peer-urls", "http://127.0.0.1:%d" % peer,
         "--initial-advertise-peer-urls", "http://127.0.0.1:%d" % peer,
         "--initial-cluster", "witness=http://127.0.0.1:%d" % peer],
        stdout=subprocess.DEVNULL, stderr=open(os.path.join(work, "etcd.log"), "wb"))
    deadline = time.time() + WAIT
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", client), timeout=1).close()
            return proc, client
        except OSError:
            time.sleep(0.02)
    proc.kill()
    raise SystemExit("etcd did not start; see %s/etcd.log" % work)


def one_round(twinmq, messages, witness=False, lease_ms=3000, fault="kill"):
    work = tempfile.mkdtemp(prefix="twinmq-failover-time-")
    procs = []
    try:
        common = 'persistent="true"'
        master_witness = slave_witness = ""
        etcd_to_master = None
        if witness:
            etcd, eport = start_etcd(work)
            procs.append(etcd)
            etcd_to_master = Blackhole(eport)
            w = '<witness uri="etcd://127.0.0.1:%d" key="/twinmq/failover-time" leaseMillis="%d"/>'
            master_witness, slave_witness = w % (etcd_to_master.port, lease_ms), w % (eport, lease_ms)
        master = start(twinmq, work, "master",
                       '<broker brokerName="master" dataDirectory="%s/master" %s><transportConnectors>'
                       '<transportConnector name="stomp" uri="stomp://127.0.0.1:0"/>'
                       '<transportConnector name="replication" uri="tcp://127.0.0.1:0"/>'
                       '</transportConnectors>%s</broker>\n' % (work, common, master_witness))
        procs.append(master)
        ports = listening(master, {"stomp", "replication"})
        link = Blackhole(ports["replication"])
        sport = free_port()
        slave = start(twinmq, work, "slave",
                      '<broker brokerName="slave" dataDirectory="%s/slave" %s masterConnectorURI="tcp://127.0.0.1:%d">'
                      '<transportConnectors><transportConnector name="stomp" uri="stomp://127.0.0.1:%d"/>'
                      '</transportConnectors>%s</broker>\n' % (work, common, link.port, sport, slave_witness))
        procs.append(slave)
        wait_log(os.path.join(work, "slave.log"), b"IN SYNC")
        c = socket.create_connection(("127.0.0.1", ports["stomp"]), timeout=WAIT)
        c.sendall(b"CONNECT\naccept-version:1.2\n\n\0")
        c.recv(4096)
        body = b"x" * 1024
        for i in range(messages):
            receipt = b"receipt:last\n" if i == messages - 1 else b""
            c.sendall(b"SEND\ndestination:/queue/t\npersistent:true\n" + receipt + b"\n" + body + b"\0")
        got = b""
        while b"RECEIPT" not in got:
            got += c.recv(65536)
        told = None
        t0 = time.monotonic()
        if fault == "isolate":
            link.cut()
            etcd_to_master.cut()
        else:
            master.send_signal(signal.SIGKILL)
        while True:
            if told is None and fault == "isolate":
                r, _, _ = select.select([c], [], [], 0)
                if r and b"not serving" in c.recv(65536):
                    told = (time.monotonic() - t0) * 1000
            try:
                k = socket.create_connection(("127.0.0.1", sport), timeout=WAIT)
                k.sendall(b"CONNECT\naccept-version:1.2\n\n\0")
                if k.recv(4096).startswith(b"CONNECTED"):
                    k.close()
                    return (time.monotonic() - t0) * 1000, told
                k.close()
            except OSError:
                if time.monotonic() - t0 > WAIT:
                    raise SystemExit("the slave did not take over within %ss" % WAIT)
                time.sleep(0.001)
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
            p.wait()
            if p.stdout:
                p.stdout.close()
        shutil.rmtree(work, ignore_errors=True)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--twinmq", default=os.path.join(here, "..", "..", "build", "twinmq"))
    ap.add_argument("--rounds", type=int, default=10)
    ap.add_argument("--messages", type=int, default=100)
    ap.add_argument("--witness", action="store_true", help="give the pair an etcd witness (started here)")
    ap.add_argument("--lease-ms", type=int, default=3000, help="the witness's leaseMillis")
    ap.add_argument("--fault", choices=("kill", "isolate"), default="kill",
                    help="kill -9 the master, or cut it off from slave and etcd (needs --witness)")
    a = ap.parse_args()
    if a.fault == "isolate" and not a.witness:
        ap.error("--fault isolate needs --witness (without one, both brokers would serve)")
    results = [one_round(a.twinmq, a.messages, a.witness, a.lease_ms, a.fault) for _ in range(a.rounds)]
    times = [t for t, _ in results]
    what = "kill -9 of the master" if a.fault == "kill" else "the master cut off from slave and etcd"
    setup = " (witness, leaseMillis=%d)" % a.lease_ms if a.witness else ""
    print("%s to the first CONNECTED on the slave%s, %d rounds (ms): %s"
          % (what, setup, a.rounds, " ".join("%.1f" % t for t in times)))
    print("median %.1f ms, min %.1f ms, max %.1f ms" % (statistics.median(times), min(times), max(times)))
    told = [t for _, t in results if t is not None]
    if told:
        print("a client of the isolated master got its ERROR (not serving) after: median %.1f ms, max %.1f ms"
              % (statistics.median(told), max(told)))


if __name__ == "__main__":
    main()
