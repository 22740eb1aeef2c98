// admin/status_page.h — GET /: one static HTML page, embedded in the binary (no build
// step, no framework, nothing loaded from elsewhere). Its script fetches /status every
// two seconds and redraws the role banner, the peer line and the destination table,
// so the page itself never needs broker state.
#pragma once

#include <string_view>

namespace twinmq::admin {

std::string_view status_page_html();

}  // namespace twinmq::admin
