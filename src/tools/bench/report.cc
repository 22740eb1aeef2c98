// tools/bench/report.cc — see report.h.
#include "tools/bench/report.h"

#include <cstdio>
#include <fstream>

namespace twinmq::bench {
namespace {

std::string format(const char* fmt, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, fmt, v);
  return buf;
}

std::string micros(std::uint64_t ns) { return format("%.1f", static_cast<double>(ns) / 1000.0); }

std::string json_string(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\', out += c;
    else if (static_cast<unsigned char>(c) < 0x20) out += format("\\u%04x", static_cast<unsigned char>(c));
    else out += c;
  }
  return out + "\"";
}

}  // namespace

std::string summary_line(const BenchOptions& o, const RunResult& r) {
  std::string s = "scenario=" + r.name;
  if (r.idle_mode) {
    s += " connected=" + std::to_string(r.idle_connected) +
         " failed=" + std::to_string(r.idle_requested - r.idle_connected);
  } else {
    const bool deliveries = o.topic() && o.consumers > 1;
    s += " sent=" + std::to_string(r.sent) + " received=" + std::to_string(r.delivered) +
         " elapsed=" + format("%.3f", r.elapsed_s) + "s rate=" + format("%.0f", r.rate) +
         (deliveries ? " deliveries/s" : " msg/s");
    if (r.latency.count()) {
      s += " p50=" + micros(r.latency.percentile(50)) + "us p99=" + micros(r.latency.percentile(99)) +
           "us p999=" + micros(r.latency.percentile(99.9)) + "us max=" + micros(r.latency.max()) + "us";
    }
    if (r.receipt_latency.count()) {
      s += " receipt_p50=" + micros(r.receipt_latency.percentile(50)) +
           "us receipt_p99=" + micros(r.receipt_latency.percentile(99)) + "us";
    }
    s += " lost=" + std::to_string(r.lost) + " dup=" + std::to_string(r.duplicates) +
         " ooo=" + (r.verified ? std::to_string(r.out_of_order) : std::string("-"));
    if (r.stray) s += " stray=" + std::to_string(r.stray);
  }
  s += " cpu(bench)=" + format("%.0f", r.cpu_percent) + "%";
  if (r.interrupted) s += " interrupted=true";
  if (!r.error.empty()) s += " error=yes";
  return s;
}

Result<void> write_json(const std::string& path, const BenchOptions& o, const RunResult& r) {
  std::ofstream f(path, std::ios::trunc);
  if (!f) return make_error(Errc::bad_usage, "--json: cannot write '" + path + "'");
  f << "{\n"
    << "  \"scenario\": " << json_string(r.name) << ",\n"
    << "  \"description\": " << json_string(describe(o)) << ",\n"
    << "  \"destination\": " << json_string(o.destination) << ",\n"
    << "  \"producers\": " << o.producers << ",\n"
    << "  \"consumers\": " << o.consumers << ",\n"
    << "  \"size\": " << o.size << ",\n"
    << "  \"persistent\": " << (o.persistent ? "true" : "false") << ",\n"
    << "  \"idle_connections\": " << r.idle_requested << ",\n"
    << "  \"idle_connected\": " << r.idle_connected << ",\n"
    << "  \"sent\": " << r.sent << ",\n"
    << "  \"received\": " << r.delivered << ",\n"
    << "  \"expected\": " << r.expected << ",\n"
    << "  \"elapsed_s\": " << format("%.6f", r.elapsed_s) << ",\n"
    << "  \"rate\": " << format("%.1f", r.rate) << ",\n"
    << "  \"latency_us\": {\"count\": " << r.latency.count() << ", \"p50\": " << micros(r.latency.percentile(50))
    << ", \"p99\": " << micros(r.latency.percentile(99)) << ", \"p999\": " << micros(r.latency.percentile(99.9))
    << ", \"max\": " << micros(r.latency.max()) << ", \"mean\": " << format("%.1f", r.latency.mean() / 1000.0)
    << "},\n"
    << "  \"receipt_latency_us\": {\"count\": " << r.receipt_latency.count()
    << ", \"p50\": " << micros(r.receipt_latency.percentile(50))
    << ", \"p99\": " << micros(r.receipt_latency.percentile(99))
    << ", \"max\": " << micros(r.receipt_latency.max())
    << ", \"mean\": " << format("%.1f", r.receipt_latency.mean() / 1000.0) << "},\n"
    << "  \"verified\": " << (r.verified ? "true" : "false") << ",\n"
    << "  \"lost\": " << r.lost << ",\n"
    << "  \"duplicates\": " << r.duplicates << ",\n"
    << "  \"out_of_order\": " << r.out_of_order << ",\n"
    << "  \"stray\": " << r.stray << ",\n"
    << "  \"cpu_bench_percent\": " << format("%.1f", r.cpu_percent) << ",\n"
    << "  \"interrupted\": " << (r.interrupted ? "true" : "false") << ",\n"
    << "  \"error\": " << json_string(r.error) << ",\n"
    << "  \"ok\": " << (exit_code(o, r) == 0 ? "true" : "false") << "\n"
    << "}\n";
  if (!f) return make_error(Errc::bad_usage, "--json: cannot write '" + path + "'");
  return {};
}

int exit_code(const BenchOptions& o, const RunResult& r) {
  if (!r.error.empty()) return 1;
  if (r.idle_mode) return r.idle_connected == r.idle_requested ? 0 : 1;
  if (r.lost) return 1;
  if (o.verify && (r.duplicates || r.out_of_order)) return 1;
  return 0;
}

}  // namespace twinmq::bench
