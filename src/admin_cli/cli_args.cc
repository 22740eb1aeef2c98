// admin_cli/cli_args.cc — twinmq-admin's command line (admin_cli/cli_args.h).
#include "admin_cli/cli_args.h"

#include <fmt/format.h>

#include <charconv>

namespace twinmq::admin_cli {

namespace {

struct CommandName {
  std::string_view name;
  Command command;
  std::size_t min_args, max_args;
};

constexpr CommandName kCommands[] = {
    {"status", Command::status, 0, 0},         {"dstat", Command::dstat, 0, 0},
    {"browse", Command::browse, 1, 1},         {"purge", Command::purge, 1, 1},
    {"move", Command::move, 2, 2},             {"check", Command::check, 1, 1},
    {"await-sync", Command::await_sync, 0, 0}, {"stop", Command::stop, 0, 0},
    {"help", Command::help, 0, 0},
};

constexpr std::uint32_t kDefaultDrainSeconds = 30;

Result<std::uint32_t> number(std::string_view option, std::string_view text, std::uint32_t max) {
  std::uint32_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || v > max)
    return make_error(CliErrc::usage,
                      fmt::format("{} takes a whole number from 0 to {}, got '{}'", option, max, text));
  return v;
}

}  // namespace

std::string url_of(std::string_view host, std::uint16_t port, bool tls) {
  const bool v6 = host.find(':') != std::string_view::npos;
  return fmt::format("{}://{}{}{}:{}", tls ? "https" : "http", v6 ? "[" : "", host, v6 ? "]" : "", port);
}

Result<std::string> normalise_url(std::string_view text) {
  std::string_view rest = text;
  const bool tls = rest.starts_with("https://");
  if (tls) rest.remove_prefix(8);
  else if (rest.starts_with("http://")) rest.remove_prefix(7);
  else if (rest.find("://") != std::string_view::npos)
    return make_error(CliErrc::bad_url,
                      fmt::format("'{}': the admin endpoint's URL is http://host:port or https://host:port", text));
  while (rest.ends_with('/')) rest.remove_suffix(1);
  if (rest.find('/') != std::string_view::npos)
    return make_error(CliErrc::bad_url,
                      fmt::format("'{}': give the endpoint only (http(s)://host:port), not a path", text));
  std::string_view host, port;
  if (rest.starts_with('[')) {
    const std::size_t close = rest.find(']');
    if (close == std::string_view::npos)
      return make_error(CliErrc::bad_url, fmt::format("'{}': an IPv6 address needs its closing ']'", text));
    host = rest.substr(1, close - 1);
    std::string_view after = rest.substr(close + 1);
    if (!after.empty() && !after.starts_with(':'))
      return make_error(CliErrc::bad_url, fmt::format("'{}': expected ':port' after ']'", text));
    port = after.empty() ? std::string_view{} : after.substr(1);
  } else {
    const std::size_t colon = rest.rfind(':');
    host = rest.substr(0, colon);
    port = colon == std::string_view::npos ? std::string_view{} : rest.substr(colon + 1);
  }
  if (host.empty()) return make_error(CliErrc::bad_url, fmt::format("'{}': no host", text));
  if (port.empty())
    return make_error(CliErrc::bad_url,
                      fmt::format("'{}': no port (the endpoint's port is in <managementContext uri=...>; 8162 by "
                                  "default)",
                                  text));
  auto p = number("the port", port, 65535);
  if (!p || *p == 0) return make_error(CliErrc::bad_url, fmt::format("'{}': the port must be 1 to 65535", text));
  return url_of(host, static_cast<std::uint16_t>(*p), tls);
}

