#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <utility>

namespace cai::edge {

// The edge's counters, rendered in the Prometheus text format. Thread-safe.
class Metrics {
 public:
  void RecordRequest(const std::string& route, int status, double seconds);
  void RecordSignature(bool ok);
  void AddCompletionTokens(uint64_t tokens);
  void StreamStarted();
  void StreamEnded();
  // A client hung up before its stream ended (its generation was cancelled).
  void RecordClientDisconnect();

  std::string Render() const;

 private:
  mutable std::mutex mutex_;
  std::map<std::pair<std::string, int>, uint64_t> requests_;
  uint64_t signatures_ok_ = 0;
  uint64_t signatures_failed_ = 0;
  uint64_t completion_tokens_ = 0;
  int64_t active_streams_ = 0;
  uint64_t client_disconnects_ = 0;
  double duration_sum_ = 0;
  uint64_t duration_count_ = 0;
};

}  // namespace cai::edge
