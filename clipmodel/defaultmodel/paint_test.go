package defaultmodel

import (
	"context"
	"image"
	"image/color"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/clipwork/clipwork/clipmodel"
	"github.com/clipwork/clipwork/clipmodel/scenes"
	"github.com/clipwork/clipwork/workbench"
)

// TestNearestRunPicksTheClosestMean gives every colour a run whose mean is its palette colour
// but for red's and orange's, swapped: those two fail, the other eight match.
func TestNearestRunPicksTheClosestMean(t *testing.T) {
	means := make([][3]float64, len(scenes.Colors))
	for i, c := range scenes.Colors {
		means[i], _ = scenes.ColorRGB(c)
	}
	means[0], means[1] = means[1], means[0] // red, orange
	matched := 0
	for i, c := range scenes.Colors {
		if nearestRun(means, c) == i {
			matched++
		}
	}
	if matched != 8 || nearestRun(means, "red") != 1 {
		t.Errorf("%d colours matched, red's nearest run %d; want 8 and orange's (1)", matched, nearestRun(means, "red"))
	}
}

// disc draws a size x size picture of outer with a disc of inner of the given radius around
// (cx, cy), in pixels, wrapping around the edges as random_shift does.
func disc(size int, cx, cy, radius float64, inner, outer color.NRGBA) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, size, size))
	wrapped := func(d float64) float64 { return math.Min(math.Abs(d), float64(size)-math.Abs(d)) }
	for y := range size {
		for x := range size {
			dx, dy := wrapped(float64(x)+0.5-cx), wrapped(float64(y)+0.5-cy)
			if dx*dx+dy*dy < radius*radius {
				img.SetNRGBA(x, y, inner)
			} else {
				img.SetNRGBA(x, y, outer)
			}
		}
	}
	return img
}

// nrgba is a palette colour of scenes.Colors as a pixel.
func nrgba(t *testing.T, name string) color.NRGBA {
	c, ok := scenes.ColorRGB(name)
	if !ok {
		t.Fatalf("no colour %q", name)
	}
	return color.NRGBA{uint8(255 * c[0]), uint8(255 * c[1]), uint8(255 * c[2]), 255}
}

// TestSkyMeasure paints a red disc on a blue square: in the middle it passes as painted and
// centred; swapped, it fails both; across the corner it fails as painted and passes centred.
// A grey disc on blue passes as painted (the centre is less blue) but not centred.
func TestSkyMeasure(t *testing.T) {
	red, blue, grey := color.NRGBA{220, 20, 20, 255}, color.NRGBA{40, 80, 230, 255}, color.NRGBA{128, 128, 128, 255}
	middle, corner := float64(PaintSize)/2, 0.0
	for _, c := range []struct {
		name               string
		img                *image.NRGBA
		asPainted, centred bool
	}{{"red disc in the middle", disc(PaintSize, middle, middle, PaintSize/4, red, blue), true, true},
		{"blue disc on red", disc(PaintSize, middle, middle, PaintSize/4, blue, red), false, false},
		{"red disc across the corner", disc(PaintSize, corner, corner, PaintSize/4, red, blue), false, true},
		{"grey disc in the middle", disc(PaintSize, middle, middle, PaintSize/4, grey, blue), true, false},
	} {
		p := Painting{Sky: composition(c.img), SkyCentred: composition(centreRed(c.img))}
		if p.Sky.Passes() != c.asPainted || p.SkyCentredPasses() != c.centred {
			t.Errorf("%s: passes as painted %v (%+v), centred %v (%+v); want %v, %v", c.name,
				p.Sky.Passes(), p.Sky, p.SkyCentredPasses(), p.SkyCentred, c.asPainted, c.centred)
		}
	}
}

// TestSkyCentredFailsOnNoise measures pictures of colour noise, which centring the red would
// otherwise make pass now and then.
func TestSkyCentredFailsOnNoise(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 20 {
		img := noisePicture(rng)
		p := Painting{Sky: composition(img), SkyCentred: composition(centreRed(img))}
		if p.SkyCentredPasses() {
			t.Errorf("noise %d passes centred: %+v", i, p.SkyCentred)
		}
	}
}

