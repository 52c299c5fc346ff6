package workbench

import (
	"fmt"
	"math/rand/v2"
	"slices"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // GoMLX graph code reads best with the dot import.
	"github.com/gomlx/gomlx/core/tensors"
)

// Transform is a pixel transform of a target's windows, one kind of TransformKinds.
type Transform struct {
	Kind   string
	Period Period
	// Values are the kind's parameter: as many as its entry's Values, or one that fills them.
	Values []Value
	// Extra are the values of the kind's Extra parameters, each filled to its size. Those that
	// shape the step (see TransformKind.Fixed) are fixed for the run (the graph is built with
	// them); the others may change at every step.
	Extra [][]Value
	// After is how many of the target's geometric transforms are listed before this one: it acts
	// at the scale of that canvas, as in CLIPig (a blur before a resize to a quarter of the size
	// blurs a quarter as much in the window).
	After int
	// Unclamped leaves the pixels unclamped after the transform, for the next one. CLIPig clamps
	// to [0, 1] at the end of each item of transforms (its contrast and saturation defaults
	// clamp) and at a contrast or saturation, so that in `- {add: .5, mul: .5}` the add's result
	// is not clamped before the mul; clipwork reads the transforms of an item so.
	Unclamped bool
}

// TransformRow is one window's inputs to a transform's graph function, drawn on the host: the
// first four columns by the kind's Draw, the last two its Extra values that change over the run
// (or, for a kind without them, what its Rescale carries there).
type TransformRow [rowColumns]float64

// rowColumns are the columns of a TransformRow, and extraColumn the first of its Extra values.
const rowColumns, extraColumn = 6, 4

// TransformKind is one pixel transform: its YAML key and parameter, the host-side draw of each
// window's row, and the graph function.
type TransformKind struct {
	// Key is the transform's YAML key (CLIPig's name).
	Key string
	// Param names the transform's parameter, as written in `blur: {sigma: [0.5, 2]}`.
	Param string
	// Values is how many values the parameter takes (2: a [low, high] range, 3: R G B).
	Values int
	// Range tells that two values are a [low, high] range each window draws from (clipwork's
	// addition to a parameter of one or three values).
	Range bool
	// Noise tells that the transform draws noise for every window.
	Noise bool
	// Default is the parameter's default (nil: it must be given).
	Default []float64
	// Extra are further parameters, such as a blur's kernel_size.
	Extra []Param
	// Fixed is how many of Extra, from the first, shape the step (kernel and border sizes, a
	// resolution): they hold for the run. The others (an edge's sigma) may change at every step
	// and fill the rows from extraColumn.
	Fixed int
	// Identity is the row that leaves a window unchanged, used outside the transform's period.
	Identity TransformRow
	// Draw makes one window's row from the parameter's values at a step; it may draw random
	// numbers from the step's source.
	Draw func(values []float64, rng *rand.Rand) TransformRow
	// Apply is the graph function on windows (or the image, in post-processing) [n, h, w, 3].
	Apply func(a *TransformArgs) *Node
	// Radius, if set, is the static kernel radius the transform needs for its largest value.
	Radius func(tr Transform) int
	// Rescale, if set, carries a row drawn at a canvas's scale to the window's, where one window
	// pixel spans scale canvas pixels, of a canvas of pixels pixels; transforms without it act
	// alike at every scale.
	Rescale func(row TransformRow, scale, pixels float64) TransformRow
}

// TransformArgs are what a transform's graph function gets.
type TransformArgs struct {
	// X is the windows [n, s, s, 3]; Rows their rows [n, rowColumns].
	X, Rows *Node
	// Radius is the target's static blur radius.
	Radius int
	// Extra are the values of the transform's Fixed Extra parameters, which hold for the run.
	Extra [][]float64
	// RNG is the graph's random state; a transform that draws replaces it.
	RNG *Node
	// Canvas, for a transform listed before its target's geometric transforms, is the image the
	// windows are sampled from, [1, h, w, 3], and Sample samples a plane of its size [h, w, 3]
	// into the windows as they are sampled: what a transform computes over the whole canvas (the
	// mean of mean and contrast, border's edges) comes from there, as CLIPig applies such a
	// transform to the image before its geometric ones cut the window. Nil where the windows are
	// the canvas.
	Canvas *Node
	Sample func(plane *Node) *Node
	// GridScale, where the windows were cut from CLIPig's canvases, is the largest model input
	// over the windows' side: a row drawn at the largest input scaled to these windows (see
	// canvasNoise). 0 elsewhere.
	GridScale float64
}

