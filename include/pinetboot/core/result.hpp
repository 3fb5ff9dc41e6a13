/// @file
/// @brief `result<T>`: a value or a `std::error_code`, API-compatible with a subset of
/// `std::expected<T, std::error_code>` so that C++23 code can alias it.
#pragma once

#include <new>
#include <system_error>
#include <type_traits>
#include <utility>

#include <gsl/assert>

namespace pinetboot {

/// A value of type T, or the error that prevented computing it. Implicitly constructible from
/// T, from a `std::error_code`, and from any error-code enum (`core::errc`, `dhcp::errc`, ...).
/// Accessing `value()` of an error result, or `error()` of a value, is a programmer bug and
/// terminates (GSL `Expects`); check `has_value()` first.
template <class T>
class [[nodiscard]] result {
  static_assert(!std::is_reference_v<T>, "result<T&> is not supported");

 public:
  using value_type = T;
  using error_type = std::error_code;

  // NOLINTBEGIN(google-explicit-constructor): implicit by design, like std::expected
  constexpr result(T const& v) noexcept(std::is_nothrow_copy_constructible_v<T>) : has_{true} {
    std::construct_at(&value_, v);
  }
  constexpr result(T&& v) noexcept(std::is_nothrow_move_constructible_v<T>) : has_{true} {
    std::construct_at(&value_, std::move(v));
  }
  result(std::error_code ec) noexcept : error_{ec}, has_{false} {}
  template <class E>
    requires std::is_error_code_enum_v<E>
  result(E e) noexcept : result(std::error_code{make_error_code(e)}) {}
  // NOLINTEND(google-explicit-constructor)

  result(result const& o) noexcept(std::is_nothrow_copy_constructible_v<T>) : has_{o.has_} {
    if (has_) std::construct_at(&value_, o.value_);
    else std::construct_at(&error_, o.error_);
  }
  result(result&& o) noexcept(std::is_nothrow_move_constructible_v<T>) : has_{o.has_} {
    if (has_) std::construct_at(&value_, std::move(o.value_));
    else std::construct_at(&error_, o.error_);
  }
  result& operator=(result const& o) {
    if (this != &o) {
      destroy();
      has_ = o.has_;
      if (has_) std::construct_at(&value_, o.value_);
      else std::construct_at(&error_, o.error_);
    }
    return *this;
  }
  result& operator=(result&& o) noexcept(std::is_nothrow_move_constructible_v<T>) {
    if (this != &o) {
      destroy();
      has_ = o.has_;
      if (has_) std::construct_at(&value_, std::move(o.value_));
      else std::construct_at(&error_, o.error_);
    }
    return *this;
  }
  ~result() { destroy(); }

  [[nodiscard]] constexpr bool has_value() const noexcept { return has_; }
  constexpr explicit operator bool() const noexcept { return has_; }

  [[nodiscard]] constexpr T& value() & noexcept { Expects(has_); return value_; }
  [[nodiscard]] constexpr T const& value() const& noexcept { Expects(has_); return value_; }
  [[nodiscard]] constexpr T&& value() && noexcept { Expects(has_); return std::move(value_); }
  constexpr T& operator*() & noexcept { return value(); }
  constexpr T const& operator*() const& noexcept { return value(); }
  constexpr T&& operator*() && noexcept { return std::move(*this).value(); }
  constexpr T* operator->() noexcept { return &value(); }
  constexpr T const* operator->() const noexcept { return &value(); }

  template <class U>
  [[nodiscard]] constexpr T value_or(U&& fallback) const& {
    return has_ ? value_ : static_cast<T>(std::forward<U>(fallback));
  }

  /// The error; a value result returns a default (success) error_code here.
  [[nodiscard]] std::error_code error() const noexcept { return has_ ? std::error_code{} : error_; }

 private:
  void destroy() noexcept {
    if (has_) std::destroy_at(&value_);
  }

  union {
    T value_;
    std::error_code error_;
  };
  bool has_;
};

}  // namespace pinetboot
