package workbench

import (
	"strings"
	"testing"

	"github.com/clipwork/clipwork/clipmodel"
)

func architecture(t *testing.T, arch string) *clipmodel.Config {
	t.Helper()
	c, err := clipmodel.ArchitectureConfig(arch)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestMemoryEstimateMatchesTheBench compares the estimate of clipwork bench's experiment with
// the peak memory it measures (1.2 GB for ViT-B/32, 8 windows, 512x512).
func TestMemoryEstimateMatchesTheBench(t *testing.T) {
	exp := BenchExperiment(512, 8, 5)
	if err := exp.Resolve(); err != nil {
		t.Fatal(err)
	}
	got := EstimateMemory(exp, architecture(t, "ViT-B/32")).Total()
	if got < 1.0e9 || got > 1.6e9 {
		t.Errorf("ViT-B/32, 8 windows at 512x512: estimate %.2f GB, the bench peaks at 1.2 GB", float64(got)/1e9)
	}
}

// TestMemoryRefusalNamesTheSetting checks an oversized image and an oversized batch against
// 20 GB of memory: each refused, naming the setting to lower; the ordinary demo passes.
func TestMemoryRefusalNamesTheSetting(t *testing.T) {
	vit := architecture(t, "ViT-B/32")
	resolve := func(exp Experiment) Experiment {
		t.Helper()
		if err := exp.Resolve(); err != nil {
			t.Fatal(err)
		}
		return exp
	}
	huge := resolve(BenchExperiment(16384, 8, 5))
	batch := BenchExperiment(512, 8, 5)
	batch.Targets[0].BatchSize = 10000
	batch = resolve(batch)
	for name, tc := range map[string]struct {
		exp  Experiment
		want string
	}{
		"resolution": {huge, "lower the resolution (the image is up to 16384x16384)"},
		"batch":      {batch, "lower the targets' batch_size (10000 windows a step in all)"},
		"fits":       {resolve(BenchExperiment(512, 8, 5)), ""},
	} {
		err := checkMemoryAgainst(EstimateMemory(tc.exp, vit), tc.exp, 20e9, false)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: refused: %v", name, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: %v, want an error saying %q", name, err, tc.want)
		}
	}
}

// TestMemoryEstimateCountsEveryModel estimates an ensemble as the weights and activations of
// each model, and windows once per input size: ViT-B/32 twice samples its windows once.
func TestMemoryEstimateCountsEveryModel(t *testing.T) {
	exp := BenchExperiment(512, 8, 5)
	if err := exp.Resolve(); err != nil {
		t.Fatal(err)
	}
	vit, rn := architecture(t, "ViT-B/32"), architecture(t, "RN50x4")
	a, b := EstimateMemory(exp, vit), EstimateMemory(exp, rn)
	both, twice := EstimateMemory(exp, vit, rn), EstimateMemory(exp, vit, vit)
	if both.Weights != a.Weights+b.Weights || both.Activations != a.Activations+b.Activations ||
		both.Windows != a.Windows+b.Windows || both.Image != a.Image {
		t.Errorf("ViT-B/32 %+v and RN50x4 %+v: ensemble %+v", a, b, both)
	}
	if twice.Windows != a.Windows || twice.Weights != 2*a.Weights {
		t.Errorf("ViT-B/32 %+v twice: %+v", a, twice)
	}
	if err := checkMemoryAgainst(both, exp, both.Total()-1, false); err == nil {
		t.Error("an ensemble that needs more than the machine has was accepted")
	}
	if err := checkMemoryAgainst(both, exp, both.Total(), false); err != nil {
		t.Errorf("an ensemble that fits was refused: %v", err)
	}
}

// TestInitResolutionCountsInTheEstimate refuses an initial noise of 16384x16384 pixels for a
// 64x64 image against 10 GB, naming init.resolution.
func TestInitResolutionCountsInTheEstimate(t *testing.T) {
	exp := BenchExperiment(64, 1, 3)
	exp.Init.Resolution = [2]int{16384, 16384}
	if err := exp.Resolve(); err != nil {
		t.Fatal(err)
	}
	err := checkMemoryAgainst(EstimateMemory(exp, architecture(t, "tiny")), exp, 10e9, false)
	if err == nil || !strings.Contains(err.Error(), "lower init.resolution (16384x16384)") {
		t.Errorf("init.resolution 16384: %v", err)
	}
}

// TestFFTNeedsEvenWidthsThroughout refuses the fft parameterisation when any size the run
// reaches, by a stage or a resolution expression, has an odd width.
func TestFFTNeedsEvenWidthsThroughout(t *testing.T) {
	staged := BenchExperiment(64, 1, 4)
	staged.Parameterization = Parameterization{Kind: ParamFFT}
	staged.Stages = []Stage{{Until: AtStep(2), Width: 33, Height: 33}}
	if err := staged.Resolve(); err == nil || !strings.Contains(err.Error(), "even width at every step, and the image is 33x33") {
		t.Errorf("a 33x33 stage under fft: %v", err)
	}
	staged.Stages = []Stage{{Until: AtStep(2), Width: 32, Height: 33}}
	if err := staged.Resolve(); err != nil {
		t.Errorf("even widths throughout: %v", err)
	}
}
