package e2e

import (
	"os/exec"
	"syscall"
)

// dieWithTest makes cmd's process end when the test binary does, also when
// the binary is killed and its cleanups do not run.
func dieWithTest(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
