#!/usr/bin/python3
"""pair-attach-time: how long a slave takes to be back in sync, and what it costs the master.

Two ways a slave (re)attaches:
  --mode full      the master holds --messages queued 1 KiB persistent messages; a slave
                   with an empty data directory attaches and gets the full copy.
  --mode catch-up  master and slave in sync with --messages queued; the slave is stopped
                   (SIGTERM), --gap more messages arrive, the slave starts again and
                   catches up from its last sequence (its own recovery included).
  --mode rejoin    master and slave in sync with --messages queued; the master is killed
                   (kill -9), the slave takes over and --gap more messages arrive; the old
                   master starts again with `--rejoin` and catches up across the epoch
                   boundary (its own recovery included). --force-copy first leaves one
                   non-persistent message on the promoted broker, which only a full copy
                   carries: the old master then gets the full copy (what every rejoin was before).
Optionally under load while the slave attaches (--load): `sync` = one producer waiting
for a receipt per persistent message, `full` = one producer asking a receipt every 100.

Reports the time from starting the slave process to its `IN SYNC` log line, the way
the master logged it (copy or catch-up, and why), and the master's anonymous RSS before and
its peak during the attach (sampled from /proc every 20 ms). Loopback, temporary data
directories under --workdir (default: a new directory in /tmp), removed afterwards.

    src/tools/pair-attach-time.py [--twinmq build/twinmq] [--bench build/twinmq-bench]
        [--mode full|catch-up|rejoin] [--messages 1000000] [--gap 50000] [--load none|sync|full]
        [--force-copy]
"""
import argparse
import importlib.util
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
_spec = importlib.util.spec_from_file_location("failover_time", os.path.join(HERE, "pair-failover-time.py"))
ft = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(ft)


def rss_kib(pid):
    """Anonymous resident memory: what the broker allocated. (VmRSS also counts the
    journal files' pages that a copy or catch-up maps to read them: page cache.)"""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("RssAnon:"):
                return int(line.split()[1])
    return 0


def fill(bench, port, count, destination):
    subprocess.run([bench, "--port", str(port), "--destination", destination, "--producers", "1", "--fill",
                    "--persistent", "--receipt-every", "100", "--count", str(count), "--size", "1024"],
                   check=True, stdout=subprocess.DEVNULL)


def slave_xml(work, repl_port, stomp_port):
    return ('<broker brokerName="slave" dataDirectory="%s/slave" persistent="true" '
            'masterConnectorURI="tcp://127.0.0.1:%d"><transportConnectors>'
            '<transportConnector name="stomp" uri="stomp://127.0.0.1:%d"/></transportConnectors></broker>\n'
            % (work, repl_port, stomp_port))