// canvas is the canvas the transform acts on: Canvas where set, else the windows.
func (a *TransformArgs) canvas() *Node {
	if a.Canvas != nil {
		return a.Canvas
	}
	return a.X
}

// Col is column i of the rows, shaped to broadcast over X: [n, 1, 1, 1].
func (a *TransformArgs) Col(i int) *Node {
	return Reshape(Slice(a.Rows, AxisRange(), AxisRange(i, i+1)), a.X.Shape().Dim(0), 1, 1, 1)
}

// RGB is the rows' first three columns as a colour per window: [n, 1, 1, 3].
func (a *TransformArgs) RGB() *Node {
	return Reshape(Slice(a.Rows, AxisRange(), AxisRange(0, 3)), a.X.Shape().Dim(0), 1, 1, 3)
}

// Transform kinds.
const (
	TransformAdd        = "add"        // add a colour
	TransformBlur       = "blur"       // Gaussian blur; sigma drawn per window from [low, high]
	TransformBorder     = "border"     // paint a border of size pixels in a colour
	TransformGreyNoise  = "bwnoise"    // grey Gaussian noise
	TransformClamp      = "clamp"      // clamp to [low, high]
	TransformContrast   = "contrast"   // torchvision's adjust_contrast
	TransformEdge       = "edge"       // CLIPig's edges: clamp((x - blur(x)) * amount, 0, 1)
	TransformFNoise     = "fnoise"     // noise in Fourier space
	TransformMean       = "mean"       // move each window's mean colour to a colour
	TransformMul        = "mul"        // multiply by a colour
	TransformNoise      = "noise"      // Gaussian noise per channel
	TransformQuantize   = "quantize"   // floor to steps
	TransformRNoise     = "rnoise"     // Gaussian noise drawn at a lower resolution and resized
	TransformSaturation = "saturation" // torchvision's adjust_saturation
)

// kernelSize is CLIPig's kernel_size of a blur; 0 (clipwork's default for blur) sizes the
// kernel to three sigmas.
var kernelSize = Param{Name: "kernel_size", Size: 2, Default: []float64{0, 0}}

