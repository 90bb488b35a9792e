// ReadFileUpTo: the bounded whole-file read shared by every reader of operator-supplied files.
#include "lib/common/read_file.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <string>

namespace cai {
namespace {

TEST(ReadFileUpTo, ReadsAFileAtTheLimitAndRefusesOneByteMore) {
  const std::string path = ::testing::TempDir() + "/cai_read_file_test";
  const std::string contents(100000, 'r');  // more than one 64 KiB read
  std::ofstream(path, std::ios::binary) << contents;
  EXPECT_EQ(*ReadFileUpTo(path, contents.size()), contents);
  absl::StatusOr<std::string> over = ReadFileUpTo(path, contents.size() - 1);
  EXPECT_TRUE(absl::IsInvalidArgument(over.status())) << over.status();
  EXPECT_NE(over.status().message().find("is larger than 99999 bytes"), std::string_view::npos) << over.status();
  std::remove(path.c_str());
}

TEST(ReadFileUpTo, MissingFilesAndDirectoriesAreNotFound) {
  EXPECT_TRUE(absl::IsNotFound(ReadFileUpTo("/nonexistent/file", 10).status()));
  // A directory opens, then fails its first read: never an empty file.
  EXPECT_TRUE(absl::IsNotFound(ReadFileUpTo(::testing::TempDir(), 10).status()));
}

}  // namespace
}  // namespace cai
