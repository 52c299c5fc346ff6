// Package graphmath holds GoMLX graph functions that avoid the Exp and Logistic ops.
//
// With GOEXPERIMENT=simd (which the Go backend's fast matrix products need), Go 1.26's math.Exp
// runs about a hundred times slower than without it (measured here: 1.2 µs against 9 ns a
// call), and the Go backend's Exp, Logistic and Tanh ops call it for every element (Tanh for
// arguments beyond 0.625); math.Expm1 keeps its speed. CLIP's quick-GELU is therefore written
// with Expm1, which all backends run natively, and softmax uses the backend's fused softmax
// (the Go backend's has its own float32 exponential) or else Expm1.
package graphmath

import (
	"runtime"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/support/exceptions"
)

type node = graph.Node

func init() {
	// GoMLX v0.28.2 has no gradient for Expm1; d/dx expm1(x) = expm1(x) + 1.
	if _, ok := graph.VJPRegistration[graph.NodeTypeExpm1]; !ok {
		graph.VJPRegistration[graph.NodeTypeExpm1] = func(n *node, v []*node, _ shapes.Shape) []*node {
			return []*node{graph.Mul(v[0], graph.AddScalar(n, 1))}
		}
	}
	// GoMLX gives the FusedSoftmax nodes it builds a decomposed twin for the gradient (through
	// the slow Exp) and registers no gradient of its own; this one serves the nodes Softmax
	// below builds, all over the last axis: dx = y * (v - sum(v * y)).
	if _, ok := graph.VJPRegistration[graph.NodeTypeFusedSoftmax]; !ok {
		graph.VJPRegistration[graph.NodeTypeFusedSoftmax] = func(y *node, v []*node, _ shapes.Shape) []*node {
			return []*node{graph.Mul(y, graph.Sub(v[0], graph.ReduceAndKeep(graph.Mul(v[0], y), graph.ReduceSum, -1)))}
		}
	}
}

// Exp is e^x, as expm1(x) + 1.
func Exp(x *node) *node {
	return graph.AddScalar(expm1(x), 1)
}

// Sigmoid is 1 / (1 + e^-x), as 1 / (2 + expm1(-x)), with x clamped to ±80 so that expm1
// cannot overflow (the true gradient there is below 1e-34).
func Sigmoid(x *node) *node {
	return graph.Reciprocal(graph.AddScalar(expm1(graph.Neg(graph.ClipScalar(x, -80, 80))), 2))
}

// minPiece is the fewest elements worth an Expm1 op of their own.
const minPiece = 1 << 15

// expm1 is Expm1 in pieces on the Go backend, whose Expm1 runs on one core (unlike its Erf
// or its matrix products): slices of x along its first axis become separate ops, which the
// backend's parallel executor runs side by side. Other backends get one Expm1.
func expm1(x *node) *node {
	if x.Rank() == 0 || x.Graph().Backend().String() != "go" {
		return graph.Expm1(x)
	}
	rows := x.Shape().Dim(0)
	pieces := min(runtime.GOMAXPROCS(0), rows, x.Shape().Size()/minPiece)
	if pieces < 2 {
		return graph.Expm1(x)
	}
	parts := make([]*node, pieces)
	for i := range parts {
		parts[i] = graph.Expm1(graph.Slice(x, graph.AxisRange(i*rows/pieces, (i+1)*rows/pieces)))
	}
	return graph.Concatenate(parts, 0)
}

// Softmax normalises e^x over axis.
func Softmax(x *node, axis int) *node {
	if graph.MustAdjustAxis(axis, x) == x.Rank()-1 && (x.DType() == dtypes.Float32 || x.DType() == dtypes.Float64) {
		if y, ok := fusedSoftmax(x); ok {
			return y
		}
	}
	return softmaxExpm1(x, axis)
}

func softmaxExpm1(x *node, axis int) *node {
	e := Exp(graph.Sub(x, rowMax(x, axis)))
	return graph.Div(e, graph.ReduceAndKeep(e, graph.ReduceSum, axis))
}

// fusedSoftmax is the backend's softmax over the last axis, where the backend has one (the Go
// backend has, for float32 and float64; XLA has none).
func fusedSoftmax(x *node) (y *node, ok bool) {
	err := exceptions.TryCatch[error](func() { y = graph.BackendFusedSoftmax(x, x.Rank()-1) })
	if err != nil && !compute.IsNotImplemented(err) {
		panic(err)
	}
	return y, err == nil
}

// MaskedSoftmax is Softmax over the positions where mask (broadcastable to x) is true; the rest
// get 0. Every row must keep at least one position.
func MaskedSoftmax(x, mask *node, axis int) *node {
	lowest := graph.BroadcastToShape(graph.Infinity(x.Graph(), x.DType(), -1), x.Shape())
	return Softmax(graph.Where(graph.BroadcastToShape(mask, x.Shape()), x, lowest), axis)
}

// LogSoftmax is x minus the log of the sum of e^x over axis.
func LogSoftmax(x *node, axis int) *node {
	shifted := graph.Sub(x, rowMax(x, axis))
	return graph.Sub(shifted, graph.Log(graph.ReduceAndKeep(Exp(shifted), graph.ReduceSum, axis)))
}

func rowMax(x *node, axis int) *node {
	return graph.StopGradient(graph.ReduceAndKeep(x, graph.ReduceMax, axis))
}