// TransformKinds are the pixel transforms, in the order the documentation lists them.
var TransformKinds = []TransformKind{
	{Key: TransformAdd, Param: "color", Values: 3, Draw: color3,
		Apply: func(a *TransformArgs) *Node { return Add(a.X, a.RGB()) }},
	{Key: TransformBlur, Param: "sigma", Values: 2, Range: true, Draw: drawUniform, Radius: blurTransformRadius,
		Rescale: func(r TransformRow, s, _ float64) TransformRow { r[0] /= s; return r },
		Extra:   []Param{kernelSize}, Fixed: 1, Apply: func(a *TransformArgs) *Node {
			sigma := Reshape(a.Col(0), a.X.Shape().Dim(0))
			if a.GridScale > 0 { // carried to the largest input's windows; these may be smaller
				sigma = DivScalar(sigma, a.GridScale)
			}
			rx, ry := kernelRadii(a.Extra[0], a.Radius)
			return gaussianBlurXY(a.X, sigma, sigma, rx, ry)
		}},
	{Key: TransformBorder, Param: "color", Values: 3, Default: []float64{0, 0, 0}, Draw: on3, Extra: []Param{{"size", 2, []float64{1, 1}}},
		Fixed: 1, Apply: borderTransform},
	{Key: TransformGreyNoise, Noise: true, Param: "std", Values: 1, Range: true, Draw: drawUniform, Apply: noiseOn(1),
		Rescale: canvasScale},
	{Key: TransformClamp, Param: "range", Values: 2, Identity: TransformRow{-1e9, 1e9},
		Draw:  func(v []float64, _ *rand.Rand) TransformRow { return TransformRow{v[0], v[1]} },
		Apply: func(a *TransformArgs) *Node { return Min(Max(a.X, a.Col(0)), a.Col(1)) }}, // torch.clamp: max wins over min
	{Key: TransformContrast, Param: "factor", Values: 1, Identity: TransformRow{1}, Draw: first,
		Apply: func(a *TransformArgs) *Node { return blend(a.X, imageMean(luminance(a.canvas())), a.Col(0)) }},
	{Key: TransformEdge, Param: "amount", Values: 3, Default: []float64{1, 1, 1}, Draw: on3, Apply: edgeTransform,
		Extra: []Param{{"kernel_size", 2, []float64{3, 3}}, {"sigma", 2, []float64{0, 0}}}, Fixed: 1},
	{Key: TransformFNoise, Noise: true, Param: "std", Values: 3, Range: true, Draw: drawStd, Apply: fourierNoise,
		Rescale: fourierNoiseRow},
	{Key: TransformMean, Param: "mean", Values: 3, Draw: on3,
		Apply: func(a *TransformArgs) *Node {
			return Add(a.X, Mul(a.Col(3), Sub(a.RGB(), ReduceAndKeep(a.canvas(), ReduceMean, 1, 2))))
		}},
	{Key: TransformMul, Param: "color", Values: 3, Identity: TransformRow{1, 1, 1}, Draw: color3,
		Apply: func(a *TransformArgs) *Node { return Mul(a.X, a.RGB()) }},
	{Key: TransformNoise, Noise: true, Param: "std", Values: 3, Range: true, Draw: drawStd, Apply: noiseOn(3),
		Rescale: canvasScale},
	{Key: TransformQuantize, Param: "step", Values: 3, Draw: on3, Apply: func(a *TransformArgs) *Node {
		step := Add(a.RGB(), OneMinus(a.Col(3))) // 1 when off, so the division is safe
		// CLIPig's floor has a zero gradient (torch's); GoMLX defines none, so stop it there.
		quantized := StopGradient(Mul(Floor(Div(a.X, step)), step))
		return Add(a.X, Mul(a.Col(3), Sub(quantized, a.X)))
	}},
	{Key: TransformRNoise, Noise: true, Param: "std", Values: 3, Range: true, Draw: drawStd, Apply: resizedNoise,
		Extra: []Param{{"resolution", 2, nil}}, Fixed: 1},
	{Key: TransformSaturation, Param: "factor", Values: 1, Identity: TransformRow{1}, Draw: first,
		Apply: func(a *TransformArgs) *Node { return blend(a.X, luminance(a.X), a.Col(0)) }},
}

// LookupTransform returns a transform kind's entry.
func LookupTransform(key string) (*TransformKind, bool) {
	return lookup(TransformKinds, key, func(k *TransformKind) string { return k.Key })
}

// TransformKeys lists the pixel transforms' YAML keys.
func TransformKeys() []string {
	return keys(TransformKinds, func(k *TransformKind) string { return k.Key })
}

func drawUniform(v []float64, rng *rand.Rand) TransformRow {
	if len(v) == 1 {
		return TransformRow{v[0]}
	}
	return TransformRow{uniform(rng, [2]float64{v[0], v[1]})}
}

// drawStd is a std per channel, or, from two values, one drawn per window for all channels.
func drawStd(v []float64, rng *rand.Rand) TransformRow {
	if len(v) == 2 {
		s := uniform(rng, [2]float64{v[0], v[1]})
		return TransformRow{s, s, s}
	}
	return TransformRow{v[0], v[1], v[2]}
}

func first(v []float64, _ *rand.Rand) TransformRow { return TransformRow{v[0]} }

func color3(v []float64, _ *rand.Rand) TransformRow { return TransformRow{v[0], v[1], v[2]} }

// on3 is three values and, in the last column, 1: the transform is on (its identity row is 0).
func on3(v []float64, _ *rand.Rand) TransformRow { return TransformRow{v[0], v[1], v[2], 1} }

