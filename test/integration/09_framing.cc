// 09 — frame rules on the wire: header escaping per version, repeated headers,
// content-length bodies with NUL bytes, NUL-terminated bodies, CRLF line endings,
// untrimmed values, frames split at every byte and packed into one write.
#include <thread>

#include "common.h"

using namespace twinmq::test;

TEST_CASE("09 framing: 1.2 escapes (\\r \\n \\c \\\\) round-trip to a 1.2 consumer") {
  BrokerProcess broker;
  auto c = client(broker, "1.2");
  c->subscribe("/queue/esc12", "s");
  RawStomp p(broker.port());
  p.connect("1.2");
  // On the wire: a<CR>b<LF>c:d\e  encoded as  a\rb\nc\cd\\e
  p.send_frame("SEND", {{"destination", "/queue/esc12"}, {"x-esc", "a\\rb\\nc\\cd\\\\e"}, {"receipt", "r"}}, "body");
  CHECK(p.expect("RECEIPT")["receipt-id"] == "r");
  auto m = c->message();
  CHECK(m["x-esc"] == "a\rb\nc:d\\e");  // the test client unescapes per 1.2
  // and the raw bytes really were escaped by the broker:
  CHECK(c->received_bytes().find("x-esc:a\\rb\\nc\\cd\\\\e\n") != std::string::npos);
}

TEST_CASE("09 framing: escaped header names round-trip too") {
  BrokerProcess broker;
  auto c = client(broker, "1.2");
  c->subscribe("/queue/escname", "s");
  auto p = client(broker, "1.2");
  p->send("/queue/escname", "b", {{"we\\cird", "v"}});
  auto m = c->message();
  CHECK(m["we:ird"] == "v");
}

TEST_CASE("09 framing: 1.1 escapes (\\n \\c \\\\) round-trip to a 1.1 consumer") {
  BrokerProcess broker;
  auto c = client(broker, "1.1");
  c->subscribe("/queue/esc11", "s");
  auto p = client(broker, "1.1");
  p->send("/queue/esc11", "b", {{"x-esc", "line1\\nline2\\ckey\\\\"}});
  auto m = c->message();
  CHECK(m["x-esc"] == "line1\nline2:key\\");
  CHECK(c->received_bytes().find("x-esc:line1\\nline2\\ckey\\\\\n") != std::string::npos);
}

TEST_CASE("09 framing: STOMP 1.0 has no escaping — backslashes are literal both ways") {
  BrokerProcess broker;
  RawStomp c10(broker.port());
  c10.connect("");
  c10.request("SUBSCRIBE", {{"destination", "/topic/esc10"}});
  auto c12 = client(broker, "1.2");
  c12->subscribe("/topic/esc10", "s");
  RawStomp p10(broker.port());
  p10.connect("");
  p10.send("/topic/esc10", "b", {{"x-raw", "a\\tb\\nc"}});  // not an escape in 1.0: literal text
  auto m10 = c10.message();
  CHECK(m10["x-raw"] == "a\\tb\\nc");
  CHECK(c10.received_bytes().find("x-raw:a\\tb\\nc\n") != std::string::npos);
  auto m12 = c12->message();
  CHECK(m12["x-raw"] == "a\\tb\\nc");  // re-escaped on the way to the 1.2 client
}

TEST_CASE("09 framing: a 1.2 header with a colon reaches a 1.1 consumer escaped as \\c") {
  BrokerProcess broker;
  auto c11 = client(broker, "1.1");
  c11->subscribe("/queue/esc.x", "s");
  auto p12 = client(broker, "1.2");
  p12->send("/queue/esc.x", "b", {{"x-url", "http\\c//host\\cport"}});
  auto m = c11->message();
  CHECK(m["x-url"] == "http://host:port");
}

TEST_CASE("09 framing: CONNECTED is never escaped") {
  BrokerProcess broker;
  RawStomp c(broker.port());
  auto connected = c.connect("1.2");
  const std::string& raw = c.received_bytes();
  const auto end = raw.find('\0');
  REQUIRE(end != std::string::npos);
  CHECK_MESSAGE(raw.substr(0, end).find('\\') == std::string::npos,
                "CONNECTED must not contain escape sequences: " << connected.describe());
}

TEST_CASE("09 framing: the first of repeated headers wins") {
  BrokerProcess broker;
  auto a = client(broker, "1.2");
  a->subscribe("/queue/first", "s");
  auto b = client(broker, "1.2");
  b->subscribe("/queue/second", "s");
  auto p = client(broker, "1.2");
  p->send("/queue/first", "b", {{"destination", "/queue/second"}, {"x-rep", "one"}, {"x-rep", "two"}});
  auto m = a->message();
  CHECK(m["destination"] == "/queue/first");
  CHECK(m["x-rep"] == "one");  // the first occurrence (any later copy must not come first)
  CHECK(b->sync().empty());
}

TEST_CASE("09 framing: a content-length body may contain NUL bytes") {
  BrokerProcess broker;
  auto c = client(broker, "1.2");
  c->subscribe("/queue/nul", "s");
  auto p = client(broker, "1.2");
  const std::string body("a\0b\0\0c\0", 7);
  p->send("/queue/nul", body);
  auto m = c->message();
  CHECK(m.body.size() == 7);
  CHECK(m.body == body);
  CHECK(m["content-length"] == "7");
}