// noisePicture is a picture of opaque uniform colour noise.
func noisePicture(rng *rand.Rand) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, PaintSize, PaintSize))
	for j := range img.Pix {
		img.Pix[j] = uint8(rng.IntN(256)) | uint8(255*(j%4/3))
	}
	return img
}

// TestCoherenceTellsShapesFromNoise: a disc's painted pixels lie together, noise's apart.
func TestCoherenceTellsShapesFromNoise(t *testing.T) {
	shape := Coherence(disc(PaintSize, 3, 50, 0.16*PaintSize, nrgba(t, "green"), color.NRGBA{128, 128, 128, 255}))
	noise := Coherence(noisePicture(rand.New(rand.NewPCG(3, 4))))
	if shape < 0.8 || noise > 2*PaintedFraction {
		t.Errorf("coherence of a disc %.3f, of noise %.3f; want at least 0.8 and at most %.2f", shape, noise, 2*PaintedFraction)
	}
}

// TestPaintedColourFindsTheShape paints each colour as a disc of a scene's large circle (8% of
// the picture) on mid-grey: the whole picture's mean moves too little for pink's and brown's
// runs to be the closest to their colours (white's and black's are), while the painted colour
// is the disc's and every colour's own run is the closest.
func TestPaintedColourFindsTheShape(t *testing.T) {
	grey := color.NRGBA{128, 128, 128, 255}
	var means, painted [][3]float64
	for i, c := range scenes.Colors {
		img := disc(PaintSize, float64(10*i), float64(7*i), 0.16*PaintSize, nrgba(t, c), grey)
		means = append(means, meanPixel(img, func(x, y int) bool { return true }))
		painted = append(painted, PaintedColour(img))
		want, _ := scenes.ColorRGB(c)
		if d := squaredDistance(painted[i], want); d > 3*0.01*0.01 {
			t.Errorf("%s disc: painted colour %v, want %v", c, painted[i], want)
		}
	}
	if got := matchedColours(means); len(got) != 8 || slices.Contains(got, "pink") || slices.Contains(got, "brown") {
		t.Errorf("by mean pixel %v matched, want all but pink and brown", got)
	}
	if got := matchedColours(painted); len(got) != len(scenes.Colors) {
		t.Errorf("by painted colour %v matched, want all", got)
	}
}

// TestPlainExperimentRuns runs a plain experiment, shortened, on the tiny random model: the
// file's text and its random_shift 0 1, CLIPig's whole-image shift, are what the run does.
func TestPlainExperimentRuns(t *testing.T) {
	m, err := clipmodel.Load("random:tiny")
	if err != nil {
		t.Fatal(err)
	}
	exp, err := PlainExperiment(`a "red" circle`, 1)
	if err != nil {
		t.Fatal(err)
	}
	target := exp.Targets[0]
	if target.Features[0].Text != `a "red" circle` || len(target.Geometry) != 1 || target.Geometry[0].Kind != "random_shift" {
		t.Fatalf("plain experiment %+v, want the text and one random_shift", target)
	}
	exp.Steps = 2
	run, err := workbench.NewRun(exp, m)
	if err != nil {
		t.Fatal(err)
	}
	if err := run.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if w, h := run.Size(); w != PaintSize || h != PaintSize {
		t.Errorf("image %dx%d, want %d square", w, h, PaintSize)
	}
}

// TestAttackLowersAccuracy classifies 20 held-out scenes with the embedded model: a zero-step
// attack agrees with ZeroShot; the evaluation's attack classifies at most as many right.
func TestAttackLowersAccuracy(t *testing.T) {
	if testing.Short() {
		t.Skip("attacks 20 scenes")
	}
	m, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	clean, err := ZeroShot(m, 20, 1)
	if err != nil {
		t.Fatal(err)
	}
	none := EvalAttack
	none.Steps = 0
	unattacked, err := AttackedZeroShot(m, 20, 1, none)
	if err != nil {
		t.Fatal(err)
	}
	attacked, err := AttackedZeroShot(m, 20, 1, EvalAttack)
	if err != nil {
		t.Fatal(err)
	}
	sum := func(a Accuracy) float64 { return a.Color + a.Shape + a.Count + a.Position }
	if diff := sum(unattacked) - sum(clean); diff > 0.051 || diff < -0.051 {
		t.Errorf("unattacked %+v differs from ZeroShot %+v by more than one answer", unattacked, clean)
	}
	if sum(attacked) > sum(clean) {
		t.Errorf("attacked %+v beats clean %+v", attacked, clean)
	}
}

