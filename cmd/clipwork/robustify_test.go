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
		"--radius", "8", "--step-size", "2", "--pgd-steps", "2", "--clean-weight", "0.5", "--lr", "3e-5", "--noise", "0.05",
		"--loss", "tecoa", "--decay-steps", "1")
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
		!near(info.Robust["batch_size"], 2) || !near(info.Robust["decay_steps"], 1) || !near(info.Robust["noise"], 0.05) || !near(info.Robust["step"], 1) || info.Robust["model"] != "random:tiny" ||
		info.Robust["loss"] != "tecoa" {
		t.Errorf("training.json records %s", data)
	}
}

// TestTrainDefaultRobustPhase trains the default model for a step with a robust phase of one
// step: the robust model loads from OUT/robust/model, and its training.json holds the base
// training's step beside the robust record, whose teacher is OUT/model.
func TestTrainDefaultRobustPhase(t *testing.T) {
	if testing.Short() {
		t.Skip("trains for a few seconds")
	}
	out := t.TempDir()
	stdout := runCLI(t, "train-default", "--out", out, "--steps", "1", "--batch", "4",
		"--robust-steps", "1", "--robust-batch", "2", "--robust-pgd-steps", "1", "--robust-radius", "2")
	robustModel := filepath.Join(out, "robust", "model")
	if !strings.Contains(stdout, "the robust model is in "+robustModel) {
		t.Errorf("the output does not name the robust model:\n%s", stdout)
	}
	if _, err := clipmodel.LoadFolder(robustModel); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(robustModel, "training.json"))
	if err != nil {
		t.Fatal(err)
	}
	var info struct {
		Step   int `json:"step"`
		Robust struct {
			Model  string `json:"model"`
			Step   int    `json:"step"`
			Attack struct {
				Radius float64 `json:"radius"`
			} `json:"attack"`
		} `json:"robust"`
	}
	if err := json.Unmarshal(data, &info); err != nil {
		t.Fatal(err)
	}
	if info.Step != 1 || info.Robust.Step != 1 || info.Robust.Model != filepath.Join(out, "model") ||
		info.Robust.Attack.Radius < 1.99/255 || info.Robust.Attack.Radius > 2.01/255 {
		t.Errorf("training.json records %s", data)
	}
}
