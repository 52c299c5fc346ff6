package workbench

import (
	"fmt"
	"image"
	"image/color"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // GoMLX graph code reads best with the dot import.
	"github.com/gomlx/gomlx/core/tensors"
)

// applyKind runs one transform kind's graph function on windows x [n, s, s, 3] with rows [n, 4].
func applyKind(t *testing.T, kind *TransformKind, x []float32, n, s int, rows []float32, extra [][]float64) []float32 {
	t.Helper()
	state, err := RNGStateFromSeed(1)
	if err != nil {
		t.Fatal(err)
	}
	var full []float32 // the rows' first four columns as given, then the Extra values that change
	for w := range n {
		full = append(full, rows[w*extraColumn:(w+1)*extraColumn]...)
		changing := slices.Concat(extra[min(kind.Fixed, len(extra)):]...)
		for c := range rowColumns - extraColumn {
			full = append(full, float32(append(changing, 0, 0)[c]))
		}
	}
	return run1(t, func(in []*Node) *Node {
		return kind.Apply(&TransformArgs{X: in[0], Rows: in[1], Radius: 3, RNG: in[2], Extra: extra})
	}, tensors.FromFlatDataAndDimensions(x, n, s, s, 3), tensors.FromFlatDataAndDimensions(full, n, rowColumns), state)
}

// TestTransformKindsAreComplete checks every entry of the registry: a unique key, a parameter
// and its size, a draw and a graph function, and an identity row that leaves windows as they are
// (the row used outside a transform's period).
func TestTransformKindsAreComplete(t *testing.T) {
	const n, s = 2, 6
	x := randomImage(rand.New(rand.NewPCG(1, 2)), n*s, s, 3)
	seen := map[string]bool{}
	for _, kind := range TransformKinds {
		if kind.Key == "" || seen[kind.Key] || kind.Param == "" || kind.Values < 1 || kind.Values > 3 ||
			kind.Draw == nil || kind.Apply == nil {
			t.Errorf("transform %q: incomplete or repeated entry", kind.Key)
			continue
		}
		seen[kind.Key] = true
		changing := 0
		for _, p := range kind.Extra[min(kind.Fixed, len(kind.Extra)):] {
			changing += p.Size
		}
		if kind.Fixed > len(kind.Extra) || changing > rowColumns-extraColumn {
			t.Errorf("transform %q: %d of its Extra fixed, %d values changing; the rows hold %d", kind.Key, kind.Fixed, changing, rowColumns-extraColumn)
		}
		if k, ok := LookupTransform(kind.Key); !ok || k.Key != kind.Key {
			t.Errorf("LookupTransform(%q) does not find it", kind.Key)
		}
		var rows []float32
		for range n {
			for _, v := range kind.Identity[:extraColumn] {
				rows = append(rows, float32(v))
			}
		}
		defaults := Transform{Kind: kind.Key}.withDefaults().Extra
		extra := fixedValues(defaults, len(defaults))
		for i, p := range kind.Extra {
			if p.Default == nil { // required: any value
				extra[i] = []float64{2, 3}
			}
		}
		got := applyKind(t, &kind, x, n, s, rows, extra)
		for i := range x {
			if math.Abs(float64(got[i]-x[i])) > 1e-5 {
				t.Errorf("%s: the identity row changes value %d from %g to %g", kind.Key, i, x[i], got[i])
				break
			}
		}
	}
}

