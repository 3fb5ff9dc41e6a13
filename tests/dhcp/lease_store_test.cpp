#include "pinetboot/dhcp/lease_store.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace pinetboot::dhcp {
namespace {

namespace fs = std::filesystem;

class LeaseStore : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "pnb-lease-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    path_ = dir_ / "leases.journal";
  }
  void TearDown() override { fs::remove_all(dir_); }

  lease_store open_store(std::size_t compact_after = 0) {
    auto s = lease_store::open({.path = path_, .compact_after = compact_after, .sync = true});
    EXPECT_TRUE(s) << s.error().message();
    return std::move(*s);
  }
  static lease make(std::uint8_t host, std::uint8_t mac_last, std::int64_t expires = 1000) {
    lease l;
    l.ip = core::ipv4_address{10, 0, 0, host};
    l.mac = core::mac_address{{0xdc, 0xa6, 0x32, 0, 0, mac_last}};
    l.client = key_for_mac(l.mac);
    l.expires = expires;
    l.hostname = "pi-" + std::to_string(mac_last);
    return l;
  }
  std::string read_journal() const {
    std::ifstream in{path_, std::ios::binary};
    return {std::istreambuf_iterator<char>{in}, std::istreambuf_iterator<char>{}};
  }
  void write_journal(std::string const& bytes) const {
    std::ofstream out{path_, std::ios::binary | std::ios::trunc};
    out << bytes;
  }
  static std::vector<lease> all(lease_store const& s) {
    std::vector<lease> v;
    s.for_each([&](lease const& l) { v.push_back(l); });
    return v;
  }

  fs::path dir_, path_;
};

TEST_F(LeaseStore, CommittedLeasesSurviveReopen) {
  {
    auto s = open_store();
    s.put(make(10, 1));
    s.put(make(11, 2));
    EXPECT_EQ(s.pending(), 2U);
    ASSERT_FALSE(s.commit());
    EXPECT_EQ(s.pending(), 0U);
    EXPECT_EQ(s.commits(), 1U);
  }
  auto s = open_store();
  EXPECT_EQ(s.recovery().records, 2U);
  EXPECT_EQ(s.recovery().discarded_bytes, 0U);
  ASSERT_EQ(s.size(), 2U);
  auto const* l = s.find_by_client(make(11, 2).client);
  ASSERT_NE(l, nullptr);
  EXPECT_EQ(*l, make(11, 2));
  EXPECT_EQ(s.find_by_ip(core::ipv4_address{10, 0, 0, 10})->hostname, "pi-1");
  EXPECT_EQ(s.mac_for(core::ipv4_address{10, 0, 0, 11}), make(11, 2).mac);
  EXPECT_FALSE(s.mac_for(core::ipv4_address{10, 0, 0, 99}));
}

TEST_F(LeaseStore, UncommittedLeasesAreNotWritten) {
  {
    auto s = open_store();
    s.put(make(10, 1));
    ASSERT_FALSE(s.commit());
    s.put(make(11, 2));  // never committed: as if the process died before the ACK left
  }
  auto s = open_store();
  EXPECT_EQ(s.size(), 1U);
  EXPECT_EQ(s.find_by_ip(core::ipv4_address{10, 0, 0, 11}), nullptr);
}

TEST_F(LeaseStore, AClientHoldsOneLease) {
  {
    auto s = open_store();
    s.put(make(10, 1));
    s.put(make(20, 1));  // same client moves to another address
    EXPECT_EQ(s.size(), 1U);
    EXPECT_EQ(s.find_by_ip(core::ipv4_address{10, 0, 0, 10}), nullptr);
    ASSERT_FALSE(s.commit());
  }
  auto s = open_store();
  EXPECT_EQ(s.size(), 1U);
  EXPECT_EQ(s.find_by_client(make(0, 1).client)->ip, (core::ipv4_address{10, 0, 0, 20}));
}

