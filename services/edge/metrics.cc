#include "services/edge/metrics.h"

#include "absl/strings/str_cat.h"

namespace cai::edge {

void Metrics::RecordRequest(const std::string& route, int status, double seconds) {
  std::lock_guard lock(mutex_);
  ++requests_[{route, status}];
  duration_sum_ += seconds;
  ++duration_count_;
}

void Metrics::RecordSignature(bool ok) {
  std::lock_guard lock(mutex_);
  ++(ok ? signatures_ok_ : signatures_failed_);
}

void Metrics::AddCompletionTokens(uint64_t tokens) {
  std::lock_guard lock(mutex_);
  completion_tokens_ += tokens;
}

void Metrics::StreamStarted() {
  std::lock_guard lock(mutex_);
  ++active_streams_;
}

void Metrics::StreamEnded() {
  std::lock_guard lock(mutex_);
  --active_streams_;
}

void Metrics::RecordClientDisconnect() {
  std::lock_guard lock(mutex_);
  ++client_disconnects_;
}

std::string Metrics::Render() const {
  std::lock_guard lock(mutex_);
  std::string out;
  absl::StrAppend(&out, "# HELP cai_edge_requests_total HTTP requests by route and status.\n",
                  "# TYPE cai_edge_requests_total counter\n");
  for (const auto& [key, count] : requests_) {
    absl::StrAppend(&out, "cai_edge_requests_total{route=\"", key.first, "\",status=\"", key.second,
                    "\"} ", count, "\n");
  }
  absl::StrAppend(&out, "# HELP cai_edge_signatures_total Response signatures by outcome.\n",
                  "# TYPE cai_edge_signatures_total counter\n",
                  "cai_edge_signatures_total{result=\"ok\"} ", signatures_ok_, "\n",
                  "cai_edge_signatures_total{result=\"failed\"} ", signatures_failed_, "\n");
  absl::StrAppend(&out, "# HELP cai_edge_active_streams Streaming responses in progress.\n",
                  "# TYPE cai_edge_active_streams gauge\n", "cai_edge_active_streams ", active_streams_, "\n");
  absl::StrAppend(&out, "# HELP cai_edge_client_disconnects_total Streams whose client hung up mid-stream.\n",
                  "# TYPE cai_edge_client_disconnects_total counter\n", "cai_edge_client_disconnects_total ",
                  client_disconnects_, "\n");
  absl::StrAppend(&out, "# HELP cai_edge_completion_tokens_total Tokens generated.\n",
                  "# TYPE cai_edge_completion_tokens_total counter\n", "cai_edge_completion_tokens_total ",
                  completion_tokens_, "\n");
  absl::StrAppend(&out, "# HELP cai_edge_request_duration_seconds Time to answer a request.\n",
                  "# TYPE cai_edge_request_duration_seconds summary\n",
                  "cai_edge_request_duration_seconds_sum ", duration_sum_, "\n",
                  "cai_edge_request_duration_seconds_count ", duration_count_, "\n");
  return out;
}

}  // namespace cai::edge
