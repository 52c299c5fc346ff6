package main

import (
	"bytes"
	"encoding/json"
	"testing"
)

// TestBenchPrintsJSON runs a short clipwork bench --overhead --json on the default model and
// checks the fields a side-by-side script reads.
func TestBenchPrintsJSON(t *testing.T) {
	var stdout, stderr bytes.Buffer
	args := []string{"bench", "--model", "default", "--windows", "2", "--steps", "2", "--resolution", "96", "--overhead", "--json"}
	if code := run(args, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	var got benchResult
	if err := json.Unmarshal(stdout.Bytes(), &got); err != nil {
		t.Fatalf("output is not one JSON object: %v\n%s", err, stdout.String())
	}
	if got.Windows != 2 || got.Resolution != 96 || got.WindowsPerSecond <= 0 || got.MsPerStep <= 0 || got.PeakRSSMB <= 0 {
		t.Errorf("implausible result %+v", got)
	}
	if got.VisionMsPerStep <= 0 || got.OverheadPercent >= 100 {
		t.Errorf("vision tower %.0f ms/step, overhead %.1f%%", got.VisionMsPerStep, got.OverheadPercent)
	}
}
