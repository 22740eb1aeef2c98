// 06 — bad input. Every case checks the same four things a user relies on:
//  1. the offending connection gets an ERROR with a `message` header and a body that
//     names the problem (and `receipt-id` when the bad frame carried a receipt and
//     could be parsed),
//  2. the broker then closes that connection, sending nothing after the ERROR,
//  3. another connection open at the same time is undisturbed,
//  4. messages accepted before (from another connection and from the offending one)
//     are still delivered.
// The brokers here run with small limits: 64 KiB frames, 4 KiB header sections,
// 20 headers, and a 500 ms connect timeout.
#include <random>
#include <regex>
#include <set>

#include "common.h"

// g++ 12 warns about designated initializers that leave members to their default
// member initializers (GCC bug 96868, fixed in 13); that is exactly the intent here.
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

using namespace twinmq::test;

namespace {

enum class Expect {
  error,           // an ERROR, then close
  closed,          // closed without a frame being required (connect timeout)
  error_or_closed  // ERROR and close, or just close (garbage that never ends a line)
};

struct BadInput {
  std::string version = "1.2";  // CONNECT first with this version ("1.0": no accept-version); "-": no CONNECT
  std::string bytes;            // what the offending client sends next
  std::vector<std::string> mention;  // one of these appears in the ERROR message header or body
  std::vector<std::string> body_has; // each appears in the ERROR body
  std::string receipt_id;            // expected receipt-id ("" = not checked)
  Expect expect = Expect::error;
  Ms close_within{5000};
};

BrokerConfig bad_input_config() {
  BrokerConfig cfg;
  cfg.set("transport.connectAttemptTimeout", "500")
      .set("wireFormat.maxFrameSize", "65536")
      .set("wireFormat.maxHeaders", "20")
      .set("wireFormat.maxHeaderSize", "4096");
  return cfg;
}

void check_bad_input(const BadInput& c) {
  BrokerProcess broker(bad_input_config());
  auto observer = client(broker, "1.2");
  observer->subscribe("/queue/bad.live", "live");
  auto producer = client(broker, "1.1");
  producer->send("/queue/bad.before", "from-producer");

  RawStomp bad(broker.port());
  std::set<std::string> accepted{"from-producer"};
  if (c.version != "-") {
    bad.connect(c.version == "1.0" ? "" : c.version);
    bad.send("/queue/bad.before", "from-offender");
    accepted.insert("from-offender");
  }
  if (!c.bytes.empty()) bad.send_raw(c.bytes);  // false is fine: the broker may close before reading it all

  std::optional<ReceivedFrame> f = bad.next_frame(c.close_within);
  if (c.expect == Expect::closed) {
    CHECK_MESSAGE((!f || f->command == "ERROR"), "only an ERROR may precede the close, got " << f->describe());
  } else if (c.expect == Expect::error || f) {
    REQUIRE_MESSAGE(f.has_value(), "expected an ERROR; connection " << (bad.closed() ? "closed: " : "open: ")
                                                                     << bad.close_reason());
    INFO("ERROR: " << f->describe());
    CHECK(f->command == "ERROR");
    CHECK_MESSAGE(!(*f)["message"].empty(), "ERROR needs a message header");
    CHECK_MESSAGE(!f->body.empty(), "ERROR needs a body saying what was wrong");
    if (!c.mention.empty()) {
      bool any = false;
      for (const auto& m : c.mention) any = any || contains_ci((*f)["message"] + " " + f->body, m);
      std::string wanted;
      for (const auto& m : c.mention) wanted += "'" + m + "' ";
      CHECK_MESSAGE(any, "ERROR should mention one of " << wanted);
    }
    for (const auto& s : c.body_has) CHECK_MESSAGE(contains_ci(f->body, s), "ERROR body should name '" << s << "'");
    if (!c.receipt_id.empty()) CHECK((*f)["receipt-id"] == c.receipt_id);
  }
  CHECK_MESSAGE(bad.wait_closed(c.close_within), "the broker must close the offending connection");
  auto after = bad.next_frame(Ms(0));
  CHECK_MESSAGE(!after.has_value(), "nothing may follow the ERROR, got " << after->describe());

  // 3. The other connections are undisturbed.
  producer->send("/queue/bad.live", "after");
  CHECK(observer->message().body == "after");
  // 4. Nothing accepted before is lost.
  observer->subscribe("/queue/bad.before", "before");
  auto got = observer->messages(accepted.size());
  std::set<std::string> got_bodies;
  for (auto& m : got) got_bodies.insert(m.body);
  CHECK(got_bodies == accepted);
  CHECK(observer->sync().empty());
}

std::string garbage_line(unsigned seed, std::size_t n) {
  std::mt19937 rng(seed);
  std::string out;
  while (out.size() < n) {
    const char ch = static_cast<char>(1 + rng() % 255);
    if (ch != '\n' && ch != '\r') out += ch;
  }
  return out;
}

std::string headers_frame(std::string_view command, std::string_view header_block, std::string_view body = {}) {
  return std::string(command) + "\n" + std::string(header_block) + "\n" + std::string(body) + std::string(1, '\0');
}

}  // namespace

