// app/cmd_replay.cc — `twinmq replay FILE --to URI`: sends every message of a salvage
// file (app/salvage_file.h) to a running broker or pair, each with a receipt.
//
// How: one FailoverClient (twinmq/failover.h), so `failover:(tcp://a:1,tcp://b:2)` works
// and a failover during the replay re-sends whatever had no receipt yet. SENDs are
// pipelined (the client keeps up to 1000 unconfirmed, in order); DISCONNECT's receipt at
// the end confirms the rest. Receipts come in send order, so "confirmed K" always means
// the first K messages of the file (after --skip): a run that stops part-way says the
// exact --skip that resumes it.
//
// At-least-once, and said so: a message whose receipt was lost with a connection was
// perhaps stored, and a resumed or repeated run sends it again. To keep a second run
// from repeating a first one by accident, each run records how far it got in
// FILE.replayed (format below); a run that finds that record and is given no --skip
// refuses, printing both choices (resume after the confirmed ones, or --skip 0 to send
// everything again on purpose).
//
// FILE.replayed (text, replaced atomically after each run and every ~2 s during one):
//   twinmq-replay 1
//   confirmed <messages of the file confirmed, counted from its start>
//   messages <messages in the file>
//   to <the URI>
//   at <UTC time>
//
// Exit 0 every message (after --skip) got its receipt; 1 not all did, or refused
// because of an earlier run; 2 usage, or FILE is not a readable salvage file.
#include <charconv>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <optional>
#include <string>

#include "app/commands.h"
#include "app/salvage_file.h"
#include "base/log.h"
#include "store/file_io.h"
#include "twinmq/failover.h"

namespace twinmq::app {

namespace {

using Clock = std::chrono::steady_clock;

constexpr const char* kUsage =
    "usage: twinmq replay FILE --to URI [--skip N] [--user NAME --password SECRET] [--timeout SECONDS]\n"
    "  sends every message of the salvage FILE (twinmq salvage, twinmq-resync --salvage) to the broker\n"
    "  or pair at URI (tcp://host:port, or failover:(tcp://master:61613,tcp://slave:61613)?randomize=false),\n"
    "  each with a receipt. --skip N leaves out the first N messages (those an earlier run confirmed).\n"
    "  --timeout bounds each wait for a broker (default 30; a URI's own timeout= option wins).\n"
    "  Exit 0: every message confirmed; 1: not all (the output says how to resume); 2: bad usage or file.\n";

int usage(const std::string& why) {
  std::fprintf(stderr, "replay: %s\n%s", why.c_str(), kUsage);
  return kCommandUsage;
}

std::string shell_quote(std::string_view s) {
  const bool plain = !s.empty() && s.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                                       "0123456789_-./:@%+=,") == std::string_view::npos;
  if (plain) return std::string(s);
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

std::string utc_now() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y%m%dT%H%M%SZ", &tm);
  return buf;
}

bool parse_count(std::string_view v, std::uint64_t& out) {
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
  return ec == std::errc() && p == v.data() + v.size() && !v.empty();
}

// FILE.replayed: what an earlier run confirmed.
struct ProgressNote {
  std::uint64_t confirmed = 0;
  std::string to, at;
};

std::string progress_path(const std::string& file) { return file + ".replayed"; }

std::optional<ProgressNote> read_progress(const std::string& file) {
  auto text = store::read_small_file(progress_path(file));
  if (!text) return std::nullopt;
  ProgressNote note;
  std::string_view rest = *text;
  while (!rest.empty()) {
    const std::size_t nl = rest.find('\n');
    const std::string_view line = rest.substr(0, nl);
    rest.remove_prefix(nl == std::string_view::npos ? rest.size() : nl + 1);
    const std::size_t sp = line.find(' ');
    if (sp == std::string_view::npos) continue;
    const std::string_view key = line.substr(0, sp), value = line.substr(sp + 1);
    if (key == "confirmed") (void)parse_count(value, note.confirmed);
    if (key == "to") note.to = value;
    if (key == "at") note.at = value;
  }
  return note;
}

void write_progress(const std::string& file, std::uint64_t confirmed, std::uint64_t messages, const std::string& to) {
  const std::filesystem::path p(progress_path(file));
  const std::string dir = p.parent_path().empty() ? std::string(".") : p.parent_path().string();
  const std::string text = "twinmq-replay 1\nconfirmed " + std::to_string(confirmed) + "\nmessages " +
                           std::to_string(messages) + "\nto " + to + "\nat " + utc_now() + "\n";
  if (auto r = store::write_file_atomically(dir, p.filename().string(), text); !r) {
    std::fprintf(stderr, "replay: warning: could not record progress in %s (%s)\n", p.c_str(), r.error().message.c_str());
  }
}

struct Options {
  std::string file, to, user, password;
  std::optional<std::uint64_t> skip;
  std::int64_t timeout_ms = 30000;
};

}  // namespace

