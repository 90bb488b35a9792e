// The operator's API key list, as the edge and `cai up` both read it.
#include "lib/common/api_key_list.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <optional>

namespace cai {
namespace {

using Keys = std::vector<std::string>;

std::string WriteTempFile(const std::string& name, const std::string& contents) {
  const std::string path = ::testing::TempDir() + "/" + name;
  std::ofstream(path, std::ios::binary) << contents;
  return path;
}

TEST(ApiKeyList, FileLinesThenCsvTrimmedWithoutCommentsOrBlanks) {
  const std::string file =
      WriteTempFile("cai_api_key_list_keys", "# operator keys\n  sk-one  \n\n\t# indented comment\nsk-two\r\n");
  absl::StatusOr<Keys> keys = ReadApiKeyList(file, " sk-three ,, sk-four", 10);
  std::remove(file.c_str());
  ASSERT_TRUE(keys.ok()) << keys.status();
  EXPECT_EQ(*keys, (Keys{"sk-one", "sk-two", "sk-three", "sk-four"}));
  EXPECT_TRUE(ReadApiKeyList("", "", 10)->empty());
}

TEST(ApiKeyList, LastLineWithoutNewlineAndTrailingCommaAreKept) {
  EXPECT_EQ(*ParseApiKeyList("sk-a\nsk-b", "sk-c,", 10), (Keys{"sk-a", "sk-b", "sk-c"}));
}

// Windows editors save a byte-order mark; kept, it would make the first key one nobody can send.
TEST(ApiKeyList, SkipsAByteOrderMarkAtTheStartOfTheFile) {
  EXPECT_EQ(*ParseApiKeyList("\xEF\xBB\xBFsk-first\nsk-second\n", "", 10), (Keys{"sk-first", "sk-second"}));
}

// An operator who names a key file means to require keys: one with none (every key commented out,
// an empty secret) must not start an edge that is open to everyone, even when CAI_API_KEYS has some.
TEST(ApiKeyList, RefusesANamedFileThatHoldsNoKey) {
  const std::string file = WriteTempFile("cai_api_key_list_no_keys", "# sk-commented-out\n\n");
  absl::StatusOr<Keys> keys = ReadApiKeyList(file, "sk-env", 10);
  std::remove(file.c_str());
  ASSERT_TRUE(absl::IsInvalidArgument(keys.status())) << keys.status();
  EXPECT_NE(keys.status().message().find(file + ": the API keys file holds no key"), std::string_view::npos)
      << keys.status();
  EXPECT_TRUE(absl::IsInvalidArgument(ParseApiKeyList("", "", 10).status()));
  EXPECT_TRUE(ParseApiKeyList(std::nullopt, "", 10)->empty()) << "no file and no CAI_API_KEYS: an open API";
}

TEST(ApiKeyList, RefusesAnUnreadableFileAndTooManyKeys) {
  EXPECT_TRUE(absl::IsNotFound(ReadApiKeyList("/nonexistent/keys", "", 10).status()));
  EXPECT_TRUE(absl::IsNotFound(ReadApiKeyList(::testing::TempDir(), "", 10).status()))  // a directory
      << "a key file that cannot be read must not leave the edge without keys";
  EXPECT_TRUE(absl::IsResourceExhausted(ReadApiKeyList("", "a,b,c", 2).status()));
  EXPECT_EQ(ReadApiKeyList("", "a,b", 2)->size(), 2u);
}

// A key a client could never present is an operator's mistake: refused at start, naming where it
// is but never the key itself (the message goes to logs).
TEST(ApiKeyList, RefusesKeysABearerTokenCannotCarry) {
  struct Case {
    const char* name;
    std::optional<std::string> file;
    std::string csv;
    std::string where;
  };
  const Case cases[] = {
      {"space inside", "sk-ok\nsk secret\n", "", "on line 2 of the file"},
      {"control byte", "sk-\x01secret", "", "on line 1 of the file"},
      {"non-ASCII", std::nullopt, "sk-ok,sk-s\xC3\xA9kret", "at position 2 of CAI_API_KEYS"},
      {"byte-order mark after the start", "sk-ok\n\xEF\xBB\xBFsk-secret\n", "", "on line 2 of the file"},
      {"DEL", std::nullopt, "sk-\x7fsecret", "at position 1 of CAI_API_KEYS"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<Keys> keys = ParseApiKeyList(c.file, c.csv, 10);
    ASSERT_TRUE(absl::IsInvalidArgument(keys.status())) << c.name;
    EXPECT_NE(keys.status().message().find(c.where), std::string_view::npos) << c.name << ": " << keys.status();
    EXPECT_EQ(keys.status().message().find("secret"), std::string_view::npos) << c.name << ": " << keys.status();
  }
}

TEST(ApiKeyList, RefusesOversizedKeysWithoutEchoingThem) {
  EXPECT_EQ(ParseApiKeyList(std::nullopt, std::string(kMaxApiKeyBytes, 'k'), 10)->front().size(), kMaxApiKeyBytes);
  absl::StatusOr<Keys> keys = ParseApiKeyList("# c\n" + std::string(kMaxApiKeyBytes + 1, 'k'), "", 10);
  ASSERT_TRUE(absl::IsInvalidArgument(keys.status()));
  EXPECT_NE(keys.status().message().find("on line 2"), std::string_view::npos) << keys.status();
  EXPECT_EQ(keys.status().message().find("kkkk"), std::string_view::npos) << keys.status();
}

TEST(ApiKeyList, RefusesAFileOverTheSizeLimitAndReadsOneAtIt) {
  std::string contents(kMaxApiKeyFileBytes, '\n');
  contents.replace(0, 7, "sk-one\n");
  const std::string at_limit = WriteTempFile("cai_api_key_list_at_limit", contents);
  absl::StatusOr<Keys> keys = ReadApiKeyList(at_limit, "", 10);
  std::remove(at_limit.c_str());
  ASSERT_TRUE(keys.ok()) << keys.status();
  EXPECT_EQ(*keys, Keys{"sk-one"});

  const std::string over = WriteTempFile("cai_api_key_list_over", contents + "\n");
  keys = ReadApiKeyList(over, "", 10);
  std::remove(over.c_str());
  EXPECT_TRUE(absl::IsInvalidArgument(keys.status())) << keys.status();
}

}  // namespace
}  // namespace cai
