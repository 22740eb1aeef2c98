// Paging (broker/page_store.h, broker/paging.cc): persistent ready messages leave
// memory above the limit and come back for their consumers in order, with priorities,
// expiry, NACK, purge, browse, move and dead-lettering keeping their meaning. The page
// store here is a fake that answers from the messages the recording sink kept (the
// journal's part is tested in test/unit/store/page_reader_test.cc).
#include "support.h"

#include "broker/memory_usage.h"
#include "broker/page_store.h"

#include <map>

using namespace twinmq;
using namespace twinmq::broker;
using namespace twinmq::broker::test;

namespace {

const std::string kBody(1000, 'x');

// Everything the sink saw is "durable" unless `durable_upto` says otherwise.
class FakePageStore final : public PageStore {
 public:
  explicit FakePageStore(RecordingSink& sink) : sink_(sink) {}

  bool can_page_out(std::uint64_t id) const override { return id <= durable_upto; }
  void page_in(std::string_view queue, std::span<const std::uint64_t> ids) override {
    requests.push_back(Request{std::string(queue), {ids.begin(), ids.end()}});
  }
  // Answers every request (and those its answers cause), reading from the sink.
  void answer_all(Broker& b, bool fail = false) {
    while (!requests.empty()) {
      Request r = std::move(requests.front());
      requests.erase(requests.begin());
      std::vector<MessageRef> msgs;
      for (std::uint64_t id : r.ids) msgs.push_back(fail ? MessageRef{} : find(id));
      ++answered;
      b.paged_in(r.queue, r.ids, msgs);
    }
  }
  MessageRef find(std::uint64_t id) const {
    for (const RecordedEvent& e : sink_.events) {
      if (e.message && e.message->id() == id) return e.message;
      for (const MessageRef& m : e.sends)
        if (m->id() == id) return m;
    }
    return {};
  }

  struct Request {
    std::string queue;
    std::vector<std::uint64_t> ids;
  };
  std::vector<Request> requests;
  std::uint64_t durable_upto = ~0ull;
  std::size_t answered = 0;

 private:
  RecordingSink& sink_;
};

struct PagingFixture : Fixture {
  PagingFixture() {
    memory_limit = 64 * 1024;
    broker = make_broker();
    broker->set_page_store(&store);
  }
  ~PagingFixture() { broker.reset(); }
  void send_persistent(ConnId c, std::string_view dest, std::string_view body, std::uint8_t priority = 4,
                       std::int64_t expires = 0) {
    auto r = send(c, dest, body, priority, {}, true, expires);
    REQUIRE(r.has_value());
    broker->page_out();  // as the journal does when a batch is durable
  }
  FakePageStore store{sink};
};

}  // namespace

TEST_CASE_FIXTURE(PagingFixture, "paging: a persistent backlog ten times the limit stays under it and drains in order") {
  RecordingClient p, c;
  ConnId pid = attach(p);
  constexpr int kMessages = 640;  // ~10x the 64 KiB limit
  for (int i = 0; i < kMessages; ++i) send_persistent(pid, "/queue/a", std::to_string(i) + kBody);
  const Broker::MemoryStats m = broker->memory_stats();
  CHECK(m.used < m.limit);
  CHECK(m.paged > kMessages / 2);
  CHECK(stat("/queue/a").depth == kMessages);

  ConnId cid = attach(c);
  subscribe_ok(cid, "s", "/queue/a", AckMode::auto_ack);
  // The head was kept in memory; the rest waits for the page store.
  CHECK(c.got.size() < kMessages);
  REQUIRE(!store.requests.empty());
  store.answer_all(*broker);
  REQUIRE(c.got.size() == kMessages);
  for (int i = 0; i < kMessages; ++i) CHECK(c.got[i].body == std::to_string(i) + kBody);
  CHECK(broker->memory_stats().used == 0);
  CHECK(broker->memory_stats().paged == 0);
}

