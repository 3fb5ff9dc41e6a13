#include <algorithm>
#include <bit>
#include "pinetboot/dhcp/lease_store.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <utility>

#include "pinetboot/core/byte_reader.hpp"
#include "pinetboot/core/file.hpp"

namespace pinetboot::dhcp {
namespace {

constexpr std::uint32_t kMagic = 0x504e424cU;  // "PNBL"
constexpr std::uint8_t kUpsert = 1;
constexpr std::uint8_t kErase = 2;

constexpr std::array<std::uint32_t, 256> make_crc_table() {
  std::array<std::uint32_t, 256> t{};
  for (std::uint32_t i = 0; i < 256; ++i) {
    std::uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1U) != 0 ? 0xedb88320U ^ (c >> 1) : c >> 1;
    t[i] = c;
  }
  return t;
}
constexpr auto kCrcTable = make_crc_table();

std::uint32_t crc32(std::span<const std::byte> data) noexcept {
  std::uint32_t c = 0xffffffffU;
  for (auto b : data) c = kCrcTable[(c ^ std::to_integer<std::uint32_t>(b)) & 0xffU] ^ (c >> 8);
  return c ^ 0xffffffffU;
}

void put_u8(std::string& s, std::uint8_t v) { s.push_back(static_cast<char>(v)); }
void put_u16(std::string& s, std::uint16_t v) {
  put_u8(s, static_cast<std::uint8_t>(v >> 8));
  put_u8(s, static_cast<std::uint8_t>(v & 0xff));
}
void put_u32(std::string& s, std::uint32_t v) {
  put_u16(s, static_cast<std::uint16_t>(v >> 16));
  put_u16(s, static_cast<std::uint16_t>(v & 0xffff));
}
void put_u64(std::string& s, std::uint64_t v) {
  put_u32(s, static_cast<std::uint32_t>(v >> 32));
  put_u32(s, static_cast<std::uint32_t>(v & 0xffffffffU));
}

std::error_code last_error() { return {errno, std::generic_category()}; }


bool valid_state(std::uint8_t s) { return s >= 1 && s <= 4; }

}  // namespace

client_key key_for_mac(core::mac_address const& mac) {
  client_key k(7, '\0');
  k[0] = 1;
  for (std::size_t i = 0; i < 6; ++i) k[i + 1] = static_cast<char>(mac[i]);
  return k;
}

void lease_store::encode_record(std::string& out, lease const& l, bool erase) {
  std::string payload;
  put_u8(payload, erase ? kErase : kUpsert);
  put_u32(payload, l.ip.to_uint());
  put_u64(payload, static_cast<std::uint64_t>(l.expires));
  put_u8(payload, static_cast<std::uint8_t>(l.state));
  for (auto b : l.mac.bytes()) put_u8(payload, b);
  auto key = std::string_view{l.client}.substr(0, 255);
  put_u8(payload, static_cast<std::uint8_t>(key.size()));
  payload.append(key);
  auto host = std::string_view{l.hostname}.substr(0, 255);
  put_u8(payload, static_cast<std::uint8_t>(host.size()));
  payload.append(host);

  put_u32(out, kMagic);
  put_u16(out, static_cast<std::uint16_t>(payload.size()));
  put_u32(out, crc32(core::as_bytes(payload)));
  out.append(payload);
}

std::size_t lease_store::replay(std::span<const std::byte> journal, std::map<std::uint32_t, lease>& into,
                                std::size_t& records) {
  core::byte_reader r{journal};
  std::size_t good = 0;
  while (!r.empty()) {
    auto magic = r.u32();
    auto len = r.u16();
    auto crc = r.u32();
    if (!magic || !len || !crc || *magic != kMagic) break;
    auto payload = r.bytes(*len);
    if (!payload || crc32(*payload) != *crc) break;

    core::byte_reader p{*payload};
    auto kind = p.u8();
    auto ip = p.u32();
    auto hi = p.u32();
    auto lo = p.u32();
    auto state = p.u8();
    auto mac = p.bytes(6);
    auto key_len = p.u8();
    if (!kind || !ip || !hi || !lo || !state || !mac || !key_len) break;
    auto key = p.bytes(*key_len);
    if (!key) break;
    auto host_len = p.u8();
    if (!host_len) break;
    auto host = p.bytes(*host_len);
    if (!host || !p.empty() || !valid_state(*state) || (*kind != kUpsert && *kind != kErase)) break;

    if (*kind == kErase) {
      into.erase(*ip);
    } else {
      lease l;
      l.ip = core::ipv4_address{*ip};
      l.expires = static_cast<std::int64_t>(std::uint64_t{*hi} << 32 | *lo);
      l.state = static_cast<lease_state>(*state);
      l.mac = core::mac_address::from_bytes_unchecked(*mac);
      l.client = std::string{core::as_chars(*key)};
      l.hostname = std::string{core::as_chars(*host)};
      // A client holds one lease: drop its older one, as put() does.
      if (!l.client.empty()) {
        for (auto it = into.begin(); it != into.end();) {
          if (it->first != *ip && it->second.client == l.client && it->second.state != lease_state::declined)
            it = into.erase(it);
          else
            ++it;
        }
      }
      into[*ip] = std::move(l);
    }
    ++records;
    good = r.position();
  }
  return good;
}

