// tools/bench/options.cc — table-driven parsing of twinmq-bench's options.
//
// Each option is one row: its name, whether it takes a value, and how it applies
// the value. Unknown names get the nearest known one as a suggestion, and the
// cross-option rules are checked once at the end, so every message names the
// option (or the pair of options) at fault.
#include "tools/bench/options.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <functional>
#include <span>

namespace twinmq::bench {
namespace {

using Apply = std::function<Result<void>(BenchOptions&, const std::string&)>;

struct OptionRow {
  const char* name;
  bool takes_value;
  const char* value_name;
  const char* help;
  Apply apply;
};

std::unexpected<Error> bad(std::string message) { return make_error(Errc::bad_usage, std::move(message)); }

template <class T>
Result<T> parse_uint(const std::string& option, const std::string& text, T max) {
  std::uint64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) {
    return bad(option + ": '" + text + "' is not a non-negative integer");
  }
  if (v > static_cast<std::uint64_t>(max)) {
    return bad(option + ": " + text + " is above the maximum " + std::to_string(max));
  }
  return static_cast<T>(v);
}

Result<double> parse_seconds(const std::string& option, const std::string& text) {
  double v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || !std::isfinite(v) ||
      v < 0) {
    return bad(option + ": '" + text + "' is not a non-negative number");
  }
  return v;
}

// Binds an unsigned integer field.
template <class T>
Apply uint_field(T BenchOptions::*field, const char* option,
                 T max = std::numeric_limits<T>::max()) {
  return [field, option, max](BenchOptions& o, const std::string& v) -> Result<void> {
    auto n = parse_uint<T>(option, v, max);
    if (!n) return std::unexpected(n.error());
    o.*field = *n;
    return {};
  };
}

Apply seconds_field(double BenchOptions::*field, const char* option) {
  return [field, option](BenchOptions& o, const std::string& v) -> Result<void> {
    auto n = parse_seconds(option, v);
    if (!n) return std::unexpected(n.error());
    o.*field = *n;
    return {};
  };
}

Apply string_field(std::string BenchOptions::*field) {
  return [field](BenchOptions& o, const std::string& v) -> Result<void> {
    o.*field = v;
    return {};
  };
}

Apply flag(bool BenchOptions::*field) {
  return [field](BenchOptions& o, const std::string&) -> Result<void> {
    o.*field = true;
    return {};
  };
}