// TestTransformsExact checks the per-pixel transforms against CLIPig's formulas (torchvision's
// adjust_saturation and adjust_contrast for those two) on a known 2x2 window.
func TestTransformsExact(t *testing.T) {
	x := []float32{0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.2, 0.4, 0.6}
	mean := [3]float64{(0.1 + 0.4 + 0.7 + 0.2) / 4, (0.2 + 0.5 + 0.8 + 0.4) / 4, (0.3 + 0.6 + 0.9 + 0.6) / 4}
	lum := func(p int) float64 {
		return 0.2989*float64(x[3*p]) + 0.587*float64(x[3*p+1]) + 0.114*float64(x[3*p+2])
	}
	meanLum := (lum(0) + lum(1) + lum(2) + lum(3)) / 4
	clamp := func(v float64) float64 { return min(max(v, 0), 1) }
	tests := []struct {
		key  string
		row  TransformRow
		want func(v float64, c, pixel int) float64
	}{
		{TransformAdd, TransformRow{0.1, -0.2, 0.3}, func(v float64, c, _ int) float64 { return v + []float64{0.1, -0.2, 0.3}[c] }},
		{TransformMul, TransformRow{2, 0.5, 1}, func(v float64, c, _ int) float64 { return v * []float64{2, 0.5, 1}[c] }},
		{TransformClamp, TransformRow{0.3, 0.6}, func(v float64, _, _ int) float64 { return min(max(v, 0.3), 0.6) }},
		{TransformMean, TransformRow{0.5, 0.5, 0.5, 1}, func(v float64, c, _ int) float64 { return v - mean[c] + 0.5 }},
		{TransformContrast, TransformRow{2}, func(v float64, _, _ int) float64 { return clamp(2*v - meanLum) }},
		{TransformSaturation, TransformRow{0.5}, func(v float64, _, p int) float64 { return clamp(0.5*v + 0.5*lum(p)) }},
		{TransformQuantize, TransformRow{0.25, 0.5, 0.3, 1}, func(v float64, c, _ int) float64 {
			step := []float64{0.25, 0.5, 0.3}[c]
			return math.Floor(float64(float32(v)/float32(step))) * step
		}},
	}
	for _, test := range tests {
		kind, _ := LookupTransform(test.key)
		rows := make([]float32, extraColumn)
		for i, v := range test.row[:extraColumn] {
			rows[i] = float32(v)
		}
		got := applyKind(t, kind, x, 1, 2, rows, nil)
		for i, v := range x {
			if want := test.want(float64(v), i%3, i/3); math.Abs(float64(got[i])-want) > 1e-6 {
				t.Errorf("%s: value %d is %g, want %g", test.key, i, got[i], want)
			}
		}
	}
}

// TestBorderPaintsTheEdge paints a 1-pixel-wide, 2-pixel-high border on a 5x5 window.
func TestBorderPaintsTheEdge(t *testing.T) {
	x := randomImage(rand.New(rand.NewPCG(5, 5)), 5, 5, 3)
	kind, _ := LookupTransform(TransformBorder)
	got := applyKind(t, kind, x, 1, 5, []float32{0.1, 0.2, 0.3, 1}, [][]float64{{1, 2}})
	for i := range x {
		px, py := i/3%5, i/3/5
		want := x[i]
		if px < 1 || px > 3 || py < 2 || py > 2 {
			want = []float32{0.1, 0.2, 0.3}[i%3]
		}
		if got[i] != want {
			t.Fatalf("pixel (%d, %d) channel %d: %g, want %g", px, py, i%3, got[i], want)
		}
	}
}

// TestTransformInputsOutsideThePeriod checks that a transform outside its period gets its
// identity row and draws nothing.
func TestTransformInputsOutsideThePeriod(t *testing.T) {
	tr := Transform{Kind: TransformBlur, Period: Period{Start: AtStep(5)}, Values: []Value{Constant(1), Constant(2)}}
	rng := rand.New(rand.NewPCG(1, 1))
	off := tensors.MustCopyFlatData[float32](transformInputs(tr, 3, TimeAt(4, 10), rng, nil))
	for _, v := range off {
		if v != 0 {
			t.Fatalf("blur before its start: rows %v, want zeros", off)
		}
	}
	on := tensors.MustCopyFlatData[float32](transformInputs(tr, 3, TimeAt(5, 10), rng, nil))
	for i := 0; i < len(on); i += rowColumns {
		if on[i] < 1 || on[i] > 2 {
			t.Errorf("blur sigma %g is outside [1, 2]", on[i])
		}
	}
}

