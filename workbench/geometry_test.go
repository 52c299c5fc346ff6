package workbench

import (
	"encoding/json"
	"image"
	"image/draw"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // GoMLX graph code reads best with the dot import.
	"github.com/gomlx/gomlx/core/tensors"
)

// readTestdata reads testdata/name, a reference a script beside it wrote, into v.
func readTestdata(t *testing.T, name string, v any) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatal(err)
	}
}

// readGeometryReference reads testdata/geometry.py's windows: name -> [h, w, 3] values, and
// shapes.
func readGeometryReference(t *testing.T) map[string]json.RawMessage {
	t.Helper()
	var ref map[string]json.RawMessage
	readTestdata(t, "geometry.json", &ref)
	return ref
}

// TestGeometricTransformsMatchCLIPig maps every pixel of each transform's canvas back to a
// known 8x6 image and compares it with CLIPig's result computed in PyTorch
// (testdata/geometry.py).
func TestGeometricTransformsMatchCLIPig(t *testing.T) {
	ref := readGeometryReference(t)
	var shapes map[string][2]int
	if err := json.Unmarshal(ref["shapes"], &shapes); err != nil {
		t.Fatal(err)
	}
	const w, h = 8, 6
	image := make([]float64, h*w*3)
	for i := range image {
		image[i] = float64(i) / float64(len(image))
	}
	chains := map[string][]Geometric{
		"center_crop":     {geometric("center_crop", 4, 2)},
		"center_crop_odd": {geometric("center_crop", 3, 1)},
		"crop":            {geometric("crop", 2, 1, 5, 3)},
		"shift":           {geometric("shift", 3, -2)},
		"shift_fraction":  {geometric("random_shift", 0.25, 0.25, 0.5, 0.5)},
		"rotate":          {geometric("center_crop", 6, 6), {Kind: "rotate", Values: [][]Value{consts(90), consts(0.5, 0.5)}}},
		"pad":             {{Kind: "pad", Pad: PadConstant, Values: [][]Value{consts(2, 1), consts(0, 0, 0)}}},
		"repeat":          {geometric("repeat", 3, 2)},
	}
	for name, chain := range chains {
		var want []float64
		if err := json.Unmarshal(ref[name], &want); err != nil {
			t.Fatal(err)
		}
		m, cw, ch := geometryMap(chain, TimeAt(0, 1), rand.New(rand.NewPCG(1, 1)), w, h)
		if int(cw) != shapes[name][1] || int(ch) != shapes[name][0] {
			t.Errorf("%s: canvas %gx%g, want %dx%d", name, cw, ch, shapes[name][1], shapes[name][0])
			continue
		}
		pad := geometryPad(chain)
		for i, v := range want {
			x, y := m.Apply(float64(i/3%int(cw))+0.5, float64(i/3/int(cw))+0.5)
			if got := lookupPadded(image, w, h, x, y, i%3, pad); math.Abs(got-v) > 1e-9 {
				t.Errorf("%s: canvas value %d is %g, want %g", name, i, got, v)
				break
			}
		}
	}
}

func geometric(kind string, values ...float64) Geometric {
	return Geometric{Kind: kind, Values: [][]Value{consts(values...)}}
}

func consts(values ...float64) []Value { return constants(values) }

// lookupPadded is the image's value at the pixel holding (x, y), padded as the warp pads.
func lookupPadded(image []float64, w, h int, x, y float64, c int, pad string) float64 {
	xi, yi := int(math.Floor(x)), int(math.Floor(y))
	switch pad {
	case PadWrap:
		xi, yi = (xi%w+w)%w, (yi%h+h)%h
	case PadEdge:
		xi, yi = min(max(xi, 0), w-1), min(max(yi, 0), h-1)
	}
	if xi < 0 || yi < 0 || xi >= w || yi >= h {
		return 0
	}
	return image[(yi*w+xi)*3+c]
}

// TestPixelTransformsActAtTheirCanvasScale checks the canvas scales of a chain (a 448 image
// resized to 112, seen through 56-pixel windows) and that a blur listed before the resize is
// carried to the window's scale as CLIPig's order implies.
func TestPixelTransformsActAtTheirCanvasScale(t *testing.T) {
	chain := []Geometric{geometric("resize", 112, 112)}
	_, c := sampleGeometry(chain, TimeAt(0, 1), rand.New(rand.NewPCG(1, 1)), 56, 448, 448)
	if scales := c.Scales; len(scales) != 2 || math.Abs(scales[0]-8) > 1e-9 || math.Abs(scales[1]-2) > 1e-9 {
		t.Fatalf("canvas scales %v, want [8 2]", scales)
	}
	if !slices.Equal(c.Pixels, []float64{448 * 448, 112 * 112}) {
		t.Errorf("canvas pixels %v, want 448x448 and 112x112", c.Pixels)
	}
	for after, want := range []float32{0.5, 2} {
		tr := Transform{Kind: TransformBlur, Values: consts(4), After: after}
		rows := transformInputs(tr, 1, TimeAt(0, 1), rand.New(rand.NewPCG(1, 1)), []canvases{c})
		if got := tensors.MustCopyFlatData[float32](rows)[0]; got != want {
			t.Errorf("blur of sigma 4 after %d geometric transforms: %g in the window, want %g", after, got, want)
		}
	}
}

