#include "services/signer/signature_store.h"

#include <string>

#include <gtest/gtest.h>

namespace cai {
namespace {

class FakeClock {
 public:
  absl::Time Now() const { return now_; }
  void Advance(absl::Duration d) { now_ += d; }
  SignatureStore::Clock AsClock() {
    return [this] { return Now(); };
  }

 private:
  absl::Time now_ = absl::FromUnixSeconds(1'700'000'000);
};

ChatSignatures Entry(std::string id, uint8_t fill = 1) {
  ChatSignatures e;
  e.id = std::move(id);
  e.model = "llama-3.1-8b";
  e.text = std::string(64, 'a') + ":" + std::string(64, 'b');
  e.ecdsa.fill(fill);
  e.ed25519.fill(fill);
  return e;
}

TEST(SignatureStore, InsertAndGet) {
  FakeClock clock;
  SignatureStore store(absl::Minutes(30), 10, clock.AsClock());
  ASSERT_TRUE(store.Insert(Entry("chatcmpl-1", 7)).ok());
  auto got = store.Get("chatcmpl-1");
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->id, "chatcmpl-1");
  EXPECT_EQ(got->model, "llama-3.1-8b");
  EXPECT_EQ(got->ecdsa[0], 7);
  EXPECT_EQ(got->ed25519[63], 7);
  EXPECT_EQ(store.Get("chatcmpl-2").status().code(), absl::StatusCode::kNotFound);
}

TEST(SignatureStore, ExpiresAfterTtl) {
  FakeClock clock;
  SignatureStore store(absl::Minutes(30), 10, clock.AsClock());
  ASSERT_TRUE(store.Insert(Entry("a")).ok());
  clock.Advance(absl::Minutes(29));
  ASSERT_TRUE(store.Insert(Entry("b")).ok());
  EXPECT_TRUE(store.Get("a").ok());
  clock.Advance(absl::Minutes(1));  // a is exactly ttl old
  EXPECT_EQ(store.Get("a").status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(store.Get("b").ok());
  // The next insert purges a.
  EXPECT_EQ(store.size(), 2u);
  ASSERT_TRUE(store.Insert(Entry("c")).ok());
  EXPECT_EQ(store.size(), 2u);
  clock.Advance(absl::Minutes(29));
  EXPECT_EQ(store.Get("b").status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(store.Get("c").ok());
}

TEST(SignatureStore, ExpiredIdCanBeReused) {
  FakeClock clock;
  SignatureStore store(absl::Seconds(10), 10, clock.AsClock());
  ASSERT_TRUE(store.Insert(Entry("a", 1)).ok());
  clock.Advance(absl::Seconds(11));
  ASSERT_TRUE(store.Insert(Entry("a", 2)).ok());
  EXPECT_EQ(store.Get("a")->ecdsa[0], 2);
}

TEST(SignatureStore, DuplicateIdRejected) {
  FakeClock clock;
  SignatureStore store(absl::Minutes(30), 10, clock.AsClock());
  ASSERT_TRUE(store.Insert(Entry("a", 1)).ok());
  EXPECT_EQ(store.Insert(Entry("a", 2)).code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(store.Get("a")->ecdsa[0], 1);  // the first one stays
  EXPECT_EQ(store.size(), 1u);
}

TEST(SignatureStore, EvictsOldestFirst) {
  FakeClock clock;
  SignatureStore store(absl::Minutes(30), 3, clock.AsClock());
  for (std::string id : {"1", "2", "3", "4", "5"}) {
    ASSERT_TRUE(store.Insert(Entry(id)).ok());
    clock.Advance(absl::Seconds(1));
  }
  EXPECT_EQ(store.size(), 3u);
  EXPECT_FALSE(store.Get("1").ok());
  EXPECT_FALSE(store.Get("2").ok());
  EXPECT_TRUE(store.Get("3").ok());
  EXPECT_TRUE(store.Get("4").ok());
  EXPECT_TRUE(store.Get("5").ok());
}

TEST(SignatureStore, FieldLimits) {
  SignatureStore store(absl::Minutes(30), 10);
  EXPECT_EQ(store.Insert(Entry("")).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(store.Insert(Entry(std::string(SignatureStore::kMaxIdBytes, 'x'))).ok());
  EXPECT_EQ(store.Insert(Entry(std::string(SignatureStore::kMaxIdBytes + 1, 'y'))).code(),
            absl::StatusCode::kInvalidArgument);
  ChatSignatures long_model = Entry("m");
  long_model.model.assign(SignatureStore::kMaxModelBytes + 1, 'm');
  EXPECT_EQ(store.Insert(long_model).code(), absl::StatusCode::kInvalidArgument);
  ChatSignatures long_text = Entry("t");
  long_text.text.assign(SignatureStore::kMaxTextBytes + 1, 't');
  EXPECT_EQ(store.Insert(long_text).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store.size(), 1u);
}

TEST(SignatureStore, MemoryStaysFlat) {
  constexpr size_t kMax = 1000;
  FakeClock clock;
  SignatureStore store(absl::Hours(1), kMax, clock.AsClock());
  const size_t bound = kMax * SignatureStore::MaxEntryBytes();
  ASSERT_LT(bound, kMax * 1024);  // the per-entry bound itself is small
  size_t peak = 0;
  for (size_t i = 0; i < 10 * kMax; ++i) {
    ChatSignatures e = Entry("chatcmpl-" + std::to_string(i));
    e.id.resize(SignatureStore::kMaxIdBytes, 'x');  // largest entries
    e.model.assign(SignatureStore::kMaxModelBytes, 'm');
    ASSERT_TRUE(store.Insert(std::move(e)).ok());
    ASSERT_LE(store.size(), kMax);
    peak = std::max(peak, store.size_bytes());
  }
  EXPECT_EQ(store.size(), kMax);
  EXPECT_LE(peak, bound);
  EXPECT_GT(store.size_bytes(), kMax * SignatureStore::kMaxIdBytes);  // accounting is not a stub
  // The newest kMax survive, the rest were evicted.
  std::string last = "chatcmpl-" + std::to_string(10 * kMax - 1);
  last.resize(SignatureStore::kMaxIdBytes, 'x');
  EXPECT_TRUE(store.Get(last).ok());
  std::string first = "chatcmpl-0";
  first.resize(SignatureStore::kMaxIdBytes, 'x');
  EXPECT_FALSE(store.Get(first).ok());
}

TEST(SignatureStore, AllExpiredLeavesNothing) {
  FakeClock clock;
  SignatureStore store(absl::Seconds(5), 100, clock.AsClock());
  for (int i = 0; i < 50; ++i) ASSERT_TRUE(store.Insert(Entry(std::to_string(i))).ok());
  const size_t one = store.size_bytes() / 50;
  clock.Advance(absl::Seconds(6));
  ASSERT_TRUE(store.Insert(Entry("fresh")).ok());
  EXPECT_EQ(store.size(), 1u);
  EXPECT_LE(store.size_bytes(), one + 8);
}

}  // namespace
}  // namespace cai
