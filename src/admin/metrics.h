// admin/metrics.h — GET /metrics: the status model in Prometheus's text exposition
// format (version 0.0.4), names after Prometheus's conventions: a `twinmq_` prefix,
// base units in the name (`_seconds`, `_bytes`), counters end in `_total`.
//
// Counters are totals since this process's broker state began (the journal's replay
// or a slave's copy counts too), so they never go down while the process runs and a
// closing connection takes nothing with it; Prometheus's rate() handles the reset a
// restart makes. The list, with types, is in README "Admin endpoint, metrics and
// health checks".
#pragma once

#include <string>

#include "admin/status_model.h"

namespace twinmq::admin {

inline constexpr const char* kMetricsContentType = "text/plain; version=0.0.4; charset=utf-8";

std::string metrics_text(const BrokerStatus& s);

}  // namespace twinmq::admin
