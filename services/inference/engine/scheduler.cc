#include "services/inference/engine/scheduler.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace cai::inference {

namespace {

SchedulerOptions CappedBy(const ForwardBackend& backend, SchedulerOptions options) {
  options.max_batch_tokens = std::min(options.max_batch_tokens, backend.max_batch_tokens());
  options.max_running = std::min(options.max_running, backend.max_batch_sequences());
  return options;
}

}  // namespace

Scheduler::Scheduler(ForwardBackend& backend, const Tokenizer* tokenizer, const SchedulerOptions& options)
    : backend_(backend),
      tokenizer_(tokenizer),
      options_(CappedBy(backend, options)),
      allocator_(backend.num_kv_blocks()),
      // Built here, once, rather than at the first JSON request, which would stall every running
      // stream for it (~0.2 s at a 128k vocabulary: cai-bench-json-mask).
      json_mask_(tokenizer != nullptr ? std::make_unique<JsonTokenMask>(*tokenizer) : nullptr) {}

absl::StatusOr<uint64_t> Scheduler::Add(const GenerationRequest& params) {
  const int64_t context = backend_.context_length();
  absl::Status valid = ValidateGenerationRequest(params, context, static_cast<int32_t>(backend_.config().vocab_size));
  if (!valid.ok()) return valid;
  // A sequence must at least fit its prompt and one generated token in the whole pool.
  if (KvBlocksFor(static_cast<int64_t>(params.prompt.size()) + 1) > num_blocks()) {
    return absl::ResourceExhaustedError(absl::StrCat("the prompt of ", params.prompt.size(),
                                                     " tokens does not fit the KV cache of ", num_blocks(),
                                                     " blocks of ", kKvBlockSize, " positions"));
  }
  if ((params.format != OutputFormat::kText || params.tool_choice != ToolChoice::kNone) && json_mask_ == nullptr) {
    return absl::InvalidArgumentError("JSON mode and tool calls need the model's tokenizer");
  }
  auto request = std::make_unique<Request>();
  request->id = next_id_++;
  request->params = params;
  request->result.prompt_tokens = static_cast<int64_t>(params.prompt.size());
  request->result.finish_reasons.assign(params.n, FinishReason::kLength);
  const int64_t budget = GenerationBudget(params, context);
  // Every choice computes at least the prompt's last token itself: its logits are its first draw.
  request->shared_positions = (static_cast<int64_t>(params.prompt.size()) - 1) / kKvBlockSize * kKvBlockSize;
  for (int i = 0; i < params.n; ++i) {
    auto seq = std::make_unique<Sequence>();
    seq->request = request.get();
    seq->choice = i;
    seq->tokens = params.prompt;
    seq->stream = std::make_unique<ChoiceStream>(i, request->params, budget, tokenizer_, json_mask_.get());
    if (i > 0 && request->shared_positions > 0) {
      request->unforked.push_back(seq.get());
    } else {
      waiting_.push_back(seq.get());
    }
    request->sequences.push_back(std::move(seq));
  }
  request->active = params.n;
  const uint64_t id = request->id;
  requests_[id] = std::move(request);
  return id;
}

void Scheduler::Cancel(uint64_t id, absl::Status why) {
  auto it = requests_.find(id);
  if (it == requests_.end() || it->second->active == 0) return;
  Fail(*it->second, std::move(why));
}

std::vector<OwnedDelta> Scheduler::TakeDeltas(uint64_t id) {
  auto it = requests_.find(id);
  if (it == requests_.end()) return {};
  return std::exchange(it->second->deltas, {});
}

std::optional<absl::StatusOr<GenerationResult>> Scheduler::TakeResult(uint64_t id) {
  auto it = requests_.find(id);
  if (it == requests_.end()) return absl::NotFoundError("no such request");
  if (it->second->active > 0) return std::nullopt;
  std::unique_ptr<Request> request = std::move(it->second);
  requests_.erase(it);
  if (request->error) return *request->error;
  return std::move(request->result);
}

bool Scheduler::Reserve(Sequence& seq, int64_t positions) {
  const int64_t missing = KvBlocksFor(positions) - static_cast<int64_t>(seq.blocks.size());
  return missing <= 0 || allocator_.Allocate(missing, seq.blocks);
}

void Scheduler::Preempt(Sequence& seq) {
  allocator_.Free(seq.blocks);
  seq.computed = 0;
  running_.erase(std::find(running_.begin(), running_.end(), &seq));
  waiting_.push_front(&seq);
  ++preemptions_;
}

void Scheduler::Release(Sequence& seq) {
  allocator_.Free(seq.blocks);
  seq.finished = true;
  running_.erase(std::remove(running_.begin(), running_.end(), &seq), running_.end());
  waiting_.erase(std::remove(waiting_.begin(), waiting_.end(), &seq), waiting_.end());
}

