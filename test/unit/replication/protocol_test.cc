// Frames on the replication link: every frame split at every byte, one byte at a
// time and misaligned reads give the same frames; garbage, foreign protocols and
// oversized lengths are refused at once; payloads stay 8-byte aligned.
#include <doctest.h>

#include <cstring>
#include <string>
#include <vector>

#include "replication/protocol.h"

using namespace twinmq;
using namespace twinmq::replication;

namespace {

// What a test remembers of a decoded frame.
struct Seen {
  fbr::Body type = fbr::Body::NONE;
  std::uint64_t seq = 0;
  std::string text;
  std::vector<std::string> payloads;
  bool aligned = true;
  bool operator==(const Seen&) const = default;
};

Seen describe(const fbr::Frame& f) {
  Seen s;
  s.type = f.body_type();
  switch (f.body_type()) {
    case fbr::Body::Hello:
      s.text = f.body_as_Hello()->slave_name()->str() + "/" + f.body_as_Hello()->user_name()->str();
      s.seq = f.body_as_Hello()->last_seq();
      break;
    case fbr::Body::Welcome:
      s.text = f.body_as_Welcome()->master_name()->str();
      s.seq = f.body_as_Welcome()->snapshot_seq();
      break;
    case fbr::Body::Reject:
      s.text = f.body_as_Reject()->message()->str();
      break;
    case fbr::Body::Events:
      for (const auto* r : *f.body_as_Events()->records()) {
        auto p = payload_of(*r);
        s.payloads.emplace_back(reinterpret_cast<const char*>(p.data()), p.size());
        s.seq = r->seq();
        if (reinterpret_cast<std::uintptr_t>(p.data()) % 8 != 0) s.aligned = false;
      }
      break;
    case fbr::Body::Applied: s.seq = f.body_as_Applied()->seq(); break;
    case fbr::Body::Heartbeat: s.seq = f.body_as_Heartbeat()->seq(); break;
    case fbr::Body::Shutdown: s.text = f.body_as_Shutdown()->reason()->str(); break;
    default: break;
  }
  return s;
}

// A stream of one frame of each kind the test checks.
std::string stream() {
  std::string out;
  FrameWriter w;
  store::StoreId id;
  id.bytes[0] = 7;
  FrameWriter::Hello h;
  h.slave_name = "slave-1";
  h.user_name = "replica";
  h.password = "secret";
  h.persistent = true;
  h.store_id = &id;
  h.last_seq = Seq{42};
  w.hello(h, out);
  FrameWriter::Welcome wel;
  wel.master_name = "master";
  wel.store_id = &id;
  wel.snapshot_seq = Seq{100};
  w.welcome(wel, out);
  EventBatch b;
  for (int i = 1; i <= 5; ++i) {
    std::string payload(static_cast<std::size_t>(i * 13), static_cast<char>('a' + i));
    b.add(Seq{static_cast<std::uint64_t>(100 + i)}, 1,
          std::span<const std::byte>(reinterpret_cast<const std::byte*>(payload.data()), payload.size()));
  }
  b.finish_events(out);
  w.applied(Seq{105}, out);
  w.heartbeat(Seq{105}, out);
  w.reject(fbr::RejectReason::another_slave, "another slave is attached", out);
  w.shutdown("SIGTERM", Seq{105}, out);
  return out;
}

std::vector<Seen> read_all(FrameReader& r, const std::vector<std::string_view>& pieces, bool* error = nullptr) {
  std::vector<Seen> out;
  for (auto piece : pieces) {
    // Feed from an 8-aligned copy, as the loop's read buffer is.
    std::vector<std::uint64_t> buf(piece.size() / 8 + 1);
    std::memcpy(buf.data(), piece.data(), piece.size());
    auto res =
        r.feed(std::string_view(reinterpret_cast<const char*>(buf.data()), piece.size()), [&](const fbr::Frame& f) {
          out.push_back(describe(f));
          return true;
        });
    if (!res) {
      if (error) *error = true;
      return out;
    }
  }
  return out;
}

}  // namespace

TEST_CASE("every frame is padded to a multiple of 8 bytes") {
  const std::string s = stream();
  std::size_t off = 0, frames = 0;
  while (off < s.size()) {
    std::uint32_t len;
    std::memcpy(&len, s.data() + off, 4);
    CHECK((4 + len) % 8 == 0);
    off += 4 + len;
    ++frames;
  }
  CHECK(off == s.size());
  CHECK(frames == 7);
}