// noiseOn adds Gaussian noise of the row's std (per channel, or column 0 for grey noise) to
// channels channels: on windows cut from CLIPig's canvases (GridScale set), the noise of the
// canvas the transform is listed at (see canvasNoise).
func noiseOn(channels int) func(a *TransformArgs) *Node {
	return func(a *TransformArgs) *Node {
		std := a.RGB()
		if channels == 1 {
			std = a.Col(0)
		}
		if a.GridScale > 0 {
			noise, spans := a.canvasNoise(channels)
			return Add(a.X, Mul(noise, Div(std, Max(spans, OnesLike(spans)))))
		}
		dims := a.X.Shape().Dimensions
		var noise *Node
		a.RNG, noise = RandomNormal(a.RNG, shapes.Make(dtypes.Float32, dims[0], dims[1], dims[2], channels))
		return Add(a.X, Mul(noise, std))
	}
}

// canvasScale is noise's Rescale: the scale of its canvas in the last column, for canvasNoise.
func canvasScale(r TransformRow, scale, _ float64) TransformRow {
	r[3] = scale
	return r
}

// canvasNoise is standard normal noise [n, s, s, channels] as CLIPig adds it to the canvas a
// transform is listed at, seen through windows cut from it, and how many canvas pixels a window
// pixel spans ([n, 1, 1, 1]: the row's last column, drawn at the largest input, times
// GridScale). On a canvas smaller than the window the noise is drawn on the canvas's pixel grid
// and resized as torch's bicubic interpolate resizes CLIPig's canvas to CLIP's input: it comes
// in blobs 1/scale window pixels wide. On a larger canvas it is drawn at the window's pixels,
// where averaging scale^2 canvas pixels divides its std by scale (the caller's part). The
// scale is the mean of the two axes' (a canvas that is not square is squeezed unevenly by
// CLIPig's resize to a square; here its noise grid is square). The
// resize is two batched products with bicubic weights built in the graph, [n, s, s+4] for a
// grid of s+4 pixels a side (the taps stay inside it); at scale 1 they copy the noise. GoMLX's
// Interpolate resizes by sizes fixed when the graph is built, and the windows' scales are the
// step's inputs, hence the weights by hand.
func (a *TransformArgs) canvasNoise(channels int) (noise, spans *Node) {
	n, s := a.X.Shape().Dim(0), a.X.Shape().Dim(1)
	spans = MulScalar(a.Col(3), a.GridScale)
	resize := gridResize(Reshape(Min(spans, OnesLike(spans)), n, 1, 1), s)
	a.RNG, noise = RandomNormal(a.RNG, shapes.Make(dtypes.Float32, n, s+4, s+4, channels))
	noise = Einsum("nip,npqc->niqc", resize, noise)
	return Einsum("njq,niqc->nijc", resize, noise), spans
}

// gridResize is [n, s, s+4]: for each of n scales [n, 1, 1] (at most 1), the bicubic weights
// of a grid of s+4 pixels for s pixels, pixel i at (i + 0.5) scale - 0.5 as torch places it,
// two grid pixels in.
func gridResize(scale *Node, s int) *Node {
	g := scale.Graph()
	at := Iota(g, shapes.Make(dtypes.Float32, 1, s, 1), 1)
	source := AddScalar(Mul(AddScalar(at, 0.5), scale), 1.5)
	tap := Iota(g, shapes.Make(dtypes.Float32, 1, 1, s+4), 2)
	return bicubicWeights(Abs(Sub(source, tap)))
}

// bicubicWeights is torch's bicubic convolution weight (a = -0.75, see cubicNear) at distances d.
func bicubicWeights(d *Node) *Node {
	near := AddScalar(Mul(Mul(AddScalar(MulScalar(d, cubicA+2), -(cubicA+3)), d), d), 1)
	far := AddScalar(Mul(AddScalar(Mul(AddScalar(MulScalar(d, cubicA), -5*cubicA), d), 8*cubicA), d), -4*cubicA)
	zero := ZerosLike(d)
	return Where(LessOrEqual(d, OnesLike(d)), near, Where(LessThan(d, AddScalar(OnesLike(d), 1)), far, zero))
}