TEST_CASE("09 framing: without content-length the body ends at the first NUL") {
  BrokerProcess broker;
  auto c = client(broker, "1.2");
  c->subscribe("/queue/nolen", "s");
  RawStomp p(broker.port());
  p.connect("1.2");
  // Two frames in one write, neither with content-length.
  REQUIRE(p.send_raw(frame_bytes("SEND", {{"destination", "/queue/nolen"}}, "first body", false) +
                     frame_bytes("SEND", {{"destination", "/queue/nolen"}, {"receipt", "r"}}, "second", false)));
  CHECK(p.expect("RECEIPT")["receipt-id"] == "r");
  auto ms = c->messages(2);
  CHECK(ms[0].body == "first body");
  CHECK(ms[1].body == "second");
}

TEST_CASE("09 framing: an empty body") {
  BrokerProcess broker;
  auto c = client(broker, "1.2");
  c->subscribe("/queue/empty", "s");
  auto p = client(broker, "1.2");
  p->send("/queue/empty", "");
  auto m = c->message();
  CHECK(m.body.empty());
  CHECK(m.header("content-length").value_or("0") == "0");
}

TEST_CASE("09 framing: CRLF line endings (1.2)") {
  BrokerProcess broker;
  auto c = client(broker, "1.2");
  c->subscribe("/queue/crlf", "s");
  RawStomp p(broker.port());
  REQUIRE(p.send_raw(std::string("CONNECT\r\naccept-version:1.2\r\nhost:localhost\r\n\r\n") + '\0'));
  p.expect("CONNECTED");
  REQUIRE(p.send_raw(std::string("SEND\r\ndestination:/queue/crlf\r\nx-h:value\r\nreceipt:r1\r\n\r\nbody") + '\0'));
  CHECK(p.expect("RECEIPT")["receipt-id"] == "r1");
  auto m = c->message();
  CHECK(m["destination"] == "/queue/crlf");
  CHECK(m["x-h"] == "value");  // no stray \r
  CHECK(m.body == "body");
}

TEST_CASE("09 framing: header values are not trimmed") {
  BrokerProcess broker;
  auto c = client(broker, "1.2");
  c->subscribe("/queue/spaces", "s");
  auto p = client(broker, "1.2");
  p->send("/queue/spaces", "b", {{"x-s", "  padded  "}, {"x-empty", ""}});
  auto m = c->message();
  CHECK(m["x-s"] == "  padded  ");
  CHECK(m.has("x-empty"));
  CHECK(m["x-empty"].empty());
}

TEST_CASE("09 framing: UTF-8 in header values and bodies") {
  BrokerProcess broker;
  auto c = client(broker, "1.2");
  c->subscribe("/queue/utf8", "s");
  auto p = client(broker, "1.2");
  p->send("/queue/utf8", "h\xc3\xa9llo \xe2\x82\xac", {{"x-name", "Gr\xc3\xbc\xc3\x9f" "e"}});
  auto m = c->message();
  CHECK(m["x-name"] == "Gr\xc3\xbc\xc3\x9f" "e");
  CHECK(m.body == "h\xc3\xa9llo \xe2\x82\xac");
}

TEST_CASE("09 framing: frames split at every byte, and many frames in one write") {
  BrokerProcess broker;
  auto c = client(broker, "1.2");
  c->subscribe("/queue/split", "s");
  RawStomp p(broker.port());
  const std::string connect = frame_bytes("CONNECT", {{"accept-version", "1.2"}, {"host", "h"}});
  const std::string send =
      frame_bytes("SEND", {{"destination", "/queue/split"}, {"x-e", "a\\cb"}, {"receipt", "r-split"}}, "split body");
  // One byte per write (TCP_NODELAY is on): the broker sees every split point.
  for (char ch : connect) REQUIRE(p.send_raw(std::string_view(&ch, 1)));
  p.expect("CONNECTED");
  for (char ch : send) REQUIRE(p.send_raw(std::string_view(&ch, 1)));
  CHECK(p.expect("RECEIPT")["receipt-id"] == "r-split");
  auto m = c->message();
  CHECK(m.body == "split body");
  CHECK(m["x-e"] == "a:b");

  std::string batch;
  for (int i = 0; i < 200; ++i) batch += frame_bytes("SEND", {{"destination", "/queue/split"}}, std::to_string(i));
  batch += "\n\r\n";  // heart-beat EOLs between frames are fine
  batch += frame_bytes("SEND", {{"destination", "/queue/split"}, {"receipt", "r-batch"}}, "last");
  REQUIRE(p.send_raw(batch));
  CHECK(p.expect("RECEIPT")["receipt-id"] == "r-batch");
  auto ms = c->messages(201);
  for (int i = 0; i < 200; ++i) CHECK(ms[static_cast<std::size_t>(i)].body == std::to_string(i));
  CHECK(ms[200].body == "last");
}

TEST_CASE("09 framing: a body close to the configured maximum frame size is accepted") {
  BrokerConfig cfg;
  cfg.set("wireFormat.maxFrameSize", "65536");
  BrokerProcess broker(cfg);
  auto c = client(broker, "1.2");
  c->subscribe("/queue/nearmax", "s");
  auto p = client(broker, "1.2");
  const std::string body(60'000, 'z');
  p->send("/queue/nearmax", body);
  CHECK(c->message().body == body);
}