result<lease_store> lease_store::open(lease_store_options opts) {
  lease_store s{std::move(opts)};
  if (s.opts_.path.empty()) return s;

  int fd = ::open(s.opts_.path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0640);
  if (fd < 0) return last_error();
  s.fd_ = fd;
  // A compaction killed between writing its new journal and renaming it left that file
  // (before core::replace_file, compaction wrote "<journal>.tmp").
  s.recovery_.stale_temporaries = core::remove_stale_replacements(s.opts_.path);
  auto old_tmp = s.opts_.path.string() + ".tmp";
  struct stat ost{};
  if (::lstat(old_tmp.c_str(), &ost) == 0 && S_ISREG(ost.st_mode) && ::unlink(old_tmp.c_str()) == 0)
    ++s.recovery_.stale_temporaries;

  struct stat st{};
  if (::fstat(fd, &st) != 0) return last_error();
  std::string image(static_cast<std::size_t>(st.st_size), '\0');
  std::size_t got = 0;
  while (got < image.size()) {
    ssize_t n = ::pread(fd, image.data() + got, image.size() - got, static_cast<off_t>(got));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return last_error();
    if (n == 0) break;
    got += static_cast<std::size_t>(n);
  }
  image.resize(got);

  std::size_t records = 0;
  std::size_t good = replay(core::as_bytes(image), s.by_ip_, records);
  s.recovery_.records = records;
  s.recovery_.discarded_bytes = image.size() - good;
  s.journal_records_ = records;
  if (good != image.size()) {
    // Cut the torn tail so later appends follow a valid record.
    if (::ftruncate(fd, static_cast<off_t>(good)) != 0 || ::fsync(fd) != 0) return last_error();
  }
  if (::lseek(fd, 0, SEEK_END) < 0) return last_error();
  s.rebuild_client_index();
  return s;
}

lease_store::lease_store(lease_store&& o) noexcept
    : opts_{std::move(o.opts_)},
      fd_{std::exchange(o.fd_, -1)},
      by_ip_{std::move(o.by_ip_)},
      by_client_{std::move(o.by_client_)},
      occupied_{std::move(o.occupied_)},
      pending_{std::move(o.pending_)},
      pending_records_{o.pending_records_},
      journal_records_{o.journal_records_},
      commits_{o.commits_},
      recovery_{o.recovery_},
      compaction_error_{o.compaction_error_},
      compaction_failures_{o.compaction_failures_} {}

lease_store& lease_store::operator=(lease_store&& o) noexcept {
  if (this != &o) {
    close();
    opts_ = std::move(o.opts_);
    fd_ = std::exchange(o.fd_, -1);
    by_ip_ = std::move(o.by_ip_);
    by_client_ = std::move(o.by_client_);
    occupied_ = std::move(o.occupied_);
    pending_ = std::move(o.pending_);
    pending_records_ = o.pending_records_;
    journal_records_ = o.journal_records_;
    commits_ = o.commits_;
    recovery_ = o.recovery_;
    compaction_error_ = o.compaction_error_;
    compaction_failures_ = o.compaction_failures_;
  }
  return *this;
}

lease_store::~lease_store() { close(); }

