// admin/admin_api.cc — the /api/ routes (admin/admin_api.h).
#include "admin/admin_api.h"

#include <fmt/format.h>

#include <memory>
#include <string_view>
#include <vector>

#include "admin/request_args.h"

namespace twinmq::admin {

namespace {

constexpr std::size_t kMaxBrowse = 1000;
constexpr std::size_t kDefaultBrowse = 20;
constexpr std::size_t kMaxPreview = 64u << 10;
constexpr std::size_t kDefaultPreview = 256;
constexpr std::uint32_t kMaxDrainSeconds = 24 * 3600;

HttpResponse json_error(int status, const std::string& message) {
  return json_response(status, nlohmann::json{{"error", message}});
}

std::vector<std::string_view> split_path(std::string_view path) {
  std::vector<std::string_view> out;
  while (!path.empty()) {
    if (path.front() == '/') {
      path.remove_prefix(1);
      continue;
    }
    const std::size_t slash = path.find('/');
    out.push_back(path.substr(0, slash));
    path = slash == std::string_view::npos ? std::string_view{} : path.substr(slash);
  }
  return out;
}

enum class Verb { browse, purge, move, remove, stop };

struct Route {
  Verb verb;
  const char* method;  // the one method it takes
  bool mutating;
  std::string name;    // the segment naming the destination, undecoded
  std::string kind;    // "queue" or "topic"
};

// Which verb a path names, or why none: nullopt = 404.
std::optional<Route> match(const std::vector<std::string_view>& s) {
  // s[0] == "api"
  if (s.size() == 2 && s[1] == "stop") return Route{Verb::stop, "POST", false, "", ""};
  if (s.size() == 4 && s[1] == "queues") {
    const std::string name(s[2]);
    if (s[3] == "messages") return Route{Verb::browse, "GET", false, name, "queue"};
    if (s[3] == "purge") return Route{Verb::purge, "POST", true, name, "queue"};
    if (s[3] == "move") return Route{Verb::move, "POST", true, name, "queue"};
  }
  if (s.size() == 4 && s[1] == "destinations" && (s[2] == "queue" || s[2] == "topic"))
    return Route{Verb::remove, "DELETE", true, std::string(s[3]), std::string(s[2])};
  return std::nullopt;
}

}  // namespace

HttpResponse access_denied(const AccessVerdict& v) {
  switch (v.access) {
    case Access::no_credentials:
    case Access::bad_credentials: {
      HttpResponse r = json_error(401, v.detail);
      r.headers.emplace_back("WWW-Authenticate", "Basic realm=\"twinmq admin\", charset=\"UTF-8\"");
      return r;
    }
    case Access::not_admin: return json_error(403, v.detail);
    case Access::rate_limited: return json_error(429, v.detail);
    case Access::granted: break;
  }
  return json_error(500, "access granted but answered as denied");
}

HttpResponse malformed_authorization() {
  return json_error(400, "the Authorization header is not HTTP Basic credentials (Basic base64(user:password))");
}

namespace {

// After access was granted: the role, the arguments, the verb.
void run(const HttpRequest& req, const Route& route, const std::string& user, AdminActions& actions) {
  const DeferredReply reply = req.reply;
  auto fail = [&](int status, const std::string& message) { reply.send(json_error(status, message)); };
  if (route.mutating) {
    if (std::string why = actions.refuse_changes(); !why.empty()) return fail(503, why);
  }
  AnswerFn answer = [reply](ActionAnswer a) { reply.send(json_response(a.status, a.body)); };
  if (route.verb == Verb::stop) {
    auto drain = query_number(req.query, "drain", 0, 0, kMaxDrainSeconds);
    if (!drain) return fail(400, drain.error().message);
    return actions.stop(static_cast<std::uint32_t>(*drain), user, std::move(answer));
  }
  auto name = destination_from_segment(route.name, route.kind);
  if (!name) return fail(400, fmt::format("the {} name in the path: {}", route.kind, name.error().message));
  switch (route.verb) {
    case Verb::browse: {
      auto limit = query_number(req.query, "limit", kDefaultBrowse, 1, kMaxBrowse);
      if (!limit) return fail(400, limit.error().message);
      auto preview = query_number(req.query, "preview", kDefaultPreview, 0, kMaxPreview);
      if (!preview) return fail(400, preview.error().message);
      return actions.browse(*name, *limit, *preview, std::move(answer));
    }
    case Verb::purge: return actions.purge(*name, user, std::move(answer));
    case Verb::move: {
      auto to = query_param(req.query, "to");
      if (!to) return fail(400, to.error().message);
      if (!*to || (*to)->empty()) return fail(400, "parameter 'to' (the queue to move the messages to) is missing");
      auto target = destination_from_segment(**to, "queue");
      if (!target) return fail(400, "parameter 'to': " + target.error().message);
      auto limit = query_number(req.query, "limit", 0, 0, UINT32_MAX);
      if (!limit) return fail(400, limit.error().message);
      return actions.move(*name, *target, *limit, user, std::move(answer));
    }
    case Verb::remove: return actions.remove_destination(*name, user, std::move(answer));
    case Verb::stop: break;
  }
}

}  // namespace

bool is_api_path(std::string_view path) { return path == "/api" || path.starts_with("/api/"); }

HttpResponse json_response(int status, const nlohmann::json& body) {
  HttpResponse r;
  r.status = status;
  r.content_type = "application/json";
  r.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  r.body += '\n';
  return r;
}

HttpResponse route_api(const HttpRequest& req, AdminActions* actions, const std::string* granted_user) {
  const std::vector<std::string_view> segments = split_path(req.path);
  const std::optional<Route> route = match(segments);
  if (!route)
    return json_error(404, fmt::format("no such admin verb: {} (the verbs are GET /api/queues/NAME/messages, "
                                       "POST /api/queues/NAME/purge, POST /api/queues/NAME/move?to=OTHER, "
                                       "DELETE /api/destinations/queue/NAME and POST /api/stop?drain=S)",
                                       req.path.substr(0, 200)));
  const bool head_ok = std::string_view(route->method) == "GET" && req.method == "HEAD";
  if (req.method != route->method && !head_ok) {
    HttpResponse r = json_error(405, fmt::format("method {} is not allowed on {} (use {})", req.method,
                                                 req.path.substr(0, 200), route->method));
    r.headers.emplace_back("Allow", std::string_view(route->method) == "GET" ? "GET, HEAD" : route->method);
    return r;
  }
  if (actions == nullptr) return json_error(503, "the admin verbs are not available on this broker now");
  AdminActions& a = *actions;
  if (granted_user != nullptr) {
    run(req, *route, *granted_user, a);
    return deferred_response();
  }
  const std::optional<BasicCredentials> creds = parse_basic_auth(req.authorization);
  if (!req.authorization.empty() && !creds) return malformed_authorization();
  // The request is copied: the access check may answer after the connection's parser
  // has moved on, and the request's strings live in the parser's callbacks.
  auto held = std::make_shared<HttpRequest>(req);
  a.check_access(creds.has_value(), creds ? creds->user : std::string(), creds ? creds->password : std::string(),
                 req.peer, [held, r = *route, &a](AccessVerdict v) {
                   if (v.access != Access::granted) return held->reply.send(access_denied(v));
                   run(*held, r, v.user, a);
                 });
  return deferred_response();
}

}  // namespace twinmq::admin
