// Package graphmath holds GoMLX graph functions that avoid the Exp and Logistic ops.
//
// With GOEXPERIMENT=simd (which the Go backend's fast matrix products need), Go 1.26's math.Exp
// runs about a hundred times slower than without it (measured here: 1.2 µs against 9 ns a
// call), and the Go backend's Exp, Logistic and Tanh ops call it for every element (Tanh for
// arguments beyond 0.625); math.Expm1 keeps its speed. CLIP's quick-GELU and its softmaxes are
// therefore written with Expm1, which all backends run natively.
package graphmath

import (
	"github.com/gomlx/compute/shapes"
	"github.com/gomlx/gomlx/core/graph"
)

type node = graph.Node

func init() {
	// GoMLX v0.28.2 has no gradient for Expm1; d/dx expm1(x) = expm1(x) + 1.
	if _, ok := graph.VJPRegistration[graph.NodeTypeExpm1]; !ok {
		graph.VJPRegistration[graph.NodeTypeExpm1] = func(n *node, v []*node, _ shapes.Shape) []*node {
			return []*node{graph.Mul(v[0], graph.AddScalar(n, 1))}
		}
	}
}

// Exp is e^x, as expm1(x) + 1.
func Exp(x *node) *node {
	return graph.AddScalar(graph.Expm1(x), 1)
}

// Sigmoid is 1 / (1 + e^-x), as 1 / (2 + expm1(-x)), with x clamped to ±80 so that expm1
// cannot overflow (the true gradient there is below 1e-34).
func Sigmoid(x *node) *node {
	return graph.Reciprocal(graph.AddScalar(graph.Expm1(graph.Neg(graph.ClipScalar(x, -80, 80))), 2))
}

// Softmax normalises e^x over axis.
func Softmax(x *node, axis int) *node {
	e := Exp(graph.Sub(x, rowMax(x, axis)))
	return graph.Div(e, graph.ReduceAndKeep(e, graph.ReduceSum, axis))
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
