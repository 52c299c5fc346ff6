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
