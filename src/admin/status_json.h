// admin/status_json.h — GET /status: the status model as JSON (nlohmann-json), and
// the small bodies of /readyz and /livez. Field names are part of the admin API
// (README "Admin endpoint, metrics and health checks"): add, never rename.
#pragma once

#include <string>

#include "admin/status_model.h"

namespace twinmq::admin {

std::string status_json(const BrokerStatus& s);

// {"ready":true|false,"role":"...","broker":"...","reason":"..."}: what /readyz says.
std::string readiness_json(const BrokerStatus& s);

}  // namespace twinmq::admin
