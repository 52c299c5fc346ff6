package workbench

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
)

// Geometric is one of CLIPig's geometric transforms of a target's windows (random_shift,
// random_rotate, center_crop, ...), one kind of GeometricKinds. A target's geometric transforms
// apply in order to the whole image, as in CLIPig, and the resulting canvas is scaled to the
// model's input; clipwork composes them into one homography per window, so each window is
// resampled once.
type Geometric struct {
	Kind string
	// Values are the kind's numbers, in the order of its entry's Params, each filled to its size.
	Values [][]Value
	// Pad is the pad transform's mode: PadConstant (CLIPig's fill), PadEdge or PadWrap.
	Pad string
}

// Param is one parameter of a transform: its name, how many numbers it takes, and its default
// (nil: required).
type Param struct {
	Name    string
	Size    int
	Default []float64
}

// GeometricKind is one geometric transform: its key, parameters, what it shows beyond the
// image's edges, and its map.
type GeometricKind struct {
	// Key is the transform's YAML key (CLIPig's name).
	Key string
	// Params are its parameters; the first is the one a bare value gives (`shift: 8 0`).
	Params []Param
	// Pad is what the transform shows where it moves the image away: PadConstant (CLIPig's
	// black), PadWrap or PadEdge; "" for a transform that shows nothing new.
	Pad string
	// KeepsSize tells that the canvas keeps its size, so the transform can post-process the image.
	KeepsSize bool
	// Random tells that the transform draws its map anew for every window.
	Random bool
	// Map draws, for a canvas of width x height, the map from the canvas after the transform to
	// the canvas before it, and the size after.
	Map func(v [][]float64, width, height float64, rng *rand.Rand) (Homography, float64, float64)
}