Result<CliOptions> parse_args(std::span<const std::string_view> args, std::optional<std::string> env_password) {
  CliOptions o;
  o.password = std::move(env_password);
  std::vector<std::string_view> operands;
  bool limit_given = false;
  bool timeout_given = false, drain_given = false, drain_value_given = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string_view a = args[i];
    // "--name value" and "--name=value" alike.
    std::string_view name = a, inline_value;
    bool has_inline = false;
    if (a.starts_with("--")) {
      if (const std::size_t eq = a.find('='); eq != std::string_view::npos) {
        name = a.substr(0, eq);
        inline_value = a.substr(eq + 1);
        has_inline = true;
      }
    }
    auto value = [&]() -> Result<std::string_view> {
      if (has_inline) return inline_value;
      if (i + 1 >= args.size()) return make_error(CliErrc::usage, fmt::format("{} needs a value", name));
      return args[++i];
    };
    if (name == "--help" || name == "-h") {
      o.command = Command::help;
      return o;
    }
    if (name == "--json") {
      o.json = true;
    } else if (name == "--url") {
      auto v = value();
      if (!v) return std::unexpected(v.error());
      auto u = normalise_url(*v);
      if (!u) return std::unexpected(u.error());
      o.url = *u;
    } else if (name == "--cacert") {
      auto v = value();
      if (!v) return std::unexpected(v.error());
      if (v->empty()) return make_error(CliErrc::usage, "--cacert needs a file name");
      o.cacert = std::string(*v);
    } else if (name == "--config") {
      auto v = value();
      if (!v) return std::unexpected(v.error());
      o.config_file = std::string(*v);
    } else if (name == "--user") {
      auto v = value();
      if (!v) return std::unexpected(v.error());
      o.user = std::string(*v);
    } else if (name == "--password") {
      auto v = value();
      if (!v) return std::unexpected(v.error());
      o.password = std::string(*v);
      o.password_on_command_line = true;
    } else if (name == "--password-file") {
      auto v = value();
      if (!v) return std::unexpected(v.error());
      o.password_file = std::string(*v);
    } else if (name == "--timeout") {
      auto v = value();
      if (!v) return std::unexpected(v.error());
      auto n = number("--timeout", *v, 7 * 24 * 3600);
      if (!n) return std::unexpected(n.error());
      o.timeout_s = *n;
      timeout_given = true;
    } else if (name == "--drain") {
      // --drain alone drains for up to 30 s; --drain S or --drain=S for S seconds.
      // --drain --timeout S (the drain lasts S s) is the same as --drain S.
      drain_given = true;
      std::string_view text = inline_value;
      if (!has_inline && i + 1 < args.size() && !args[i + 1].empty() &&
          args[i + 1].find_first_not_of("0123456789") == std::string_view::npos)
        text = args[++i];
      if (has_inline || !text.empty()) {
        auto n = number("--drain", text, 24 * 3600);
        if (!n) return std::unexpected(n.error());
        o.drain_s = *n;
        drain_value_given = true;
      }
    } else if (name == "--limit") {
      auto v = value();
      if (!v) return std::unexpected(v.error());
      auto n = number("--limit", *v, 1000000);
      if (!n) return std::unexpected(n.error());
      o.limit = *n;
      limit_given = true;
    } else if (name == "--preview") {
      auto v = value();
      if (!v) return std::unexpected(v.error());
      auto n = number("--preview", *v, 65536);
      if (!n) return std::unexpected(n.error());
      o.preview = *n;
    } else if (a.starts_with("-") && a.size() > 1) {
      return make_error(CliErrc::usage, fmt::format("unknown option '{}'", a));
    } else {
      operands.push_back(a);
    }
  }
  if (operands.empty()) return make_error(CliErrc::usage, "no command given");
  const CommandName* found = nullptr;
  for (const CommandName& c : kCommands)
    if (c.name == operands.front()) found = &c;
  if (found == nullptr) return make_error(CliErrc::usage, fmt::format("unknown command '{}'", operands.front()));
  o.command = found->command;
  const std::size_t n = operands.size() - 1;
  if (n < found->min_args || n > found->max_args)
    return make_error(CliErrc::usage, fmt::format("'{}' takes {} operand(s), got {}", found->name,
                                                  found->min_args == found->max_args
                                                      ? std::to_string(found->min_args)
                                                      : fmt::format("{} to {}", found->min_args, found->max_args),
                                                  n));
  for (std::size_t k = 1; k < operands.size(); ++k) o.args.emplace_back(operands[k]);
  if (o.command == Command::check && o.args[0] != "live" && o.args[0] != "ready" && o.args[0] != "in-sync")
    return make_error(CliErrc::usage,
                      fmt::format("check takes live, ready or in-sync, got '{}'", o.args[0]));
  if (o.command == Command::browse && !limit_given) o.limit = 20;
  if (drain_given && o.command != Command::stop) return make_error(CliErrc::usage, "--drain belongs to 'stop'");
  if (drain_given && !drain_value_given) o.drain_s = timeout_given ? o.timeout_s : kDefaultDrainSeconds;
  if (o.command == Command::browse && o.limit == 0) return make_error(CliErrc::usage, "browse --limit must be 1 or more");
  if (!o.password_file.empty() && o.password_on_command_line)
    return make_error(CliErrc::usage, "give --password or --password-file, not both");
  // TWINMQ_ADMIN_PASSWORD may be set for a whole session: unused without --user.
  if ((o.password_on_command_line || !o.password_file.empty()) && o.user.empty())
    return make_error(CliErrc::usage, "a password was given without --user");
  return o;
}

std::string_view usage() {
  return R"(usage: twinmq-admin [--url http(s)://HOST:PORT | --config FILE] [--cacert FILE] [--user NAME] COMMAND [ARGS]

Talks to a broker's admin endpoint (<managementContext uri=...>, default http://127.0.0.1:8162).

commands:
  status [--json]               role, peer and sync state, connectors, store, destinations
  dstat [--json]                per destination: queue size, producers, consumers, enqueued,
                                dequeued, memory %
  browse QUEUE [--limit N] [--preview BYTES] [--json]
                                the first N (default 20, at most 1000) waiting messages
  purge QUEUE                   remove every waiting message of QUEUE
  move FROM TO [--limit N]      move all (or the first N) waiting messages to queue TO
  check live|ready|in-sync      for monitoring: exit 0 ok, 1 warning, 2 critical
  await-sync [--timeout S]      wait (default 30 s) until the pair is in sync: 0, else 2
  stop [--drain [S] | --drain --timeout S]
                                stop accepting clients, let consumers drain the queues for up
                                to S s (default 30 with --drain, else 0), then stop; a master
                                hands over to its slave. Waits until the broker has gone.

options:
  --url URL            the endpoint, http://HOST:PORT or https://HOST:PORT
  --config FILE        take the endpoint from FILE's <managementContext>
  --cacert FILE        https: the CA certificate(s) (PEM) the endpoint's certificate must
                       chain to (default: FILE's <sslContext trustedCAs> with --config,
                       else the system's CAs)
  --user NAME          a user of the broker in the 'admin' group (when users are configured;
                       every command on an endpoint beyond loopback)
  --password-file FILE the password, first line of FILE (else TWINMQ_ADMIN_PASSWORD)
  --password PW        the password on the command line (visible to other local users)
  --json               print the endpoint's JSON answer
  --help               this text

QUEUE is a name without /queue/ ("orders"), or a full name ("/queue/orders").
Exit codes: 0 done, 2 refused by the broker or unreachable, 64 bad command line;
check and await-sync: 0 ok, 1 warning, 2 critical.
)";
}

}  // namespace twinmq::admin_cli
