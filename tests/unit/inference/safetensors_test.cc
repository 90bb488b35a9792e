#include "services/inference/engine/safetensors.h"

#include <cstring>
#include <fstream>

#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "services/inference/engine/checkpoint.h"
#include "services/inference/engine/safetensors_writer.h"
#include "tests/unit/inference/test_model.h"

namespace cai::inference {
namespace {

std::span<const uint8_t> Bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

// A file made of a raw header and data, for malformed inputs.
std::string RawFile(const std::string& header, const std::string& data, uint64_t header_len = UINT64_MAX) {
  uint64_t n = header_len == UINT64_MAX ? header.size() : header_len;
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((n >> (8 * i)) & 0xff);
  return out + header + data;
}

TEST(Safetensors, RoundTripKeepsValuesShapesAndDtypes) {
  std::vector<float> a = {1.5f, -2.0f, 3.25f, 0.0f, 1e-3f, -7.0f};
  std::vector<float> b = {1.0f, 0.5f, -0.25f, 3.0f};
  SafetensorsWriter writer;
  writer.Add("a", DType::kF32, {2, 3}, a);
  writer.Add("b", DType::kBF16, {4}, b);
  // F16 1.0, -2.0, 65504 (max), 2^-24 (smallest subnormal)
  writer.AddRaw("h", "F16", {4}, std::string("\x00\x3c\x00\xc0\xff\x7b\x01\x00", 8));
  std::string file = writer.Serialize();
  uint64_t header_len = 0;
  std::memcpy(&header_len, file.data(), 8);
  EXPECT_EQ(header_len % 8, 0u);  // data buffer starts aligned

  absl::StatusOr<std::unique_ptr<SafetensorsFile>> parsed = SafetensorsFile::FromBytes(file);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  ASSERT_EQ((*parsed)->tensors().size(), 3u);
  const Tensor* ta = (*parsed)->Find("a");
  ASSERT_NE(ta, nullptr);
  EXPECT_EQ(ta->dtype, DType::kF32);
  EXPECT_EQ(ta->shape, (std::vector<int64_t>{2, 3}));
  std::vector<float> out(6);
  ConvertToF32(ta->dtype, ta->data.data(), 6, out.data());
  EXPECT_EQ(out, a);
  const Tensor* tb = (*parsed)->Find("b");
  ASSERT_NE(tb, nullptr);
  EXPECT_EQ(tb->dtype, DType::kBF16);
  out.resize(4);
  ConvertToF32(tb->dtype, tb->data.data(), 4, out.data());
  EXPECT_EQ(out, b);  // all exactly representable in bf16
  const Tensor* th = (*parsed)->Find("h");
  ASSERT_NE(th, nullptr);
  ConvertToF32(th->dtype, th->data.data(), 4, out.data());
  EXPECT_EQ(out, (std::vector<float>{1.0f, -2.0f, 65504.0f, 0x1p-24f}));
  EXPECT_EQ((*parsed)->Find("missing"), nullptr);
}

TEST(Safetensors, MmapFileAndShardedCheckpoint) {
  testing::TempDir dir;
  std::vector<float> x = {1, 2, 3}, y = {4, 5};
  SafetensorsWriter one, two;
  one.Add("x", DType::kF32, {3}, x);
  two.Add("y", DType::kBF16, {2}, y);
  ASSERT_TRUE(one.WriteFile(dir.path() + "/model-00001-of-00002.safetensors").ok());
  ASSERT_TRUE(two.WriteFile(dir.path() + "/model-00002-of-00002.safetensors").ok());
  std::ofstream(dir.path() + "/model.safetensors.index.json")
      << R"({"metadata":{},"weight_map":{"x":"model-00001-of-00002.safetensors","y":"model-00002-of-00002.safetensors"}})";
  absl::StatusOr<std::unique_ptr<Checkpoint>> ckpt = Checkpoint::Open(dir.path());
  ASSERT_TRUE(ckpt.ok()) << ckpt.status();
  EXPECT_EQ((*ckpt)->num_tensors(), 2u);
  absl::StatusOr<const Tensor*> y_tensor = (*ckpt)->Get("y");
  ASSERT_TRUE(y_tensor.ok());
  EXPECT_EQ((*y_tensor)->dtype, DType::kBF16);
  absl::StatusOr<const Tensor*> missing = (*ckpt)->Get("z");
  EXPECT_TRUE(absl::IsNotFound(missing.status()));
  EXPECT_NE(missing.status().message().find("'z'"), std::string::npos);
}

TEST(Safetensors, ReadIntoMemoryReportsEveryByteOfEveryShard) {
  testing::TempDir dir;
  std::vector<float> big(5000, 1.0f), small = {4, 5};
  SafetensorsWriter one, two;
  one.Add("big", DType::kF32, {5000}, big);   // spans several pages
  two.Add("small", DType::kBF16, {2}, small);
  ASSERT_TRUE(one.WriteFile(dir.path() + "/model-00001-of-00002.safetensors").ok());
  ASSERT_TRUE(two.WriteFile(dir.path() + "/model-00002-of-00002.safetensors").ok());
  std::ofstream(dir.path() + "/model.safetensors.index.json")
      << R"({"weight_map":{"big":"model-00001-of-00002.safetensors","small":"model-00002-of-00002.safetensors"}})";
  absl::StatusOr<std::unique_ptr<Checkpoint>> ckpt = Checkpoint::Open(dir.path());
  ASSERT_TRUE(ckpt.ok()) << ckpt.status();
  EXPECT_EQ((*ckpt)->total_bytes(), 5000u * 4 + 2 * 2);
  std::vector<uint64_t> reported;
  (*ckpt)->ReadIntoMemory([&](uint64_t done, uint64_t total) {
    EXPECT_EQ(total, (*ckpt)->total_bytes());
    reported.push_back(done);
  });
  ASSERT_EQ(reported.size(), 2u);  // once per tensor, growing to the total
  EXPECT_LT(reported[0], reported[1]);
  EXPECT_EQ(reported[1], (*ckpt)->total_bytes());
}

TEST(Safetensors, IndexCannotEscapeTheModelDirectory) {
  testing::TempDir dir;
  std::ofstream(dir.path() + "/model.safetensors.index.json") << R"({"weight_map":{"x":"../evil.safetensors"}})";
  absl::StatusOr<std::unique_ptr<Checkpoint>> ckpt = Checkpoint::Open(dir.path());
  EXPECT_TRUE(absl::IsInvalidArgument(ckpt.status())) << ckpt.status();
}

TEST(Safetensors, RejectsMalformedIndex) {
  struct Case {
    const char* index;
    const char* message_part;
  };
  for (const Case& c : std::vector<Case>{{"{}", "weight_map"},
                                         {R"({"weight_map":{}})", "maps no tensors"},
                                         {R"({"weight_map":[]})", "not an object"},
                                         {R"({"weight_map":{"x":1}})", "index.json"},
                                         {"not json", "index.json"}}) {
    testing::TempDir dir;
    std::ofstream(dir.path() + "/model.safetensors.index.json") << c.index;
    absl::StatusOr<std::unique_ptr<Checkpoint>> ckpt = Checkpoint::Open(dir.path());
    EXPECT_TRUE(absl::IsInvalidArgument(ckpt.status())) << c.index << ": " << ckpt.status();
    EXPECT_NE(ckpt.status().message().find(c.message_part), std::string::npos) << c.index << ": " << ckpt.status();
  }
}

TEST(SafetensorsIndex, ParsesShardsInFirstMentionOrder) {
  absl::StatusOr<SafetensorsIndex> index =
      ParseSafetensorsIndex(R"({"metadata":{"total_size":8},"weight_map":{"a":"s2","b":"s1","c":"s2"}})");
  ASSERT_TRUE(index.ok()) << index.status();
  EXPECT_EQ(index->shards, (std::vector<std::string>{"s2", "s1"}));
  EXPECT_EQ(index->weight_map.size(), 3u);
}

TEST(SafetensorsIndex, RefusesEachDefectNamingIt) {
  std::string many_shards = R"({"weight_map":{)";
  for (size_t i = 0; i <= kMaxShards; ++i) many_shards += absl::StrCat(i == 0 ? "" : ",", "\"t", i, "\":\"s", i, "\"");
  many_shards += "}}";
  struct Case {
    std::string index;
    const char* why;
  };
  for (const Case& c : std::vector<Case>{{"[]", "no weight_map"},
                                         {R"({"weight_map":"x"})", "not an object"},
                                         {R"({"weight_map":{}})", "maps no tensors"},
                                         {R"({"weight_map":{"t":7}})", "the shard of 't' is not a string"},
                                         {R"({"weight_map":{"t":""}})", "outside the model directory"},
                                         {R"({"weight_map":{"t":".."}})", "outside the model directory"},
                                         {R"({"weight_map":{"t":"/etc/passwd"}})", "outside the model directory"},
                                         {R"({"weight_map":{"t":"a/b"}})", "outside the model directory"},
                                         {R"({"weight_map":)", "parse error"},
                                         {many_shards, "more than 4096 shards"}}) {
    absl::StatusOr<SafetensorsIndex> index = ParseSafetensorsIndex(c.index);
    ASSERT_TRUE(absl::IsInvalidArgument(index.status())) << c.index.substr(0, 80);
    EXPECT_NE(index.status().message().find(c.why), std::string_view::npos) << index.status();
  }
}

struct BadCase {
  const char* name;
  std::string file;
  absl::StatusCode code;
  const char* message_part;
};

TEST(Safetensors, RejectsMalformedFiles) {
  const std::string data8(8, '\0');
  const std::string ok_entry = R"("t":{"dtype":"F32","shape":[2],"data_offsets":[0,8]})";
  std::vector<BadCase> cases = {
      {"empty", "", absl::StatusCode::kInvalidArgument, "truncated"},
      {"short length", std::string("\x05\x00\x00", 3), absl::StatusCode::kInvalidArgument, "truncated"},
      {"header past end", RawFile("{}", "", 100), absl::StatusCode::kInvalidArgument, "truncated"},
      {"header too big", RawFile("{}", "", (100ull << 20) + 1), absl::StatusCode::kInvalidArgument, "limit"},
      {"not an object start", RawFile("[1]", ""), absl::StatusCode::kInvalidArgument, "start with '{'"},
      {"bad json", RawFile("{\"t\":", ""), absl::StatusCode::kInvalidArgument, "JSON"},
      {"entry not object", RawFile(R"({"t":3})", ""), absl::StatusCode::kInvalidArgument, "'t'"},
      {"missing dtype", RawFile(R"({"t":{"shape":[2],"data_offsets":[0,8]}})", data8),
       absl::StatusCode::kInvalidArgument, "dtype"},
      {"unknown dtype", RawFile(R"({"t":{"dtype":"I8","shape":[8],"data_offsets":[0,8]}})", data8),
       absl::StatusCode::kUnimplemented, "I8"},
      {"fp8 dtype", RawFile(R"({"t":{"dtype":"F8_E4M3","shape":[8],"data_offsets":[0,8]}})", data8),
       absl::StatusCode::kUnimplemented, "F8_E4M3"},
      {"negative dim", RawFile(R"({"t":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", data8),
       absl::StatusCode::kInvalidArgument, "shape"},
      {"size mismatch", RawFile(R"({"t":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", data8),
       absl::StatusCode::kInvalidArgument, "3 elements of F32 but 8 bytes"},
      {"shape overflow",
       RawFile(R"({"t":{"dtype":"F32","shape":[4294967296,4294967296,16],"data_offsets":[0,8]}})", data8),
       absl::StatusCode::kInvalidArgument, "overflow"},
      {"end past buffer", RawFile(R"({"t":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})", data8),
       absl::StatusCode::kInvalidArgument, "past the data buffer"},
      {"end before begin", RawFile(R"({"t":{"dtype":"F32","shape":[0],"data_offsets":[8,0]}})", data8),
       absl::StatusCode::kInvalidArgument, "before BEGIN"},
      {"offsets wrong arity", RawFile(R"({"t":{"dtype":"F32","shape":[2],"data_offsets":[0]}})", data8),
       absl::StatusCode::kInvalidArgument, "data_offsets"},
      {"duplicate tensor", RawFile("{" + ok_entry + "," + ok_entry + "}", data8),
       absl::StatusCode::kInvalidArgument, "duplicate"},
      {"duplicate field", RawFile(R"({"t":{"dtype":"F32","dtype":"F32","shape":[2],"data_offsets":[0,8]}})", data8),
       absl::StatusCode::kInvalidArgument, "duplicate"},
      {"overlap",
       RawFile(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
               data8),
       absl::StatusCode::kInvalidArgument, "overlap"},
      {"metadata not object", RawFile(R"({"__metadata__":1})", ""), absl::StatusCode::kInvalidArgument, "__metadata__"},
  };
  for (const BadCase& c : cases) {
    absl::StatusOr<TensorMap> parsed = ParseSafetensors(Bytes(c.file));
    ASSERT_FALSE(parsed.ok()) << c.name;
    EXPECT_EQ(parsed.status().code(), c.code) << c.name << ": " << parsed.status();
    EXPECT_NE(parsed.status().message().find(c.message_part), std::string::npos) << c.name << ": " << parsed.status();
  }
}

TEST(Safetensors, AcceptsPaddedHeaderMetadataAndEmptyTensors) {
  std::string header = R"({"__metadata__":{"format":"pt"},"e":{"dtype":"BF16","shape":[0,4],"data_offsets":[0,0]},)"
                       R"("t":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}    )";
  absl::StatusOr<TensorMap> parsed = ParseSafetensors(Bytes(RawFile(header, std::string(4, '\0'))));
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->size(), 2u);
  EXPECT_EQ(parsed->at("e").num_elements, 0);
}

TEST(Safetensors, EveryTruncationOfAValidFileIsRejectedCleanly) {
  SafetensorsWriter writer;
  std::vector<float> v = {1, 2, 3, 4};
  writer.Add("w", DType::kF32, {2, 2}, v);
  std::string file = writer.Serialize();
  for (size_t n = 0; n < file.size(); ++n) {
    EXPECT_FALSE(ParseSafetensors(Bytes(file.substr(0, n))).ok()) << n;
  }
  EXPECT_TRUE(ParseSafetensors(Bytes(file)).ok());
}

TEST(DType, Bf16RoundsToNearestEven) {
  EXPECT_EQ(F32ToBf16(1.0f), 0x3f80);
  EXPECT_EQ(Bf16ToF32(0x3f80), 1.0f);
  // 1 + 2^-8 is halfway between bf16 1.0 and 1 + 2^-7: ties to even (1.0).
  EXPECT_EQ(F32ToBf16(1.0f + 0x1p-8f), 0x3f80);
  EXPECT_EQ(F32ToBf16(1.0f + 0x1p-8f + 0x1p-20f), 0x3f81);
  EXPECT_TRUE(std::isnan(Bf16ToF32(F32ToBf16(NAN))));
  EXPECT_EQ(F16ToF32(0x7c00), INFINITY);
  EXPECT_EQ(F16ToF32(0x8000), -0.0f);
  EXPECT_EQ(F16ToF32(0x3555), 0.333251953125f);
}

}  // namespace
}  // namespace cai::inference
