// Package stopsignal names the signals that stop a run or a training cleanly, saving what it
// has, for the command line and the notebooks alike.
package stopsignal

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

// Signals are Ctrl-C (and Jupyter's interrupt), the SIGTERM that kill, timeout and container
// runtimes send, and the SIGHUP of a closed terminal or dropped ssh session, unless the process
// ignores it (under nohup a closed terminal goes on ignored).
var Signals = func() []os.Signal {
	signals := []os.Signal{os.Interrupt, syscall.SIGTERM}
	if !signal.Ignored(syscall.SIGHUP) {
		signals = append(signals, syscall.SIGHUP)
	}
	return signals
}()

// Context is parent, cancelled when one of Signals arrives, until stop is called.
func Context(parent context.Context) (ctx context.Context, stop context.CancelFunc) {
	return signal.NotifyContext(parent, Signals...)
}
