package graphmath

import (
	"math"
	"testing"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	_ "github.com/gomlx/compute/gobackend"
	"github.com/gomlx/compute/shapes"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
)

// TestMatchesGoMLX compares every function and its gradient with GoMLX's own version.
func TestMatchesGoMLX(t *testing.T) {
	backend, err := compute.NewWithConfig("go")
	if err != nil {
		t.Fatal(err)
	}
	x := tensors.FromValue([][]float32{{-30, -3, -0.5, 0, 0.25, 2, 9}, {1, 1, 1, 4, -1, 0, 0.5}})
	mask := tensors.FromValue([][]bool{{true, false, true, true, true, false, true}, {true, true, true, true, true, true, false}})
	type fn = func(x, mask *node) *node
	pairs := map[string][2]fn{
		"exp":     {func(x, _ *node) *node { return Exp(x) }, func(x, _ *node) *node { return graph.Exp(x) }},
		"sigmoid": {func(x, _ *node) *node { return Sigmoid(x) }, func(x, _ *node) *node { return graph.Logistic(x) }},
		"softmax": {func(x, _ *node) *node { return Softmax(x, -1) }, func(x, _ *node) *node { return graph.Softmax(x, -1) }},
		"softmax-expm1": {func(x, _ *node) *node { return softmaxExpm1(x, -1) },
			func(x, _ *node) *node { return graph.Softmax(x, -1) }},
		"softmax-axis-0": {func(x, _ *node) *node { return Softmax(x, 0) }, func(x, _ *node) *node { return graph.Softmax(x, 0) }},
		"masked": {func(x, m *node) *node { return MaskedSoftmax(x, m, -1) },
			func(x, m *node) *node { return graph.MaskedSoftmax(x, m, -1) }},
		"logsoftmax": {func(x, _ *node) *node { return LogSoftmax(x, -1) },
			func(x, _ *node) *node { return graph.LogSoftmax(x, -1) }},
	}
	for name, fns := range pairs {
		var results [2][2][]float32 // [ours, GoMLX's][value, gradient]
		for i, f := range fns {
			exec := graph.MustNewExec(backend, func(x, m *node) []*node {
				y := f(x, m)
				w := graph.Const(x.Graph(), [][]float32{{1, 2, 3, 4, 5, 6, 7}, {7, 6, 5, 4, 3, 2, 1}})
				return []*node{y, graph.Gradient(graph.ReduceAllSum(graph.Mul(y, w)), x)[0]}
			})
			out := exec.MustExec(x, mask)
			results[i] = [2][]float32{tensors.MustCopyFlatData[float32](out[0]), tensors.MustCopyFlatData[float32](out[1])}
		}
		for k, what := range []string{"value", "gradient"} {
			for j, want := range results[1][k] {
				got := results[0][k][j]
				if math.Abs(float64(got-want)) > 1e-5*max(1, math.Abs(float64(want))) {
					t.Errorf("%s %s, element %d: %g, GoMLX %g", name, what, j, got, want)
				}
			}
		}
	}
}

// TestSoftmaxUsesFusedOp checks that on the Go backend a float32 softmax over the last axis is
// the backend's fused op, and one over another axis is not.
func TestSoftmaxUsesFusedOp(t *testing.T) {
	backend, err := compute.NewWithConfig("go")
	if err != nil {
		t.Fatal(err)
	}
	g := graph.NewGraph(backend, "softmax")
	x := graph.Parameter(g, "x", shapes.Make(dtypes.Float32, 2, 3))
	if got := Softmax(x, -1).Type(); got != graph.NodeTypeFusedSoftmax {
		t.Errorf("softmax over the last axis is a %s node, want FusedSoftmax", got)
	}
	if got := Softmax(x, 0).Type(); got == graph.NodeTypeFusedSoftmax {
		t.Errorf("softmax over axis 0 is a FusedSoftmax node")
	}
}

// TestSigmoidInPiecesMatchesGoMLX checks the gradient of Sigmoid on a tensor large enough to be
// computed in pieces against GoMLX's Logistic's.
func TestSigmoidInPiecesMatchesGoMLX(t *testing.T) {
	backend, err := compute.NewWithConfig("go")
	if err != nil {
		t.Fatal(err)
	}
	rows, cols := 7, 3*minPiece/5
	data := make([]float32, rows*cols)
	for i := range data {
		data[i] = float32(i%997)/50 - 10
	}
	x := tensors.FromFlatDataAndDimensions(data, rows, cols)
	var results [2][]float32
	for i, f := range []func(*node) *node{Sigmoid, graph.Logistic} {
		exec := graph.MustNewExec(backend, func(x *node) *node {
			w := graph.Iota(x.Graph(), x.Shape(), 0)
			return graph.Gradient(graph.ReduceAllSum(graph.Mul(f(x), w)), x)[0]
		})
		results[i] = tensors.MustCopyFlatData[float32](exec.MustExec(x)[0])
	}
	for j, want := range results[1] {
		if got := results[0][j]; math.Abs(float64(got-want)) > 1e-5*max(1, math.Abs(float64(want))) {
			t.Fatalf("gradient element %d: %g, GoMLX %g", j, got, want)
		}
	}
}