// TestTargetWithoutGeometrySeesTheWholeImage checks CLIPig's default: a target with neither a
// window nor geometric transforms sees the whole image, squeezed into the model's input square,
// one window per step.
func TestTargetWithoutGeometrySeesTheWholeImage(t *testing.T) {
	target := Target{Features: []Feature{{Text: "x"}}}
	target.defaults(0)
	if !target.placedByGeometry() || target.BatchSize != 1 {
		t.Fatalf("placed by geometry %v, batch size %d", target.placedByGeometry(), target.BatchSize)
	}
	h, _ := sampleGeometry(target.Geometry, TimeAt(0, 1), rand.New(rand.NewPCG(1, 2)), 32, 64, 48)
	for _, c := range [][4]float64{{0, 0, 0, 0}, {32, 32, 64, 48}, {16, 8, 32, 12}} {
		if x, y := h.Apply(c[0], c[1]); math.Abs(x-c[2]) > 1e-9 || math.Abs(y-c[3]) > 1e-9 {
			t.Errorf("input (%g, %g) maps to (%g, %g), want (%g, %g)", c[0], c[1], x, y, c[2], c[3])
		}
	}
}

// TestPostprocRotationMatchesTorchvision rotates the known 8x6 image as a postproc rotate does
// (nearest sampling, CLIPig's whole-pixel centre) and compares it with torchvision's rotate
// (testdata/geometry.py).
func TestPostprocRotationMatchesTorchvision(t *testing.T) {
	ref := readGeometryReference(t)
	const w, h = 8, 6
	image := make([]float32, h*w*3)
	for i := range image {
		image[i] = float32(i) / float32(len(image))
	}
	for name, g := range map[string]Geometric{
		"rotate_30":  {Kind: "rotate", Values: [][]Value{consts(30), consts(0.3, 0.6)}},
		"rotate_-75": {Kind: "rotate", Values: [][]Value{consts(-75), consts(0.5, 0.5)}},
	} {
		var want []float64
		if err := json.Unmarshal(ref[name], &want); err != nil {
			t.Fatal(err)
		}
		m, _, _ := geometryMap([]Geometric{g}, TimeAt(0, 1), rand.New(rand.NewPCG(1, 1)), w, h)
		hom := make([]float32, 9)
		for i, v := range m {
			hom[i] = float32(v)
		}
		got := run1(t, func(in []*Node) *Node { return sampleRect(in[0], in[1], w, h, PadConstant, true) },
			tensors.FromFlatDataAndDimensions(image, h, w, 3), tensors.FromFlatDataAndDimensions(hom, 1, 9))
		for i := range got {
			if math.Abs(float64(got[i])-want[i]) > 1e-6 {
				t.Errorf("%s: value %d (pixel %d, %d) is %g, torchvision's %g", name, i, i/3%w, i/3/w, got[i], want[i])
				break
			}
		}
	}
}

// TestDegenerateTransformsAreRefused: geometric transforms that leave no pixels or no valid
// map, and a quantize step of 0, at some moment of the run, are refused before it starts (the
// run would stop there, as CLIPig's fails), naming the transform, its values and the step; a
// size that only becomes 0 later is found at that step; but only where the target (active,
// start and end) and the transform are active.
func TestDegenerateTransformsAreRefused(t *testing.T) {
	nan := math.NaN()
	for _, c := range []struct {
		geometry   []Geometric
		transforms []Transform
		want       string
		period     Period
		disabled   bool
	}{
		{[]Geometric{geometric("crop", 0, 0, 0, 0)}, nil, "crop 0 0 0 0 at step 0 leaves 0x0 pixels of the 32x32 before it", Period{}, false},
		{[]Geometric{geometric("center_crop", 16, 16), geometric("random_crop", 0, 8)}, nil, "random_crop 0 8 at step 0 leaves 0x8 pixels of the 16x16", Period{}, false},
		{[]Geometric{geometric("resize", 0, 0)}, nil, "resize 0 0 at step 0 is no valid mapping", Period{}, false},
		{[]Geometric{geometric("random_scale", 0, 0)}, nil, "random_scale 0 0 at step 0 is no valid mapping", Period{}, false},
		{[]Geometric{{Kind: "rotate", Values: [][]Value{consts(nan), consts(0.5, 0.5)}}}, nil, "geometric transform 1 (rotate) degree value 1 is NaN at step 0", Period{}, false},
		{[]Geometric{{Kind: "resize", Values: [][]Value{{Func("32 - 4*epoch", func(e Env) float64 { return float64(32 - 4*e.Step) }), Constant(32)}}}}, nil, "resize 0 32 at step 8 is no valid mapping", Period{}, false},
		{nil, []Transform{{Kind: TransformQuantize, Values: []Value{Func("t", func(e Env) float64 { return e.T })}}}, "transform 1 (quantize): quantize's step is 0 at step 0 (t)", Period{}, false},
		{[]Geometric{geometric("center_crop", 16, 16), geometric("resize", 8, 8)}, nil, "", Period{}, false},
		// only where the target and the transform are active, as CLIPig applies them
		{[]Geometric{geometric("resize", 0, 0)}, nil, "", Period{}, true},
		{[]Geometric{{Kind: "resize", Values: [][]Value{{Func("32*(epoch < 6)", func(e Env) float64 { return float64(32 * bool2int(e.Step < 6)) }),
			Constant(32)}}}}, nil, "", Period{End: AtFraction(0.5)}, false},
		{nil, []Transform{{Kind: TransformQuantize, Values: []Value{Func("t", func(e Env) float64 { return e.T })},
			Period: Period{Start: AtFraction(0.5)}}}, "", Period{}, false},
	} {
		exp := Experiment{Seed: 1, Steps: 9, Width: 32, Height: 32, Targets: []Target{{Name: "a",
			Features: []Feature{{Text: "x"}}, Geometry: c.geometry, Transforms: c.transforms, Period: c.period,
			Disabled: c.disabled}}}
		if c.disabled {
			exp.Targets = append(exp.Targets, Target{Name: "b", Features: []Feature{{Text: "y"}}})
		}
		err := exp.Resolve()
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%+v: %v", c.geometry, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%+v %+v: %v, want %q", c.geometry, c.transforms, err, c.want)
		}
	}
}

