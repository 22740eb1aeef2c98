"""Helpers for interop tests that run twinmq brokers as real processes: the binaries,
free loopback ports, a broker process whose stdout is read for its `twinmq: listening`
lines, configuration texts for a master, a slave and a standalone broker, a minimal raw
STOMP 1.2 client (so a test controls exactly which frame goes when), a snapshot
of a directory tree (to prove that something changed nothing), and a LinkProxy for
the replication link that can freeze (a network that silently drops everything).

Every wait is bounded by WAIT (a failure bound, never a timing assertion); every
process is stopped by its pid. Used by test_resync.py, test_resync_fork.py (LinkProxy,
fake_ssh), test_failover.py and test_example_cpp.py (start_pair); /usr/bin/python3
only.
"""
import hashlib
import os
import select
import signal
import socket
import stat
import subprocess
import threading
import time

WAIT = 10.0
HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))


def build_dir():
    return os.environ.get("TWINMQ_BUILD") or os.path.join(SOURCE_ROOT, "build")


def twinmq_binary():
    return os.path.join(build_dir(), "twinmq")


def resync_tool():
    """build/twinmq-resync (the symlink a build makes), else the script in the source."""
    built = os.path.join(build_dir(), "twinmq-resync")
    return built if os.path.exists(built) else os.path.join(SOURCE_ROOT, "src", "tools", "twinmq-resync")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


# With admin=True a configuration also gets the admin endpoint on a port the OS picks
# (its port comes from the `twinmq: listening admin` line).
ADMIN_XML = '  <managementContext uri="http://127.0.0.1:0"/>\n'


def master_xml(data_dir, stomp_port, replication_port, admin=False):
    return ('<broker brokerName="master" dataDirectory="%s" persistent="true"\n'
            '        replicationHeartbeatInterval="100" replicationLinkTimeout="800">\n'
            '  <transportConnectors>\n'
            '    <transportConnector name="stomp" uri="stomp://127.0.0.1:%d"/>\n'
            '    <transportConnector name="replication" uri="tcp://127.0.0.1:%d"/>\n'
            '  </transportConnectors>\n%s</broker>\n'
            % (data_dir, stomp_port, replication_port, ADMIN_XML if admin else ""))


def slave_xml(data_dir, stomp_port, master_replication_port, admin=False):
    return ('<broker brokerName="slave" dataDirectory="%s" persistent="true"\n'
            '        replicationHeartbeatInterval="100" replicationLinkTimeout="800"\n'
            '        masterConnectorURI="tcp://127.0.0.1:%d">\n'
            '  <transportConnectors>\n'
            '    <transportConnector name="stomp" uri="stomp://127.0.0.1:%d"/>\n'
            '  </transportConnectors>\n%s</broker>\n'
            % (data_dir, master_replication_port, stomp_port, ADMIN_XML if admin else ""))


def standalone_xml(data_dir, admin=False):
    return ('<broker brokerName="single" dataDirectory="%s" persistent="true">\n'
            '  <transportConnectors>\n'
            '    <transportConnector name="stomp" uri="stomp://127.0.0.1:0"/>\n'
            '  </transportConnectors>\n%s</broker>\n' % (data_dir, ADMIN_XML if admin else ""))


def write_file(path, text):
    with open(path, "w") as f:
        f.write(text)
    return path


class Proc:
    """One twinmq broker: stdout read for `twinmq: listening NAME IP:PORT`, stderr (the
    log) to NAME.log in `workdir`."""

    def __init__(self, workdir, name, config):
        self.name = name
        self.config = config
        self.logpath = os.path.join(workdir, name + ".log")
        self.log = open(self.logpath, "ab")
        self.proc = subprocess.Popen([twinmq_binary(), "--config", config],
                                     stdout=subprocess.PIPE, stderr=self.log, stdin=subprocess.DEVNULL)
        self.pid = self.proc.pid
        self.ports = {}
        self.partial = b""

    def wait_listening(self, connector, timeout=WAIT):
        deadline = time.time() + timeout
        while connector not in self.ports:
            left = deadline - time.time()
            if left <= 0:
                return None
            r, _, _ = select.select([self.proc.stdout], [], [], left)
            if not r:
                return None
            data = os.read(self.proc.stdout.fileno(), 4096)
            if not data:
                return None
            self.partial += data
            while b"\n" in self.partial:
                line, self.partial = self.partial.split(b"\n", 1)
                if line.startswith(b"twinmq: listening "):
                    rest = line[len(b"twinmq: listening "):]
                    conn, _, addr = rest.partition(b" ")
                    self.ports[conn.decode()] = int(addr.rsplit(b":", 1)[1])
        return self.ports[connector]

    def wait_log(self, needle, timeout=WAIT):
        """Polls the log file (another process writes it; there is nothing to block on)."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            if needle in self.log_text():
                return True
            if self.proc.poll() is not None:
                return needle in self.log_text()
            time.sleep(0.02)
        return False

    def log_text(self):
        with open(self.logpath, "rb") as f:
            return f.read().decode(errors="replace")

    def stop(self, sig=signal.SIGTERM, timeout=WAIT):
        """Sends `sig` and returns the exit status (None if it had to be killed)."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                return self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(WAIT)
                return None
        return self.proc.returncode

    def close(self):
        self.stop(signal.SIGKILL)
        self.proc.stdout.close()
        self.log.close()



