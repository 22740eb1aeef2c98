// replication/protocol.h — frames of the replication link (schemas/replication.fbs):
// reading them from a byte stream and writing them.
//
// THE MODULE (src/replication/): the master/slave pair of ARCHITECTURE.md.
//   protocol.h      frames: FrameReader, FrameWriter, EventBatch (this file)
//   handshake.h     whether a master accepts a slave's Hello, and why not
//   initial_sync.h  the copy of the master's current state: sender, and the slave's
//                   receiver that writes it as a journal checkpoint
//   master_link.h   the master's end: one slave, events streamed as the EventLog emits
//                   them, replies gated on the slave's Applied, the slave-loss policies
//   slave_link.h    the slave's end: dial, apply, acknowledge, take over or exit
//                   (slave_apply.cc: the frames; slave_conn.h: its helpers)
//   role.h          master / slave / promoted, and the replication exit codes
//   pair_marker.h   the master's note that its slave may have taken over
//   status.h        what `twinmq status` shows
// app::Runtime owns one MasterLink or one SlaveLink. The tricky part is when a slave is
// "in sync" (it may take over only then): see master_link.h.
//
// DESIGN
//  - FrameReader is a small state machine over the TCP byte stream, in the manner of
//    the STOMP parser: a frame that lies whole and 8-aligned in the bytes handed to
//    feed() is verified and handed on in place (the loop's read buffer is aligned and
//    writers pad frames to 8 bytes, so that is the normal case); only a frame split
//    across reads (or misaligned) is copied, into an aligned buffer. Every frame is
//    checked against a size limit as soon as its length is known, then by the
//    flatbuffers Verifier (identifier "TWRP" included) before anyone reads a field.
//    Nested event payloads are verified later, once, by the event decoder
//    (store/event_codec.h) — the same check recovery makes.
//  - FrameWriter and EventBatch reuse their FlatBufferBuilder (Clear() after each
//    frame), so a busy link allocates only while a builder grows to its largest frame.
//    EventBatch gathers the events of one loop turn into one Events frame (or one
//    SnapshotChunk), each payload 8-byte aligned inside it.
//  - A Hello or Welcome is copied out of its frame (HelloInfo, WelcomeInfo): the
//    handshake decisions (replication/handshake.h) work on plain values.
//
// Lifecycle: each link end owns one reader and its writers. Loop thread only.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/ids.h"
#include "base/result.h"
#include "broker/broker.h"
#include "replication_generated.h"
#include "store/identity.h"