// TestBlurEdgeAndFNoiseMatchCLIPig compares blur and edge with CLIPig's results in PyTorch away
// from the borders (testdata/pixels.py), and fnoise's spread with the spread PyTorch measured.
func TestBlurEdgeAndFNoiseMatchCLIPig(t *testing.T) {
	var ref struct {
		Image, Blur, Edge []float64
		EdgeXY            []float64 `json:"edge_xy"`
		FNoise            float64   `json:"fnoise_std_0.1_16"`
	}
	readTestdata(t, "pixels.json", &ref)
	x := make([]float32, len(ref.Image))
	for i, v := range ref.Image {
		x[i] = float32(v)
	}
	blur, _ := LookupTransform(TransformBlur)
	edge, _ := LookupTransform(TransformEdge)
	for _, c := range []struct {
		name   string
		got    []float32
		want   []float64
		rx, ry int // the kernel's radii: the pixels nearer the borders are padded differently
	}{
		{"blur", applyKind(t, blur, x, 1, 9, []float32{1.2, 0, 0, 0}, [][]float64{{5, 5}}), ref.Blur, 2, 2},
		{"edge", applyKind(t, edge, x, 1, 9, []float32{2, 2, 2, 1}, [][]float64{{5, 5}, {0, 0}}), ref.Edge, 2, 2},
		{"edge, kernel 3 7, sigma 1 2", applyKind(t, edge, x, 1, 9, []float32{2, 2, 2, 1}, [][]float64{{3, 7}, {1, 2}}),
			ref.EdgeXY, 1, 3},
	} {
		for i, want := range c.want {
			px, py := i/3%9, i/3/9
			if px >= c.rx && px <= 8-c.rx && py >= c.ry && py <= 8-c.ry && math.Abs(float64(c.got[i])-want) > 1e-5 {
				t.Errorf("%s: pixel (%d, %d) channel %d is %g, want %g", c.name, px, py, i%3, c.got[i], want)
			}
		}
	}
	const n, s = 40, 16
	fnoise, _ := LookupTransform(TransformFNoise)
	rows := make([]float32, 0, 4*n)
	for range n {
		rows = append(rows, 0.1, 0.1, 0.1, 0)
	}
	noise := applyKind(t, fnoise, make([]float32, n*s*s*3), n, s, rows, nil)
	var sum float64
	for _, v := range noise {
		sum += float64(v) * float64(v)
	}
	if std := math.Sqrt(sum / float64(len(noise))); math.Abs(std-ref.FNoise) > 0.03*ref.FNoise {
		t.Errorf("fnoise std %g, PyTorch measured %g", std, ref.FNoise)
	}
}

// TestKernelSizesAsCLIPig sizes kernels as CLIPig's blurs do, max(1, k+1 if k is even else k):
// 4 blurs as 5, 2.5 as 3, 0 and -3 as 1 (no blur), with torchvision's default sigma for the size
// (4's from 5); a blur transform's kernel_size not given (0, 0) takes the fallback, and each axis
// its own size.
func TestKernelSizesAsCLIPig(t *testing.T) {
	for _, c := range [][3]float64{{5, 2, 1.1}, {4, 2, 1.1}, {2.5, 1, 0.8}, {1, 0, 0.5}, {0, 0, 0.5}, {-3, 0, 0.5}} {
		if radius, sigma := oddKernel(c[0])/2, KernelSigma(c[0]); radius != int(c[1]) || math.Abs(sigma-c[2]) > 1e-12 {
			t.Errorf("kernel_size %g: radius %d and sigma %g, want %g and %g", c[0], radius, sigma, c[1], c[2])
		}
	}
	if rx, ry := kernelRadii([]float64{0, 0}, 7); rx != 7 || ry != 7 {
		t.Errorf("no kernel_size: radii %d %d, want the fallback 7", rx, ry)
	}
	if rx, ry := kernelRadii([]float64{3, 9}, 7); rx != 1 || ry != 4 {
		t.Errorf("kernel_size 3 9: radii %d %d, want 1 4", rx, ry)
	}
}

