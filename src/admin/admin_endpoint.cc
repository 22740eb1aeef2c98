// admin/admin_endpoint.cc — the admin endpoint's routes (admin/admin_endpoint.h).
#include "admin/admin_endpoint.h"

#include <spdlog/spdlog.h>

#include <array>
#include <cstdio>
#include <string_view>

#include "admin/admin_api.h"
#include "admin/metrics.h"
#include "admin/request_args.h"
#include "admin/status_json.h"
#include "admin/status_page.h"

namespace twinmq::admin {

namespace {

constexpr std::array<std::string_view, 5> kPaths = {"/", "/status", "/metrics", "/livez", "/readyz"};

HttpResponse with_type(std::string body, std::string type, int status = 200) {
  HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  r.content_type = std::move(type);
  return r;
}

}  // namespace

bool is_probe(const HttpRequest& req) {
  return (req.method == "GET" || req.method == "HEAD") && (req.path == "/livez" || req.path == "/readyz");
}

AdminEndpoint::AdminEndpoint(net::Loop& loop, StatusSource status, AdminActions* actions, EndpointOptions options)
    : routes_(std::make_shared<const Routes>(Routes{std::move(status), actions})),
      login_required_(options.login_required),
      tls_(options.tls != nullptr),
      server_(loop, options.limits, [this](const HttpRequest& r) { return route(r); }, std::move(options.tls)) {}

Result<void> AdminEndpoint::open(const std::string& host, std::uint16_t port) {
  if (auto r = server_.open(host, port); !r) return r;
  spdlog::info("admin endpoint listening on {}://{} (/status, /metrics, /livez, /readyz, the verbs under /api/, and "
               "the status page at /){}",
               tls_ ? "https" : "http", server_.address(),
               login_required_ ? "; every path but /livez and /readyz needs a user of the 'admin' group" : "");
  std::printf("twinmq: listening admin %s\n", server_.address().c_str());
  std::fflush(stdout);
  return {};
}

HttpResponse AdminEndpoint::route(const HttpRequest& req) const {
  if (login_required_ && !is_probe(req)) return route_after_login(req);
  return routes_->answer(req, nullptr);
}

HttpResponse AdminEndpoint::route_after_login(const HttpRequest& req) const {
  if (routes_->actions == nullptr)
    return text_response(503, "this broker cannot check credentials now; only /livez and /readyz answer");
  const std::optional<BasicCredentials> creds = parse_basic_auth(req.authorization);
  if (!req.authorization.empty() && !creds) return malformed_authorization();
  // Copied: the check may answer after the connection's parser has moved on.
  auto held = std::make_shared<HttpRequest>(req);
  routes_->actions->check_access(creds.has_value(), creds ? creds->user : std::string(),
                                 creds ? creds->password : std::string(), req.peer,
                                 [held, routes = routes_](AccessVerdict v) {
                                   if (v.access != Access::granted) return held->reply.send(access_denied(v));
                                   if (!held->reply.wanted()) return;  // the connection is gone
                                   HttpResponse r = routes->answer(*held, &v.user);
                                   if (!r.deferred) held->reply.send(std::move(r));
                                 });
  return deferred_response();
}

HttpResponse AdminEndpoint::Routes::answer(const HttpRequest& req, const std::string* granted_user) const {
  if (is_api_path(req.path)) return route_api(req, actions, granted_user);
  bool known = false;
  for (std::string_view p : kPaths) known = known || req.path == p;
  if (!known) {
    return text_response(404, "no such path: " + std::string(req.path.substr(0, 200)) +
                                  " (the admin endpoint answers /, /status, /metrics, /livez, /readyz and the verbs under /api/)");
  }
  if (req.method != "GET" && req.method != "HEAD") {
    HttpResponse r = text_response(405, "method " + req.method + " is not allowed on " + req.path + " (use GET)");
    r.headers.emplace_back("Allow", "GET, HEAD");
    return r;
  }
  // The loop runs this very code, so the process is live: nothing to ask anyone.
  if (req.path == "/livez") return text_response(200, "live");
  if (req.path == "/") return with_type(std::string(status_page_html()), "text/html; charset=utf-8");

  const BrokerStatus s = status();
  if (req.path == "/status") return with_type(status_json(s), "application/json");
  if (req.path == "/metrics") return with_type(metrics_text(s), kMetricsContentType);
  // /readyz
  return with_type(readiness_json(s), "application/json", s.serving ? 200 : 503);
}

}  // namespace twinmq::admin