namespace twinmq::replication {

namespace fbr = twinmq::fb::repl;

// Where an epoch begins in the master's history (Welcome.epoch_starts).
struct EpochStart {
  std::uint64_t epoch = 0;
  Seq first_seq;
  bool operator==(const EpochStart&) const = default;
};

inline constexpr std::uint32_t kProtocolVersion = static_cast<std::uint32_t>(fbr::ProtocolVersion::current);
// Largest frame a master accepts from its slave (a Hello with long names is < 1 KiB).
inline constexpr std::size_t kMaxSlaveFrame = 64u << 10;
// Largest frame a slave accepts: one event may be as large as a journal record (1 GiB).
inline constexpr std::size_t kMaxMasterFrame = (1u << 30) + (1u << 20);
// An Events or SnapshotChunk frame is finished once it holds this much.
inline constexpr std::size_t kBatchBytes = 1u << 20;
// A batch is closed once it passes kBatchBytes, so a frame holds less than that plus
// one event, and no event is larger than broker::kMaxEventBytes.
static_assert(kMaxMasterFrame >= kBatchBytes + broker::kMaxEventBytes + (64u << 10),
              "a batch of events must fit the slave's frame limit");

// How long either end tolerates silence while the initial sync is in progress (taking
// the snapshot and installing the copy block a loop for a time that grows with the
// data): ten link timeouts, at least 30 s. Nothing waits on a slave that is not in sync.
constexpr std::int64_t sync_timeout_ms(std::uint32_t link_timeout_ms) {
  return std::max<std::int64_t>(std::int64_t{link_timeout_ms} * 10, 30'000);
}

enum class Errc {
  ok = 0,
  frame_too_large,   // a length prefix beyond the reader's limit
  bad_frame,         // the Verifier refused the bytes (or the identifier is not "TWRP")
  unexpected_frame,  // a valid frame that makes no sense in the link's state
  protocol,          // a frame whose content breaks the protocol (sequence gap, ...)
};

std::string_view errc_name(Errc e);
std::string_view body_name(fbr::Body body);

// The slave's Hello, copied out of its frame.
struct HelloInfo {
  std::uint32_t protocol_version = 0;
  std::string slave_name;
  std::string software_version;
  std::string user_name;
  std::string password;
  bool persistent = false;
  std::optional<store::StoreId> store_id;  // nullopt: the slave has no store
  std::uint64_t epoch = 0;
  Seq last_seq;
  Seq last_record_seq;
  std::uint32_t last_record_crc = 0;
  Seq applied_seq;                     // 0: not sent (an older slave)
  std::optional<bool> sync_on_write;   // nullopt: not sent
  bool rejoin = false;                 // an old master rejoining as the slave
  std::optional<bool> takes_over;      // nullopt: not sent; false: shutdownOnMasterFailure
  std::string replication_listener;    // "tcp://host:port" as configured; empty: none known
  std::optional<bool> non_persistent_live;  // nullopt: not sent
  bool wants_challenge = false;  // proves its password with a Proof (auth/challenge.h)

  static HelloInfo from(const fbr::Hello& h);
};

// The master's Welcome, copied out of its frame.
struct WelcomeInfo {
  std::uint32_t protocol_version = 0;
  std::string master_name;
  std::string software_version;
  std::optional<store::StoreId> store_id;
  std::uint64_t epoch = 0;
  Seq snapshot_seq;
  std::uint32_t heart_beat_ms = 0;
  std::uint32_t link_timeout_ms = 0;
  Seq catch_up_from;  // 0: a snapshot follows
  std::vector<EpochStart> epoch_starts;  // with catch_up_from: epochs to enter on the way

  static WelcomeInfo from(const fbr::Welcome& w);
};

class FrameReader {
 public:
  explicit FrameReader(std::size_t max_frame) : max_frame_(max_frame) {}

  // Consumes `bytes` from the stream. For every complete frame, in order, calls
  // `on_frame(const fbr::Frame&)`, which returns false to stop reading (the link is
  // closing; the rest is dropped). An error means the stream is unusable: drop the link.
  template <class F>
  Result<void> feed(std::string_view bytes, F&& on_frame);

  // Bytes of a split frame waiting for the rest.
  std::size_t buffered() const { return have_; }

  // Holds the stream (a slave installing its copy on a worker, slave_link.h): once an
  // on_frame returns false, the bytes after that frame are kept instead of dropped, and
  // so are those of later feeds, until release() hands them over as one feed.
  void hold() { holding_ = true; }
  template <class F>
  Result<void> release(F&& on_frame) {
    holding_ = held_stop_ = false;
    std::string rest;
    rest.swap(held_);
    return feed(rest, on_frame);
  }

 private:
  // Length of the frame starting at `p` (prefix included), or an error past the limit.
  Result<std::size_t> frame_size(const char* p) const;
  Result<const fbr::Frame*> verify(const std::byte* p, std::size_t size) const;
  void append(const char* p, std::size_t n);
  std::byte* buf() { return reinterpret_cast<std::byte*>(buf_.data()); }

  std::size_t max_frame_;
  std::vector<std::uint64_t> buf_;  // aligned bytes of a split (or misaligned) frame
  std::size_t have_ = 0;            // bytes of it in buf_
  bool holding_ = false;            // see hold()
  bool held_stop_ = false;          // a frame stopped the reading while holding: keep all
  std::string held_;
};

// Builds control frames (everything but Events / SnapshotChunk), appending each to
// an output string. One builder, cleared per frame.
class FrameWriter {
 public:
  FrameWriter() : fbb_(1024) {}

  struct Hello {
    std::string_view slave_name, user_name, password;
    bool persistent = false;
    const store::StoreId* store_id = nullptr;
    std::uint64_t epoch = 0;
    Seq last_seq, last_record_seq;
    std::uint32_t last_record_crc = 0;
    Seq applied_seq;
    bool sync_on_write = true;
    bool rejoin = false;
    bool takes_over = true;
    std::string_view replication_listener;
    bool non_persistent_live = false;
    bool wants_challenge = false;
  };
  void hello(const Hello& h, std::string& out);
  // The challenge-response of a Hello with wants_challenge (auth/challenge.h).
  void challenge(std::span<const std::uint8_t> nonce, std::string_view setting, std::string& out);
  void proof(std::span<const std::uint8_t> proof, std::string& out);

  struct Welcome {
    std::string_view master_name;
    const store::StoreId* store_id = nullptr;
    std::uint64_t epoch = 0;
    Seq snapshot_seq;
    std::uint32_t heart_beat_ms = 0;
    std::uint32_t link_timeout_ms = 0;
    Seq catch_up_from;  // 0: a snapshot follows
    std::span<const EpochStart> epoch_starts;
  };
  void welcome(const Welcome& w, std::string& out);
  // `fork_seq`: with forked_tail, where the histories part (0 otherwise).
  void reject(fbr::RejectReason reason, std::string_view message, std::string& out, Seq fork_seq = Seq{0});
  void snapshot_begin(Seq upto, std::uint64_t messages, std::uint64_t structures, std::uint64_t body_bytes,
                      std::string& out);
  void snapshot_end(Seq upto, std::uint64_t records, std::uint64_t next_message_id, std::string& out);
  void in_sync(Seq seq, std::string& out);
  void applied(Seq seq, std::string& out);
  // `probe`: master -> slave, a token to echo (0 = none); `echo`: slave -> master.
  void heartbeat(Seq seq, std::string& out, std::uint64_t probe = 0, std::uint64_t echo = 0);
  void shutdown(std::string_view reason, Seq last_seq, std::string& out);

 private:
  void finish(fbr::Body type, flatbuffers::Offset<void> body, std::string& out);
  flatbuffers::Offset<flatbuffers::Vector<std::uint8_t>> store_id(const store::StoreId* id);

  flatbuffers::FlatBufferBuilder fbb_;
};

// Events of one loop turn (or one snapshot chunk) gathered into one frame.
class EventBatch {
 public:
  EventBatch() : fbb_(64u << 10) {}

  void add(Seq seq, std::uint16_t type, std::span<const std::byte> payload);
  bool empty() const { return records_.empty(); }
  std::size_t count() const { return records_.size(); }
  std::size_t bytes() const { return fbb_.GetSize(); }
  bool full() const { return bytes() >= kBatchBytes; }
  Seq last() const { return last_; }

  // Forgets what was added (the link it was meant for is gone).
  void clear() {
    fbb_.Clear();
    records_.clear();
  }
  // Takes back the last record added if it is the one at `seq` (a cancelled SEND,
  // broker::Cancellation). Returns false, changing nothing, otherwise.
  bool drop_last(Seq seq);
  // A `cancelled` record at `seq` (store/record_format.h): the seqs after the previous
  // record up to `seq` carry no state.
  void add_cancelled(Seq seq, std::uint64_t next_message_id);
  // Appends the batch as an Events frame (or a SnapshotChunk) to `out`; starts anew.
  void finish_events(std::string& out) { finish(false, out); }
  void finish_chunk(std::string& out) { finish(true, out); }

 private:
  void finish(bool chunk, std::string& out);

  flatbuffers::FlatBufferBuilder fbb_;
  std::vector<flatbuffers::Offset<fbr::EventRecord>> records_;
  Seq last_;
  Seq before_last_;                   // last_ before the last add()
  std::size_t size_before_last_ = 0;  // fbb_'s size before the last add()
};

// The payload of an EventRecord, as a byte span (8-byte aligned when the frame is).
inline std::span<const std::byte> payload_of(const fbr::EventRecord& r) {
  const auto* v = r.payload();
  if (v == nullptr) return {};
  return {reinterpret_cast<const std::byte*>(v->data()), v->size()};
}

// --- FrameReader::feed ---------------------------------------------------------

template <class F>
Result<void> FrameReader::feed(std::string_view bytes, F&& on_frame) {
  if (holding_ && held_stop_) {
    held_.append(bytes);
    return {};
  }
  const char* p = bytes.data();
  std::size_t n = bytes.size();
  // What follows a frame that stopped the reading: dropped, or kept while holding.
  auto stop = [&] {
    if (holding_) {
      held_stop_ = true;
      held_.append(p, n);
    }
    return Result<void>{};
  };
  // 1. Complete a frame split across reads.
  if (have_ > 0) {
    if (have_ < 4) {
      const std::size_t take = std::min(4 - have_, n);
      append(p, take);
      p += take, n -= take;
      if (have_ < 4) return {};
    }
    auto size = frame_size(reinterpret_cast<const char*>(buf()));
    if (!size) return std::unexpected(size.error());
    const std::size_t take = std::min(*size - have_, n);
    append(p, take);
    p += take, n -= take;
    if (have_ < *size) return {};
    have_ = 0;
    auto frame = verify(buf(), *size);
    if (!frame) return std::unexpected(frame.error());
    if (!on_frame(**frame)) return stop();
  }
  // 2. Whole frames straight from the caller's bytes.
  while (n >= 4) {
    auto size = frame_size(p);
    if (!size) return std::unexpected(size.error());
    if (n < *size) break;
    const std::byte* at = reinterpret_cast<const std::byte*>(p);
    if (reinterpret_cast<std::uintptr_t>(p) % 8 != 0) {
      append(p, *size);
      have_ = 0;
      at = buf();
    }
    auto frame = verify(at, *size);
    if (!frame) return std::unexpected(frame.error());
    p += *size, n -= *size;
    if (!on_frame(**frame)) return stop();
  }
  // 3. Keep the start of the next frame.
  if (n > 0) append(p, n);
  return {};
}

}  // namespace twinmq::replication
