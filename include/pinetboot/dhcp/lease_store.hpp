/// @file
/// @brief Durable DHCP lease store: an in-memory index over an append-only journal.
///
/// Guarantee: once `commit()` has returned success, every lease `put()` before it survives a
/// `kill -9` or a power loss (the journal is written and `fdatasync`ed). The server calls
/// `commit()` once per batch of packets and only then sends the ACKs of that batch (group
/// commit), so no acknowledged lease can be lost while one fsync serves many exchanges.
///
/// Journal format (all integers big-endian), one record after another:
///   u32 magic 'PNBL' | u16 payload length | u32 CRC-32 (IEEE) of the payload | payload
///   payload: u8 kind (1 = upsert, 2 = erase) | u32 ip | i64 expires (unix seconds)
///            | u8 state | 6 bytes MAC | u8 client-key length | key bytes | u8 hostname length
///            | hostname
/// Recovery reads records until the first one that is truncated, has a bad magic, a bad CRC
/// or an invalid payload; the rest of the file (a torn tail) is cut off and counted, so the
/// server starts instead of refusing to. Compaction writes the live leases with
/// core::replace_file (a temporary file, fsync'd and renamed over the journal, then the
/// directory fsync'd); the new journal keeps the old one's mode.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <system_error>
#include <vector>

#include "pinetboot/core/address.hpp"
#include "pinetboot/core/result.hpp"

namespace pinetboot::dhcp {

/// What identifies a client: option 61 when present, else htype + chaddr (RFC 2131 4.2).
/// At most 255 bytes.
using client_key = std::string;

/// Builds the client key for a hardware address (type byte 1 followed by the 6 MAC bytes),
/// the same form as an option 61 that carries a MAC.
[[nodiscard]] client_key key_for_mac(core::mac_address const& mac);

enum class lease_state : std::uint8_t {
  offered = 1,   ///< held for a client between OFFER and REQUEST (also binds Pi 3 ROMs, §3.1)
  bound = 2,     ///< ACKed
  released = 3,  ///< the client sent RELEASE; kept so the same client gets it back
  declined = 4,  ///< the client sent DECLINE: address in use by someone else until `expires`
};

struct lease {
  core::ipv4_address ip;
  client_key client;       ///< empty for declined addresses
  std::int64_t expires{};  ///< unix seconds
  lease_state state{lease_state::bound};
  core::mac_address mac;   ///< chaddr of the client (for per-MAC TFTP roots)
  std::string hostname;    ///< at most 255 bytes

  friend bool operator==(lease const&, lease const&) = default;
};

struct lease_store_options {
  /// Journal path; empty = memory only (proxy mode, tests).
  std::filesystem::path path;
  /// Compact automatically after `commit()` once the journal's superseded records outnumber
  /// both this and the live leases (0 = never automatically). The second bound keeps the
  /// cost amortised: each compaction rewrites the live leases only after at least as many
  /// records were appended, so a large table is not rewritten every few thousand exchanges.
  std::size_t compact_after = 4096;
  /// fdatasync on commit (turning this off loses the durability guarantee; for benchmarks).
  bool sync = true;
};

/// What recovery found when the store was opened.
struct recovery_info {
  std::size_t records = 0;          ///< valid records replayed
  std::uint64_t discarded_bytes = 0;  ///< torn or corrupt tail cut off
  std::size_t stale_temporaries = 0;  ///< files of a compaction killed before its rename, removed
};

class lease_store {
 public:
  /// Opens (creating if needed) and recovers the journal. Errors: the std::errc of the
  /// failing system call (permission denied, not a directory, ...).
  [[nodiscard]] static result<lease_store> open(lease_store_options opts);

  lease_store(lease_store&&) noexcept;
  lease_store& operator=(lease_store&&) noexcept;
  lease_store(lease_store const&) = delete;
  lease_store& operator=(lease_store const&) = delete;
  ~lease_store();