// GeometricKinds are CLIPig's geometric transforms.
var GeometricKinds = []GeometricKind{
	{Key: "center_crop", Pad: PadConstant, Params: []Param{{"size", 2, nil}}, // torchvision pads a larger crop with 0
		Map: func(v [][]float64, w, h float64, _ *rand.Rand) (Homography, float64, float64) {
			cw, ch := math.Floor(v[0][0]), math.Floor(v[0][1])
			// torchvision's int(round((w - cw) / 2)): halves to even
			return translation(math.RoundToEven((w-cw)/2), math.RoundToEven((h-ch)/2)), cw, ch
		}},
	{Key: "crop", Pad: PadConstant, Params: []Param{{"xywh", 4, nil}},
		Map: func(v [][]float64, w, h float64, _ *rand.Rand) (Homography, float64, float64) {
			x, y, cw, ch := v[0][0], v[0][1], v[0][2], v[0][3]
			x, cw = cropFraction(x, w), cropFraction(cw, w)
			y, ch = cropFraction(y, h), cropFraction(ch, h)
			return translation(math.Floor(x), math.Floor(y)), math.Floor(cw), math.Floor(ch)
		}},
	{Key: "pad", Pad: PadConstant, Params: []Param{{"size", 2, nil}, {"color", 3, []float64{0, 0, 0}}}, // mode: fill
		Map: func(v [][]float64, w, h float64, _ *rand.Rand) (Homography, float64, float64) {
			px, py := max(math.Floor(v[0][0]), 0), max(math.Floor(v[0][1]), 0)
			return translation(-px, -py), w + 2*px, h + 2*py
		}},
	{Key: "random_crop", Random: true, Params: []Param{{"size", 2, nil}},
		Map: func(v [][]float64, w, h float64, rng *rand.Rand) (Homography, float64, float64) {
			cw, ch := math.Floor(v[0][0]), math.Floor(v[0][1])
			return translation(randomInt(rng, w-cw), randomInt(rng, h-ch)), cw, ch
		}},
	{Key: "random_rotate", Random: true, KeepsSize: true, Pad: PadConstant,
		Params: []Param{{"degree", 2, nil}, {"center", 2, []float64{0.5, 0.5}}},
		Map: func(v [][]float64, w, h float64, rng *rand.Rand) (Homography, float64, float64) {
			angle := uniform(rng, [2]float64{v[0][0], v[0][1]})
			cx, cy := uniform(rng, [2]float64{v[1][0], v[1][1]}), uniform(rng, [2]float64{v[1][0], v[1][1]})
			return rotation(angle, math.Floor(cx*w), math.Floor(cy*h)), w, h // whole pixels, as CLIPig's int()
		}},
	{Key: "random_scale", Random: true, KeepsSize: true, Pad: PadConstant, Params: []Param{{"scale", 2, nil}},
		Map: func(v [][]float64, w, h float64, rng *rand.Rand) (Homography, float64, float64) {
			s := uniform(rng, [2]float64{v[0][0], v[0][1]})
			return scaling(1/s, w/2, h/2), w, h
		}},
	{Key: "random_shift", Random: true, KeepsSize: true, Pad: PadWrap, Params: []Param{{"offset", 4, nil}},
		Map: func(v [][]float64, w, h float64, rng *rand.Rand) (Homography, float64, float64) {
			x := uniform(rng, [2]float64{v[0][0], v[0][1]})
			y := uniform(rng, [2]float64{v[0][2], v[0][3]})
			return shift(x, y, w, h), w, h
		}},
	{Key: "random_translate", Random: true, KeepsSize: true, Pad: PadConstant, Params: []Param{{"offset", 2, nil}},
		Map: func(v [][]float64, w, h float64, rng *rand.Rand) (Homography, float64, float64) {
			dx := math.Round(uniform(rng, [2]float64{-w * v[0][0], w * v[0][0]}))
			dy := math.Round(uniform(rng, [2]float64{-h * v[0][1], h * v[0][1]}))
			return translation(-dx, -dy), w, h
		}},
	{Key: "repeat", Pad: PadWrap, Params: []Param{{"count", 2, nil}},
		Map: func(v [][]float64, w, h float64, _ *rand.Rand) (Homography, float64, float64) {
			return IdentityHomography, w * max(math.Floor(v[0][0]), 1), h * max(math.Floor(v[0][1]), 1)
		}},
	{Key: "resize", Params: []Param{{"size", 2, nil}},
		Map: func(v [][]float64, w, h float64, _ *rand.Rand) (Homography, float64, float64) {
			rw, rh := math.Floor(v[0][0]), math.Floor(v[0][1])
			return Homography{w / rw, 0, 0, 0, h / rh, 0, 0, 0, 1}, rw, rh
		}},
	{Key: "rotate", KeepsSize: true, Pad: PadConstant, Params: []Param{{"degree", 1, nil}, {"center", 2, []float64{0.5, 0.5}}},
		Map: func(v [][]float64, w, h float64, _ *rand.Rand) (Homography, float64, float64) {
			return rotation(v[0][0], math.Floor(v[1][0]*w), math.Floor(v[1][1]*h)), w, h // whole pixels, as CLIPig's int()
		}},
	{Key: "shift", KeepsSize: true, Pad: PadWrap, Params: []Param{{"offset", 2, nil}},
		Map: func(v [][]float64, w, h float64, _ *rand.Rand) (Homography, float64, float64) {
			return shift(v[0][0], v[0][1], w, h), w, h
		}},
}

// PadFillModes are CLIPig's pad modes and the warp's pad each means.
var PadFillModes = map[string]string{"fill": PadConstant, "edge": PadEdge, "wrap": PadWrap}

// LookupGeometric returns a geometric transform's entry.
func LookupGeometric(key string) (*GeometricKind, bool) {
	return lookup(GeometricKinds, key, func(k *GeometricKind) string { return k.Key })
}

// GeometricKeys lists the geometric transforms' YAML keys.
func GeometricKeys() []string {
	return keys(GeometricKinds, func(k *GeometricKind) string { return k.Key })
}

func translation(dx, dy float64) Homography { return Homography{1, 0, dx, 0, 1, dy, 0, 0, 1} }

// scaling maps a point to (p - c) * f + c.
func scaling(f, cx, cy float64) Homography {
	return Homography{f, 0, cx - f*cx, 0, f, cy - f*cy, 0, 0, 1}
}

// rotation is the map from a canvas rotated counter-clockwise by degrees about (cx, cy), as
// torchvision rotates, back to the canvas before.
func rotation(degrees, cx, cy float64) Homography {
	sin, cos := math.Sincos(degrees * math.Pi / 180)
	return Homography{cos, -sin, cx - cos*cx + sin*cy, sin, cos, cy - sin*cx - cos*cy, 0, 0, 1}
}

