// Continuous batching: the block allocator, batched forward passes and the step scheduler.
#include "services/inference/engine/scheduler.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>

#include <gtest/gtest.h>

#include "services/inference/engine/backends/cpu/cpu_backend.h"
#include "services/inference/engine/block_allocator.h"
#include "services/inference/engine/checkpoint.h"
#include "tests/unit/inference/forwarding_backend.h"
#include "tests/unit/inference/greedy_drawing_backend.h"
#include "tests/unit/inference/scheduler_drain.h"
#include "tests/unit/inference/test_model.h"

namespace cai::inference {
namespace {

using testing::GreedyDrawingBackend;
using testing::GreedyRequest;  // with logprobs, so the deltas carry the token ids

TEST(BlockAllocatorTest, AllocatesFreesAndRunsOut) {
  BlockAllocator allocator(5);
  std::vector<int32_t> a, b;
  ASSERT_TRUE(allocator.Allocate(3, a));
  EXPECT_EQ(a.size(), 3u);
  EXPECT_EQ(allocator.num_free(), 2);
  EXPECT_FALSE(allocator.Allocate(3, b));  // all or nothing
  EXPECT_TRUE(b.empty());
  ASSERT_TRUE(allocator.Allocate(2, b));
  EXPECT_EQ(allocator.num_free(), 0);
  std::vector<int32_t> all = a;
  all.insert(all.end(), b.begin(), b.end());
  std::sort(all.begin(), all.end());
  EXPECT_EQ(all, (std::vector<int32_t>{0, 1, 2, 3, 4}));  // distinct ids, the whole pool
  allocator.Free(a);
  EXPECT_TRUE(a.empty());
  EXPECT_EQ(allocator.num_free(), 3);
  ASSERT_TRUE(allocator.Allocate(3, a));
  EXPECT_EQ(allocator.num_free(), 0);
  EXPECT_EQ(KvBlocksFor(0), 0);
  EXPECT_EQ(KvBlocksFor(16), 1);
  EXPECT_EQ(KvBlocksFor(17), 2);
}

TEST(BlockAllocatorTest, SharedBlocksReturnWithTheirLastHolder) {
  BlockAllocator allocator(4);
  std::vector<int32_t> a, b, c;
  ASSERT_TRUE(allocator.Allocate(3, a));
  allocator.Share(std::span(a).first(2), b);
  allocator.Share(std::span(a).first(1), c);
  EXPECT_EQ(b, (std::vector<int32_t>{a[0], a[1]}));
  ASSERT_TRUE(allocator.Allocate(1, b));
  EXPECT_EQ(allocator.num_free(), 0);
  allocator.Free(a);  // only a[2] was a's alone
  EXPECT_EQ(allocator.num_free(), 1);
  allocator.Free(b);  // a[1] and b's own block
  EXPECT_EQ(allocator.num_free(), 3);
  allocator.Free(c);  // a[0], held by c last
  EXPECT_EQ(allocator.num_free(), 4);
  std::vector<int32_t> all;
  ASSERT_TRUE(allocator.Allocate(4, all));
  std::sort(all.begin(), all.end());
  EXPECT_EQ(all, (std::vector<int32_t>{0, 1, 2, 3}));
}

class SchedulerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new testing::TempDir();
    const ModelConfig config = testing::TinyConfig();
    std::filesystem::create_directories(dir_->path() + "/tiny");
    testing::WriteWeights(testing::RandomWeights(config, 5), dir_->path() + "/tiny/model.safetensors");
    absl::StatusOr<std::unique_ptr<Checkpoint>> ckpt = Checkpoint::Open(dir_->path() + "/tiny");
    ASSERT_TRUE(ckpt.ok()) << ckpt.status();
    absl::StatusOr<std::unique_ptr<TransformerModel>> model = TransformerModel::Load(config, **ckpt, 2);
    ASSERT_TRUE(model.ok()) << model.status();
    model_ = model->release();
  }
  static void TearDownTestSuite() {
    delete model_;
    delete dir_;
  }

