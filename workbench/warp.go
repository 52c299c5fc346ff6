package workbench

import (
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // GoMLX graph code reads best with the dot import.
)

// SampleWindows cuts windows out of an image through homographies, in one differentiable op.
// image is [height, width, channels]; homographies [n, 9] map each window's pixel coordinates
// (0..size) to the image's (see Homography); the result is [n, size, size, channels].
//
// GoMLX has no grid-sample op, so this is bilinear sampling by hand: a Gather of the four
// neighbours of every sampled point, weighted by its fractional position. Its gradient is the
// Gather's scatter-add back into the image. The Gather reads single values of the flattened
// image rather than a pixel's channels at once: the Go backend adds a scattered slice of
// channels with vector loads that read past the slice's end, which faults when the image's
// buffer ends at unmapped memory (a 512x512 RGB image fills its buffer exactly); added value by
// value, the scatter reads nothing beyond the buffer.
func SampleWindows(image, homographies *Node, size int, pad string) *Node {
	return sampleRect(image, homographies, size, size, pad, false)
}

// sampleRect samples [n, outHeight, outWidth, channels] from image [height, width, channels]
// through homographies [n, 9] as SampleWindows does, bilinearly, or from the nearest pixel where
// nearest is set (torchvision's default for rotate and affine transforms).
func sampleRect(image, homographies *Node, outWidth, outHeight int, pad string, nearest bool) *Node {
	g := image.Graph()
	height, width, channels := image.Shape().Dim(0), image.Shape().Dim(1), image.Shape().Dim(2)
	n := homographies.Shape().Dim(0)
	hom := StopGradient(homographies)

	// Window pixel centres, u across and v down, as [1, pixels].
	pixels := outWidth * outHeight
	across := Iota(g, shapes.Make(dtypes.Float32, outHeight, outWidth), 1)
	down := Iota(g, shapes.Make(dtypes.Float32, outHeight, outWidth), 0)
	u := AddScalar(Reshape(across, 1, pixels), 0.5)
	v := AddScalar(Reshape(down, 1, pixels), 0.5)
	coef := func(i int) *Node { return Slice(hom, AxisRange(), AxisRange(i, i+1)) }
	w := Add(Add(Mul(coef(6), u), Mul(coef(7), v)), coef(8))
	x := Div(Add(Add(Mul(coef(0), u), Mul(coef(1), v)), coef(2)), w)
	y := Div(Add(Add(Mul(coef(3), u), Mul(coef(4), v)), coef(5)), w)

	// Continuous pixel index space: pixel i's centre is at i. A point a perspective sends to
	// infinity and back (0/0) samples pixel 0 rather than an index that is no number.
	x, y = AddScalar(notNaN(x), -0.5), AddScalar(notNaN(y), -0.5)
	x0, y0 := Floor(x), Floor(y)
	corners := [][2]int{{0, 0}, {1, 0}, {0, 1}, {1, 1}}
	if nearest { // round half to even, as grid_sample's nearest mode
		x0, y0, corners = Round(x), Round(y), corners[:1]
	}
	fx, fy := Sub(x, x0), Sub(y, y0)
	weightAt := func(corner [2]int) *Node { return Mul(pick(fx, corner[0]), pick(fy, corner[1])) }
	if nearest {
		weightAt = func([2]int) *Node { return OnesLike(x) }
	}

	flat := Reshape(image, height*width*channels)
	channel := Iota(g, shapes.Make(dtypes.Int32, 1, 1, channels), 2)
	out := Zeros(g, shapes.Make(image.DType(), n, pixels, channels))
	for _, corner := range corners {
		xi, yi := AddScalar(x0, float64(corner[0])), AddScalar(y0, float64(corner[1]))
		weight := weightAt(corner)
		xi, xValid := padIndex(xi, width, pad)
		yi, yValid := padIndex(yi, height, pad)
		if xValid != nil {
			weight = Mul(Mul(weight, xValid), yValid)
		}
		pixel := Add(MulScalar(ConvertDType(yi, dtypes.Int32), width), ConvertDType(xi, dtypes.Int32))
		indices := Add(MulScalar(InsertAxes(pixel, -1), channels), channel) // [n, pixels, channels]
		out = Add(out, Mul(Gather(flat, InsertAxes(indices, -1)), InsertAxes(weight, -1)))
	}
	return Reshape(out, n, outHeight, outWidth, channels)
}

// notNaN is x with NaN values replaced by 0.
func notNaN(x *Node) *Node {
	return Where(IsNaN(x), ZerosLike(x), x)
}

// pick is the bilinear weight of the lower (0) or upper (1) neighbour at fraction f.
func pick(f *Node, upper int) *Node {
	if upper == 1 {
		return f
	}
	return OneMinus(f)
}

// padIndex maps integer-valued float indices into [0, length) by the pad mode. For
// PadConstant it also returns 1 where the index was inside and 0 where it was not.
func padIndex(i *Node, length int, pad string) (index, valid *Node) {
	last := float64(length - 1)
	switch pad {
	case PadWrap:
		l := ConstAs(i, float64(length))
		return Mod(Add(Mod(i, l), l), l), nil
	case PadConstant:
		inside := LogicalAnd(GreaterOrEqual(i, ScalarZero(i.Graph(), i.DType())), LessOrEqual(i, ConstAs(i, last)))
		return ClipScalar(i, 0, last), ConvertDType(inside, i.DType())
	default:
		return ClipScalar(i, 0, last), nil
	}
}
