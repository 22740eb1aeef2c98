// admin/status_text.h — the text `twinmq status` prints: "key: value" lines whose
// keys are stable (scripts and tests grep "role: ", "in sync: ", "lag: ",
// "client connectors: "). Rendered from the one status model (admin/status_model.h).
#pragma once

#include <string>

#include "admin/status_model.h"

namespace twinmq::admin {

std::string status_text(const BrokerStatus& s);

}  // namespace twinmq::admin
