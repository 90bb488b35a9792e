#pragma once

#include <string>

namespace cai {

// OpenSSL's most recent error as text ("no detail" when it recorded none), with its error queue
// cleared so that the error cannot leak into a later, unrelated call.
std::string OpenSslErrorText();

}  // namespace cai
