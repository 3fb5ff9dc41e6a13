// Counting global operator new/delete for "no allocation on this path" tests.
// Include from exactly ONE translation unit of a *_alloc_test.cpp binary (each such file is
// built as its own executable, see tests/CMakeLists.txt).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdlib>
#include <new>

namespace pinetboot::test {
inline std::atomic<std::size_t> g_allocations{0};

/// Counts allocations made while alive.
class allocation_scope {
 public:
  allocation_scope() noexcept : start_{g_allocations.load()} {}
  [[nodiscard]] std::size_t count() const noexcept { return g_allocations.load() - start_; }

 private:
  std::size_t start_;
};
}  // namespace pinetboot::test

void* operator new(std::size_t n) {
  pinetboot::test::g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc{};
}
void* operator new[](std::size_t n) { return ::operator new(n); }
// The nothrow forms too: otherwise their memory would come from the default allocator and be
// freed by the replaced delete below (ASan reports the mismatch).
void* operator new(std::size_t n, std::nothrow_t const&) noexcept {
  pinetboot::test::g_allocations.fetch_add(1, std::memory_order_relaxed);
  return std::malloc(n == 0 ? 1 : n);
}
void* operator new[](std::size_t n, std::nothrow_t const& t) noexcept { return ::operator new(n, t); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