// TestTransformValuesPerWindow checks that a value drawing random numbers is evaluated for each
// window, at its own place, and any other value once for all windows of a step.
func TestTransformValuesPerWindow(t *testing.T) {
	calls := 0
	byPlace := func(e Env) float64 { calls++; return 1 + float64(e.Place%5) }
	rows := func(v Value) []float32 {
		calls = 0
		tr := Transform{Kind: TransformBlur, Values: []Value{v}}
		return tensors.MustCopyFlatData[float32](transformInputs(tr, 3, TimeAt(0, 10), rand.New(rand.NewPCG(1, 1)), nil))
	}
	// blur's one value fills the two ends of its range: two evaluations a window, or two a step
	drawn := rows(Drawn("d", byPlace))
	const r = rowColumns
	if calls != 6 || drawn[0] == drawn[r] && drawn[r] == drawn[2*r] {
		t.Errorf("a drawn value: %d evaluations, sigmas %g %g %g; want 6, not all equal", calls, drawn[0], drawn[r], drawn[2*r])
	}
	fixed := rows(Func("f", func(Env) float64 { calls++; return 1.5 }))
	if calls != 2 || fixed[0] != fixed[r] || fixed[r] != fixed[2*r] {
		t.Errorf("a value drawing nothing: %d evaluations, sigmas %g %g %g; want 2, all equal", calls, fixed[0], fixed[r], fixed[2*r])
	}
}

// TestCanvasTransformsBeforeGeometryActOnTheImage paints a red border of 4 pixels on a black
// image and cuts its middle half: CLIPig paints the border on the image, which the crop cuts
// away, so the windows are black (a mean constraint below 0 costs nothing); listed after the
// crop, the border is on the window; before a shift, which wraps the image round, all of it
// stays in the window. A mean of .5 before the crop of an image white in its right quarter
// (mean .25) lifts the black middle by .25; after the crop, by .5. Contrast 0 before the crop
// greys the window to the image's mean luminance, after it to the window's (black).
func TestCanvasTransformsBeforeGeometryActOnTheImage(t *testing.T) {
	crop := []Geometric{geometric("center_crop", 16, 16)}
	shift := []Geometric{geometric("shift", 16, 16)}
	loss := func(geometry []Geometric, tr Transform, white int) float64 {
		t.Helper()
		exp := Experiment{Seed: 1, Steps: 1, Width: 32, Height: 32, Learnrate: Constant(0),
			Init: Init{Given: true, Image: writeColumns(t, white)},
			Targets: []Target{{BatchSize: 1, Geometry: geometry, Transforms: []Transform{tr},
				Constraints: []Constraint{{Kind: ConstraintMean, Below: consts(0)}}}}}
		return firstLoss(t, exp, Member{tinyModel(t), 1})
	}
	border := Transform{Kind: TransformBorder, Values: consts(1, 0, 0), Extra: [][]Value{consts(4, 4)}}
	afterCrop := border
	afterCrop.After = 1
	if before, after := loss(crop, border, 32), loss(crop, afterCrop, 32); before > 1e-6 || after < 1e-3 {
		t.Errorf("border before the crop: loss %g, want 0 (the crop cuts it away); after it: %g, want the window's border", before, after)
	}
	if before, after := loss(shift, border, 32), loss(shift, afterCrop, 32); math.Abs(before-after) > 1e-3*after {
		t.Errorf("border before a shift: loss %g; after it: %g; want the same (the shift keeps every pixel)", before, after)
	}
	for _, tr := range []Transform{{Kind: TransformMean, Values: consts(0.5, 0.5, 0.5)}, {Kind: TransformContrast, Values: consts(0)}} {
		before := loss(crop, tr, 24) // white from column 24: the image's mean .25, the middle's 0
		tr.After = 1
		after := loss(crop, tr, 24)
		switch {
		case tr.Kind == TransformMean && (after/before < 3 || after/before > 5):
			t.Errorf("mean .5 before the crop: loss %g, after: %g; want about a quarter of it (the window at .25, not .5)", before, after)
		case tr.Kind == TransformContrast && (before < 1e-3 || after > before/100):
			t.Errorf("contrast 0 before the crop: loss %g, want the image's grey; after: %g, want the black window's (nearly 0)", before, after)
		}
	}
}