void Scheduler::Fork(Sequence& leader) {
  Request& request = *leader.request;
  const std::span<const int32_t> prefix(leader.blocks.data(),
                                        static_cast<size_t>(request.shared_positions / kKvBlockSize));
  // To the front of the queue, in choice order: they belong to a request already running.
  for (auto it = request.unforked.rbegin(); it != request.unforked.rend(); ++it) {
    Sequence& sibling = **it;
    allocator_.Share(prefix, sibling.blocks);
    sibling.computed = request.shared_positions;
    waiting_.push_front(&sibling);
  }
  request.unforked.clear();
}

bool Scheduler::ReclaimWaiting() {
  const int64_t free_before = allocator_.num_free();
  for (Sequence* seq : waiting_) {
    if (seq->blocks.empty()) continue;
    allocator_.Free(seq->blocks);
    seq->computed = 0;
  }
  return allocator_.num_free() > free_before;
}

void Scheduler::Fail(Request& request, absl::Status status) {
  for (auto& seq : request.sequences) {
    if (!seq->finished) Release(*seq);
  }
  request.unforked.clear();
  request.active = 0;
  request.deltas.clear();
  request.error = std::move(status);
}

void Scheduler::Sample(Sequence& seq, std::span<const float> logits) {
  std::optional<OwnedDelta> delta;
  const int32_t token = seq.stream->Next(logits, delta);
  Advance(seq, token, std::move(delta));
}

void Scheduler::Accept(Sequence& seq, int32_t token) {
  std::optional<OwnedDelta> delta;
  seq.stream->Accept(token, delta);
  Advance(seq, token, std::move(delta));
}

void Scheduler::Advance(Sequence& seq, int32_t token, std::optional<OwnedDelta> delta) {
  Request& request = *seq.request;
  ++request.result.completion_tokens;
  if (delta) request.deltas.push_back(*std::move(delta));
  if (seq.stream->done()) {
    request.result.finish_reasons[seq.choice] = *seq.stream->finish();
    Release(seq);
    --request.active;
    return;
  }
  seq.tokens.push_back(token);
}

std::optional<int64_t> Scheduler::NextScoredPosition(const Sequence& seq) const {
  const Request& request = *seq.request;
  if (seq.choice != 0 || !request.params.prompt_logprobs) return std::nullopt;
  const int64_t first = std::max(seq.computed, request.scored);
  if (first >= static_cast<int64_t>(request.params.prompt.size()) - 1) return std::nullopt;
  return first;
}

void Scheduler::ScorePrompt(Request& request, int64_t first, int64_t end, std::span<const float> logits) {
  const size_t vocab = static_cast<size_t>(backend_.config().vocab_size);
  const int64_t last = std::min(end, static_cast<int64_t>(request.params.prompt.size()) - 1);
  OwnedDelta delta;
  for (int64_t p = first; p < last; ++p) {
    const std::span<const float> row = logits.subspan(static_cast<size_t>(p - first) * vocab, vocab);
    delta.prompt_tokens.push_back(ScoreToken(row, request.params.prompt[p + 1], request.params.top_logprobs, score_order_));
  }
  request.scored = last;
  request.deltas.push_back(std::move(delta));
}

