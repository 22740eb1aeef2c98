#include "app/salvage_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <ctime>
#include <filesystem>
#include <vector>

#include "stomp/frame_parser.h"
#include "stomp/frame_writer.h"
#include "store/file_io.h"

namespace twinmq::app {

namespace {

constexpr std::size_t kFlushAt = 1u << 20;
constexpr stomp::Version kVersion = stomp::Version::v1_2;

std::string utc_now() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y%m%dT%H%M%SZ", &tm);
  return buf;
}

// Headers the SEND frame states from the message's own fields (or that the reader
// takes from the frame): the producer's copies of them are not repeated.
bool written_from_fields(std::string_view name) {
  return name == "destination" || name == "persistent" || name == "priority" || name == "expires" ||
         name == "content-length" || name.starts_with("twinmq-salvaged-");
}

void append_header_frame(std::string& out, const SalvageHeader& h) {
  out.append(kSalvageCommand);
  out += '\n';
  auto line = [&](std::string_view name, std::string_view value) {
    stomp::append_escaped(out, kVersion, name);
    out += ':';
    stomp::append_escaped(out, kVersion, value);
    out += '\n';
  };
  line("format", std::to_string(h.format));
  line("store-id", h.store_id);
  line("epoch", std::to_string(h.epoch));
  line("source", h.source);
  line("fork-seq", std::to_string(h.fork_seq));
  line("messages", std::to_string(h.messages));
  line("bytes", std::to_string(h.bytes));
  line("created", h.created);
  out += '\n';
  out += '\0';
  out += '\n';
}

void append_send(std::string& out, const store::TailMessage& t) {
  const broker::Message& m = *t.message;
  stomp::FrameWriter w(out, kVersion, stomp::Command::send);
  w.header("destination", t.location);
  w.header("persistent", "true");
  w.header("priority", static_cast<std::uint64_t>(m.priority()));
  if (m.expires_ms() > 0) w.header("expires", static_cast<std::uint64_t>(m.expires_ms()));
  w.header(kSalvagedFromHeader, m.id_text());
  w.header("twinmq-salvaged-seq", t.seq.value);
  w.header("twinmq-salvaged-timestamp", static_cast<std::uint64_t>(std::max<std::int64_t>(0, m.timestamp_ms())));
  if (t.location != m.destination()) w.header("twinmq-salvaged-original-destination", m.destination());
  for (const broker::HeaderView& h : m.headers()) {
    if (!written_from_fields(h.name)) w.header(h.name, h.value);
  }
  w.finish(m.body(), true);
  out += '\n';
}

template <class T>
bool parse_number(std::string_view text, T& out) {
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && p == text.data() + text.size() && !text.empty();
}

// The frames of a salvage file, checked as they come.
class SalvageSink final : public stomp::FrameSink {
 public:
  SalvageSink(const std::string& path, const SalvageVisitor& each) : path_(path), each_(each) {}

  bool on_frame(const stomp::Frame& f) override {
    if (!seen_header_) return header_frame(f);
    ++frame_no_;
    if (f.command != stomp::Command::send) {
      return fail(SalvageErrc::malformed, "frame " + std::to_string(frame_no_) + " is " +
                                              std::string(f.command_text.substr(0, 40)) + ", not SEND");
    }
    const auto destination = f.header("destination");
    if (!destination || destination->empty())
      return fail(SalvageErrc::malformed, "SEND frame " + std::to_string(frame_no_) + " has no destination");
    if (index_ >= header_.messages) {
      return fail(SalvageErrc::malformed, "it holds more SEND frames than the " + std::to_string(header_.messages) +
                                              " its header announces (edited?)");
    }
    headers_.clear();
    for (const stomp::Header& h : f.headers) {
      if (h.name != "destination" && h.name != "content-length") headers_.push_back(h);
    }
    if (each_ && !each_(SalvagedSend{index_, *destination, headers_, f.body})) {
      stopped_ = true;
      return false;
    }
    ++index_;
    return true;
  }
  void on_heartbeat() override {}

  std::optional<Error> error;
  bool seen_header() const { return seen_header_; }
  bool stopped() const { return stopped_; }
  std::uint64_t sends() const { return index_; }
  const SalvageHeader& header() const { return header_; }

 private:
  bool fail(SalvageErrc code, const std::string& why) {
    error = Error{static_cast<int>(code), path_ + ": " + why};
    return false;
  }

  bool header_frame(const stomp::Frame& f) {
    if (f.command_text != kSalvageCommand) {
      return fail(SalvageErrc::not_a_salvage_file,
                  "not a salvage file: its first frame is '" + std::string(f.command_text.substr(0, 40)) +
                      "', a salvage file (twinmq salvage, twinmq-resync --salvage) starts with " +
                      std::string(kSalvageCommand));
    }
    seen_header_ = true;
    const auto format = f.header("format");
    if (!format || !parse_number(*format, header_.format))
      return fail(SalvageErrc::malformed, "the " + std::string(kSalvageCommand) + " frame has no format header");
    if (header_.format != 1) {
      return fail(SalvageErrc::unsupported_format,
                  "salvage format " + std::string(*format) + "; this twinmq reads format 1 (a newer twinmq wrote it?)");
    }
    auto text = [&](std::string_view name) { return std::string(f.header(name).value_or("")); };
    header_.store_id = text("store-id");
    header_.source = text("source");
    header_.created = text("created");
    const auto messages = f.header("messages");
    if (!messages || !parse_number(*messages, header_.messages))
      return fail(SalvageErrc::malformed, "the " + std::string(kSalvageCommand) + " frame has no messages count");
    (void)parse_number(text("epoch"), header_.epoch);
    (void)parse_number(text("fork-seq"), header_.fork_seq);
    (void)parse_number(text("bytes"), header_.bytes);
    return true;
  }

