// test/unit/admin/routes_test.cc — what each path and method answers, without a socket.
#include <doctest.h>

#include "admin/admin_endpoint.h"
#include "net/loop.h"
#include "support.h"

using namespace twinmq::admin;

namespace {

struct Fixture {
  twinmq::net::Loop loop;
  BrokerStatus status = twinmq::admin::test::sample_master();
  AdminEndpoint endpoint{loop, [this] { return status; }};
  ~Fixture() { loop.shutdown(); }

  HttpResponse get(std::string path, std::string method = "GET") {
    HttpRequest req;
    req.method = std::move(method);
    req.path = std::move(path);
    return endpoint.route(req);
  }
};

}  // namespace

TEST_CASE("admin routes: each endpoint, its status code and content type") {
  Fixture f;
  CHECK(f.get("/livez").status == 200);
  auto s = f.get("/status");
  CHECK(s.status == 200);
  CHECK(s.content_type == "application/json");
  auto m = f.get("/metrics");
  CHECK(m.status == 200);
  CHECK(m.content_type.starts_with("text/plain; version=0.0.4"));
  auto page = f.get("/");
  CHECK(page.status == 200);
  CHECK(page.content_type.starts_with("text/html"));
  CHECK(page.body.find("fetch(\"/status\"") != std::string::npos);
  CHECK(page.body.find("http://") == std::string::npos);  // nothing loaded from elsewhere
  CHECK(page.body.find("https://") == std::string::npos);
  CHECK(f.get("/readyz").status == 200);
  f.status.serving = false;
  f.status.role = "slave";
  auto r = f.get("/readyz");
  CHECK(r.status == 503);
  CHECK(r.body.find("\"role\":\"slave\"") != std::string::npos);
}

TEST_CASE("admin routes: unknown path 404, wrong method 405 with Allow") {
  Fixture f;
  auto nf = f.get("/nope");
  CHECK(nf.status == 404);
  CHECK(nf.body.find("/status") != std::string::npos);
  auto na = f.get("/status", "POST");
  CHECK(na.status == 405);
  REQUIRE(na.headers.size() == 1);
  CHECK(na.headers[0].first == "Allow");
  CHECK(f.get("/metrics", "HEAD").status == 200);
}
