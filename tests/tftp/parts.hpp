// Shared by the unit tests of the sender's parts (include/pinetboot/tftp/detail/).
#pragma once

#include <chrono>

#include "pinetboot/tftp/detail/rto.hpp"

namespace pinetboot::tftp::test {

/// A start time far from the clock's epoch (time_point{} means "never" in places).
inline time_point t0() { return time_point{} + std::chrono::hours{1}; }

/// An estimator (RTO floor 5 ms, max 1 s) after one sample `rtt`: SRTT, lowest and latest RTT
/// are all `rtt`.
inline detail::rto_estimator one_sample(duration rtt) {
  using namespace std::chrono_literals;
  detail::rto_estimator r{1s, 5ms, 1s};
  r.sample(rtt);
  return r;
}

}  // namespace pinetboot::tftp::test
