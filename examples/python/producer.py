#!/usr/bin/python3
"""Producer for a twinmq pair: persistent messages, each confirmed by a RECEIPT, across a failover.

    examples/python/producer.py [--hosts 127.0.0.1:61613,127.0.0.1:61614]
                                [--destination /queue/demo] [--count 100] [--delay 0]

A RECEIPT from the pair means the message is on disk on the master AND on the slave, so
it survives the loss of either. If the connection drops before the receipt arrives, the
producer reconnects through the host list (master first; the slave accepts connections
once it has taken over) and sends that message again. A message that got its receipt is
never lost.

Every SEND carries a duplicate-detection id, the header `_AMQ_DUPL_ID` (ActiveMQ
Artemis's name; README "Duplicate detection"): this run's random prefix and the message
number, the same on the re-sent copy. The pair remembers recent ids per destination, so
a message that reached the old master (and its slave) just before it died is not stored
a second time when it is sent again: the consumer sees it once.

Uses Debian's python3-stomp 8 (apt install python3-stomp), hence /usr/bin/python3.
Exit status 0 once every message has its receipt, 1 if the brokers stay unreachable.
"""
import argparse
import logging
import sys
import threading
import time
import uuid

import stomp

# python3-stomp logs a warning for every host that refuses while it fails over; the
# program's own lines say what happens.
logging.getLogger("stomp.py").setLevel(logging.ERROR)


def parse_hosts(text):
    """'h1:p1,h2:p2' -> [('h1', p1), ('h2', p2)], master first."""
    hosts = []
    for item in text.split(","):
        host, _, port = item.strip().rpartition(":")
        hosts.append((host or "127.0.0.1", int(port)))
    return hosts


class ReceiptListener(stomp.ConnectionListener):
    """One connection's RECEIPTs, and whether it dropped (called on stomp.py's thread)."""

    def __init__(self):
        self.cond = threading.Condition()
        self.receipts = set()
        self.dropped = False
        self.host = None

    def on_connecting(self, host_and_port):
        self.host = "%s:%d" % host_and_port

    def on_disconnected(self):
        with self.cond:
            self.dropped = True
            self.cond.notify_all()

    def on_receipt(self, frame):
        with self.cond:
            self.receipts.add(frame.headers["receipt-id"])
            self.cond.notify_all()

    def on_error(self, frame):
        print("producer: ERROR from the broker: %s" % frame.headers.get("message"), flush=True)

    def wait_for_receipt(self, receipt_id, timeout=30.0):
        """True once the receipt is in; False if the connection dropped first."""
        with self.cond:
            if not self.cond.wait_for(lambda: receipt_id in self.receipts or self.dropped, timeout):
                sys.exit("producer: no receipt and no disconnect within %.0f s" % timeout)
            return receipt_id in self.receipts


def connect(hosts, within=60.0):
    """A connection to the first broker of the list that accepts, and its listener.

    The host list is python3-stomp's failover: connect() tries each host in turn, backing
    off from 0.1 s to 1 s between rounds. A new Connection for every attempt, because the
    threads of a dropped one may still be winding down. A host may also accept and drop
    at once (a master dying right now): then walk the list again.
    """
    deadline = time.monotonic() + within
    while True:
        conn = stomp.Connection12(parse_hosts(hosts), reconnect_sleep_initial=0.1,
                                  reconnect_sleep_increase=0.5, reconnect_sleep_max=1.0,
                                  reconnect_attempts_max=20)
        listener = ReceiptListener()
        conn.set_listener("", listener)
        try:
            conn.connect(wait=True)
            print("producer: connected to %s" % listener.host, flush=True)
            return conn, listener
        except (stomp.exception.StompException, OSError):
            conn.transport.disconnect_socket()
            if time.monotonic() > deadline:
                sys.exit("producer: no broker of %s accepts connections: giving up" % hosts)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--hosts", default="127.0.0.1:61613,127.0.0.1:61614",
                    help="brokers to try in order, master first (default %(default)s)")
    ap.add_argument("--destination", default="/queue/demo", help="default %(default)s")
    ap.add_argument("--count", type=int, default=100, help="messages to send (default %(default)s)")
    ap.add_argument("--delay", type=float, default=0.0,
                    help="seconds to pause between messages, to watch a failover (default 0)")
    ap.add_argument("--quiet", action="store_true", help="no line per message")
    args = ap.parse_args()

    conn, listener = connect(args.hosts)
    run = uuid.uuid4().hex  # the prefix of this run's duplicate-detection ids
    resent = 0
    i = 0
    while i < args.count:
        body = "message %d" % i
        receipt = "message-%d-try-%d" % (i, resent)
        try:
            # The same _AMQ_DUPL_ID on every try of message i: a second copy is dropped.
            conn.send(args.destination, body, headers={"persistent": "true", "receipt": receipt,
                                                       "_AMQ_DUPL_ID": "%s:%d" % (run, i)})
        except (stomp.exception.StompException, OSError):
            pass  # the drop is seen below, like a lost receipt
        if listener.wait_for_receipt(receipt):
            if not args.quiet:
                print("producer: sent %s (receipt from %s)" % (body, listener.host), flush=True)
            i += 1
            if args.delay:
                time.sleep(args.delay)
            continue
        # No receipt: the broker may or may not have the message. Send it again elsewhere.
        print("producer: lost %s before the receipt for %r: failing over, then sending it again"
              % (listener.host, body), flush=True)
        resent += 1
        conn, listener = connect(args.hosts)

    conn.disconnect()
    print("producer: %d messages sent, every one confirmed by a receipt (%d sent again after a "
          "failover); last broker %s" % (args.count, resent, listener.host), flush=True)


if __name__ == "__main__":
    main()
