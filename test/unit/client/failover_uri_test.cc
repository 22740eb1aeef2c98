// Failover URIs and the pure parts of the reconnect policy: what parses into what,
// which mistakes are named how, the back-off schedule, the attempt limits and the
// order of a pass. No sockets, no sleeps.
#include <doctest.h>

#include <random>
#include <string>

#include "twinmq/failover.h"

using namespace std::chrono_literals;
using namespace twinmq;
using namespace twinmq::client;

namespace {

FailoverUri parse_ok(std::string_view text) {
  auto u = parse_failover_uri(text);
  REQUIRE_MESSAGE(u.has_value(), (u ? "" : u.error().message));
  return *u;
}

std::string parse_error(std::string_view text) {
  auto u = parse_failover_uri(text);
  REQUIRE_MESSAGE(!u.has_value(), "accepted: " << text);
  CHECK(static_cast<Errc>(u.error().code) == Errc::bad_argument);
  CHECK(u.error().message.starts_with("failover URI: "));
  return u.error().message;
}

}  // namespace

TEST_CASE("the issue's URI parses into both brokers and every option") {
  const auto u = parse_ok(
      "failover:(tcp://a:61613,tcp://b:61614)?randomize=false&initialReconnectDelay=10"
      "&maxReconnectDelay=30000&useExponentialBackOff=true&maxReconnectAttempts=-1&timeout=-1");
  CHECK(u.failover);
  REQUIRE(u.brokers.size() == 2);
  CHECK(u.brokers[0].scheme == "tcp");
  CHECK(u.brokers[0].host == "a");
  CHECK(u.brokers[0].port == 61613);
  CHECK(u.brokers[1].to_string() == "tcp://b:61614");
  CHECK_FALSE(u.options.randomize);
  CHECK(u.options.initial_reconnect_delay_ms == 10);
  CHECK(u.options.max_reconnect_delay_ms == 30000);
  CHECK(u.options.use_exponential_back_off);
  CHECK(u.options.max_reconnect_attempts == -1);
  CHECK(u.options.timeout_ms == -1);
}

TEST_CASE("without options every default is ActiveMQ's") {
  const auto u = parse_ok("failover:(stomp://127.0.0.1:61613)");
  const FailoverOptions d;
  CHECK(u.options.randomize == true);
  CHECK(u.options.initial_reconnect_delay_ms == 10);
  CHECK(u.options.max_reconnect_delay_ms == 30000);
  CHECK(u.options.use_exponential_back_off == true);
  CHECK(u.options.back_off_multiplier == 2.0);
  CHECK(u.options.max_reconnect_attempts == -1);
  CHECK(u.options.startup_max_reconnect_attempts == -1);
  CHECK(u.options.timeout_ms == -1);
  CHECK(d.randomize == u.options.randomize);
  CHECK(u.brokers[0].scheme == "stomp");
}

TEST_CASE("every option name sets its field") {
  const auto u = parse_ok(
      "failover:(tcp://h:1)?randomize=true&initialReconnectDelay=0&maxReconnectDelay=5"
      "&useExponentialBackOff=false&backOffMultiplier=1.5&maxReconnectAttempts=0"
      "&startupMaxReconnectAttempts=7&timeout=250");
  CHECK(u.options.randomize);
  CHECK(u.options.initial_reconnect_delay_ms == 0);
  CHECK(u.options.max_reconnect_delay_ms == 5);
  CHECK_FALSE(u.options.use_exponential_back_off);
  CHECK(u.options.back_off_multiplier == 1.5);
  CHECK(u.options.max_reconnect_attempts == 0);
  CHECK(u.options.startup_max_reconnect_attempts == 7);
  CHECK(u.options.timeout_ms == 250);
  // ActiveMQ's older name for the multiplier.
  CHECK(parse_ok("failover:(tcp://h:1)?reconnectDelayExponent=3").options.back_off_multiplier == 3.0);
}

TEST_CASE("member forms: names, IPv4, IPv6 in brackets, spaces, trailing slash, no parentheses") {
  auto u = parse_ok("failover:( tcp://[::1]:61613 , stomp://db-1.example.com:2/ ,TCP://10.0.0.1:3)");
  REQUIRE(u.brokers.size() == 3);
  CHECK(u.brokers[0].host == "::1");
  CHECK(u.brokers[0].to_string() == "tcp://[::1]:61613");
  CHECK(u.brokers[1].host == "db-1.example.com");
  CHECK(u.brokers[1].port == 2);
  CHECK(u.brokers[2].scheme == "tcp");
  u = parse_ok("failover:tcp://a:1,tcp://b:2");
  CHECK(u.brokers.size() == 2);
  CHECK(parse_ok("failover://(tcp://a:1)").brokers.size() == 1);
  CHECK(parse_ok("FAILOVER:(tcp://a:1)").failover);
}