// shift is CLIPig's wrapping shift: offsets below 1 in magnitude are fractions of the canvas,
// whole pixels otherwise, taken modulo the canvas's size as it wraps (so that any offset CLIPig
// takes, 1e300 too, stays a pixel position).
func shift(x, y, w, h float64) Homography {
	return translation(-math.Mod(math.Trunc(fractionOf(x, w)), w), -math.Mod(math.Trunc(fractionOf(y, h)), h))
}

// cropFraction is CLIPig's crop's reading of a value: v times size below 1 (a fraction, and, as
// CLIPig's x < 1 takes it, any negative value: -8 is eight canvases to the left), else v.
func cropFraction(v, size float64) float64 {
	if v < 1 {
		return v * size
	}
	return v
}

// fractionOf is v times size when |v| < 1 (a fraction), else v.
func fractionOf(v, size float64) float64 {
	if math.Abs(v) < 1 {
		return v * size
	}
	return v
}

// randomInt is a whole number from 0 to n included, as torch.randint(0, n + 1).
func randomInt(rng *rand.Rand, n float64) float64 {
	if n <= 0 {
		return 0
	}
	return float64(rng.IntN(int(n) + 1))
}

// compose is the map a then b: b(a(p)) for homographies as matrices, b * a.
func compose(a, b Homography) Homography {
	var out Homography
	for r := range 3 {
		for c := range 3 {
			for k := range 3 {
				out[r*3+c] += b[r*3+k] * a[k*3+c]
			}
		}
	}
	return out
}

// geometryValues evaluates a geometric transform's values at a step.
func geometryValues(g Geometric, env Env) [][]float64 {
	out := make([][]float64, len(g.Values))
	for i, vs := range g.Values {
		for _, v := range vs {
			out[i] = append(out[i], v.At(env))
		}
	}
	return out
}

// canvases are, for one window, the canvases of its target's geometry, k = 0 (the image) to
// the final one: Scales[k] is how many pixels of canvas k one window pixel spans, the scale a
// pixel transform listed there acts at, and Pixels[k] how many pixels canvas k has.
type canvases struct {
	Scales, Pixels []float64
}

// sampleGeometry draws one window's homography from a target's geometric transforms: from the
// model's input square through the final canvas and each transform back to the image, and the
// window's canvases.
func sampleGeometry(chain []Geometric, env Env, rng *rand.Rand, input, width, height int) (Homography, canvases) {
	maps, pixels, w, h := geometryMaps(chain, env, rng, width, height)
	total := Homography{w / float64(input), 0, 0, 0, h / float64(input), 0, 0, 0, 1}
	scales := make([]float64, len(maps)+1)
	scales[len(maps)] = linearScale(total)
	for k := len(maps) - 1; k >= 0; k-- {
		total = compose(total, maps[k])
		scales[k] = linearScale(total)
	}
	return total, canvases{scales, pixels}
}

// linearScale is the mean factor by which a homography scales lengths near the origin.
func linearScale(h Homography) float64 {
	return math.Sqrt(math.Abs(h[0]*h[4] - h[1]*h[3]))
}

// geometryMap draws the map from the final canvas of a chain back to the image, and the
// canvas's size.
func geometryMap(chain []Geometric, env Env, rng *rand.Rand, width, height int) (Homography, float64, float64) {
	maps, _, w, h := geometryMaps(chain, env, rng, width, height)
	total := IdentityHomography
	for _, m := range maps {
		total = compose(m, total)
	}
	return total, w, h
}

// geometryMaps draws each transform's map from its canvas back to the one before, and returns
// them with every canvas's pixel count (the image's first) and the final canvas's size.
func geometryMaps(chain []Geometric, env Env, rng *rand.Rand, width, height int) ([]Homography, []float64, float64, float64) {
	w, h := float64(width), float64(height)
	maps := make([]Homography, len(chain))
	pixels := []float64{w * h}
	for i, g := range chain {
		kind, _ := LookupGeometric(g.Kind)
		maps[i], w, h = kind.Map(geometryValues(g, env), w, h, rng)
		pixels = append(pixels, w*h)
	}
	return maps, pixels, w, h
}

