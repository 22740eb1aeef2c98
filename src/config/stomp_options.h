// config/stomp_options.h — the query options of a stomp:// connector URI, mapped
// onto StompOptions (ActiveMQ's option names; see the README reference for ranges).
#pragma once

#include <span>
#include <string>
#include <utility>
#include <vector>

#include "config/config.h"

namespace twinmq::config {

struct OptionProblem {
  std::string what;  // "unknown option 'x'", "wireFormat.maxHeaders must be ..., got '0'"
  std::string hint;  // " (did you mean 'y'?)" or empty; goes after the uri in the message
};

// Applies every option it can; returns one problem per bad option, plus a problem
// when maxHeaderSize exceeds maxFrameSize.
std::vector<OptionProblem> apply_stomp_options(std::span<const std::pair<std::string, std::string>> options,
                                               StompOptions& out);

}  // namespace twinmq::config
