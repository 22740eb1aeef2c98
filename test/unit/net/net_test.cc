// Unit tests for src/net: real sockets on loopback, one loop, no sleeps — every wait
// is the loop running until the test's own condition stops it (bounded by a timer).
#include <doctest.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "net/async_queue.h"
#include "net/loop.h"
#include "net/tcp_connection.h"
#include "net/side_writer.h"
#include "net/tcp_listener.h"
#include "net/timer.h"

using namespace twinmq;
using namespace twinmq::net;

namespace {

// Runs the loop until `done` or a 5 s deadline (a failing test must not hang).
template <class Pred>
bool run_until(Loop& loop, Pred done) {
  bool timed_out = false;
  auto guard = Timer::create(loop);
  guard->start(5000, 0, [&] { timed_out = true; loop.stop(); });
  auto poll = Timer::create(loop);
  poll->start(1, 1, [&] { if (done()) loop.stop(); });
  loop.run();
  return !timed_out && done();
}

struct Recorder : ConnectionHandler {
  std::string got;
  int connected = 1;
  bool closed = false;
  int close_status = 0;
  bool drained = false;
  TcpConnection* conn = nullptr;
  void on_connected(int status) override { connected = status; }
  void on_data(std::string_view b) override { got.append(b); }
  void on_drained() override { drained = true; }
  void on_close(int status) override { closed = true; close_status = status; conn = nullptr; }
};

// Server side: echoes everything back.
struct Echo : ConnectionHandler {
  TcpConnection* conn = nullptr;
  bool closed = false;
  void on_data(std::string_view b) override {
    conn->output().append(b);
    conn->commit_output();
  }
  void on_close(int) override { closed = true; conn = nullptr; }
};

}  // namespace

