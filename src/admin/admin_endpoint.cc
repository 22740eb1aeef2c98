// admin/admin_endpoint.cc — the admin endpoint's routes (admin/admin_endpoint.h).
#include "admin/admin_endpoint.h"

#include <spdlog/spdlog.h>

#include <array>
#include <cstdio>
#include <string_view>

#include "admin/admin_api.h"
#include "admin/metrics.h"
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

AdminEndpoint::AdminEndpoint(net::Loop& loop, StatusSource status, AdminActions* actions, HttpLimits limits)
    : status_(std::move(status)), actions_(actions), server_(loop, limits, [this](const HttpRequest& r) { return route(r); }) {}

Result<void> AdminEndpoint::open(const std::string& host, std::uint16_t port) {
  if (auto r = server_.open(host, port); !r) return r;
  spdlog::info("admin endpoint listening on http://{} (/status, /metrics, /livez, /readyz, the verbs under /api/, and the "
               "status page at /)",
               server_.address());
  std::printf("twinmq: listening admin %s\n", server_.address().c_str());
  std::fflush(stdout);
  return {};
}

HttpResponse AdminEndpoint::route(const HttpRequest& req) const {
  if (is_api_path(req.path)) return route_api(req, actions_);
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

  const BrokerStatus s = status_();
  if (req.path == "/status") return with_type(status_json(s), "application/json");
  if (req.path == "/metrics") return with_type(metrics_text(s), kMetricsContentType);
  // /readyz
  return with_type(readiness_json(s), "application/json", s.serving ? 200 : 503);
}

}  // namespace twinmq::admin