const std::vector<OptionRow>& table() {
  static const std::vector<OptionRow> rows = {
      {"--host", true, "HOST", "broker host (default 127.0.0.1)", string_field(&BenchOptions::host)},
      {"--port", true, "PORT", "broker STOMP port (default 61613)",
       uint_field<std::uint16_t>(&BenchOptions::port, "--port")},
      {"--destination", true, "DEST", "/queue/NAME or /topic/NAME (default /queue/bench)",
       [](BenchOptions& o, const std::string& v) -> Result<void> {
         if (v.empty()) return bad("--destination: must not be empty");
         o.destination = v;
         return {};
       }},
      {"--producers", true, "N", "producer connections (default 1)",
       uint_field(&BenchOptions::producers, "--producers", 100000u)},
      {"--consumers", true, "N", "consumer connections; on a /topic/ each gets every message (default 1)",
       uint_field(&BenchOptions::consumers, "--consumers", 100000u)},
      {"--size", true, "BYTES", "message body size (default 1024)",
       uint_field(&BenchOptions::size, "--size", 64u << 20)},
      {"--count", true, "N", "messages per producer (default 100000; with --drain: in total)",
       uint_field<std::uint64_t>(&BenchOptions::count, "--count")},
      {"--duration", true, "S", "send for S seconds instead of --count",
       seconds_field(&BenchOptions::duration_s, "--duration")},
      {"--persistent", false, "", "send persistent:true", flag(&BenchOptions::persistent)},
      {"--receipt-every", true, "K",
       "ask a RECEIPT every K messages and wait for it before going on (1 = synchronous)",
       uint_field(&BenchOptions::receipt_every, "--receipt-every")},
      {"--ack", true, "MODE", "auto | client | client-individual (default auto)",
       [](BenchOptions& o, const std::string& v) -> Result<void> {
         if (v == "auto") o.ack = client::AckMode::auto_ack;
         else if (v == "client") o.ack = client::AckMode::client;
         else if (v == "client-individual") o.ack = client::AckMode::client_individual;
         else return bad("--ack: '" + v + "' is not one of auto, client, client-individual");
         return {};
       }},
      {"--tx", true, "K", "send in transactions of K messages; each COMMIT waits for its RECEIPT",
       uint_field(&BenchOptions::tx, "--tx")},
      {"--dupl-id", false, "",
       "give every SEND a unique _AMQ_DUPL_ID (duplicate detection: what the broker pays to check and "
       "remember it)",
       flag(&BenchOptions::duplicate_ids)},
      {"--rate", true, "R", "fixed aggregate send rate in msg/s, paced open-loop; latency counts from "
                            "the intended send time (no coordinated omission)",
       seconds_field(&BenchOptions::rate, "--rate")},
      {"--prefetch", true, "N", "send activemq.prefetchSize:N on SUBSCRIBE",
       uint_field(&BenchOptions::prefetch, "--prefetch")},
      {"--idle-connections", true, "N",
       "open N idle connections, print connected=N, hold them (--hold or until SIGINT/SIGTERM)",
       uint_field(&BenchOptions::idle_connections, "--idle-connections", 1000000u)},
      {"--hold", true, "S", "idle mode: hold the connections S seconds, then exit",
       seconds_field(&BenchOptions::hold_s, "--hold")},
      {"--verify", false, "",
       "check every message arrived exactly once and in order per producer (exit 1 otherwise)",
       flag(&BenchOptions::verify)},
      {"--warmup", true, "N", "first N messages of each producer are not measured",
       uint_field<std::uint64_t>(&BenchOptions::warmup, "--warmup")},
      {"--json", true, "FILE", "also write the result as JSON to FILE", string_field(&BenchOptions::json_file)},
      {"--login", true, "USER", "CONNECT login", string_field(&BenchOptions::login)},
      {"--passcode", true, "PASS", "CONNECT passcode", string_field(&BenchOptions::passcode)},
      {"--vhost", true, "HOST", "CONNECT host header (default: --host)", string_field(&BenchOptions::vhost)},
      {"--tls-ca", true, "FILE", "speak TLS (a stomp+ssl:// connector); the broker's certificate must chain to "
       "this PEM CA file and name --host", string_field(&BenchOptions::tls_ca)},
      {"--tls-cert", true, "FILE", "with --tls-ca: client certificate (PEM), for needClientAuth",
       string_field(&BenchOptions::tls_cert)},
      {"--tls-key", true, "FILE", "with --tls-cert: its private key (PEM)", string_field(&BenchOptions::tls_key)},
      {"--drain", false, "", "consumers only: take what is queued (--count in total, else until quiet)",
       flag(&BenchOptions::drain)},
      {"--fill", false, "", "producers only: fill the destination", flag(&BenchOptions::fill)},
      {"--threads", true, "N", "event-loop threads (default: 2 with producers and consumers, else 1)",
       uint_field(&BenchOptions::threads, "--threads", 64u)},
      {"--drain-timeout", true, "MS", "give up this long after deliveries stop (default 5000)",
       uint_field(&BenchOptions::drain_timeout_ms, "--drain-timeout")},
      {"--connect-timeout", true, "MS", "CONNECT deadline per connection (default 5000)",
       uint_field(&BenchOptions::connect_timeout_ms, "--connect-timeout")},
      {"--name", true, "NAME", "scenario label in the summary line", string_field(&BenchOptions::name)},
      {"--interval", true, "S", "print sent/received rates every S seconds while running",
       seconds_field(&BenchOptions::interval_s, "--interval")},
      {"--help", false, "", "this text", flag(&BenchOptions::help)},
  };
  return rows;
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

std::string unknown_option(const std::string& name) {
  std::string msg = "unknown option '" + name + "'";
  const OptionRow* best = nullptr;
  std::size_t best_d = 4;  // suggest only near misses
  for (const OptionRow& r : table()) {
    const std::size_t d = edit_distance(name, r.name);
    if (d < best_d) best_d = d, best = &r;
  }
  if (best) msg += " (did you mean " + std::string(best->name) + "?)";
  return msg + "; see --help";
}

// Rules between options, checked once everything is parsed.
Result<void> check(BenchOptions& o, const std::vector<std::string>& given) {
  auto was_given = [&](std::string_view n) { return std::ranges::find(given, n) != given.end(); };
  if (o.fill && o.drain) return bad("--fill and --drain exclude each other");
  if ((!o.tls_cert.empty() || !o.tls_key.empty()) && o.tls_ca.empty())
    return bad("--tls-cert/--tls-key need --tls-ca (TLS checks the broker's certificate)");
  if (o.tls_cert.empty() != o.tls_key.empty()) return bad("--tls-cert and --tls-key go together");
  if (o.fill) {
    if (was_given("--consumers") && o.consumers > 0) return bad("--fill runs no consumers; drop --consumers");
    o.consumers = 0;
  }
  if (o.drain) {
    if (was_given("--producers") && o.producers > 0) return bad("--drain runs no producers; drop --producers");
    o.producers = 0;
    if (!was_given("--count")) o.count = 0;  // 0 = until quiet
  }
  if (o.idle_mode()) {
    for (const char* n : {"--producers", "--consumers", "--fill", "--drain", "--rate", "--count"}) {
      if (was_given(n)) return bad(std::string("--idle-connections runs no traffic; drop ") + n);
    }
    o.producers = o.consumers = 0;
  } else {
    if (was_given("--hold")) return bad("--hold applies only with --idle-connections");
    if (o.producers == 0 && o.consumers == 0) return bad("--producers and --consumers are both 0: nothing to run");
  }
  if (o.tx && o.receipt_every) {
    return bad("--tx and --receipt-every exclude each other: with --tx every COMMIT waits for its receipt");
  }
  if (o.duration_s > 0 && was_given("--count")) return bad("give --count or --duration, not both");
  if (o.duration_s > 0 && o.drain) return bad("--duration does not apply to --drain (use --count)");
  if (o.duration_s == 0 && o.producers > 0 && o.count == 0) return bad("--count: must be at least 1");
  if (o.duration_s == 0 && o.warmup >= o.count && o.producers > 0) {
    return bad("--warmup " + std::to_string(o.warmup) + " leaves nothing to measure of --count " +
               std::to_string(o.count));
  }
  if (!o.topic() && o.destination.rfind("/queue/", 0) != 0) {
    return bad("--destination: '" + o.destination + "' must start with /queue/ or /topic/");
  }
  if (o.threads == 0) o.threads = (o.producers > 0 && o.consumers > 0) ? 2 : 1;
  return {};
}

std::string fixed(double v) {
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  (void)ec;
  return std::string(buf, end);
}

}  // namespace

