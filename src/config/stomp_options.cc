// config/stomp_options.cc — one row per option: its name, range and where it goes.
#include "config/stomp_options.h"

#include "broker/broker.h"

#include "config/known_names.h"
#include "config/size_value.h"
#include "config/values.h"

namespace twinmq::config {
namespace {

constexpr std::uint64_t kKb = 1024, kMb = kKb << 10, kGb = kMb << 10;
constexpr std::uint64_t kMaxMs = 3'600'000;  // one hour: longer is surely a typo

template <class T, class Parsed>
void store(T& field, const Parsed& value) { field = static_cast<T>(value); }

}  // namespace

std::vector<OptionProblem> apply_stomp_options(std::span<const std::pair<std::string, std::string>> options,
                                               StompOptions& out) {
  std::vector<OptionProblem> problems;
  bool header_size_given = false;
  bool min_heart_beat_given = false;
  auto report = [&](const std::string& key, const std::string& value, const ValueProblem& p) {
    problems.push_back({value_message(key, value, p), {}});
  };
  for (const auto& [key, value] : options) {
    if (key == "wireFormat.maxFrameSize") {
      if (auto v = parse_size_in(value, 256, broker::kMaxTransactionBytes)) store(out.max_frame_size, *v);
      else report(key, value, v.error());
    } else if (key == "wireFormat.maxHeaderSize") {
      header_size_given = true;
      if (auto v = parse_size_in(value, 256, 16 * kMb)) store(out.max_header_section, *v);
      else report(key, value, v.error());
    } else if (key == "wireFormat.maxHeaders") {
      if (auto v = parse_uint(value, 1, 100'000)) store(out.max_headers, *v);
      else report(key, value, v.error());
    } else if (key == "transport.connectAttemptTimeout") {
      if (auto v = parse_uint(value, 10, kMaxMs, "milliseconds")) store(out.connect_timeout_ms, *v);
      else report(key, value, v.error());
    } else if (key == "transport.hbGracePeriodMultiplier") {
      if (auto v = parse_double(value, 1.0, 10.0)) store(out.heart_beat_grace, *v);
      else report(key, value, v.error());
    } else if (key == "transport.heartBeat") {
      if (auto v = parse_uint(value, 0, kMaxMs, "milliseconds")) store(out.server_heart_beat_ms, *v);
      else report(key, value, v.error());
    } else if (key == "transport.minHeartBeat") {
      min_heart_beat_given = true;
      if (auto v = parse_uint(value, 10, kMaxMs, "milliseconds")) store(out.min_heart_beat_ms, *v);
      else report(key, value, v.error());
    } else if (key == "transport.maxPendingOutput") {
      if (auto v = parse_size_in(value, kKb, 4 * kGb)) store(out.max_pending_output, *v);
      else report(key, value, v.error());
    } else if (key == "transport.frameTimeout") {
      if (auto v = parse_uint(value, 100, kMaxMs, "milliseconds")) store(out.frame_timeout_ms, *v);
      else report(key, value, v.error());
    } else if (key == "maximumConnections") {
      if (auto v = parse_uint(value, 1, 1'000'000)) store(out.max_connections, *v);
      else report(key, value, v.error());
    } else if (key == "maximumConsumersAllowedPerConnection") {
      if (auto v = parse_uint(value, 1, 1'000'000)) store(out.max_subscriptions, *v);
      else report(key, value, v.error());
    } else if (key == "maximumTransactionsPerConnection") {
      if (auto v = parse_uint(value, 1, 100'000)) store(out.max_transactions, *v);
      else report(key, value, v.error());
    } else if (key == "maximumUnacknowledgedPerConnection") {
      if (auto v = parse_uint(value, 1, 100'000'000)) store(out.max_unacked, *v);
      else report(key, value, v.error());
    } else {
      problems.push_back({"unknown option '" + key + "'", suggestion_suffix(key, stomp_uri_options(), "'", "'")});
    }
  }
  // A frame's header section is part of the frame, so a header limit above the frame
  // limit could never apply: follow a lowered maxFrameSize silently, but reject the
  // contradiction when both were written.
  if (out.max_header_section > out.max_frame_size && !header_size_given)
    out.max_header_section = out.max_frame_size;
  if (out.max_header_section > out.max_frame_size)
    problems.push_back({"wireFormat.maxHeaderSize (" + format_size(out.max_header_section) +
                            ") must not exceed wireFormat.maxFrameSize (" + format_size(out.max_frame_size) + ")",
                        {}});
  // The floor a fast client gets and the most the broker offers: a floor above the
  // ceiling would mean nothing (the ceiling wins), so writing both that way is a mistake.
  if (min_heart_beat_given && out.server_heart_beat_ms != 0 && out.min_heart_beat_ms > out.server_heart_beat_ms)
    problems.push_back({"transport.minHeartBeat (" + std::to_string(out.min_heart_beat_ms) +
                            " ms) must not exceed transport.heartBeat (" + std::to_string(out.server_heart_beat_ms) +
                            " ms)",
                        {}});
  return problems;
}

}  // namespace twinmq::config