// fourierNoise is CLIPig's fnoise: normal noise of std 15 * std added to the real and imaginary
// parts of each channel's real FFT over its canvas's n pixels, transformed back. The inverse FFT
// is linear and spreads the noise evenly, so this is white Gaussian noise of std
// 15 * std * sqrt(2n - 2) / n in pixel space (n even; its two purely real bins lose their
// imaginary noise), drawn directly. n is the row's column 3 where its canvas is not the
// windows (CLIPig's noise on a 32-pixel image is stronger than on a 224-pixel window), else the
// windows' pixels; on a canvas larger than the windows, a window pixel averages the canvas's
// noise over the scale in column 4 (see fourierNoiseRow) times GridScale, squared.
func fourierNoise(a *TransformArgs) *Node {
	n := a.Col(3)
	n = Where(GreaterThan(n, ZerosLike(n)), n, Scalar(n.Graph(), n.DType(), a.X.Shape().Dim(1)*a.X.Shape().Dim(2)))
	strength := MulScalar(Div(Sqrt(AddScalar(MulScalar(n, 2), -2)), n), 15)
	spans := a.Col(extraColumn)
	if a.GridScale > 0 {
		spans = MulScalar(spans, a.GridScale)
	}
	strength = Div(strength, Max(spans, OnesLike(spans)))
	var noise *Node
	a.RNG, noise = RandomNormal(a.RNG, a.X.Shape())
	return Add(a.X, Mul(noise, Mul(a.RGB(), strength)))
}

// fourierNoiseRow is fnoise's Rescale: the canvas's pixels in column 3 and its scale at the
// largest input in column 4, which fourierNoise carries to each model's windows.
func fourierNoiseRow(r TransformRow, scale, pixels float64) TransformRow {
	r[3], r[extraColumn] = pixels, scale
	return r
}

// resizedNoise is CLIPig's rnoise: noise drawn at the resolution of its Extra and resized
// (bilinearly) to the window.
func resizedNoise(a *TransformArgs) *Node {
	dims := a.X.Shape().Dimensions
	w, h := max(int(a.Extra[0][0]), 1), max(int(a.Extra[0][1]), 1)
	var noise *Node
	a.RNG, noise = RandomNormal(a.RNG, shapes.Make(dtypes.Float32, dims[0], h, w, 3))
	noise = Interpolate(noise, dims...).Bilinear().HalfPixelCenters(true).Done()
	return Add(a.X, Mul(noise, a.RGB()))
}

// borderTransform paints the outer size pixels (width, height of its Extra) in the row's colour.
func borderTransform(a *TransformArgs) *Node {
	canvas := a.canvas()
	h, w := canvas.Shape().Dim(1), canvas.Shape().Dim(2)
	mask := borderMask(a.X.Graph(), h, w, int(a.Extra[0][0]), int(a.Extra[0][1]))
	if a.Canvas != nil { // the canvas's border as the windows see it
		plane := BroadcastToDims(Reshape(mask, h, w, 1), h, w, 3)
		mask = Slice(a.Sample(plane), AxisRange(), AxisRange(), AxisRange(), AxisRange(0, 1))
	}
	on := GreaterThan(Mul(mask, a.Col(3)), Scalar(a.X.Graph(), a.X.DType(), 0.5))
	dims := a.X.Shape().Dimensions
	return Where(BroadcastToDims(on, dims...), BroadcastToDims(a.RGB(), dims...), a.X)
}

// edgeTransform is CLIPig's edge: clamp((x - blur(x)) * amount, 0, 1), blurred with its
// kernel_size and its sigma at the step (torchvision's default sigma for the kernel when none
// is given).
func edgeTransform(a *TransformArgs) *Node {
	n := a.X.Shape().Dim(0)
	sigma := func(axis int) *Node { return Reshape(a.Col(extraColumn+axis), n) }
	edges := ClipScalar(Mul(Sub(a.X, kernelBlurAt(a.X, a.Extra[0], sigma(0), sigma(1))), a.RGB()), 0, 1)
	return Add(a.X, Mul(a.Col(3), Sub(edges, a.X)))
}

// defaultSigma is torchvision's sigma for a Gaussian kernel of size k.
func defaultSigma(k float64) float64 { return 0.3*((k-1)*0.5-1) + 0.8 }