StepRecord Scheduler::Step() {
  StepRecord record;
  int64_t budget = options_.max_batch_tokens;
  // Rows beyond one per sequence: what the backend has left after a row for each sequence this
  // step can run.
  const int64_t sequences = std::min<int64_t>(options_.max_running, static_cast<int64_t>(running_.size() + waiting_.size()));
  int64_t scoring_rows =
      std::max<int64_t>(0, std::min<int64_t>(options_.max_scored_positions, backend_.max_logit_rows() - sequences));
  std::vector<Sequence*> scheduled;
  std::vector<int64_t> counts;
  std::vector<int32_t> rows;
  std::vector<int64_t> scored_from;  // the chunk's first position that scores the prompt; -1: none
  // The chunk `seq` may run, and its first position to score (-1: none). A chunk that scores stops
  // where its rows would outrun the step's room.
  auto chunk = [&](const Sequence& seq) {
    int64_t take = std::min(static_cast<int64_t>(seq.tokens.size()) - seq.computed, budget);
    const std::optional<int64_t> first = NextScoredPosition(seq);
    if (first) take = std::min(take, *first + 1 + scoring_rows - seq.computed);
    return std::pair{take, first.value_or(-1)};
  };
  // Its logits are those of the scored positions through the chunk's last, or of its last alone.
  auto schedule = [&](Sequence* seq, int64_t take, int64_t first) {
    const bool scores = first >= 0 && first < seq->computed + take;
    const int32_t count = scores ? static_cast<int32_t>(seq->computed + take - first) : 1;
    scoring_rows -= count - 1;
    scheduled.push_back(seq);
    counts.push_back(take);
    rows.push_back(count);
    scored_from.push_back(scores ? first : -1);
    budget -= take;
  };

  // Running sequences first, oldest first; a block shortage preempts from the newest end.
  for (size_t i = 0; i < running_.size() && budget > 0; ++i) {
    Sequence* seq = running_[i];
    const auto [take, first] = chunk(*seq);
    bool preempted_self = false;
    while (!Reserve(*seq, seq->computed + take)) {
      if (ReclaimWaiting()) continue;
      Sequence* victim = running_.back();
      if (victim == seq && running_.size() == 1) {
        // Alone and still out of blocks: it can never fit, recomputing would loop forever.
        Fail(*seq->request, absl::ResourceExhaustedError(absl::StrCat(
                                "the sequence outgrew the KV cache of ", num_blocks(), " blocks")));
        preempted_self = true;
        break;
      }
      Preempt(*victim);
      ++record.preempted;
      if (victim == seq) {
        preempted_self = true;
        break;
      }
    }
    if (preempted_self) break;
    schedule(seq, take, first);
  }

  // Then admit waiting sequences in order while the budget and the pool allow.
  while (record.preempted == 0 && budget > 0 && !waiting_.empty() &&
         static_cast<int>(running_.size()) < options_.max_running) {
    Sequence* seq = waiting_.front();
    const auto [take, first] = chunk(*seq);
    if (!Reserve(*seq, seq->computed + take)) {
      if (ReclaimWaiting()) continue;  // again, from what `seq` itself may now have to recompute
      if (running_.empty()) {
        // The whole pool is free and still too small: waiting would never end.
        Fail(*seq->request, absl::ResourceExhaustedError("the sequence does not fit the KV cache"));
        continue;
      }
      break;
    }
    waiting_.pop_front();
    running_.push_back(seq);
    schedule(seq, take, first);
  }
  if (scheduled.empty()) return record;

  std::vector<BatchSequence> batch;
  for (size_t i = 0; i < scheduled.size(); ++i) {
    const Sequence& seq = *scheduled[i];
    batch.push_back({std::span<const int32_t>(seq.tokens).subspan(seq.computed, counts[i]), seq.computed, seq.blocks,
                     rows[i]});
    record.chunks.push_back({seq.request->id, seq.choice, seq.computed, counts[i]});
  }
  const size_t vocab = static_cast<size_t>(backend_.config().vocab_size);
  logits_.resize(CountLogitRows(batch) * vocab);
  // Sequences that sample this step draw on the device where the backend can and the choice allows.
  draws_.clear();
  draws_.reserve(scheduled.size());  // draw_of_ points into it
  draw_of_.assign(scheduled.size(), nullptr);
  if (backend_.samples_on_device()) {
    for (size_t i = 0; i < scheduled.size(); ++i) {
      const Sequence& seq = *scheduled[i];
      if (seq.computed + counts[i] == static_cast<int64_t>(seq.tokens.size()) && seq.stream->DeviceDrawable()) {
        draws_.push_back(seq.stream->NextDraw());
        draw_of_[i] = &draws_.back();
      }
    }
  }
  drawn_.assign(scheduled.size(), -1);
  absl::Status status = draws_.empty() ? backend_.ForwardBatch(batch, logits_)
                                       : backend_.ForwardBatchAndDraw(batch, draw_of_, logits_, drawn_);
  size_t row_end = 0;  // past sequence i's rows
  for (size_t i = 0; i < scheduled.size(); ++i) {
    Sequence& seq = *scheduled[i];
    row_end += static_cast<size_t>(rows[i]);
    if (seq.finished) continue;  // its request failed with an earlier one of this step
    if (!status.ok()) {
      Fail(*seq.request, status);
      continue;
    }
    const std::span<const float> seq_logits =
        std::span<const float>(logits_).subspan((row_end - rows[i]) * vocab, rows[i] * vocab);
    if (scored_from[i] >= 0) ScorePrompt(*seq.request, scored_from[i], seq.computed + counts[i], seq_logits);
    seq.computed += counts[i];
    if (!seq.request->unforked.empty() && seq.choice == 0 && seq.computed >= seq.request->shared_positions) {
      Fork(seq);  // before the draw, which may end choice 0 and free its blocks
    }
    // Logits of the last token are the next token's distribution once nothing is left to feed.
    if (seq.computed == static_cast<int64_t>(seq.tokens.size())) {
      if (draw_of_[i] != nullptr) {
        if (drawn_[i] < 0 || drawn_[i] >= static_cast<int32_t>(vocab)) {
          Fail(*seq.request, absl::InternalError(absl::StrCat("the backend drew token ", drawn_[i],
                                                              " outside the vocabulary")));
          continue;
        }
        Accept(seq, drawn_[i]);
      } else {
        Sample(seq, seq_logits.last(vocab));
      }
    }
  }
  return record;
}

}  // namespace cai::inference
