// admin_cli/main.cc — twinmq-admin: the operator's command line for the admin endpoint
// (README "twinmq-admin"). Reads the command line (admin_cli/cli_args.h), finds the
// endpoint, makes the requests (admin_cli/http_call.h) and prints what came back
// (admin_cli/report.h). One request at a time; every wait is bounded.
#include <curl/curl.h>
#include <fmt/format.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <thread>
#include <vector>

#include <unistd.h>

#include "admin_cli/cli_args.h"
#include "admin_cli/http_call.h"
#include "admin_cli/report.h"
#include "config/xml_loader.h"

using namespace twinmq;
using namespace twinmq::admin_cli;
using nlohmann::json;

namespace {

constexpr std::string_view kDefaultUrl = "http://127.0.0.1:8162";
// How often await-sync and stop look again (an operator's tool, not a test).
constexpr auto kPollInterval = std::chrono::milliseconds(200);
// How long after the drain time a stopping broker may take to be gone (it waits up to
// 5 s for its last receipts, then closes).
constexpr auto kStopGrace = std::chrono::seconds(30);

int fail(Exit code, const std::string& message) {
  std::fprintf(stderr, "twinmq-admin: %s\n", message.c_str());
  return static_cast<int>(code);
}

json parse_json(const std::string& body) {
  json j = json::parse(body, nullptr, /*allow_exceptions=*/false);
  return j.is_discarded() ? json::object() : j;
}

// The endpoint's error text for an answer >= 400 (its JSON "error", else the body).
std::string error_of(const HttpAnswer& a) {
  const json j = parse_json(a.body);
  std::string text = j.is_object() && j.contains("error") && j["error"].is_string() ? j["error"].get<std::string>()
                                                                                    : a.body;
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  return fmt::format("HTTP {}: {}", a.status, text);
}

struct Context {
  CliOptions o;
  std::string url;
  std::string password;
  std::string cacert;  // https: --cacert, else the config's trustedCAs, else "" (system CAs)

  Result<HttpAnswer> call(std::string method, std::string path, long timeout_ms = 10'000) const {
    HttpCall c;
    c.method = std::move(method);
    c.url = url + path;
    c.user = o.user;
    c.password = password;
    c.cacert = cacert;
    c.timeout_ms = timeout_ms;
    return http_call(c);
  }
};

// One verb whose answer is printed: JSON with --json, else `human(json)`.
template <class Human>
int run_verb(const Context& ctx, const char* method, const std::string& path, Human human) {
  auto a = ctx.call(method, path);
  if (!a) return fail(Exit::critical, a.error().message);
  if (a->status >= 400) return fail(Exit::critical, error_of(*a));
  const json j = parse_json(a->body);
  if (ctx.o.json)
    std::fputs(a->body.c_str(), stdout);
  else
    std::fputs(human(j).c_str(), stdout);
  return 0;
}

int run_check(const Context& ctx) {
  const std::string& what = ctx.o.args[0];
  const char* path = what == "live" ? "/livez" : what == "ready" ? "/readyz" : "/status";
  auto a = ctx.call("GET", path, 5000);
  Verdict v;
  if (!a) {
    v = Verdict{Exit::critical, "CRITICAL: " + a.error().message};
  } else if (what == "live") {
    v = check_live(a->status);
  } else if (what == "ready") {
    v = check_ready(a->status, parse_json(a->body));
  } else if (a->status != 200) {
    v = Verdict{Exit::critical, "CRITICAL: /status answered " + error_of(*a)};
  } else {
    v = check_in_sync(parse_json(a->body));
  }
  std::printf("%s\n", v.line.c_str());
  return static_cast<int>(v.exit);
}

int run_await_sync(const Context& ctx) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(ctx.o.timeout_s);
  std::string last = "no answer yet";
  for (;;) {
    auto a = ctx.call("GET", "/status", 5000);
    if (!a) {
      last = a.error().message;
    } else if (a->status != 200) {
      last = "/status answered " + error_of(*a);
    } else {
      const json j = parse_json(a->body);
      const Verdict v = check_in_sync(j);
      if (v.exit == Exit::ok) {
        std::printf("%s\n", v.line.c_str());
        return 0;
      }
      last = v.line;
    }
    if (std::chrono::steady_clock::now() + kPollInterval >= deadline) break;
    std::this_thread::sleep_for(kPollInterval);
  }
  std::printf("CRITICAL: not in sync after %u s; last: %s\n", ctx.o.timeout_s, last.c_str());
  return static_cast<int>(Exit::critical);
}

int run_stop(const Context& ctx) {
  auto a = ctx.call("POST", fmt::format("/api/stop?drain={}", ctx.o.drain_s));
  if (!a) return fail(Exit::critical, a.error().message);
  if (a->status >= 400) return fail(Exit::critical, error_of(*a));
  std::printf("stopping: new client connections refused; draining the queues for up to %u s\n", ctx.o.drain_s);
  std::fflush(stdout);
  // Gone = the endpoint no longer answers: the broker has finished its stop.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(ctx.o.drain_s) + kStopGrace;
  while (std::chrono::steady_clock::now() < deadline) {
    if (!ctx.call("GET", "/livez", 2000)) {
      std::printf("stopped\n");
      return 0;
    }
    std::this_thread::sleep_for(kPollInterval);
  }
  return fail(Exit::critical, fmt::format("the broker still answers {} s after the drain time; see its log",
                                          kStopGrace.count()));
}

