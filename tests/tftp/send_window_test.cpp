#include "pinetboot/tftp/detail/send_window.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <optional>

namespace pinetboot::tftp::detail {
namespace {

/// Sends blocks next() .. `through` (no acknowledgements).
void send_through(send_window& w, std::uint64_t through) {
  while (w.next() <= through) (void)w.sent();
}
/// Sends and acknowledges every block through `through`, in lockstep.
void deliver_through(send_window& w, std::uint64_t through) {
  while (w.base() <= through) {
    std::uint64_t seq = w.next();
    (void)w.sent();
    (void)w.acknowledge(seq);
  }
}

TEST(TftpSendWindow, WireNumbersRollOverToZero) {
  send_window w{1, rollover::to_zero};
  EXPECT_EQ(w.wire(0), 0U);
  EXPECT_EQ(w.wire(1), 1U);
  EXPECT_EQ(w.wire(65535), 65535U);
  EXPECT_EQ(w.wire(65536), 0U);
  EXPECT_EQ(w.wire(65537), 1U);
  EXPECT_EQ(w.wire(131071), 65535U);
  EXPECT_EQ(w.wire(131072), 0U);
}

TEST(TftpSendWindow, WireNumbersRollOverToOne) {
  send_window w{1, rollover::to_one};
  EXPECT_EQ(w.wire(0), 0U) << "the request's acknowledgement stays 0";
  EXPECT_EQ(w.wire(1), 1U);
  EXPECT_EQ(w.wire(65535), 65535U);
  EXPECT_EQ(w.wire(65536), 1U) << "0 is skipped";
  EXPECT_EQ(w.wire(65537), 2U);
  EXPECT_EQ(w.wire(131070), 65535U);
  EXPECT_EQ(w.wire(131071), 1U);
}

TEST(TftpSendWindow, AcksMapAcrossRolloverToZero) {
  send_window w{8, rollover::to_zero};
  deliver_through(w, 65533);
  send_through(w, 65538);  // wire 65534 65535 0 1 2
  EXPECT_EQ(w.map_ack(65534), std::optional<std::uint64_t>{65534});
  EXPECT_EQ(w.map_ack(65535), std::optional<std::uint64_t>{65535});
  EXPECT_EQ(w.map_ack(0), std::optional<std::uint64_t>{65536});
  EXPECT_EQ(w.map_ack(1), std::optional<std::uint64_t>{65537});
  EXPECT_EQ(w.map_ack(2), std::optional<std::uint64_t>{65538});
  EXPECT_EQ(w.map_ack(65533), std::optional<std::uint64_t>{65533}) << "base - 1: a duplicate";
  EXPECT_EQ(w.map_ack(65532), std::nullopt) << "below base - 1: stale";
  EXPECT_EQ(w.map_ack(3), std::nullopt) << "wire 3 maps to 65539 - 65536 = 3, long acknowledged";
}

TEST(TftpSendWindow, AcksMapAcrossRolloverToOne) {
  send_window w{8, rollover::to_one};
  deliver_through(w, 65533);
  send_through(w, 65538);  // wire 65534 65535 1 2 3
  EXPECT_EQ(w.map_ack(65534), std::optional<std::uint64_t>{65534});
  EXPECT_EQ(w.map_ack(65535), std::optional<std::uint64_t>{65535});
  EXPECT_EQ(w.map_ack(1), std::optional<std::uint64_t>{65536});
  EXPECT_EQ(w.map_ack(2), std::optional<std::uint64_t>{65537});
  EXPECT_EQ(w.map_ack(3), std::optional<std::uint64_t>{65538});
  EXPECT_EQ(w.map_ack(65533), std::optional<std::uint64_t>{65533});
  EXPECT_EQ(w.map_ack(0), std::nullopt) << "0 names the request only";
  EXPECT_EQ(w.map_ack(4), std::nullopt);
}

TEST(TftpSendWindow, TheBlockBeforeRolloverAndTheFirstAfterItAreDistinct) {
  for (rollover r : {rollover::to_zero, rollover::to_one}) {
    send_window w{2, r};
    deliver_through(w, 65534);
    send_through(w, 65536);
    std::uint16_t after = r == rollover::to_zero ? 0 : 1;
    EXPECT_EQ(w.map_ack(65535), std::optional<std::uint64_t>{65535});
    EXPECT_EQ(w.map_ack(after), std::optional<std::uint64_t>{65536});
    EXPECT_TRUE(w.is_partial(65535));
    EXPECT_FALSE(w.is_partial(65536));
  }
}

TEST(TftpSendWindow, AcksOfBlocksNeverSentAreRejected) {
  send_window w{4, rollover::to_zero};
  EXPECT_EQ(w.map_ack(0), std::optional<std::uint64_t>{0}) << "the OACK's ACK before any DATA";
  EXPECT_EQ(w.map_ack(1), std::nullopt);
  send_through(w, 3);
  EXPECT_EQ(w.map_ack(3), std::optional<std::uint64_t>{3});
  EXPECT_EQ(w.map_ack(4), std::nullopt);
  EXPECT_EQ(w.map_ack(65535), std::nullopt);
}

TEST(TftpSendWindow, TheWindowLimitsWhatMayBeSent) {
  send_window w{4, rollover::to_zero};
  EXPECT_EQ(w.size(), 4U);
  send_through(w, 3);
  EXPECT_TRUE(w.has_block_to_send());
  (void)w.sent();
  EXPECT_FALSE(w.has_block_to_send()) << "blocks 1-4 outstanding";
  EXPECT_EQ(w.outstanding(), 4U);
  EXPECT_TRUE(w.in_flight());
  EXPECT_FALSE(w.acknowledge(1));
  EXPECT_EQ(w.base(), 2U);
  EXPECT_EQ(w.next(), 5U);
  EXPECT_TRUE(w.has_block_to_send()) << "block 5 fits: 2-5";
  EXPECT_EQ(w.outstanding(), 3U);
  EXPECT_FALSE(w.acknowledge(4));
  EXPECT_FALSE(w.in_flight());
  EXPECT_EQ(w.outstanding(), 0U);
}

TEST(TftpSendWindow, AZeroWindowIsLockstep) {
  send_window w{0, rollover::to_zero};
  EXPECT_EQ(w.size(), 1U);
  (void)w.sent();
  EXPECT_FALSE(w.has_block_to_send());
}

TEST(TftpSendWindow, GoBackResendsFromBaseAndMarksRetransmissions) {
  send_window w{4, rollover::to_zero};
  EXPECT_FALSE(w.sent()) << "block 1, first copy";
  send_through(w, 4);
  EXPECT_EQ(w.high(), 4U);
  EXPECT_FALSE(w.acknowledge(1));  // a gap at 2
  EXPECT_TRUE(w.is_partial(1));
  w.go_back();
  EXPECT_EQ(w.next(), 2U);
  EXPECT_TRUE(w.sent()) << "block 2 again";
  EXPECT_TRUE(w.sent()) << "block 3 again";
  EXPECT_EQ(w.high(), 4U);
  EXPECT_TRUE(w.sent()) << "block 4 again";
  EXPECT_FALSE(w.sent()) << "block 5 is new";
  EXPECT_EQ(w.high(), 5U);
}

TEST(TftpSendWindow, OnlyBlocksSentOnceBelowBaseCanMakeAGapAck) {
  send_window w{4, rollover::to_zero};
  send_through(w, 4);
  EXPECT_TRUE(w.sent_once_below_base()) << "block 0 (the OACK) was never resent";
  (void)w.acknowledge(1);
  w.go_back();
  send_through(w, 3);  // blocks 2 and 3 resent: mark 4
  (void)w.acknowledge(2);
  EXPECT_FALSE(w.sent_once_below_base()) << "block 2 had two copies";
  (void)w.acknowledge(3);
  EXPECT_FALSE(w.sent_once_below_base()) << "block 3 had two copies";
  (void)w.acknowledge(4);
  EXPECT_TRUE(w.sent_once_below_base()) << "block 4 was sent once";
}

TEST(TftpSendWindow, TheShortBlockEndsTheTransfer) {
  send_window w{4, rollover::to_zero};
  send_through(w, 3);
  w.set_last(3);
  EXPECT_EQ(w.last(), 3U);
  EXPECT_FALSE(w.has_block_to_send()) << "nothing after the final block";
  EXPECT_FALSE(w.acknowledge(2));
  EXPECT_FALSE(w.has_block_to_send());
  w.go_back();
  EXPECT_TRUE(w.has_block_to_send()) << "the final block may be resent";
  EXPECT_TRUE(w.acknowledge(3));
}

TEST(TftpSendWindow, AnAckBehindNextDoesNotMoveNextBack) {
  send_window w{4, rollover::to_zero};
  send_through(w, 4);
  (void)w.acknowledge(2);
  EXPECT_EQ(w.next(), 5U);
  w.go_back();
  EXPECT_EQ(w.next(), 3U);
  (void)w.acknowledge(4);  // the late ACK of the whole window
  EXPECT_EQ(w.base(), 5U);
  EXPECT_EQ(w.next(), 5U) << "next catches up with base";
}

}  // namespace
}  // namespace pinetboot::tftp::detail