// TestPlainFileKeepsTheText reads back texts with quotes, escapes, non-ASCII and invalid UTF-8
// (replaced, as YAML would otherwise read a byte as another character).
func TestPlainFileKeepsTheText(t *testing.T) {
	for text, want := range map[string]string{`a "red" \ circle`: `a "red" \ circle`, "ein großer Kreis\t\u2028": "ein großer Kreis\t\u2028",
		"a \xff circle": "a \uFFFD circle"} {
		exp, err := PlainExperiment(text, 7)
		if err != nil {
			t.Fatal(err)
		}
		if got := exp.Targets[0].Features[0].Text; got != want || exp.Seed != 7 {
			t.Errorf("%q read back as %q, seed %d; want %q, seed 7", text, got, exp.Seed, want)
		}
	}
}

// TestReportSeedsTablesEachSeed writes a row per seed with its matched colours, coherence and
// the sky's verdicts.
func TestReportSeedsTablesEachSeed(t *testing.T) {
	grey := Composition{Centre: [3]float64{0.5, 0.5, 0.5}, Border: [3]float64{0.5, 0.5, 0.5}}
	sky := Composition{Centre: [3]float64{0.8, 0.2, 0.2}, Border: [3]float64{0.2, 0.3, 0.8}}
	paintings := []Painting{
		{Matched: scenes.Colors[:9], PaintedMatched: scenes.Colors, Coherence: []float64{0.5, 0.7, 0.6}, Sky: sky, SkyCentred: sky},
		{Matched: scenes.Colors[:2], PaintedMatched: scenes.Colors[:3], Coherence: []float64{0.1}, Sky: grey, SkyCentred: grey},
	}
	var out strings.Builder
	ReportSeeds(&out, 7, paintings)
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	want := [][]string{{"7", "9/10", "10/10", "0.60", "pass", "pass"}, {"8", "2/10", "3/10", "0.10", "FAIL", "FAIL"}}
	if len(lines) != 3 {
		t.Fatalf("table:\n%s", out.String())
	}
	for i, w := range want {
		if got := strings.Fields(lines[i+1]); !slices.Equal(got, w) {
			t.Errorf("row %d: %v, want %v", i, got, w)
		}
	}
}

// TestMeanPixelCeiling checks the ceiling that eval-default reports: runs that paint exactly
// their training scene (a large circle on its tint) match all colours by mean pixel; on grey
// they match 8, white's run being closer to pink than pink's and black's closer to brown than
// brown's; and CoverageFor gives the smallest share of colour that reaches the target on grey,
// a share well above a large circle's.
func TestMeanPixelCeiling(t *testing.T) {
	if got := missing(IdealMatches(scenes.TintBackground)); got != "all" {
		t.Errorf("a scene painter's mean-pixel matches: %s; want all", got)
	}
	if got := missing(IdealMatches(scenes.PlainBackground)); got != "not pink, brown" {
		t.Errorf("mean-pixel matches of large circles on grey: %s; want not pink, brown", got)
	}
	share := CoverageFor(MeanPixelTarget)
	large := math.Pi * 0.16 * 0.16 // scenes' large radius, a share of the side
	if share <= 2*large || share >= 1 {
		t.Fatalf("CoverageFor(%d) = %.2f; want above twice a large circle's share %.2f", MeanPixelTarget, share, large)
	}
	if CoverageFor(10) < share || CoverageFor(MeanPixelTarget-2) > 0.01 {
		t.Errorf("CoverageFor: 10 colours need %.2f, %d need %.2f; want at least %.2f and 0.01", CoverageFor(10), MeanPixelTarget-2, CoverageFor(MeanPixelTarget-2), share)
	}
}
