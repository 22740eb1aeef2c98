#!/usr/bin/python3
"""Checks bench-compare's argument handling and table formatting, never a timing:
no broker is started. Run: /usr/bin/python3 src/tools/bench-compare/test_run.py"""
import json
import os
import subprocess
import sys
import tempfile
import unittest

RUN = os.path.join(os.path.dirname(os.path.abspath(__file__)), "run")


def bench(rate, cpu=50.0, p99=None, elapsed=1.0, summary="msg/s"):
    return {"rate": rate, "elapsed_s": elapsed, "cpu_bench_percent": 5.0, "cpu_broker": {"broker": cpu},
            "summary": "scenario=x rate=%d %s" % (rate, summary),
            "latency_us": {"p50": 100.0, "p99": p99 or 0.0, "max": 2000.0}}


def fake_results():
    """A run's raw results as the script writes them, with made-up numbers."""
    pair_bench = lambda r, **k: dict(bench(r, **k), cpu_broker={"master": 60.0, "slave": 20.0})
    return {
        "brokers": ["single", "pair", "activemq"], "amq_scheme": "stomp",
        "started": "2026-11-25 18:00", "finished": "18:09", "load_start": "0.5 0.4 0.3",
        "load_end": "1.0 0.8 0.5", "warmup_text": "none",
        "facts": {"cores": 2, "cpu": "test cpu", "kernel": "6", "twinmq": "abc", "amq_version": "5.17",
                  "java": "java 17"},
        "results": {
            # single 4x, pair 2x: met / met
            "queue": {"single": {"bench": bench(400000)}, "pair": {"bench": pair_bench(200000)},
                      "activemq": {"bench": bench(100000)}},
            # single ahead, pair behind
            "durable-1p": {"single": {"bench": bench(3000)}, "pair": {"bench": pair_bench(900)},
                           "activemq": {"bench": bench(1000)}},
            # single failed to run
            "topic": {"single": {"error": "twinmq-bench exit 1: boom\nmore"},
                      "pair": {"bench": pair_bench(300000, summary="deliveries/s")},
                      "activemq": {"bench": bench(100000, summary="deliveries/s")}},
            # latency: lower is better (amq 2000 us / twinmq 500 us = 4x)
            "latency": {"single": {"bench": bench(5000, p99=500.0)}, "pair": {"bench": pair_bench(5000, p99=800.0)},
                        "activemq": {"bench": bench(5000, p99=2000.0)}},
            "idle": {b: {"idle": {"rss_before_kib": 10240, "rss_kib": kib, "connected": 5000}}
                     for b, kib in (("single", 20480), ("pair", 22528), ("activemq", 819200))},
            "backlog": {b: {"rss_before_kib": 10240, "rss_kib": kib, "fill": bench(5000),
                            "drain": bench(50000, elapsed=secs)}
                        for b, kib, secs in (("single", 150000, 2.0), ("pair", 160000, 2.5),
                                             ("activemq", 1100000, 20.0))},
        },
    }


