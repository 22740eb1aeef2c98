// Golden frames: one frame of every kind, as protocol version 1 writes them, committed
// in test/unit/replication/golden/v1/frames.bin. Every later twinmq must read them to
// exactly these values (a slave and a master of adjacent versions meet on the wire);
// while the protocol is at version 1 the writers must also reproduce the bytes.
//
// The file was made by the skipped case at the bottom:
//   TWINMQ_GOLDEN_OUT=test/unit/replication/golden/v1 unit_replication --no-skip -tc='golden: write*'
#include <doctest.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "replication/protocol.h"

using namespace twinmq;
using namespace twinmq::replication;

namespace {

store::StoreId golden_id() {
  store::StoreId id;
  for (std::size_t i = 0; i < id.bytes.size(); ++i) id.bytes[i] = static_cast<std::uint8_t>(0xa0 + i);
  return id;
}

std::string payload(int n) { return std::string(static_cast<std::size_t>(8 * n + 3), static_cast<char>('A' + n)); }

// The frames of frames.bin, in order. Software versions are not part of the golden bytes
// (they change with every release): Hello and Welcome carry them, so those two are
// compared field by field only.
std::string golden_stream() {
  std::string out;
  FrameWriter w;
  const store::StoreId id = golden_id();
  FrameWriter::Hello h;
  h.slave_name = "slave-b";
  h.user_name = "replica";
  h.password = "s3cret";
  h.persistent = true;
  h.store_id = &id;
  h.epoch = 3;
  h.last_seq = Seq{1000};
  h.last_record_seq = Seq{998};
  h.last_record_crc = 0x12345678;
  w.hello(h, out);
  FrameWriter::Welcome wel;
  wel.master_name = "master-a";
  wel.store_id = &id;
  wel.epoch = 3;
  wel.snapshot_seq = Seq{1200};
  wel.heart_beat_ms = 500;
  wel.link_timeout_ms = 3000;
  w.welcome(wel, out);
  w.reject(fbr::RejectReason::diverged, "the histories differ at sequence 998", out);
  w.snapshot_begin(Seq{1200}, 2, 1, 22, out);
  EventBatch chunk;
  for (int i = 0; i < 2; ++i) {
    const std::string p = payload(i);
    chunk.add(Seq{1200}, 1, std::as_bytes(std::span(p.data(), p.size())));
  }
  chunk.finish_chunk(out);
  w.snapshot_end(Seq{1200}, 2, 77, out);
  EventBatch events;
  for (int i = 0; i < 3; ++i) {
    const std::string p = payload(i + 2);
    events.add(Seq{1201u + static_cast<unsigned>(i)}, static_cast<std::uint16_t>(i + 1),
               std::as_bytes(std::span(p.data(), p.size())));
  }
  events.finish_events(out);
  w.in_sync(Seq{1203}, out);
  w.applied(Seq{1203}, out);
  w.heartbeat(Seq{1203}, out);
  w.shutdown("SIGTERM", Seq{1203}, out);
  return out;
}

std::string read_golden() {
  std::ifstream f(std::string(TWINMQ_REPLICATION_GOLDEN_DIR) + "/frames.bin", std::ios::binary);
  REQUIRE(f.good());
  return std::string(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

std::vector<std::string> frames_of(const std::string& stream) {
  std::vector<std::string> out;
  std::size_t off = 0;
  while (off + 4 <= stream.size()) {
    std::uint32_t len;
    std::memcpy(&len, stream.data() + off, 4);
    out.push_back(stream.substr(off, 4 + len));
    off += 4 + len;
  }
  return out;
}

}  // namespace

TEST_CASE("golden: protocol v1 frames read back to the values they were written with") {
  const std::string bytes = read_golden();
  FrameReader r(kMaxMasterFrame);
  std::vector<fbr::Body> types;
  auto res = r.feed(bytes, [&](const fbr::Frame& f) {
    types.push_back(f.body_type());
    switch (f.body_type()) {
      case fbr::Body::Hello: {
        const HelloInfo h = HelloInfo::from(*f.body_as_Hello());
        CHECK(h.protocol_version == 1);
        CHECK(h.slave_name == "slave-b");
        CHECK(h.user_name == "replica");
        CHECK(h.password == "s3cret");
        CHECK(h.persistent);
        REQUIRE(h.store_id);
        CHECK(*h.store_id == golden_id());
        CHECK(h.epoch == 3);
        CHECK(h.last_seq == Seq{1000});
        CHECK(h.last_record_seq == Seq{998});
        CHECK(h.last_record_crc == 0x12345678);
        break;
      }
      case fbr::Body::Welcome: {
        const WelcomeInfo w = WelcomeInfo::from(*f.body_as_Welcome());
        CHECK(w.protocol_version == 1);
        CHECK(w.master_name == "master-a");
        REQUIRE(w.store_id);
        CHECK(*w.store_id == golden_id());
        CHECK(w.epoch == 3);
        CHECK(w.snapshot_seq == Seq{1200});
        CHECK(w.heart_beat_ms == 500);
        CHECK(w.link_timeout_ms == 3000);
        break;
      }
      case fbr::Body::Reject:
        CHECK(f.body_as_Reject()->reason() == fbr::RejectReason::diverged);
        CHECK(f.body_as_Reject()->message()->str() == "the histories differ at sequence 998");
        break;
      case fbr::Body::SnapshotBegin:
        CHECK(f.body_as_SnapshotBegin()->upto_seq() == 1200);
        CHECK(f.body_as_SnapshotBegin()->messages() == 2);
        CHECK(f.body_as_SnapshotBegin()->structures() == 1);
        CHECK(f.body_as_SnapshotBegin()->body_bytes() == 22);
        break;
      case fbr::Body::SnapshotChunk: {
        const auto* recs = f.body_as_SnapshotChunk()->records();
        REQUIRE(recs->size() == 2);
        for (unsigned i = 0; i < 2; ++i) {
          CHECK(recs->Get(i)->seq() == 1200);
          auto p = payload_of(*recs->Get(i));
          CHECK(std::string(reinterpret_cast<const char*>(p.data()), p.size()) == payload(static_cast<int>(i)));
        }
        break;
      }
      case fbr::Body::SnapshotEnd:
        CHECK(f.body_as_SnapshotEnd()->records() == 2);
        CHECK(f.body_as_SnapshotEnd()->next_message_id() == 77);
        break;
      case fbr::Body::Events: {
        const auto* recs = f.body_as_Events()->records();
        REQUIRE(recs->size() == 3);
        for (unsigned i = 0; i < 3; ++i) {
          CHECK(recs->Get(i)->seq() == 1201 + i);
          CHECK(recs->Get(i)->type() == i + 1);
          auto p = payload_of(*recs->Get(i));
          CHECK(reinterpret_cast<std::uintptr_t>(p.data()) % 8 == 0);
          CHECK(std::string(reinterpret_cast<const char*>(p.data()), p.size()) == payload(static_cast<int>(i) + 2));
        }
        break;
      }
      case fbr::Body::InSync: CHECK(f.body_as_InSync()->seq() == 1203); break;
      case fbr::Body::Applied: CHECK(f.body_as_Applied()->seq() == 1203); break;
      case fbr::Body::Heartbeat: CHECK(f.body_as_Heartbeat()->seq() == 1203); break;
      case fbr::Body::Shutdown:
        CHECK(f.body_as_Shutdown()->reason()->str() == "SIGTERM");
        CHECK(f.body_as_Shutdown()->last_seq() == 1203);
        break;
      default: FAIL("unexpected frame");
    }
    return true;
  });
  REQUIRE(res.has_value());
  CHECK(types.size() == 11);
}

TEST_CASE("golden: while the protocol is at version 1 the writers reproduce the golden bytes") {
  REQUIRE(kProtocolVersion == 1);
  const auto want = frames_of(read_golden());
  const auto got = frames_of(golden_stream());
  REQUIRE(want.size() == got.size());
  // Hello and Welcome carry the software version: same length class, different text.
  for (std::size_t i = 2; i < want.size(); ++i) CHECK_MESSAGE(want[i] == got[i], "frame " << i);
}

TEST_CASE("golden: write the v1 frames" * doctest::skip()) {
  const char* out = std::getenv("TWINMQ_GOLDEN_OUT");
  REQUIRE(out != nullptr);
  std::ofstream f(std::string(out) + "/frames.bin", std::ios::binary);
  const std::string s = golden_stream();
  f.write(s.data(), static_cast<std::streamsize>(s.size()));
}
