package workbench

import (
	"context"
	"encoding/json"
	"math"
	"strings"
	"testing"

	"github.com/clipwork/clipwork/clipmodel"
)

// tiny48Model is a second toy model, unlike random:tiny in its weights and its input side (48).
func tiny48Model(t testing.TB) *clipmodel.Model {
	t.Helper()
	cfg, err := clipmodel.ArchitectureConfig("tiny")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Vision.ImageSize = 48
	m, err := clipmodel.NewRandom("tiny48", cfg, 7)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// ensembleExperiment has two features, noisy and rotated windows of a set size, and a second
// target with select best.
func ensembleExperiment(steps int) Experiment {
	noise := []Transform{{Kind: TransformNoise, Values: []Value{Constant(0.05)}}}
	return Experiment{Seed: 3, Steps: steps, Width: 64, Height: 56, Targets: []Target{
		{Name: "all", BatchSize: 3, Features: []Feature{{Text: "a red circle"}, {Text: "blue", Weight: Constant(-0.5)}},
			Window: Window{Size: 40, Rotate: [2]float64{-20, 20}, Scale: [2]float64{0.8, 1.2}}, Transforms: noise},
		{Name: "best", BatchSize: 2, Select: SelectBest, Features: []Feature{{Text: "sky"}, {Text: "sea"}},
			Window: Window{Size: 30}}}}
}

// TestEnsembleLossIsTheWeightedSum runs the first step of random:tiny and tiny48 alone and as an
// ensemble weighted 2 and 0.5 (same seed, so the same image, windows and noise): the ensemble's
// loss of the select-all target is 2 x the first's plus 0.5 x the second's.
func TestEnsembleLossIsTheWeightedSum(t *testing.T) {
	a, b := tinyModel(t), tiny48Model(t)
	exp := ensembleExperiment(2)
	exp.Targets = exp.Targets[:1]
	first := func(members ...Member) float64 {
		r, err := NewEnsembleRun(exp, members)
		if err != nil {
			t.Fatal(err)
		}
		result, err := r.Advance()
		if err != nil {
			t.Fatal(err)
		}
		return result.Loss
	}
	lossA, lossB := first(Member{a, 1}), first(Member{b, 1})
	got, want := first(Member{a, 2}, Member{b, 0.5}), 2*lossA+0.5*lossB
	if math.Abs(got-want) > 1e-5*math.Abs(want) || lossA == lossB {
		t.Errorf("ensemble loss %.7f, want 2 x %.7f + 0.5 x %.7f = %.7f", got, lossA, lossB, want)
	}
}

// TestEnsembleRunRecordsEachModel runs an ensemble of two models for 30 steps and checks that
// the statistics keep each model's similarities, that the ensemble's are their weighted mean,
// and that stats.json carries them.
func TestEnsembleRunRecordsEachModel(t *testing.T) {
	r, err := NewEnsembleRun(ensembleExperiment(30), []Member{{tinyModel(t), 3}, {tiny48Model(t), 1}})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	s := r.Stats()
	if len(s.History) != 30 || strings.Join(s.Models, ",") != "random:tiny,tiny48" {
		t.Fatalf("%d steps, models %v", len(s.History), s.Models)
	}
	for _, rec := range s.History {
		for target, sims := range rec.Similarities {
			a, b := rec.ModelSimilarities["random:tiny"][target], rec.ModelSimilarities["tiny48"][target]
			for j, sim := range sims {
				if want := (3*a[j] + b[j]) / 4; math.Abs(sim-want) > 1e-5 {
					t.Fatalf("step %d, %s feature %d: similarity %g, want (3 x %g + %g) / 4", rec.Step, target, j, sim, a[j], b[j])
				}
			}
		}
	}
	f := s.Target("best").Features[0]
	if f.Models["tiny48"].SimilarityMean == 0 || f.Models["random:tiny"].SimilarityMean == f.Models["tiny48"].SimilarityMean {
		t.Errorf("per-model similarity means %+v, %+v", *f.Models["random:tiny"], *f.Models["tiny48"])
	}
	data, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{`"model_similarities":{"random:tiny":{`, `"models":{"random:tiny":{"similarity_mean":`} {
		if !strings.Contains(string(data), key) {
			t.Errorf("stats.json lacks %s", key)
		}
	}
}

// TestEnsembleChecks refuses an ensemble with a weight that is not positive or a model named
// twice, and windows that fit one model's input but not another's.
func TestEnsembleChecks(t *testing.T) {
	exp := ensembleExperiment(2)
	exp.Ensemble = []ModelChoice{{"random:tiny", 1}, {"random:tiny", 2}, {"default", 0}}
	err := exp.Resolve()
	for _, want := range []string{"in the ensemble twice", `model "default": its weight must be a positive number`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v, want %q", err, want)
		}
	}
	small := Experiment{Steps: 2, Width: 36, Height: 36, Targets: []Target{{Features: []Feature{{Text: "x"}}}}}
	if err := small.Resolve(); err != nil {
		t.Fatal(err)
	}
	if err := CheckWindowsFit(small, 32); err != nil {
		t.Errorf("32-pixel windows of a 36x36 image: %v", err)
	}
	if err := CheckWindowsFit(small, 32, 48); err == nil {
		t.Error("48-pixel windows of a 36x36 image were accepted")
	}
}