  static std::vector<int32_t> Prompt(int length, int salt) {
    std::vector<int32_t> prompt(length);
    for (int i = 0; i < length; ++i) prompt[i] = (i * 7 + salt * 13 + 1) % 50;
    return prompt;
  }
  // The CPU engine with a KV cache of `blocks` blocks.
  static CpuBackend Backend(int64_t blocks) { return CpuBackend(*model_, blocks * model_->kv_block_bytes()); }

  // Steps until every request in `ids` ended; the sampled ids of choice 0 per request.
  static std::map<uint64_t, std::vector<int32_t>> Drain(Scheduler& scheduler, const std::vector<uint64_t>& ids,
                                                        std::vector<StepRecord>* records = nullptr) {
    std::map<uint64_t, std::vector<int32_t>> tokens;
    for (auto& [id, drained] : testing::DrainScheduler(scheduler, ids, records)) tokens[id] = std::move(drained.tokens);
    return tokens;
  }

  static std::vector<int32_t> Alone(const GenerationRequest& request) {
    CpuBackend backend = Backend(64);
    Scheduler scheduler(backend, nullptr, {});
    absl::StatusOr<uint64_t> id = scheduler.Add(request);
    EXPECT_TRUE(id.ok()) << id.status();
    return Drain(scheduler, {*id})[*id];
  }

  static testing::TempDir* dir_;
  static TransformerModel* model_;
};
testing::TempDir* SchedulerTest::dir_ = nullptr;
TransformerModel* SchedulerTest::model_ = nullptr;

TEST_F(SchedulerTest, BatchedLogitsEqualSingleSequenceLogits) {
  const size_t vocab = model_->config().vocab_size;
  PagedKvCache paged = model_->NewPagedCache(32);
  BlockAllocator allocator(paged.num_blocks());
  std::vector<std::vector<int32_t>> prompts = {Prompt(5, 1), Prompt(40, 2), Prompt(1, 3), Prompt(17, 4)};
  std::vector<std::vector<int32_t>> tables(prompts.size());
  std::vector<KvCache> caches;
  std::vector<std::vector<float>> single(prompts.size(), std::vector<float>(vocab));
  // Step 1: every prompt as one prefill; step 2: one decode token each.
  for (int step = 0; step < 2; ++step) {
    std::vector<BatchSequence> batch;
    std::vector<int32_t> next(prompts.size());
    for (size_t s = 0; s < prompts.size(); ++s) {
      if (step == 0) {
        caches.push_back(model_->NewCache());
        ASSERT_TRUE(allocator.Allocate(KvBlocksFor(prompts[s].size() + 1), tables[s]));
      }
      next[s] = static_cast<int32_t>(s * 11 % vocab);
      std::span<const int32_t> tokens = step == 0 ? std::span<const int32_t>(prompts[s]) : std::span(&next[s], 1);
      ASSERT_TRUE(model_->Forward(tokens, caches[s], single[s]).ok());
      batch.push_back({tokens, step == 0 ? 0 : static_cast<int64_t>(prompts[s].size()), tables[s]});
    }
    std::vector<float> batched(prompts.size() * vocab);
    ASSERT_TRUE(model_->ForwardBatch(batch, paged, batched).ok());
    for (size_t s = 0; s < prompts.size(); ++s) {
      for (size_t i = 0; i < vocab; ++i) {
        ASSERT_NEAR(batched[s * vocab + i], single[s][i], 1e-5) << "step " << step << " sequence " << s;
      }
    }
  }
  // A table that does not cover the positions is refused.
  std::vector<int32_t> short_table = {0};
  std::vector<int32_t> long_prompt = Prompt(17, 9);
  BatchSequence bad{long_prompt, 0, short_table};
  std::vector<float> logits(vocab);
  EXPECT_FALSE(model_->ForwardBatch({&bad, 1}, paged, logits).ok());
}