TEST_F(LeaseStore, EraseAndDeclinePersist) {
  {
    auto s = open_store();
    s.put(make(10, 1));
    s.put(make(11, 2));
    lease declined;
    declined.ip = core::ipv4_address{10, 0, 0, 12};
    declined.state = lease_state::declined;
    declined.expires = 5000;
    s.put(declined);
    s.erase(core::ipv4_address{10, 0, 0, 10});
    ASSERT_FALSE(s.commit());
  }
  auto s = open_store();
  EXPECT_EQ(s.size(), 2U);
  EXPECT_EQ(s.find_by_ip(core::ipv4_address{10, 0, 0, 10}), nullptr);
  EXPECT_EQ(s.find_by_ip(core::ipv4_address{10, 0, 0, 12})->state, lease_state::declined);
}

TEST_F(LeaseStore, RecoversFromEveryTruncationPoint) {
  {
    auto s = open_store();
    for (std::uint8_t i = 1; i <= 3; ++i) {
      s.put(make(static_cast<std::uint8_t>(10 + i), i));
      ASSERT_FALSE(s.commit());
    }
  }
  std::string full = read_journal();
  // Record boundaries, found by encoding the same records.
  std::vector<std::size_t> ends;
  std::string enc;
  for (std::uint8_t i = 1; i <= 3; ++i) {
    lease_store::encode_record(enc, make(static_cast<std::uint8_t>(10 + i), i), false);
    ends.push_back(enc.size());
  }
  ASSERT_EQ(enc, full);
  for (std::size_t cut = 0; cut <= full.size(); ++cut) {
    write_journal(full.substr(0, cut));
    auto s = open_store();
    std::size_t whole = 0;
    for (auto e : ends) whole += e <= cut ? 1 : 0;
    EXPECT_EQ(s.size(), whole) << "cut at " << cut;
    EXPECT_EQ(s.recovery().discarded_bytes, cut - (whole == 0 ? 0 : ends[whole - 1])) << cut;
    // The torn tail is gone: a new commit lands after the valid records and survives.
    s.put(make(99, 99));
    ASSERT_FALSE(s.commit());
    auto again = open_store();
    EXPECT_EQ(again.size(), whole + 1) << cut;
    EXPECT_EQ(again.recovery().discarded_bytes, 0U);
  }
}

TEST_F(LeaseStore, CorruptRecordEndsReplay) {
  {
    auto s = open_store();
    s.put(make(11, 1));
    s.put(make(12, 2));
    ASSERT_FALSE(s.commit());
  }
  std::string j = read_journal();
  j[j.size() - 3] ^= 0x5a;  // inside the second record's payload: CRC mismatch
  write_journal(j);
  auto s = open_store();
  EXPECT_EQ(s.size(), 1U);
  EXPECT_NE(s.find_by_ip(core::ipv4_address{10, 0, 0, 11}), nullptr);
  EXPECT_GT(s.recovery().discarded_bytes, 0U);
}

TEST_F(LeaseStore, GarbageFileStartsEmpty) {
  write_journal(std::string(1000, '\xff'));
  auto s = open_store();
  EXPECT_EQ(s.size(), 0U);
  EXPECT_EQ(s.recovery().discarded_bytes, 1000U);
}

TEST_F(LeaseStore, CompactionKeepsLiveLeasesAndShrinksJournal) {
  {
    auto s = open_store(/*compact_after=*/0);
    for (int round = 0; round < 50; ++round) {
      for (std::uint8_t i = 1; i <= 4; ++i) s.put(make(static_cast<std::uint8_t>(10 + i), i, 1000 + round));
      ASSERT_FALSE(s.commit());
    }
    auto before = fs::file_size(path_);
    ASSERT_FALSE(s.compact());
    EXPECT_LT(fs::file_size(path_) * 10, before);
    EXPECT_EQ(std::distance(fs::directory_iterator{dir_}, fs::directory_iterator{}), 1)
        << "no temporary file left";
    s.put(make(20, 9));  // appends after compaction still work
    ASSERT_FALSE(s.commit());
  }
  auto s = open_store();
  EXPECT_EQ(s.size(), 5U);
  EXPECT_EQ(s.recovery().records, 5U);
  EXPECT_EQ(s.find_by_ip(core::ipv4_address{10, 0, 0, 11})->expires, 1049);
}

