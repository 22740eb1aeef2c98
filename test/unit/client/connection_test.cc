// client::StompConnection on a loop the test drives: many connections per loop,
// receipts by number, back-pressure, and a clean loop close.
#include <doctest.h>

#include <memory>
#include <vector>

#include "client/connection.h"
#include "fake_broker.h"
#include "net/loop.h"
#include "net/tcp_connection.h"
#include "net/timer.h"

using namespace twinmq;
using namespace twinmq::client;
using twinmq::test::FakeBroker;

namespace {

// Runs the loop until `done` or a 5 s deadline; `done` is re-checked after every
// loop turn (each condition here becomes true in an I/O callback, which ends a turn).
template <class Done>
bool run_until(net::Loop& loop, Done done) {
  bool timed_out = false;
  auto guard = net::Timer::create(loop);
  guard->start(5000, 0, [&] { timed_out = true; loop.stop(); });
  while (!done() && !timed_out) uv_run(loop.uv(), UV_RUN_ONCE);
  return done();
}

struct Counter : StompListener {
  int connected = 0, receipts = 0, messages = 0, closed = 0, writable = 0;
  std::vector<CloseReason> reasons;
  void on_connected(StompConnection&, const stomp::Frame&) override { ++connected; }
  void on_message(StompConnection&, const stomp::Frame&) override { ++messages; }
  void on_receipt(StompConnection& c, std::string_view id) override {
    CHECK(StompConnection::receipt_number(id) != 0);
    (void)c;
    ++receipts;
  }
  void on_writable(StompConnection&) override { ++writable; }
  void on_closed(StompConnection&, const CloseInfo& why) override {
    ++closed;
    reasons.push_back(why.reason);
  }
};

}  // namespace

TEST_CASE("receipt ids round-trip through receipt_number; foreign ids map to 0") {
  CHECK(StompConnection::receipt_number("r1") == 1);
  CHECK(StompConnection::receipt_number("r18446744073709551615") == 18446744073709551615ull);
  CHECK(StompConnection::receipt_number("mine") == 0);
  CHECK(StompConnection::receipt_number("r") == 0);
  CHECK(StompConnection::receipt_number("r12x") == 0);
}

TEST_CASE("fifty connections share one loop: connect, subscribe, send, receive, close") {
  FakeBroker b;
  net::Loop loop;
  Counter counter;
  auto addr = net::resolve("127.0.0.1", b.port());
  REQUIRE(addr);
  std::vector<std::unique_ptr<StompConnection>> conns;
  for (int i = 0; i < 50; ++i) {
    conns.push_back(std::make_unique<StompConnection>(loop, counter));
    conns.back()->open(reinterpret_cast<const sockaddr*>(&*addr), {}, "127.0.0.1");
  }
  REQUIRE(run_until(loop, [&] { return counter.connected == 50; }));
  for (auto& c : conns) {
    CHECK(c->is_connected());
    CHECK(c->version() == stomp::Version::v1_2);
    c->subscribe("/topic/all", "t", AckMode::auto_ack, {}, true);
  }
  REQUIRE(run_until(loop, [&] { return counter.receipts == 50; }));
  const stomp::Header extra[] = {{"k", "v"}};
  const std::uint64_t n = conns[0]->send({.destination = "/topic/all", .body = "to all", .receipt = true, .headers = extra});
  CHECK(n != 0);
  REQUIRE(run_until(loop, [&] { return counter.messages == 50 && counter.receipts == 51; }));
  for (auto& c : conns) c->disconnect(true);
  REQUIRE(run_until(loop, [&] { return counter.closed == 50; }));
  for (CloseReason r : counter.reasons) CHECK(r == CloseReason::requested);
  conns.clear();
  CHECK(loop.shutdown() == 0);
}

TEST_CASE("frames written before CONNECTED are dropped, not sent") {
  FakeBroker b({.answer_connect = false});
  net::Loop loop;
  Counter counter;
  auto addr = net::resolve("127.0.0.1", b.port());
  REQUIRE(addr);
  auto c = std::make_unique<StompConnection>(loop, counter);
  c->open(reinterpret_cast<const sockaddr*>(&*addr), {.timeout = std::chrono::milliseconds(100)}, "h");
  CHECK(c->send({.destination = "/queue/a", .body = "early", .receipt = true}) == 0);
  REQUIRE(run_until(loop, [&] { return counter.closed == 1; }));
  CHECK(counter.reasons[0] == CloseReason::connect_timeout);
  CHECK(b.frames(stomp::Command::send).empty());
  c.reset();
  CHECK(loop.shutdown() == 0);
}

TEST_CASE("back-pressure: writable() goes false when the broker stops reading, on_writable once it reads again") {
  FakeBroker b({.pause_reading_after_connect = true});
  net::Loop loop;
  Counter counter;
  auto addr = net::resolve("127.0.0.1", b.port());
  REQUIRE(addr);
  auto c = std::make_unique<StompConnection>(loop, counter);
  c->set_watermarks({.high = 64u << 10, .low = 16u << 10});
  c->open(reinterpret_cast<const sockaddr*>(&*addr), {}, "h");
  REQUIRE(run_until(loop, [&] { return counter.connected == 1; }));
  const std::string body(1024, 'b');
  // Fill a turn's worth at a time until a whole turn leaves the output above the
  // mark: the socket buffers are full and the broker is not reading.
  std::size_t written = 0;
  bool stuck = false;
  while (!stuck && written < (256u << 20)) {
    while (c->writable()) {
      c->send({.destination = "/queue/full", .body = body});
      written += body.size();
    }
    uv_run(loop.uv(), UV_RUN_NOWAIT);
    stuck = !c->writable();
  }
  REQUIRE(stuck);
  CHECK(c->queued_bytes() >= (64u << 10));
  counter.writable = 0;  // batches that drained while the socket still had room
  b.resume_reading();
  REQUIRE(run_until(loop, [&] { return counter.writable > 0; }));
  CHECK(c->writable());
  CHECK(c->queued_bytes() < (16u << 10));
  c->close();
  REQUIRE(run_until(loop, [&] { return counter.closed == 1; }));
  c.reset();
  CHECK(loop.shutdown() == 0);
}

TEST_CASE("destroying a connection mid-flight closes it without a callback") {
  FakeBroker b;
  net::Loop loop;
  Counter counter;
  auto addr = net::resolve("127.0.0.1", b.port());
  REQUIRE(addr);
  auto c = std::make_unique<StompConnection>(loop, counter);
  c->open(reinterpret_cast<const sockaddr*>(&*addr), {}, "h");
  REQUIRE(run_until(loop, [&] { return counter.connected == 1; }));
  c.reset();
  CHECK(loop.shutdown() == 0);
  CHECK(counter.closed == 0);
}