Result<BenchOptions> parse_options(const std::vector<std::string>& args) {
  BenchOptions o;
  std::vector<std::string> given;
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string name = args[i];
    std::string value;
    bool inline_value = false;
    if (const auto eq = name.find('='); name.rfind("--", 0) == 0 && eq != std::string::npos) {
      value = name.substr(eq + 1);
      name.resize(eq);
      inline_value = true;
    }
    auto row = std::ranges::find_if(table(), [&](const OptionRow& r) { return name == r.name; });
    if (row == table().end()) {
      if (name.rfind("-", 0) != 0) return bad("unexpected argument '" + name + "'; options start with --");
      return bad(unknown_option(name));
    }
    if (row->takes_value && !inline_value) {
      if (i + 1 >= args.size()) return bad(name + " needs a value (" + row->value_name + ")");
      value = args[++i];
    } else if (!row->takes_value && inline_value) {
      return bad(name + " takes no value");
    }
    if (auto applied = row->apply(o, value); !applied) return std::unexpected(applied.error());
    given.push_back(name);
  }
  if (o.help) return o;
  if (auto ok = check(o, given); !ok) return std::unexpected(ok.error());
  return o;
}

std::string usage() {
  std::string text =
      "usage: twinmq-bench [options]\n"
      "A STOMP load generator for twinmq or any STOMP broker (ActiveMQ, Artemis, RabbitMQ).\n"
      "Prints the scenario first, then (with --interval) progress lines, then one\n"
      "summary line:\n"
      "  scenario=NAME sent=N received=N elapsed=S rate=R msg/s p50=.. p99=.. p999=.. max=..\n"
      "  [receipt_p50=.. receipt_p99=..] lost=N dup=N ooo=N cpu(bench)=P%\n"
      "Latencies are end to end (producer stamp to consumer), in microseconds; receipt_*\n"
      "(with --receipt-every or --tx) from a SEND or COMMIT to its RECEIPT, producer side.\n"
      "Exit status: 0 ok; 1 messages lost, or an error; 2 bad usage.\n\noptions:\n";
  for (const OptionRow& r : table()) {
    std::string left = std::string("  ") + r.name + (r.takes_value ? std::string(" ") + r.value_name : "");
    if (left.size() < 26) left.resize(26, ' ');
    else left += "\n" + std::string(26, ' ');
    text += left + r.help + "\n";
  }
  text +=
      "\nexamples:\n"
      "  twinmq-bench --producers 1 --consumers 1 --count 200000\n"
      "  twinmq-bench --destination /topic/bench --consumers 10 --count 100000\n"
      "  twinmq-bench --rate 5000 --count 50000 --warmup 5000\n"
      "  twinmq-bench --persistent --receipt-every 1 --producers 4 --count 20000\n"
      "  twinmq-bench --idle-connections 5000\n";
  return text;
}

