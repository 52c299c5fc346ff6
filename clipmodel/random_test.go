package clipmodel

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestNormalsAreStandard checks the mean, variance and tails of 200,000 draws.
func TestNormalsAreStandard(t *testing.T) {
	normal := newNormals(rand.New(rand.NewPCG(1, 2)))
	const n = 200000
	var sum, squares float64
	beyond2 := 0
	for range n {
		x := normal()
		sum += x
		squares += x * x
		if math.Abs(x) > 2 {
			beyond2++
		}
	}
	mean, variance := sum/n, squares/n-(sum/n)*(sum/n)
	if math.Abs(mean) > 0.01 || math.Abs(variance-1) > 0.015 {
		t.Errorf("mean %.4f, variance %.4f; want 0 and 1", mean, variance)
	}
	if share := float64(beyond2) / n; math.Abs(share-0.0455) > 0.003 {
		t.Errorf("%.4f of the draws beyond 2 standard deviations, want 0.0455", share)
	}
}

// TestRandomResNetReadsItsSpecs builds a small random ResNet CLIP and checks that both towers
// read exactly the weights TensorSpecs lists (the graph creates none of its own) and that the
// image embedding has the projection's width and is finite.
func TestRandomResNetReadsItsSpecs(t *testing.T) {
	cfg := resnetConfig([]int{1, 2, 1, 1}, 8, 64, 12, 64, 2)
	cfg.Text.VocabSize, cfg.Text.MaxPositionEmbeddings, cfg.Text.NumHiddenLayers = 600, 16, 1
	m, err := NewRandom("resnet-test", cfg, 1)
	if err != nil {
		t.Fatal(err)
	}
	want := len(cfg.TensorSpecs())
	images, err := m.EmbedPixels([][]float32{make([]float32, 64*64*3)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.EmbedTexts([]string{"a cat"}); err != nil {
		t.Fatal(err)
	}
	if got := m.Scope().NumVariables(); got != want {
		t.Errorf("the graphs use %d variables, TensorSpecs lists %d", got, want)
	}
	if len(images[0]) != 12 {
		t.Fatalf("embedding width %d, want 12", len(images[0]))
	}
	for _, v := range images[0] {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			t.Fatalf("embedding %v is not finite", images[0])
		}
	}
}