// writeColumns writes a 32x32 PNG black left of column white and white from it.
func writeColumns(t *testing.T, white int) string {
	img := image.NewGray(image.Rect(0, 0, 32, 32))
	for y := range 32 {
		for x := white; x < 32; x++ {
			img.SetGray(x, y, color.Gray{Y: 255})
		}
	}
	return writePNG(t, fmt.Sprintf("columns-%d.png", white), img)
}

// TestFNoiseFollowsItsCanvas adds fnoise to a flat grey image of 16x16 and of 32x32, both seen
// through the tiny model's 32-pixel windows: CLIPig adds it to the image, where its strength is
// 15 * std * sqrt(2n - 2) / n for the image's n pixels, so the smaller image's window is about
// twice as noisy (a std constraint's l1 loss, proportional to the window's std, tells).
func TestFNoiseFollowsItsCanvas(t *testing.T) {
	noisy := func(side int) float64 {
		exp := Experiment{Seed: 1, Steps: 1, Width: side, Height: side, Learnrate: Constant(0),
			Init: Init{Mean: [3]float64{0.5, 0.5, 0.5}, Given: true},
			Targets: []Target{{BatchSize: 1, Transforms: []Transform{{Kind: TransformFNoise, Values: consts(0.1)}},
				Constraints: []Constraint{{Kind: ConstraintStd, Below: consts(0), Loss: "l1"}}}}}
		return firstLoss(t, exp, Member{tinyModel(t), 1})
	}
	want := (math.Sqrt(2*256-2) / 256) / (math.Sqrt(2*1024-2) / 1024)
	if small, large := noisy(16), noisy(32); math.Abs(small/large-want) > 0.15*want {
		t.Errorf("fnoise's window std on 16x16 over 32x32: %g / %g = %.2f, want %.2f", small, large, small/large, want)
	}
}

// TestGridResizeIsTorchsBicubic compares the weights that resize a canvas's noise grid to a
// window with interpolate's cubic taps (torch's, checked against it), for a canvas of 16 pixels
// seen through 32 (scale 1/2) and 7 through 32, and checks that scale 1 copies the grid.
func TestGridResizeIsTorchsBicubic(t *testing.T) {
	const s = 32
	weights := run1(t, func(in []*Node) *Node { return gridResize(Reshape(in[0], 3, 1, 1), s) },
		tensors.FromValue([]float32{0.5, 7.0 / 32, 1}))
	for k, canvas := range []int{16, 7, 32} {
		for i, tap := range axisTaps(canvas, s, 0, s, "cubic") {
			want := make([]float64, s+4)
			low := int(math.Floor((float64(i)+0.5)*float64(canvas)/s - 0.5))
			for j, w := range tap.weight {
				want[low-1+j+2] += w // the taps unclamped: the grid goes on past the canvas's edge
			}
			for j := range s + 4 {
				if got := float64(weights[(k*s+i)*(s+4)+j]); math.Abs(got-want[j]) > 1e-5 {
					t.Fatalf("canvas %d, pixel %d, grid %d: %g, want %g", canvas, i, j, got, want[j])
				}
			}
		}
	}
}

