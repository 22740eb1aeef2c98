// parse_etcd_uri: what the witness configuration accepts, and a message naming the
// bad part for everything else.
#include <doctest.h>

#include <string>

#include "witness/etcd_client.h"

using namespace twinmq;
using namespace twinmq::witness;

namespace {

std::string refusal(std::string_view uri) {
  auto r = parse_etcd_uri(uri);
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().code == static_cast<int>(EtcdErrc::bad_uri));
  return r.error().message;
}

}  // namespace

TEST_CASE("etcd URI: three endpoints, names and addresses, default port") {
  auto r = parse_etcd_uri("etcd://10.0.0.1:2379,etcd-b.example.com:12379,etcd3");
  REQUIRE(r.has_value());
  REQUIRE(r->endpoints.size() == 3);
  CHECK(r->endpoints[0].host == "10.0.0.1");
  CHECK(r->endpoints[0].port == 2379);
  CHECK(r->endpoints[1].host == "etcd-b.example.com");
  CHECK(r->endpoints[1].port == 12379);
  CHECK(r->endpoints[2].host == "etcd3");
  CHECK(r->endpoints[2].port == 2379);
  CHECK(endpoint_address(r->endpoints[1]) == "etcd-b.example.com:12379");
  CHECK(r->user.empty());
  CHECK(r->connect_timeout == std::chrono::milliseconds(500));
  CHECK(r->request_timeout == std::chrono::milliseconds(1000));
}

TEST_CASE("etcd URI: one endpoint, upper-case scheme, trailing slash") {
  auto r = parse_etcd_uri("ETCD://127.0.0.1:2379/");
  REQUIRE(r.has_value());
  REQUIRE(r->endpoints.size() == 1);
  CHECK(endpoint_address(r->endpoints[0]) == "127.0.0.1:2379");
}

TEST_CASE("etcd URI: etcds:// and https:// mean TLS") {
  for (const char* tls : {"etcds://h1:2379,h2", "https://h1:2379,h2"}) {
    auto parsed = parse_etcd_uri(tls);
    REQUIRE(parsed.has_value());
    CHECK(parsed->tls);
    CHECK(parsed->endpoints.size() == 2);
  }
  CHECK_FALSE(parse_etcd_uri("etcd://h1:2379")->tls);
}

TEST_CASE("etcd URI: each mistake is named") {
  CHECK(refusal("h1:2379").find("expected etcd://host:port") != std::string::npos);
  CHECK(refusal("http://h1:2379").find("unknown scheme 'http://'") != std::string::npos);
  CHECK(refusal("etcd://").find("no endpoints") != std::string::npos);
  CHECK(refusal("etcd://h1:2379,,h2").find("empty endpoint") != std::string::npos);
  CHECK(refusal("etcd://h1:2379,").find("empty endpoint") != std::string::npos);
  CHECK(refusal("etcd://h1:").find("missing port after ':' in 'h1:'") != std::string::npos);
  CHECK(refusal("etcd://h1:abc").find("port 'abc' is not a number") != std::string::npos);
  CHECK(refusal("etcd://h1:70000").find("port 70000 out of range") != std::string::npos);
  CHECK(refusal("etcd://h1:0").find("port 0 out of range") != std::string::npos);
  CHECK(refusal("etcd://:2379").find("missing host") != std::string::npos);
  CHECK(refusal("etcd://300.1.2.3:2379").find("invalid IPv4 address '300.1.2.3'") != std::string::npos);
  CHECK(refusal("etcd://10.0.1:2379").find("invalid IPv4 address") != std::string::npos);
  CHECK(refusal("etcd://bad_host:2379").find("invalid host name 'bad_host'") != std::string::npos);
  CHECK(refusal("etcd://-h:2379").find("invalid host name") != std::string::npos);
  CHECK(refusal("etcd://[::1]:2379").find("IPv6 is not supported yet") != std::string::npos);
  CHECK(refusal("etcd://::1:2379").find("IPv6 is not supported yet") != std::string::npos);
  CHECK(refusal("etcd://h1:2379/v3").find("unexpected path '/v3'") != std::string::npos);
  CHECK(refusal("etcd://h1:2379?timeout=5").find("options ('?...') are not supported") != std::string::npos);
  CHECK(refusal("etcd://h1:2379,H1:2379").find("endpoint H1:2379 is listed twice") != std::string::npos);
}

TEST_CASE("etcd URI: credentials in the URI are refused without echoing them") {
  const std::string m = refusal("etcd://alice:s3cret@h1:2379");
  CHECK(m.find("user and password separately") != std::string::npos);
  CHECK(m.find("s3cret") == std::string::npos);
}
