#include "pinetboot/core/time.hpp"

#include <chrono>
#include <type_traits>

#include <gtest/gtest.h>

#include "pinetboot/tftp/session.hpp"

namespace pinetboot {
namespace {

// One type of time across the modules: what one engine reports another can be fed.
static_assert(std::is_same_v<core::time_point, std::chrono::steady_clock::time_point>);
static_assert(std::is_same_v<core::duration, std::chrono::steady_clock::duration>);
static_assert(std::is_same_v<tftp::time_point, core::time_point>);
static_assert(std::is_same_v<tftp::duration, core::duration>);

TEST(CoreTime, DifferenceOfTimePointsIsDuration) {
  core::time_point t0{};
  core::time_point t1 = t0 + std::chrono::milliseconds{5};
  core::duration d = t1 - t0;
  EXPECT_EQ(d, std::chrono::milliseconds{5});
  EXPECT_LE(t0, core::steady_clock::now());
}

}  // namespace
}  // namespace pinetboot
