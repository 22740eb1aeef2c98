"""Real etcd processes for Python tests of the pair's witness (the C++ twin is
test/support/etcd_process.h; same tuning, same readiness rule).

    import etcd_harness as eh
    with eh.EtcdCluster(size=3) as cluster:     # started, with a leader, or it raised
        uri = cluster.uri()                     # etcd://127.0.0.1:p0,127.0.0.1:p1,127.0.0.1:p2
        cluster.kill(0)                         # SIGKILL + wait, by pid
        cluster.put("/twinmq/k", "v")           # through any running member
        cluster.restart(0)                      # same name, ports and data: it rejoins
    # leaving the block stops every member by pid and removes the temp dir

- Ports: asked of the OS (bind port 0 on 127.0.0.1, all of a cluster's at once, then
  released) just before etcd starts. If another process takes one in between, etcd exits
  with "address already in use" and the start is retried on fresh ports.
- Readiness: POST /v3/maintenance/status until the member names a leader, polled with a
  deadline (WAIT); a member that exits meanwhile ends the wait with its log tail. Cluster
  members start one after the other, each once the previous one serves its peer port:
  started together, etcd 3.4 members spend ~2 s asking each other whether they were
  bootstrapped already.
- Timing: heartbeat 25 ms, election timeout 250 ms, so a leader is elected (or
  re-elected after a kill) in well under a second. etcd raises every lease TTL to at least
  1.5 election timeouts rounded up to whole seconds: MIN_LEASE_TTL_S = 1 here (2 s with
  etcd's defaults).
- Every etcd gets PR_SET_PDEATHSIG(SIGKILL), so none outlives a test process that dies.

Run only under /usr/bin/python3 (stdlib only).
"""
import base64
import ctypes
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

ETCD = "/usr/bin/etcd"
ETCDCTL = "/usr/bin/etcdctl"
HEARTBEAT_MS = 25
ELECTION_MS = 250
MIN_LEASE_TTL_S = 1
WAIT = 10.0          # a failure bound, never a timing assertion
START_ATTEMPTS = 3   # fresh ports after "address already in use"

_PR_SET_PDEATHSIG = 1


