// admin/status_page.cc — the status page (admin/status_page.h). Element ids (role,
// peer, destinations, updated) are what the headless-browser test reads.
#include "admin/status_page.h"

namespace twinmq::admin {

namespace {

constexpr std::string_view kPage = R"html(<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>twinmq</title>
<style>
  body { font: 15px/1.4 system-ui, sans-serif; margin: 0; color: #1d2330; background: #f6f7f9; }
  header { padding: 18px 24px; color: #fff; background: #6b7280; }
  header.master, header.promoted, header.single { background: #15803d; }
  header.slave { background: #1d4ed8; }
  header.down { background: #b91c1c; }
  #role { font-size: 26px; font-weight: 700; letter-spacing: .02em; }
  #broker { opacity: .85; }
  main { padding: 16px 24px; }
  #peer { font-size: 17px; margin: 0 0 6px; }
  #peer.bad { color: #b91c1c; font-weight: 600; }
  .facts { color: #4b5563; margin: 0 0 16px; }
  table { border-collapse: collapse; background: #fff; min-width: 60%; }
  th, td { padding: 6px 12px; border-bottom: 1px solid #e5e7eb; text-align: right; }
  th:first-child, td:first-child { text-align: left; }
  th { background: #eef0f3; font-weight: 600; }
  #updated { color: #6b7280; font-size: 13px; margin-top: 12px; }
</style>
</head>
<body>
<header id="banner"><div id="role">loading…</div><div id="broker"></div></header>
<main>
  <p id="peer"></p>
  <p class="facts" id="facts"></p>
  <table>
    <thead><tr><th>destination</th><th>kind</th><th>depth</th><th>in flight</th><th>enqueued</th>
      <th>dequeued</th><th>consumers</th><th>producers</th></tr></thead>
    <tbody id="destinations"></tbody>
  </table>
  <div id="updated"></div>
</main>
<script>
"use strict";
const $ = (id) => document.getElementById(id);
const ago = (ms) => ms === null || ms === undefined ? "never" :
  ms < 10000 ? ms + " ms ago" : (ms / 1000).toFixed(1) + " s ago";

function peerLine(s) {
  const p = s.peer;
  if (!p) return { text: "single broker: no replication configured", bad: false };
  const parts = [p.in_sync ? "in sync" : "NOT in sync (" + p.link_state + ")"];
  if (p.description) parts[0] += " with " + p.description;
  if (s.role === "slave") parts.push("last heard " + ago(p.last_heard_ms_ago));
  else parts.push("last ack " + ago(p.last_ack_ms_ago));
  parts.push("lag " + p.lag_events);
  let text = parts.join(", ");
  if (p.note) text += " — " + p.note;
  return { text, bad: !p.in_sync };
}

function cell(row, value) {
  const td = document.createElement("td");
  td.textContent = String(value);
  row.appendChild(td);
}

function draw(s) {
  $("banner").className = s.role;
  $("role").textContent = s.role.toUpperCase() + (s.serving ? " — serving clients" : " — not serving clients");
  $("broker").textContent = "broker " + s.broker + " · twinmq " + s.version + " · " + s.role_reason;
  const peer = peerLine(s);
  $("peer").textContent = peer.text;
  $("peer").className = peer.bad ? "bad" : "";
  const facts = ["up " + (s.uptime_ms / 1000).toFixed(0) + " s", "last seq " + s.last_seq,
                 s.connections + " connection(s)"];
  if (s.epoch !== null) facts.push("epoch " + s.epoch);
  if (s.witness) facts.push("witness " + s.witness.state + (s.witness.etcd_reachable ? "" : " (etcd unreachable)"));
  if (!s.serving && s.connectors_closed_reason) facts.push("connectors closed: " + s.connectors_closed_reason);
  $("facts").textContent = facts.join(" · ");
  const body = $("destinations");
  body.replaceChildren();
  for (const d of s.destinations) {
    const row = document.createElement("tr");
    for (const v of [d.name, d.kind, d.depth, d.inflight, d.enqueued, d.dequeued, d.consumers, d.producers])
      cell(row, v);
    body.appendChild(row);
  }
  $("updated").textContent = "updated " + new Date().toLocaleTimeString();
}

async function refresh() {
  try {
    // Same origin: a browser that signed in for this page (an endpoint beyond loopback
    // asks for an admin user) sends the same credentials with this request. From the
    // origin, not the page's URL: one with user:password@ in it would make fetch() refuse.
    const r = await fetch(location.origin + "/status", { cache: "no-store", credentials: "same-origin" });
    if (!r.ok) throw new Error("/status answered " + r.status + (r.status === 401 ? " (sign in again: reload the page)" : ""));
    draw(await r.json());
  } catch (e) {
    $("banner").className = "down";
    $("role").textContent = "UNREACHABLE";
    $("peer").textContent = "the broker did not answer: " + e;
  }
  setTimeout(refresh, 2000);
}
refresh();
</script>
</body>
</html>
)html";

}  // namespace

std::string_view status_page_html() { return kPage; }

}  // namespace twinmq::admin