// oddKernel is a kernel_size as CLIPig gives it to torchvision: an even k grows to k+1, one
// below 1 is 1 (no blur).
func oddKernel(k float64) int {
	size := int(k)
	if size%2 == 0 {
		size++
	}
	return max(size, 1)
}

// KernelSigma is torchvision's default sigma for a kernel_size as CLIPig gives it.
func KernelSigma(k float64) float64 { return defaultSigma(float64(oddKernel(k))) }

// kernelRadii are the radii across and down of a blur transform's kernel_size, or fallback where
// it is not given (0).
func kernelRadii(kernel []float64, fallback int) (int, int) {
	if kernel[0] == 0 && kernel[1] == 0 {
		return fallback, fallback
	}
	return oddKernel(kernel[0]) / 2, oddKernel(kernel[1]) / 2
}

// luminance is torchvision's grey image, 0.2989 R + 0.587 G + 0.114 B, as one channel.
func luminance(x *Node) *Node {
	return ReduceAndKeep(Mul(x, perChannel(x, [3]float64{0.2989, 0.587, 0.114})), ReduceSum, -1)
}

// blend is torchvision's _blend: clamp(factor * x + (1 - factor) * other, 0, 1).
func blend(x, other, factor *Node) *Node {
	return ClipScalar(Add(Mul(factor, x), Mul(OneMinus(factor), other)), 0, 1)
}

func blurTransformRadius(tr Transform) int {
	return blurRadius(maxOverTime(tr.Values[len(tr.Values)-1]))
}

// transformValues evaluates a transform's values at a step, one value filling them all, each
// drawing its own random numbers as CLIPig makes an expression of each copy; a range stays two
// values.
func transformValues(tr Transform, kind *TransformKind, env Env) []float64 {
	count := kind.Values
	if kind.Range && len(tr.Values) == 2 {
		count = 2
	}
	out := make([]float64, count)
	for i := range out {
		out[i] = tr.Values[min(i, len(tr.Values)-1)].At(env.In("value", i))
	}
	return out
}

// transformInputs are a transform's rows [n, rowColumns] at a step: the identity row outside its
// period.
// windows holds each window's canvases of the target's geometry (nil: the windows are the
// canvas).
func transformInputs(tr Transform, n int, env Env, rng *rand.Rand, windows []canvases) *tensors.Tensor {
	kind, _ := LookupTransform(tr.Kind)
	on := tr.Period.Active(env.Step, env.Steps)
	out := make([]float32, 0, rowColumns*n)
	var values []float64 // the same for every window unless a value draws random numbers
	if on && !slices.ContainsFunc(tr.Values, Value.Draws) {
		values = transformValues(tr, kind, env)
	}
	var extra []float64 // likewise
	if on && !slices.ContainsFunc(tr.changingExtra(kind), func(vs []Value) bool { return slices.ContainsFunc(vs, Value.Draws) }) {
		extra = changingValues(tr, kind, env)
	}
	for w := range n {
		row := kind.Identity
		if on {
			v, e := values, extra
			if v == nil { // values per window, as CLIPig evaluates them for each
				v = transformValues(tr, kind, env.In(w))
			}
			if e == nil {
				e = changingValues(tr, kind, env.In(w))
			}
			row = kind.Draw(v, rng)
			copy(row[extraColumn:], e)
		}
		if on && kind.Rescale != nil && windows != nil {
			k := min(tr.After, len(windows[w].Scales)-1)
			row = kind.Rescale(row, windows[w].Scales[k], windows[w].Pixels[k])
		}
		for _, v := range row {
			out = append(out, float32(v))
		}
	}
	return tensors.FromFlatDataAndDimensions(out, n, rowColumns)
}

// changingExtra are tr's Extra parameters that are not Fixed (none where tr has no Extra
// values, as before withDefaults).
func (tr Transform) changingExtra(kind *TransformKind) [][]Value {
	return tr.Extra[min(kind.Fixed, len(tr.Extra)):]
}

