/// @file
/// @brief The one notion of time shared by every module: a point on the steady clock and a
/// span between two.
///
/// Engines (tftp sessions, the DHCP client model, the board records) never read a clock: they
/// are handed a `core::time_point` with every call. Adapters and programs read
/// `core::steady_clock::now()` and pass it on, so one type flows from the socket loop through
/// every engine.
#pragma once

#include <chrono>

namespace pinetboot::core {

/// The clock adapters read (monotonic: never jumps with the wall clock). Not named "clock":
/// ::clock() exists.
using steady_clock = std::chrono::steady_clock;
/// An instant, as every engine takes it (`now`) and reports it (deadlines).
using time_point = steady_clock::time_point;
/// The difference of two time_points (RTTs, timeouts, elapsed times).
using duration = steady_clock::duration;

}  // namespace pinetboot::core
