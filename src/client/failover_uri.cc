// client/failover_uri.cc — parsing ActiveMQ failover URIs into FailoverUri, and the
// pure parts of the reconnect policy (back-off, attempt limits, pass order).
//
// Grammar accepted (ActiveMQ's, minus what this client cannot honour):
//   failover:(member[,member...])[?name=value[&name=value...]]
//   failover:member[,member...]            (no options without the parentheses)
//   member = (tcp|stomp|ssl|stomp+ssl)://host:port       host = name | IPv4 | [IPv6]
// (ssl and stomp+ssl: TLS with ConnectOptions::tls)
// A plain member URI on its own is one broker without failover. Names are
// case-sensitive as in ActiveMQ; ActiveMQ options this client does not implement
// (backup, trackMessages, ...) are refused by name rather than ignored, so a URI
// never silently means less than it says.
#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <string>
#include <vector>

#include "twinmq/failover.h"

namespace twinmq::client {
namespace {

std::unexpected<Error> bad(std::string what) {
  return make_error(Errc::bad_argument, "failover URI: " + std::move(what));
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

constexpr std::string_view kOptions[] = {
    "randomize",          "initialReconnectDelay",       "maxReconnectDelay",
    "useExponentialBackOff", "backOffMultiplier",        "reconnectDelayExponent",
    "maxReconnectAttempts", "startupMaxReconnectAttempts", "timeout",
};
// ActiveMQ failover options that make no sense for (or are not implemented by) this
// STOMP client.
constexpr std::string_view kUnsupported[] = {
    "backup",         "backupPoolSize",     "trackMessages",      "trackTransactionProducers",
    "maxCacheSize",   "updateURIsSupported", "updateURIsURL",     "rebalanceUpdateURIs",
    "priorityBackup", "priorityURIs",        "reconnectSupported", "warnAfterReconnectAttempts",
    "nested",
};

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diag = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t up = row[j];
      const bool same = std::tolower(static_cast<unsigned char>(a[i - 1])) ==
                        std::tolower(static_cast<unsigned char>(b[j - 1]));
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (same ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

// " (did you mean X?)" for the nearest known option, or "".
std::string suggestion(std::string_view name) {
  std::string_view best;
  std::size_t best_d = 3;  // at most two edits (case differences are free)
  for (std::string_view known : kOptions) {
    const std::size_t d = edit_distance(name, known);
    if (d < best_d) best = known, best_d = d;
  }
  return best.empty() ? std::string() : " (did you mean " + std::string(best) + "?)";
}

Result<std::int64_t> parse_int(std::string_view name, std::string_view value, std::int64_t min) {
  std::int64_t v = 0;
  auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
  if (value.empty() || ec != std::errc() || end != value.data() + value.size()) {
    return bad("option " + std::string(name) + "='" + std::string(value) + "' is not a whole number");
  }
  if (v < min) {
    return bad("option " + std::string(name) + "=" + std::string(value) + " is below its minimum " +
               std::to_string(min));
  }
  return v;
}

Result<bool> parse_bool(std::string_view name, std::string_view value) {
  if (value == "true") return true;
  if (value == "false") return false;
  return bad("option " + std::string(name) + "='" + std::string(value) + "' must be true or false");
}

Result<void> apply_option(FailoverOptions& o, std::string_view name, std::string_view value) {
  auto set_int = [&](auto& field, std::int64_t min, std::int64_t max) -> Result<void> {
    auto v = parse_int(name, value, min);
    if (!v) return std::unexpected(v.error());
    if (*v > max) {
      return bad("option " + std::string(name) + "=" + std::string(value) + " is too large");
    }
    field = static_cast<std::remove_reference_t<decltype(field)>>(*v);
    return {};
  };
  auto set_bool = [&](bool& field) -> Result<void> {
    auto v = parse_bool(name, value);
    if (!v) return std::unexpected(v.error());
    field = *v;
    return {};
  };
  constexpr std::int64_t kMaxMs = 365LL * 24 * 3600 * 1000;
  if (name == "randomize") return set_bool(o.randomize);
  if (name == "useExponentialBackOff") return set_bool(o.use_exponential_back_off);
  if (name == "initialReconnectDelay") return set_int(o.initial_reconnect_delay_ms, 0, kMaxMs);
  if (name == "maxReconnectDelay") return set_int(o.max_reconnect_delay_ms, 0, kMaxMs);
  if (name == "maxReconnectAttempts") return set_int(o.max_reconnect_attempts, -1, 1'000'000'000);
  if (name == "startupMaxReconnectAttempts") {
    return set_int(o.startup_max_reconnect_attempts, -1, 1'000'000'000);
  }
  if (name == "timeout") return set_int(o.timeout_ms, -1, kMaxMs);
  if (name == "backOffMultiplier" || name == "reconnectDelayExponent") {
    // from_chars for double: locale-independent, whole text must be a number.
    double v = 0;
    auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
    if (value.empty() || ec != std::errc() || end != value.data() + value.size() || !std::isfinite(v)) {
      return bad("option " + std::string(name) + "='" + std::string(value) + "' is not a number");
    }
    if (v < 1.0 || v > 1000.0) {
      return bad("option " + std::string(name) + "=" + std::string(value) + " must be between 1 and 1000");
    }
    o.back_off_multiplier = v;
    return {};
  }
  for (std::string_view u : kUnsupported) {
    if (name == u || (u == "nested" && name.starts_with("nested."))) {
      return bad("option '" + std::string(name) + "' (ActiveMQ) is not supported by this client");
    }
  }
  return bad("unknown option '" + std::string(name) + "'" + suggestion(name));
}

Result<BrokerAddress> parse_member(std::string_view text) {
  const std::string shown(text);
  const std::size_t sep = text.find("://");
  if (sep == std::string_view::npos) {
    return bad("'" + shown + "' is not a broker URI (expected tcp://host:port, stomp://host:port, or ssl://host:port for TLS)");
  }
  BrokerAddress a;
  a.scheme = std::string(text.substr(0, sep));
  std::transform(a.scheme.begin(), a.scheme.end(), a.scheme.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (a.scheme != "tcp" && a.scheme != "stomp" && a.scheme != "ssl" && a.scheme != "stomp+ssl") {
    return bad("'" + shown + "': scheme '" + std::string(text.substr(0, sep)) +
               "' is not supported (use tcp://, stomp://, or ssl:// or stomp+ssl:// for TLS)");
  }
  std::string_view rest = text.substr(sep + 3);
  if (const std::size_t q = rest.find('?'); q != std::string_view::npos) {
    return bad("'" + shown + "': options on a member are not supported (put failover options after the ')')");
  }
  if (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);  // tcp://h:1/ is common
  std::string_view host, port;
  if (rest.starts_with("[")) {
    const std::size_t close = rest.find(']');
    if (close == std::string_view::npos) return bad("'" + shown + "': missing ']' after the IPv6 address");
    host = rest.substr(1, close - 1);
    rest.remove_prefix(close + 1);
    if (!rest.starts_with(":")) return bad("'" + shown + "': missing port");
    port = rest.substr(1);
  } else {
    const std::size_t colon = rest.rfind(':');
    if (colon == std::string_view::npos) return bad("'" + shown + "': missing port");
    host = rest.substr(0, colon);
    port = rest.substr(colon + 1);
  }
  if (host.empty()) return bad("'" + shown + "': missing host");
  if (host.find_first_of("/@ ") != std::string_view::npos) return bad("'" + shown + "': bad host");
  unsigned p = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
  if (port.empty() || ec != std::errc() || end != port.data() + port.size()) {
    return bad("'" + shown + "': port '" + std::string(port) + "' is not a number");
  }
  if (p == 0 || p > 65535) return bad("'" + shown + "': port " + std::string(port) + " is out of range 1..65535");
  a.host = std::string(host);
  a.port = static_cast<std::uint16_t>(p);
  return a;
}

Result<void> parse_members(std::string_view list, FailoverUri& out) {
  if (trim(list).empty()) return bad("the broker list is empty");
  while (true) {
    const std::size_t comma = list.find(',');
    const std::string_view one = trim(list.substr(0, comma));
    if (one.empty()) return bad("empty entry in the broker list");
    auto m = parse_member(one);
    if (!m) return std::unexpected(m.error());
    out.brokers.push_back(std::move(*m));
    if (comma == std::string_view::npos) return {};
    list.remove_prefix(comma + 1);
  }
}

Result<void> parse_options(std::string_view query, FailoverOptions& o) {
  std::vector<std::string_view> seen;
  while (!query.empty()) {
    const std::size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (pair.empty()) continue;  // "a=1&&b=2", a trailing '&'
    const std::size_t eq = pair.find('=');
    if (eq == std::string_view::npos) return bad("option '" + std::string(pair) + "' has no '=value'");
    const std::string_view name = pair.substr(0, eq), value = pair.substr(eq + 1);
    if (std::find(seen.begin(), seen.end(), name) != seen.end()) {
      return bad("option '" + std::string(name) + "' is given twice");
    }
    seen.push_back(name);
    if (auto r = apply_option(o, name, value); !r) return r;
  }
  return {};
}

}  // namespace

std::string BrokerAddress::to_string() const {
  const bool v6 = host.find(':') != std::string::npos;
  return scheme + "://" + (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

Result<FailoverUri> parse_failover_uri(std::string_view uri) {
  uri = trim(uri);
  FailoverUri out;
  if (uri.empty()) return bad("empty");
  const std::size_t colon = uri.find(':');
  std::string scheme(uri.substr(0, colon));
  std::transform(scheme.begin(), scheme.end(), scheme.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (colon == std::string_view::npos) return std::unexpected(parse_member(uri).error());
  if (scheme != "failover") {
    if (uri.substr(colon).starts_with("://")) {  // one broker, no failover
      auto m = parse_member(uri);
      if (!m) return std::unexpected(m.error());
      out.failover = false;
      out.options.max_reconnect_attempts = 0;
      out.options.startup_max_reconnect_attempts = 0;
      out.brokers.push_back(std::move(*m));
      return out;
    }
    return bad("'" + std::string(uri.substr(0, colon)) +
               ":' is not a known scheme (use failover:(...), tcp://, stomp://, ssl:// or stomp+ssl://)");
  }
  constexpr std::string_view kPrefix = "failover:";
  out.failover = true;
  std::string_view rest = uri.substr(kPrefix.size());
  if (rest.starts_with("//")) rest.remove_prefix(2);  // failover://(...) is seen in the wild
  std::string_view list, query;
  if (rest.starts_with("(")) {
    const std::size_t close = rest.find(')');
    if (close == std::string_view::npos) return bad("missing ')' after the broker list");
    list = rest.substr(1, close - 1);
    rest.remove_prefix(close + 1);
    if (!rest.empty()) {
      if (rest.front() != '?') {
        return bad("unexpected '" + std::string(rest) + "' after ')' (options start with '?')");
      }
      query = rest.substr(1);
    }
  } else {
    if (rest.find('?') != std::string_view::npos) {
      return bad("options need the broker list in parentheses: failover:(tcp://a:61613,tcp://b:61614)?...");
    }
    list = rest;
  }
  if (auto r = parse_members(list, out); !r) return std::unexpected(r.error());
  if (auto r = parse_options(query, out.options); !r) return std::unexpected(r.error());
  return out;
}

std::chrono::milliseconds reconnect_delay(const FailoverOptions& o, int attempt) {
  const double initial = static_cast<double>(o.initial_reconnect_delay_ms);
  if (attempt <= 1 || !o.use_exponential_back_off) {
    return std::chrono::milliseconds(o.initial_reconnect_delay_ms);
  }
  const double cap = static_cast<double>(std::max(o.max_reconnect_delay_ms, o.initial_reconnect_delay_ms));
  // pow may overflow to inf for large attempts: min() then gives the cap.
  const double d = initial * std::pow(o.back_off_multiplier, attempt - 1);
  return std::chrono::milliseconds(static_cast<std::int64_t>(std::min(d, cap)));
}

int reconnect_attempt_limit(const FailoverOptions& o, bool before_first_connection) {
  if (before_first_connection && o.startup_max_reconnect_attempts != -1) {
    return o.startup_max_reconnect_attempts;
  }
  return o.max_reconnect_attempts;
}

std::vector<std::size_t> pass_order(std::size_t brokers, std::optional<std::size_t> last_lost,
                                    bool randomize, std::mt19937_64& rng) {
  std::vector<std::size_t> order;
  order.reserve(brokers);
  for (std::size_t i = 0; i < brokers; ++i) {
    if (i != last_lost) order.push_back(i);
  }
  if (randomize) std::shuffle(order.begin(), order.end(), rng);
  if (last_lost && *last_lost < brokers) order.push_back(*last_lost);
  return order;
}

std::string describe(const FailoverEvent& e) {
  switch (e.kind) {
    case FailoverEventKind::connected:
      return "connected to " + e.broker;
    case FailoverEventKind::attempt_failed:
      return "cannot connect to " + e.broker + ": " + e.reason;
    case FailoverEventKind::connection_lost: {
      std::string s = "connection to " + e.broker + " lost: " + e.reason;
      if (e.dropped) s += " (" + std::to_string(e.dropped) + " unacknowledged deliveries dropped; the broker redelivers them)";
      return s;
    }
    case FailoverEventKind::reconnected:
      return "reconnected to " + e.broker + " after " + std::to_string(e.attempts) +
             (e.attempts == 1 ? " attempt" : " attempts") + " (" + std::to_string(e.resubscribed) +
             " subscriptions restored, " + std::to_string(e.resent) + " unreceipted sends re-sent)";
    case FailoverEventKind::gave_up:
      return "gave up reconnecting: " + e.reason;
    case FailoverEventKind::ack_dropped:
      return "ack not sent: " + e.reason;
  }
  return "failover event";
}

}  // namespace twinmq::client