int run_replay(const Args& args) {
  init_logging(spdlog::level::warn);
  Options o;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string_view a = args[i];
    if (a == "--help" || a == "-h") {
      std::printf("%s", kUsage);
      return kCommandOk;
    }
    if (!a.starts_with("--")) {
      if (!o.file.empty()) return usage("one salvage file at a time ('" + std::string(a) + "' is a second)");
      o.file = a;
      continue;
    }
    if (a != "--to" && a != "--skip" && a != "--user" && a != "--password" && a != "--timeout")
      return usage("unknown option '" + std::string(a) + "'");
    if (i + 1 >= args.size()) return usage(std::string(a) + " needs a value");
    const std::string_view v = args[++i];
    std::uint64_t n = 0;
    if (a == "--to") o.to = v;
    if (a == "--user") o.user = v;
    if (a == "--password") o.password = v;
    if (a == "--skip") {
      if (!parse_count(v, n)) return usage("--skip needs a number of messages");
      o.skip = n;
    }
    if (a == "--timeout") {
      if (!parse_count(v, n) || n == 0) return usage("--timeout needs a number of seconds");
      o.timeout_ms = static_cast<std::int64_t>(n) * 1000;
    }
  }
  if (o.file.empty() || o.to.empty()) return usage("needs a salvage FILE and --to URI");

  // 1. The whole file is checked before anything is sent.
  auto header = check_salvage_file(o.file);
  if (!header) {
    std::fprintf(stderr, "replay: %s\n", header.error().message.c_str());
    return kCommandUsage;
  }
  const std::uint64_t total = header->messages;
  const std::uint64_t skip = o.skip.value_or(0);
  if (skip > total) return usage("--skip " + std::to_string(skip) + " is more than the file's " + std::to_string(total) + " messages");
  auto uri = client::parse_failover_uri(o.to);
  if (!uri) return usage(uri.error().message);
  if (uri->options.timeout_ms < 0) uri->options.timeout_ms = o.timeout_ms;

  const std::string resume_base = "twinmq replay " + shell_quote(o.file) + " --to " + shell_quote(o.to);
  // 2. An earlier run: never repeat it by accident.
  const auto earlier = o.skip ? std::nullopt : read_progress(o.file);
  if (earlier && earlier->confirmed >= total) {
    std::fprintf(stderr,
                 "replay: REFUSED: an earlier replay of %s (to %s, %s) confirmed all its %llu messages:\n"
                 "  nothing is left to send. Running it again would make the broker hold every one twice.\n"
                 "  To send everything again anyway:  %s --skip 0\n",
                 o.file.c_str(), earlier->to.c_str(), earlier->at.c_str(), static_cast<unsigned long long>(total),
                 resume_base.c_str());
    return kCommandFound;
  }
  if (earlier) {
    std::fprintf(stderr,
                 "replay: REFUSED: an earlier replay of %s (to %s, %s) confirmed %llu of its %llu messages.\n"
                 "  Running it again would send those %llu again: the broker would hold them twice.\n"
                 "  To send only the rest:        %s --skip %llu\n"
                 "  To send everything again:     %s --skip 0\n",
                 o.file.c_str(), earlier->to.c_str(), earlier->at.c_str(),
                 static_cast<unsigned long long>(earlier->confirmed), static_cast<unsigned long long>(total),
                 static_cast<unsigned long long>(earlier->confirmed), resume_base.c_str(),
                 static_cast<unsigned long long>(earlier->confirmed), resume_base.c_str());
    return kCommandFound;
  }
  std::printf("replay: %s: %llu message%s (%s bytes) salvaged from store %s after seq %llu%s\n", o.file.c_str(),
              static_cast<unsigned long long>(total), total == 1 ? "" : "s", std::to_string(header->bytes).c_str(),
              header->store_id.c_str(), static_cast<unsigned long long>(header->fork_seq),
              skip != 0 ? ("; skipping the first " + std::to_string(skip)).c_str() : "");
  if (skip == total) {
    std::printf("replay: nothing to send\n");
    return kCommandOk;
  }

  // 3. Connect, then send in file order.
  client::ConnectOptions copts;
  copts.login = o.user;
  copts.passcode = o.password;
  copts.timeout = std::chrono::milliseconds(o.timeout_ms);
  auto c = client::FailoverClient::connect(*uri, copts, [](const client::FailoverEvent& e) {
    std::fprintf(stderr, "replay: %s\n", client::describe(e).c_str());
  });
  if (!c) {
    std::fprintf(stderr, "replay: cannot connect to %s: %s. Nothing was sent.\n", o.to.c_str(), c.error().message.c_str());
    return kCommandFound;
  }

  std::uint64_t sent = 0;
  std::optional<Error> failure;
  auto last_report = Clock::now();
  client::SendOptions send;
  send.persistent = false;  // the frame's own persistent:true header says it
  send.receipt = false;     // pipelined; still tracked and re-sent after a failover
  auto confirmed = [&] { return sent - c->unconfirmed_sends(); };
  auto progress = [&] {
    std::printf("replay: sent %llu of %llu, confirmed %llu\n", static_cast<unsigned long long>(sent),
                static_cast<unsigned long long>(total - skip), static_cast<unsigned long long>(confirmed()));
    std::fflush(stdout);
    write_progress(o.file, skip + confirmed(), total, o.to);
    last_report = Clock::now();
  };
  auto r = read_salvage_file(o.file, [&](const SalvagedSend& m) {
    if (m.index < skip) return true;
    send.headers.clear();
    for (const stomp::Header& h : m.headers) send.headers.emplace_back(std::string(h.name), std::string(h.value));
    if (auto s = c->send(m.destination, m.body, send); !s) {
      failure = s.error();
      return false;
    }
    ++sent;
    if (sent % 1000 == 0 || Clock::now() - last_report > std::chrono::seconds(2)) progress();
    return true;
  });
  if (!r && !failure) failure = r.error();  // the file changed since it was checked
  // 4. DISCONNECT's receipt confirms every SEND before it.
  if (!failure) {
    if (auto d = c->disconnect(); !d) failure = d.error();
  }
  const std::uint64_t done = confirmed();
  write_progress(o.file, skip + done, total, o.to);
  std::printf("replay: sent %llu, confirmed %llu (of %llu in the file%s)\n", static_cast<unsigned long long>(sent),
              static_cast<unsigned long long>(done), static_cast<unsigned long long>(total),
              skip != 0 ? (", the first " + std::to_string(skip) + " skipped").c_str() : "");
  if (!failure && done == total - skip) {
    std::printf("replay: every message was confirmed by %s\n", c->broker().c_str());
    return kCommandOk;
  }
  std::fprintf(stderr,
               "replay: INCOMPLETE: %s\n"
               "  The first %llu messages of the file are confirmed. To send the rest:\n"
               "    %s --skip %llu\n"
               "  The next message may have reached the broker although its receipt did not come back:\n"
               "  resuming sends it again (at-least-once; consumers can de-duplicate on %s).\n",
               failure ? failure->message.c_str() : "not every message was confirmed",
               static_cast<unsigned long long>(skip + done), resume_base.c_str(),
               static_cast<unsigned long long>(skip + done), std::string(kSalvagedFromHeader).c_str());
  return kCommandFound;
}

}  // namespace twinmq::app