class BenchCompareTable(unittest.TestCase):
    def render(self, data):
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
            json.dump(data, f)
        try:
            p = subprocess.run([sys.executable, RUN, "--table-from", f.name], capture_output=True,
                               text=True, timeout=60)
        finally:
            os.unlink(f.name)
        self.assertEqual(p.returncode, 0, p.stderr)
        return p.stdout

    def row(self, text, start):
        rows = [l for l in text.splitlines() if l.startswith("| " + start)]
        self.assertEqual(len(rows), 1, text)
        return [c.strip() for c in rows[0].strip("|").split(" | ")]

    def test_header_names_every_column(self):
        out = self.render(fake_results())
        self.assertIn("| scenario | twinmq single | twinmq pair (synchronous mirror) | "
                      "ActiveMQ 5.17 (KahaDB, tcpNoDelay, 1 GiB heap) | single/ActiveMQ | "
                      "pair/ActiveMQ | command |", out)

    def test_throughput_ratios_and_targets(self):
        out = self.render(fake_results())
        cells = self.row(out, "queue 1P→1C")
        self.assertIn("400,000 msg/s", cells[1])
        self.assertIn("master 60 %, slave 20 %", cells[2])
        self.assertEqual(cells[4], "4.00× (target ≥ 3×: **met**)")
        self.assertEqual(cells[5], "2.00× (target ahead: **met**)")
        cells = self.row(out, "persistent, receipt for every message, 1 producer")
        self.assertEqual(cells[5], "0.90× (target ahead: **not met**)")

    def test_consumer_attached_durable_rows_have_their_targets_and_receipt_p50(self):
        data = fake_results()
        with_receipt = lambda r, p50: dict(bench(r), receipt_latency_us={"count": 10, "p50": p50, "p99": 900.0})
        data["results"]["durable-1p1c"] = {"single": {"bench": with_receipt(6000, 150.0)},
                                           "pair": {"bench": with_receipt(4000, 240.0)},
                                           "activemq": {"bench": with_receipt(2800, 340.0)}}
        data["results"]["durable-4p4c"] = {"single": {"bench": with_receipt(13100, 290.0)},
                                           "pair": {"bench": with_receipt(8700, 450.0)},
                                           "activemq": {"bench": with_receipt(11300, 350.0)}}
        out = self.render(data)
        cells = self.row(out, "persistent, receipt for every message, 1P/1C")
        self.assertIn("4,000 msg/s (receipt p50 240 µs; broker 50 %", cells[2])
        self.assertEqual(cells[4], "2.14× (target ≥ 1.5×: **met**)")
        self.assertEqual(cells[5], "1.43× (target ≥ 1.3×: **met**)")
        cells = self.row(out, "persistent, receipt for every message, 4P/4C")
        self.assertEqual(cells[4], "1.16× (target ≥ 1.5×: **not met**)")
        self.assertEqual(cells[5], "0.77× (target ≥ 1.3×: **not met**)")
        self.assertIn("--producers 4 --consumers 4 --size 1024 --persistent --receipt-every 1", cells[6])
        # a row without receipts says nothing about them
        self.assertNotIn("receipt p50", self.row(out, "queue 1P→1C")[1])

    def test_lower_is_better_rows_are_turned_around(self):
        out = self.render(fake_results())
        self.assertEqual(self.row(out, "latency")[4], "4.00× (target ahead: **met**)")
        self.assertEqual(self.row(out, "RSS holding")[4], "40.00× (target ahead: **met**)")
        self.assertEqual(self.row(out, "RSS holding")[5], "36.36×")  # no pair target on RSS
        drain = self.row(out, "100,000 queued persistent 1 KiB messages: drain")
        self.assertEqual(drain[4], "10.00× (target ahead: **met**)")
        self.assertEqual(drain[5], "8.00× (target ahead: **met**)")

    def test_a_failed_run_shows_why_and_counts_as_not_measured(self):
        out = self.render(fake_results())
        cells = self.row(out, "topic")
        self.assertEqual(cells[1], "FAILED: twinmq-bench exit 1: boom")
        self.assertEqual(cells[4], "—")
        self.assertIn("deliveries/s", cells[3])
        self.assertIn("1 not measured", out)
        self.assertIn("- not met: persistent, receipt for every message, 1 producer, no consumer (pair)", out)

    def test_rabbitmq_column_sits_after_the_ratios_and_marks_the_consumer_row(self):
        data = fake_results()
        data["brokers"] = ["single", "pair", "activemq", "rabbitmq"]
        data["facts"]["rmq_version"] = "3.10.8"
        data["results"]["durable-r100"] = {b: {"bench": bench(r)} for b, r in
                                           (("single", 40000), ("pair", 30000), ("activemq", 4000),
                                            ("rabbitmq", 7000))}
        data["results"]["queue"]["rabbitmq"] = {"bench": bench(4000)}
        out = self.render(data)
        self.assertIn("| pair/ActiveMQ | RabbitMQ 3.10 (STOMP plugin) | command |", out)
        self.assertIn("4,000 msg/s", self.row(out, "queue 1P→1C")[6])
        self.assertIn("consumer attached: may confirm without a disk write",
                      self.row(out, "persistent, receipt every 100")[6])
        self.assertEqual(self.row(out, "topic")[6], "not run")
        self.assertIn("RabbitMQ: Debian's rabbitmq-server 3.10.8", out)

    def test_activemq_only_has_no_ratio_columns(self):
        data = fake_results()
        data["brokers"] = ["activemq"]
        out = self.render(data)
        self.assertIn("| scenario | ActiveMQ 5.17 (KahaDB, tcpNoDelay, 1 GiB heap) | command |", out)


class BenchCompareArguments(unittest.TestCase):
    def run_script(self, *args):
        return subprocess.run([sys.executable, RUN] + list(args), capture_output=True, text=True, timeout=60)

    def test_list_names_every_scenario(self):
        p = self.run_script("--list")
        self.assertEqual(p.returncode, 0, p.stderr)
        for key in ("queue", "durable-1p", "durable-4p", "durable-1p1c", "durable-4p4c", "durable-r100", "topic", "latency", "idle", "backlog"):
            self.assertIn(key, p.stdout)

    def test_bad_usage_exits_2(self):
        self.assertEqual(self.run_script().returncode, 2)  # no build directory
        with tempfile.TemporaryDirectory() as d:
            for exe in ("twinmq", "twinmq-bench"):
                path = os.path.join(d, exe)
                with open(path, "w") as f:
                    f.write("#!/bin/sh\nexit 9\n")
                os.chmod(path, 0o755)
            p = self.run_script(d, "--only", "queue,nosuch")
            self.assertEqual(p.returncode, 2)
            self.assertIn("unknown scenario nosuch", p.stderr)
            p = self.run_script(d, "--brokers", "single,rabbit")
            self.assertEqual(p.returncode, 2)
            self.assertIn("unknown rabbit", p.stderr)
        p = self.run_script("/nonexistent-build")
        self.assertEqual(p.returncode, 2)
        self.assertIn("build first", p.stderr)


if __name__ == "__main__":
    unittest.main()