TEST_CASE("06 bad input: garbage bytes before CONNECT") {
  check_bad_input({.version = "-", .bytes = garbage_line(1, 300) + "\n\n" + std::string(1, '\0')});
}

TEST_CASE("06 bad input: garbage bytes after CONNECT") {
  check_bad_input({.version = "1.2", .bytes = garbage_line(2, 300) + "\nx:y\n\n" + std::string(1, '\0')});
}

// Both of these get an ERROR at once: a client that merely stalls is closed at the
// connect timeout WITHOUT an ERROR, so the ERROR proves the broker did not wait.
TEST_CASE("06 bad input: binary garbage that never ends a line (a TLS ClientHello)") {
  const unsigned char hello[] = {0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03,
                                 0x5a, 0x00, 0x13, 0x01, 0x13, 0x02, 0x13, 0x03, 0xc0, 0x2b};
  check_bad_input({.version = "-",
                   .bytes = std::string(reinterpret_cast<const char*>(hello), sizeof hello),
                   .mention = {"not a STOMP frame"},
                   .body_has = {"TLS handshake"}});
}

TEST_CASE("06 bad input: an HTTP request") {
  check_bad_input({.version = "-",
                   .bytes = "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n",
                   .mention = {"not a STOMP frame"},
                   .body_has = {"HTTP request"}});
}

TEST_CASE("06 bad input: unknown command") {
  check_bad_input({.bytes = frame_bytes("FROBNICATE", {{"receipt", "r-frob"}}),
                   .mention = {"command"},
                   .body_has = {"FROBNICATE"},
                   .receipt_id = "r-frob"});
}

TEST_CASE("06 bad input: a lower-case command is unknown (commands are case-sensitive)") {
  check_bad_input({.bytes = frame_bytes("send", {{"destination", "/queue/x"}}, "b"),
                   .mention = {"command"},
                   .body_has = {"send"}});
}

TEST_CASE("06 bad input: a client sending a server frame (MESSAGE)") {
  check_bad_input({.bytes = frame_bytes("MESSAGE", {{"destination", "/queue/x"}, {"message-id", "1"}}, "b"),
                   .body_has = {"MESSAGE"}});
}

TEST_CASE("06 bad input: a frame other than CONNECT before CONNECT") {
  check_bad_input({.version = "-",
                   .bytes = frame_bytes("SEND", {{"destination", "/queue/x"}}, "early"),
                   .mention = {"connect"}});
}

TEST_CASE("06 bad input: a second CONNECT") {
  check_bad_input({.bytes = frame_bytes("CONNECT", {{"accept-version", "1.2"}, {"host", "h"}}),
                   .mention = {"connect"}});
}

TEST_CASE("06 bad input: SEND without destination") {
  check_bad_input({.bytes = frame_bytes("SEND", {{"receipt", "r-nodest"}}, "lost"),
                   .mention = {"destination"},
                   .body_has = {"destination"},
                   .receipt_id = "r-nodest"});
}

