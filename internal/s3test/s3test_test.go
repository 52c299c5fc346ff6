package s3test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestServerThatExitsIsNotAwaited starts a weed that exits at once: waitReady must say so at
// once, not after readyTimeout, and its output must be readable.
func TestServerThatExitsIsNotAwaited(t *testing.T) {
	weed := filepath.Join(t.TempDir(), "weed")
	if err := os.WriteFile(weed, []byte("#!/bin/sh\necho broken weed\nexit 3\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	s := &Server{Endpoint: "http://127.0.0.1:1"}
	s.Setenv(t)
	w, err := startWeed(weed, nil)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	err = s.waitReady(w)
	if err == nil || !strings.Contains(err.Error(), "weed exited") || time.Since(start) > 20*time.Second {
		t.Errorf("waitReady after %v: %v", time.Since(start), err)
	}
	if log := w.stop(); !strings.Contains(log, "broken weed") {
		t.Errorf("weed's output: %q", log)
	}
}
