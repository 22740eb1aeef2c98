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
// Who may ask (README "Admin endpoint, metrics and health checks"):
//  - on loopback (EndpointOptions::login_required false): the read-only paths are open;
//    the verbs under /api/ check the caller themselves (admin/admin_api.h).
//  - beyond loopback (login_required): every request but GET/HEAD /livez and /readyz
//    is first checked through AdminActions::check_access (an admin user's Basic
//    credentials, off the loop for a hash, counted by the failed-login limiter), then
//    routed as above with the user already known. The probes stay open because a load
//    balancer or orchestrator probing them has no credentials, and they tell only
//    "live" and "serving or not, and the role".
// With EndpointOptions::tls (https://) every connection speaks TLS first (tls::Engine
// inside net::TcpConnection, as the stomp+ssl connectors do).
//
// Every answer is built from one BrokerStatus that the StatusSource makes on the loop
// thread when the request completes, the same model `twinmq status` prints.
//
// Lifecycle: owned by app::Runtime (loop thread), opened at start-up in every role (a
// slave is exactly what an operator wants to ask), closed at shut-down.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "admin/admin_actions.h"
#include "admin/http_server.h"
#include "admin/status_model.h"
#include "base/result.h"
#include "net/loop.h"
#include "tls/context.h"

namespace twinmq::admin {

struct EndpointOptions {
  HttpLimits limits;
  // Every path but the probes needs an admin user (an endpoint beyond loopback).
  bool login_required = false;
  // https://: the server context built from the broker's <sslContext>; null = http://.
  std::shared_ptr<tls::Context> tls;
};

class AdminEndpoint {
 public:
  using StatusSource = std::function<BrokerStatus()>;

  // `actions`: the verbs under /api/ and the access check (null: the verbs answer 503,
  // and so does every path but the probes when a login is required); not owned,
  // outlives us.
  AdminEndpoint(net::Loop& loop, StatusSource status, AdminActions* actions = nullptr, EndpointOptions options = {});

  // Listens on host:port and prints the readiness line "twinmq: listening admin
  // <ip:port>" on stdout (tools and tests read the port from it).
  Result<void> open(const std::string& host, std::uint16_t port);
  void close() { server_.close(); }

  // The answer to one request (public for unit tests: no socket needed).
  HttpResponse route(const HttpRequest& req) const;

 private:
  // What answering needs, shared with access checks still running (a password check
  // on the thread pool may answer after the endpoint is gone).
  struct Routes {
    StatusSource status;
    AdminActions* actions;
    // The answer once access is settled: `granted_user` null = not checked here.
    HttpResponse answer(const HttpRequest& req, const std::string* granted_user) const;
  };
  HttpResponse route_after_login(const HttpRequest& req) const;

  std::shared_ptr<const Routes> routes_;
  bool login_required_;
  bool tls_;
  HttpServer server_;
};

// Whether a request is one of the probes a load balancer sends (GET or HEAD of /livez
// or /readyz): open on every endpoint.
bool is_probe(const HttpRequest& req);

}  // namespace twinmq::admin
