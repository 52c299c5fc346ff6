package stopsignal

import (
	"context"
	"errors"
	"syscall"
	"testing"
	"time"
)

// TestContextStopsOnSIGTERM: a SIGTERM to the process cancels the context, as it stops a run.
func TestContextStopsOnSIGTERM(t *testing.T) {
	ctx, stop := Context(context.Background())
	defer stop()
	if err := syscall.Kill(syscall.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ctx.Done():
		if !errors.Is(ctx.Err(), context.Canceled) {
			t.Errorf("context ended with %v", ctx.Err())
		}
	case <-time.After(5 * time.Second):
		t.Fatal("SIGTERM did not cancel the context")
	}
}
