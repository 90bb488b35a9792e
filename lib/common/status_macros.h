#pragma once

// Abseil 20220623 (Debian 12) has no status macros: the one this project uses.
#include <utility>

#include "absl/status/status.h"

// Returns the status of `expr` from the calling function unless it is OK.
#define CAI_RETURN_IF_ERROR(expr)                                                 \
  do {                                                                            \
    if (absl::Status cai_status_ = (expr); !cai_status_.ok()) return cai_status_; \
  } while (0)

// Evaluates `rexpr`, an absl::StatusOr: returns its status from the calling function unless it is
// OK, else moves its value into `lhs` (a declaration, or something assignable).
#define CAI_ASSIGN_OR_RETURN(lhs, rexpr) CAI_ASSIGN_OR_RETURN_IMPL_(CAI_STATUS_CONCAT_(cai_statusor_, __LINE__), lhs, rexpr)
#define CAI_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, rexpr)        \
  auto statusor = (rexpr);                                      \
  if (!statusor.ok()) return std::move(statusor).status();      \
  lhs = std::move(statusor).value()
#define CAI_STATUS_CONCAT_(a, b) CAI_STATUS_CONCAT_INNER_(a, b)
#define CAI_STATUS_CONCAT_INNER_(a, b) a##b
