package expfile

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/clipwork/clipwork/workbench/sweep"
)

const sweepBase = "epochs: 2\ntargets:\n  - name: t\n    features: [x]\n"

func TestSweepIsRead(t *testing.T) {
	f, err := Parse("s.yaml", []byte(sweepBase+`sweep:
  vary:
    seed: 1..3
    learnrate: [0.02, 0.04]
    targets.t.features.0: [a red circle, "a red circle, glowing", wait... a circle]
  zip: no
`))
	if err != nil {
		t.Fatal(err)
	}
	want := []sweep.Axis{{Key: "seed", Values: []string{"1", "2", "3"}}, {Key: "learnrate", Values: []string{"0.02", "0.04"}},
		{Key: "targets.t.features.0", Values: []string{"a red circle", "a red circle, glowing", "wait... a circle"}}}
	if f.Sweep == nil || !reflect.DeepEqual(f.Sweep.Axes, want) || f.Sweep.Zip || f.Sweep.Position != "s.yaml:5" {
		t.Fatalf("sweep %+v, want the axes %v", f.Sweep, want)
	}
	plain, err := Parse("p.yaml", []byte(sweepBase))
	if err != nil || plain.Sweep != nil {
		t.Errorf("a file without sweep: has %+v (%v)", plain.Sweep, err)
	}
}

// TestSweepIsTheSameEveryTime reads one sweep many times: its axes keep the file's order.
func TestSweepIsTheSameEveryTime(t *testing.T) {
	text := []byte(sweepBase + "sweep: {vary: {z: [1], seed: 1..2, a: [x, y], m: 3}}\n")
	first, err := Parse("s.yaml", text)
	if err != nil {
		t.Fatal(err)
	}
	for range 20 {
		again, _ := Parse("s.yaml", text)
		if !reflect.DeepEqual(again.Sweep, first.Sweep) {
			t.Fatalf("%+v then %+v", first.Sweep, again.Sweep)
		}
	}
	if keys := []string{first.Sweep.Axes[0].Key, first.Sweep.Axes[3].Key}; !reflect.DeepEqual(keys, []string{"z", "m"}) {
		t.Errorf("the keys are out of the file's order: %+v", first.Sweep.Axes)
	}
}

// TestHostileSweeps checks that a bad sweep: is refused with the file, line and a fix.
func TestHostileSweeps(t *testing.T) {
	for _, c := range []struct{ sweep, want string }{
		{"sweep: {vary: {seed: []}}", "s.yaml:5:22: sweep.vary.seed is an empty list"},
		{"sweep: {vary: {seed: }}", "s.yaml:5:22: sweep.vary.seed has an empty value"},
		{"sweep: {vary: {seed: ['']}}", "sweep.vary.seed has an empty value"},
		{"sweep: {vary: {}}", "s.yaml:5:8: sweep: needs vary: with at least one key"},
		{"sweep: {}", "needs vary:"},
		{"sweep: [seed]", "sweep must be a mapping"},
		{"sweep: {vary: [seed, 1..2]}", "sweep.vary must map keys to values"},
		{"sweep: {vary: {seed: {a: 1}}}", "sweep.vary.seed must be a single value"},
		{"sweep: {vary: {seed: [[1, 2]]}}", "sweep.vary.seed must be a single value"},
		{"sweep: {vray: {seed: 1..2}}", `unknown key "vray" in sweep (did you mean "vary"?)`},
		{"sweep: {vary: {seed: 1..2}, zip: maybe}", "sweep.zip must be true or false"},
		{"sweep: {vary: {seed: 0..99999999}}", "more than 10000 values"},
		{"sweep: {vary: {seed: 1..100, learnrate: 1..100, init.std: [1, 2]}}", "s.yaml:5:8: the sweep's grid has more than 10000 variants (3 keys in)"},
		{"sweep: {vary: {seed: 1..3, learnrate: [1, 2]}, zip: true}", "zip: true pairs lists of one length: seed has 3 values, learnrate has 2"},
		{"sweep: {vary: {'': [1, 2]}}", "s.yaml:5:16: sweep.vary has an empty key"},
		{"sweep: {vary: {seed: [1, 1..3]}}", `s.yaml:5:22: sweep.vary.seed has the value "1" twice`},
		{"sweep: {vary: {sweep.zip: [true]}}", "s.yaml:5:16: sweep.vary: sweep.zip is a key of the sweep"},
		{"sweep: {vary: {seed: [0..9999, 10000]}, zip: true}", "s.yaml:5:8: the sweep's zip has more than 10000 variants"},
	} {
		_, err := Parse("s.yaml", []byte(sweepBase+c.sweep+"\n"))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want %q", c.sweep, err, c.want)
		}
	}
}

func TestSweepMergesAcrossFiles(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.yaml"), filepath.Join(dir, "b.yaml")
	os.WriteFile(a, []byte(sweepBase+"sweep: {vary: {seed: 1..2, learnrate: [0.1]}}\n"), 0o644)
	os.WriteFile(b, []byte("sweep: {vary: {learnrate: [0.2, 0.3]}, zip: true}\n"), 0o644)
	f, err := Load([]string{a, b})
	if err != nil {
		t.Fatal(err)
	}
	want := []sweep.Axis{{Key: "seed", Values: []string{"1", "2"}}, {Key: "learnrate", Values: []string{"0.2", "0.3"}}}
	if !reflect.DeepEqual(f.Sweep.Axes, want) || !f.Sweep.Zip {
		t.Errorf("merged sweep %+v, want %v zipped", f.Sweep, want)
	}
}
