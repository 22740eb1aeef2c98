// tools/bench/runner.h — runs one bench scenario: lays the connections out over
// worker threads, drives the phases from the control thread, and turns the
// workers' records into a RunResult.
//
// Threads: producers and consumers get separate workers when --threads >= 2 (the
// default when both exist), so sending and receiving each have a core's worth of
// loop; the control thread only sleeps in its own loop between phase changes.
//
// Phases (the control thread's state machine; every change goes through enter()):
//
//   awaiting_ready ──► running ──► awaiting_deliveries ──► finishing ──► done
//        │  (idle mode)                                       ▲
//        └──► holding ────────────────────────────────────────┘
//
//  - awaiting_ready: every consumer subscribed (with receipt) and every producer
//    connected, so the first message has somewhere to go.
//  - running: producers send; they end with a receipted DISCONNECT.
//  - awaiting_deliveries: the total sent is known, so is what a complete run
//    delivers; done when consumers reach it, or when deliveries stop for
//    --drain-timeout (the difference is reported lost).
//  - holding (idle mode): the connections are up; until --hold or a signal.
//  - finishing: consumers acknowledge and DISCONNECT, workers stop.
// One periodic check (100 ms) watches progress: no send and no delivery for
// --drain-timeout ends the run with an error instead of hanging.
#pragma once

#include "tools/bench/options.h"
#include "tools/bench/report.h"

namespace twinmq::bench {

// Runs the scenario and returns its result; prints only the idle-mode
// "connected=N" line (the caller prints the scenario and summary lines).
RunResult run_scenario(const BenchOptions& options);

}  // namespace twinmq::bench