TEST_CASE("06 bad input: SUBSCRIBE without destination") {
  check_bad_input({.bytes = frame_bytes("SUBSCRIBE", {{"id", "s"}, {"receipt", "r-sub"}}),
                   .mention = {"missing", "required"},
                   .body_has = {"destination"},
                   .receipt_id = "r-sub"});
}

TEST_CASE("06 bad input: SUBSCRIBE without id (1.2)") {
  check_bad_input({.bytes = frame_bytes("SUBSCRIBE", {{"destination", "/queue/x"}, {"receipt", "r-noid"}}),
                   .mention = {"missing", "required"},
                   .body_has = {"id"},
                   .receipt_id = "r-noid"});
}

TEST_CASE("06 bad input: SUBSCRIBE without id (1.1)") {
  check_bad_input({.version = "1.1",
                   .bytes = frame_bytes("SUBSCRIBE", {{"destination", "/queue/x"}}),
                   .mention = {"missing", "required"},
                   .body_has = {"id"}});
}

TEST_CASE("06 bad input: UNSUBSCRIBE without id (1.2)") {
  check_bad_input({.bytes = frame_bytes("UNSUBSCRIBE", {{"receipt", "r-unsub"}}),
                   .mention = {"missing", "required"},
                   .body_has = {"id"},
                   .receipt_id = "r-unsub"});
}

TEST_CASE("06 bad input: ACK without id (1.2)") {
  check_bad_input({.bytes = frame_bytes("ACK", {{"receipt", "r-ack"}}),
                   .mention = {"missing", "required"},
                   .body_has = {"id"},
                   .receipt_id = "r-ack"});
}

TEST_CASE("06 bad input: BEGIN without transaction") {
  check_bad_input({.bytes = frame_bytes("BEGIN", {{"receipt", "r-begin"}}),
                   .mention = {"missing", "required"},
                   .body_has = {"transaction"},
                   .receipt_id = "r-begin"});
}

TEST_CASE("06 bad input: ACK of an unknown id") {
  check_bad_input({.bytes = frame_bytes("ACK", {{"id", "no-such-ack-42"}, {"receipt", "r-ack42"}}),
                   .mention = {"ack"},
                   .body_has = {"no-such-ack-42"},
                   .receipt_id = "r-ack42"});
}

TEST_CASE("06 bad input: NACK of an unknown id") {
  check_bad_input({.bytes = frame_bytes("NACK", {{"id", "no-such-nack-7"}, {"receipt", "r-nack7"}}),
                   .body_has = {"no-such-nack-7"},
                   .receipt_id = "r-nack7"});
}

TEST_CASE("06 bad input: ACK of an unknown message-id (1.1)") {
  check_bad_input({.version = "1.1",
                   .bytes = frame_bytes("SUBSCRIBE", {{"destination", "/queue/bad.other"}, {"id", "s"}}) +
                            frame_bytes("ACK", {{"message-id", "ID:nope-1"}, {"subscription", "s"}}),
                   .body_has = {"ID:nope-1"}});
}

TEST_CASE("06 bad input: COMMIT of an unknown transaction") {
  check_bad_input({.bytes = frame_bytes("COMMIT", {{"transaction", "tx-nope"}, {"receipt", "r-commit"}}),
                   .mention = {"transaction"},
                   .body_has = {"tx-nope"},
                   .receipt_id = "r-commit"});
}

TEST_CASE("06 bad input: ABORT of an unknown transaction") {
  check_bad_input({.bytes = frame_bytes("ABORT", {{"transaction", "tx-gone"}, {"receipt", "r-abort"}}),
                   .mention = {"transaction"},
                   .body_has = {"tx-gone"},
                   .receipt_id = "r-abort"});
}

TEST_CASE("06 bad input: SEND in an unknown transaction") {
  check_bad_input({.bytes = frame_bytes("SEND", {{"destination", "/queue/x"}, {"transaction", "tx-never"}}, "b"),
                   .mention = {"transaction"},
                   .body_has = {"tx-never"}});
}

