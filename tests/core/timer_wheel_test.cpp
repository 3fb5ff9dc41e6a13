#include "pinetboot/core/timer_wheel.hpp"

#include <chrono>
#include <cstddef>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <vector>

#include <gtest/gtest.h>

namespace pinetboot::core {
namespace {

using namespace std::chrono_literals;

struct item : timer_wheel::hook {
  int id = 0;
  int fired = 0;
};

// A point well after the clock's epoch, as steady_clock readings are.
time_point const t0 = time_point{} + 1000h;

std::vector<int> expire_ids(timer_wheel& w, time_point now) {
  std::vector<int> ids;
  w.expire(now, [&](timer_wheel::hook& h) {
    auto& it = static_cast<item&>(h);
    ++it.fired;
    ids.push_back(it.id);
  });
  return ids;
}

TEST(TimerWheel, FiresAtTheExactDeadlineNotRoundedToTheTick) {
  timer_wheel w{1ms, 64};
  item a;
  a.id = 1;
  w.schedule(a, t0 + 2500us);
  EXPECT_EQ(w.next_expiry(), t0 + 2500us);
  EXPECT_TRUE(expire_ids(w, t0 + 2499us).empty());
  EXPECT_TRUE(a.scheduled());
  EXPECT_EQ(expire_ids(w, t0 + 2500us), std::vector<int>{1});
  EXPECT_FALSE(a.scheduled());
  EXPECT_TRUE(w.empty());
  EXPECT_EQ(w.next_expiry(), std::nullopt);
}

TEST(TimerWheel, MovingADeadlineLaterKeepsOneEntry) {
  timer_wheel w{1ms, 64};
  item a;
  a.id = 1;
  for (int i = 0; i < 1000; ++i) w.schedule(a, t0 + std::chrono::milliseconds{5 + i});
  EXPECT_EQ(w.size(), 1u);
  EXPECT_EQ(w.next_expiry(), t0 + 1004ms);
  EXPECT_TRUE(expire_ids(w, t0 + 1003ms).empty());
  EXPECT_EQ(expire_ids(w, t0 + 2s), std::vector<int>{1});
  EXPECT_EQ(a.fired, 1);
}

TEST(TimerWheel, CancelledEntryNeverFires) {
  timer_wheel w{1ms, 64};
  item a, b;
  a.id = 1;
  b.id = 2;
  w.schedule(a, t0 + 1ms);
  w.schedule(b, t0 + 1ms);
  w.cancel(a);
  w.cancel(a);  // twice is harmless
  EXPECT_EQ(expire_ids(w, t0 + 10ms), std::vector<int>{2});
  EXPECT_EQ(a.fired, 0);
}

TEST(TimerWheel, DeadlinesBeyondOneTurnWaitTheirTurn) {
  timer_wheel w{1ms, 64};  // one turn = 64 ms
  item near, far;
  near.id = 1;
  far.id = 2;
  w.schedule(far, t0 + 64ms + 3ms);  // same slot as near, next turn
  w.schedule(near, t0 + 3ms);
  EXPECT_EQ(w.next_expiry(), t0 + 3ms);
  EXPECT_EQ(expire_ids(w, t0 + 3ms), std::vector<int>{1});
  EXPECT_EQ(w.next_expiry(), t0 + 67ms);
  EXPECT_TRUE(expire_ids(w, t0 + 66ms).empty());
  EXPECT_EQ(expire_ids(w, t0 + 67ms), std::vector<int>{2});
}

TEST(TimerWheel, OnlyLaterTurnsLeftStillGivesTheEarliest) {
  timer_wheel w{1ms, 64};
  item a, b, c;
  w.schedule(a, t0);
  (void)expire_ids(w, t0);
  w.schedule(b, t0 + 10s);
  w.schedule(c, t0 + 5s);
  EXPECT_EQ(w.next_expiry(), t0 + 5s);
  w.clear();
}

TEST(TimerWheel, ALateExpireFiresEverythingDueOnce) {
  timer_wheel w{1ms, 64};
  std::vector<item> items(200);
  for (std::size_t i = 0; i < items.size(); ++i) {
    items[i].id = static_cast<int>(i);
    w.schedule(items[i], t0 + std::chrono::milliseconds{i});
  }
  auto ids = expire_ids(w, t0 + 150ms);  // more than two turns late
  EXPECT_EQ(ids.size(), 151u);
  EXPECT_EQ(std::set<int>(ids.begin(), ids.end()).size(), 151u);
  EXPECT_EQ(w.size(), 49u);
  EXPECT_EQ(w.next_expiry(), t0 + 151ms);
  w.clear();
}

TEST(TimerWheel, PastDeadlineFiresAtTheNextExpire) {
  timer_wheel w{1ms, 64};
  item a, b;
  a.id = 1;
  b.id = 2;
  w.schedule(a, t0 + 10ms);
  (void)expire_ids(w, t0 + 5ms);
  w.schedule(b, t0 + 1ms);  // already past
  EXPECT_EQ(w.next_expiry(), t0 + 1ms);
  EXPECT_EQ(expire_ids(w, t0 + 5ms), std::vector<int>{2});
  w.clear();
}

TEST(TimerWheel, CallbackMayRescheduleItselfAndCancelOthers) {
  timer_wheel w{1ms, 64};
  item a, b;
  a.id = 1;
  b.id = 2;
  w.schedule(a, t0 + 1ms);
  w.schedule(b, t0 + 1ms);
  std::size_t n = w.expire(t0 + 1ms, [&](timer_wheel::hook& h) {
    auto& it = static_cast<item&>(h);
    ++it.fired;
    if (it.id == 1) {
      w.cancel(b);              // b was due too: it must not fire now
      w.schedule(a, t0 + 1ms);  // again due, but not in this call: no endless loop
    } else {
      w.cancel(a);
    }
  });
  EXPECT_EQ(n, 1u);
  EXPECT_EQ(a.fired + b.fired, 1);
  EXPECT_EQ(w.size(), a.fired == 1 ? 1u : 0u);
  w.clear();
}

// The wheel against a plain ordered map: random schedules, moves, cancels and expires at
// random times, with deadlines from microseconds to several turns away.
TEST(TimerWheel, AgreesWithAnOrderedMapModel) {
  std::mt19937 rng{12345};
  timer_wheel w{1ms, 256};
  std::vector<item> items(300);
  for (std::size_t i = 0; i < items.size(); ++i) items[i].id = static_cast<int>(i);
  std::map<int, time_point> model;
  time_point now = t0;
  std::uniform_int_distribution<int> pick(0, static_cast<int>(items.size()) - 1);
  std::uniform_int_distribution<int> action(0, 9);
  std::uniform_int_distribution<long> delay_us(-2000, 1'500'000);
  std::uniform_int_distribution<long> advance_us(0, 40'000);
  for (int step = 0; step < 20000; ++step) {
    int a = action(rng);
    if (a < 6) {
      int id = pick(rng);
      auto at = now + std::chrono::microseconds{delay_us(rng)};
      w.schedule(items[static_cast<std::size_t>(id)], at);
      model[id] = at;
    } else if (a < 7) {
      int id = pick(rng);
      w.cancel(items[static_cast<std::size_t>(id)]);
      model.erase(id);
    } else {
      now += std::chrono::microseconds{advance_us(rng)};
      std::set<int> due;
      for (auto const& [id, at] : model)
        if (at <= now) due.insert(id);
      auto fired = expire_ids(w, now);
      ASSERT_EQ(std::set<int>(fired.begin(), fired.end()), due) << "step " << step;
      ASSERT_EQ(fired.size(), due.size());
      for (int id : due) model.erase(id);
    }
    ASSERT_EQ(w.size(), model.size());
    std::optional<time_point> want;
    for (auto const& [id, at] : model)
      if (!want || at < *want) want = at;
    ASSERT_EQ(w.next_expiry(), want) << "step " << step;
  }
  w.clear();
}

}  // namespace
}  // namespace pinetboot::core