  const std::string& path_;
  const SalvageVisitor& each_;
  SalvageHeader header_;
  std::vector<stomp::Header> headers_;
  std::uint64_t index_ = 0;
  std::uint64_t frame_no_ = 1;
  bool seen_header_ = false;
  bool stopped_ = false;
};

}  // namespace

Result<SalvageHeader> write_salvage_file(const std::string& path, const store::ForkedTail& tail) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::exists(fs::symlink_status(path, ec)))
    return make_error(SalvageErrc::exists, path + " exists already; a salvage file is never replaced: choose another name");
  SalvageHeader h;
  h.store_id = tail.identity.id.to_string();
  h.epoch = tail.identity.epoch;
  h.source = tail.dir;
  h.fork_seq = tail.fork.value;
  h.messages = tail.live_messages.size();
  for (const store::TailMessage& m : tail.live_messages) h.bytes += m.message->body().size();
  h.created = utc_now();

  const fs::path parent = fs::path(path).parent_path();
  const std::string dir = parent.empty() ? std::string(".") : parent.string();
  const std::string tmp = path + ".tmp-" + std::to_string(::getpid());
  auto fd = store::open_file(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (!fd) return make_error(SalvageErrc::io, fd.error().message);
  auto fail = [&](const Error& e) {
    ::unlink(tmp.c_str());
    return std::unexpected(Error{static_cast<int>(SalvageErrc::io), e.message});
  };
  std::string buf;
  std::uint64_t offset = 0;
  auto flush = [&]() -> Result<void> {
    auto r = store::write_at(fd->get(), std::as_bytes(std::span(buf.data(), buf.size())), offset, tmp);
    offset += buf.size();
    buf.clear();
    return r;
  };
  append_header_frame(buf, h);
  for (const store::TailMessage& m : tail.live_messages) {
    append_send(buf, m);
    if (buf.size() >= kFlushAt) {
      if (auto r = flush(); !r) return fail(r.error());
    }
  }
  if (auto r = flush(); !r) return fail(r.error());
  if (auto r = store::sync_data(fd->get(), tmp); !r) return fail(r.error());
  fd->reset();
  // link() never replaces an existing name (rename() would): the check above is only
  // the friendly early answer, this is the one that holds against a race.
  if (::link(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    if (err == EEXIST)
      return make_error(SalvageErrc::exists, path + " exists already; a salvage file is never replaced: choose another name");
    return make_error(SalvageErrc::io, store::io_error("naming", path, err).error().message);
  }
  ::unlink(tmp.c_str());
  if (auto r = store::sync_dir(dir); !r) return make_error(SalvageErrc::io, r.error().message);
  return h;
}

Result<SalvageHeader> read_salvage_file(const std::string& path, const SalvageVisitor& each) {
  auto fd = store::open_file(path, O_RDONLY | O_CLOEXEC);
  if (!fd) return make_error(SalvageErrc::io, fd.error().message);
  stomp::ParserLimits limits;
  limits.max_frame_size = std::size_t{1} << 31;  // a message is far smaller: the broker's own limits apply
  limits.max_header_section = 1u << 20;
  limits.max_headers = 100000;
  stomp::FrameParser parser(limits);
  parser.set_version(kVersion);
  SalvageSink sink(path, each);
  std::vector<char> chunk(1u << 20);
  for (;;) {
    const ssize_t n = ::read(fd->get(), chunk.data(), chunk.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return make_error(SalvageErrc::io, store::io_error("reading", path, errno).error().message);
    }
    if (n == 0) break;
    auto r = parser.feed(std::string_view(chunk.data(), static_cast<std::size_t>(n)), sink);
    if (sink.error) return std::unexpected(*sink.error);
    if (sink.stopped()) return sink.header();
    if (!r) {
      if (!sink.seen_header())
        return make_error(SalvageErrc::not_a_salvage_file,
                          path + ": not a salvage file: it does not start with a " + std::string(kSalvageCommand) +
                              " frame (" + r.error().message + ")");
      return make_error(SalvageErrc::malformed, path + ": after " + std::to_string(sink.sends()) +
                                                    " messages: " + r.error().message);
    }
  }
  if (!sink.seen_header()) {
    return make_error(SalvageErrc::not_a_salvage_file,
                      path + ": not a salvage file: it does not start with a " + std::string(kSalvageCommand) +
                          " frame (" + (parser.buffered() ? "it holds no complete frame" : "it is empty") + ")");
  }
  if (parser.buffered() != 0 || sink.sends() != sink.header().messages) {
    return make_error(SalvageErrc::malformed, path + ": holds " + std::to_string(sink.sends()) +
                                                  " complete messages but its header announces " +
                                                  std::to_string(sink.header().messages) + " (cut short?)");
  }
  return sink.header();
}

Result<SalvageHeader> check_salvage_file(const std::string& path) { return read_salvage_file(path, {}); }

}  // namespace twinmq::app