TEST_CASE("a plain tcp:// or stomp:// URI is one broker without failover") {
  for (std::string_view text : {"tcp://127.0.0.1:61613", "stomp://localhost:61614"}) {
    CAPTURE(text);
    const auto u = parse_ok(text);
    CHECK_FALSE(u.failover);
    REQUIRE(u.brokers.size() == 1);
    CHECK(u.options.max_reconnect_attempts == 0);
    CHECK(u.options.startup_max_reconnect_attempts == 0);
  }
}

TEST_CASE("a misspelt option is named with the nearest real one") {
  CHECK(parse_error("failover:(tcp://a:1)?maxReconectDelay=5") ==
        "failover URI: unknown option 'maxReconectDelay' (did you mean maxReconnectDelay?)");
  CHECK(parse_error("failover:(tcp://a:1)?Randomize=false").find("did you mean randomize?") !=
        std::string::npos);
  CHECK(parse_error("failover:(tcp://a:1)?timout=5").find("did you mean timeout?") != std::string::npos);
  const auto far = parse_error("failover:(tcp://a:1)?colour=blue");
  CHECK(far == "failover URI: unknown option 'colour'");
}

TEST_CASE("ActiveMQ options this client does not implement are refused by name") {
  for (std::string_view opt : {"backup=true", "trackMessages=true", "maxCacheSize=1",
                               "priorityBackup=true", "nested.wireFormat.x=1"}) {
    CAPTURE(opt);
    const auto e = parse_error("failover:(tcp://a:1)?" + std::string(opt));
    CHECK(e.find("is not supported by this client") != std::string::npos);
  }
}

TEST_CASE("bad values say which option and why") {
  CHECK(parse_error("failover:(tcp://a:1)?timeout=soon").find("timeout='soon' is not a whole number") !=
        std::string::npos);
  CHECK(parse_error("failover:(tcp://a:1)?timeout=-2").find("below its minimum -1") != std::string::npos);
  CHECK(parse_error("failover:(tcp://a:1)?initialReconnectDelay=-1").find("initialReconnectDelay") !=
        std::string::npos);
  CHECK(parse_error("failover:(tcp://a:1)?maxReconnectAttempts=1.5").find("not a whole number") !=
        std::string::npos);
  CHECK(parse_error("failover:(tcp://a:1)?maxReconnectDelay=99999999999999").find("too large") !=
        std::string::npos);
  CHECK(parse_error("failover:(tcp://a:1)?randomize=yes").find("must be true or false") != std::string::npos);
  CHECK(parse_error("failover:(tcp://a:1)?backOffMultiplier=0.5").find("between 1 and 1000") !=
        std::string::npos);
  CHECK(parse_error("failover:(tcp://a:1)?backOffMultiplier=x").find("not a number") != std::string::npos);
  CHECK(parse_error("failover:(tcp://a:1)?timeout").find("has no '=value'") != std::string::npos);
  CHECK(parse_error("failover:(tcp://a:1)?timeout=1&timeout=2").find("given twice") != std::string::npos);
}

TEST_CASE("ssl:// and stomp+ssl:// members are TLS; tcp:// and stomp:// are not") {
  auto u = parse_failover_uri("failover:(ssl://a:1,stomp+ssl://b:2,tcp://c:3,STOMP://d:4)");
  REQUIRE(u);
  REQUIRE(u->brokers.size() == 4);
  CHECK(u->brokers[0].tls());
  CHECK(u->brokers[1].tls());
  CHECK(u->brokers[1].to_string() == "stomp+ssl://b:2");
  CHECK_FALSE(u->brokers[2].tls());
  CHECK_FALSE(u->brokers[3].tls());
  auto one = parse_failover_uri("ssl://a:1");
  REQUIRE(one);
  CHECK(one->brokers[0].tls());
  CHECK_FALSE(one->failover);
}

TEST_CASE("broken lists and members are named") {
  CHECK(parse_error("failover:()").find("the broker list is empty") != std::string::npos);
  CHECK(parse_error("failover:").find("the broker list is empty") != std::string::npos);
  CHECK(parse_error("failover:(tcp://a:1,,tcp://b:2)").find("empty entry") != std::string::npos);
  CHECK(parse_error("failover:(tcp://a:1").find("missing ')'") != std::string::npos);
  CHECK(parse_error("failover:(tcp://a:1)x").find("after ')'") != std::string::npos);
  CHECK(parse_error("failover:tcp://a:1?timeout=5").find("in parentheses") != std::string::npos);
  CHECK(parse_error("failover:(http://a:1)").find("scheme 'http' is not supported (use tcp://, stomp://, or ssl:// or stomp+ssl:// for TLS)") !=
        std::string::npos);
  CHECK(parse_error("failover:(a:1)").find("is not a broker URI") != std::string::npos);
  CHECK(parse_error("failover:(tcp://a)").find("missing port") != std::string::npos);
  CHECK(parse_error("failover:(tcp://:1)").find("missing host") != std::string::npos);
  CHECK(parse_error("failover:(tcp://a:0)").find("out of range") != std::string::npos);
  CHECK(parse_error("failover:(tcp://a:65536)").find("out of range") != std::string::npos);
  CHECK(parse_error("failover:(tcp://a:x1)").find("port 'x1' is not a number") != std::string::npos);
  CHECK(parse_error("failover:(tcp://[::1:1)").find("missing ']'") != std::string::npos);
  CHECK(parse_error("failover:(tcp://a:1?soTimeout=5)").find("options on a member") != std::string::npos);
  CHECK(parse_error("udp://a:1").find("scheme 'udp' is not supported") != std::string::npos);
  CHECK(parse_error("amqp:(tcp://a:1)").find("'amqp:' is not a known scheme") != std::string::npos);
  CHECK(parse_error("").find("empty") != std::string::npos);
}

