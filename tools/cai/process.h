#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "absl/status/status.h"

namespace cai::cli {

// A child process that `cai up` starts and supervises. Its stdout and stderr are the parent's.
class ChildProcess {
 public:
  ChildProcess(std::string name, std::vector<std::string> argv) : name_(std::move(name)), argv_(std::move(argv)) {}
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  ~ChildProcess();  // stops the process if it still runs

  absl::Status Start();
  // Non-blocking: true once the process has exited (and been reaped).
  bool HasExited();
  // SIGTERM, then SIGKILL after `grace_seconds`; waits for the exit.
  void Stop(int grace_seconds);

  const std::string& name() const { return name_; }
  pid_t pid() const { return pid_; }
  // Exit description once HasExited() is true: "exited with status 1", "killed by signal 9".
  const std::string& exit_description() const { return exit_description_; }

 private:
  std::string name_;
  std::vector<std::string> argv_;
  pid_t pid_ = -1;
  bool exited_ = false;
  std::string exit_description_;
};

}  // namespace cai::cli
