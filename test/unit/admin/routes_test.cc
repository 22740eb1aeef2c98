// test/unit/admin/routes_test.cc — what each path and method answers, without a socket.
#include <doctest.h>

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "admin/admin_endpoint.h"
#include "base/base64.h"
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
  CHECK(page.body.find("fetch(location.origin + \"/status\"") != std::string::npos);
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

namespace {

// Access decided at once from the user name: "boss" is an admin, "bob" is not,
// anything else is a wrong password; every decision is recorded.
struct FakeActions final : AdminActions {
  std::vector<std::string> asked;  // user names check_access saw ("" = none given)
  void check_access(bool given, const std::string& user, const std::string&, const std::string&,
                    std::function<void(AccessVerdict)> done) override {
    asked.push_back(given ? user : "");
    if (!given) return done(AccessVerdict{Access::no_credentials, "", "credentials required"});
    if (user == "boss") return done(AccessVerdict{Access::granted, user, ""});
    if (user == "bob") return done(AccessVerdict{Access::not_admin, user, "not in the 'admin' group"});
    done(AccessVerdict{Access::bad_credentials, user, "wrong user name or password"});
  }
  std::string refuse_changes() const override { return {}; }
  void browse(const std::string& queue, std::size_t, std::size_t, AnswerFn done) override {
    done(ActionAnswer{200, nlohmann::json{{"queue", queue}}});
  }
  void purge(const std::string&, const std::string&, AnswerFn) override {}
  void move(const std::string&, const std::string&, std::size_t, const std::string&, AnswerFn) override {}
  void remove_destination(const std::string&, const std::string&, AnswerFn) override {}
  void stop(std::uint32_t, const std::string&, AnswerFn) override {}
};

struct RemoteFixture {
  twinmq::net::Loop loop;
  BrokerStatus status = twinmq::admin::test::sample_master();
  FakeActions actions;
  AdminEndpoint endpoint{loop, [this] { return status; }, &actions, EndpointOptions{{}, true, nullptr}};
  ~RemoteFixture() { loop.shutdown(); }

  // The answer, whether returned or sent through the request's reply.
  HttpResponse ask(std::string path, std::string user = "", std::string method = "GET") {
    auto sink = std::make_shared<DeferredReply::Sink>([this](HttpResponse r) { late = std::move(r); });
    HttpRequest req;
    req.method = std::move(method);
    req.path = std::move(path);
    if (!user.empty()) req.authorization = "Basic " + twinmq::base64_encode(user + ":pw");
    req.reply = DeferredReply(sink);
    late.reset();
    HttpResponse r = endpoint.route(req);
    if (!r.deferred) return r;
    REQUIRE(late.has_value());
    return *late;
  }
  std::optional<HttpResponse> late;
};

bool has_basic_challenge(const HttpResponse& r) {
  for (const auto& [name, value] : r.headers)
    if (name == "WWW-Authenticate" && value.starts_with("Basic realm=")) return true;
  return false;
}

}  // namespace

TEST_CASE("admin routes beyond loopback: every path needs an admin user but the probes") {
  RemoteFixture f;
  for (const char* path : {"/", "/status", "/metrics", "/nope", "/api/queues/q/messages"}) {
    CAPTURE(path);
    const HttpResponse anonymous = f.ask(path);
    CHECK(anonymous.status == 401);
    CHECK(has_basic_challenge(anonymous));
    CHECK(anonymous.body.find("orders") == std::string::npos);  // nothing of the broker leaks
    CHECK(f.ask(path, "mallory").status == 401);
    CHECK(f.ask(path, "bob").status == 403);
  }
  CHECK(f.ask("/status", "boss").status == 200);
  CHECK(f.ask("/status", "boss").body.find("/queue/orders") != std::string::npos);
  CHECK(f.ask("/metrics", "boss").content_type.starts_with("text/plain; version=0.0.4"));
  CHECK(f.ask("/", "boss").content_type.starts_with("text/html"));
  CHECK(f.ask("/nope", "boss").status == 404);
  CHECK(f.ask("/status", "boss", "POST").status == 405);
  // The verbs with the user already checked: one check, not two.
  f.actions.asked.clear();
  const HttpResponse browsed = f.ask("/api/queues/q/messages", "boss");
  CHECK(browsed.status == 200);
  CHECK(browsed.body.find("/queue/q") != std::string::npos);
  CHECK(f.actions.asked == std::vector<std::string>{"boss"});
  // Not Basic credentials at all: 400, no check.
  HttpRequest bearer;
  bearer.method = "GET";
  bearer.path = "/status";
  bearer.authorization = "Bearer abc";
  CHECK(f.endpoint.route(bearer).status == 400);

  // The probes: open, and no check made.
  f.actions.asked.clear();
  CHECK(f.ask("/livez").status == 200);
  CHECK(f.ask("/readyz").status == 200);
  CHECK(f.ask("/readyz", "", "HEAD").status == 200);
  CHECK(f.actions.asked.empty());
  // Another method on a probe path is not a probe.
  CHECK(f.ask("/livez", "", "POST").status == 401);
}

TEST_CASE("admin routes on loopback: the read-only paths stay open, the verbs still ask") {
  twinmq::net::Loop loop;
  FakeActions actions;
  BrokerStatus status = twinmq::admin::test::sample_master();
  {
    AdminEndpoint endpoint{loop, [&] { return status; }, &actions};
    std::optional<HttpResponse> late;
    auto sink = std::make_shared<DeferredReply::Sink>([&](HttpResponse r) { late = std::move(r); });
    HttpRequest req;
    req.method = "GET";
    req.path = "/status";
    req.reply = DeferredReply(sink);
    CHECK(endpoint.route(req).status == 200);
    CHECK(actions.asked.empty());
    req.path = "/api/queues/q/messages";
    CHECK(endpoint.route(req).deferred);
    REQUIRE(late.has_value());
    CHECK(late->status == 401);
  }
  loop.shutdown();
}
