// replication/protocol.cc — frame reader checks, frame writers (design comment in
// replication/protocol.h).
#include "replication/protocol.h"

#include <algorithm>
#include <array>
#include <cstring>

#include "base/assert.h"
#include "store/record_format.h"

namespace twinmq::replication {

namespace {

// Verifier limits: the depth of our tables is < 10; a frame's table count is bounded by
// its events (EventBatch finishes a frame at 1 MiB, a few bytes per record at least).
constexpr flatbuffers::uoffset_t kMaxDepth = 16;
constexpr flatbuffers::uoffset_t kMaxTables = 4'000'000;

std::optional<store::StoreId> store_id_of(const flatbuffers::Vector<std::uint8_t>* v) {
  if (v == nullptr || v->size() != 16) return std::nullopt;
  store::StoreId id;
  std::copy(v->begin(), v->end(), id.bytes.begin());
  return id;
}

std::string str(const flatbuffers::String* s) { return s == nullptr ? std::string() : s->str(); }

}  // namespace

std::string_view errc_name(Errc e) {
  switch (e) {
    case Errc::ok: return "ok";
    case Errc::frame_too_large: return "frame too large";
    case Errc::bad_frame: return "not a replication frame";
    case Errc::unexpected_frame: return "unexpected frame";
    case Errc::protocol: return "protocol violation";
  }
  return "unknown";
}

std::string_view body_name(fbr::Body body) {
  const auto i = static_cast<std::size_t>(body);
  if (i > static_cast<std::size_t>(fbr::Body::MAX)) return "unknown frame type";
  return fbr::EnumNamesBody()[i];
}

HelloInfo HelloInfo::from(const fbr::Hello& h) {
  HelloInfo i;
  i.protocol_version = h.protocol_version();
  i.slave_name = str(h.slave_name());
  i.software_version = str(h.software_version());
  i.user_name = str(h.user_name());
  i.password = str(h.password());
  i.persistent = h.persistent();
  i.store_id = store_id_of(h.store_id());
  i.epoch = h.epoch();
  i.last_seq = Seq{h.last_seq()};
  i.last_record_seq = Seq{h.last_record_seq()};
  i.last_record_crc = h.last_record_crc();
  i.applied_seq = Seq{h.applied_seq()};
  if (h.sync_on_write() != 0) i.sync_on_write = h.sync_on_write() == 1;
  i.rejoin = h.rejoin();
  if (h.on_master_failure() != 0) i.takes_over = h.on_master_failure() == 1;
  i.replication_listener = str(h.replication_listener());
  if (h.non_persistent_live() != 0) i.non_persistent_live = h.non_persistent_live() == 1;
  i.wants_challenge = h.wants_challenge();
  return i;
}

WelcomeInfo WelcomeInfo::from(const fbr::Welcome& w) {
  WelcomeInfo i;
  i.protocol_version = w.protocol_version();
  i.master_name = str(w.master_name());
  i.software_version = str(w.software_version());
  i.store_id = store_id_of(w.store_id());
  i.epoch = w.epoch();
  i.snapshot_seq = Seq{w.snapshot_seq()};
  i.heart_beat_ms = w.heart_beat_ms();
  i.link_timeout_ms = w.link_timeout_ms();
  i.catch_up_from = Seq{w.catch_up_from()};
  // The Verifier checks a vector's length word (4-byte aligned), not that its 8-byte
  // structs are aligned: a crafted frame can put them off by 4. Copy each out rather
  // than call into a misaligned struct (found by the replication_frame fuzz target).
  if (const auto* starts = w.epoch_starts())
    for (flatbuffers::uoffset_t k = 0; k < starts->size(); ++k) {
      fbr::EpochStart e;
      std::memcpy(&e, starts->Data() + std::size_t{k} * sizeof e, sizeof e);
      i.epoch_starts.push_back(EpochStart{e.epoch(), Seq{e.first_seq()}});
    }
  return i;
}

// --- FrameReader -----------------------------------------------------------------

Result<std::size_t> FrameReader::frame_size(const char* p) const {
  std::uint32_t len;
  std::memcpy(&len, p, 4);
  const std::size_t size = std::size_t{4} + len;
  // A root offset and the identifier at least.
  if (len < 8) return make_error(Errc::bad_frame, "frame of " + std::to_string(len) + " bytes is too short");
  if (size > max_frame_)
    return make_error(Errc::frame_too_large, "frame of " + std::to_string(size) + " bytes exceeds the limit of " +
                                                 std::to_string(max_frame_) + " (not a twinmq replication peer?)");
  return size;
}

Result<const fbr::Frame*> FrameReader::verify(const std::byte* p, std::size_t size) const {
  const auto* bytes = reinterpret_cast<const std::uint8_t*>(p);
  if (!fbr::SizePrefixedFrameBufferHasIdentifier(bytes))
    return make_error(Errc::bad_frame, "frame does not carry the identifier TWRP (not a twinmq replication peer?)");
  flatbuffers::Verifier::Options opts;
  opts.max_depth = kMaxDepth;
  opts.max_tables = kMaxTables;
  opts.check_nested_flatbuffers = false;  // event payloads are verified when decoded
  flatbuffers::Verifier v(bytes, size, opts);
  if (!fbr::VerifySizePrefixedFrameBuffer(v))
    return make_error(Errc::bad_frame, "frame of " + std::to_string(size) + " bytes fails verification");
  return fbr::GetSizePrefixedFrame(bytes);
}

void FrameReader::append(const char* p, std::size_t n) {
  const std::size_t words = (have_ + n + 7) / 8;
  if (buf_.size() < words) buf_.resize(std::max(words, buf_.size() * 2));
  std::memcpy(buf() + have_, p, n);
  have_ += n;
}

// --- FrameWriter -----------------------------------------------------------------

void FrameWriter::finish(fbr::Body type, flatbuffers::Offset<void> body, std::string& out) {
  auto frame = fbr::CreateFrame(fbb_, type, body);
  // 8-byte total length: the next frame starts aligned too (see protocol.h).
  fbb_.TrackMinAlign(8);
  fbr::FinishSizePrefixedFrameBuffer(fbb_, frame);
  out.append(reinterpret_cast<const char*>(fbb_.GetBufferPointer()), fbb_.GetSize());
  fbb_.Clear();
}

flatbuffers::Offset<flatbuffers::Vector<std::uint8_t>> FrameWriter::store_id(const store::StoreId* id) {
  if (id == nullptr) return 0;
  return fbb_.CreateVector(id->bytes.data(), id->bytes.size());
}

void FrameWriter::hello(const Hello& h, std::string& out) {
  auto name = fbb_.CreateString(h.slave_name);
  auto version = fbb_.CreateString(TWINMQ_VERSION);
  auto user = fbb_.CreateString(h.user_name);
  auto password = fbb_.CreateString(h.password);
  auto id = store_id(h.store_id);
  auto listener = fbb_.CreateString(h.replication_listener);
  auto body = fbr::CreateHello(fbb_, kProtocolVersion, name, version, user, password, h.persistent, id, h.epoch,
                               h.last_seq.value, h.last_record_seq.value, h.last_record_crc, h.applied_seq.value,
                               static_cast<std::uint8_t>(h.sync_on_write ? 1 : 2), h.rejoin,
                               static_cast<std::uint8_t>(h.takes_over ? 1 : 2), listener,
                               static_cast<std::uint8_t>(h.non_persistent_live ? 1 : 2), h.wants_challenge);
  finish(fbr::Body::Hello, body.Union(), out);
}

void FrameWriter::challenge(std::span<const std::uint8_t> nonce, std::string_view setting, std::string& out) {
  auto n = fbb_.CreateVector(nonce.data(), nonce.size());
  auto s = fbb_.CreateString(setting);
  finish(fbr::Body::Challenge, fbr::CreateChallenge(fbb_, n, s).Union(), out);
}

void FrameWriter::proof(std::span<const std::uint8_t> proof, std::string& out) {
  auto p = fbb_.CreateVector(proof.data(), proof.size());
  finish(fbr::Body::Proof, fbr::CreateProof(fbb_, p).Union(), out);
}

void FrameWriter::welcome(const Welcome& w, std::string& out) {
  auto name = fbb_.CreateString(w.master_name);
  auto version = fbb_.CreateString(TWINMQ_VERSION);
  auto id = store_id(w.store_id);
  flatbuffers::Offset<flatbuffers::Vector<const fbr::EpochStart*>> starts;
  if (!w.epoch_starts.empty()) {
    std::vector<fbr::EpochStart> v;
    v.reserve(w.epoch_starts.size());
    for (const EpochStart& e : w.epoch_starts) v.emplace_back(e.epoch, e.first_seq.value);
    starts = fbb_.CreateVectorOfStructs(v);
  }
  auto body =
      fbr::CreateWelcome(fbb_, kProtocolVersion, name, version, id, w.epoch, w.snapshot_seq.value,
                         w.heart_beat_ms, w.link_timeout_ms, w.catch_up_from.value, starts);
  finish(fbr::Body::Welcome, body.Union(), out);
}

void FrameWriter::reject(fbr::RejectReason reason, std::string_view message, std::string& out, Seq fork_seq) {
  auto text = fbb_.CreateString(message);
  finish(fbr::Body::Reject, fbr::CreateReject(fbb_, reason, text, kProtocolVersion, fork_seq.value).Union(), out);
}

void FrameWriter::snapshot_begin(Seq upto, std::uint64_t messages, std::uint64_t structures,
                                 std::uint64_t body_bytes, std::string& out) {
  finish(fbr::Body::SnapshotBegin,
         fbr::CreateSnapshotBegin(fbb_, upto.value, messages, structures, body_bytes).Union(), out);
}

void FrameWriter::snapshot_end(Seq upto, std::uint64_t records, std::uint64_t next_message_id, std::string& out) {
  finish(fbr::Body::SnapshotEnd, fbr::CreateSnapshotEnd(fbb_, upto.value, records, next_message_id).Union(), out);
}

void FrameWriter::in_sync(Seq seq, std::string& out) {
  finish(fbr::Body::InSync, fbr::CreateInSync(fbb_, seq.value).Union(), out);
}

void FrameWriter::applied(Seq seq, std::string& out) {
  finish(fbr::Body::Applied, fbr::CreateApplied(fbb_, seq.value).Union(), out);
}

void FrameWriter::heartbeat(Seq seq, std::string& out, std::uint64_t probe, std::uint64_t echo) {
  finish(fbr::Body::Heartbeat, fbr::CreateHeartbeat(fbb_, seq.value, probe, echo).Union(), out);
}

void FrameWriter::shutdown(std::string_view reason, Seq last_seq, std::string& out) {
  auto text = fbb_.CreateString(reason);
  finish(fbr::Body::Shutdown, fbr::CreateShutdown(fbb_, text, last_seq.value).Union(), out);
}

// --- EventBatch ------------------------------------------------------------------

void EventBatch::add(Seq seq, std::uint16_t type, std::span<const std::byte> payload) {
  // The payload is a flatbuffer of its own: keep it 8-byte aligned inside the frame.
  // drop_last() relies on every record having the same fields set (so all share the
  // first record's vtable).
  TWINMQ_ASSERT(seq.value != 0 && type != 0, "an event record without seq or type");
  size_before_last_ = fbb_.GetSize();
  before_last_ = last_;
  fbb_.ForceVectorAlignment(payload.size(), 1, 8);
  auto bytes = fbb_.CreateVector(reinterpret_cast<const std::uint8_t*>(payload.data()), payload.size());
  records_.push_back(fbr::CreateEventRecord(fbb_, seq.value, type, bytes));
  last_ = seq;
}

bool EventBatch::drop_last(Seq seq) {
  if (records_.empty() || last_ != seq || size_before_last_ > fbb_.GetSize()) return false;
  if (records_.size() == 1) {
    clear();
  } else {
    // Records after the first reuse its vtable (the builder dedups identical ones), so
    // the bytes the last one added are its payload vector and its table only: popping
    // them leaves the builder as it was before that add().
    fbb_.PopBytes(fbb_.GetSize() - size_before_last_);
    records_.pop_back();
  }
  last_ = before_last_;
  size_before_last_ = fbb_.GetSize() + 1;  // only the very last add() can be taken back
  return true;
}

void EventBatch::add_cancelled(Seq seq, std::uint64_t next_message_id) {
  std::array<std::byte, 8> payload{};
  for (std::size_t i = 0; i < 8; ++i) payload[i] = static_cast<std::byte>(next_message_id >> (8 * i));
  add(seq, static_cast<std::uint16_t>(store::RecordType::cancelled), payload);
}

void EventBatch::finish(bool chunk, std::string& out) {
  TWINMQ_ASSERT(!records_.empty(), "finishing an empty event batch");
  auto records = fbb_.CreateVector(records_);
  flatbuffers::Offset<void> body;
  fbr::Body type;
  if (chunk) {
    body = fbr::CreateSnapshotChunk(fbb_, records).Union();
    type = fbr::Body::SnapshotChunk;
  } else {
    body = fbr::CreateEvents(fbb_, records).Union();
    type = fbr::Body::Events;
  }
  auto frame = fbr::CreateFrame(fbb_, type, body);
  fbb_.TrackMinAlign(8);
  fbr::FinishSizePrefixedFrameBuffer(fbb_, frame);
  out.append(reinterpret_cast<const char*>(fbb_.GetBufferPointer()), fbb_.GetSize());
  // A frame that held a huge event does not pin its memory for good.
  if (fbb_.GetSize() > (64u << 20)) {
    fbb_.Reset();
  } else {
    fbb_.Clear();
  }
  records_.clear();
}

}  // namespace twinmq::replication
