package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/clipwork/clipwork/clipmodel"
)

// TestRobustifyRecordsItsFlags makes a tiny random model robust for one step with flags off
// their defaults: the output folder loads, and training.json records the flags.
func TestRobustifyRecordsItsFlags(t *testing.T) {
	out := t.TempDir()
	stdout := runCLI(t, "robustify", "--model", "random:tiny", "--out", out, "--steps", "1", "--batch", "2",
		"--radius", "8", "--step-size", "2", "--pgd-steps", "2", "--clean-weight", "0.5", "--lr", "3e-5", "--noise", "0.05")
	if !strings.Contains(stdout, "step 1/1") {
		t.Errorf("no progress line:\n%s", stdout)
	}
	if _, err := clipmodel.LoadFolder(filepath.Join(out, "model")); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(out, "model", "training.json"))
	if err != nil {
		t.Fatal(err)
	}
	var info struct {
		Robust map[string]any `json:"robust"`
	}
	if err := json.Unmarshal(data, &info); err != nil {
		t.Fatal(err)
	}
	attack, _ := info.Robust["attack"].(map[string]any)
	near := func(v any, want float64) bool { f, ok := v.(float64); return ok && f > want*0.999 && f < want*1.001 }
	if !near(attack["radius"], 8.0/255) || !near(attack["step_size"], 2.0/255) || !near(attack["steps"], 2) ||
		!near(info.Robust["clean_weight"], 0.5) || !near(info.Robust["learning_rate"], 3e-5) ||
		!near(info.Robust["batch_size"], 2) || !near(info.Robust["noise"], 0.05) || !near(info.Robust["step"], 1) || info.Robust["model"] != "random:tiny" {
		t.Errorf("training.json records %s", data)
	}
}
