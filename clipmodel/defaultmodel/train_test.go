package defaultmodel

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/clipwork/clipwork/clipmodel"
	"github.com/clipwork/clipwork/clipmodel/scenes"
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/train"
	"github.com/gomlx/gomlx/ml/train/optimizer"
)

// BenchmarkTrainStep times one contrastive training step of the default architecture.
//
//	GOEXPERIMENT=simd go test ./clipmodel/defaultmodel -run '^$' -bench TrainStep -benchtime 3x
func BenchmarkTrainStep(b *testing.B) {
	opts := TrainOptions{Out: b.TempDir()}
	opts.defaults()
	tok, err := trainingTokenizer(opts.Out, "", 1)
	if err != nil {
		b.Fatal(err)
	}
	m, _, err := trainingModel(opts, tok)
	if err != nil {
		b.Fatal(err)
	}
	trainer := train.NewTrainer(m.Backend, m.Store, contrastiveModel(m), contrastiveLoss,
		optimizer.Adam().Done(), nil, nil)
	batch := makeBatch(tok, 1, 0, 64)
	if _, err := trainer.TrainStep(batch); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := range b.N {
		if _, err := trainer.TrainStep(makeBatch(tok, 1, i+1, 64)); err != nil {
			b.Fatal(err)
		}
	}
}

// trainOneStep trains one small step in a new folder, which it returns, with its export.
func trainOneStep(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := Train(context.Background(), TrainOptions{Out: dir, Steps: 1, BatchSize: 4}); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestTrainExportsAndContinues trains one small step, exports, and starts a new training
// folder from the export: it continues at the exported step.
func TestTrainExportsAndContinues(t *testing.T) {
	if testing.Short() {
		t.Skip("trains for a few seconds")
	}
	first := trainOneStep(t)
	info, err := readTrainingInfo(filepath.Join(first, "model"))
	if err != nil || info.Step != 1 {
		t.Fatalf("exported step %d (%v), want 1", info.Step, err)
	}
	var log strings.Builder
	second := t.TempDir()
	opts := TrainOptions{Out: second, Steps: 2, BatchSize: 4, InitFrom: filepath.Join(first, "model"), Progress: &log}
	if err := Train(context.Background(), opts); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(log.String(), "training from step 1 to 2") {
		t.Errorf("did not continue from the exported step:\n%s", log.String())
	}
	if info, _ := readTrainingInfo(filepath.Join(second, "model")); info.Step != 2 {
		t.Errorf("second export at step %d, want 2", info.Step)
	}
	m, err := clipmodel.LoadFolder(filepath.Join(second, "model"))
	if err != nil {
		t.Fatal(err)
	}
	if m.Config.Vision.ImageSize != ImageSize {
		t.Errorf("exported image size %d", m.Config.Vision.ImageSize)
	}
}

// TestInitFromIsCheckedFirst starts new training folders from a missing model and from one at
// step 50 with a total of 10: both refused, naming the cause, before the folder is written.
func TestInitFromIsCheckedFirst(t *testing.T) {
	ahead := t.TempDir()
	if err := os.WriteFile(filepath.Join(ahead, trainingInfoFile), []byte(`{"step": 50}`), 0o644); err != nil {
		t.Fatal(err)
	}
	for from, want := range map[string]string{
		filepath.Join(t.TempDir(), "missing"): "is not an exported default model",
		ahead:                                 "at step 50, past step 10",
	} {
		out := filepath.Join(t.TempDir(), "out")
		err := Train(context.Background(), TrainOptions{Out: out, Steps: 10, InitFrom: from})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("--init-from %s: %v, want an error mentioning %q", from, err, want)
		}
		if _, err := os.Stat(out); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("--init-from %s: the refused start left %s (%v)", from, out, err)
		}
	}
}

// TestExportAveragesTheNewestCheckpoints trains two steps, exporting after each, then exports
// the mean of both checkpoints: the weights are the mean of the two exports'.
func TestExportAveragesTheNewestCheckpoints(t *testing.T) {
	if testing.Short() {
		t.Skip("trains for a few seconds")
	}
	dir := t.TempDir()
	var exports []map[string][]float32
	for _, opts := range []TrainOptions{{Steps: 1}, {Steps: 2}, {ExportOnly: true, Average: 2}} {
		opts.Out, opts.BatchSize, opts.CheckpointEvery = dir, 4, 1
		if err := Train(context.Background(), opts); err != nil {
			t.Fatal(err)
		}
		exports = append(exports, readExportedWeights(t, filepath.Join(dir, "model")))
	}
	if info, err := readTrainingInfo(filepath.Join(dir, "model")); err != nil || info.Step != 2 || info.Averaged != 2 || info.FrozenVision || info.Robust != nil {
		t.Errorf("training.json holds %+v (%v), want step 2 averaged over 2", info, err)
	}
	// F16 rounding blurs single weights, so compare sums: the distance of the export from the
	// two steps' midpoint against the distance between the steps.
	var offMidpoint, apart float64
	for name, mean := range exports[2] {
		first, second := exports[0][name], exports[1][name]
		for i := range mean {
			offMidpoint += math.Abs(float64(mean[i] - (first[i]+second[i])/2))
			apart += math.Abs(float64(first[i] - second[i]))
		}
	}
	if apart == 0 || offMidpoint > apart/10 {
		t.Errorf("the export is %g off the checkpoints' mean, which are %g apart", offMidpoint, apart)
	}
}

