// admin/admin_api.h — the operator's verbs over HTTP: a fixed set of routes under
// /api/ (never a generic invoke), answered through admin::AdminActions. README
// "Operator verbs".
//
//   GET    /api/queues/NAME/messages?limit=N&preview=B  browse the first N (1..1000, default
//                                                       20) ready messages, bodies cut to B
//                                                       bytes (0..65536, default 256)
//   POST   /api/queues/NAME/purge                       remove every ready message
//   POST   /api/queues/NAME/move?to=OTHER[&limit=N]     move all (or the first N) ready
//                                                       messages to queue OTHER
//   DELETE /api/destinations/queue/NAME                 remove a queue (or .../topic/NAME)
//   POST   /api/stop?drain=S                            stop accepting, drain up to S s, stop
//
// NAME is a queue name without "/queue/", percent-encoded ("a%2Fb" is /queue/a/b); a
// name that itself begins with "%2F" is taken whole ("%2Ftemp-queue%2Fx").
//
// Order of checks, so that nobody learns anything without access: the route and its
// method (404, 405), then access (401 with a Basic challenge, 403 for a user not in the
// `admin` group, 429 after too many failed logins), then whether this broker takes
// changes (503 on a slave, naming its master), then the arguments (400) and the verb
// itself (404 unknown queue, 409 in use). Every answer is JSON; errors are
// {"error": "..."}.
//
// Loop thread only (the endpoint's router).
#pragma once

#include "admin/admin_actions.h"
#include "admin/http_message.h"

namespace twinmq::admin {

// Whether `path` is the API's (under /api/).
bool is_api_path(std::string_view path);

// The answer to one /api/ request: at once (404, 405) or, through req.reply, later
// (HttpResponse::deferred). `actions` null: 503 (the broker is not running its state).
// `granted_user`: the endpoint already checked the request's credentials (an endpoint
// beyond loopback checks them for every path), so they are not checked twice.
HttpResponse route_api(const HttpRequest& req, AdminActions* actions, const std::string* granted_user = nullptr);

// The answer to a request access was refused to: 401 with a Basic challenge, 403, 429.
HttpResponse access_denied(const AccessVerdict& v);

// 400 for an Authorization header that is not HTTP Basic credentials.
HttpResponse malformed_authorization();

// A JSON answer (invalid UTF-8 in message bodies or names is replaced, never refused).
HttpResponse json_response(int status, const nlohmann::json& body);

}  // namespace twinmq::admin
