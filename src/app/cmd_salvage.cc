// app/cmd_salvage.cc — `twinmq salvage --from DIR --fork-seq N --out FILE`: writes the
// messages that DIR's store enqueued after seq N and still holds at its end (its forked
// tail, store/forked_tail.h) into a salvage file (app/salvage_file.h), so that
// overwriting the store (twinmq-resync) does not destroy them. N is the fork
// `twinmq compare-stores` reports. The store is only read.
//
// Exit 0 written; 1 not written (the file exists, a write failed); 2 usage, or a store
// that cannot be read.
#include <charconv>
#include <cstdio>
#include <string>

#include "app/commands.h"
#include "app/salvage_file.h"
#include "base/log.h"
#include "store/forked_tail.h"
#include "store/verify.h"

namespace twinmq::app {

namespace {

constexpr const char* kUsage =
    "usage: twinmq salvage --from DIR --fork-seq N --out FILE\n"
    "  writes the messages DIR's store enqueued after seq N and still holds (N: the fork that\n"
    "  `twinmq compare-stores KEPT DIR` reports) to FILE, as STOMP SEND frames for `twinmq replay`.\n"
    "  FILE must not exist. DIR is a store directory or a dataDirectory; its broker must be stopped.\n";

int usage(const std::string& why) {
  std::fprintf(stderr, "salvage: %s\n%s", why.c_str(), kUsage);
  return kCommandUsage;
}

}  // namespace

int run_salvage(const Args& args) {
  init_logging(spdlog::level::warn);
  std::string from, out;
  std::optional<std::uint64_t> fork;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string_view a = args[i];
    if (a == "--help" || a == "-h") {
      std::printf("%s", kUsage);
      return kCommandOk;
    }
    if (a != "--from" && a != "--fork-seq" && a != "--out") return usage("unknown argument '" + std::string(a) + "'");
    if (i + 1 >= args.size()) return usage(std::string(a) + " needs a value");
    const std::string_view v = args[++i];
    if (a == "--from") from = v;
    if (a == "--out") out = v;
    if (a == "--fork-seq") {
      std::uint64_t n = 0;
      auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
      if (ec != std::errc() || p != v.data() + v.size()) return usage("--fork-seq needs a sequence number");
      fork = n;
    }
  }
  if (from.empty() || out.empty() || !fork) return usage("--from, --fork-seq and --out are all needed");

  auto tail = store::read_forked_tail(from, Seq{*fork}, true);
  if (!tail) {
    std::fprintf(stderr, "salvage: %s\n", tail.error().message.c_str());
    return kCommandUsage;
  }
  if (tail->last_seq.value <= *fork) {
    std::fprintf(stderr, "salvage: note: %s ends at seq %llu, not after seq %llu: nothing to salvage\n",
                 tail->dir.c_str(), static_cast<unsigned long long>(tail->last_seq.value),
                 static_cast<unsigned long long>(*fork));
  }
  auto written = write_salvage_file(out, *tail);
  if (!written) {
    std::fprintf(stderr, "salvage: NOT written: %s\n", written.error().message.c_str());
    return kCommandFound;
  }
  std::printf("salvage: %s (store %s, epoch %llu): messages enqueued after seq %llu and still there at its end:\n",
              tail->dir.c_str(), written->store_id.c_str(), static_cast<unsigned long long>(written->epoch),
              static_cast<unsigned long long>(*fork));
  for (const auto& [name, d] : tail->destinations) {
    if (d.live == 0) continue;
    std::printf("  %-40s %llu (%s)\n", name.c_str(), static_cast<unsigned long long>(d.live),
                store::human_bytes(d.live_bytes).c_str());
  }
  std::printf("salvage: wrote %llu message%s (%s) to %s\n", static_cast<unsigned long long>(written->messages),
              written->messages == 1 ? "" : "s", store::human_bytes(written->bytes).c_str(), out.c_str());
  if (written->messages != 0) {
    std::printf("salvage: each was accepted by that broker, and a receipt may have been sent for it. Once the pair\n"
                "serves again, send them to it (each carries %s for consumers that de-duplicate):\n"
                "  twinmq replay %s --to 'failover:(tcp://MASTER:61613,tcp://SLAVE:61613)?randomize=false'\n",
                std::string(kSalvagedFromHeader).c_str(), out.c_str());
  }
  return kCommandOk;
}

}  // namespace twinmq::app