TEST_CASE_FIXTURE(Fixture, "paging: a backlog that reaches the page-out mark in one long run strands nothing behind paged messages") {
  // Below 70 % of the limit nothing is paged, so the first page-out meets a resident
  // run of tens of thousands of messages, more than one page-out walks (4,096 entries
  // that cannot go). Paging the newest of it and stopping left the older part resident
  // behind the paged ones, where no later walk from the back reaches it: about a fifth
  // of the limit stranded for good (the 5 million message measurement ran out of memory
  // at 3.66 million).
  memory_limit = 8u << 20;
  broker = make_broker();
  RecordingSink& events = sink;
  struct AllDurable final : PageStore {
    bool can_page_out(std::uint64_t) const override { return true; }
    void page_in(std::string_view, std::span<const std::uint64_t>) override {}
  } store;
  broker->set_page_store(&store);
  RecordingClient p;
  ConnId pid = attach(p);
  const std::string body(100, 'y');
  constexpr int kMessages = 120'000;  // ~3.6 times the limit in bodies
  for (int i = 0; i < kMessages; ++i) {
    auto r = send(pid, "/queue/a", body, 4, {}, true, 0);
    REQUIRE_MESSAGE(r.has_value(), "message " << i << ": " << r.error().message);
    if (i % 500 == 499) {
      broker->page_out();  // as the journal does when a batch is durable
      events.events.clear();
    }
  }
  // What stays resident is the head kept at the last page-out (half the limit at most)
  // and the last batch; every other message is paged.
  const Broker::MemoryStats m = broker->memory_stats();
  const std::uint64_t resident = m.used - m.paged * kPagedEntryBytes;
  CHECK(resident <= m.limit / 2);
  CHECK(stat("/queue/a").depth == kMessages);
  broker->set_page_store(nullptr);
  broker.reset();
}

TEST_CASE_FIXTURE(PagingFixture, "paging: priorities hold across paged and resident messages") {
  RecordingClient p, c;
  ConnId pid = attach(p);
  for (int i = 0; i < 200; ++i) send_persistent(pid, "/queue/a", "low" + std::to_string(i) + kBody, 1);
  for (int i = 0; i < 200; ++i) send_persistent(pid, "/queue/a", "high" + std::to_string(i) + kBody, 8);
  CHECK(broker->memory_stats().paged > 0);
  ConnId cid = attach(c);
  subscribe_ok(cid, "s", "/queue/a", AckMode::auto_ack);
  store.answer_all(*broker);
  REQUIRE(c.got.size() == 400);
  for (int i = 0; i < 200; ++i) CHECK(c.got[i].body == "high" + std::to_string(i) + kBody);
  for (int i = 0; i < 200; ++i) CHECK(c.got[200 + i].body == "low" + std::to_string(i) + kBody);
}

TEST_CASE_FIXTURE(PagingFixture, "paging: a message not yet durable stays in memory; non-persistent ones are never paged") {
  RecordingClient p;
  ConnId pid = attach(p);
  store.durable_upto = 0;
  for (int i = 0; i < 50; ++i) send_persistent(pid, "/queue/a", kBody);
  CHECK(broker->memory_stats().paged == 0);
  store.durable_upto = ~0ull;
  broker->page_out();
  CHECK(broker->memory_stats().paged > 0);
  CHECK(broker->memory_stats().used < broker->memory_stats().limit);
  const std::size_t paged = broker->memory_stats().paged;
  for (int i = 0; i < 10; ++i) REQUIRE(send(pid, "/queue/b", kBody).has_value());
  broker->page_out();
  // Only /queue/a's persistent messages can go; /queue/b stays whole.
  CHECK(broker->memory_stats().paged >= paged);
  CHECK(stat("/queue/b").memory_used >= 10 * kBody.size());
}

TEST_CASE_FIXTURE(PagingFixture, "paging: NACKed and redelivered messages keep their place and flags with paging on") {
  RecordingClient p, c;
  ConnId pid = attach(p);
  for (int i = 0; i < 200; ++i) send_persistent(pid, "/queue/a", std::to_string(i));
  for (int i = 0; i < 200; ++i) send_persistent(pid, "/queue/a", kBody);
  ConnId cid = attach(c);
  subscribe_ok(cid, "s", "/queue/a", AckMode::client_individual, 5);
  store.answer_all(*broker);
  REQUIRE(c.got.size() == 5);
  REQUIRE(ack_tag(cid, c.got[0].ack_tag, true).has_value());  // NACK "0"
  broker->page_out();
  store.answer_all(*broker);
  REQUIRE(c.got.size() == 6);
  CHECK(c.got[5].body == "0");
  CHECK(c.got[5].redelivered);
}

TEST_CASE_FIXTURE(PagingFixture, "paging: a paged message that expires is removed by the sweep, never delivered") {
  RecordingClient p, c;
  ConnId pid = attach(p);
  for (int i = 0; i < 300; ++i) send_persistent(pid, "/queue/a", kBody, 4, i % 2 == 0 ? now + 1000 : 0);
  CHECK(broker->memory_stats().paged > 0);
  now += 2000;
  broker->tick(now);
  CHECK(stat("/queue/a").depth == 150);
  CHECK(stat("/queue/a").expired == 150);
  ConnId cid = attach(c);
  subscribe_ok(cid, "s", "/queue/a");
  store.answer_all(*broker);
  CHECK(c.got.size() == 150);
}

