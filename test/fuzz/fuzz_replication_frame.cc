// Fuzz target: the replication link's frame reader (replication/protocol.h FrameReader:
// length prefix, limits, the flatbuffers Verifier on every frame before any field is
// read) and what a link end does with a verified frame: copy a Hello or Welcome out,
// decode every event of an Events or SnapshotChunk frame with the slave's decoder
// (store/event_codec.h, which verifies each event payload in turn).
//
// Input: byte 0 seeds where the stream is cut (reads end anywhere); the rest is the byte
// stream from the peer. Both a master's limit (small frames from its slave) and a
// slave's are exercised. Checks, beyond "no crash, no sanitizer report":
//  1. What the reader hands on (each frame's type and content, as summarised below) and
//     how it ends (error code and message) are the same whether the stream comes whole
//     and 8-aligned, whole at an odd address (the reader's copy path), or in pieces.
//  2. The reader buffers no more than one frame's worth (its limit).
//  3. A Hello or Welcome written again by FrameWriter reads back to the same values.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "replication/protocol.h"
#include "store/event_codec.h"
#include "store/record_format.h"

using namespace twinmq;
using namespace twinmq::replication;

namespace {

bool same(const HelloInfo& a, const HelloInfo& b) {
  return a.slave_name == b.slave_name && a.user_name == b.user_name && a.password == b.password &&
         a.persistent == b.persistent && a.store_id == b.store_id && a.epoch == b.epoch && a.last_seq == b.last_seq &&
         a.last_record_seq == b.last_record_seq && a.last_record_crc == b.last_record_crc &&
         a.applied_seq == b.applied_seq && a.sync_on_write.value_or(true) == b.sync_on_write.value_or(true) &&
         a.rejoin == b.rejoin && a.takes_over.value_or(true) == b.takes_over.value_or(true) &&
         a.replication_listener == b.replication_listener;
}

bool same(const WelcomeInfo& a, const WelcomeInfo& b) {
  return a.master_name == b.master_name && a.store_id == b.store_id && a.epoch == b.epoch &&
         a.snapshot_seq == b.snapshot_seq && a.heart_beat_ms == b.heart_beat_ms &&
         a.link_timeout_ms == b.link_timeout_ms && a.catch_up_from == b.catch_up_from && a.epoch_starts == b.epoch_starts;
}

// Reads the frame FrameWriter wrote into `out` back, as the peer would.
template <class F>
void read_back(const std::string& out, F&& check) {
  std::vector<std::uint64_t> aligned(out.size() / 8 + 1);
  std::memcpy(aligned.data(), out.data(), out.size());
  FrameReader reader(kMaxMasterFrame);
  int frames = 0;
  auto r = reader.feed(std::string_view(reinterpret_cast<const char*>(aligned.data()), out.size()),
                       [&](const fbr::Frame& f) {
                         ++frames;
                         check(f);
                         return true;
                       });
  if (!r || frames != 1 || reader.buffered() != 0) std::abort();
}

// What a frame held, as text: compared across the ways the stream is fed.
void summarise(const fbr::Frame& f, store::EventDecoder& decoder, std::string& out) {
  out += std::to_string(static_cast<int>(f.body_type()));
  switch (f.body_type()) {
    case fbr::Body::Hello:
      if (const auto* h = f.body_as_Hello()) {
        const HelloInfo info = HelloInfo::from(*h);
        out += " hello " + info.slave_name + " " + info.user_name + " " + std::to_string(info.last_seq.value);
        FrameWriter w;
        std::string again;
        w.hello({.slave_name = info.slave_name, .user_name = info.user_name, .password = info.password,
                 .persistent = info.persistent, .store_id = info.store_id ? &*info.store_id : nullptr,
                 .epoch = info.epoch, .last_seq = info.last_seq, .last_record_seq = info.last_record_seq,
                 .last_record_crc = info.last_record_crc, .applied_seq = info.applied_seq,
                 .sync_on_write = info.sync_on_write.value_or(true), .rejoin = info.rejoin,
                 .takes_over = info.takes_over.value_or(true), .replication_listener = info.replication_listener,
                 .non_persistent_live = info.non_persistent_live.value_or(false)},
                again);
        read_back(again, [&](const fbr::Frame& g) {  // 3.
          if (g.body_type() != fbr::Body::Hello || !same(info, HelloInfo::from(*g.body_as_Hello()))) std::abort();
        });
      }
      break;
    case fbr::Body::Welcome:
      if (const auto* w = f.body_as_Welcome()) {
        const WelcomeInfo info = WelcomeInfo::from(*w);
        out += " welcome " + info.master_name + " " + std::to_string(info.snapshot_seq.value);
        FrameWriter writer;
        std::string again;
        writer.welcome({.master_name = info.master_name, .store_id = info.store_id ? &*info.store_id : nullptr,
                        .epoch = info.epoch, .snapshot_seq = info.snapshot_seq, .heart_beat_ms = info.heart_beat_ms,
                        .link_timeout_ms = info.link_timeout_ms, .catch_up_from = info.catch_up_from,
                        .epoch_starts = info.epoch_starts},
                       again);
        read_back(again, [&](const fbr::Frame& g) {  // 3.
          if (g.body_type() != fbr::Body::Welcome || !same(info, WelcomeInfo::from(*g.body_as_Welcome()))) std::abort();
        });
      }
      break;
    case fbr::Body::Events:
    case fbr::Body::SnapshotChunk: {
      const auto* records = f.body_type() == fbr::Body::Events
                                ? (f.body_as_Events() ? f.body_as_Events()->records() : nullptr)
                                : (f.body_as_SnapshotChunk() ? f.body_as_SnapshotChunk()->records() : nullptr);
      if (records == nullptr) break;
      for (const fbr::EventRecord* r : *records) {
        if (r == nullptr) continue;
        out += " " + std::to_string(r->seq()) + ":" + std::to_string(r->type()) + ":" + std::to_string(payload_of(*r).size());
        if (!store::is_known_record_type(r->type())) continue;
        const auto type = static_cast<store::RecordType>(r->type());
        if (!store::is_event_record(type)) continue;
        auto ev = decoder.decode(type, payload_of(*r));
        out += ev ? "+" : "-";
      }
      break;
    }
    default:
      break;
  }
  out += "\n";
}

// Feeds `stream` to a reader with `limit`, in pieces whose lengths come from `seed`
// (0 = whole); returns the summary of what came out and how it ended.
std::string read_stream(std::string_view stream, std::size_t limit, std::uint32_t seed) {
  FrameReader reader(limit);
  store::EventDecoder decoder;
  std::string out;
  std::size_t pos = 0;
  while (pos < stream.size()) {
    std::size_t n = stream.size() - pos;
    if (seed != 0) {
      seed = seed * 1103515245u + 12345u;
      n = std::min<std::size_t>(n, 1 + (seed >> 16) % 64);
    }
    auto r = reader.feed(stream.substr(pos, n), [&](const fbr::Frame& f) {
      summarise(f, decoder, out);
      return true;
    });
    pos += n;
    if (!r) {
      out += "error " + std::to_string(r.error().code) + " " + r.error().message;
      return out;
    }
    if (reader.buffered() > limit) std::abort();  // 2.
  }
  out += "buffered " + std::to_string(reader.buffered());
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::uint32_t seed = data[0] | 0x100u;
  // The loop's read buffer is 8-aligned; so is this copy. `odd` is the same bytes one
  // past an 8-aligned address.
  const std::size_t n = size - 1;
  std::vector<std::uint64_t> aligned(n / 8 + 2);
  std::memcpy(aligned.data(), data + 1, n);
  const std::string_view stream(reinterpret_cast<const char*>(aligned.data()), n);
  std::vector<std::uint64_t> shifted(n / 8 + 2);
  std::memcpy(reinterpret_cast<char*>(shifted.data()) + 1, data + 1, n);
  const std::string_view odd(reinterpret_cast<const char*>(shifted.data()) + 1, n);

  for (std::size_t limit : {kMaxSlaveFrame, kMaxMasterFrame}) {
    const std::string whole = read_stream(stream, limit, 0);
    if (read_stream(odd, limit, 0) != whole) std::abort();        // 1.
    if (read_stream(stream, limit, seed) != whole) std::abort();  // 1.
  }
  return 0;
}
