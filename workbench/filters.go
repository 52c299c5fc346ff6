package workbench

import (
	"github.com/clipwork/clipwork/clipmodel"
	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // GoMLX graph code reads best with the dot import.
)

// GaussianBlur blurs images x [n, height, width, channels] with one sigma per image (sigma [n];
// 0 leaves an image as it is), over a kernel of the given static radius. Near the borders the
// kernel is renormalised over the pixels that exist, so edges neither darken nor wrap.
func GaussianBlur(x, sigma *Node, radius int) *Node {
	return gaussianBlurXY(x, sigma, sigma, radius, radius)
}

// gaussianBlurXY is GaussianBlur with a sigma [n] and a radius of its own across (x) and down (y),
// as torchvision's gaussian_blur takes them.
func gaussianBlurXY(x, sigmaX, sigmaY *Node, radiusX, radiusY int) *Node {
	ones := Ones(x.Graph(), shapes.Make(x.DType(), 1, x.Shape().Dim(1), x.Shape().Dim(2), 1))
	for _, a := range []struct {
		axis, radius int
		sigma        *Node
	}{{1, radiusY, sigmaY}, {2, radiusX, sigmaX}} {
		if a.radius <= 0 {
			continue
		}
		kernel := gaussianKernel(a.sigma, a.radius, x.Shape().Dim(0))
		x = Div(convolveAxis(x, kernel, a.axis, a.radius), convolveAxis(ones, kernel, a.axis, a.radius))
	}
	return x
}

// gaussianKernel is the unnormalised Gaussian [n, 2*radius+1] of each of n sigmas [n].
func gaussianKernel(sigma *Node, radius, n int) *Node {
	offsets := AddScalar(Iota(sigma.Graph(), shapes.Make(sigma.DType(), 1, 2*radius+1), 1), float64(-radius))
	s := Reshape(MaxScalar(sigma, 1e-3), n, 1)
	return Exp(Div(Neg(Square(offsets)), MulScalar(Square(s), 2)))
}

// convolveAxis sums shifted copies of x along axis weighted by kernel [n, 2r+1] (n may
// broadcast to x's first axis), with zeros beyond the edges.
func convolveAxis(x, kernel *Node, axis, radius int) *Node {
	length := x.Shape().Dim(axis)
	pads := make([]compute.PadAxis, x.Rank())
	pads[axis] = compute.PadAxis{Start: radius, End: radius}
	padded := Pad(x, ScalarZero(x.Graph(), x.DType()), pads...)
	var sum *Node
	for k := range 2*radius + 1 {
		specs := make([]SliceAxisSpec, x.Rank())
		for i := range specs {
			specs[i] = AxisRange()
		}
		specs[axis] = AxisRange(k, k+length)
		weight := Slice(kernel, AxisRange(), AxisRange(k, k+1))
		weight = Reshape(weight, kernel.Shape().Dim(0), 1, 1, 1)
		term := Mul(Slice(padded, specs...), weight)
		if sum == nil {
			sum = term
		} else {
			sum = Add(sum, term)
		}
	}
	return sum
}

// blurRadius is the kernel radius that covers a Gaussian of the given largest sigma.
func blurRadius(maxSigma float64) int {
	return min(max(int(3*maxSigma+0.999), 0), 16)
}

// grey is the mean over the channel axis, kept as an axis of size 1.
func grey(x *Node) *Node {
	return ReduceAndKeep(x, ReduceMean, -1)
}

// imageMean is the mean over each image's pixels and channels, as [n, 1, 1, 1].
func imageMean(x *Node) *Node {
	return ReduceAndKeep(x, ReduceMean, 1, 2, 3)
}

// sobelMagnitude is the gradient magnitude of the grey image, [n, h-2, w-2, 1].
func sobelMagnitude(x *Node) *Node {
	gr := grey(x)
	h, w := gr.Shape().Dim(1), gr.Shape().Dim(2)
	at := func(dy, dx int) *Node {
		return Slice(gr, AxisRange(), AxisRange(1+dy, h-1+dy), AxisRange(1+dx, w-1+dx), AxisRange())
	}
	gx := Add(Add(Sub(at(-1, 1), at(-1, -1)), MulScalar(Sub(at(0, 1), at(0, -1)), 2)), Sub(at(1, 1), at(1, -1)))
	gy := Add(Add(Sub(at(1, -1), at(-1, -1)), MulScalar(Sub(at(1, 0), at(-1, 0)), 2)), Sub(at(1, 1), at(-1, 1)))
	return Sqrt(AddScalar(Add(Square(gx), Square(gy)), 1e-8))
}

// totalVariation is the mean absolute difference of neighbouring pixels, per image [n].
func totalVariation(x *Node) *Node {
	h, w := x.Shape().Dim(1), x.Shape().Dim(2)
	dy := Sub(Slice(x, AxisRange(), AxisRange(1, h)), Slice(x, AxisRange(), AxisRange(0, h-1)))
	dx := Sub(Slice(x, AxisRange(), AxisRange(), AxisRange(1, w)), Slice(x, AxisRange(), AxisRange(), AxisRange(0, w-1)))
	return Add(ReduceMean(Abs(dy), 1, 2, 3), ReduceMean(Abs(dx), 1, 2, 3))
}

// float32Scalar is a float32 scalar constant.
func float32Scalar(g *Graph, v float64) *Node {
	return Scalar(g, dtypes.Float32, v)
}

// perChannel is a colour, one value per channel, as a node of x's shape [n, height, width, 3]
// (see clipmodel.ChannelsLike).
func perChannel(x *Node, c [3]float64) *Node {
	return clipmodel.ChannelsLike(x, Const(x.Graph(), []float32{float32(c[0]), float32(c[1]), float32(c[2])}))
}