TEST_CASE("listener on port 0 reports the bound port, echo round trip, clean loop close") {
  Loop loop;
  Echo echo;
  auto l = TcpListener::listen(loop, "127.0.0.1", 0, [&](TcpListener& self) {
    echo.conn = TcpConnection::accept(loop, self.stream(), &echo);
  });
  REQUIRE(l.has_value());
  CHECK((*l)->port() != 0);
  auto addr = resolve("127.0.0.1", (*l)->port());
  REQUIRE(addr.has_value());
  Recorder client;
  client.conn = TcpConnection::connect(loop, reinterpret_cast<sockaddr*>(&*addr), &client);
  REQUIRE(run_until(loop, [&] { return client.connected == 0; }));
  std::string payload(200000, 'x');
  for (std::size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<char>('a' + i % 26);
  client.conn->output().append(payload);
  client.conn->commit_output();
  REQUIRE(run_until(loop, [&] { return client.got.size() == payload.size(); }));
  CHECK(client.got == payload);
  client.conn->close();
  REQUIRE(run_until(loop, [&] { return client.closed && echo.closed; }));
  l->reset();
  CHECK(loop.shutdown() == 0);
}

TEST_CASE("close_after_flush delivers queued output before closing") {
  Loop loop;
  struct Farewell : ConnectionHandler {
    TcpConnection* conn = nullptr;
    bool closed = false;
    void on_data(std::string_view) override {
      conn->output().append("ERROR\nmessage:bye\n\n");
      conn->output().push_back('\0');
      conn->commit_output();
      conn->close_after_flush();
    }
    void on_close(int) override { closed = true; }
  } server;
  auto l = TcpListener::listen(loop, "127.0.0.1", 0, [&](TcpListener& self) {
    server.conn = TcpConnection::accept(loop, self.stream(), &server);
  });
  REQUIRE(l.has_value());
  auto addr = resolve("127.0.0.1", (*l)->port());
  Recorder client;
  client.conn = TcpConnection::connect(loop, reinterpret_cast<sockaddr*>(&*addr), &client);
  REQUIRE(run_until(loop, [&] { return client.connected == 0; }));
  client.conn->output().append("garbage\n");
  client.conn->commit_output();
  REQUIRE(run_until(loop, [&] { return client.closed; }));
  CHECK(client.got.find("message:bye") != std::string::npos);
  CHECK(client.close_status == UV_EOF);
  CHECK(server.closed);
  l->reset();
  CHECK(loop.shutdown() == 0);
}

TEST_CASE("connecting to a closed port reports ECONNREFUSED, then closes") {
  Loop loop;
  std::uint16_t port = 0;
  {
    auto l = TcpListener::listen(loop, "127.0.0.1", 0, [](TcpListener&) {});
    REQUIRE(l.has_value());
    port = (*l)->port();
  }
  auto addr = resolve("127.0.0.1", port);
  Recorder client;
  TcpConnection::connect(loop, reinterpret_cast<sockaddr*>(&*addr), &client);
  REQUIRE(run_until(loop, [&] { return client.closed; }));
  CHECK(client.connected == UV_ECONNREFUSED);
  CHECK(loop.shutdown() == 0);
}

TEST_CASE("bind to an address in use names the address") {
  Loop loop;
  auto a = TcpListener::listen(loop, "127.0.0.1", 0, [](TcpListener&) {});
  REQUIRE(a.has_value());
  auto b = TcpListener::listen(loop, "127.0.0.1", (*a)->port(), [](TcpListener&) {});
  REQUIRE_FALSE(b.has_value());
  CHECK(b.error().message.find("127.0.0.1:" + std::to_string((*a)->port())) != std::string::npos);
  CHECK(b.error().message.find("address already in use") != std::string::npos);
  a->reset();
  CHECK(loop.shutdown() == 0);
}

TEST_CASE("async queue delivers every item pushed from another thread") {
  Loop loop;
  std::size_t received = 0;
  std::uint64_t sum = 0;
  auto q = AsyncQueue<int>::create(loop, [&](std::vector<int>& items) {
    received += items.size();
    for (int i : items) sum += static_cast<std::uint64_t>(i);
  });
  std::thread producer([&] {
    for (int i = 1; i <= 10000; ++i) q->push(i);
  });
  bool ok = run_until(loop, [&] { return received == 10000; });
  producer.join();
  CHECK(ok);
  CHECK(sum == 10000ull * 10001 / 2);
  q.reset();
  CHECK(loop.shutdown() == 0);
}

TEST_CASE("shutdown closes handles that are still open") {
  Loop loop;
  auto t = Timer::create(loop);
  t->start(100000, 0, [] {});
  auto l = TcpListener::listen(loop, "127.0.0.1", 0, [](TcpListener&) {});
  REQUIRE(l.has_value());
  // Release ownership without closing: shutdown must still close and free them.
  t.release();
  (void)l->release();
  CHECK(loop.shutdown() == 0);
}

TEST_CASE("prepare hooks run by their order, equal orders in registration order") {
  Loop loop;
  std::vector<int> calls;
  loop.add_prepare_hook([&] { calls.push_back(3); });  // default order: last
  loop.add_prepare_hook([&] { calls.push_back(1); }, 1);
  loop.add_prepare_hook([&] { calls.push_back(0); }, 0);
  loop.add_prepare_hook([&] { calls.push_back(2); }, 1);
  CHECK(run_until(loop, [&] { return calls.size() >= 4; }));
  REQUIRE(calls.size() >= 4);
  CHECK(std::vector<int>(calls.begin(), calls.begin() + 4) == std::vector<int>{0, 1, 2, 3});
}

TEST_CASE("after-flush hooks run once the turn's output is flushed, and what they release goes out in that turn") {
  // The journal's hand-off to its writer runs after the socket writes (the slave gets its
  // events before the writer is woken); a receipt it releases must not wait a turn.
  struct Recorder final : Flushable {
    Recorder(std::vector<std::string>& c, std::string n) : calls(c), name(std::move(n)) {}
    std::vector<std::string>& calls;
    std::string name;
    void flush() override { calls.push_back(name); }
  };
  Loop loop;
  std::vector<std::string> calls;
  Recorder early(calls, "flush early");
  Recorder late(calls, "flush late");
  loop.add_prepare_hook([&] {
    calls.push_back("after-flush hook");
    loop.want_flush(&late);
  }, Loop::kAfterFlush);
  loop.add_prepare_hook([&] {
    calls.push_back("hook");
    loop.want_flush(&early);
  }, 1);
  CHECK(run_until(loop, [&] { return calls.size() >= 4; }));
  REQUIRE(calls.size() >= 4);
  CHECK(std::vector<std::string>(calls.begin(), calls.begin() + 4) ==
        std::vector<std::string>{"hook", "flush early", "after-flush hook", "flush late"});
}

namespace {

// "<tag:n:fill...>": a frame whose length says where it ends, so the reader can tell a
// whole frame from a cut or interleaved one.
std::string framed(char tag, int n, std::size_t size) {
  std::string body = std::string(1, tag) + ":" + std::to_string(n) + ":";
  body.resize(size, tag);
  return "<" + body + ">";
}

// Splits a stream of framed() frames; false if one is cut or another starts inside it.
bool split_frames(const std::string& s, std::vector<std::string>& out) {
  std::size_t at = 0;
  while (at < s.size()) {
    if (s[at] != '<') return false;
    const std::size_t end = s.find('>', at);
    if (end == std::string::npos || s.find('<', at + 1) < end) return false;
    out.push_back(s.substr(at + 1, end - at - 1));
    at = end + 1;
  }
  return true;
}

// A client Recorder connected over loopback to a server Recorder; the listener stays
// open until the test resets it.
HandlePtr<TcpListener> connect_recorders(Loop& loop, Recorder& server, Recorder& client) {
  auto l = TcpListener::listen(loop, "127.0.0.1", 0, [&loop, &server](TcpListener& self) {
    server.conn = TcpConnection::accept(loop, self.stream(), &server);
  });
  REQUIRE(l.has_value());
  auto addr = resolve("127.0.0.1", (*l)->port());
  REQUIRE(addr.has_value());
  client.conn = TcpConnection::connect(loop, reinterpret_cast<sockaddr*>(&*addr), &client);
  REQUIRE(run_until(loop, [&] { return client.connected == 0 && server.conn != nullptr; }));
  return std::move(*l);
}

}  // namespace

TEST_CASE("side writer: frames written from another thread arrive whole, between the loop's own writes") {
  Loop loop;
  Recorder server, client;
  auto l = connect_recorders(loop, server, client);
  std::shared_ptr<SideWriter> side = client.conn->side_writer();
  REQUIRE(side != nullptr);
  CHECK(client.conn->side_writer() == side);  // one per connection

  // The loop writes large frames (partial writes, uv_write) while another thread keeps
  // sending small ones; a side frame refused meanwhile is simply tried again.
  constexpr int kSide = 300, kLoop = 40;
  std::atomic<int> side_sent{0};
  std::thread other([&] {
    for (int i = 0; i < kSide;) {
      if (side->send(framed('s', i, 40)) != SideWriter::Sent::not_sent) ++i;
      else std::this_thread::yield();
      side_sent = i;
    }
  });
  int loop_sent = 0;
  auto writer = Timer::create(loop);
  writer->start(1, 1, [&] {
    if (loop_sent == kLoop || client.conn == nullptr) return;
    client.conn->output() += framed('L', loop_sent++, 256u << 10);
    client.conn->commit_output();
  });
  std::size_t expected = 0;
  for (int i = 0; i < kSide; ++i) expected += framed('s', i, 40).size();
  for (int i = 0; i < kLoop; ++i) expected += framed('L', i, 256u << 10).size();
  const bool all = run_until(loop, [&] { return server.got.size() >= expected; });
  other.join();
  REQUIRE(all);
  writer.reset();
  std::vector<std::string> frames;
  REQUIRE(split_frames(server.got, frames));
  std::vector<std::string> sides, loops;
  for (const auto& f : frames) (f[0] == 's' ? sides : loops).push_back(f);
  REQUIRE(sides.size() == kSide);
  REQUIRE(loops.size() == kLoop);
  for (int i = 0; i < kSide; ++i) CHECK(sides[i] == framed('s', i, 40).substr(1, 40));
  for (int i = 0; i < kLoop; ++i) CHECK(loops[i].size() == 256u << 10);
  CHECK(side->frames() == kSide);

  client.conn->close();
  REQUIRE(run_until(loop, [&] { return client.closed && server.closed; }));
  // After the close nothing reaches the (closed, maybe reused) descriptor.
  CHECK(side->send(framed('s', 0, 40)) == SideWriter::Sent::not_sent);
  l.reset();
  CHECK(loop.shutdown() == 0);
}

TEST_CASE("side writer: a frame the full socket takes only in part is finished by the loop before its own bytes") {
  Loop loop;
  Recorder server, client;
  auto l = connect_recorders(loop, server, client);
  server.conn->pause_reading();
  auto side = client.conn->side_writer();
  REQUIRE(side != nullptr);
  // Far more than the socket buffers hold while nobody reads: only a part goes.
  const std::string big = framed('s', 1, 64u << 20);
  REQUIRE(side->send(big) == SideWriter::Sent::partly);
  CHECK(side->send(framed('s', 2, 40)) == SideWriter::Sent::not_sent);  // the rest goes first
  client.conn->output() += framed('L', 1, 100);
  client.conn->commit_output();
  server.conn->resume_reading();
  const std::size_t expected = big.size() + framed('L', 1, 100).size();
  REQUIRE(run_until(loop, [&] { return server.got.size() >= expected; }));
  std::vector<std::string> frames;
  REQUIRE(split_frames(server.got, frames));
  REQUIRE(frames.size() == 2);
  CHECK(frames[0].size() == (64u << 20));
  CHECK(frames[1] == framed('L', 1, 100).substr(1, 100));
  client.conn->close();
  REQUIRE(run_until(loop, [&] { return client.closed && server.closed; }));
  l.reset();
  CHECK(loop.shutdown() == 0);
}
