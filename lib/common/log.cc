#include "lib/common/log.h"

#include <cstdio>
#include <ctime>
#include <mutex>
#include <string>

namespace cai {
namespace {

std::mutex log_mutex;
std::string& LogName() {
  static std::string name = "cai";
  return name;
}

}  // namespace

void SetLogName(std::string_view name) {
  std::lock_guard lock(log_mutex);
  LogName() = std::string(name);
}

void Log(LogLevel level, std::string_view message) {
  const char* tag = level == LogLevel::kInfo ? "INFO" : level == LogLevel::kWarning ? "WARN" : "ERROR";
  std::time_t now = std::time(nullptr);
  std::tm tm;
  gmtime_r(&now, &tm);
  char stamp[32];
  std::strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", &tm);
  std::lock_guard lock(log_mutex);
  std::fprintf(stderr, "%s %s %s %.*s\n", stamp, LogName().c_str(), tag,
               static_cast<int>(message.size()), message.data());
  std::fflush(stderr);
}

}  // namespace cai