// TestNoiseOnASmallerCanvasComesInBlobs draws the noise of windows of 32 pixels cut from a
// canvas of 16 pixels and from one of 32: the first is the canvas's noise resized, whose
// neighbouring pixels are alike, with the std and correlation that the bicubic weights give
// white noise; the second white noise of std 1.
func TestNoiseOnASmallerCanvasComesInBlobs(t *testing.T) {
	const s = 32
	noise := run1(t, func(in []*Node) *Node {
		a := &TransformArgs{X: Zeros(in[0].Graph(), shapes.Make(dtypes.Float32, 2, s, s, 3)), Rows: in[0],
			RNG: RNGStateFromSeedForGraph(in[0].Graph(), 1), GridScale: 1}
		noise, _ := a.canvasNoise(3)
		return noise
	}, tensors.FromValue([][]float32{{0, 0, 0, 0.5}, {0, 0, 0, 1}}))
	variance, covariance := 0.0, 0.0 // of white noise resized, a pixel and its right neighbour
	taps := axisTaps(16, s, 0, s, "cubic")
	for i := range s - 1 {
		for j := range 4 {
			variance += taps[i].weight[j] * taps[i].weight[j] / (s - 1)
			for k := range 4 {
				if taps[i].index[j] == taps[i+1].index[k] {
					covariance += taps[i].weight[j] * taps[i+1].weight[k] / (s - 1)
				}
			}
		}
	}
	for w, want := range [][2]float64{{variance * variance, covariance / variance}, {1, 0}} {
		std, correlation := noiseStats(noise[w*s*s*3:(w+1)*s*s*3], s)
		if math.Abs(std-math.Sqrt(want[0])) > 0.05 || math.Abs(correlation-want[1]) > 0.05 {
			t.Errorf("window %d: std %.3f, neighbours' correlation %.3f; want %.3f, %.3f", w, std, correlation, math.Sqrt(want[0]), want[1])
		}
	}
}

// noiseStats are the std of an s x s RGB window of zero-mean noise and the correlation of each
// pixel with its right neighbour.
func noiseStats(noise []float32, s int) (std, correlation float64) {
	sum, products, pairs := 0.0, 0.0, 0
	for y := range s {
		for x := range s {
			for c := range 3 {
				v := float64(noise[(y*s+x)*3+c])
				sum += v * v
				if x+1 < s {
					products += v * float64(noise[(y*s+x+1)*3+c])
					pairs++
				}
			}
		}
	}
	variance := sum / float64(s*s*3)
	return math.Sqrt(variance), products / float64(pairs) / variance
}

// TestNoiseFollowsItsCanvasGrid adds noise to a flat grey image of 16x16, 32x32 and 64x64, each
// seen whole through the tiny model's 32-pixel windows. CLIPig adds it to the image, which is
// then resized to the window: on 16x16 the window's noise comes in blobs two pixels wide, whose
// total variation (the mean step between neighbours) is about half of white noise's for the
// same std (the tv constraint over the std constraint, both l1 below 0, tells); on 64x64 a
// window pixel averages four of the image's, which halves the noise's std.
func TestNoiseFollowsItsCanvasGrid(t *testing.T) {
	terms := func(side int) (tv, std float64) {
		exp := Experiment{Seed: 1, Steps: 1, Width: side, Height: side, Learnrate: Constant(0),
			Init: Init{Mean: [3]float64{0.5, 0.5, 0.5}, Given: true},
			Targets: []Target{{BatchSize: 4, Transforms: []Transform{{Kind: TransformNoise, Values: consts(0.1)}},
				Constraints: []Constraint{{Kind: ConstraintTV, Below: consts(0), Loss: "l1"},
					{Kind: ConstraintStd, Below: consts(0), Loss: "l1"}}}}}
		result := firstStep(t, exp, Member{tinyModel(t), 1})
		return result.Terms[0], result.Terms[1]
	}
	smallTV, smallStd := terms(16)
	tv, std := terms(32)
	_, largeStd := terms(64)
	if smallTV/smallStd > 0.6*tv/std {
		t.Errorf("total variation per std: %.3f on 16x16, %.3f on 32x32; want the smaller canvas's blobs far smoother", smallTV/smallStd, tv/std)
	}
	if ratio := largeStd / std; math.Abs(ratio-0.5) > 0.1 {
		t.Errorf("the window's noise std on 64x64 is %.2f of that on 32x32, want 0.5", ratio)
	}
}

