// admin/admin_endpoint.h — the HTTP admin endpoint (<managementContext uri=...>):
// which path answers what. README "Admin endpoint, metrics and health checks".
//
//   GET /         the status page (admin/status_page), which polls /status
//   GET /status   the status model as JSON (admin/status_json)
//   GET /metrics  Prometheus text (admin/metrics)
//   GET /livez    200 while the event loop runs (it answers from the loop)
//   GET /readyz   200 when this broker serves clients, else 503 with its role
//   /api/...      the operator's verbs (admin/admin_api.h): browse, purge, move, remove
//                 a destination, stop with a drain; admin users only
// HEAD is answered like GET without the body; other methods get 405 with Allow, other
// paths 404.
//
// Every answer is built from one BrokerStatus that the StatusSource makes on the loop
// thread when the request completes, the same model `twinmq status` prints.
//
// Lifecycle: owned by app::Runtime (loop thread), opened at start-up in every role (a
// slave is exactly what an operator wants to ask), closed at shut-down.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "admin/admin_actions.h"
#include "admin/http_server.h"
#include "admin/status_model.h"
#include "base/result.h"
#include "net/loop.h"

namespace twinmq::admin {

class AdminEndpoint {
 public:
  using StatusSource = std::function<BrokerStatus()>;

  // `actions`: the verbs under /api/ (null: they answer 503); not owned, outlives us.
  AdminEndpoint(net::Loop& loop, StatusSource status, AdminActions* actions = nullptr, HttpLimits limits = {});

  // Listens on host:port and prints the readiness line "twinmq: listening admin
  // <ip:port>" on stdout (tools and tests read the port from it).
  Result<void> open(const std::string& host, std::uint16_t port);
  void close() { server_.close(); }

  // The answer to one request (public for unit tests: no socket needed).
  HttpResponse route(const HttpRequest& req) const;

 private:
  StatusSource status_;
  AdminActions* actions_;
  HttpServer server_;
};

}  // namespace twinmq::admin
