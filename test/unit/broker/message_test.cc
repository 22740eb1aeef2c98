// Message: one allocation holding id text, destination, headers and body.
#include <doctest.h>

#include <cstdint>
#include <string>

#include "broker/event.h"
#include "broker/message.h"

using namespace twinmq::broker;

TEST_CASE("message keeps every field in one allocation") {
  const std::string body("a\0b", 3);  // bodies may hold NUL bytes
  HeaderView headers[] = {{"content-type", "text/plain"}, {"x-empty", ""}, {"k", "v:w"}};
  MessageInit init;
  init.id = 42;
  init.id_prefix = "broker-1";
  init.destination = "/queue/orders";
  init.headers = headers;
  init.body = body;
  init.persistent = true;
  init.priority = 7;
  init.expires_ms = 123;
  init.timestamp_ms = 99;
  MessageRef m = Message::create(init);
  CHECK(m->id() == 42);
  CHECK(m->id_text() == "ID:broker-1-42");
  CHECK(m->destination() == "/queue/orders");
  CHECK(m->body() == body);
  CHECK(m->persistent());
  CHECK(m->priority() == 7);
  CHECK(m->expires_ms() == 123);
  CHECK(m->timestamp_ms() == 99);
  REQUIRE(m->headers().size() == 3);
  CHECK(m->headers()[0].name == "content-type");
  CHECK(m->headers()[0].value == "text/plain");
  CHECK(m->headers()[1].value.empty());
  CHECK(m->headers()[2].value == "v:w");
  // Views point into the message, not into the caller's storage.
  const char* lo = reinterpret_cast<const char*>(m.get());
  const char* hi = lo + m->footprint();
  for (const HeaderView& h : m->headers()) {
    CHECK(h.name.data() >= lo);
    CHECK(h.name.data() + h.name.size() <= hi);
  }
  CHECK(reinterpret_cast<std::uintptr_t>(m->headers().data()) % alignof(HeaderView) == 0);
  CHECK(m->body().data() + m->body().size() == hi);
  CHECK(m->footprint() < 160 + 3 * sizeof(HeaderView) + body.size());
}

TEST_CASE("message expiry and priority clamp") {
  MessageInit init;
  init.id = 1;
  init.priority = 200;
  init.expires_ms = 1000;
  MessageRef m = Message::create(init);
  CHECK(m->priority() == 9);
  CHECK(m->id_text() == "ID:-1");
  CHECK_FALSE(m->expired_at(999));
  CHECK(m->expired_at(1000));
  init.expires_ms = 0;
  CHECK_FALSE(Message::create(init)->expired_at(INT64_MAX));
}

TEST_CASE("message refs share and free") {
  MessageInit init;
  init.id = 5;
  init.body = "x";
  MessageRef a = Message::create(init);
  MessageRef b = a;
  CHECK(b.get() == a.get());
  MessageRef c = std::move(b);
  CHECK_FALSE(b);
  CHECK(c.get() == a.get());
  a = MessageRef{};
  CHECK(c->body() == "x");  // still alive through c (ASan checks the free)
}

TEST_CASE("is_persistent follows the message, destinations always persist") {
  MessageInit init;
  init.persistent = false;
  MessageRef np = Message::create(init);
  init.persistent = true;
  MessageRef p = Message::create(init);
  CHECK_FALSE(is_persistent(MessageEnqueued{np}));
  CHECK(is_persistent(MessageEnqueued{p}));
  CHECK(is_persistent(MessageRemoved{"/queue/a", 1, true, RemovalReason::acked}));
  CHECK_FALSE(is_persistent(MessageRemoved{"/queue/a", 1, false, RemovalReason::acked}));
  CHECK(is_persistent(DestinationAdded{"/queue/a"}));
  CHECK(is_persistent(DurableSubscriptionAdded{"c", "n", "/topic/t"}));
  MessageRef sends[] = {np};
  AckedMessage acks[] = {{"/queue/a", 3, true}};
  CHECK_FALSE(is_persistent(TransactionCommitted{sends, {}}));
  CHECK(is_persistent(TransactionCommitted{sends, acks}));
}