  [[nodiscard]] lease const* find_by_ip(core::ipv4_address ip) const noexcept;
  /// The lease of this client (any state but declined).
  [[nodiscard]] lease const* find_by_client(std::string_view key) const noexcept;
  /// The MAC of the client holding `ip` (bound, offered or released), if any.
  [[nodiscard]] std::optional<core::mac_address> mac_for(core::ipv4_address ip) const noexcept;

  /// Inserts or replaces the lease for `l.ip` (and drops any other lease held by the same
  /// client). Applied in memory at once; durable after the next successful commit().
  void put(lease l);
  /// Forgets the lease on `ip` (no-op if none).
  void erase(core::ipv4_address ip);

  /// Writes and syncs everything put/erased since the last commit. On failure the pending
  /// records stay pending (a later commit retries) and the caller must not send the ACKs.
  [[nodiscard]] std::error_code commit();
  /// Rewrites the journal to hold only the live leases (atomic: core::replace_file).
  [[nodiscard]] std::error_code compact();

  /// Number of records waiting for commit().
  [[nodiscard]] std::size_t pending() const noexcept { return pending_records_; }
  [[nodiscard]] std::size_t size() const noexcept { return by_ip_.size(); }
  [[nodiscard]] recovery_info const& recovery() const noexcept { return recovery_; }
  [[nodiscard]] std::uint64_t commits() const noexcept { return commits_; }
  /// The error of the last automatic compaction (commit() succeeds regardless); cleared by
  /// the next one that succeeds.
  [[nodiscard]] std::error_code compaction_error() const noexcept { return compaction_error_; }
  /// How many automatic compactions have failed since open (the journal keeps growing until
  /// one succeeds: a server counts and logs these).
  [[nodiscard]] std::uint64_t compaction_failures() const noexcept { return compaction_failures_; }

  /// The lowest address in [first, last] that has no lease record at all (never leased, or
  /// erased). Scans an occupancy bitmap 64 addresses a step, so a nearly full pool costs
  /// about count/64 word tests rather than one search per address.
  [[nodiscard]] std::optional<core::ipv4_address> first_unleased(std::uint32_t first, std::uint32_t last) const noexcept;
  /// The lease with the lowest address in [first, last] for which pred(lease const&) holds.
  template <class Pred>
  [[nodiscard]] lease const* find_in(std::uint32_t first, std::uint32_t last, Pred&& pred) const {
    for (auto it = by_ip_.lower_bound(first); it != by_ip_.end() && it->first <= last; ++it)
      if (pred(it->second)) return &it->second;
    return nullptr;
  }

  /// Calls f(lease const&) for every lease, in address order.
  template <class F>
  void for_each(F&& f) const {
    for (auto const& [ip, l] : by_ip_) f(l);
  }

  /// Serialises one record (exposed for tests and the journal fuzzer).
  static void encode_record(std::string& out, lease const& l, bool erase);
  /// Replays a journal image; returns the number of valid bytes (the rest is a torn tail).
  /// Never reads out of bounds, whatever the input.
  static std::size_t replay(std::span<const std::byte> journal, std::map<std::uint32_t, lease>& into,
                            std::size_t& records);

 private:
  explicit lease_store(lease_store_options opts) : opts_{std::move(opts)} {}
  void index_put(lease l);
  void index_erase(core::ipv4_address ip);
  void mark(std::uint32_t ip, bool used);
  void rebuild_client_index();
  void close() noexcept;

  lease_store_options opts_;
  int fd_ = -1;
  std::map<std::uint32_t, lease> by_ip_;
  std::map<client_key, std::uint32_t, std::less<>> by_client_;
  /// One bit per address that has a record, 1024 words per /16 that holds any.
  std::unordered_map<std::uint32_t, std::vector<std::uint64_t>> occupied_;
  std::string pending_;
  std::size_t pending_records_ = 0;
  std::size_t journal_records_ = 0;
  std::uint64_t commits_ = 0;
  recovery_info recovery_;
  std::error_code compaction_error_;
  std::uint64_t compaction_failures_ = 0;
};

}  // namespace pinetboot::dhcp
