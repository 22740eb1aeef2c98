#!/usr/bin/python3
"""The admin endpoint seen by the tools an operator uses (issue 13): Prometheus's own
`promtool check metrics` accepts /metrics of every role (single broker, master, slave),
and the status page at / shows the role, the peer line and a queue this test created
when a real browser (Debian's chromium, headless) has run its script.

The browser test reads the DOM chromium dumps after the page's fetch of /status ran
(--virtual-time-budget lets the page's timers and fetch complete, bounded). Set
TWINMQ_SCREENSHOT_DIR to also keep a screenshot of each page (optional artefact; the
assertions are on the DOM text).

Run ONLY with /usr/bin/python3 (test/run_all does):
    TWINMQ_BUILD=$PWD/build /usr/bin/python3 test/interop/test_admin_http.py -v

Every wait is bounded; every broker is killed by pid; ports come from the brokers'
`twinmq: listening` lines.
"""
import json
import os
import select
import shutil
import subprocess
import tempfile
import time
import unittest
import urllib.error
import urllib.request

from pair_harness import WAIT, Proc, RawStomp, standalone_xml, start_pair, twinmq_binary, write_file

BROWSER_TIMEOUT = 90  # seconds: a failure bound for one chromium run, never a timing assertion


def http_get(port, path):
    """(status, body) of GET http://127.0.0.1:port/path; errors (4xx/5xx) are answers too."""
    try:
        with urllib.request.urlopen("http://127.0.0.1:%d%s" % (port, path), timeout=WAIT) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def promtool_check(text):
    """(exit code, what promtool printed) for `promtool check metrics` of `text`."""
    p = subprocess.run(["promtool", "check", "metrics"], input=text.encode(), stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=WAIT * 3)
    return p.returncode, p.stdout.decode()


def chromium_dom(url, workdir, screenshot=None, prefix=(), extra=()):
    """The DOM of `url` after its scripts ran (headless chromium), as text. `prefix`: a
    command chromium runs under (nsenter); `extra`: more chromium options."""
    base = list(prefix) + ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                           "--no-first-run", "--user-data-dir=" + os.path.join(workdir, "chromium-profile"),
                           "--virtual-time-budget=8000"] + list(extra)
    p = subprocess.run(base + ["--dump-dom", url], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=BROWSER_TIMEOUT)
    if p.returncode != 0:
        raise AssertionError("chromium failed (%d): %s" % (p.returncode, p.stderr.decode(errors="replace")[-2000:]))
    if screenshot:
        subprocess.run(base + ["--window-size=1000,600", "--screenshot=" + screenshot, url],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=BROWSER_TIMEOUT)
    return p.stdout.decode(errors="replace")