def start_pair(workdir, procs, admin=False):
    """Starts a master (ports from its readiness lines) and a slave on a free STOMP port
    under `workdir`, appends both to `procs` (for the caller's tearDown), and waits until the slave is IN SYNC. Returns
    (master, slave, master_stomp_port, slave_stomp_port); AssertionError with the log
    when a broker does not get there, after killing both (unittest runs no tearDown
    when setUp fails)."""
    master = Proc(workdir, "master", write_file(os.path.join(workdir, "master.xml"),
                                                master_xml(os.path.join(workdir, "master"), 0, 0, admin)))
    procs.append(master)
    mport = master.wait_listening("stomp")
    rport = master.wait_listening("replication")
    if mport is None or rport is None:
        master.close()
        raise AssertionError("the master did not open its connectors:\n" + master.log_text())
    sport = free_port()
    slave = Proc(workdir, "slave", write_file(os.path.join(workdir, "slave.xml"),
                                              slave_xml(os.path.join(workdir, "slave"), sport, rport, admin)))
    procs.append(slave)
    if not slave.wait_log("IN SYNC"):
        log = slave.log_text()
        slave.close()
        master.close()
        raise AssertionError("the slave did not get in sync:\n" + log)
    return master, slave, mport, sport

class LinkProxy:
    """A TCP proxy in front of a master's replication port, on its own thread (as
    test/integration/replication_support.h's LinkProxy). freeze() stops forwarding bytes
    both ways and keeps every socket open: a cut cable that neither side is told about,
    so only the link timeout notices, and both brokers go on serving. close() stops the
    thread (joined) and closes every socket; tests call it in tearDown."""

    def __init__(self, target_port):
        self.target = target_port
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(8)
        self.port = self.listener.getsockname()[1]
        self.wake_r, self.wake_w = os.pipe()
        self.frozen = False
        self.stopping = False
        self.peer = {}  # socket -> the socket its bytes go to
        self.thread = threading.Thread(target=self._run, name="link-proxy", daemon=True)
        self.thread.start()

    def freeze(self):
        self.frozen = True
        os.write(self.wake_w, b"f")

    def close(self):
        if self.thread is None:
            return
        self.stopping = True
        os.write(self.wake_w, b"x")
        self.thread.join(WAIT)
        self.thread = None
        for s in list(self.peer):
            s.close()
        self.peer.clear()
        self.listener.close()
        os.close(self.wake_r)
        os.close(self.wake_w)

    def _drop(self, s):
        other = self.peer.pop(s, None)
        s.close()
        if other is not None:
            self.peer.pop(other, None)
            other.close()

    def _run(self):
        while not self.stopping:
            # Frozen: only the wake-up pipe is watched; accepted and forwarded sockets stay open, unread.
            watched = [self.wake_r] if self.frozen else [self.wake_r, self.listener] + list(self.peer)
            ready, _, _ = select.select(watched, [], [])
            for s in ready:
                if s == self.wake_r:
                    os.read(self.wake_r, 64)
                elif s is self.listener:
                    client, _ = self.listener.accept()
                    try:
                        upstream = socket.create_connection(("127.0.0.1", self.target), timeout=WAIT)
                    except OSError:
                        client.close()
                        continue
                    self.peer[client], self.peer[upstream] = upstream, client
                elif s in self.peer and not self.frozen:
                    try:
                        data = s.recv(65536)
                        if data:
                            self.peer[s].sendall(data)
                            continue
                    except OSError:
                        pass
                    self._drop(s)