def _die_with_parent():
    """preexec_fn: the child gets SIGKILL when the process that started it dies."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def free_ports(n):
    """`n` distinct free TCP ports on 127.0.0.1."""
    socks = []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def b64(text):
    data = text.encode() if isinstance(text, str) else text
    return base64.b64encode(data).decode()


def unb64(text):
    return base64.b64decode(text or "")


class EtcdError(Exception):
    """etcd answered with an error (status is the HTTP code) or could not be reached (status None)."""

    def __init__(self, message, status=None):
        super().__init__(message)
        self.status = status


def http_post(url, body, token=None, timeout=1.0):
    """POSTs JSON, returns the decoded answer; raises EtcdError."""
    req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
    if token:
        req.add_header("Authorization", token)
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never an http_proxy
    try:
        with opener.open(req, timeout=timeout) as resp:
            text = resp.read().decode(errors="replace")
    except urllib.error.HTTPError as e:
        text = e.read().decode(errors="replace")
        try:
            message = json.loads(text).get("message", text)
        except ValueError:
            message = text
        raise EtcdError("%s: HTTP %d: %s" % (url, e.code, message), e.code) from None
    except (OSError, urllib.error.URLError) as e:
        raise EtcdError("%s: %s" % (url, e)) from None
    # The keep-alive stream ends its message with a newline; unary answers are one line.
    return json.loads(text.split("\n", 1)[0])


class EtcdMember:
    """One etcd process with a fixed name, ports and data directory (kept across restarts)."""

    def __init__(self, workdir, name, client_port, peer_port, initial_cluster, token):
        self.name = name
        self.client_port = client_port
        self.peer_port = peer_port
        self.data_dir = os.path.join(workdir, name + ".data")
        self.log_path = os.path.join(workdir, name + ".log")
        self.initial_cluster = initial_cluster
        self.token = token
        self.proc = None

    @property
    def endpoint(self):
        return "127.0.0.1:%d" % self.client_port

    @property
    def client_url(self):
        return "http://" + self.endpoint

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    @property
    def running(self):
        return self.proc is not None

    def start(self):
        assert self.proc is None, self.name + " is already running"
        peer_url = "http://127.0.0.1:%d" % self.peer_port
        args = [ETCD, "--name", self.name, "--data-dir", self.data_dir,
                "--listen-client-urls", self.client_url, "--advertise-client-urls", self.client_url,
                "--listen-peer-urls", peer_url, "--initial-advertise-peer-urls", peer_url,
                "--initial-cluster", self.initial_cluster, "--initial-cluster-state", "new",
                "--initial-cluster-token", self.token,
                "--heartbeat-interval", str(HEARTBEAT_MS), "--election-timeout", str(ELECTION_MS),
                "--logger", "zap"]
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                         preexec_fn=_die_with_parent)

    def _poll(self, deadline, problem_now, what):
        """Calls problem_now() (None when done) until done, the deadline, or etcd's exit."""
        problem = "not tried"
        while True:
            if self.proc is None:
                raise RuntimeError("%s: not running" % self.name)
            code = self.proc.poll()
            if code is not None:
                self.proc = None
                raise RuntimeError("%s exited (%d) before %s\n--- log tail:\n%s"
                                   % (self.name, code, what, self.log_tail()))
            problem = problem_now()
            if problem is None:
                return
            if time.monotonic() >= deadline:
                raise RuntimeError("%s: no %s within the deadline (last: %s)\n--- log tail:\n%s"
                                   % (self.name, what, problem, self.log_tail()))
            time.sleep(0.005)  # poll interval; the deadline bounds the wait

    def wait_peer_serving(self, deadline):
        def problem():
            try:
                with urllib.request.build_opener(urllib.request.ProxyHandler({})).open(
                        "http://127.0.0.1:%d/members" % self.peer_port, timeout=0.3):
                    return None
            except (OSError, urllib.error.URLError) as e:
                return str(e)
        self._poll(deadline, problem, "peer port serving")

    def wait_ready(self, deadline):
        def problem():
            try:
                status = http_post(self.client_url + "/v3/maintenance/status", {}, timeout=0.3)
            except EtcdError as e:
                return str(e)
            return None if status.get("leader", "0") not in ("", "0") else "no leader yet"
        self._poll(deadline, problem, "leader")

    def kill(self):
        """SIGKILL and reap; no-op when not running."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(WAIT)
        self.proc = None

    def pause(self):
        """SIGSTOP: the member keeps its sockets and answers nothing."""
        if self.proc is not None:
            self.proc.send_signal(signal.SIGSTOP)

    def resume(self):
        if self.proc is not None:
            self.proc.send_signal(signal.SIGCONT)

    def restart(self, timeout=WAIT):
        """Starts again with the same data, and waits for a leader (needs a quorum running)."""
        self.start()
        try:
            self.wait_ready(time.monotonic() + timeout)
        except Exception:
            self.kill()
            raise

    def port_was_taken(self):
        return "address already in use" in self.log_tail(20000)

    def log_tail(self, size=3000):
        try:
            with open(self.log_path, "rb") as f:
                text = f.read().decode(errors="replace")
        except OSError:
            return ""
        return text if len(text) <= size else "..." + text[-size:]


class EtcdCluster:
    """`size` members (1 = a single etcd) in one temp dir, started and with a leader."""

    def __init__(self, size=3, timeout=WAIT):
        self.workdir = tempfile.mkdtemp(prefix="twinmq-etcd-")
        self.members = []
        try:
            self._start(size, timeout)
        except Exception:
            self.stop()
            raise

    def _start(self, size, timeout):
        for attempt in range(1, START_ATTEMPTS + 1):
            ports = free_ports(2 * size)
            token = "twinmq-py-%d-%d" % (os.getpid(), time.monotonic_ns())
            initial = ",".join("etcd%d=http://127.0.0.1:%d" % (i, ports[2 * i + 1]) for i in range(size))
            self.members = [EtcdMember(self.workdir, "etcd%d" % i, ports[2 * i], ports[2 * i + 1], initial, token)
                            for i in range(size)]
            for m in self.members:
                shutil.rmtree(m.data_dir, ignore_errors=True)
            deadline = time.monotonic() + timeout
            try:
                for m in self.members:
                    m.start()
                    m.wait_peer_serving(deadline)
                for m in self.members:
                    m.wait_ready(deadline)
                return
            except RuntimeError:
                taken = any(m.port_was_taken() for m in self.members)
                for m in self.members:
                    m.kill()
                if not taken or attempt == START_ATTEMPTS:
                    raise

    # ---- processes ----
    def kill(self, i):
        self.members[i].kill()

    def restart(self, i, timeout=WAIT):
        self.members[i].restart(timeout)

    def pids(self):
        return [m.pid for m in self.members if m.running]

    def stop(self):
        """Kills every member by pid; removes the temp dir (kept with TWINMQ_KEEP_TMP=1)."""
        for m in self.members:
            m.kill()
        if not os.environ.get("TWINMQ_KEEP_TMP"):
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    # ---- addresses ----
    def endpoints(self):
        return [m.endpoint for m in self.members]

    def uri(self):
        return "etcd://" + ",".join(self.endpoints())

    # ---- a little client, for tests that look at what the witness wrote ----
    def request(self, path, body, user=None, password=None, member=None):
        """POSTs to `member` (index), or to each running member in turn until one answers."""
        candidates = [self.members[member]] if member is not None else [m for m in self.members if m.running]
        last = EtcdError("no running member")
        for m in candidates:
            try:
                token = None
                if user:
                    token = http_post(m.client_url + "/v3/auth/authenticate",
                                      {"name": user, "password": password})["token"]
                return http_post(m.client_url + path, body, token=token)
            except EtcdError as e:
                if e.status is not None and e.status < 500:
                    raise  # etcd said no: another member would say the same
                last = e
        raise last

    def put(self, key, value, lease=0, **kw):
        body = {"key": b64(key), "value": b64(value)}
        if lease:
            body["lease"] = str(lease)
        return self.request("/v3/kv/put", body, **kw)

    def get(self, key, **kw):
        """The value (bytes) of `key`, or None."""
        kvs = self.request("/v3/kv/range", {"key": b64(key)}, **kw).get("kvs", [])
        return unb64(kvs[0].get("value")) if kvs else None

    def delete(self, key, **kw):
        return self.request("/v3/kv/deleterange", {"key": b64(key)}, **kw)

    def grant(self, ttl_s, **kw):
        """(lease id, granted TTL in s)."""
        answer = self.request("/v3/lease/grant", {"TTL": str(ttl_s)}, **kw)
        return int(answer["ID"]), int(answer.get("TTL", 0))

    def enable_auth(self, root_password="root-secret", user="twinmq", password="twinmq-secret",
                    role="twinmq-witness", prefix="/twinmq/"):
        """A root user, `user` with `password` and a role that may read and write keys under
        `prefix`, then authentication on (through etcdctl, each call bounded)."""
        endpoints = ",".join(m.endpoint for m in self.members if m.running)
        for args in (["user", "add", "root:" + root_password, "--interactive=false"],
                     ["user", "grant-role", "root", "root"],
                     ["user", "add", user + ":" + password, "--interactive=false"],
                     ["role", "add", role],
                     ["role", "grant-permission", role, "--prefix=true", "readwrite", prefix],
                     ["user", "grant-role", user, role],
                     ["auth", "enable"]):
            etcdctl(endpoints, args)


def etcdctl(endpoints, args, timeout=WAIT):
    """Runs etcdctl against `endpoints` ("127.0.0.1:p,..."); its output, or RuntimeError."""
    cmd = [ETCDCTL, "--endpoints=" + endpoints, "--dial-timeout=2s", "--command-timeout=5s"] + list(args)
    p = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       timeout=timeout, preexec_fn=_die_with_parent)
    out = p.stdout.decode(errors="replace")
    if p.returncode != 0:
        raise RuntimeError("etcdctl %s: exit %d\n%s" % (" ".join(args), p.returncode, out))
    return out