TEST_F(LeaseStore, CompactionKeepsTheJournalsMode) {
  auto s = open_store();
  s.put(make(10, 1));
  ASSERT_FALSE(s.commit());
  auto const owner_only = fs::perms::owner_read | fs::perms::owner_write;
  fs::permissions(path_, owner_only);
  ASSERT_FALSE(s.compact());
  EXPECT_EQ(fs::status(path_).permissions(), owner_only);
  s.put(make(11, 2));
  ASSERT_FALSE(s.commit());
  EXPECT_EQ(open_store().size(), 2U);
}

TEST_F(LeaseStore, AutomaticCompaction) {
  auto s = open_store(/*compact_after=*/10);
  for (int round = 0; round < 30; ++round) {
    s.put(make(10, 1, round));
    ASSERT_FALSE(s.commit());
  }
  auto reopened = open_store();
  EXPECT_LE(reopened.recovery().records, 12U);
  EXPECT_EQ(reopened.find_by_ip(core::ipv4_address{10, 0, 0, 10})->expires, 29);
}

TEST_F(LeaseStore, FailedCompactionIsCountedAndCommitsStillSucceed) {
  // A directory where the journal was makes every compaction's rename fail, even as root (the
  // store keeps appending to the journal it has open).
  auto s = open_store(/*compact_after=*/10);
  fs::remove(path_);
  fs::create_directory(path_);
  for (int round = 0; round < 30; ++round) {
    s.put(make(10, 1, round));
    ASSERT_FALSE(s.commit());  // durable regardless
  }
  EXPECT_EQ(s.compaction_error(), std::errc::is_a_directory) << s.compaction_error().message();
  EXPECT_GE(s.compaction_failures(), 2U);
  EXPECT_EQ(std::distance(fs::directory_iterator{dir_}, fs::directory_iterator{}), 1)
      << "temporary files removed";
  auto const failures = s.compaction_failures();
  fs::remove(path_);
  s.put(make(10, 1, 100));
  ASSERT_FALSE(s.commit());
  EXPECT_FALSE(s.compaction_error());  // the next one succeeded
  EXPECT_EQ(s.compaction_failures(), failures);
  auto reopened = open_store();
  EXPECT_EQ(reopened.find_by_ip(core::ipv4_address{10, 0, 0, 10})->expires, 100);
  EXPECT_LE(reopened.recovery().records, 2U);
}

TEST_F(LeaseStore, CompactionIsAmortisedOverALargeTable) {
  // 100 live leases, compact_after 10: the journal is rewritten only once the superseded
  // records outnumber the live ones, not every 10 records.
  auto s = open_store(/*compact_after=*/10);
  for (int i = 0; i < 100; ++i) s.put(make(static_cast<std::uint8_t>(i + 1), static_cast<std::uint8_t>(i + 1), i));
  ASSERT_FALSE(s.commit());
  for (int round = 0; round < 99; ++round) {
    auto host = static_cast<std::uint8_t>(round % 100 + 1);
    s.put(make(host, host, 1000 + round));
    ASSERT_FALSE(s.commit());
  }
  {
    auto reopened = open_store();
    EXPECT_EQ(reopened.recovery().records, 199U);  // 99 superseded records are not yet > 100 live
  }
  s.put(make(1, 1, 5000));
  ASSERT_FALSE(s.commit());
  s.put(make(2, 2, 5001));
  ASSERT_FALSE(s.commit());  // 101 superseded > 100 live: compacted
  auto reopened = open_store();
  EXPECT_LE(reopened.recovery().records, 101U);
  EXPECT_EQ(reopened.size(), 100U);
  EXPECT_EQ(reopened.find_by_ip(core::ipv4_address{10, 0, 0, 1})->expires, 5000);
}

