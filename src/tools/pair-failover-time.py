#!/usr/bin/python3
"""pair-failover-time: how long a twinmq pair takes to fail over after kill -9.

For each round: a fresh master and slave (temporary data directories, loopback, the
master on ports the OS picks, the slave's STOMP port picked free up front), wait until
the slave is in sync, send N persistent messages with a receipt for the last, kill -9
the master, then poll the slave's STOMP port (connect + CONNECT, every millisecond)
until it answers CONNECTED. Prints every round and the median.

    src/tools/pair-failover-time.py [--twinmq build/twinmq] [--rounds 10] [--messages 100]
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


def one_round(twinmq, messages):
    work = tempfile.mkdtemp(prefix="twinmq-failover-time-")
    procs = []
    try:
        common = 'persistent="true"'
        master = start(twinmq, work, "master",
                       '<broker brokerName="master" dataDirectory="%s/master" %s><transportConnectors>'
                       '<transportConnector name="stomp" uri="stomp://127.0.0.1:0"/>'
                       '<transportConnector name="replication" uri="tcp://127.0.0.1:0"/>'
                       '</transportConnectors></broker>\n' % (work, common))
        procs.append(master)
        ports = listening(master, {"stomp", "replication"})
        sport = free_port()
        slave = start(twinmq, work, "slave",
                      '<broker brokerName="slave" dataDirectory="%s/slave" %s masterConnectorURI="tcp://127.0.0.1:%d">'
                      '<transportConnectors><transportConnector name="stomp" uri="stomp://127.0.0.1:%d"/>'
                      '</transportConnectors></broker>\n' % (work, common, ports["replication"], sport))
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
        t0 = time.monotonic()
        master.send_signal(signal.SIGKILL)
        while True:
            try:
                k = socket.create_connection(("127.0.0.1", sport), timeout=WAIT)
                k.sendall(b"CONNECT\naccept-version:1.2\n\n\0")
                if k.recv(4096).startswith(b"CONNECTED"):
                    k.close()
                    return (time.monotonic() - t0) * 1000
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
            p.stdout.close()
        shutil.rmtree(work, ignore_errors=True)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--twinmq", default=os.path.join(here, "..", "..", "build", "twinmq"))
    ap.add_argument("--rounds", type=int, default=10)
    ap.add_argument("--messages", type=int, default=100)
    a = ap.parse_args()
    times = [one_round(a.twinmq, a.messages) for _ in range(a.rounds)]
    print("kill -9 of the master to the first CONNECTED on the slave, %d rounds (ms): %s"
          % (a.rounds, " ".join("%.1f" % t for t in times)))
    print("median %.1f ms, min %.1f ms, max %.1f ms" % (statistics.median(times), min(times), max(times)))


if __name__ == "__main__":
    main()
