package workbench

import (
	"math"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // GoMLX graph code reads best with the dot import.
)

// imageParam is an image representation: the optimised parameters and the graph functions
// that turn them into an RGB image [height, width, 3] in [0, 1] and back.
type imageParam interface {
	// shape is the parameters' shape for an image of width x height.
	shape(width, height int) shapes.Shape
	// render makes the image from the parameters.
	render(params *Node) *Node
	// encode makes parameters that render to the given image.
	encode(image *Node) *Node
	// project keeps parameters valid after an update.
	project(params *Node) *Node
}

// paramKind is one parameterisation: its YAML name and the representation it makes.
type paramKind struct {
	key  string
	make func(p Parameterization) imageParam
}

// paramKinds are the parameterisations, the default first.
var paramKinds = []paramKind{
	{ParamPixels, func(Parameterization) imageParam { return pixelParam{} }},
	{ParamFFT, func(p Parameterization) imageParam { return fftParam{decay: p.Decay} }},
}

func newImageParam(p Parameterization) imageParam {
	kind, _ := lookup(paramKinds, p.Kind, func(k *paramKind) string { return k.key })
	return kind.make(p)
}

// pixelParam optimises RGB values directly, kept within [0, 1].
type pixelParam struct{}

func (pixelParam) shape(width, height int) shapes.Shape {
	return shapes.Make(dtypes.Float32, height, width, 3)
}
func (pixelParam) render(params *Node) *Node  { return params }
func (pixelParam) encode(image *Node) *Node   { return image }
func (pixelParam) project(params *Node) *Node { return ClipScalar(params, 0, 1) }

// fftParam is lucid's Fourier parameterisation: a half spectrum [2 (real, imaginary), 3,
// height, width/2+1] scaled by 1/f^decay, transformed to space, mixed by the decorrelated colour
// matrix and squashed by a sigmoid.
//
// The Go backend has no FFT op, so the 2-D real DFT is written as matrix products with cosine
// and sine tables; on large images this costs a few percent of a step.
type fftParam struct {
	decay float64
}

// colorCorrelation is lucid's square root of ImageNet's colour covariance, its columns scaled to
// a largest norm of 1.
var colorCorrelation = func() [3][3]float64 {
	m := [3][3]float64{{0.26, 0.09, 0.02}, {0.27, 0.00, -0.05}, {0.27, -0.09, 0.03}}
	maxNorm := 0.0
	for c := range 3 {
		maxNorm = max(maxNorm, math.Sqrt(m[0][c]*m[0][c]+m[1][c]*m[1][c]+m[2][c]*m[2][c]))
	}
	for r := range 3 {
		for c := range 3 {
			m[r][c] /= maxNorm
		}
	}
	return m
}()

// lucidSpatialScale is lucid's constant that divides the spatial image, keeping the values that
// the sigmoid sees, and the steps the optimiser takes in them, small.
const lucidSpatialScale = 4

func (f fftParam) shape(width, height int) shapes.Shape {
	return shapes.Make(dtypes.Float32, 2, 3, height, width/2+1)
}

// spectrumScale is 1 / max(frequency, 1/max(w, h))^decay for every coefficient, [1, height, width/2+1].
func (f fftParam) spectrumScale(g *Graph, width, height int) *Node {
	wf := width/2 + 1
	scale := make([]float32, height*wf)
	for ky := range height {
		fy := float64(ky) / float64(height)
		if ky > (height-1)/2 {
			fy = float64(ky-height) / float64(height)
		}
		for kx := range wf {
			fx := float64(kx) / float64(width)
			freq := max(math.Hypot(fx, fy), 1/float64(max(width, height)))
			scale[ky*wf+kx] = float32(1 / math.Pow(freq, f.decay))
		}
	}
	return Reshape(Const(g, scale), 1, height, wf)
}

// dftTables are cos and sin of 2*pi*k*n/length, as [k, n] constants.
func dftTables(g *Graph, frequencies, length int, weights func(k int) float64) (cos, sin *Node) {
	c, s := make([]float32, frequencies*length), make([]float32, frequencies*length)
	for k := range frequencies {
		w := weights(k)
		for n := range length {
			angle := 2 * math.Pi * float64(k*n%length) / float64(length)
			c[k*length+n] = float32(w * math.Cos(angle))
			s[k*length+n] = float32(w * math.Sin(angle))
		}
	}
	return Reshape(Const(g, c), frequencies, length), Reshape(Const(g, s), frequencies, length)
}