TEST_F(SchedulerTest, ForwardBatchWritesTheLogitsOfTheLastRowsAsked) {
  const size_t vocab = model_->config().vocab_size;
  const std::vector<int32_t> prompt = Prompt(21, 5), other = Prompt(3, 6);
  // Logits at each position, one token at a time.
  std::vector<std::vector<float>> at(prompt.size(), std::vector<float>(vocab));
  KvCache cache = model_->NewCache();
  for (size_t p = 0; p < prompt.size(); ++p) ASSERT_TRUE(model_->Forward({&prompt[p], 1}, cache, at[p]).ok());

  PagedKvCache paged = model_->NewPagedCache(8);
  const std::vector<int32_t> table = {0, 1}, other_table = {2};
  const std::vector<BatchSequence> batch = {{prompt, 0, table, 7}, {other, 0, other_table}};
  ASSERT_EQ(CountLogitRows(batch), 8u);
  std::vector<float> logits(8 * vocab);
  ASSERT_TRUE(model_->ForwardBatch(batch, paged, logits).ok());
  for (size_t r = 0; r < 7; ++r) {
    for (size_t i = 0; i < vocab; ++i) ASSERT_NEAR(logits[r * vocab + i], at[14 + r][i], 1e-5) << "row " << r;
  }
  std::vector<float> other_last(vocab);  // the next sequence's row follows
  KvCache other_cache = model_->NewCache();
  ASSERT_TRUE(model_->Forward(other, other_cache, other_last).ok());
  for (size_t i = 0; i < vocab; ++i) ASSERT_NEAR(logits[7 * vocab + i], other_last[i], 1e-5);

  for (int32_t rows : {0, 22}) {
    const BatchSequence bad{prompt, 0, table, rows};
    std::vector<float> out(std::max(rows, 1) * vocab);
    EXPECT_FALSE(model_->ForwardBatch({&bad, 1}, paged, out).ok()) << rows << " rows";
  }
  std::vector<float> short_buffer(7 * vocab);
  EXPECT_FALSE(model_->ForwardBatch(batch, paged, short_buffer).ok());
}

// Each prompt token after the first, scored from the logits of the positions before it.
std::vector<SampledToken> ExpectedScores(const TransformerModel& model, const std::vector<int32_t>& prompt, int top) {
  std::vector<float> logits(model.config().vocab_size);
  std::vector<int32_t> order;
  std::vector<SampledToken> out;
  KvCache cache = model.NewCache();
  for (size_t p = 0; p + 1 < prompt.size(); ++p) {
    EXPECT_TRUE(model.Forward({&prompt[p], 1}, cache, logits).ok());
    out.push_back(ScoreToken(logits, prompt[p + 1], top, order));
  }
  return out;
}

TEST_F(SchedulerTest, PromptScoresAreEachTokensLogprobGivenThoseBefore) {
  GenerationRequest scored = GreedyRequest(Prompt(40, 7), 6);
  scored.prompt_logprobs = true;
  scored.top_logprobs = 3;
  scored.n = 2;
  const std::vector<SampledToken> want = ExpectedScores(*model_, scored.prompt, 3);
  // The top alternatives are not all the scored token: the test reads more than one id per row.
  ASSERT_TRUE(std::any_of(want.begin(), want.end(), [](const SampledToken& t) { return t.top[0].id != t.id; }));

  // Without logprobs a scored prompt's last row is drawn on the device, its other rows come back.
  GenerationRequest drawn = scored;
  drawn.prompt = Prompt(23, 9);
  drawn.logprobs = false;
  drawn.top_logprobs = 0;
  drawn.n = 1;
  drawn.sampling.seed = 77;

  CpuBackend cpu = Backend(64);
  GreedyDrawingBackend backend(cpu);
  Scheduler scheduler(backend, nullptr, {.max_batch_tokens = 16, .max_running = 8, .max_scored_positions = 5});
  const uint64_t with_scores = *scheduler.Add(scored);
  const uint64_t beside = *scheduler.Add(GreedyRequest(Prompt(9, 8), 12));  // shares the steps
  const uint64_t drawn_id = *scheduler.Add(drawn);
  std::vector<StepRecord> records;
  std::map<uint64_t, testing::Drained> out = testing::DrainScheduler(scheduler, {with_scores, beside, drawn_id}, &records);
  testing::ExpectScores(out[with_scores].prompt, want);
  EXPECT_FALSE(out[with_scores].score_after_token);
  EXPECT_TRUE(out[beside].prompt.empty());
  testing::ExpectScores(out[drawn_id].prompt, ExpectedScores(*model_, drawn.prompt, 0));
  drawn.prompt_logprobs = false;
  drawn.logprobs = true;
  EXPECT_EQ(backend.Drawn(77), Alone(drawn));
  // A scoring chunk holds at most 1 + 5 rows; the prompt's 40 tokens take 7 steps, not 3.
  int prompt_steps = 0;
  for (const StepRecord& record : records) {
    for (const ScheduledChunk& chunk : record.chunks) {
      if (chunk.request != with_scores || chunk.choice != 0 || chunk.start >= 40) continue;
      EXPECT_LE(chunk.tokens, 6) << "at " << chunk.start;
      ++prompt_steps;
    }
  }
  EXPECT_EQ(prompt_steps, 7);
  // Scoring changes nothing generated.
  GenerationRequest plain = scored;
  plain.prompt_logprobs = false;
  plain.n = 1;
  EXPECT_EQ(out[with_scores].tokens, Alone(plain));
  EXPECT_EQ(scheduler.free_blocks(), scheduler.num_blocks());
}