class RawStomp:
    """A blocking STOMP 1.2 client on a plain socket: one frame at a time."""

    def __init__(self, port, timeout=WAIT):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.buf = b""
        self.next_receipt = 0
        self.pending = []  # MESSAGEs read while waiting for a RECEIPT
        self.send_frame("CONNECT", {"accept-version": "1.2", "host": "/", "heart-beat": "0,0"})
        cmd, headers, _ = self.read_frame()
        if cmd != "CONNECTED":
            raise AssertionError("expected CONNECTED, got %s %s" % (cmd, headers))

    def send_frame(self, command, headers, body=b""):
        lines = [command] + ["%s:%s" % kv for kv in headers.items()]
        if body:
            lines.append("content-length:%d" % len(body))
        self.sock.sendall(("\n".join(lines) + "\n\n").encode() + body + b"\0")

    def read_frame(self):
        while True:
            while self.buf[:1] in (b"\n", b"\r"):  # heart-beats
                self.buf = self.buf[1:]
            head_end = self.buf.find(b"\n\n")
            if head_end >= 0:
                head = self.buf[:head_end].decode()
                lines = head.split("\n")
                headers = {}
                for line in lines[1:]:
                    k, _, v = line.partition(":")
                    headers.setdefault(k, v)
                start = head_end + 2
                if "content-length" in headers:
                    end = start + int(headers["content-length"])
                    if len(self.buf) >= end + 1:
                        body, self.buf = self.buf[start:end], self.buf[end + 1:]
                        return lines[0], headers, body
                else:
                    nul = self.buf.find(b"\0", start)
                    if nul >= 0:
                        body, self.buf = self.buf[start:nul], self.buf[nul + 1:]
                        return lines[0], headers, body
            data = self.sock.recv(65536)
            if not data:
                raise ConnectionError("connection closed by the broker")
            self.buf += data

    def request(self, command, headers, body=b""):
        """Sends a frame with a receipt header and waits for that RECEIPT."""
        self.next_receipt += 1
        rid = "rcpt-%d" % self.next_receipt
        self.send_frame(command, dict(headers, receipt=rid), body)
        while True:
            cmd, h, b = self.read_frame()
            if cmd == "RECEIPT" and h.get("receipt-id") == rid:
                return
            if cmd == "ERROR":
                raise AssertionError("ERROR %s %s" % (h, b))
            if cmd == "MESSAGE":
                self.pending.append((h, b))

    def send(self, destination, body):
        self.request("SEND", {"destination": destination, "persistent": "true"}, body.encode())

    def subscribe(self, destination, sub_id="1", ack="client-individual"):
        self.request("SUBSCRIBE", {"destination": destination, "id": sub_id, "ack": ack})

    def receive(self):
        """The next MESSAGE as (headers, body text)."""
        if self.pending:
            h, b = self.pending.pop(0)
            return h, b.decode()
        while True:
            cmd, h, b = self.read_frame()
            if cmd == "MESSAGE":
                return h, b.decode()
            if cmd == "ERROR":
                raise AssertionError("ERROR %s %s" % (h, b))

    def ack(self, headers):
        self.request("ACK", {"id": headers["ack"]})

    def close(self):
        try:
            self.request("DISCONNECT", {})
        except (OSError, ConnectionError, AssertionError):
            pass
        self.sock.close()


def fake_ssh(workdir, stall_rsync=False):
    """An ssh stand-in (workdir/fake-ssh) for twinmq-resync's remote forms: runs the
    command here for host localhost (any user) and logs it to workdir/fake-ssh.log.
    `stall_rsync`: the rsync server never answers (a copy that hangs until killed)."""
    path = os.path.join(workdir, "fake-ssh")
    log = os.path.join(workdir, "fake-ssh.log")
    stall = ("case \"$*\" in *'rsync --server'*) exec cat 3>&1 >/dev/null;; esac\n" if stall_rsync else "")
    write_file(path, "#!/bin/sh\n"
                     "while [ $# -gt 0 ]; do\n"
                     "  case \"$1\" in -l|-p|-o|-i|-F) shift 2;; -*) shift;; *) break;; esac\n"
                     "done\n"
                     "host=${1#*@}; shift\n"
                     "[ \"$host\" = localhost ] || { echo \"fake-ssh: $host: unknown host\" >&2; exit 255; }\n"
                     "echo \"$*\" >> %s\n"
                     "%s"
                     "exec sh -c \"$*\"\n" % (log, stall))
    os.chmod(path, os.stat(path).st_mode | stat.S_IXUSR)
    return path


def ssh_commands(workdir):
    """What fake_ssh(workdir) was asked to run so far."""
    try:
        with open(os.path.join(workdir, "fake-ssh.log")) as f:
            return f.read()
    except FileNotFoundError:
        return ""


def tree_snapshot(root):
    """{relative path: (type, size, mtime_ns, sha256)} of everything under root."""
    snap = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            p = os.path.join(dirpath, name)
            st = os.lstat(p)
            digest = None
            if stat.S_ISREG(st.st_mode):
                with open(p, "rb") as f:
                    digest = hashlib.sha256(f.read()).hexdigest()
            snap[os.path.relpath(p, root)] = (stat.S_IFMT(st.st_mode), st.st_size, st.st_mtime_ns, digest)
    return snap


def contents(root, skip=("lock",)):
    """{relative path: sha256} of the regular files under root, without `skip` names."""
    return {k: v[3] for k, v in tree_snapshot(root).items()
            if v[3] is not None and os.path.basename(k) not in skip}


def verify_store(store):
    p = subprocess.run([twinmq_binary(), "verify-store", store], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=WAIT)
    return p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")
