// The runtime's side of the sync socket with a cloned init or exec child:
// fixed-size InitReports (failures, "ready", "run the prestart/createRuntime
// hooks now"), a seccomp notify listener fd ("seccomp" + SCM_RIGHTS), or EOF
// when the child execs. Also hands a listener fd to linux.seccomp.listenerPath.
#pragma once

#include <sys/types.h>

#include "common/json.h"
#include "common/result.h"
#include "common/unique_fd.h"
#include "oci/spec.h"
#include "runtime/init.h"

namespace berth::runtime {

struct ChildMsg {
  enum Kind { report, listener, eof, error } kind = error;
  InitReport rep;
  UniqueFd fd;  // kind == listener
};
ChildMsg recv_child_msg(int sock);

// Send the listener fd with the OCI "containerProcessState" JSON
// ({ociVersion, fds: ["seccompFd"], pid, metadata, state}) to the agent's
// unix socket at sc.listener_path, as one message with SCM_RIGHTS.
Status deliver_seccomp_listener(const oci::Seccomp& sc, int listener_fd, pid_t pid, const OrderedJson& state);

}  // namespace berth::runtime