TEST_F(LeaseStore, OpenRemovesTheFileOfACompactionKilledBeforeItsRename) {
  {
    auto s = open_store();
    s.put(make(10, 1));
    ASSERT_FALSE(s.commit());
  }
  std::ofstream{dir_ / ".leases.journal.pinetboot-Ab12Cd"} << "half a compacted journal";
  std::ofstream{dir_ / "leases.journal.tmp"} << "what an older version's compaction left";
  auto s = open_store();
  EXPECT_EQ(s.recovery().stale_temporaries, 2U);
  EXPECT_FALSE(fs::exists(dir_ / "leases.journal.tmp"));
  EXPECT_EQ(s.recovery().records, 1U) << "the journal itself is read as before";
  EXPECT_FALSE(fs::exists(dir_ / ".leases.journal.pinetboot-Ab12Cd"));
}

TEST(LeaseStoreMemory, FirstUnleasedSkipsRecordsAcrossBlocks) {
  auto s = std::move(*lease_store::open({}));
  auto put = [&](std::uint32_t ip) {
    lease l;
    l.ip = core::ipv4_address{ip};
    l.mac = core::mac_address{{2, 0, static_cast<std::uint8_t>(ip >> 24), static_cast<std::uint8_t>(ip >> 16),
                               static_cast<std::uint8_t>(ip >> 8), static_cast<std::uint8_t>(ip)}};
    l.client = key_for_mac(l.mac);
    s.put(l);
  };
  std::uint32_t base = core::ipv4_address{10, 1, 255, 0}.to_uint();
  EXPECT_EQ(s.first_unleased(base, base + 10), core::ipv4_address{base});
  // Lease 10.1.255.0 .. 10.2.0.9: the run crosses a /16 and several 64-address words.
  for (std::uint32_t a = base; a < base + 266; ++a) put(a);
  EXPECT_EQ(s.first_unleased(base, base + 1000), core::ipv4_address{base + 266});
  EXPECT_EQ(s.first_unleased(base + 3, base + 265), std::nullopt);
  EXPECT_EQ(s.first_unleased(base + 265, base + 266), core::ipv4_address{base + 266});
  s.erase(core::ipv4_address{base + 70});
  EXPECT_EQ(s.first_unleased(base, base + 1000), core::ipv4_address{base + 70});
  EXPECT_EQ(s.first_unleased(base + 71, base + 1000), core::ipv4_address{base + 266});
  // A client moving to another address frees its old one.
  lease moved;
  moved.ip = core::ipv4_address{base + 5000};
  moved.mac = core::mac_address{{2, 0, 10, 1, 255, 3}};
  moved.client = key_for_mac(moved.mac);
  s.put(moved);
  EXPECT_EQ(s.first_unleased(base, base + 10), core::ipv4_address{base + 3});
  EXPECT_EQ(s.first_unleased(0xffffffffU, 0xffffffffU), core::ipv4_address{0xffffffffU});
  EXPECT_EQ(s.first_unleased(5, 4), std::nullopt);
}

TEST(LeaseStoreMemory, WorksWithoutAFile) {
  auto s = lease_store::open({});
  ASSERT_TRUE(s);
  lease l;
  l.ip = core::ipv4_address{10, 1, 1, 1};
  l.client = "abc";
  s->put(l);
  EXPECT_EQ(s->pending(), 0U);
  EXPECT_FALSE(s->commit());
  EXPECT_EQ(s->find_by_client("abc")->ip, l.ip);
}

TEST(LeaseStoreOpen, ReportsSystemErrors) {
  auto s = lease_store::open({.path = "/nonexistent-dir-pinetboot/leases"});
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error(), std::errc::no_such_file_or_directory);
}

}  // namespace
}  // namespace pinetboot::dhcp
