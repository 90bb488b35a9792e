// The operator's API key list, as the edge and `cai up` both read it.
#include "lib/common/api_key_list.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

namespace cai {
namespace {

TEST(ApiKeyList, FileLinesThenCsvTrimmedWithoutCommentsOrBlanks) {
  const std::string file = ::testing::TempDir() + "/cai_api_key_list_test_keys";
  std::ofstream(file) << "# operator keys\n  sk-one  \n\n\t# indented comment\nsk-two\r\n";
  absl::StatusOr<std::vector<std::string>> keys = ReadApiKeyList(file, " sk-three ,, sk-four", 10);
  std::remove(file.c_str());
  ASSERT_TRUE(keys.ok()) << keys.status();
  EXPECT_EQ(*keys, (std::vector<std::string>{"sk-one", "sk-two", "sk-three", "sk-four"}));
  EXPECT_TRUE(ReadApiKeyList("", "", 10)->empty());
}

TEST(ApiKeyList, RefusesAnUnreadableFileAndTooManyKeys) {
  EXPECT_TRUE(absl::IsNotFound(ReadApiKeyList("/nonexistent/keys", "", 10).status()));
  EXPECT_TRUE(absl::IsNotFound(ReadApiKeyList(::testing::TempDir(), "", 10).status()))  // a directory
      << "a key file that cannot be read must not leave the edge without keys";
  EXPECT_TRUE(absl::IsResourceExhausted(ReadApiKeyList("", "a,b,c", 2).status()));
  EXPECT_EQ(ReadApiKeyList("", "a,b", 2)->size(), 2u);
}

}  // namespace
}  // namespace cai
