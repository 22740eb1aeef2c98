// EventLog numbering and sinks.
#include "support.h"

using namespace twinmq;
using namespace twinmq::broker;
using namespace twinmq::broker::test;

TEST_CASE("event log numbers events and hands them to every sink in order") {
  EventLog log;
  RecordingSink a, b;
  log.add_sink(&a);
  log.add_sink(&b);
  log.add_sink(&a);  // registering twice does not duplicate
  CHECK(log.append(DestinationAdded{"/queue/a"}) == Seq{1});
  CHECK(log.append(DestinationAdded{"/queue/b"}) == Seq{2});
  log.remove_sink(&b);
  CHECK(log.append(DestinationRemoved{"/queue/a"}) == Seq{3});
  CHECK(log.last() == Seq{3});
  REQUIRE(a.events.size() == 3);
  CHECK(b.events.size() == 2);
  CHECK(a.events[1].seq == Seq{2});
  CHECK(a.events[1].a == "/queue/b");
  log.reset_last(Seq{100});
  CHECK(log.append(DestinationAdded{"/queue/c"}) == Seq{101});
}

namespace {

// A sink that can take back its last event when `can` says so, and records what it was
// asked to cancel.
class CancellingSink final : public EventSink {
 public:
  bool can = true;
  std::vector<Seq> seen;
  std::vector<std::pair<Seq, Seq>> cancelled;
  bool replaced = false;
  std::uint64_t next_id = 0;
  void on_event(Seq seq, const Event&) override { seen.push_back(seq); }
  bool can_cancel(Seq enqueued) const override { return can && !seen.empty() && seen.back() == enqueued; }
  void cancel(const Cancellation& c) override {
    seen.pop_back();
    cancelled.emplace_back(c.enqueued, c.removed);
    replaced = c.replacement != nullptr;
    next_id = c.next_message_id;
  }
};

}  // namespace

TEST_CASE("event log: a removal that undoes the last event cancels the pair only when every sink can") {
  EventLog log;
  CancellingSink journal, link;
  log.add_sink(&link, SinkOrder::replication);
  log.add_sink(&journal, SinkOrder::journal);
  log.append(DestinationAdded{"/queue/a"});
  log.append(DestinationAdded{"/queue/b"});
  const MessageRemoved removal{"/queue/a", 7, true, RemovalReason::acked};

  CHECK(log.append_consumed(removal, nullptr, 8) == Seq{3});
  CHECK(log.cancelled() == 1);
  CHECK(journal.cancelled == std::vector<std::pair<Seq, Seq>>{{Seq{2}, Seq{3}}});
  CHECK(link.cancelled == journal.cancelled);
  CHECK(link.next_id == 8);
  CHECK_FALSE(link.replaced);
  CHECK(journal.seen == std::vector<Seq>{Seq{1}});

  // One sink that cannot (its batch went out): both get the removal as an event.
  log.append(DestinationAdded{"/queue/c"});
  link.can = false;
  const DuplicateId ids[] = {{"d", true}};
  const Event replacement = DuplicateIdsRecorded{"/queue/a", ids, 10, false, true};
  CHECK(log.append_consumed(removal, &replacement, 9) == Seq{5});
  CHECK(log.cancelled() == 1);
  CHECK(journal.cancelled.size() == 1);
  CHECK(journal.seen == std::vector<Seq>{Seq{1}, Seq{4}, Seq{5}});
  CHECK(link.seen == std::vector<Seq>{Seq{1}, Seq{4}, Seq{5}});
}

TEST_CASE("broker: an auto-acknowledged delivery in the SEND's own call is a consumed pair; others are not") {
  Fixture f;
  f.broker = f.make_broker(/*with_sink=*/false);  // a RecordingSink takes part in no cancellation
  EventLog& log = f.broker->event_log();
  CancellingSink sink;
  log.add_sink(&sink);
  RecordingClient c;
  const ConnId conn = f.broker->attach(c, "c");
  SubscribeRequest sub;
  sub.id = "s";
  sub.destination = "/queue/a";
  REQUIRE(f.broker->subscribe(conn, sub).has_value());
  SendRequest r;
  r.destination = "/queue/a";
  r.body = "x";
  r.persistent = true;
  auto seq = f.broker->send(conn, r);
  REQUIRE(seq.has_value());
  REQUIRE(c.got.size() == 1);
  CHECK(log.cancelled() == 1);
  REQUIRE(sink.cancelled.size() == 1);
  CHECK(sink.cancelled[0].first == *seq);  // the RECEIPT waits for the enqueue's seq as before
  CHECK(sink.cancelled[0].second == Seq{seq->value + 1});
  CHECK(sink.next_id == f.broker->next_message_id());

  // Non-persistent: not a pair (the journal never had it).
  r.persistent = false;
  REQUIRE(f.broker->send(conn, r).has_value());
  CHECK(log.cancelled() == 1);
  f.broker->detach(conn);
  log.remove_sink(&sink);
}