// TestAverageNeedsExport refuses --average while training, where it would do nothing.
func TestAverageNeedsExport(t *testing.T) {
	err := Train(context.Background(), TrainOptions{Out: t.TempDir(), Steps: 1, Average: 3})
	if err == nil || !strings.Contains(err.Error(), "--export") {
		t.Errorf("training with Average 3 gave %v, want an error naming --export", err)
	}
}

// readExportedWeights reads every tensor of an exported model.
func readExportedWeights(t *testing.T, dir string) map[string][]float32 {
	t.Helper()
	st, err := clipmodel.OpenSafetensors(filepath.Join(dir, "model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	weights := map[string][]float32{}
	for name := range st.Tensors {
		if weights[name], err = st.ReadFloat32(name); err != nil {
			t.Fatal(err)
		}
	}
	return weights
}

// TestResumingTakesTheNewLearningRate resumes a training folder with another learning rate:
// the optimiser uses it, not the one the checkpoint was saved with.
func TestResumingTakesTheNewLearningRate(t *testing.T) {
	if testing.Short() {
		t.Skip("trains for a few seconds")
	}
	dir := t.TempDir()
	for i, lr := range []float64{1e-3, 3e-4} {
		if err := Train(context.Background(), TrainOptions{Out: dir, Steps: i + 1, BatchSize: 2, LearningRate: lr}); err != nil {
			t.Fatal(err)
		}
	}
	tok, err := trainingTokenizer(dir, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	m, _, err := trainingModel(TrainOptions{Out: dir}, tok)
	if err != nil {
		t.Fatal(err)
	}
	value, err := optimizer.LearningRateVar(m.Store.RootScope(), dtypes.Float32, 0).Value()
	if err != nil {
		t.Fatal(err)
	}
	if got := tensors.MustCopyFlatData[float32](value)[0]; math.Abs(float64(got)-3e-4) > 1e-9 {
		t.Errorf("learning rate %g after resuming with 3e-4", got)
	}
}

// TestAttributeTargetsAreOneHot checks that each scene's row marks exactly its own option of
// every head attribute.
func TestAttributeTargetsAreOneHot(t *testing.T) {
	s := []scenes.Scene{
		{Shape: "star", Color: "red", Size: "small", Count: "two", Position: "left", Background: "sky"},
		{Shape: "ring", Color: "blue", Size: "large", Count: "many", Position: "centre", Background: "sand"},
	}
	rows := attributeTargets(s, nil).Value().([][]float32)
	for i, scene := range s {
		var marked []string
		offset := 0
		for _, a := range headAttributes {
			for k, v := range a.Options {
				if rows[i][offset+k] == 1 {
					marked = append(marked, v)
				} else if rows[i][offset+k] != 0 {
					t.Fatalf("row %d holds %v", i, rows[i])
				}
			}
			offset += len(a.Options)
		}
		want := []string{scene.Shape, scene.Color, scene.Count, scene.Position, scene.Background}
		if strings.Join(marked, " ") != strings.Join(want, " ") {
			t.Errorf("scene %d marks %v, want %v", i, marked, want)
		}
	}
}

// TestTextTargetsMarkOnlyWhatCaptionsName checks the caption heads' targets: a caption that
// leaves the position out marks no position, one that names it marks its own; backgrounds are
// always marked.
func TestTextTargetsMarkOnlyWhatCaptionsName(t *testing.T) {
	s := scenes.Scene{Shape: "star", Color: "red", Size: "small", Count: "two", Position: "left", Background: "grey"}
	captions := []scenes.Caption{{Scene: s, Names: scenes.Named{Position: true}}, {Scene: s, Names: scenes.Named{Background: true}}}
	rows := attributeTargets([]scenes.Scene{s, s}, captions).Value().([][]float32)
	marked := func(row []float32, attr string) int {
		offset, n := 0, 0
		for _, a := range headAttributes {
			for k := range a.Options {
				if a.Name == attr && row[offset+k] == 1 {
					n++
				}
			}
			offset += len(a.Options)
		}
		return n
	}
	if marked(rows[0], "background") != 1 || marked(rows[0], "position") != 1 || marked(rows[0], "shape") != 1 {
		t.Errorf("a caption naming the position marks %d backgrounds, %d positions", marked(rows[0], "background"), marked(rows[0], "position"))
	}
	if marked(rows[1], "background") != 1 || marked(rows[1], "position") != 0 {
		t.Errorf("a caption without position marks %d backgrounds, %d positions", marked(rows[1], "background"), marked(rows[1], "position"))
	}
}

// TestCaptionMatchesFollowWhatCaptionsName checks the contrastive targets: the diagonal is
// always 1, and a caption that leaves the position out fits the scenes of a position group.
func TestCaptionMatchesFollowWhatCaptionsName(t *testing.T) {
	base := scenes.Scene{Shape: "star", Color: "red", Size: "small", Count: "two", Position: "left", Background: "sky"}
	right := base
	right.Position = "right"
	s := []scenes.Scene{base, right}
	captions := []scenes.Caption{{Scene: base, Names: scenes.Named{Position: true}}, {Scene: right}}
	m := captionMatches(s, captions).Value().([][]float32)
	want := [][]float32{{1, 1}, {0, 1}}
	if fmt.Sprint(m) != fmt.Sprint(want) {
		t.Errorf("matches %v, want %v", m, want)
	}
}

// TestPositionTableTellsNearFromFar checks the 2D sine table: every patch's row has norm
// positionNorm, and a patch is more like its neighbour than like a patch across the grid.
func TestPositionTableTellsNearFromFar(t *testing.T) {
	const grid, dim = 8, 128
	table := positionTable(grid, dim)
	dot := func(a, b []float32) float64 {
		s := 0.0
		for k := range a {
			s += float64(a[k] * b[k])
		}
		return s
	}
	for i, row := range table {
		if n := math.Sqrt(dot(row, row)); math.Abs(n-positionNorm) > 1e-4 {
			t.Fatalf("row %d has norm %g, want %g", i, n, positionNorm)
		}
	}
	at := func(y, x int) []float32 { return table[y*grid+x] }
	for _, c := range [][2]int{{0, 0}, {3, 4}, {7, 2}} {
		y, x := c[0], c[1]
		near := dot(at(y, x), at(y, x+1))
		far := dot(at(y, x), at(grid-1-y, grid-1-x))
		if near <= far {
			t.Errorf("patch (%d,%d): neighbour similarity %.3f not above far patch's %.3f", y, x, near, far)
		}
	}
}

// TestAddNoiseStaysWithinItsStrength checks the training images' noise: centred, never stronger
// than maxNoise, and of varying strength from image to image.
func TestAddNoiseStaysWithinItsStrength(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var stds []float64
	for range 20 {
		pixels := addNoise(rng, make([]float32, 4096))
		var sum, squares float64
		for _, p := range pixels {
			sum += float64(p)
			squares += float64(p) * float64(p)
		}
		mean := sum / float64(len(pixels))
		std := math.Sqrt(squares/float64(len(pixels)) - mean*mean)
		if math.Abs(mean) > 0.01 || std > maxNoise*1.05 {
			t.Fatalf("noise of mean %.4f and std %.4f (at most %g)", mean, std, maxNoise)
		}
		stds = append(stds, std)
	}
	if slices.Max(stds)-slices.Min(stds) < maxNoise/2 {
		t.Errorf("noise strengths %v hardly vary", stds)
	}
}

// TestFreezeVisionTrainsTheTextTowerOnly starts a training from an exported model with a robust
// record, freezing the vision tower: after a step the export's vision weights are the
// starting model's, its text weights are not, and training.json says so and keeps the record.
func TestFreezeVisionTrainsTheTextTowerOnly(t *testing.T) {
	if testing.Short() {
		t.Skip("trains for a few seconds")
	}
	first := trainOneStep(t)
	start := filepath.Join(first, "model")
	record := `{"step": 1, "robust": {"loss": "tecoa", "step": 7}}`
	if err := os.WriteFile(filepath.Join(start, trainingInfoFile), []byte(record), 0o644); err != nil {
		t.Fatal(err)
	}
	second := t.TempDir()
	opts := TrainOptions{Out: second, Steps: 2, BatchSize: 4, InitFrom: start, FreezeVision: true, LearningRate: 1e-2}
	if err := Train(context.Background(), opts); err != nil {
		t.Fatal(err)
	}
	before, after := readExportedWeights(t, start), readExportedWeights(t, filepath.Join(second, "model"))
	changed := map[string]bool{}
	for name, values := range after {
		changed[name] = !slices.Equal(values, before[name])
	}
	for name, moved := range changed {
		vision := strings.HasPrefix(name, "vision_model.") || strings.HasPrefix(name, "visual_projection.")
		if vision && moved {
			t.Errorf("%s changed with the vision tower frozen", name)
		}
	}
	if !changed["text_projection.weight"] || !changed["text_model.final_layer_norm.weight"] {
		t.Error("the text tower did not train")
	}
	info, err := readTrainingInfo(filepath.Join(second, "model"))
	if err != nil || info.Step != 2 || !info.FrozenVision || !strings.Contains(string(info.Robust), `"tecoa"`) {
		t.Errorf("training.json holds %+v (robust %s, %v), want step 2, the frozen vision and the start's robust record", info, info.Robust, err)
	}
}