TEST_CASE("the stream decodes the same whole, split at every byte, and byte by byte") {
  const std::string s = stream();
  FrameReader whole(kMaxMasterFrame);
  const std::vector<Seen> want = read_all(whole, {s});
  REQUIRE(want.size() == 7);
  CHECK(want[0].text == "slave-1/replica");
  CHECK(want[0].seq == 42);
  CHECK(want[1].text == "master");
  CHECK(want[2].payloads.size() == 5);
  CHECK(want[2].payloads[4] == std::string(65, 'f'));
  CHECK(want[2].aligned);
  CHECK(want[5].text == "another slave is attached");
  CHECK(want[6].text == "SIGTERM");
  CHECK(whole.buffered() == 0);

  for (std::size_t cut = 0; cut <= s.size(); ++cut) {
    FrameReader r(kMaxMasterFrame);
    const std::string_view v(s);
    auto got = read_all(r, {v.substr(0, cut), v.substr(cut)});
    REQUIRE_MESSAGE(got == want, "split at byte " << cut);
    CHECK(r.buffered() == 0);
  }
  FrameReader bytes(kMaxMasterFrame);
  std::vector<std::string_view> pieces;
  for (std::size_t i = 0; i < s.size(); ++i) pieces.push_back(std::string_view(s).substr(i, 1));
  CHECK(read_all(bytes, pieces) == want);
}

TEST_CASE("misaligned bytes are copied, never read in place") {
  const std::string s = stream();
  std::vector<std::uint64_t> buf(s.size() / 8 + 2);
  char* at = reinterpret_cast<char*>(buf.data()) + 3;
  std::memcpy(at, s.data(), s.size());
  FrameReader r(kMaxMasterFrame);
  std::vector<Seen> got;
  auto res = r.feed(std::string_view(at, s.size()), [&](const fbr::Frame& f) {
    got.push_back(describe(f));
    return true;
  });
  REQUIRE(res.has_value());
  REQUIRE(got.size() == 7);
  CHECK(got[2].aligned);
}

TEST_CASE("on_frame returning false stops reading") {
  const std::string s = stream();
  FrameReader r(kMaxMasterFrame);
  int n = 0;
  REQUIRE(r.feed(s, [&](const fbr::Frame&) { return ++n < 2; }).has_value());
  CHECK(n == 2);
}

TEST_CASE("hold: the frames after the one that stopped the reading are kept, with later feeds, and handed over by release, whatever the split") {
  const std::string s = stream();
  FrameReader whole(kMaxMasterFrame);
  const std::vector<Seen> want = read_all(whole, {s});
  for (std::size_t cut = 0; cut <= s.size(); ++cut) {
    FrameReader r(kMaxMasterFrame);
    std::vector<Seen> got;
    bool holding = false;
    auto on_frame = [&](const fbr::Frame& f) {
      got.push_back(describe(f));
      if (got.size() == 2) {  // the Welcome stands for SnapshotEnd: hold from here
        r.hold();
        holding = true;
      }
      return !holding;
    };
    const std::string_view v(s);
    REQUIRE(r.feed(v.substr(0, cut), on_frame).has_value());
    REQUIRE(r.feed(v.substr(cut), on_frame).has_value());
    CHECK(got.size() <= 2);  // nothing past the hold
    holding = false;
    REQUIRE(r.release(on_frame).has_value());
    REQUIRE_MESSAGE(got == want, "split at byte " << cut);
    CHECK(r.buffered() == 0);
  }
}

TEST_CASE("a length beyond the limit is refused as soon as it is known") {
  FrameReader r(kMaxSlaveFrame);
  std::string bytes(4, '\0');
  const std::uint32_t len = kMaxSlaveFrame;  // + 4 bytes of prefix: over the limit
  std::memcpy(bytes.data(), &len, 4);
  auto res = r.feed(bytes, [](const fbr::Frame&) { return true; });
  REQUIRE_FALSE(res.has_value());
  CHECK(res.error().code == static_cast<int>(Errc::frame_too_large));
  // Split after two bytes: refused once the fourth arrives.
  FrameReader split(kMaxSlaveFrame);
  REQUIRE(split.feed(std::string_view(bytes).substr(0, 2), [](const fbr::Frame&) { return true; }).has_value());
  CHECK_FALSE(split.feed(std::string_view(bytes).substr(2), [](const fbr::Frame&) { return true; }).has_value());
}

