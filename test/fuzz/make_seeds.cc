// test/fuzz/make_seeds.cc — writes the generated part of the fuzz seed corpora
// (test/fuzz/corpus/<target>/), in each target's input layout (see the comment atop
// each fuzz_<target>.cc), with the product's own writers: FrameWriter for STOMP frames,
// the replication FrameWriter and EventBatch, EventEncoder and append_record for journal
// files. So a seed is exactly what a peer or the disk would hold; when a format changes,
// run it again and commit the result:
//
//   build/test/fuzz/make_seeds test/fuzz/corpus
//
// The config target's seeds are the example files (conf/*.xml) and hand-written ones,
// copied by hand; this tool does not touch corpus/config/.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "broker/event.h"
#include "broker/message.h"
#include "replication/protocol.h"
#include "stomp/frame_writer.h"
#include "store/event_codec.h"
#include "store/record_format.h"

using namespace twinmq;
using namespace std::literals;

namespace {

std::filesystem::path out_root;
int written = 0;

void write_seed(std::string_view target, std::string_view name, std::string_view bytes) {
  const auto dir = out_root / target;
  std::filesystem::create_directories(dir);
  std::ofstream(dir / name, std::ios::binary | std::ios::trunc).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  ++written;
}

// --- frame_parser: byte 0 = mode (byte % 3 = version, bit 2 = strict command line as a
// server parses, bit 3 = small limits), byte 1 = where the stream is cut, then the stream.

std::string stomp_mode(stomp::Version v, bool server, bool small) {
  for (int b = 0; b < 256; ++b) {
    if (b % 3 == static_cast<int>(v) && ((b & 4) != 0) == server && ((b & 8) != 0) == small) {
      return std::string(1, static_cast<char>(b)) + "\x5b";
    }
  }
  return {};
}

void stomp_seed(std::string_view name, stomp::Version v, bool server, std::string_view stream, bool small = false) {
  write_seed("frame_parser", name, stomp_mode(v, server, small) + std::string(stream));
}

std::string frame(stomp::Version v, stomp::Command c, std::initializer_list<std::pair<std::string_view, std::string_view>> headers,
                  std::string_view body = {}, bool content_length = true) {
  std::string out;
  stomp::FrameWriter w(out, v, c);
  for (const auto& [n, value] : headers) w.header(n, value);
  w.finish(body, content_length);
  return out;
}

void stomp_seeds() {
  using stomp::Command;
  using stomp::Version;
  const Version v12 = Version::v1_2;
  // Every client frame, as a server reads them (strict command line), in 1.2.
  const std::string connect = frame(v12, Command::connect, {{"accept-version", "1.0,1.1,1.2"}, {"host", "h"}, {"heart-beat", "0,0"}});
  stomp_seed("client-connect", v12, true, connect);
  stomp_seed("client-stomp", v12, true, frame(v12, Command::stomp, {{"accept-version", "1.2"}, {"host", "h"}, {"login", "u"}, {"passcode", "p\\q"}}));
  stomp_seed("client-send", v12, true, frame(v12, Command::send, {{"destination", "/queue/a"}, {"receipt", "r1"}, {"persistent", "true"}}, "payload"));
  stomp_seed("client-send-escaped", v12, true, frame(v12, Command::send, {{"destination", "/topic/b"}, {"x-h", "v\nw:z\\"}, {"priority", "7"}}, "p2", false));
  stomp_seed("client-send-nul-body", v12, true, frame(v12, Command::send, {{"destination", "/queue/c"}, {"transaction", "tx"}, {"expires", "1"}}, "a\0b\nc"sv));
  stomp_seed("client-subscribe", v12, true, frame(v12, Command::subscribe, {{"destination", "/queue/a"}, {"id", "s1"}, {"ack", "client-individual"}}));
  stomp_seed("client-subscribe-durable", v12, true, frame(v12, Command::subscribe, {{"destination", "/topic/b"}, {"id", "s2"}, {"activemq.prefetchSize", "3"}, {"activemq.subscriptionName", "d"}}));
  stomp_seed("client-unsubscribe", v12, true, frame(v12, Command::unsubscribe, {{"id", "s1"}}));
  stomp_seed("client-ack", v12, true, frame(v12, Command::ack, {{"id", "1"}, {"transaction", "tx"}}));
  stomp_seed("client-nack", v12, true, frame(v12, Command::nack, {{"id", "2"}}));
  stomp_seed("client-begin", v12, true, frame(v12, Command::begin, {{"transaction", "tx"}}));
  stomp_seed("client-commit", v12, true, frame(v12, Command::commit, {{"transaction", "tx"}, {"receipt", "r2"}}));
  stomp_seed("client-abort", v12, true, frame(v12, Command::abort, {{"transaction", "tx"}}));
  stomp_seed("client-disconnect", v12, true, frame(v12, Command::disconnect, {{"receipt", "bye"}}));
  // A 1.0 and a 1.1 session: 1.0 escapes nothing, 1.1 has no \r.
  stomp_seed("client-send-1.0", Version::v1_0, true, frame(Version::v1_0, Command::send, {{"destination", "/queue/a"}, {"x", "a\\b"}}, "b", false));
  stomp_seed("client-ack-1.0", Version::v1_0, true, frame(Version::v1_0, Command::ack, {{"message-id", "ID:x-1"}}));
  stomp_seed("client-send-1.1", Version::v1_1, true, frame(Version::v1_1, Command::send, {{"destination", "/queue/a"}, {"x", "a:b\nc"}}, "b"));
  // A whole session in one stream, with heart-beats and CRLF lines between frames.
  stomp_seed("client-session", v12, true,
             connect + "\n" + frame(v12, Command::subscribe, {{"destination", "/queue/a"}, {"id", "s"}}) + "\r\n" +
                 frame(v12, Command::send, {{"destination", "/queue/a"}}, "x") + "\n\n" +
                 frame(v12, Command::ack, {{"id", "ID:1"}}) + frame(v12, Command::disconnect, {{"receipt", "r"}}));
  stomp_seed("client-crlf", v12, true, "SEND\r\ndestination:/queue/a\r\ncontent-length:3\r\n\r\nx\r\n\0\r\n"sv);

  // Every server frame, as a client reads them (no strict command line).
  stomp_seed("server-connected", v12, false, frame(v12, Command::connected, {{"version", "1.2"}, {"heart-beat", "0,10000"}, {"server", "twinmq/1"}, {"session", "s-1"}}));
  stomp_seed("server-message", v12, false, frame(v12, Command::message, {{"destination", "/queue/a"}, {"message-id", "ID:b-1"}, {"subscription", "s1"}, {"ack", "ID:b-1"}, {"x-esc", "a\r\nb:c\\"}}, "body\0x"sv));
  stomp_seed("server-receipt", v12, false, frame(v12, Command::receipt, {{"receipt-id", "r1"}}));
  stomp_seed("server-error", v12, false, frame(v12, Command::error, {{"message", "frame too large"}, {"receipt-id", "r"}}, "the frame exceeds 65536 bytes"));
  stomp_seed("server-message-1.0", Version::v1_0, false, frame(Version::v1_0, Command::message, {{"destination", "/queue/a"}, {"message-id", "ID:b-2"}}, "b", false));
  stomp_seed("server-heartbeats", v12, false, "\n\r\n\n"sv);

  // Bad input (test/integration/06_bad_input.cc, 12_hostile_clients.cc), server side.
  stomp_seed("bad-garbage-line", v12, true, "\x01\x7f\xfe\xc3\xa9 junk line\n\n\0"sv);
  stomp_seed("bad-tls-clienthello", v12, true, "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\x5a\x00\x13\x01\x13\x02\x13\x03\xc0\x2b"sv);
  stomp_seed("bad-http-request", v12, true, "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"sv);
  stomp_seed("bad-unknown-command", v12, true, "FROBNICATE\nreceipt:r-frob\n\n\0"sv);
  stomp_seed("bad-lower-case-command", v12, true, "send\ndestination:/queue/x\n\nb\0"sv);
  stomp_seed("bad-escape-tab", v12, true, "SEND\ndestination:/queue/x\nx-bad:a\\tb\n\nb\0"sv);
  stomp_seed("bad-escape-trailing", v12, true, "SEND\ndestination:/queue/x\nx-bad:ends\\\n\nb\0"sv);
  stomp_seed("bad-escape-cr-1.1", Version::v1_1, true, "SEND\ndestination:/queue/x\nx-cr:a\\rb\n\nb\0"sv);
  stomp_seed("bad-body-on-subscribe", v12, true, "SUBSCRIBE\ndestination:/queue/x\nid:s\n\nnot allowed\0"sv);
  stomp_seed("bad-content-length-negative", v12, true, "SEND\ndestination:/queue/x\ncontent-length:-1\n\n"sv);
  stomp_seed("bad-content-length-text", v12, true, "SEND\ndestination:/queue/x\ncontent-length:12abc\n\n"sv);
  stomp_seed("bad-content-length-huge", v12, true, "SEND\ndestination:/queue/x\ncontent-length:99999999999999999999\n\n"sv);
  stomp_seed("bad-content-length-missing-nul", v12, true, "SEND\ncontent-length:1\n\nab\0"sv);
  stomp_seed("bad-nul-in-header", v12, true, "SEND\ndestination:/queue/x\nreceipt:r-nul\nx-note:a\0b\n\nx\0"sv);
  stomp_seed("bad-no-colon", v12, true, "SEND\ndestination:/queue/x\nbroken\n\n\0"sv);
  stomp_seed("bad-empty-name", v12, true, "SEND\n:v\n\n\0"sv);
  stomp_seed("bad-header-injection", v12, true, "SEND\ndestination:/queue/x\nx-note:hello\\ncontent-length:0\\n\\nFAKE\n\nb\0"sv);
  stomp_seed("bad-log-injection", v12, true, "ACK\nid:zz\\n2026-12-04T20:00:00.000 error [broker] FORGED-LINE journal corrupted\n\n\0"sv);
  stomp_seed("bad-connect-escape", v12, true, "CONNECT\x1b[2J\naccept-version:1.2\n\n\0"sv);
  stomp_seed("bad-unterminated", v12, true, "SEND\ndestination:/queue/x\nx-endless:eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee"sv);
  // The same shapes against the small limits (frame 512, header section 256, 8 headers).
  stomp_seed("small-too-many-headers", v12, true,
             "SEND\na:1\nb:2\nc:3\nd:4\ne:5\nf:6\ng:7\nh:8\ni:9\n\n\0"sv, true);
  stomp_seed("small-header-section", v12, true, "SEND\nx-big:" + std::string(300, 'h') + "\n\nb" + std::string(1, '\0'), true);
  stomp_seed("small-body-too-large", v12, true, "SEND\ndestination:/queue/x\n\n" + std::string(600, 'y') + std::string(1, '\0'), true);
  stomp_seed("small-content-length-too-large", v12, true, "SEND\ncontent-length:512\n\n"sv, true);
  stomp_seed("small-command-too-long", v12, true, std::string(40, 'C') + "\n\n" + std::string(1, '\0'), true);
}

// --- replication_frame: byte 0 = where the stream is cut, then frames as a peer sends them.

store::StoreId store_id() {
  store::StoreId id;
  for (std::size_t i = 0; i < id.bytes.size(); ++i) id.bytes[i] = static_cast<std::uint8_t>(0xa0 + i);
  return id;
}

// Events covering every record type, each encoded as the journal and the link carry it.
struct SampleEvents {
  store::EventEncoder encoder;
  std::vector<std::pair<store::RecordType, std::string>> encoded;