def wait_count(path, needle, count, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with open(path, "rb") as f:
            if f.read().count(needle) >= count:
                return True
        time.sleep(0.005)
    return False


def rejoin(a):
    """--mode rejoin: the old master's time from its start to IN SYNC as the promoted
    broker's slave, and how it attached."""
    work = tempfile.mkdtemp(prefix="twinmq-rejoin-time-", dir=a.workdir)
    procs = []
    try:
        master_xml = ('<broker brokerName="master" dataDirectory="%s/master" persistent="true">'
                      '<transportConnectors><transportConnector name="stomp" uri="stomp://127.0.0.1:0"/>'
                      '<transportConnector name="replication" uri="tcp://127.0.0.1:0"/>'
                      '</transportConnectors></broker>\n' % work)
        master = ft.start(a.twinmq, work, "master", master_xml)
        procs.append(master)
        ports = ft.listening(master, {"stomp", "replication"})
        sport, srepl = ft.free_port(), ft.free_port()
        slave = ft.start(a.twinmq, work, "slave",
                         '<broker brokerName="slave" dataDirectory="%s/slave" persistent="true" '
                         'masterConnectorURI="tcp://127.0.0.1:%d"><transportConnectors>'
                         '<transportConnector name="stomp" uri="stomp://127.0.0.1:%d"/>'
                         '<transportConnector name="replication" uri="tcp://127.0.0.1:%d"/>'
                         '</transportConnectors></broker>\n' % (work, ports["replication"], sport, srepl))
        procs.append(slave)
        if not wait_count(os.path.join(work, "slave.log"), b"IN SYNC", 1, 60):
            raise SystemExit("the slave did not get in sync")
        fill(a.bench, ports["stomp"], a.messages, "/queue/backlog")
        master.kill()
        master.wait()
        ft.wait_log(os.path.join(work, "slave.log"), b"PROMOTED")
        ft.wait_log(os.path.join(work, "slave.log"), b"listening on 127.0.0.1:%d" % srepl)
        if a.gap:
            fill(a.bench, sport, a.gap, "/queue/gap")
        if a.force_copy:
            subprocess.run([a.bench, "--port", str(sport), "--destination", "/queue/np", "--producers", "1",
                            "--fill", "--count", "1", "--size", "16"], check=True, stdout=subprocess.DEVNULL)
        log_path = os.path.join(work, "rejoin.log")
        t0 = time.monotonic()
        with open(log_path, "wb") as log:
            old = subprocess.Popen([a.twinmq, "--config", os.path.join(work, "master.xml"), "--rejoin",
                                    "tcp://127.0.0.1:%d" % srepl], stdout=subprocess.DEVNULL, stderr=log)
        procs.append(old)
        if not wait_count(log_path, b"IN SYNC", 1, 300):
            raise SystemExit("the old master did not get in sync; see " + log_path)
        took = time.monotonic() - t0
        with open(os.path.join(work, "slave.log"), "rb") as f:
            how = [line.decode(errors="replace").strip() for line in f
                   if b"CATCHES UP" in line or b"a full copy" in line][-1:]
        print("mode=rejoin messages=%d gap=%d%s: the old master IN SYNC %.2f s after its start"
              % (a.messages, a.gap, " (forced full copy)" if a.force_copy else "", took))
        for line in how:
            print("promoted broker said: " + line[-300:])
    finally:
        clean_up(procs, work, a.keep)


def clean_up(procs, work, keep):
    """Kills what a measurement started (by pid, newest first) and removes its directory."""
    for p in reversed(procs):
        if p.poll() is None:
            p.kill()
        p.wait()
        if getattr(p, "stdout", None):
            p.stdout.close()
    if keep:
        print("kept: " + work)
    else:
        shutil.rmtree(work, ignore_errors=True)


def run(a):
    if a.mode == "rejoin":
        return rejoin(a)
    work = tempfile.mkdtemp(prefix="twinmq-attach-time-", dir=a.workdir)
    procs = []
    try:
        master = ft.start(a.twinmq, work, "master",
                          '<broker brokerName="master" dataDirectory="%s/master" persistent="true">'
                          '<transportConnectors><transportConnector name="stomp" uri="stomp://127.0.0.1:0"/>'
                          '<transportConnector name="replication" uri="tcp://127.0.0.1:0"/>'
                          '</transportConnectors></broker>\n' % work)
        procs.append(master)
        ports = ft.listening(master, {"stomp", "replication"})
        sport = ft.free_port()
        slave_log = os.path.join(work, "slave.log")
        if a.mode == "catch-up":
            slave = ft.start(a.twinmq, work, "slave", slave_xml(work, ports["replication"], sport))
            procs.append(slave)
            if not wait_count(slave_log, b"IN SYNC", 1, 60):
                raise SystemExit("the slave did not get in sync; see " + slave_log)
            fill(a.bench, ports["stomp"], a.messages, "/queue/backlog")
            slave.send_signal(signal.SIGTERM)
            slave.wait()
            fill(a.bench, ports["stomp"], a.gap, "/queue/gap")
        else:
            fill(a.bench, ports["stomp"], a.messages, "/queue/backlog")
        load = None
        if a.load != "none":
            every = "1" if a.load == "sync" else "100"
            load = subprocess.Popen([a.bench, "--port", str(ports["stomp"]), "--destination", "/queue/load",
                                     "--producers", "1", "--consumers", "1", "--persistent", "--receipt-every",
                                     every, "--duration", "600", "--size", "1024"],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            procs.append(load)
            time.sleep(1.0)  # the load is running before the slave starts (not a synchronisation)
        base = rss_kib(master.pid)
        peak = [base]
        done = threading.Event()

        def sample():
            while not done.is_set():
                peak[0] = max(peak[0], rss_kib(master.pid))
                time.sleep(0.02)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        t0 = time.monotonic()
        slave = ft.start(a.twinmq, work, "slave", slave_xml(work, ports["replication"], sport))
        procs.append(slave)
        # (starting the slave again truncates its log: one IN SYNC line to wait for)
        if not wait_count(slave_log, b"IN SYNC", 1, 300):
            raise SystemExit("the slave did not get back in sync; see " + slave_log)
        took = time.monotonic() - t0
        done.set()
        sampler.join()
        with open(os.path.join(work, "master.log"), "rb") as f:
            how = [line.decode(errors="replace").strip() for line in f
                   if b"catch-up" in line or b"full copy" in line or b"a full copy" in line][-1:]
        print("mode=%s messages=%d%s load=%s: slave IN SYNC %.2f s after its start; master RSS %d MiB before, "
              "peak %d MiB during (+%d MiB; anonymous memory)"
              % (a.mode, a.messages, " gap=%d" % a.gap if a.mode == "catch-up" else "", a.load, took,
                 base >> 10, peak[0] >> 10, (peak[0] - base) >> 10))
        for line in how:
            print("master said: " + line[-300:])
    finally:
        clean_up(procs, work, a.keep)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--twinmq", default=os.path.join(HERE, "..", "..", "build", "twinmq"))
    ap.add_argument("--bench", default=os.path.join(HERE, "..", "..", "build", "twinmq-bench"))
    ap.add_argument("--mode", choices=("full", "catch-up", "rejoin"), default="full")
    ap.add_argument("--force-copy", action="store_true", help="--mode rejoin: make it a full copy (see above)")
    ap.add_argument("--messages", type=int, default=1000000)
    ap.add_argument("--gap", type=int, default=50000)
    ap.add_argument("--load", choices=("none", "sync", "full"), default="none")
    ap.add_argument("--workdir", default=None, help="where the temporary data directories go")
    ap.add_argument("--keep", action="store_true", help="keep the data directories and logs (path printed)")
    run(ap.parse_args())


if __name__ == "__main__":
    main()