func one(int) float64 { return 1 }

// halfSpectrumWeights counts each of the half spectrum's columns for itself and its mirror.
func halfSpectrumWeights(width int) func(int) float64 {
	return func(k int) float64 {
		if k == 0 || (width%2 == 0 && k == width/2) {
			return 1
		}
		return 2
	}
}

func (f fftParam) render(params *Node) *Node {
	g := params.Graph()
	height, wf := params.Shape().Dim(2), params.Shape().Dim(3)
	width := imageWidth(params)
	scale := f.spectrumScale(g, width, height)
	re := Mul(Squeeze(Slice(params, AxisRange(0, 1)), 0), scale) // [3, ky, kx]
	im := Mul(Squeeze(Slice(params, AxisRange(1, 2)), 0), scale)
	cy, sy := dftTables(g, height, height, one)                   // [ky, y]
	cx, sx := dftTables(g, wf, width, halfSpectrumWeights(width)) // [kx, x]
	yr := Sub(Einsum("ckf,ky->cyf", re, cy), Einsum("ckf,ky->cyf", im, sy))
	yi := Add(Einsum("ckf,ky->cyf", re, sy), Einsum("ckf,ky->cyf", im, cy))
	spatial := Sub(Einsum("cyf,fx->cyx", yr, cx), Einsum("cyf,fx->cyx", yi, sx))
	spatial = MulScalar(spatial, 1/(lucidSpatialScale*math.Sqrt(float64(width*height))))
	return Sigmoid(Einsum("cyx,dc->yxd", spatial, colorMatrix(g, false)))
}

func (f fftParam) encode(image *Node) *Node {
	g := image.Graph()
	height, width := image.Shape().Dim(0), image.Shape().Dim(1)
	wf := width/2 + 1
	clipped := ClipScalar(image, 1e-3, 1-1e-3)
	logits := Log(Div(clipped, OneMinus(clipped)))
	spatial := Einsum("yxd,cd->cyx", logits, colorMatrix(g, true))
	spatial = MulScalar(spatial, lucidSpatialScale*math.Sqrt(float64(width*height))/float64(width*height))
	cx, sx := dftTables(g, wf, width, one)      // [kx, x]
	cy, sy := dftTables(g, height, height, one) // [ky, y]
	zr := Einsum("cyx,fx->cyf", spatial, cx)
	zi := Neg(Einsum("cyx,fx->cyf", spatial, sx))
	xr := Add(Einsum("cyf,ky->ckf", zr, cy), Einsum("cyf,ky->ckf", zi, sy))
	xi := Sub(Einsum("cyf,ky->ckf", zi, cy), Einsum("cyf,ky->ckf", zr, sy))
	scale := f.spectrumScale(g, width, height)
	return Stack([]*Node{Div(xr, scale), Div(xi, scale)}, 0)
}

func (f fftParam) project(params *Node) *Node { return params }

// imageWidth recovers an even image width from a half spectrum's width.
func imageWidth(params *Node) int {
	return (params.Shape().Dim(3) - 1) * 2
}

// colorMatrix is colorCorrelation, or its inverse, as a [3, 3] constant.
func colorMatrix(g *Graph, inverse bool) *Node {
	m := colorCorrelation
	if inverse {
		m = invert3(m)
	}
	flat := make([]float32, 0, 9)
	for r := range 3 {
		for c := range 3 {
			flat = append(flat, float32(m[r][c]))
		}
	}
	return Reshape(Const(g, flat), 3, 3)
}

func invert3(m [3][3]float64) [3][3]float64 {
	det := m[0][0]*(m[1][1]*m[2][2]-m[1][2]*m[2][1]) - m[0][1]*(m[1][0]*m[2][2]-m[1][2]*m[2][0]) +
		m[0][2]*(m[1][0]*m[2][1]-m[1][1]*m[2][0])
	var inv [3][3]float64
	for r := range 3 {
		for c := range 3 {
			a, b := (c+1)%3, (c+2)%3
			d, e := (r+1)%3, (r+2)%3
			inv[r][c] = (m[a][d]*m[b][e] - m[a][e]*m[b][d]) / det
		}
	}
	return inv
}