// geometryPad is what a chain shows beyond the image, for the one warp: wrap when a transform
// wraps, else black when one fills, else the edge pixels.
func geometryPad(chain []Geometric) string {
	pads := map[string]bool{}
	for _, g := range chain {
		kind, _ := LookupGeometric(g.Kind)
		pad := g.Pad // a pad's mode, where given, else the kind's own
		if pad == "" {
			pad = kind.Pad
		}
		pads[pad] = true
	}
	for _, p := range []string{PadWrap, PadConstant, PadEdge} {
		if pads[p] {
			return p
		}
	}
	return PadEdge
}

// validate checks a geometric transform's kind and values.
func (g Geometric) validate() error {
	kind, ok := LookupGeometric(g.Kind)
	if !ok {
		return fmt.Errorf("geometric transform %q is not one of %v", g.Kind, GeometricKeys())
	}
	if len(g.Values) != len(kind.Params) {
		return fmt.Errorf("%s needs %d parameters, got %d", g.Kind, len(kind.Params), len(g.Values))
	}
	for i, p := range kind.Params {
		if len(g.Values[i]) != p.Size {
			return fmt.Errorf("%s %s needs %d values, got %d", g.Kind, p.Name, p.Size, len(g.Values[i]))
		}
	}
	return nil
}

// geometryPool is the average-pooling factor for a chain's windows: how many image pixels one
// window pixel spans, for windows drawn for a side of input and sampled at size.
func geometryPool(chain []Geometric, input, size, width, height int) int {
	h, _ := sampleGeometry(chain, TimeAt(0, 1), rand.New(rand.NewPCG(0, 0)), input, width, height)
	scale := linearScale(h)
	if size != input {
		scale *= float64(input) / float64(size)
	}
	return max(1, int(scale))
}

// degenerateTransforms reports the transforms that would stop the run at one of envs
// (checkedMoments) where they are active (as CLIPig's would fail there too): geometric
// transforms that leave no pixels or no valid map (a crop or resize to 0, a scale of 0, a NaN
// angle), and a quantize step of 0.
func (e *Experiment) degenerateTransforms(envs []Env) []error {
	var errs []error
	check := func(what string, periods []Period, problem func(env Env) error) {
		for _, env := range envs {
			if !allActive(periods, env) {
				continue
			}
			if err := problem(env); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", what, err))
				return
			}
		}
	}
	for t := range e.EnabledTargets() {
		check(fmt.Sprintf("target %q", t.Name), []Period{t.Period}, func(env Env) error { return chainProblem(t.Geometry, env) })
		for j, tr := range t.Transforms {
			check(fmt.Sprintf("target %q transform %d (%s)", t.Name, j+1, tr.Kind), []Period{t.Period, tr.Period}, tr.quantizeProblem)
		}
	}
	for i, p := range e.Postproc {
		what := fmt.Sprintf("postproc %d (%s)", i+1, p.Kind)
		switch {
		case p.Disabled:
		case p.Geometric != nil:
			check(what, []Period{p.Period}, func(env Env) error { return chainProblem([]Geometric{*p.Geometric}, env) })
		default:
			check(what, []Period{p.Period}, p.quantizeProblem)
		}
	}
	return errs
}

// chainProblem says where a chain of geometric transforms, drawn at env on an image of env's
// size, leaves no pixels or no valid map.
func chainProblem(chain []Geometric, env Env) error {
	rng := rand.New(rand.NewPCG(1, 2))
	w, h := float64(env.Width), float64(env.Height)
	for _, g := range chain {
		if g.validate() != nil {
			return nil // an unknown kind or missing values, which the owner's own checks report
		}
		kind, _ := LookupGeometric(g.Kind)
		values := geometryValues(g, env)
		m, nextW, nextH := kind.Map(values, w, h, rng)
		written := strings.Trim(fmt.Sprint(slices.Concat(values...)), "[]")
		switch {
		case !m.Valid():
			return fmt.Errorf("%s %s at step %d is no valid mapping (a value is NaN, infinite, zero or far too large there)",
				g.Kind, written, env.Step)
		case !(nextW >= 1 && nextH >= 1):
			return fmt.Errorf("%s %s at step %d leaves %gx%g pixels of the %gx%g before it: give it a size of at least 1",
				g.Kind, written, env.Step, nextW, nextH, w, h)
		}
		w, h = nextW, nextH
	}
	return nil
}
