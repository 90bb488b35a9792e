#pragma once

#include <string>
#include <vector>

namespace cai::cli {

// `cai up [--port N] [--host H] [--model DIR] [--device auto|cuda|cpu] [--api-keys-file F] [--runtime-dir D]
//         [--ready-file F]`
// Starts signer, attestor, inference and edge as child processes wired over unix sockets, waits
// until each is healthy, verifies one example request end to end, prints how to use the API, and
// supervises them until Ctrl-C (or until one dies). Returns the process exit code.
int RunUp(const std::vector<std::string>& args);

}  // namespace cai::cli
