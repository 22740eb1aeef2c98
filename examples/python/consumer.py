#!/usr/bin/python3
"""Consumer for a twinmq pair: acknowledges each message itself and carries on across a failover.

    examples/python/consumer.py [--hosts 127.0.0.1:61613,127.0.0.1:61614]
                                [--destination /queue/demo] [--count 0] [--timeout 0]

Subscribes with ack:client-individual and ACKs each message after printing it, so a
message is removed only once it was handled. When the master dies the connection drops;
the consumer reconnects through the host list (master first; the slave accepts
connections once it has taken over) and subscribes again. The slave redelivers whatever
was not acknowledged, flagged redelivered:true, so a message can arrive twice
(at-least-once): this consumer counts distinct bodies and says which came again.

--count N stops after N distinct messages (0: run until Ctrl-C); --timeout S gives up
(exit 1) after S seconds (0: never). Uses Debian's python3-stomp 8, hence /usr/bin/python3.
"""
import argparse
import collections
import logging
import sys
import threading
import time

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


class Received:
    """What arrived over all connections. `cond` guards it and wakes the main thread."""

    def __init__(self):
        self.cond = threading.Condition()
        self.seen = set()
        self.again = 0
        self.per_broker = collections.Counter()


class PrintingListener(stomp.ConnectionListener):
    """One connection: prints and ACKs each message (on stomp.py's thread), notes a drop."""

    def __init__(self, received, quiet):
        self.received = received
        self.quiet = quiet
        self.conn = None
        self.host = None
        self.dropped = False

    def on_connecting(self, host_and_port):
        self.host = "%s:%d" % host_and_port

    def on_disconnected(self):
        with self.received.cond:
            self.dropped = True
            self.received.cond.notify_all()

    def on_error(self, frame):
        print("consumer: ERROR from the broker: %s" % frame.headers.get("message"), flush=True)

    def on_message(self, frame):
        r = self.received
        body = frame.body
        first = body not in r.seen
        if not self.quiet or not first:
            note = "" if first else "  (again: it was not acknowledged before the failover)"
            print("consumer: received %s from %s%s" % (body, self.host, note), flush=True)
        with r.cond:
            r.seen.add(body)
            r.again += 0 if first else 1
            r.per_broker[self.host] += 1
            r.cond.notify_all()
        try:
            # STOMP 1.2: ACK names the message by its "ack" header, on the connection that
            # delivered it. If that one just dropped, the next broker delivers it again.
            self.conn.ack(frame.headers["ack"])
        except (stomp.exception.StompException, OSError):
            pass


def connect(hosts, new_listener, within=60.0):
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
        listener = new_listener()
        listener.conn = conn
        conn.set_listener("", listener)
        try:
            conn.connect(wait=True)
            return conn, listener
        except (stomp.exception.StompException, OSError):
            conn.transport.disconnect_socket()
            if time.monotonic() > deadline:
                sys.exit("consumer: no broker of %s accepts connections: giving up" % hosts)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--hosts", default="127.0.0.1:61613,127.0.0.1:61614",
                    help="brokers to try in order, master first (default %(default)s)")
    ap.add_argument("--destination", default="/queue/demo", help="default %(default)s")
    ap.add_argument("--count", type=int, default=0,
                    help="stop after this many distinct messages (default 0: run until Ctrl-C)")
    ap.add_argument("--timeout", type=float, default=0.0,
                    help="give up after this many seconds (default 0: never)")
    ap.add_argument("--quiet", action="store_true", help="no line per message (repeats still shown)")
    args = ap.parse_args()

    received = Received()
    deadline = time.monotonic() + args.timeout if args.timeout else None

    def done():
        return args.count and len(received.seen) >= args.count

    conn = None
    try:
        while not done():
            conn, listener = connect(args.hosts, lambda: PrintingListener(received, args.quiet))
            print("consumer: connected to %s, subscribing to %s" % (listener.host, args.destination),
                  flush=True)
            # Subscriptions belong to a connection: after a failover, subscribe again.
            conn.subscribe(args.destination, id="1", ack="client-individual")
            with received.cond:
                while not done() and not listener.dropped:
                    left = None if deadline is None else deadline - time.monotonic()
                    if left is not None and left <= 0:
                        sys.exit("consumer: timed out with %d of %d messages"
                                 % (len(received.seen), args.count))
                    received.cond.wait(left)
            if not done():
                print("consumer: lost %s: failing over" % listener.host, flush=True)
        conn.disconnect()
    except KeyboardInterrupt:
        pass
    counts = ", ".join("%s %d" % kv for kv in received.per_broker.items())
    print("consumer: %d distinct messages received (%d more than once); from each broker: %s"
          % (len(received.seen), received.again, counts or "none"), flush=True)


if __name__ == "__main__":
    main()
