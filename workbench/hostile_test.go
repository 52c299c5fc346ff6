package workbench

import "testing"

// TestCanvasFarLargerThanTheImageRuns runs a pad at its limit on a small image: the pooling
// factor the canvas asks for exceeds the image, which used to panic building the graph.
func TestCanvasFarLargerThanTheImageRuns(t *testing.T) {
	pad := Geometric{Kind: "pad", Values: [][]Value{constants([]float64{MaxCanvasSide, MaxCanvasSide}), constants([]float64{0, 0, 0})}}
	exp := Experiment{Seed: 3, Steps: 2, Width: 32, Height: 32,
		Targets: []Target{{BatchSize: 1, Features: []Feature{{Text: "a cat"}}, Geometry: []Geometric{pad}}}}
	runToEnd(t, exp)
}

// TestQuantizeInATargetRuns runs a target whose windows are quantized: CLIPig's floor has a zero
// gradient, where GoMLX's Floor has none and failed the step's graph.
func TestQuantizeInATargetRuns(t *testing.T) {
	quantize := Transform{Kind: TransformQuantize, Values: constants([]float64{0.1})}
	exp := Experiment{Seed: 4, Steps: 2, Width: 32, Height: 32,
		Targets: []Target{{BatchSize: 2, Features: []Feature{{Text: "a cat"}}, Transforms: []Transform{quantize}}}}
	if h := runToEnd(t, exp).Stats().History; len(h) != 2 {
		t.Errorf("%d steps recorded, want 2", len(h))
	}
}