TEST_CASE("06 bad input: frame too large (announced by content-length)") {
  check_bad_input({.bytes = frame_bytes("SEND", {{"destination", "/queue/x"}}, std::string(70'000, 'x')),
                   .mention = {"large", "size", "limit"},
                   .body_has = {"65536"}});
}

TEST_CASE("06 bad input: frame too large (body without content-length)") {
  check_bad_input({.bytes = frame_bytes("SEND", {{"destination", "/queue/x"}}, std::string(70'000, 'x'), false),
                   .mention = {"large", "size", "limit"},
                   .body_has = {"65536"}});
}

TEST_CASE("06 bad input: frame too large (endless body, never a NUL)") {
  // The broker must not wait for the NUL: it stops at the limit.
  check_bad_input({.bytes = "SEND\ndestination:/queue/x\n\n" + std::string(200'000, 'y'),
                   .mention = {"large", "size", "limit"},
                   .body_has = {"65536"}});
}

TEST_CASE("06 bad input: header section too large (one long header)") {
  check_bad_input({.bytes = frame_bytes("SEND", {{"destination", "/queue/x"}, {"x-big", std::string(5000, 'h')}}, "b"),
                   .mention = {"header"},
                   .body_has = {"4096"}});
}

TEST_CASE("06 bad input: header section too large (a header line that never ends)") {
  check_bad_input({.bytes = "SEND\ndestination:/queue/x\nx-endless:" + std::string(20'000, 'e'),
                   .mention = {"header"},
                   .body_has = {"4096"}});
}

TEST_CASE("06 bad input: more headers than allowed") {
  KeyValues many{{"destination", "/queue/x"}};
  for (int i = 0; i < 25; ++i) many.emplace_back("x-h" + std::to_string(i), "v");
  check_bad_input({.bytes = frame_bytes("SEND", many, "b"), .mention = {"headers"}, .body_has = {"20"}});
}

TEST_CASE("06 bad input: invalid heart-beat values on CONNECT") {
  for (std::string hb : {"abc", "100", "-1,100", "100,x", "1,2,3", " 100,100"}) {
    INFO("heart-beat:" << hb);
    check_bad_input({.version = "-",
                     .bytes = frame_bytes("CONNECT", {{"accept-version", "1.2"}, {"host", "h"}, {"heart-beat", hb}}),
                     .mention = {"heart-beat", "heartbeat", "heart beat"},
                     .body_has = {hb}});
  }
}

TEST_CASE("06 bad input: invalid escape sequence in a 1.2 header") {
  check_bad_input({.bytes = frame_bytes("SEND", {{"destination", "/queue/x"}, {"x-bad", "a\\tb"}}, "b"),
                   .mention = {"escape"},
                   .body_has = {"x-bad"}});
}

TEST_CASE("06 bad input: a trailing lone backslash in a 1.2 header") {
  check_bad_input({.bytes = frame_bytes("SEND", {{"destination", "/queue/x"}, {"x-bad", "ends\\"}}, "b"),
                   .mention = {"escape"}});
}

TEST_CASE("06 bad input: \\r is not an escape in STOMP 1.1") {
  check_bad_input({.version = "1.1",
                   .bytes = frame_bytes("SEND", {{"destination", "/queue/x"}, {"x-cr", "a\\rb"}}, "b"),
                   .mention = {"escape"},
                   .body_has = {"x-cr"}});
}

TEST_CASE("06 bad input: a body on a frame that must not have one") {
  check_bad_input({.bytes = frame_bytes("SUBSCRIBE", {{"destination", "/queue/x"}, {"id", "s"}}, "not allowed"),
                   .mention = {"body"},
                   .body_has = {"SUBSCRIBE"}});
}

TEST_CASE("06 bad input: content-length that is not a number") {
  check_bad_input({.bytes = headers_frame("SEND", "destination:/queue/x\ncontent-length:abc\n", "b"),
                   .mention = {"content-length"},
                   .body_has = {"abc"}});
}

TEST_CASE("06 bad input: content-length shorter than the body (no NUL where it ends)") {
  check_bad_input({.bytes = headers_frame("SEND", "destination:/queue/x\ncontent-length:3\n", "longer body")});
}

TEST_CASE("06 bad input: a header line without a colon") {
  check_bad_input({.bytes = headers_frame("SEND", "destination:/queue/x\nthis line has no colon\n", "b"),
                   .mention = {"header"}});
}

TEST_CASE("06 bad input: SUBSCRIBE with a selector is refused") {
  check_bad_input({.bytes = frame_bytes("SUBSCRIBE", {{"destination", "/queue/x"},
                                                      {"id", "s"},
                                                      {"selector", "color = 'red'"},
                                                      {"receipt", "r-sel"}}),
                   .mention = {"selector"},
                   .receipt_id = "r-sel"});
}

TEST_CASE("06 bad input: invalid ack mode") {
  check_bad_input({.bytes = frame_bytes("SUBSCRIBE", {{"destination", "/queue/x"}, {"id", "s"}, {"ack", "sometimes"}}),
                   .body_has = {"sometimes"}});
}

TEST_CASE("06 bad input: a client that connects and sends nothing is dropped after connectAttemptTimeout") {
  check_bad_input({.version = "-", .bytes = "", .expect = Expect::closed, .close_within = Ms(5000)});
}

TEST_CASE("06 bad input: a client that sends half a CONNECT and stalls is dropped after connectAttemptTimeout") {
  check_bad_input({.version = "-", .bytes = "CONNECT\naccept-version:1.2\n", .expect = Expect::closed});
}

// ---- header injection into other consumers (README "STOMP support": what is refused and why) ----

namespace {

// The exact bytes a STOMP 1.0 subscriber received, as MESSAGE frames in order.
std::vector<ReceivedFrame> messages_only(const std::vector<ReceivedFrame>& frames) {
  std::vector<ReceivedFrame> out;
  for (const auto& f : frames) {
    if (f.command == "MESSAGE") out.push_back(f);
  }
  return out;
}

std::size_t occurrences(std::string_view haystack, std::string_view needle) {
  std::size_t n = 0;
  for (auto at = haystack.find(needle); at != std::string_view::npos; at = haystack.find(needle, at + 1)) ++n;
  return n;
}

}  // namespace

TEST_CASE("06 bad input: a 1.2 producer's escaped line breaks never become header lines or frames for a 1.0 subscriber") {
  BrokerProcess broker(bad_input_config());
  auto sub10 = client(broker, "");  // STOMP 1.0: no escaping at all
  auto sub11 = client(broker, "1.1");
  auto sub12 = client(broker, "1.2");
  for (auto* s : {sub10.get(), sub11.get(), sub12.get()}) s->subscribe("/topic/inject", "s");
  const std::size_t raw_before = sub10->received_bytes().size();

  // Written escaped, as a 1.2 client must: the value holds LF, a header, an empty line
  // (the end of the headers) and "FAKE", which a 1.0 reader would take as the body.
  auto producer = client(broker, "1.2");
  const std::string note = "hello\ncontent-length:0\n\nFAKE";
  producer->send("/topic/inject", "first", {{"x-note", "hello\\ncontent-length:0\\n\\nFAKE"},
                                            {"x-cr", "a\\rb"},
                                            {"x\\cname", "colon in the name"},
                                            {"x-plain", "kept"}});
  producer->send("/topic/inject", "second");

  // 1.0: exactly the two MESSAGE frames that were sent, without the headers it cannot carry.
  const auto got10 = sub10->sync();
  const auto m10 = messages_only(got10);
  INFO("1.0 subscriber got:" << describe_all(got10));
  REQUIRE(m10.size() == 2);
  CHECK(got10.size() == 2);
  CHECK(m10[0].body == "first");
  CHECK(m10[1].body == "second");
  CHECK_FALSE(m10[0].has("x-note"));
  CHECK_FALSE(m10[0].has("x-cr"));
  CHECK_FALSE(m10[0].has("x"));
  CHECK(m10[0]["x-plain"] == "kept");
  CHECK(m10[0].count("content-length") == 1);
  CHECK(m10[0]["content-length"] == "5");
  const std::string_view raw = std::string_view(sub10->received_bytes()).substr(raw_before);
  CHECK(raw.find("FAKE") == std::string_view::npos);
  CHECK(occurrences(raw, "MESSAGE\n") == 2);
  CHECK(raw.find('\r') == std::string_view::npos);

  // 1.1 escapes LF and ':' but has no escape for CR: x-cr is left out, the rest arrives intact.
  const auto m11 = messages_only(sub11->sync());
  REQUIRE(m11.size() == 2);
  CHECK(m11[0]["x-note"] == note);
  CHECK(m11[0]["x:name"] == "colon in the name");
  CHECK_FALSE(m11[0].has("x-cr"));
  CHECK(m11[0].body == "first");

  // 1.2 carries every one of them.
  const auto m12 = messages_only(sub12->sync());
  REQUIRE(m12.size() == 2);
  CHECK(m12[0]["x-note"] == note);
  CHECK(m12[0]["x-cr"] == "a\rb");
  CHECK(m12[0]["x:name"] == "colon in the name");
  CHECK(m12[0]["x-plain"] == "kept");
}

TEST_CASE("06 bad input: a producer's header that spells a transport header in other case is not passed on") {
  // A client that reads header names without regard to case would take the producer's
  // Content-Length ahead of the broker's own and cut the body.
  BrokerProcess broker(bad_input_config());
  auto sub = client(broker, "1.0");
  sub->subscribe("/queue/spoof", "s");
  auto producer = client(broker, "1.2");
  producer->send("/queue/spoof", "the whole body",
                 {{"Content-Length", "0"}, {"DESTINATION", "/queue/elsewhere"}, {"Message-Id", "forged"},
                  {"x-kept", "yes"}});
  const auto m = sub->message();
  CHECK(m.body == "the whole body");
  for (const auto& [name, value] : m.headers) {
    CHECK_MESSAGE(name != "Content-Length", "spoofed header passed on: " << name << ":" << value);
    CHECK(name != "DESTINATION");
    CHECK(name != "Message-Id");
  }
  CHECK(m["x-kept"] == "yes");
}

TEST_CASE("06 bad input: a raw NUL inside a header is refused (no version can carry it)") {
  check_bad_input({.bytes = "SEND\ndestination:/queue/x\nreceipt:r-nul\nx-note:a" + std::string(1, '\0') +
                            "b\n\nbody" + std::string(1, '\0'),
                   .mention = {"NUL"},
                   .body_has = {"x-note:a\\x00b"}});
}

TEST_CASE("06 bad input: a destination holding a control byte is refused") {
  check_bad_input({.bytes = frame_bytes("SEND", {{"destination", "/queue/a\\nb"}, {"receipt", "r-dest"}}, "x"),
                   .mention = {"destination"},
                   .body_has = {"control", "/queue/a\\x0ab"},
                   .receipt_id = "r-dest"});
  check_bad_input({.bytes = frame_bytes("SUBSCRIBE", {{"destination", "/topic/a\\rb"}, {"id", "s"}}),
                   .mention = {"destination"},
                   .body_has = {"\\x0d"}});
}

TEST_CASE("06 bad input: content-length negative, not a number, or past the frame limit is refused at its header") {
  // No body follows: the ERROR must come from the header line alone.
  for (std::string value : {"-1", "-99999", "12abc", "0x40", "65536", "99999999999999999999"}) {
    INFO("content-length:" << value);
    check_bad_input({.bytes = "SEND\ndestination:/queue/x\ncontent-length:" + value + "\n\n",
                     .mention = {"content-length", "frame too large"},
                     .body_has = {value}});
  }
}

// ---- log injection (README "STOMP support": how client values appear in the log) ----

TEST_CASE("06 bad input: client values in error messages cannot forge a log line") {
  BrokerProcess broker(bad_input_config(), {"--log-level", "debug"});
  const std::string forged = "2026-12-04T20:00:00.000 error [itest] FORGED-LINE journal corrupted";
  struct Attempt {
    std::string version;
    std::string bytes;
    bool shows_forged = true;  // the ERROR body quotes the forged text (escaped)
  };
  const std::vector<Attempt> attempts = {
      // LF and CR written as 1.2 escapes: they arrive as real control bytes.
      {"1.2", frame_bytes("ACK", {{"id", "zz\\n" + forged}})},
      {"1.2", frame_bytes("ACK", {{"id", "zz\\r" + forged}})},
      {"1.2", frame_bytes("COMMIT", {{"transaction", "tx\\n" + forged}})},
      {"1.2", frame_bytes("UNSUBSCRIBE", {{"id", "sub\\n" + forged}})},
      {"1.2", frame_bytes("SEND", {{"destination", "/queue/x"}, {"transaction", "t\\r\\n" + forged}}, "b")},
      // 1.0 has no escapes; a raw CR mid-value and a raw NUL are bytes of the value.
      {"1.0", frame_bytes("ACK", {{"message-id", "ID:x\r" + forged}})},
      {"1.0", "ACK\nmessage-id:nul" + std::string(1, '\0') + forged + "\n\n" + std::string(1, '\0')},
      // Garbage before CONNECT.
      {"-", "CONNECT\x1b[2J\n" + forged + "\n\n" + std::string(1, '\0'), false},
  };
  for (const Attempt& a : attempts) {
    RawStomp bad(broker.port());
    if (a.version != "-") bad.connect(a.version == "1.0" ? "" : a.version);
    bad.send_raw(a.bytes);
    const auto f = bad.next_frame();
    REQUIRE_MESSAGE(f.has_value(), "expected an ERROR for " << a.bytes);
    INFO("ERROR: " << f->describe());
    CHECK(f->command == "ERROR");
    CHECK(f->body.find('\n') == std::string::npos);
    CHECK(f->body.find('\r') == std::string::npos);
    if (a.shows_forged) CHECK(f->body.find("FORGED-LINE") != std::string::npos);  // shown escaped, not dropped
    CHECK(bad.wait_closed());
  }
  auto ok = client(broker, "1.2");
  ok->sync();  // every ERROR above has been logged before this barrier is answered
  // The test's reader of the broker's log may trail the broker: wait (bounded) for the
  // line of `ok`'s own CONNECT, which the broker wrote after every line above.
  std::size_t connects = 1;  // `ok`
  for (const Attempt& a : attempts)
    if (a.version != "-") ++connects;
  REQUIRE(broker.wait_for_count("connected as user", connects, Ms(5000), true));

  const std::string log = broker.log_text();
  REQUIRE(log.find("FORGED-LINE") != std::string::npos);
  // Every line is one the broker wrote: its own timestamp, level and name, then a
  // message without a single control byte.
  const std::regex own_prefix(R"(^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3} (trace|debug|info |warning|error|critical) \[itest\] )");
  std::size_t lines = 0;
  std::size_t start = 0;
  while (start < log.size()) {
    const std::size_t end = log.find('\n', start);
    const std::string line = log.substr(start, end == std::string::npos ? std::string::npos : end - start);
    start = end == std::string::npos ? log.size() : end + 1;
    ++lines;
    INFO("log line: " << line);
    std::smatch m;
    REQUIRE(std::regex_search(line, m, own_prefix));
    const std::string message = m.suffix();
    CHECK_FALSE(message.starts_with("2026-12-04T20:00:00.000"));
    CHECK(message.find("FORGED-LINE") != 0);
    for (char c : line) CHECK_MESSAGE(static_cast<unsigned char>(c) >= 0x20, "control byte in the log");
  }
  CHECK(lines > attempts.size());
}