// A backend with room for few logit rows: the scheduler must never ask for more.
class FewRowsBackend final : public testing::ForwardingBackend {
 public:
  FewRowsBackend(ForwardBackend& inner, int rows) : ForwardingBackend(inner), rows_(rows) {}
  int max_logit_rows() const override { return rows_; }
  absl::Status ForwardBatch(std::span<const BatchSequence> batch, std::span<float> logits) override {
    const int rows = static_cast<int>(CountLogitRows(batch));
    EXPECT_LE(rows, rows_);
    most_ = std::max(most_, rows);
    return inner_.ForwardBatch(batch, logits);
  }
  int most() const { return most_; }

 private:
  const int rows_;
  int most_ = 0;
};

TEST_F(SchedulerTest, ScoringStaysWithinTheBackendsLogitRows) {
  std::vector<GenerationRequest> requests = {GreedyRequest(Prompt(30, 13), 5), GreedyRequest(Prompt(25, 14), 5),
                                             GreedyRequest(Prompt(6, 15), 20)};
  requests[0].prompt_logprobs = requests[1].prompt_logprobs = true;
  CpuBackend cpu = Backend(64);
  FewRowsBackend backend(cpu, 6);
  Scheduler scheduler(backend, nullptr, {.max_batch_tokens = 64, .max_running = 8, .max_scored_positions = 64});
  std::vector<uint64_t> ids;
  for (const GenerationRequest& r : requests) ids.push_back(*scheduler.Add(r));
  std::map<uint64_t, testing::Drained> out = testing::DrainScheduler(scheduler, ids);
  EXPECT_EQ(backend.most(), 6);  // the room was used, and no more
  for (int i = 0; i < 2; ++i) testing::ExpectScores(out[ids[i]].prompt, ExpectedScores(*model_, requests[i].prompt, 0));
  for (size_t i = 0; i < requests.size(); ++i) EXPECT_EQ(out[ids[i]].tokens, Alone(requests[i])) << i;
}