int run(Context& ctx) {
  const CliOptions& o = ctx.o;
  switch (o.command) {
    case Command::help: std::fputs(std::string(usage()).c_str(), stdout); return 0;
    case Command::status: return run_verb(ctx, "GET", "/status", [](const json& j) { return status_table(j); });
    case Command::dstat:
      if (o.json) {
        auto a = ctx.call("GET", "/status");
        if (!a) return fail(Exit::critical, a.error().message);
        if (a->status >= 400) return fail(Exit::critical, error_of(*a));
        const json j = parse_json(a->body);
        std::printf("%s\n", j.value("destinations", json::array()).dump(2).c_str());
        return 0;
      }
      return run_verb(ctx, "GET", "/status", [](const json& j) { return dstat_table(j); });
    case Command::browse: {
      std::string path = fmt::format("/api/queues/{}/messages?limit={}", queue_segment(o.args[0]), o.limit);
      if (o.preview != 0) path += fmt::format("&preview={}", o.preview);
      return run_verb(ctx, "GET", path, [](const json& j) { return browse_listing(j); });
    }
    case Command::purge:
      return run_verb(ctx, "POST", fmt::format("/api/queues/{}/purge", queue_segment(o.args[0])), [](const json& j) {
        return fmt::format("purged {} message(s) from {}\n", j.value("purged", 0), j.value("queue", ""));
      });
    case Command::move: {
      std::string path =
          fmt::format("/api/queues/{}/move?to={}", queue_segment(o.args[0]), percent_encode(queue_segment(o.args[1])));
      if (o.limit != 0) path += fmt::format("&limit={}", o.limit);
      return run_verb(ctx, "POST", path, [](const json& j) {
        return fmt::format("moved {} message(s) from {} to {}\n", j.value("moved", 0), j.value("from", ""),
                           j.value("to", ""));
      });
    }
    case Command::check: return run_check(ctx);
    case Command::await_sync: return run_await_sync(ctx);
    case Command::stop: return run_stop(ctx);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string_view> args(argv + 1, argv + argc);
  const char* env = std::getenv("TWINMQ_ADMIN_PASSWORD");
  auto parsed = parse_args(args, env != nullptr ? std::optional<std::string>(env) : std::nullopt);
  if (!parsed) {
    std::fprintf(stderr, "twinmq-admin: %s\n(twinmq-admin --help shows the usage)\n", parsed.error().message.c_str());
    return static_cast<int>(Exit::usage);
  }
  Context ctx{std::move(*parsed), "", "", ""};
  if (ctx.o.command == Command::help) {
    std::fputs(std::string(usage()).c_str(), stdout);
    return 0;
  }
  ctx.url = ctx.o.url;
  ctx.cacert = ctx.o.cacert;
  // --config gives the endpoint (unless --url does) and, for https://, the CA file
  // (unless --cacert does).
  if (!ctx.o.config_file.empty() && (ctx.url.empty() || ctx.cacert.empty())) {
    const config::LoadResult loaded = config::load_config(ctx.o.config_file, {});
    if (!loaded.ok()) {
      for (const std::string& e : loaded.errors) std::fprintf(stderr, "%s\n", e.c_str());
      return fail(Exit::usage, "cannot take the endpoint from " + ctx.o.config_file);
    }
    if (!loaded.config.management)
      return fail(Exit::usage, ctx.o.config_file + " has no <managementContext uri=...>: that broker has no admin "
                                                   "endpoint");
    const config::ManagementConfig& m = *loaded.config.management;
    if (ctx.url.empty()) {
      // A wildcard address listens on loopback too.
      const std::string& h = m.endpoint.host;
      ctx.url = url_of(h == "0.0.0.0" ? "127.0.0.1" : h == "::" ? "::1" : h, m.endpoint.port, m.tls);
    }
    // Most sites sign the broker's certificate with the CA its <sslContext> trusts.
    if (ctx.cacert.empty() && loaded.config.ssl_context) ctx.cacert = loaded.config.ssl_context->files.trusted_cas;
  }
  if (ctx.url.empty()) ctx.url = std::string(kDefaultUrl);
  if (ctx.url.starts_with("https://") && !ctx.cacert.empty() && ::access(ctx.cacert.c_str(), R_OK) != 0)
    return fail(Exit::usage, "cannot read the CA file " + ctx.cacert +
                                 (ctx.o.cacert.empty() ? " (the <sslContext trustedCAs> of " + ctx.o.config_file +
                                                             "; give another with --cacert FILE)"
                                                       : " (--cacert)"));
  if (!ctx.o.password_file.empty()) {
    std::ifstream in(ctx.o.password_file);
    if (!in) return fail(Exit::usage, "cannot read --password-file " + ctx.o.password_file);
    std::getline(in, ctx.password);
  } else if (ctx.o.password) {
    ctx.password = *ctx.o.password;
  }
  if (ctx.o.password_on_command_line)
    std::fprintf(stderr, "twinmq-admin: warning: --password on the command line is visible to other local users; "
                         "use TWINMQ_ADMIN_PASSWORD or --password-file\n");
  if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) return fail(Exit::critical, "libcurl failed to start");
  const int rc = run(ctx);
  curl_global_cleanup();
  return rc;
}
