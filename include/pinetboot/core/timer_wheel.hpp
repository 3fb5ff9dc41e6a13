/// @file
/// @brief timer_wheel: many deadlines behind one timer. A hashed timing wheel (Varghese and
/// Lauck, "Hashed and hierarchical timing wheels", 1987) of intrusive entries: scheduling,
/// moving and cancelling a deadline cost a few pointer writes, nothing is allocated after
/// construction, and the adapter keeps one OS timer set to next_expiry().
///
/// Sans-I/O like the engines: time is an argument. The owner of a deadline embeds a
/// timer_wheel::hook (as a base class, like Boost.Intrusive's base hooks) and gets it back in
/// expire()'s callback. Entries fire at their exact time, not rounded to the tick: the tick
/// only decides which slot an entry waits in.
#pragma once

#include <algorithm>
#include <bit>
#include <cassert>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "pinetboot/core/time.hpp"

namespace pinetboot::core {

class timer_wheel {
 public:
  /// One deadline (a base of its owner). Neither copied nor moved: the wheel points at it. Its
  /// owner cancels it before it dies (or the wheel goes first).
  class hook {
   public:
    hook() noexcept = default;
    hook(hook const&) = delete;
    hook& operator=(hook const&) = delete;
    ~hook() { assert(!scheduled() && "cancel a timer_wheel::hook before destroying it"); }

    [[nodiscard]] bool scheduled() const noexcept { return next_ != nullptr; }
    /// The time it was last scheduled for.
    [[nodiscard]] time_point deadline() const noexcept { return at_; }

   private:
    friend class timer_wheel;
    hook* prev_ = nullptr;
    hook* next_ = nullptr;
    time_point at_{};
    std::int64_t tick_ = 0;   ///< the tick it waits for (>= the wheel's cursor)
    std::uint32_t slot_ = 0;  ///< its slot, or kPending while expire() holds it
  };

  /// A wheel of `slots` slots (a power of two, at least 64) of `tick` each: deadlines within
  /// tick * slots of the last expire() are found in one pass; later ones wait in their slot
  /// for as many turns as needed.
  timer_wheel(duration tick, std::size_t slots)
      : tick_{std::max(tick, duration{1})},
        mask_{std::bit_ceil(std::max<std::size_t>(slots, 64)) - 1},
        slots_(mask_ + 1),
        occupied_((mask_ + 1) / 64) {
    for (auto& s : slots_) s.prev_ = s.next_ = &s;
    pending_.prev_ = pending_.next_ = &pending_;
  }
  timer_wheel(timer_wheel const&) = delete;
  timer_wheel& operator=(timer_wheel const&) = delete;
  ~timer_wheel() {
    clear();
    for (auto& s : slots_) s.prev_ = s.next_ = nullptr;  // the heads are hooks too
    pending_.prev_ = pending_.next_ = nullptr;
  }

  /// Sets `h` to fire at `at` (moving it if it was scheduled). A time already past fires at
  /// the next expire().
  void schedule(hook& h, time_point at) noexcept {
    if (h.scheduled()) unlink(h);
    if (size_ == 0) cursor_ = tick_of(at);
    h.at_ = at;
    h.tick_ = std::max(tick_of(at), cursor_);
    h.slot_ = static_cast<std::uint32_t>(static_cast<std::uint64_t>(h.tick_) & mask_);
    link(h, slots_[h.slot_]);
    occupied_[h.slot_ / 64] |= std::uint64_t{1} << (h.slot_ % 64);
  }

  /// `h` will not fire (no effect if it is not scheduled).
  void cancel(hook& h) noexcept {
    if (h.scheduled()) unlink(h);
  }