TEST_F(SchedulerTest, APromptPreemptedWhileScoredIsScoredOnce) {
  // A grows to 5 blocks while B prefills 2 positions a step (1 scored row beyond its own): in a
  // pool of 6 blocks B is preempted halfway through its prompt, and recomputes it after A.
  const GenerationRequest a = GreedyRequest(Prompt(40, 11), 30);
  GenerationRequest b = GreedyRequest(Prompt(40, 12), 4);
  b.prompt_logprobs = true;
  b.top_logprobs = 2;
  const std::vector<SampledToken> want = ExpectedScores(*model_, b.prompt, 2);

  CpuBackend backend = Backend(6);
  Scheduler scheduler(backend, nullptr, {.max_batch_tokens = 64, .max_running = 8, .max_scored_positions = 1});
  const uint64_t first = *scheduler.Add(a);
  ASSERT_EQ(scheduler.Step().chunks.size(), 1u);  // A's prompt, alone
  const uint64_t second = *scheduler.Add(b);
  std::vector<StepRecord> records;
  std::map<uint64_t, testing::Drained> out = testing::DrainScheduler(scheduler, {first, second}, &records);
  EXPECT_GT(scheduler.preemptions(), 0);
  int restarts = 0;  // B's chunks from position 0: the first, and the recompute
  for (const StepRecord& record : records) {
    for (const ScheduledChunk& chunk : record.chunks) restarts += chunk.request == second && chunk.start == 0;
  }
  EXPECT_EQ(restarts, 2);
  testing::ExpectScores(out[second].prompt, want);
  EXPECT_FALSE(out[second].score_after_token);
  GenerationRequest plain = b;
  plain.prompt_logprobs = false;
  EXPECT_EQ(out[second].tokens, Alone(plain));
  EXPECT_EQ(out[first].tokens, Alone(a));
}

TEST_F(SchedulerTest, GreedyTokensAreTheSameAloneAndBatched) {
  std::vector<GenerationRequest> requests;
  for (int i = 0; i < 4; ++i) requests.push_back(GreedyRequest(Prompt(3 + 9 * i, i), 20));
  CpuBackend backend = Backend(64);
  Scheduler scheduler(backend, nullptr, {});
  std::vector<uint64_t> ids;
  for (const GenerationRequest& r : requests) ids.push_back(*scheduler.Add(r));
  std::vector<StepRecord> records;
  std::map<uint64_t, std::vector<int32_t>> batched = Drain(scheduler, ids, &records);
  EXPECT_EQ(records.front().chunks.size(), 4u);  // all four really shared steps
  EXPECT_EQ(records[1].chunks.size(), 4u);
  for (size_t i = 0; i < requests.size(); ++i) {
    EXPECT_EQ(batched[ids[i]].size(), 20u);
    EXPECT_EQ(batched[ids[i]], Alone(requests[i])) << "request " << i;
  }
  EXPECT_EQ(scheduler.free_blocks(), scheduler.num_blocks());
}

TEST_F(SchedulerTest, NewRequestsJoinAtTokenBoundaries) {
  const GenerationRequest first = GreedyRequest(Prompt(6, 1), 12), second = GreedyRequest(Prompt(9, 2), 5);
  CpuBackend backend = Backend(64);
  Scheduler scheduler(backend, nullptr, {});
  const uint64_t a = *scheduler.Add(first);
  for (int i = 0; i < 3; ++i) ASSERT_EQ(scheduler.Step().chunks.size(), 1u);
  const uint64_t b = *scheduler.Add(second);
  StepRecord joined = scheduler.Step();
  ASSERT_EQ(joined.chunks.size(), 2u);
  EXPECT_EQ(joined.chunks[0].request, a);
  EXPECT_EQ(joined.chunks[0].tokens, 1);  // a keeps decoding...
  EXPECT_EQ(joined.chunks[0].start, 6 + 2);
  EXPECT_EQ(joined.chunks[1].request, b);  // ...while b prefills beside it
  EXPECT_EQ(joined.chunks[1].tokens, 9);
  std::vector<OwnedDelta> early = scheduler.TakeDeltas(a);
  std::map<uint64_t, std::vector<int32_t>> rest = Drain(scheduler, {a, b});
  EXPECT_EQ(rest[b], Alone(second));
  EXPECT_EQ(rest[a], Alone(first));  // with logprobs and no text, a's tokens all come on its finish
  EXPECT_TRUE(early.empty());
}