void lease_store::close() noexcept {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

lease const* lease_store::find_by_ip(core::ipv4_address ip) const noexcept {
  auto it = by_ip_.find(ip.to_uint());
  return it == by_ip_.end() ? nullptr : &it->second;
}

lease const* lease_store::find_by_client(std::string_view key) const noexcept {
  auto it = by_client_.find(key);
  if (it == by_client_.end()) return nullptr;
  return find_by_ip(core::ipv4_address{it->second});
}

std::optional<core::ipv4_address> lease_store::first_unleased(std::uint32_t first, std::uint32_t last) const noexcept {
  std::uint64_t a = first;
  while (a <= last) {
    auto block = static_cast<std::uint32_t>(a >> 16);
    auto it = occupied_.find(block);
    if (it == occupied_.end()) return core::ipv4_address{static_cast<std::uint32_t>(a)};
    auto const& words = it->second;
    for (std::size_t w = (a & 0xffff) >> 6; w < words.size(); ++w) {
      std::uint64_t free = ~words[w];
      if (w == ((a & 0xffff) >> 6)) free &= ~std::uint64_t{0} << (a & 63);
      if (free != 0) {
        std::uint64_t found = (std::uint64_t{block} << 16) | (w << 6) | static_cast<unsigned>(std::countr_zero(free));
        if (found > last) return std::nullopt;
        return core::ipv4_address{static_cast<std::uint32_t>(found)};
      }
    }
    a = (std::uint64_t{block} + 1) << 16;  // the next /16
  }
  return std::nullopt;
}

void lease_store::mark(std::uint32_t ip, bool used) {
  auto& words = occupied_[ip >> 16];
  if (words.empty()) words.resize(1024);
  auto bit = std::uint64_t{1} << (ip & 63);
  if (used) words[(ip & 0xffff) >> 6] |= bit;
  else words[(ip & 0xffff) >> 6] &= ~bit;
}

std::optional<core::mac_address> lease_store::mac_for(core::ipv4_address ip) const noexcept {
  auto const* l = find_by_ip(ip);
  if (l == nullptr || l->state == lease_state::declined) return std::nullopt;
  return l->mac;
}

void lease_store::index_put(lease l) {
  auto ip = l.ip.to_uint();
  if (auto old = by_ip_.find(ip); old != by_ip_.end() && !old->second.client.empty()) {
    auto c = by_client_.find(old->second.client);
    if (c != by_client_.end() && c->second == ip) by_client_.erase(c);
  }
  if (!l.client.empty() && l.state != lease_state::declined) {
    if (auto c = by_client_.find(l.client); c != by_client_.end() && c->second != ip) {
      by_ip_.erase(c->second);
      mark(c->second, false);
      by_client_.erase(c);
    }
    by_client_[l.client] = ip;
  }
  by_ip_[ip] = std::move(l);
  mark(ip, true);
}

void lease_store::index_erase(core::ipv4_address ip) {
  auto it = by_ip_.find(ip.to_uint());
  if (it == by_ip_.end()) return;
  if (auto c = by_client_.find(it->second.client); c != by_client_.end() && c->second == ip.to_uint())
    by_client_.erase(c);
  by_ip_.erase(it);
  mark(ip.to_uint(), false);
}

void lease_store::rebuild_client_index() {
  by_client_.clear();
  occupied_.clear();
  for (auto const& [ip, l] : by_ip_) {
    if (!l.client.empty() && l.state != lease_state::declined) by_client_[l.client] = ip;
    mark(ip, true);
  }
}

void lease_store::put(lease l) {
  if (l.client.size() > 255) l.client.resize(255);
  if (l.hostname.size() > 255) l.hostname.resize(255);
  if (fd_ >= 0) {
    encode_record(pending_, l, false);
    ++pending_records_;
  }
  index_put(std::move(l));
}

void lease_store::erase(core::ipv4_address ip) {
  if (find_by_ip(ip) == nullptr) return;
  if (fd_ >= 0) {
    lease l;
    l.ip = ip;
    encode_record(pending_, l, true);
    ++pending_records_;
  }
  index_erase(ip);
}

std::error_code lease_store::commit() {
  if (fd_ < 0 || pending_.empty()) return {};
  off_t start = ::lseek(fd_, 0, SEEK_END);
  if (start < 0) return last_error();
  if (auto ec = core::write_all(fd_, pending_)) {
    // A partial write leaves a torn record: cut back to the committed end so the next commit
    // appends after valid data (recovery would skip the tail anyway).
    if (::ftruncate(fd_, start) != 0) {
      // Best effort: recovery cuts a torn tail on the next open anyway.
    }
    return ec;
  }
  if (opts_.sync && ::fdatasync(fd_) != 0) return last_error();
  journal_records_ += pending_records_;
  pending_.clear();
  pending_records_ = 0;
  ++commits_;
  if (opts_.compact_after != 0 && journal_records_ > by_ip_.size() + std::max(opts_.compact_after, by_ip_.size())) {
    // The batch is already durable: a failed compaction (e.g. the directory is not writable
    // after privileges were dropped) must not turn into a failed commit.
    compaction_error_ = compact();
    if (compaction_error_) ++compaction_failures_;
  }
  return {};
}

std::error_code lease_store::compact() {
  if (fd_ < 0) return {};
  if (auto ec = commit(); ec) return ec;
  std::string image;
  for (auto const& [ip, l] : by_ip_) encode_record(image, l, false);

  // The new journal keeps the mode the open one has (0640 less the umask when open() made it).
  struct stat st {};
  if (::fstat(fd_, &st) != 0) return last_error();
  if (auto ec = core::replace_file(opts_.path, image, st.st_mode & 07777)) return ec;
  ::close(fd_);
  fd_ = ::open(opts_.path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd_ < 0) return last_error();
  if (::lseek(fd_, 0, SEEK_END) < 0) return last_error();
  journal_records_ = by_ip_.size();
  return {};
}

}  // namespace pinetboot::dhcp
