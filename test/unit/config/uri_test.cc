// Connector URIs: every accepted host form, options, and each mistake named.
#include <doctest.h>

#include "config/uri.h"

namespace twinmq::config {

namespace {
std::string uri_error(std::string_view text) {
  auto r = parse_uri(text);
  CHECK_FALSE(r.has_value());
  return r.has_value() ? std::string() : r.error().message;
}
}  // namespace

TEST_CASE("uri: scheme, host forms and port") {
  auto a = parse_uri("stomp://0.0.0.0:61613").value();
  CHECK(a.endpoint.scheme == "stomp");
  CHECK(a.endpoint.host == "0.0.0.0");
  CHECK(a.endpoint.port == 61613);
  CHECK(a.options.empty());

  CHECK(parse_uri("tcp://localhost:62001").value().endpoint.host == "localhost");
  CHECK(parse_uri("tcp://192.168.1.20:1").value().endpoint.host == "192.168.1.20");
  CHECK(parse_uri("tcp://db-1.example.com:62001").value().endpoint.host == "db-1.example.com");
  CHECK(parse_uri("TCP://masterhost:62001").value().endpoint.scheme == "tcp");

  auto v6 = parse_uri("stomp://[::1]:61613").value();
  CHECK(v6.endpoint.host == "::1");
  CHECK(v6.endpoint.port == 61613);
  CHECK(endpoint_address(v6.endpoint) == "[::1]:61613");
  CHECK(parse_uri("stomp://[::]:0").value().endpoint.host == "::");
  CHECK(parse_uri("stomp://[::ffff:127.0.0.1]:5").value().endpoint.host == "::ffff:127.0.0.1");

  CHECK(parse_uri("stomp://127.0.0.1:0").value().endpoint.port == 0);
  CHECK(parse_uri("stomp://127.0.0.1:65535").value().endpoint.port == 65535);
  CHECK(parse_uri("stomp://127.0.0.1:61613/").value().endpoint.port == 61613);
  CHECK(endpoint_address(parse_uri("tcp://h:1").value().endpoint) == "h:1");
}

TEST_CASE("uri: query options in order, %-decoded") {
  auto u = parse_uri("stomp://h:1?wireFormat.maxFrameSize=64%20kb&transport.heartBeat=0").value();
  REQUIRE(u.options.size() == 2);
  CHECK(u.options[0].first == "wireFormat.maxFrameSize");
  CHECK(u.options[0].second == "64 kb");
  CHECK(u.options[1].first == "transport.heartBeat");
  CHECK(u.options[1].second == "0");
  CHECK(parse_uri("stomp://h:1?").value().options.empty());
}

TEST_CASE("uri: each mistake names the bad part") {
  CHECK(uri_error("0.0.0.0:61613") == "missing scheme (expected scheme://host:port)");
  CHECK(uri_error("://h:1") == "missing scheme (expected scheme://host:port)");
  CHECK(uri_error("st mp://h:1") == "invalid scheme 'st mp'");
  CHECK(uri_error("stomp://:61613") == "missing host");
  CHECK(uri_error("stomp://127.0.0.1") == "missing port");
  CHECK(uri_error("stomp://127.0.0.1:") == "missing port");
  CHECK(uri_error("stomp://0.0.0.0:99999") == "port 99999 out of range");
  CHECK(uri_error("stomp://0.0.0.0:123456789012345678901") == "port 123456789012345678901 out of range");
  CHECK(uri_error("stomp://0.0.0.0:-1") == "port '-1' is not a number");
  CHECK(uri_error("stomp://0.0.0.0:6a") == "port '6a' is not a number");
  CHECK(uri_error("stomp://300.0.0.1:1") == "invalid IPv4 address '300.0.0.1'");
  CHECK(uri_error("stomp://1.2.3:1") == "invalid IPv4 address '1.2.3'");
  CHECK(uri_error("stomp://1.2.3.4.5:1") == "invalid IPv4 address '1.2.3.4.5'");
  CHECK(uri_error("stomp://my_host:1") == "invalid host 'my_host'");
  CHECK(uri_error("stomp://host..x:1") == "invalid host 'host..x'");
  CHECK(uri_error("stomp://::1:61613") == "IPv6 host must be in brackets (e.g. [::1]:61613)");
  CHECK(uri_error("stomp://[::1:61613") == "missing ']' after IPv6 host");
  CHECK(uri_error("stomp://[zz::1]:1") == "invalid IPv6 address '[zz::1]'");
  CHECK(uri_error("stomp://[::1]61613") == "unexpected '61613' after IPv6 host");
  CHECK(uri_error("stomp://h:1/queue") == "unexpected path '/queue'");
  CHECK(uri_error("stomp://h:1#x") == "unexpected fragment '#x'");
  CHECK(uri_error("stomp://u:p@h:1") == "user info is not allowed in a connector uri (use userName/password attributes)");
  CHECK(uri_error("stomp://h:1?a") == "option 'a' has no value (write a=value)");
  CHECK(uri_error("stomp://h:1?a=1&&b=2") == "empty option (stray '&')");
  CHECK(uri_error("stomp://h:1?=1") == "option with no name ('=1')");
  CHECK(uri_error("stomp://h:1?a=1&a=2") == "option 'a' given twice");
  CHECK(uri_error("stomp://h:1?a=%zz") == "bad %-escape in '%zz'");
  CHECK(uri_error("stomp://h:1?a=%4") == "bad %-escape in '%4'");
}

TEST_CASE("uri: scheme of a broken uri is still known") {
  CHECK(uri_scheme("STOMP://0.0.0.0:99999") == "stomp");
  CHECK(uri_scheme("0.0.0.0:1") == "");
}

}  // namespace twinmq::config