TEST_F(SchedulerTest, PreemptionByRecomputeGivesTheSameGreedyOutput) {
  // Three sequences of 8 + 40 positions (3 blocks each) in a pool of 5 blocks.
  std::vector<GenerationRequest> requests;
  for (int i = 0; i < 3; ++i) requests.push_back(GreedyRequest(Prompt(8, 10 + i), 40));
  CpuBackend backend = Backend(5);
  Scheduler scheduler(backend, nullptr, {});
  std::vector<uint64_t> ids;
  for (const GenerationRequest& r : requests) ids.push_back(*scheduler.Add(r));
  std::vector<StepRecord> records;
  std::map<uint64_t, std::vector<int32_t>> out = Drain(scheduler, ids, &records);
  EXPECT_GT(scheduler.preemptions(), 0);
  bool recomputed = false;  // a chunk longer than the prompt re-feeds generated tokens
  for (const StepRecord& r : records) {
    for (const ScheduledChunk& c : r.chunks) recomputed |= c.start == 0 && c.tokens > 8;
  }
  EXPECT_TRUE(recomputed);
  for (size_t i = 0; i < requests.size(); ++i) EXPECT_EQ(out[ids[i]], Alone(requests[i])) << "request " << i;
  EXPECT_EQ(scheduler.free_blocks(), 5);
}

TEST_F(SchedulerTest, SequenceThatCannotFitFailsInsteadOfLooping) {
  CpuBackend backend = Backend(2);
  Scheduler scheduler(backend, nullptr, {});
  EXPECT_TRUE(absl::IsResourceExhausted(scheduler.Add(GreedyRequest(Prompt(40, 1), 4)).status()));
  const uint64_t id = *scheduler.Add(GreedyRequest(Prompt(20, 1), 30));  // fits at first, outgrows 32 positions
  for (int i = 0; i < 100 && scheduler.HasWork(); ++i) scheduler.Step();
  std::optional<absl::StatusOr<GenerationResult>> result = scheduler.TakeResult(id);
  ASSERT_TRUE(result.has_value());
  EXPECT_TRUE(absl::IsResourceExhausted(result->status())) << result->status();
  EXPECT_EQ(scheduler.free_blocks(), 2);
}

TEST_F(SchedulerTest, CancellationFreesBlocksAtOnce) {
  CpuBackend backend = Backend(16);
  Scheduler scheduler(backend, nullptr, {});
  const uint64_t a = *scheduler.Add(GreedyRequest(Prompt(30, 1), 50));
  const uint64_t b = *scheduler.Add(GreedyRequest(Prompt(5, 2), 50));
  for (int i = 0; i < 4; ++i) scheduler.Step();
  EXPECT_EQ(scheduler.free_blocks(), 16 - 3 - 1);
  scheduler.Cancel(a);
  EXPECT_EQ(scheduler.free_blocks(), 16 - 1);  // before any further step
  std::optional<absl::StatusOr<GenerationResult>> result = scheduler.TakeResult(a);
  ASSERT_TRUE(result.has_value());
  EXPECT_TRUE(absl::IsCancelled(result->status()));
  StepRecord next = scheduler.Step();
  ASSERT_EQ(next.chunks.size(), 1u);
  EXPECT_EQ(next.chunks[0].request, b);
  scheduler.Cancel(b);
  EXPECT_EQ(scheduler.free_blocks(), 16);
  EXPECT_FALSE(scheduler.HasWork());
}

TEST_F(SchedulerTest, ChunkedPrefillInterleavesWithDecode) {
  const GenerationRequest running = GreedyRequest(Prompt(4, 1), 30), long_prompt = GreedyRequest(Prompt(60, 2), 3);
  CpuBackend backend = Backend(64);
  Scheduler scheduler(backend, nullptr, {.max_batch_tokens = 8});
  const uint64_t a = *scheduler.Add(running);
  scheduler.Step();  // a's prefill
  const uint64_t b = *scheduler.Add(long_prompt);
  // 60 prompt tokens at 7 per step (the 8th is a's decode): 9 steps in which both advance.
  int64_t prefilled = 0;
  for (int step = 0; step < 9; ++step) {
    StepRecord r = scheduler.Step();
    ASSERT_EQ(r.chunks.size(), 2u) << "step " << step;
    EXPECT_EQ(r.chunks[0].request, a);
    EXPECT_EQ(r.chunks[0].tokens, 1);
    EXPECT_EQ(r.chunks[1].request, b);
    EXPECT_EQ(r.chunks[1].start, prefilled);
    EXPECT_LE(r.chunks[1].tokens, 7);
    prefilled += r.chunks[1].tokens;
  }
  EXPECT_EQ(prefilled, 60);
  std::map<uint64_t, std::vector<int32_t>> out = Drain(scheduler, {a, b});
  EXPECT_EQ(out[a], Alone(running));
  EXPECT_EQ(out[b], Alone(long_prompt));
}