// TestMalformedGeometryIsAnError resolves geometric transforms of an unknown kind or without
// their values, in a target and in post-processing: each is a problem Resolve names, not a panic.
func TestMalformedGeometryIsAnError(t *testing.T) {
	for _, g := range []Geometric{{Kind: "rotat"}, {Kind: "rotate"}} {
		exp := Experiment{Seed: 1, Steps: 2, Width: 32, Height: 32, Targets: []Target{{Name: "a",
			Features: []Feature{{Text: "x"}}, Geometry: []Geometric{g}}}}
		if err := exp.Resolve(); err == nil || !strings.Contains(err.Error(), g.Kind) {
			t.Errorf("target geometry %+v: %v", g, err)
		}
		exp.Targets[0].Geometry = nil
		exp.Postproc = []Postproc{{Geometric: &g}}
		if err := exp.Resolve(); err == nil || !strings.Contains(err.Error(), g.Kind) {
			t.Errorf("postproc geometry %+v: %v", g, err)
		}
	}
}

// TestCropsAndPadsFillWithBlack cuts a 48-pixel middle from a white 32-pixel image: torchvision's
// center_crop fills beyond the image with black, as CLIPig's pad does by default (mode fill),
// so both windows are the same; a pad of mode edge stretches the white instead. A crop at a
// negative x, a fraction to CLIPig, lies wholly beyond the image.
func TestCropsAndPadsFillWithBlack(t *testing.T) {
	white := image.NewGray(image.Rect(0, 0, 32, 32))
	draw.Draw(white, white.Bounds(), image.White, image.Point{}, draw.Src)
	path := writePNG(t, "white.png", white)
	loss := func(g Geometric) float64 {
		exp := Experiment{Seed: 1, Steps: 1, Width: 32, Height: 32, Learnrate: Constant(0), Init: Init{Image: path},
			Targets: []Target{{BatchSize: 1, Geometry: []Geometric{g}, Constraints: []Constraint{{Kind: ConstraintMean, Below: consts(0)}}}}}
		return firstLoss(t, exp, Member{tinyModel(t), 1})
	}
	pad := Geometric{Kind: "pad", Values: [][]Value{consts(8, 8), consts(0, 0, 0)}}
	crop, filled := loss(geometric("center_crop", 48, 48)), loss(pad)
	pad.Pad = PadEdge
	edge := loss(pad)
	if math.Abs(crop-filled) > 1e-3*filled || edge < 2*filled {
		t.Errorf("losses: center_crop 48 %g, pad 8 %g, pad 8 of mode edge %g; want the first two equal, the third far above", crop, filled, edge)
	}
	if outside := loss(geometric("crop", -8, 0, 32, 32)); outside > 1e-6 {
		t.Errorf("crop at x -8, which CLIPig takes for -8 widths: loss %g, want 0 (all black)", outside)
	}
}

// TestHugeShiftsWrap: CLIPig takes a shift of any size modulo the canvas (int(x) % width); a
// shift past float32's range stays a valid mapping within the canvas, and a homography near what
// float32 can hold is not valid.
func TestHugeShiftsWrap(t *testing.T) {
	for _, offset := range []float64{1e300, -1e300, 3.5e38, 40} {
		h := shift(offset, offset, 32, 32)
		if !h.Valid() || math.Abs(h[2]) >= 32 || math.Abs(h[5]) >= 32 {
			t.Errorf("shift %g: %v, want a translation within the canvas", offset, h)
		}
	}
	if h := shift(40, -7, 32, 32); h[2] != -8 || h[5] != 7 {
		t.Errorf("shift 40 -7 of 32: %v, want a translation of -8, 7", h)
	}
	if (Homography{1, 0, 1e35, 0, 1, 0, 0, 0, 1}).Valid() {
		t.Error("a translation near float32's limit is valid")
	}
}
