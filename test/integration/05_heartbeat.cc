// 05 — heart-beating in both directions (STOMP 1.1+). The test brokers offer 300 ms
// (transport.heartBeat=300) and allow 1.5 intervals of silence.
#include <thread>

#include "common.h"

using namespace twinmq::test;

namespace {

// Waits for `c` to have received `n` heart-beats in all; no frame may come meanwhile.
bool await_heartbeats(RawStomp& c, std::size_t n, Ms timeout) {
  const bool ok = c.wait_heartbeats(n, timeout);
  while (auto f = c.next_frame(Ms(0))) FAIL_CHECK("unexpected frame while waiting for heart-beats: " << f->describe());
  return ok;
}

}  // namespace

TEST_CASE("05 heartbeat: the broker sends EOL heart-beats to a client that asks for them") {
  BrokerProcess broker;
  RawStomp wants(broker.port());
  auto connected = wants.connect("1.2", {{"heart-beat", "0,300"}});
  CHECK(connected["heart-beat"] == "300,300");
  RawStomp wants_none(broker.port());
  wants_none.connect("1.2", {{"heart-beat", "0,0"}});
  CHECK(await_heartbeats(wants, 3, Ms(5000)));
  // The client that wants none got none in the same time.
  CHECK_FALSE(wants_none.next_frame(Ms(0)).has_value());
  CHECK(wants_none.heartbeats() == 0);
}

TEST_CASE("05 heartbeat: heart-beats keep flowing to a 1.1 client and while messages flow") {
  BrokerProcess broker;
  RawStomp c(broker.port());
  CHECK(c.connect("1.1", {{"heart-beat", "0,200"}})["version"] == "1.1");
  CHECK(await_heartbeats(c, 2, Ms(5000)));
  c.subscribe("/queue/hb", "s");
  c.send("/queue/hb", "between beats");
  CHECK(c.message().body == "between beats");
  const auto before = c.heartbeats();
  CHECK(await_heartbeats(c, before + 2, Ms(5000)));
}

TEST_CASE("05 heartbeat: a client that promised heart-beats and falls silent gets an ERROR and is closed") {
  BrokerProcess broker;
  auto other = client(broker, "1.2");  // must not be disturbed
  other->subscribe("/queue/hb.other", "s");
  RawStomp silent(broker.port());
  silent.connect("1.2", {{"heart-beat", "300,0"}});
  silent.send("/queue/hb.kept", "accepted before going silent");
  // Expected within 300 ms x 1.5 of the last byte; the 5 s bound only limits a failure.
  auto f = silent.next_frame(Ms(5000));
  REQUIRE_MESSAGE(f.has_value(), "no ERROR for a silent client (" << silent.close_reason() << ")");
  check_error(f, "heart", {});
  CHECK(silent.wait_closed());

  other->send("/queue/hb.other", "fine");
  CHECK(other->message().body == "fine");
  other->subscribe("/queue/hb.kept", "k");
  CHECK(other->message().body == "accepted before going silent");
}

TEST_CASE("05 heartbeat: a client that beats (LF or CRLF) or sends frames stays connected") {
  BrokerProcess broker;
  RawStomp beats(broker.port());
  beats.connect("1.2", {{"heart-beat", "300,0"}});
  RawStomp frames(broker.port());
  frames.connect("1.2", {{"heart-beat", "300,0"}});
  // 1.5 s is five intervals: without the beats both would be dropped.
  const auto until = Clock::now() + Ms(1500);
  int i = 0;
  while (Clock::now() < until) {
    REQUIRE(beats.send_raw(i % 2 ? "\r\n" : "\n"));
    REQUIRE(frames.send_raw(frame_bytes("SEND", {{"destination", "/topic/hb.activity"}}, "tick")));
    ++i;
    std::this_thread::sleep_for(Ms(100));  // pacing the beats, not synchronisation
  }
  CHECK(beats.request("SEND", {{"destination", "/topic/hb.x"}})["receipt-id"].starts_with("rcpt-"));
  CHECK(frames.request("SEND", {{"destination", "/topic/hb.x"}})["receipt-id"].starts_with("rcpt-"));
  CHECK_FALSE(beats.closed());
  CHECK_FALSE(frames.closed());
}

TEST_CASE("05 heartbeat: the expected interval is max(client's cx, server's sy)") {
  BrokerProcess broker;  // offers 300,300
  RawStomp slow(broker.port());
  slow.connect("1.2", {{"heart-beat", "1500,0"}});
  // The client promised a beat every 1500 ms: 700 ms of silence is within its promise
  // (a broker using its own 300 ms would have dropped it after 450 ms).
  std::this_thread::sleep_for(Ms(700));
  CHECK(slow.request("SEND", {{"destination", "/topic/hb.y"}})["receipt-id"].starts_with("rcpt-"));
}

TEST_CASE("05 heartbeat: a client that wants no heart-beats is not dropped for silence") {
  BrokerProcess broker;
  RawStomp quiet(broker.port());
  quiet.connect("1.2", {{"heart-beat", "0,0"}});
  RawStomp v10(broker.port());
  v10.connect("");
  std::this_thread::sleep_for(Ms(1000));  // > 3 x the broker's 300 ms: time must pass
  CHECK(quiet.request("SEND", {{"destination", "/topic/hb.z"}})["receipt-id"].starts_with("rcpt-"));
  CHECK(v10.request("SEND", {{"destination", "/topic/hb.z"}})["receipt-id"].starts_with("rcpt-"));
}

TEST_CASE("05 heartbeat: the broker follows a fast client's rate, down to transport.minHeartBeat") {
  BrokerConfig cfg;
  cfg.set("transport.heartBeat", "10000");  // the default offer: a client asking for less gets less
  BrokerProcess broker(cfg);
  RawStomp both(broker.port());
  CHECK(both.connect("1.2", {{"heart-beat", "400,400"}})["heart-beat"] == "400,400");
  // A client that only wants to hear from us (it sends no beats, so the broker does not
  // drop it while this test reads): 400 ms agreed, and beats arrive (a broker that
  // offered 10 s would send none within the 5 s bound).
  RawStomp fast(broker.port());
  CHECK(fast.connect("1.2", {{"heart-beat", "0,400"}})["heart-beat"] == "400,10000");
  CHECK(await_heartbeats(fast, 3, Ms(5000)));
  RawStomp faster(broker.port());
  CHECK(faster.connect("1.2", {{"heart-beat", "10,10"}})["heart-beat"] == "100,100");  // the default floor

  BrokerConfig floor_cfg;
  floor_cfg.set("transport.heartBeat", "10000");
  floor_cfg.set("transport.minHeartBeat", "250");
  BrokerProcess floored(floor_cfg);
  RawStomp c(floored.port());
  CHECK(c.connect("1.2", {{"heart-beat", "100,100"}})["heart-beat"] == "250,250");
}

TEST_CASE("05 heartbeat: a client that asked for 400 ms and falls silent is dropped in about a second, not 15 s") {
  BrokerConfig cfg;
  cfg.set("transport.heartBeat", "10000");
  BrokerProcess broker(cfg);
  RawStomp silent(broker.port());
  silent.connect("1.2", {{"heart-beat", "400,0"}});
  // Expected after 400 ms x 1.5 of silence; the 5 s bound only limits a failure (with the
  // old fixed 10 s offer it would take 15 s).
  auto f = silent.next_frame(Ms(5000));
  REQUIRE_MESSAGE(f.has_value(), "no ERROR for a silent client (" << silent.close_reason() << ")");
  check_error(f, "heart", {});
}