std::string scenario_name(const BenchOptions& o) {
  if (!o.name.empty()) return o.name;
  if (o.idle_mode()) return "idle-" + std::to_string(o.idle_connections);
  std::string n = o.topic() ? "topic" : "queue";
  if (o.fill) n += "-fill";
  if (o.drain) n += "-drain";
  if (o.producers) n += "-" + std::to_string(o.producers) + "p";
  if (o.consumers) n += "-" + std::to_string(o.consumers) + "c";
  if (o.persistent) n += "-persistent";
  if (o.receipt_every) n += "-receipt" + std::to_string(o.receipt_every);
  if (o.tx) n += "-tx" + std::to_string(o.tx);
  if (o.duplicate_ids) n += "-duplid";
  if (o.rate > 0) n += "-rate" + fixed(o.rate);
  return n;
}

std::string describe(const BenchOptions& o) {
  std::string s = "twinmq-bench: broker=" + o.host + ":" + std::to_string(o.port);
  if (o.idle_mode()) {
    s += " idle-connections=" + std::to_string(o.idle_connections) +
         " hold=" + (o.hold_s < 0 ? std::string("until-signal") : fixed(o.hold_s) + "s");
    return s;
  }
  s += " destination=" + o.destination + " producers=" + std::to_string(o.producers) +
       " consumers=" + std::to_string(o.consumers) + " size=" + std::to_string(o.size);
  if (o.duration_s > 0) s += " duration=" + fixed(o.duration_s) + "s";
  else s += " count=" + std::to_string(o.count) + (o.drain ? "" : "/producer");
  s += std::string(" persistent=") + (o.persistent ? "true" : "false") +
       " receipt-every=" + std::to_string(o.receipt_every) + " ack=" +
       std::string(client::ack_mode_name(o.ack)) + " tx=" + std::to_string(o.tx) +
       " rate=" + (o.rate > 0 ? fixed(o.rate) : std::string("max")) +
       " prefetch=" + (o.prefetch ? std::to_string(o.prefetch) : std::string("broker-default")) +
       " warmup=" + std::to_string(o.warmup) + " verify=" + (o.verify ? "true" : "false") +
       " dupl-id=" + (o.duplicate_ids ? "true" : "false") +
       " threads=" + std::to_string(o.threads);
  return s;
}

}  // namespace twinmq::bench