  /// Calls `fired(hook&)` for every entry due at `now` (deadline <= now), each once, after
  /// taking it off the wheel: the callback may schedule it again (a time not after `now` then
  /// waits for the next call), schedule or cancel others. Returns how many fired.
  template <class Fired>
  std::size_t expire(time_point now, Fired&& fired) {
    auto const now_tick = tick_of(now);
    if (size_ != 0) {
      std::int64_t steps =
          now_tick >= cursor_ ? std::min<std::int64_t>(now_tick - cursor_ + 1, slot_count()) : 1;
      for (std::int64_t i = 0; i < steps; ++i) {
        auto idx = static_cast<std::uint32_t>(static_cast<std::uint64_t>(cursor_ + i) & mask_);
        if ((occupied_[idx / 64] & (std::uint64_t{1} << (idx % 64))) == 0) continue;
        hook& head = slots_[idx];
        for (hook* h = head.next_; h != &head;) {
          hook* next = h->next_;
          if (h->at_ <= now) {
            unlink(*h);
            h->slot_ = kPending;
            link(*h, pending_);
          }
          h = next;
        }
      }
    }
    cursor_ = std::max(cursor_, now_tick);
    std::size_t n = 0;
    while (pending_.next_ != &pending_) {
      hook& h = *pending_.next_;
      unlink(h);
      ++n;
      fired(h);
    }
    return n;
  }

  /// The earliest deadline on the wheel (exact), or none when it is empty.
  [[nodiscard]] std::optional<time_point> next_expiry() const noexcept {
    if (size_ == 0) return std::nullopt;
    std::optional<time_point> best;
    auto consider = [&best](hook const& head, auto&& keep) {
      for (hook const* h = head.next_; h != &head; h = h->next_)
        if (keep(*h) && (!best || h->at_ < *best)) best = h->at_;
    };
    consider(pending_, [](hook const&) { return true; });
    if (best) return best;
    // Walk the occupied slots from the cursor: the first whose entries include one of this
    // turn holds the earliest deadline (every other entry waits for a later tick).
    auto const start = static_cast<std::size_t>(static_cast<std::uint64_t>(cursor_) & mask_);
    for (std::size_t d = 0; d <= mask_;) {
      std::size_t idx = (start + d) & mask_;
      std::uint64_t word = occupied_[idx / 64] >> (idx % 64);
      if (word == 0) {
        d += 64 - idx % 64;  // the rest of this word is empty
        continue;
      }
      auto skip = static_cast<std::size_t>(std::countr_zero(word));
      d += skip;
      if (d > mask_) break;
      idx = (start + d) & mask_;
      auto const turn_tick = cursor_ + static_cast<std::int64_t>(d);
      consider(slots_[idx], [turn_tick](hook const& h) { return h.tick_ == turn_tick; });
      if (best) return best;
      ++d;
    }
    // Only entries of later turns: the earliest of them all.
    for (auto const& s : slots_) consider(s, [](hook const&) { return true; });
    return best;
  }

  [[nodiscard]] std::size_t size() const noexcept { return size_; }
  [[nodiscard]] bool empty() const noexcept { return size_ == 0; }

  /// Takes every entry off the wheel (none fires).
  void clear() noexcept {
    for (auto& s : slots_)
      while (s.next_ != &s) unlink(*s.next_);
    while (pending_.next_ != &pending_) unlink(*pending_.next_);
  }

 private:
  static constexpr std::uint32_t kPending = UINT32_MAX;

  [[nodiscard]] std::int64_t tick_of(time_point t) const noexcept {
    return std::chrono::floor<duration>(t.time_since_epoch()).count() / tick_.count();
  }
  [[nodiscard]] std::int64_t slot_count() const noexcept { return static_cast<std::int64_t>(mask_ + 1); }

  void link(hook& h, hook& head) noexcept {
    h.prev_ = head.prev_;
    h.next_ = &head;
    head.prev_->next_ = &h;
    head.prev_ = &h;
    ++size_;
  }

  void unlink(hook& h) noexcept {
    h.prev_->next_ = h.next_;
    h.next_->prev_ = h.prev_;
    if (h.slot_ != kPending && slots_[h.slot_].next_ == &slots_[h.slot_])
      occupied_[h.slot_ / 64] &= ~(std::uint64_t{1} << (h.slot_ % 64));
    h.prev_ = h.next_ = nullptr;
    --size_;
  }

  duration tick_;
  std::size_t mask_;
  std::vector<hook> slots_;              ///< list heads (sentinels), one per slot
  std::vector<std::uint64_t> occupied_;  ///< a bit per slot with entries
  hook pending_;                         ///< entries due, while expire() calls them back
  std::int64_t cursor_ = 0;              ///< the tick of the latest expire() (or first schedule)
  std::size_t size_ = 0;
};

}  // namespace pinetboot::core
