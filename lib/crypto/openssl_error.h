#pragma once

#include <string>
#include <string_view>

#include "absl/status/status.h"

namespace cai {

// OpenSSL's most recent error as text ("no detail" when it recorded none), with its error queue
// cleared so that the error cannot leak into a later, unrelated call.
std::string OpenSslErrorText();

// Internal: "<what>: <OpenSslErrorText()>", for a call that failed without the caller's fault.
absl::Status OpenSslError(std::string_view what);

}  // namespace cai