TEST_CASE("a STOMP client or garbage on the replication port is refused") {
  {
    FrameReader r(kMaxSlaveFrame);
    auto res = r.feed("CONNECT\naccept-version:1.2\n\n", [](const fbr::Frame&) { return true; });
    REQUIRE_FALSE(res.has_value());
    CHECK(res.error().code == static_cast<int>(Errc::frame_too_large));
  }
  {
    FrameReader r(kMaxSlaveFrame);
    auto res = r.feed("GET / HTTP/1.1\r\n\r\n", [](const fbr::Frame&) { return true; });
    CHECK_FALSE(res.has_value());
  }
  // A plausible length with random content: the identifier or the verifier says no.
  std::string bytes(64, '\x5a');
  const std::uint32_t len = 60;
  std::memcpy(bytes.data(), &len, 4);
  FrameReader r(kMaxSlaveFrame);
  auto res = r.feed(bytes, [](const fbr::Frame&) { return true; });
  REQUIRE_FALSE(res.has_value());
  CHECK(res.error().code == static_cast<int>(Errc::bad_frame));
}

TEST_CASE("a valid-looking frame with a corrupted table is refused by the verifier") {
  std::string s;
  FrameWriter w;
  w.reject(fbr::RejectReason::diverged, "some message text that is long enough", s);
  // Point the root offset outside the buffer, keep the identifier.
  std::uint32_t bad = 0xfffff0;
  std::memcpy(s.data() + 4, &bad, 4);
  FrameReader r(kMaxMasterFrame);
  auto res = r.feed(s, [](const fbr::Frame&) { return true; });
  REQUIRE_FALSE(res.has_value());
  CHECK(res.error().code == static_cast<int>(Errc::bad_frame));
  // Every single flipped byte either still verifies or is refused: never a crash.
  const std::string good = [] {
    std::string g;
    FrameWriter w2;
    FrameWriter::Welcome wel;
    wel.master_name = "m";
    wel.snapshot_seq = Seq{9};
    w2.welcome(wel, g);
    return g;
  }();
  for (std::size_t i = 4; i < good.size(); ++i) {
    std::string m = good;
    m[i] = static_cast<char>(m[i] ^ 0xff);
    FrameReader rr(kMaxMasterFrame);
    (void)rr.feed(m, [](const fbr::Frame& f) {
      (void)describe(f);
      return true;
    });
  }
}

TEST_CASE("Hello and Welcome copy out their fields") {
  std::string s;
  FrameWriter w;
  store::StoreId id;
  id.bytes[15] = 9;
  FrameWriter::Hello h;
  h.slave_name = "b";
  h.user_name = "u";
  h.password = "p";
  h.persistent = true;
  h.store_id = &id;
  h.epoch = 3;
  h.last_seq = Seq{10};
  h.last_record_seq = Seq{9};
  h.last_record_crc = 0xdeadbeef;
  w.hello(h, s);
  FrameReader r(kMaxSlaveFrame);
  std::optional<HelloInfo> got;
  REQUIRE(r.feed(s, [&](const fbr::Frame& f) {
              got = HelloInfo::from(*f.body_as_Hello());
              return true;
            }).has_value());
  REQUIRE(got);
  CHECK(got->protocol_version == kProtocolVersion);
  CHECK(got->slave_name == "b");
  CHECK(got->password == "p");
  CHECK(got->persistent);
  REQUIRE(got->store_id);
  CHECK(*got->store_id == id);
  CHECK(got->epoch == 3);
  CHECK(got->last_seq == Seq{10});
  CHECK(got->last_record_seq == Seq{9});
  CHECK(got->last_record_crc == 0xdeadbeef);
  CHECK(got->software_version == TWINMQ_VERSION);
}

TEST_CASE("event batch: the last record can be taken back, leaving the frame as if it was never added") {
  const std::vector<std::byte> a(100, std::byte{1}), b(1000, std::byte{2}), c(10, std::byte{3});
  auto frame_of = [](EventBatch& batch) {
    std::string out;
    batch.finish_events(out);
    return out;
  };
  EventBatch with, without;
  with.add(Seq{1}, 1, a);
  with.add(Seq{2}, 1, b);
  CHECK_FALSE(with.drop_last(Seq{1}));  // not the last one
  CHECK(with.drop_last(Seq{2}));
  CHECK_FALSE(with.drop_last(Seq{1}));  // only the very last add()
  CHECK(with.last() == Seq{1});
  with.add(Seq{3}, 2, c);
  without.add(Seq{1}, 1, a);
  without.add(Seq{3}, 2, c);
  CHECK(frame_of(with) == frame_of(without));

  // The only record: the batch is empty again.
  with.add(Seq{4}, 1, a);
  CHECK(with.drop_last(Seq{4}));
  CHECK(with.empty());
  with.add_cancelled(Seq{6}, 42);
  CHECK(with.count() == 1);
  CHECK(with.last() == Seq{6});
}
