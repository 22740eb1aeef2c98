// app/cmd_compare_stores.cc — `twinmq compare-stores`: store/compare.h on the command line.
//
//   twinmq compare-stores [--json] A B
//       A: the store to keep (a store directory, a dataDirectory, or a history file)
//       B: the store that would be overwritten (a store directory or dataDirectory)
//       exit 0: B holds nothing after the fork; 1: it does (listed); 2: usage or unreadable
//   twinmq compare-stores --history DIR
//       prints DIR's history (store/history.h) for a comparison on another machine:
//       ssh B twinmq compare-stores --history /var/lib/twinmq > b.history
#include <cstdio>
#include <string>

#include "app/commands.h"
#include "base/json_writer.h"
#include "base/log.h"
#include "store/compare.h"

namespace twinmq::app {

namespace {

constexpr const char* kUsage =
    "usage: twinmq compare-stores [--json] A B\n"
    "       twinmq compare-stores --history DIR > FILE\n"
    "  A is the store to keep, B the one that would be overwritten (twinmq-resync --from A --to B);\n"
    "  each a store directory or a dataDirectory (store in DIR/journal); A may also be a FILE written\n"
    "  by --history on another machine. Exit 0: B holds nothing after the fork; 1: it does; 2: error.\n";

int usage(const std::string& why) {
  std::fprintf(stderr, "compare-stores: %s\n%s", why.c_str(), kUsage);
  return kCommandUsage;
}

}  // namespace

int run_compare_stores(const Args& args) {
  init_logging(spdlog::level::warn);
  bool json = false;
  bool history = false;
  std::vector<std::string> dirs;
  for (std::string_view a : args) {
    if (a == "--json") {
      json = true;
    } else if (a == "--history") {
      history = true;
    } else if (a == "--help" || a == "-h") {
      std::printf("%s", kUsage);
      return kCommandOk;
    } else if (a.starts_with("-")) {
      return usage("unknown option '" + std::string(a) + "'");
    } else {
      dirs.emplace_back(a);
    }
  }
  if (history) {
    if (dirs.size() != 1 || json) return usage("--history takes exactly one store directory");
    auto h = store::load_history(dirs[0]);
    if (!h) {
      std::fprintf(stderr, "compare-stores: %s\n", h.error().message.c_str());
      return kCommandUsage;
    }
    const std::string text = store::format_history(*h);
    std::fwrite(text.data(), 1, text.size(), stdout);
    return std::fflush(stdout) == 0 ? kCommandOk : kCommandUsage;
  }
  if (dirs.size() != 2) return usage("needs two stores, A (kept) and B (overwritten)");

  auto c = store::compare_stores(dirs[0], dirs[1]);
  if (!c) {
    if (json) {
      JsonWriter j;
      j.begin_object().key("error").value(c.error().message).end_object();
      std::fputs(j.finish().c_str(), stdout);
    }
    std::fprintf(stderr, "compare-stores: %s\n", c.error().message.c_str());
    return kCommandUsage;
  }
  if (json) {
    std::fputs(store::comparison_json(*c).c_str(), stdout);
  } else {
    store::print_comparison(*c, stdout);
  }
  return c->b_holds_more() ? kCommandFound : kCommandOk;
}

}  // namespace twinmq::app
