#include "services/edge/auth.h"

#include <cstdio>
#include <fstream>

#include <gtest/gtest.h>

namespace cai::edge {
namespace {

TEST(ParseBearer, AcceptsOnlyBearerTokens) {
  EXPECT_EQ(ParseBearer("Bearer sk-123"), "sk-123");
  EXPECT_EQ(ParseBearer("bearer   sk-123  "), "sk-123");
  EXPECT_EQ(ParseBearer("BEARER x"), "x");
  EXPECT_FALSE(ParseBearer(""));
  EXPECT_FALSE(ParseBearer("Bearer"));
  EXPECT_FALSE(ParseBearer("Bearer    "));
  EXPECT_FALSE(ParseBearer("Basic dXNlcjpwYXNz"));
  EXPECT_FALSE(ParseBearer("Bearersk-123"));
}

TEST(ApiKeys, AcceptsExactlyTheConfiguredKeys) {
  absl::StatusOr<ApiKeys> keys = ApiKeys::Load("", " sk-one ,sk-two,,");
  ASSERT_TRUE(keys.ok());
  EXPECT_EQ(keys->size(), 2u);
  EXPECT_TRUE(keys->Accepts("sk-one"));
  EXPECT_TRUE(keys->Accepts("sk-two"));
  EXPECT_FALSE(keys->Accepts("sk-on"));
  EXPECT_FALSE(keys->Accepts("sk-one "));
  EXPECT_FALSE(keys->Accepts(""));
}

TEST(ApiKeys, LoadsAFileSkippingCommentsAndBlanks) {
  const std::string path = testing::TempDir() + "/edge_keys.txt";
  std::ofstream(path) << "# operators\nsk-file\n\n  sk-indented  \n";
  absl::StatusOr<ApiKeys> keys = ApiKeys::Load(path, "sk-env");
  ASSERT_TRUE(keys.ok());
  EXPECT_EQ(keys->size(), 3u);
  EXPECT_TRUE(keys->Accepts("sk-file"));
  EXPECT_TRUE(keys->Accepts("sk-indented"));
  EXPECT_TRUE(keys->Accepts("sk-env"));
  EXPECT_FALSE(keys->Accepts("# operators"));
  std::remove(path.c_str());
  EXPECT_FALSE(ApiKeys::Load(path, "").ok());
}

TEST(ApiKeys, EmptyMeansOpen) {
  absl::StatusOr<ApiKeys> keys = ApiKeys::Load("", "");
  ASSERT_TRUE(keys.ok());
  EXPECT_TRUE(keys->empty());
  EXPECT_FALSE(keys->Accepts("anything"));
}

TEST(ApiKeys, RejectsOversizedKeys) {
  EXPECT_FALSE(ApiKeys::Load("", std::string(kMaxApiKeyBytes + 1, 'k')).ok());
  EXPECT_TRUE(ApiKeys::Load("", std::string(kMaxApiKeyBytes, 'k')).ok());
}

}  // namespace
}  // namespace cai::edge
