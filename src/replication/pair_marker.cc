// replication/pair_marker.cc — reading and writing the `paired` marker
// (replication/pair_marker.h).
#include "replication/pair_marker.h"

#include <fmt/format.h>

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <sstream>

#include "store/file_io.h"

namespace twinmq::replication {

std::string pair_marker_path(const std::string& dir) { return store::join_path(dir, kPairMarkerFile); }

std::optional<PairMarker> read_pair_marker(const std::string& dir, const store::StoreIdentity& current) {
  auto text = store::read_small_file(pair_marker_path(dir));
  if (!text) {
    std::FILE* f = std::fopen(pair_marker_path(dir).c_str(), "r");
    if (f == nullptr && errno == ENOENT) return std::nullopt;
    if (f != nullptr) std::fclose(f);
    return PairMarker{current, "(unreadable marker)", 0};
  }
  PairMarker m;
  bool header = false, id = false, epoch = false;
  std::istringstream in(*text);
  std::string line;
  while (std::getline(in, line)) {
    const auto sp = line.find(' ');
    const std::string key = line.substr(0, sp);
    const std::string value = sp == std::string::npos ? std::string() : line.substr(sp + 1);
    if (key == "twinmq-pair") {
      header = value == "1";
    } else if (key == "store-id") {
      if (auto parsed = store::StoreId::parse(value)) {
        m.identity.id = *parsed;
        id = true;
      }
    } else if (key == "epoch") {
      epoch = std::from_chars(value.data(), value.data() + value.size(), m.identity.epoch).ec == std::errc{};
    } else if (key == "slave") {
      m.slave = value;
    } else if (key == "since") {
      std::from_chars(value.data(), value.data() + value.size(), m.since_ms);
    }
  }
  if (!header || !id || !epoch) return PairMarker{current, "(unreadable marker)", 0};
  return m;
}

Result<void> write_pair_marker(const std::string& dir, const PairMarker& m) {
  const std::string text = fmt::format("twinmq-pair 1\nstore-id {}\nepoch {}\nslave {}\nsince {}\n",
                                       m.identity.id.to_string(), m.identity.epoch, m.slave, m.since_ms);
  return store::write_file_atomically(dir, std::string(kPairMarkerFile), text);
}

Result<void> remove_pair_marker(const std::string& dir) {
  if (std::remove(pair_marker_path(dir).c_str()) != 0 && errno != ENOENT)
    return store::io_error("removing", pair_marker_path(dir), errno);
  return {};
}

}  // namespace twinmq::replication