  SampleEvents() {
    static const broker::HeaderView headers[] = {{"content-type", "text/plain"}, {"x-empty", ""}, {"_AMQ_DUPL_ID", "d-1"}};
    broker::MessageInit init;
    init.id = 41;
    init.id_prefix = "store-abc-1";
    init.destination = "/queue/orders";
    init.headers = headers;
    init.body = "hello\0world"sv;
    init.persistent = true;
    init.priority = 7;
    init.expires_ms = 1700000123456;
    init.timestamp_ms = 1700000000001;
    init.id_cache_size = 100;
    const broker::MessageRef m1 = broker::Message::create(init);
    init.id = 42;
    init.destination = "/topic/prices";
    init.headers = {};
    init.body = "";
    const broker::MessageRef m2 = broker::Message::create(init);
    const broker::MessageRef sends[] = {m1, m2};
    const broker::AckedMessage acks[] = {{"/queue/orders", 40, true}, {"client-1:durable", 39, true}};
    const broker::DuplicateId ids[] = {{"d-1", true}, {"d-2", false}};
    add(broker::MessageEnqueued{m1});
    add(broker::MessageRemoved{"/queue/orders", 41, true, broker::RemovalReason::acked});
    add(broker::MessageDeadLettered{"/queue/orders", 41, true, "ActiveMQ.DLQ"});
    add(broker::TransactionCommitted{sends, acks});
    add(broker::DestinationAdded{"/queue/orders"});
    add(broker::DestinationRemoved{"/queue/orders"});
    add(broker::DurableSubscriptionAdded{"client-1", "durable", "/topic/prices"});
    add(broker::DurableSubscriptionRemoved{"client-1", "durable"});
    add(broker::DuplicateIdsRecorded{"/queue/orders", ids, 100, true, true});
  }
  void add(const broker::Event& e) {
    const auto bytes = encoder.encode(e);
    encoded.emplace_back(store::record_type_of(e), std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
  }
  static std::span<const std::byte> span(const std::string& s) {
    return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
  }
};

void replication_seeds(SampleEvents& events) {
  const store::StoreId id = store_id();
  replication::FrameWriter w;
  const auto seed = [](std::string_view name, const std::string& frames) {
    write_seed("replication_frame", name, "\x21" + frames);
  };
  std::string hello, welcome, all;
  w.hello({.slave_name = "slave-1", .user_name = "replica", .password = "secret", .persistent = true, .store_id = &id,
           .epoch = 3, .last_seq = Seq{100}, .last_record_seq = Seq{99}, .last_record_crc = 0xdeadbeef,
           .applied_seq = Seq{100}, .sync_on_write = true, .rejoin = false, .takes_over = true,
           .replication_listener = "tcp://0.0.0.0:62001", .non_persistent_live = false},
          hello);
  seed("hello", hello);
  w.welcome({.master_name = "master-1", .store_id = &id, .epoch = 3, .snapshot_seq = Seq{120}, .heart_beat_ms = 1000,
             .link_timeout_ms = 5000, .catch_up_from = Seq{0}, .epoch_starts = {}},
            welcome);
  seed("welcome", welcome);
  const auto one = [&](std::string_view name, auto&& write) {
    std::string out;
    write(out);
    seed(name, out);
    all += out;
  };
  all = welcome;
  one("reject", [&](std::string& o) { w.reject(replication::fbr::RejectReason::forked_tail, "histories part at 90", o, Seq{90}); });
  one("snapshot-begin", [&](std::string& o) { w.snapshot_begin(Seq{120}, 2, 3, 16, o); });
  replication::EventBatch batch;
  std::uint64_t seq = 101;
  for (const auto& [type, bytes] : events.encoded) batch.add(Seq{seq++}, static_cast<std::uint16_t>(type), SampleEvents::span(bytes));
  one("snapshot-chunk", [&](std::string& o) { batch.finish_chunk(o); });
  one("snapshot-end", [&](std::string& o) { w.snapshot_end(Seq{120}, 9, 43, o); });
  one("in-sync", [&](std::string& o) { w.in_sync(Seq{120}, o); });
  for (const auto& [type, bytes] : events.encoded) batch.add(Seq{seq++}, static_cast<std::uint16_t>(type), SampleEvents::span(bytes));
  one("events", [&](std::string& o) { batch.finish_events(o); });
  one("heartbeat", [&](std::string& o) { w.heartbeat(Seq{130}, o, 7, 0); });
  one("applied", [&](std::string& o) { w.applied(Seq{130}, o); });
  one("shutdown", [&](std::string& o) { w.shutdown("planned switchover", Seq{130}, o); });
  seed("master-stream", all);
  // Hostile: a length prefix past every limit, a frame without the identifier.
  seed("bad-huge-length", "\xff\xff\xff\x7f" + welcome.substr(4));
  std::string no_id = hello;
  if (no_id.size() > 12) std::memcpy(no_id.data() + 8, "XXXX", 4);
  seed("bad-identifier", no_id);
}

// --- journal_record: byte 0 even = a segment file's bytes; odd = byte 1 picks a record
// type (index into the target's kTypes), the rest is its payload.

void journal_seeds(SampleEvents& events) {
  std::vector<std::byte> file(store::kFileHeaderSize);
  store::FileHeader h;
  h.kind = store::FileKind::segment;
  h.store_id = store_id();
  h.epoch = 3;
  h.seq = Seq{1};
  h.created_ms = 1700000000000;
  store::encode_file_header(h, file.data());
  std::uint64_t seq = 1;
  for (const auto& [type, bytes] : events.encoded) {
    store::append_record(file, Seq{seq}, seq == 3 ? 1 : 0, type, SampleEvents::span(bytes));
    seq += seq == 3 ? 2 : 1;
  }
  store::append_record(file, Seq{seq}, 2, store::RecordType::skip, {});
  const auto as_text = [](const std::vector<std::byte>& f) { return std::string(reinterpret_cast<const char*>(f.data()), f.size()); };
  write_seed("journal_record", "segment", "\x00"s + as_text(file));
  // A torn tail: the last record cut in half.
  write_seed("journal_record", "segment-torn", "\x02"s + as_text(file).substr(0, file.size() - 20));

  std::vector<std::byte> ckpt(store::kFileHeaderSize);
  h.kind = store::FileKind::checkpoint;
  h.seq = Seq{120};
  store::encode_file_header(h, ckpt.data());
  store::append_record(ckpt, Seq{101}, 0, events.encoded[4].first, SampleEvents::span(events.encoded[4].second));
  store::append_record(ckpt, Seq{102}, 0, events.encoded[0].first, SampleEvents::span(events.encoded[0].second));
  const auto end = store::encode_checkpoint_end({.next_message_id = 43, .records = 2});
  store::append_record(ckpt, Seq{120}, 0, store::RecordType::checkpoint_end, end);
  write_seed("journal_record", "checkpoint", "\x04"s + as_text(ckpt));

  // One record each, payload only (mode odd): byte 1 = index into kTypes (type - 1 for events).
  for (const auto& [type, bytes] : events.encoded) {
    const auto index = static_cast<char>(static_cast<unsigned>(type) - 1);
    write_seed("journal_record", "record-" + std::string(store::record_type_name(type)), "\x01"s + index + bytes);
  }
  write_seed("journal_record", "record-checkpoint_end", "\x01\x0a"s + std::string(reinterpret_cast<const char*>(end.data()), end.size()));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s CORPUS_DIR   (test/fuzz/corpus)\n", argv[0]);
    return 2;
  }
  out_root = argv[1];
  stomp_seeds();
  SampleEvents events;
  replication_seeds(events);
  journal_seeds(events);
  std::printf("wrote %d seeds under %s\n", written, argv[1]);
  return 0;
}
