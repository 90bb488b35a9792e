#pragma once

#include <string_view>

#include "absl/strings/str_cat.h"

namespace cai {

enum class LogLevel { kInfo, kWarning, kError };

// Sets the program name printed on every line (e.g. "cai-signer").
void SetLogName(std::string_view name);

// One line to stderr: "<UTC time> <name> <LEVEL> <message>". Thread-safe. Never log secrets,
// prompts or completions: only sizes, ids and outcomes.
void Log(LogLevel level, std::string_view message);

template <typename... Args>
void LogInfo(const Args&... args) { Log(LogLevel::kInfo, absl::StrCat(args...)); }
template <typename... Args>
void LogWarning(const Args&... args) { Log(LogLevel::kWarning, absl::StrCat(args...)); }
template <typename... Args>
void LogError(const Args&... args) { Log(LogLevel::kError, absl::StrCat(args...)); }

}  // namespace cai
