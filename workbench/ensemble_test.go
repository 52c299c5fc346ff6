package workbench

import (
	"context"
	"encoding/json"
	"math"
	"strings"
	"testing"

	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // GoMLX graph code reads best with the dot import.
	"github.com/gomlx/gomlx/core/tensors"

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
	first := func(members ...Member) float64 { return firstLoss(t, exp, members...) }
	lossA, lossB := first(Member{a, 1}), first(Member{b, 1})
	got, want := first(Member{a, 2}, Member{b, 0.5}), 2*lossA+0.5*lossB
	if math.Abs(got-want) > 1e-5*math.Abs(want) || lossA == lossB {
		t.Errorf("ensemble loss %.7f, want 2 x %.7f + 0.5 x %.7f = %.7f", got, lossA, lossB, want)
	}
}

// TestEnsembleOfCLIPigCanvasesIsTheWeightedSum: as TestEnsembleLossIsTheWeightedSum, for a
// target of CLIPig's geometry whose noise, fnoise and blur act at its canvas's scale, on an image
// smaller than both models' inputs and on one larger: each model's windows see the canvas at
// their own scale, as each model alone does.
func TestEnsembleOfCLIPigCanvasesIsTheWeightedSum(t *testing.T) {
	a, b := tinyModel(t), tiny48Model(t)
	for _, side := range []int{24, 96} {
		exp := Experiment{Seed: 3, Steps: 2, Width: side, Height: side, Targets: []Target{{BatchSize: 2,
			Features: []Feature{{Text: "a red circle"}}, Geometry: []Geometric{{Kind: "random_shift", Values: [][]Value{consts(0, 1, 0, 1)}}},
			Transforms: []Transform{{Kind: TransformNoise, Values: consts(0.1)}, {Kind: TransformFNoise, Values: consts(0.1)},
				{Kind: TransformBlur, Values: consts(1), Extra: [][]Value{consts(5, 5)}}}}}}
		first := func(members ...Member) float64 { return firstLoss(t, exp, members...) }
		lossA, lossB := first(Member{a, 1}), first(Member{b, 1})
		if got, want := first(Member{a, 2}, Member{b, 0.5}), 2*lossA+0.5*lossB; math.Abs(got-want) > 1e-5*math.Abs(want) {
			t.Errorf("%dx%d: ensemble loss %.7f, want 2 x %.7f + 0.5 x %.7f = %.7f", side, side, got, lossA, lossB, want)
		}
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

// TestEnsembleSelectsByTheWeightedMean gives one window two features: the first model finds it
// more like feature 0 (0.9 against 0.1), the second more like feature 1 (0.2 against 0.8).
// Select best follows the weighted mean similarity: the first model's choice at weights 3:1
// (mean 0.725 against 0.275), the second's at 1:3 (0.375 against 0.625).
func TestEnsembleSelectsByTheWeightedMean(t *testing.T) {
	p := &preparedTarget{Target: Target{Select: SelectBest}, losses: []string{LossCosine, LossCosine}}
	winner := func(weights []float64) []float32 {
		return run1(t, func(in []*Node) *Node {
			_, _, won, _ := targetLoss(p, []*Node{in[0], in[0]}, []*Node{in[1], in[2]}, weights, in[3], in[3], in[3])
			return won
		}, tensors.FromFlatDataAndDimensions([]float32{1, 0}, 1, 2),
			tensors.FromFlatDataAndDimensions([]float32{0.9, 0, 0.1, 0}, 2, 2),
			tensors.FromFlatDataAndDimensions([]float32{0.2, 0, 0.8, 0}, 2, 2),
			tensors.FromFlatDataAndDimensions([]float32{1, 1}, 2))
	}
	if w := winner([]float64{3, 1}); w[0] != 1 || w[1] != 0 {
		t.Errorf("weights 3:1: won %v, want [1 0]", w)
	}
	if w := winner([]float64{1, 3}); w[0] != 0 || w[1] != 1 {
		t.Errorf("weights 1:3: won %v, want [0 1]", w)
	}
}

// TestEnsembleOfOneWeighsItsLoss runs the first step of random:tiny alone at weight 1 and 2.5:
// the loss scales with the weight.
func TestEnsembleOfOneWeighsItsLoss(t *testing.T) {
	exp := ensembleExperiment(2)
	var losses []float64
	for _, weight := range []float64{1, 2.5} {
		r, err := NewEnsembleRun(exp, []Member{{tinyModel(t), weight}})
		if err != nil {
			t.Fatal(err)
		}
		result, err := r.Advance()
		if err != nil {
			t.Fatal(err)
		}
		losses = append(losses, result.Terms[0])
	}
	if math.Abs(losses[1]-2.5*losses[0]) > 1e-6*math.Abs(losses[1]) {
		t.Errorf("the first target's loss at weight 2.5 is %g, at weight 1 %g", losses[1], losses[0])
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
	small := Experiment{Steps: 2, Width: 36, Height: 36, Targets: []Target{{Features: []Feature{{Text: "x"}},
		Window: Window{Scale: [2]float64{1, 1}}}}}
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