// TestWindowsAreClampedAfterAnUnclampedItem: an item naming contrast and saturation ends
// unclamped, as in CLIPig, which still clamps the windows it gives CLIP and the constraints: a
// flat 0.8 image plus 0.5 is seen as 1, not 1.3 (the mean constraint tells).
func TestWindowsAreClampedAfterAnUnclampedItem(t *testing.T) {
	mean := func(transforms ...Transform) float64 {
		exp := Experiment{Seed: 1, Steps: 1, Width: 32, Height: 32, Learnrate: Constant(0),
			Init: Init{Mean: [3]float64{0.8, 0.8, 0.8}, Given: true},
			Targets: []Target{{BatchSize: 1, Transforms: transforms,
				Constraints: []Constraint{{Kind: ConstraintMean, Below: consts(0), Loss: "l1"}}}}}
		return firstLoss(t, exp, Member{tinyModel(t), 1})
	}
	item := []Transform{{Kind: TransformContrast, Values: consts(1)}, {Kind: TransformSaturation, Values: consts(1)},
		{Kind: TransformAdd, Values: consts(0.5), Unclamped: true}}
	if ratio := mean(item...) / mean(); math.Abs(ratio-1/0.8) > 1e-3 {
		t.Errorf("the window's mean over the image's: %.4f, want %.4f (clamped to 1)", ratio, 1/0.8)
	}
}

// TestTransformValuesDrawTheirOwn gives an edge transform's amount (one value filling three)
// and sigma the same expression drawing random numbers: each channel and each sigma draws its
// own, as CLIPig makes an expression of each copy, and each window its own.
func TestTransformValuesDrawTheirOwn(t *testing.T) {
	random := Drawn("random()", func(e Env) float64 { return float64(e.Place%1000) / 1000 })
	tr := Transform{Kind: TransformEdge, Values: []Value{random}, Extra: [][]Value{consts(5, 5), {random, random}}}.withDefaults()
	rows := tensors.MustCopyFlatData[float32](transformInputs(tr, 2, TimeAt(3, 10), rand.New(rand.NewPCG(1, 1)), nil))
	drawn := slices.Concat(rows[:3], rows[extraColumn:rowColumns], rows[rowColumns:rowColumns+3])
	if distinct := slices.Compact(slices.Sorted(slices.Values(drawn))); len(distinct) != len(drawn) {
		t.Errorf("amount, sigma and the second window's amount: %v, want a draw for each", drawn)
	}
}

// TestEdgeSigmaChangesOverTime gives an edge transform a sigma moving over the run: each step's
// rows carry its value at that step after the drawn columns, where edgeTransform reads it (the
// CLIPig comparison above passes its sigma so), and the kernel size stays in Extra.
func TestEdgeSigmaChangesOverTime(t *testing.T) {
	moving := Func("1 + t", func(e Env) float64 { return 1 + e.T })
	tr := Transform{Kind: TransformEdge, Values: consts(2), Extra: [][]Value{consts(5, 5), {moving, Constant(3)}}}.withDefaults()
	for _, step := range []int{0, 9} {
		rows := tensors.MustCopyFlatData[float32](transformInputs(tr, 2, TimeAt(step, 10), rand.New(rand.NewPCG(1, 1)), nil))
		want := []float32{2, 2, 2, 1, 1 + float32(step)/9, 3}
		for w := range 2 {
			if got := rows[w*rowColumns : (w+1)*rowColumns]; !slices.Equal(got, want) {
				t.Errorf("step %d, window %d: row %v, want %v", step, w, got, want)
			}
		}
	}
}
