// admin_cli/report.h — what twinmq-admin prints, from the endpoint's JSON: the status
// table, ActiveMQ's dstat columns, a browse listing, and the verdicts of `check`
// (monitoring-plug-in exit codes). Pure functions of the JSON (and the HTTP status), so
// each is unit-tested without a broker (test/unit/admin_cli/report_test.cc).
#pragma once

#include <nlohmann/json.hpp>

#include <string>

#include "admin_cli/cli_args.h"

namespace twinmq::admin_cli {

struct Verdict {
  Exit exit = Exit::ok;
  std::string line;  // "OK: ...", "WARNING: ...", "CRITICAL: ..."
};

// GET /livez answered `status`.
Verdict check_live(long status);
// GET /readyz answered `status` with `body` ({"ready", "role", "reason"}).
Verdict check_ready(long status, const nlohmann::json& body);
// From GET /status: would the standby lose anything if the master died now?
//   ok        in sync (on either broker of the pair)
//   warning   a peer is attached but still catching up (initial copy or lag)
//   critical  no peer attached (slave down, master gone, or no replication at all)
Verdict check_in_sync(const nlohmann::json& status);
// Whether /status says the pair is in sync (await-sync's condition).
bool in_sync(const nlohmann::json& status);

std::string status_table(const nlohmann::json& status);
std::string dstat_table(const nlohmann::json& status);
std::string browse_listing(const nlohmann::json& answer);

}  // namespace twinmq::admin_cli
