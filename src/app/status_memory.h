// app/status_memory.h — the memory and store part of `twinmq status`: what the broker
// holds against memoryUsage and storeUsage, and per destination against its
// memoryLimit (README "Memory, store limits and producer flow control").
#pragma once

#include <string>

#include "broker/broker.h"

namespace twinmq::app {

// Lines ending in '\n':
//   memory: 12.0 MiB used of 1024.0 MiB (1%) (memoryUsage); 2 producer connection(s) waiting for room
//   store: 3.5 MiB live of 102400.0 MiB (0%) (storeUsage)
//   destination /queue/orders: memory 10.0 MiB of 10.0 MiB (100%), 9000 waiting, 100 in flight
std::string format_memory_status(const broker::Broker& broker, bool persistent);

}  // namespace twinmq::app