// Each choice's sampled ids for request `id`, stepping until it ends.
std::map<int, std::vector<int32_t>> DrainChoices(Scheduler& scheduler, uint64_t id,
                                                 std::vector<StepRecord>* records = nullptr) {
  std::map<int, std::vector<int32_t>> tokens;
  for (int guard = 0; guard < 10000; ++guard) {
    StepRecord record = scheduler.Step();
    if (records) records->push_back(record);
    for (const OwnedDelta& d : scheduler.TakeDeltas(id)) {
      for (const SampledToken& t : d.tokens) tokens[d.index].push_back(t.id);
    }
    if (std::optional<absl::StatusOr<GenerationResult>> result = scheduler.TakeResult(id)) {
      EXPECT_TRUE(result->ok()) << result->status();
      return tokens;
    }
  }
  ADD_FAILURE() << "request " << id << " did not end";
  return tokens;
}

TEST_F(SchedulerTest, ChoicesShareThePromptsBlocksAndDrawAsAlone) {
  // 40 prompt tokens: choice 0 prefills them; the others take over blocks 0-1 (positions 0..31)
  // and compute positions 32..39 themselves. Each choice must draw what a lone request with its
  // seed (seed + index) draws.
  GenerationRequest request = GreedyRequest(Prompt(40, 7), 12);
  request.sampling = {.temperature = 1.0f, .seed = 500};
  request.n = 4;
  for (int64_t blocks : {64, 8}) {  // 8: room for choice 0 and two more at a time, so some wait or are preempted
    CpuBackend backend = Backend(blocks);
    Scheduler scheduler(backend, nullptr, {});
    const uint64_t id = *scheduler.Add(request);
    std::vector<StepRecord> records;
    std::map<int, std::vector<int32_t>> choices = DrainChoices(scheduler, id, &records);
    ASSERT_EQ(choices.size(), 4u);
    for (int i = 0; i < 4; ++i) {
      GenerationRequest alone = request;
      alone.n = 1;
      alone.sampling.seed = 500 + i;
      EXPECT_EQ(choices[i], Alone(alone)) << "choice " << i << ", " << blocks << " blocks";
    }
    // Choices 1..3 began at position 32, on choice 0's blocks, unless preempted and recomputed.
    std::map<int, int64_t> first_start;
    for (const StepRecord& r : records) {
      for (const ScheduledChunk& c : r.chunks) first_start.try_emplace(c.choice, c.start);
    }
    EXPECT_EQ(first_start[0], 0);
    for (int i = 1; i < 4; ++i) EXPECT_EQ(first_start[i], 32) << "choice " << i << ", " << blocks << " blocks";
    EXPECT_EQ(scheduler.free_blocks(), blocks);  // shared blocks are returned once, by the last holder
  }
}

TEST_F(SchedulerTest, WaitingChoicesGiveTheirSharedBlocksBackRatherThanFailOthers) {
  // 4 blocks. X (16 + 40 positions) needs all 4 alone. A's choice 0 prefills 40 tokens, forks its
  // sibling onto blocks 0-1 and ends at once (max_tokens 1); the waiting sibling must not keep
  // those blocks while X outgrows what is left, nor fail itself.
  const GenerationRequest x = GreedyRequest(Prompt(16, 30), 40);
  GenerationRequest a = GreedyRequest(Prompt(40, 31), 1);
  a.n = 2;
  CpuBackend backend = Backend(4);
  Scheduler scheduler(backend, nullptr, {});
  const uint64_t x_id = *scheduler.Add(x), a_id = *scheduler.Add(a);
  std::map<uint64_t, std::vector<int32_t>> out = Drain(scheduler, {x_id, a_id});
  EXPECT_EQ(out[x_id], Alone(x));
  GenerationRequest a_alone = a;
  a_alone.n = 1;
  EXPECT_EQ(out[a_id], Alone(a_alone));
  EXPECT_EQ(scheduler.free_blocks(), 4);
}