// changingValues are the values at env of tr's changingExtra, each drawing its own random
// numbers.
func changingValues(tr Transform, kind *TransformKind, env Env) []float64 {
	out := []float64{} // not nil: evaluated
	for p, vs := range tr.changingExtra(kind) {
		for k, v := range vs {
			out = append(out, v.At(env.In("extra", p, k)))
		}
	}
	return out
}

// applyTransforms runs a target's pixel transforms over its windows [n, s, s, 3], each with its
// rows, clamping the pixels to [0, 1] after each but an Unclamped one as torch.clamp does (no
// gradient where it clamps), and after the last in any case, as CLIPig clamps the windows it
// gives CLIP and the constraints. source is where the windows were sampled from (nil: nowhere
// the transforms need), for those listed before the geometric ones (see TransformArgs.Canvas)
// and the scale of CLIPig's canvases (see TransformArgs.GridScale).
func applyTransforms(x *Node, t *preparedTarget, rows []*Node, rng *Node, source *windowSource) (*Node, *Node) {
	gridScale := 0.0
	if source != nil && t.placedByGeometry() {
		gridScale = float64(source.input) / float64(source.size)
	}
	for j, tr := range t.Transforms {
		kind, _ := LookupTransform(tr.Kind)
		a := &TransformArgs{X: x, Rows: rows[j], Radius: t.blurRadius, RNG: rng, Extra: fixedValues(tr.Extra, kind.Fixed), GridScale: gridScale}
		if tr.After == 0 && len(t.Geometry) > 0 && source != nil {
			a.Canvas, a.Sample = InsertAxes(source.image, 0), source.sample
		}
		x = tr.clamped(kind.Apply(a))
		rng = a.RNG
	}
	if last := len(t.Transforms) - 1; last >= 0 && t.Transforms[last].Unclamped { // an item naming contrast and saturation
		x = ClipScalar(x, 0, 1)
	}
	return x, rng
}

// clamped is x clamped to [0, 1], unless the transform is Unclamped.
func (tr Transform) clamped(x *Node) *Node {
	if tr.Unclamped {
		return x
	}
	return ClipScalar(x, 0, 1)
}

// withDefaults fills the values and further parameters left unset with the kind's defaults.
func (tr Transform) withDefaults() Transform {
	kind, ok := LookupTransform(tr.Kind)
	if !ok {
		return tr
	}
	if len(tr.Values) == 0 {
		tr.Values = constants(kind.Default)
	}
	tr.Extra = fillDefaults(tr.Extra, kind.Extra)
	return tr
}

// constants are Values of numbers.
func constants(values []float64) []Value {
	var out []Value
	for _, v := range values {
		out = append(out, Constant(v))
	}
	return out
}

// fixedValues evaluates the first fixed of extra, which hold for the run.
func fixedValues(extra [][]Value, fixed int) [][]float64 {
	out := make([][]float64, min(fixed, len(extra)))
	for i, vs := range extra[:len(out)] {
		for _, v := range vs {
			out[i] = append(out[i], v.At(Env{Steps: 1}))
		}
	}
	return out
}

// validate checks a transform's kind and number of values.
func (tr Transform) validate() error {
	kind, ok := LookupTransform(tr.Kind)
	if !ok {
		return fmt.Errorf("transform %q is not one of %v", tr.Kind, TransformKeys())
	}
	if n := len(tr.Values); n != 1 && n != kind.Values && (n != 2 || !kind.Range) {
		return fmt.Errorf("transform %s: %s needs one value or %d, got %d", tr.Kind, kind.Param, kind.Values, n)
	}
	for i, p := range kind.Extra {
		if i >= len(tr.Extra) || len(tr.Extra[i]) != p.Size {
			return fmt.Errorf("transform %s needs its %s (%d values)", tr.Kind, p.Name, p.Size)
		}
	}
	return nil
}

// quantizeProblem says where a quantize transform's step is 0 at env: it would divide by zero.
func (tr Transform) quantizeProblem(env Env) error {
	if tr.Kind != TransformQuantize {
		return nil
	}
	for _, v := range tr.Values {
		if v.At(env) == 0 {
			return fmt.Errorf("quantize's step is 0 at step %d (%s), which divides by zero: give a step above 0", env.Step, v.Expr)
		}
	}
	return nil
}
