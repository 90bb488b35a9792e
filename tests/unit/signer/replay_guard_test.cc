#include "services/signer/replay_guard.h"

#include <gtest/gtest.h>

#include <string>

namespace cai {
namespace {

using Claim = ReplayGuard::Claim;

TEST(ReplayGuardTest, ASecondClaimOfTheSameNonceAndTimestampIsAReplay) {
  ReplayGuard guard(300, 100);
  EXPECT_EQ(guard.Admit("nonce-0123456789", 1000, 1000), Claim::kFresh);
  EXPECT_EQ(guard.Admit("nonce-0123456789", 1000, 1010), Claim::kReplayed);
  EXPECT_EQ(guard.Admit("nonce-0123456789", 1001, 1010), Claim::kFresh);  // the pair is the claim
  EXPECT_EQ(guard.Admit("nonce-other-0000", 1000, 1010), Claim::kFresh);
}

TEST(ReplayGuardTest, TimestampsOutsideTheWindowAreRefusedEitherSide) {
  ReplayGuard guard(300, 100);
  EXPECT_EQ(guard.Admit("a", 1000, 1300), Claim::kFresh);  // the edges count
  EXPECT_EQ(guard.Admit("b", 1000, 1301), Claim::kOutsideWindow);
  EXPECT_EQ(guard.Admit("c", 1601, 1300), Claim::kOutsideWindow);
  EXPECT_EQ(guard.Admit("d", INT64_MIN, 0), Claim::kOutsideWindow);
  EXPECT_EQ(guard.Admit("e", INT64_MAX, 0), Claim::kOutsideWindow);
  EXPECT_EQ(guard.size(), 1u);
}

TEST(ReplayGuardTest, ClaimsAreForgottenOnlyOnceTheyCanNoLongerBeAdmitted) {
  ReplayGuard guard(300, 100);
  ASSERT_EQ(guard.Admit("n", 1000, 1000), Claim::kFresh);
  EXPECT_EQ(guard.Admit("n", 1000, 1300), Claim::kReplayed);  // still inside the window: remembered
  EXPECT_EQ(guard.Admit("x", 1301, 1301), Claim::kFresh);     // now 1301: the first claim has expired
  EXPECT_EQ(guard.size(), 1u);
  EXPECT_EQ(guard.Admit("n", 1000, 1301), Claim::kOutsideWindow);
}

TEST(ReplayGuardTest, WhenFullOfLiveClaimsNewOnesAreRefusedNotOldOnesForgotten) {
  ReplayGuard guard(300, 3);
  for (const char* nonce : {"a", "b", "c"}) ASSERT_EQ(guard.Admit(nonce, 1000, 1000), Claim::kFresh);
  EXPECT_EQ(guard.Admit("d", 1000, 1000), Claim::kFull);
  EXPECT_EQ(guard.Admit("a", 1000, 1000), Claim::kReplayed);
  EXPECT_EQ(guard.Admit("d", 1301, 1301), Claim::kFresh);  // the old ones expired and made room
  EXPECT_EQ(guard.size(), 1u);
}

}  // namespace
}  // namespace cai