class AdminHttpTest(unittest.TestCase):
    def setUp(self):
        self.workdir = tempfile.mkdtemp(prefix="twinmq-admin-")
        self.procs = []

    def tearDown(self):
        for p in self.procs:
            p.close()
        shutil.rmtree(self.workdir, ignore_errors=True)

    def send(self, stomp_port, queue, bodies):
        c = RawStomp(stomp_port)
        for b in bodies:
            c.send(queue, b)
        c.close()

    def test_metrics_of_every_role_pass_promtool(self):
        single = Proc(self.workdir, "single", write_file(os.path.join(self.workdir, "single.xml"),
                                                         standalone_xml(os.path.join(self.workdir, "single"), True)))
        self.procs.append(single)
        self.assertIsNotNone(single.wait_listening("stomp"), single.log_text())
        self.send(single.ports["stomp"], "/queue/promtool.single", ["a", "b"])
        master, slave, mport, _ = start_pair(self.workdir, self.procs, admin=True)
        self.send(mport, "/queue/promtool.pair", ["c"])
        for proc in (single, master, slave):
            port = proc.wait_listening("admin")
            self.assertIsNotNone(port, proc.log_text())
            status, text = http_get(port, "/metrics")
            self.assertEqual(status, 200)
            self.assertIn("twinmq_ha_role", text)
            rc, out = promtool_check(text)
            self.assertEqual((rc, out.strip()), (0, ""), "promtool on %s's /metrics:\n%s\n---\n%s"
                             % (proc.name, out, text))
        _, text = http_get(single.ports["admin"], "/metrics")
        self.assertIn('twinmq_destination_enqueued_total{destination="/queue/promtool.single",kind="queue"} 2',
                      text)
        # The single broker journals with syncOnWrite: its fsyncs are in the histogram.
        self.assertRegex(text, r"twinmq_journal_fsync_duration_seconds_count [1-9]")

    def test_status_page_in_headless_chromium_shows_role_peer_and_queue(self):
        master, slave, mport, _ = start_pair(self.workdir, self.procs, admin=True)
        self.send(mport, "/queue/page.orders", ["1", "2", "3"])
        shots = os.environ.get("TWINMQ_SCREENSHOT_DIR")
        m_admin = master.wait_listening("admin")
        s_admin = slave.wait_listening("admin")
        self.assertIsNotNone(m_admin, master.log_text())
        self.assertIsNotNone(s_admin, slave.log_text())

        dom = chromium_dom("http://127.0.0.1:%d/" % m_admin, self.workdir,
                           os.path.join(shots, "status-page-master.png") if shots else None)
        self.assertIn("MASTER — serving clients", dom)
        self.assertIn("in sync with slave", dom)
        self.assertIn("/queue/page.orders", dom)
        self.assertIn("last ack", dom)

        dom = chromium_dom("http://127.0.0.1:%d/" % s_admin, self.workdir,
                           os.path.join(shots, "status-page-slave.png") if shots else None)
        self.assertIn("SLAVE — not serving clients", dom)
        self.assertIn("/queue/page.orders", dom)
        self.assertIn("last heard", dom)
        status, body = http_get(s_admin, "/readyz")
        self.assertEqual(status, 503)
        self.assertEqual(json.loads(body)["role"], "slave")

    def test_status_page_over_https_beyond_loopback_after_sign_in(self):
        """An endpoint beyond loopback (https://10.213.0.1, in a network namespace this test
        makes, as integration area 35 does): the page loads once the browser signs in
        (chromium answers the 401 with the URL's user:password), and the page's own fetch of
        /status carries the same credentials, so the role shows. Without credentials the
        browser shows nothing of the broker."""
        if os.geteuid() != 0 or not shutil.which("unshare") or not shutil.which("nsenter"):
            why = "a network namespace needs root, unshare and nsenter"
            if os.environ.get("CI") == "true":
                self.fail(why)
            self.skipTest(why)
        pki = os.path.join(self.workdir, "pki")
        os.makedirs(pki)
        ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2"]
        ca, ca_key = os.path.join(pki, "ca.pem"), os.path.join(pki, "ca.key")
        cert, key = os.path.join(pki, "broker.pem"), os.path.join(pki, "broker.key")
        for args in (["-keyout", ca_key, "-out", ca, "-subj", "/CN=page test CA"],
                     ["-keyout", key, "-out", cert, "-subj", "/CN=broker", "-CA", ca, "-CAkey", ca_key,
                      "-addext", "subjectAltName=IP:10.213.0.1", "-addext", "basicConstraints=critical,CA:FALSE"]):
            subprocess.run(["openssl", "req", "-x509"] + ec + args, check=True, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, timeout=WAIT * 3)
        # The namespace: lo, 10.213.0.1 on a dummy (or veth) interface, held by `cat`.
        ns = subprocess.Popen(["unshare", "--net", "sh", "-c",
                               "set -e; ip link set lo up; if ! ip link add d0 type dummy 2>/dev/null; then "
                               "ip link add d0 type veth peer name d0p; ip link set d0p up; fi; "
                               "ip addr add 10.213.0.1/24 dev d0; ip link set d0 up; echo ready; exec cat"],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self.addCleanup(lambda: (ns.kill(), ns.wait(), ns.stdin.close(), ns.stdout.close()))
        r, _, _ = select.select([ns.stdout], [], [], WAIT)
        self.assertTrue(r and ns.stdout.readline().strip() == b"ready", "the network namespace did not get ready")
        enter = ["nsenter", "--net=/proc/%d/ns/net" % ns.pid, "--"]
        config = write_file(os.path.join(self.workdir, "remote.xml"), """<broker brokerName="remote" dataDirectory="%s" persistent="false">
  <transportConnectors><transportConnector name="stomp" uri="stomp://127.0.0.1:0"/></transportConnectors>
  <plugins><simpleAuthenticationPlugin><users>
    <authenticationUser username="ops" password="ops-pw" groups="admin"/>
  </users></simpleAuthenticationPlugin></plugins>
  <sslContext certificate="%s" privateKey="%s" trustedCAs="%s"/>
  <managementContext uri="https://10.213.0.1:0"/>
</broker>
""" % (os.path.join(self.workdir, "remote"), cert, key, ca))
        log = open(os.path.join(self.workdir, "remote.log"), "ab")
        broker = subprocess.Popen(enter + [twinmq_binary(), "--config", config], stdout=subprocess.PIPE, stderr=log,
                                  stdin=subprocess.DEVNULL)
        self.addCleanup(lambda: (broker.kill(), broker.wait(), broker.stdout.close(), log.close()))
        port, out = None, b""
        deadline = time.time() + WAIT
        while port is None and time.time() < deadline:
            # os.read, not readline: both listening lines may come in one read.
            r, _, _ = select.select([broker.stdout], [], [], max(0, deadline - time.time()))
            data = os.read(broker.stdout.fileno(), 4096) if r else b""
            if not data:
                break
            out += data
            for line in out.split(b"\n")[:-1]:  # complete lines only
                if line.startswith(b"twinmq: listening admin "):
                    port = int(line.rsplit(b":", 1)[1])
        with open(os.path.join(self.workdir, "remote.log"), errors="replace") as f:
            self.assertIsNotNone(port, "no admin listening line; stdout %r, log:\n%s" % (out, f.read()[-3000:]))
        shots = os.environ.get("TWINMQ_SCREENSHOT_DIR")
        # The certificate is checked by curl and twinmq-admin (area 35); chromium has no
        # CA store of ours, so here it is told to accept it.
        dom = chromium_dom("https://ops:ops-pw@10.213.0.1:%d/" % port, self.workdir,
                           os.path.join(shots, "status-page-https.png") if shots else None,
                           prefix=enter, extra=["--ignore-certificate-errors"])
        self.assertIn("SINGLE — serving clients", dom)
        self.assertIn("broker remote", dom)
        self.assertIn("updated ", dom)  # the page's own fetch of /status was answered
        dom = chromium_dom("https://10.213.0.1:%d/" % port, self.workdir, prefix=enter,
                           extra=["--ignore-certificate-errors"])
        self.assertNotIn("serving clients", dom)  # headless chromium has no one to ask: nothing shown


if __name__ == "__main__":
    unittest.main()