TEST_CASE("the back-off: initialReconnectDelay, then times the multiplier, capped by maxReconnectDelay") {
  FailoverOptions o;  // 10 ms, x2, cap 30000
  CHECK(reconnect_delay(o, 1) == 10ms);
  CHECK(reconnect_delay(o, 2) == 20ms);
  CHECK(reconnect_delay(o, 3) == 40ms);
  CHECK(reconnect_delay(o, 12) == 20480ms);
  CHECK(reconnect_delay(o, 13) == 30000ms);
  CHECK(reconnect_delay(o, 1000) == 30000ms);  // no overflow far out
  o.back_off_multiplier = 1.5;
  o.initial_reconnect_delay_ms = 100;
  CHECK(reconnect_delay(o, 2) == 150ms);
  CHECK(reconnect_delay(o, 3) == 225ms);
  o.use_exponential_back_off = false;
  CHECK(reconnect_delay(o, 1) == 100ms);
  CHECK(reconnect_delay(o, 50) == 100ms);
  o = {};
  o.initial_reconnect_delay_ms = 0;
  CHECK(reconnect_delay(o, 5) == 0ms);
  o = {};
  o.initial_reconnect_delay_ms = 50000;  // above the cap: the first wait is as asked
  CHECK(reconnect_delay(o, 1) == 50000ms);
  CHECK(reconnect_delay(o, 2) == 50000ms);
}

TEST_CASE("attempt limits: startupMaxReconnectAttempts applies until the first connection") {
  FailoverOptions o;
  CHECK(reconnect_attempt_limit(o, true) == -1);
  CHECK(reconnect_attempt_limit(o, false) == -1);
  o.max_reconnect_attempts = 3;
  CHECK(reconnect_attempt_limit(o, true) == 3);  // -1 = use maxReconnectAttempts
  CHECK(reconnect_attempt_limit(o, false) == 3);
  o.startup_max_reconnect_attempts = 0;
  CHECK(reconnect_attempt_limit(o, true) == 0);
  CHECK(reconnect_attempt_limit(o, false) == 3);
}

TEST_CASE("a pass tries the list in order, the broker just lost last; randomize shuffles the rest") {
  std::mt19937_64 rng(42);
  CHECK(pass_order(2, std::nullopt, false, rng) == std::vector<std::size_t>{0, 1});
  CHECK(pass_order(2, 0, false, rng) == std::vector<std::size_t>{1, 0});
  CHECK(pass_order(3, 1, false, rng) == std::vector<std::size_t>{0, 2, 1});
  CHECK(pass_order(1, 0, false, rng) == std::vector<std::size_t>{0});
  bool saw_other_first = false;
  for (int i = 0; i < 50; ++i) {
    auto o = pass_order(4, 2, true, rng);
    REQUIRE(o.size() == 4);
    CHECK(o.back() == 2);
    std::sort(o.begin(), o.end());
    CHECK(o == std::vector<std::size_t>{0, 1, 2, 3});
    if (pass_order(4, std::nullopt, true, rng).front() != 0) saw_other_first = true;
  }
  CHECK(saw_other_first);
}

TEST_CASE("events read as log lines") {
  CHECK(describe({.kind = FailoverEventKind::connected, .broker = "tcp://a:1"}) == "connected to tcp://a:1");
  CHECK(describe({.kind = FailoverEventKind::connection_lost, .broker = "tcp://a:1", .reason = "reset"}) ==
        "connection to tcp://a:1 lost: reset");
  CHECK(describe({.kind = FailoverEventKind::reconnected, .broker = "tcp://b:2", .attempts = 3,
                  .resubscribed = 1, .resent = 2}) ==
        "reconnected to tcp://b:2 after 3 attempts (1 subscriptions restored, 2 unreceipted sends re-sent)");
  CHECK(describe({.kind = FailoverEventKind::gave_up, .reason = "x"}) == "gave up reconnecting: x");
}
