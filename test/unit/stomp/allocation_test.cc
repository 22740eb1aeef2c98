// The hot path allocates nothing once warm: parsing frames in place and
// encoding into a reused string. Counted by replacing the global operator new
// for this test binary (counting only while a test asks for it).
#include <doctest.h>

#include <cstdlib>
#include <new>
#include <string>

#include "stomp/frame_parser.h"
#include "stomp/frame_writer.h"

namespace {
bool g_counting = false;
std::size_t g_allocations = 0;
std::size_t g_largest = 0;  // the largest single allocation while counting
}  // namespace

void* operator new(std::size_t size) {
  if (g_counting) {
    ++g_allocations;
    if (size > g_largest) g_largest = size;
  }
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }

namespace twinmq::stomp {
namespace {

class CountingSink final : public FrameSink {
 public:
  bool on_frame(const Frame& frame) override {
    ++frames;
    bytes += frame.body.size() + frame.headers.size();
    return true;
  }
  void on_heartbeat() override { ++heart_beats; }
  std::size_t frames = 0;
  std::size_t heart_beats = 0;
  std::size_t bytes = 0;
};

std::string sample_stream() {
  std::string stream;
  for (int i = 0; i < 20; ++i) {
    FrameWriter w(stream, Version::v1_2, Command::send);
    w.header("destination", "/queue/orders");
    w.header("receipt", std::uint64_t(i));
    w.header("escaped", "a:b\nc");  // unescaped into the parser's scratch space
    w.header("persistent", "true");
    w.finish(std::string(1000, 'x'));
    stream += "\n";
  }
  return stream;
}

TEST_CASE("parsing warm frames in place allocates nothing") {
  const std::string stream = sample_stream();
  FrameParser parser;
  parser.set_version(Version::v1_2);
  CountingSink sink;
  REQUIRE(parser.feed(stream, sink));  // warm up: the reused vectors reach their size
  g_allocations = 0;
  g_counting = true;
  const bool ok = parser.feed(stream, sink).has_value();
  g_counting = false;
  CHECK(ok);
  CHECK(g_allocations == 0);
  CHECK(sink.frames == 40);
  CHECK(sink.heart_beats == 40);
}

TEST_CASE("encoding into a reused string allocates nothing") {
  std::string out;
  out.reserve(4096);
  const std::string body(1000, 'x');
  g_allocations = 0;
  g_counting = true;
  for (int i = 0; i < 100; ++i) {
    out.clear();
    FrameWriter w(out, Version::v1_2, Command::message);
    w.header("subscription", "sub-1");
    w.header("message-id", std::uint64_t(i));
    w.header("destination", "/queue/a:b");
    w.finish(body);
  }
  g_counting = false;
  CHECK(g_allocations == 0);
  CHECK(out.size() > 1000);
}

TEST_CASE("a content-length that is negative, not a number or past the frame limit is refused before any buffer") {
  // The limit is 10 MiB; the body bytes that follow the header must never be held.
  const std::string body_start(2000, 'b');
  for (const char* value : {"-1", "-0", "abc", "", "1e9", "0x10", " 5", "+5", "4294967296", "10485760",
                            "99999999999999999999999999"}) {
    CAPTURE(value);
    FrameParser parser;
    parser.set_version(Version::v1_2);
    CountingSink sink;
    const std::string head = std::string("SEND\ndestination:/queue/a\ncontent-length:") + value + "\n\n";
    g_allocations = 0;
    g_largest = 0;
    g_counting = true;
    const auto first = parser.feed(head, sink);     // the header alone: refused here
    const auto later = parser.feed(body_start, sink);  // the body is never buffered
    g_counting = false;
    REQUIRE_FALSE(first.has_value());
    const auto code = static_cast<ProtocolErrc>(first.error().code);
    CHECK((code == ProtocolErrc::invalid_content_length || code == ProtocolErrc::frame_too_large));
    CHECK_FALSE(later.has_value());
    CHECK(parser.buffered() == 0);
    CHECK(sink.frames == 0);
    CHECK(g_largest < 1024);  // error text only; nothing sized by the content-length
  }
}

}  // namespace
}  // namespace twinmq::stomp
