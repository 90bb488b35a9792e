#pragma once

// Abseil 20220623 (Debian 12) has no status macros: the one this project uses.
#include "absl/status/status.h"

// Returns the status of `expr` from the calling function unless it is OK.
#define CAI_RETURN_IF_ERROR(expr)                                                 \
  do {                                                                            \
    if (absl::Status cai_status_ = (expr); !cai_status_.ok()) return cai_status_; \
  } while (0)