TEST_F(SchedulerTest, ChoicesOfAShortPromptDoNotWaitToShare) {
  // 16 tokens: no whole block before the last token, so nothing to share and nobody waits.
  GenerationRequest request = GreedyRequest(Prompt(16, 8), 4);
  request.n = 3;
  CpuBackend backend = Backend(16);
  Scheduler scheduler(backend, nullptr, {});
  scheduler.Add(request).value();
  StepRecord first = scheduler.Step();
  ASSERT_EQ(first.chunks.size(), 3u);
  for (const ScheduledChunk& c : first.chunks) EXPECT_EQ(c.tokens, 16);
}

TEST_F(SchedulerTest, CancellingBeforeTheFork) {
  GenerationRequest request = GreedyRequest(Prompt(100, 9), 4);
  request.n = 3;
  CpuBackend backend = Backend(64);
  Scheduler scheduler(backend, nullptr, {.max_batch_tokens = 16});
  const uint64_t id = *scheduler.Add(request);
  scheduler.Step();  // choice 0 has 16 of 100 prompt tokens; the others wait for it
  scheduler.Cancel(id);
  EXPECT_EQ(scheduler.free_blocks(), 64);
  EXPECT_FALSE(scheduler.HasWork());
  EXPECT_TRUE(absl::IsCancelled(scheduler.TakeResult(id)->status()));
}

TEST_F(SchedulerTest, TokensDrawnByTheBackendEqualTheHostSamplers) {
  // Greedy with logit bias and penalties (so the adjustments matter), one choice with logprobs
  // (which must stay on the host), and a pool of 5 blocks, so recomputation after preemption must
  // continue each choice's draw numbers.
  std::vector<GenerationRequest> requests;
  for (int i = 0; i < 3; ++i) {
    GenerationRequest r = GreedyRequest(Prompt(8, 20 + i), 40);
    r.sampling.seed = 100 * (i + 1);
    r.sampling.presence_penalty = 0.5f * static_cast<float>(i);
    r.sampling.frequency_penalty = 0.7f;
    r.sampling.logit_bias = {{static_cast<int32_t>(3 + i), 4.0f}, {static_cast<int32_t>(9 + i), -100.0f}};
    requests.push_back(r);
  }
  std::vector<std::vector<int32_t>> on_host;
  for (const GenerationRequest& r : requests) on_host.push_back(Alone(r));  // logprobs on: sampled on the host
  GenerationRequest unpenalized = requests[0];
  unpenalized.sampling = {.temperature = 0.0f};
  ASSERT_NE(Alone(unpenalized), on_host[0]) << "the adjustments must change the output for this test to mean anything";

  CpuBackend cpu = Backend(5);
  GreedyDrawingBackend backend(cpu);
  Scheduler scheduler(backend, nullptr, {});
  std::vector<uint64_t> ids;
  for (size_t i = 0; i < requests.size(); ++i) {
    GenerationRequest r = requests[i];
    r.logprobs = i == 2;  // the third keeps logprobs: its logits come back and the host samples it
    ids.push_back(*scheduler.Add(r));
  }
  std::map<uint64_t, std::vector<int32_t>> from_deltas = Drain(scheduler, ids);
  EXPECT_GT(scheduler.preemptions(), 0);
  EXPECT_EQ(backend.Drawn(100), on_host[0]);
  EXPECT_EQ(backend.Drawn(200), on_host[1]);
  EXPECT_TRUE(backend.Drawn(300).empty());
  EXPECT_EQ(from_deltas[ids[2]], on_host[2]);
}

}  // namespace
}  // namespace cai::inference