TEST_CASE_FIXTURE(PagingFixture, "paging: a page-in that could not read its messages is asked again at the next tick") {
  RecordingClient p, c;
  ConnId pid = attach(p);
  for (int i = 0; i < 300; ++i) send_persistent(pid, "/queue/a", kBody);
  ConnId cid = attach(c);
  subscribe_ok(cid, "s", "/queue/a");
  const std::size_t before = c.got.size();
  store.answer_all(*broker, true);
  CHECK(c.got.size() == before);
  CHECK(store.requests.empty());  // not asked again at once
  broker->tick(now);
  REQUIRE(!store.requests.empty());
  store.answer_all(*broker);
  CHECK(c.got.size() == 300);
}

TEST_CASE_FIXTURE(PagingFixture, "paging: browse shows paged messages as paged, purge removes them, move stops before them") {
  RecordingClient p;
  ConnId pid = attach(p);
  for (int i = 0; i < 300; ++i) send_persistent(pid, "/queue/a", kBody);
  auto b = broker->browse("/queue/a", 1000, 10);
  REQUIRE(b.has_value());
  REQUIRE(b->size() == 300);
  CHECK_FALSE(b->front().paged);
  const auto paged = std::find_if(b->begin(), b->end(), [](const BrowsedMessage& m) { return m.paged; });
  REQUIRE(paged != b->end());
  CHECK(paged->id_text == "ID:test-" + std::to_string(paged->id));
  CHECK(paged->body_preview.empty());

  auto moved = broker->move("/queue/a", "/queue/b", 0);
  REQUIRE(moved.has_value());
  CHECK(moved->messages > 0);
  CHECK(moved->messages < 300);
  CHECK(stat("/queue/a").depth == 300 - moved->messages);

  auto purged = broker->purge("/queue/a");
  REQUIRE(purged.has_value());
  CHECK(purged->messages == 300 - moved->messages);
  CHECK(stat("/queue/a").depth == 0);
  CHECK(stat("/queue/a").memory_used == 0);
}

TEST_CASE_FIXTURE(PagingFixture, "paging: a slave's paged message that is dead-lettered stays paged in the DLQ and comes back readdressed") {
  // The deciding side: a message dead-lettered after too many deliveries.
  policy.maximum_redeliveries = 0;
  Fixture master;
  master.policy.maximum_redeliveries = 0;
  master.broker = master.make_broker();
  RecordingClient p, c;
  ConnId pid = master.attach(p);
  for (int i = 0; i < 200; ++i) REQUIRE(master.send(pid, "/queue/a", kBody, 4, {}, true).has_value());
  ConnId cid = master.attach(c);
  master.subscribe_ok(cid, "s", "/queue/a", AckMode::client_individual, 1);
  for (std::size_t i = 0; i < 150; ++i) {
    REQUIRE(c.got.size() == i + 1);
    REQUIRE(master.ack_tag(cid, c.got[i].ack_tag).has_value());
  }
  REQUIRE(c.got.size() == 151);
  REQUIRE(master.ack_tag(cid, c.got[150].ack_tag, true).has_value());  // NACK: to the DLQ

  // The slave applies the events, paging as it goes; its page store is this fixture's.
  for (RecordedEvent& e : master.sink.events) {
    broker->apply(e.to_event());
    if (e.message) sink.on_event(e.seq, e.to_event());  // what the fake store reads from
    broker->page_out();
  }
  CHECK(broker->memory_stats().paged > 0);
  CHECK(stat("/queue/DLQ").depth == 1);
  auto in_dlq = broker->browse("/queue/DLQ", 10, 10);
  REQUIRE(in_dlq.has_value());
  REQUIRE(in_dlq->size() == 1);
  CHECK(in_dlq->front().paged);
  RecordingClient d;
  ConnId did = attach(d);
  subscribe_ok(did, "s", "/queue/DLQ");
  store.answer_all(*broker);
  REQUIRE(d.got.size() == 1);
  CHECK(d.got[0].id == c.got[150].id);
  CHECK(d.got[0].destination == "/queue/DLQ");
  broker->detach(did);
  master.broker->detach(cid);
}
