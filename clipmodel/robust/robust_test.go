package robust

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/clipwork/clipwork/clipmodel"
	"github.com/clipwork/clipwork/clipmodel/scenes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // GoMLX graph code reads best with the dot import.
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/model/checkpoint"
	"github.com/gomlx/gomlx/ml/train/optimizer"
)

func tinyModel(t *testing.T) *clipmodel.Model {
	t.Helper()
	m, err := clipmodel.Load("random:tiny")
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestPGDStaysInTheBallAndRaisesTheLoss attacks a tiny random tower's distance to a fixed
// embedding: the attacked images stay within the radius and in [0, 1], and are farther.
func TestPGDStaysInTheBallAndRaisesTheLoss(t *testing.T) {
	m := tinyModel(t)
	attack := Attack{Radius: 4.0 / 255, StepSize: 1.0 / 255, Steps: 5}
	exec, err := model.NewExec(m.Backend, m.Store, func(scope *model.Scope, clean, target *Node) []*Node {
		distance := func(x *Node) *Node { return SquaredDistance(m.ImageFeatures(scope, x), target) }
		attacked := PGD(clean, nil, attack, distance)
		return []*Node{attacked, distance(clean), distance(attacked)}
	})
	if err != nil {
		t.Fatal(err)
	}
	batch, _, err := makeBatch(m, Options{BatchSize: 3, Attack: attack}, 0)
	if err != nil {
		t.Fatal(err)
	}
	clean := batch.Inputs[0]
	target := tensors.FromFlatDataAndDimensions(make([]float32, 3*m.Config.ProjectionDim), 3, m.Config.ProjectionDim)
	out, err := exec.Exec(clean, target)
	if err != nil {
		t.Fatal(err)
	}
	before, after := tensors.MustCopyFlatData[float32](out[1])[0], tensors.MustCopyFlatData[float32](out[2])[0]
	if after <= before {
		t.Errorf("the attack left the loss at %g (clean %g); it must raise it", after, before)
	}
	in, adv := tensors.MustCopyFlatData[float32](clean), tensors.MustCopyFlatData[float32](out[0])
	var largest float64
	for i := range in {
		largest = max(largest, math.Abs(float64(adv[i]-in[i])))
		if adv[i] < 0 || adv[i] > 1 {
			t.Fatalf("attacked pixel %d is %g, outside [0, 1]", i, adv[i])
		}
	}
	if largest > attack.Radius+1e-6 || largest < attack.Radius/2 {
		t.Errorf("the attack moved pixels by up to %g, want up to the radius %g (and near it)", largest, attack.Radius)
	}
}

// TestLossesFall takes Adam steps on one batch of the embedded default model (64x64, 4
// layers) against a frozen copy, attacked in a radius of 32/255, far beyond the 8/255 it was
// made robust in: FARE's and TeCoA's losses fall. TeCoA takes 16 images and a stronger attack:
// among 4 random scenes' captions, which differ in much, even attacked images stay classified.
// (Random towers do not show it: their gradients are so steep that any step large enough to
// learn in a few throws them off.)
func TestLossesFall(t *testing.T) {
	const folder = "../defaultmodel/model"
	for _, c := range []struct {
		loss                 string
		batch, pgd           int
		step, clean, cleanCE float64
	}{{LossFARE, 4, 2, 16.0 / 255, 0, 0}, {LossTeCoA, 16, 5, 8.0 / 255, 0, 0}, {LossTeCoA, 16, 5, 8.0 / 255, 0.04, 1}} {
		loss := c.loss
		student, err := clipmodel.Load(folder)
		if err != nil {
			t.Fatal(err)
		}
		teacher, err := clipmodel.Load(folder)
		if err != nil {
			t.Fatal(err)
		}
		opts := Options{BatchSize: c.batch, LearningRate: 3e-4, AdversarialWeight: 1, Loss: loss,
			CleanWeight: c.clean, CleanCEWeight: c.cleanCE, Attack: Attack{Radius: 32.0 / 255, StepSize: c.step, Steps: c.pgd}}
		opts.defaults()
		trainer := newTrainer(student, opts)
		batch, _, err := makeBatch(teacher, opts, 0)
		if err != nil {
			t.Fatal(err)
		}
		var losses []float32
		for range 8 {
			metrics, err := trainer.TrainStep(batch)
			if err != nil {
				t.Fatal(err)
			}
			losses = append(losses, tensors.MustCopyFlatData[float32](metrics[0])[0])
		}
		t.Logf("%s (clean %g, clean CE %g) losses %v", loss, c.clean, c.cleanCE, losses)
		if last := losses[len(losses)-1]; !(last < 0.5*losses[0]) {
			t.Errorf("%s (clean %g, clean CE %g) losses %v: the last should be under half the first", loss, c.clean,
				c.cleanCE, losses)
		}
	}
}

// TestTeCoATargetsFollowWhatCaptionsName: a scene's target spreads evenly over the captions
// that describe it (one that leaves the position out fits both scenes of a position group), and
// the captions are unit embeddings times the logit scale.
func TestTeCoATargetsFollowWhatCaptionsName(t *testing.T) {
	m := tinyModel(t)
	left := scenes.Scene{Shape: "star", Color: "red", Size: "small", Count: "two", Position: "left", Background: "sky"}
	right := left
	right.Position = "right"
	captions := []scenes.Caption{{Text: "two small red stars on the left on a blue sky", Scene: left, Names: scenes.Named{Position: true}},
		{Text: "two small red stars on a blue sky", Scene: right}}
	batch, chance, err := tecoaInputs(m, Options{}, nil, nil, []scenes.Scene{left, right}, captions)
	if err != nil {
		t.Fatal(err)
	}
	want := []float32{0.5, 0.5, 0, 1}
	if got := tensors.MustCopyFlatData[float32](batch.Labels[0]); !slices.Equal(got, want) {
		t.Errorf("targets %v, want %v", got, want)
	}
	scale, err := m.LogitScale()
	if err != nil {
		t.Fatal(err)
	}
	texts := tensors.MustCopyFlatData[float32](batch.Inputs[0])
	var norm float64
	for _, x := range texts[:len(texts)/2] {
		norm += float64(x) * float64(x)
	}
	if math.Abs(math.Sqrt(norm)-scale) > 1e-3*scale || math.Abs(chance-math.Log(2)) > 1e-12 {
		t.Errorf("caption length %g, chance %g; want the logit scale %g and ln 2", math.Sqrt(norm), chance, scale)
	}
}

// TestRobustifyWritesAModelAndResumes fine-tunes a tiny random model with TeCoA's loss for two
// steps, then resumes to three: the export loads, its vision tower changed, its text tower did not, and
// training.json records the options and the step.
func TestRobustifyWritesAModelAndResumes(t *testing.T) {
	out := t.TempDir()
	opts := Options{Model: "random:tiny", Out: out, Steps: 2, BatchSize: 2, CheckpointEvery: 1, DType: "F32",
		Attack: Attack{Radius: 8.0 / 255, StepSize: 2.0 / 255, Steps: 2}, AdversarialWeight: 1, CleanWeight: 0.5, Loss: LossTeCoA}
	if err := Robustify(context.Background(), opts); err != nil {
		t.Fatal(err)
	}
	opts.Steps, opts.LearningRate = 3, 2e-5
	if err := Robustify(context.Background(), opts); err != nil {
		t.Fatal(err)
	}
	if rate := learningRate(t, out); rate != float32(opts.LearningRate) {
		t.Errorf("the resumed training ran at learning rate %g, want the new %g", rate, opts.LearningRate)
	}
	tuned, err := clipmodel.LoadFolder(filepath.Join(out, "model"))
	if err != nil {
		t.Fatal(err)
	}
	original := tinyModel(t)
	for name, wantChanged := range map[string]bool{"vision_model.encoder.layers.0.mlp.fc1.weight": true,
		"visual_projection.weight": true, "text_model.encoder.layers.0.mlp.fc1.weight": false} {
		if changed := !slices.Equal(weight(t, tuned, name), weight(t, original, name)); changed != wantChanged {
			t.Errorf("%s changed: %v, want %v", name, changed, wantChanged)
		}
	}
	var info struct {
		Robust struct {
			Options
			Step int `json:"step"`
		} `json:"robust"`
	}
	data, err := os.ReadFile(filepath.Join(out, "model", "training.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &info); err != nil {
		t.Fatal(err)
	}
	if got := info.Robust; got.Step != 3 || got.Attack != opts.Attack || got.CleanWeight != 0.5 || got.BatchSize != 2 || got.Loss != LossTeCoA {
		t.Errorf("training.json records %+v, want step 3 and the options %+v", got, opts)
	}
}

// TestRobustifyKeepsItsLoss trains a step with TeCoA's loss: resuming with FARE's is refused,
// and an export without a loss records TeCoA's.
func TestRobustifyKeepsItsLoss(t *testing.T) {
	out := t.TempDir()
	opts := Options{Model: "random:tiny", Out: out, Steps: 1, BatchSize: 2, DType: "F32", Loss: LossTeCoA,
		Attack: Attack{Radius: 8.0 / 255, StepSize: 2.0 / 255, Steps: 1}}
	if err := Robustify(context.Background(), opts); err != nil {
		t.Fatal(err)
	}
	opts.Steps, opts.Loss = 2, LossFARE
	if err := Robustify(context.Background(), opts); err == nil || !strings.Contains(err.Error(), "trained with loss tecoa") {
		t.Errorf("resuming with FARE's loss: %v, want a refusal naming tecoa", err)
	}
	opts.Loss, opts.ExportOnly = "", true
	if err := Robustify(context.Background(), opts); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(out, "model", "training.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), `"loss": "tecoa"`) {
		t.Errorf("the export records %s, want loss tecoa", data)
	}
}

// TestRobustifyLeavesOutAloneWhenTheModelDoesNotLoad: a model that does not load writes nothing
// into Out, so that the corrected command, under any loss, starts there afresh.
func TestRobustifyLeavesOutAloneWhenTheModelDoesNotLoad(t *testing.T) {
	out := filepath.Join(t.TempDir(), "out")
	if err := Robustify(context.Background(), Options{Model: filepath.Join(t.TempDir(), "missing"), Out: out}); err == nil {
		t.Fatal("a missing model loaded")
	}
	if _, err := os.Stat(out); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the failed start left %s (%v)", out, err)
	}
}

// TestRobustifyChecksTheLossBeforeLoading resumes a FARE folder under TeCoA's loss with a model
// that does not exist: the loss is refused first, without loading (a hub model would download).
func TestRobustifyChecksTheLossBeforeLoading(t *testing.T) {
	out := t.TempDir()
	if err := os.WriteFile(filepath.Join(out, lossFile), []byte("fare\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	err := Robustify(context.Background(), Options{Model: filepath.Join(t.TempDir(), "missing"), Out: out, Loss: LossTeCoA})
	if err == nil || !strings.Contains(err.Error(), "trained with loss fare") {
		t.Errorf("got %v, want the loss refused before the model is looked for", err)
	}
}

// TestRobustifyRefusesAnUnknownLoss names the losses it knows.
func TestRobustifyRefusesAnUnknownLoss(t *testing.T) {
	err := Robustify(context.Background(), Options{Model: "random:tiny", Out: t.TempDir(), Loss: "tecao"})
	if err == nil || !strings.Contains(err.Error(), `loss "tecao": choose fare or tecoa`) {
		t.Errorf("got %v, want an error naming the losses", err)
	}
	err = Robustify(context.Background(), Options{Model: "random:tiny", Out: t.TempDir(), CleanCEWeight: 1})
	if err == nil || !strings.Contains(err.Error(), "needs the tecoa loss") {
		t.Errorf("a clean cross-entropy with FARE: got %v", err)
	}
}

func weight(t *testing.T, m *clipmodel.Model, name string) []float32 {
	t.Helper()
	value, err := m.Store.GetVariable(clipmodel.VariablePath(name)).Value()
	if err != nil {
		t.Fatal(err)
	}
	return tensors.MustCopyFlatData[float32](value)
}

// TestDecayLowersTheLastStepsRate trains three steps with the rate decaying over the last two:
// the last step ran at the half-cosine's midpoint, and training.json records the decay.
func TestDecayLowersTheLastStepsRate(t *testing.T) {
	out := t.TempDir()
	opts := Options{Model: "random:tiny", Out: out, Steps: 3, DecaySteps: 2, BatchSize: 2, LearningRate: 1e-3,
		DType: "F32", Attack: Attack{Radius: 4.0 / 255, StepSize: 1.0 / 255, Steps: 1}}
	if err := Robustify(context.Background(), opts); err != nil {
		t.Fatal(err)
	}
	if rate := learningRate(t, out); math.Abs(float64(rate)-5.5e-4) > 1e-7 {
		t.Errorf("the last step ran at learning rate %g, want 5.5e-4", rate)
	}
	record, err := os.ReadFile(filepath.Join(out, "model", "training.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(record), `"decay_steps": 2`) {
		t.Errorf("training.json does not record the decay:\n%s", record)
	}
}

// learningRate reads the learning rate stored in a training folder's newest checkpoint.
func learningRate(t *testing.T, out string) float32 {
	t.Helper()
	store := model.NewStore()
	if _, err := checkpoint.Build(store).Dir(filepath.Join(out, "checkpoints")).Immediate().Done(); err != nil {
		t.Fatal(err)
	}
	for v := range store.IterVariables() {
		if strings.HasSuffix(v.Path(), optimizer.ParamLearningRate) {
			value, err := v.Value()
			if err != nil {
				t.Fatal(err)
			}
			return tensors.MustCopyFlatData[float32](value)[0]
		}
	}
	t.Fatal("no learning rate in the checkpoint")
	return 0
}
