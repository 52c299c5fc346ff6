package defaultmodel

import (
	"cmp"
	"context"
	"fmt"
	"image"
	"image/color"
	"io"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/clipwork/clipwork/clipmodel"
	"github.com/clipwork/clipwork/clipmodel/scenes"
	"github.com/clipwork/clipwork/workbench"
	"github.com/clipwork/clipwork/workbench/expfile"
)

// Painting is how plain experiments paint on a model: a run of "a COLOUR circle" per colour
// of scenes.Colors and one of SkyPrompt, each 96x96, 60 steps, pixel-parameterised, with
// random_shift 0 1 and every other setting at its default.
type Painting struct {
	// Means are each colour's run's mean pixel, in the order of scenes.Colors.
	Means [][3]float64
	// Matched are the colours whose own run has the mean pixel closest to the colour among all
	// the runs.
	Matched []string
	// Painted are each colour's run's painted colour (see PaintedColour), in the order of
	// scenes.Colors.
	Painted [][3]float64
	// PaintedMatched are the colours whose own run's painted colour is the closest to the colour
	// among all the runs'.
	PaintedMatched []string
	// Coherence is each colour's run's Coherence, in the order of scenes.Colors.
	Coherence []float64
	// Sky is SkyPrompt's run as it lies; SkyCentred is the same picture shifted, wrapping
	// around as random_shift does, to bring the centroid of its red to the middle.
	Sky, SkyCentred Composition
}

// Composition is a picture's mean pixel inside the middle square of half the side (Centre) and
// outside the middle square of three quarters of it (Border).
type Composition struct {
	Centre, Border [3]float64
}

// SkyPrompt is the prompt whose run Painting measures for composition.
const SkyPrompt = "a large red circle in the centre on a blue sky"

// PaintSteps and PaintSize are the plain experiments' length and image side.
const (
	PaintSteps = 60
	PaintSize  = 96
)

// MeanPixelTarget is how many colours' runs the painting target asks to be the closest by mean
// pixel.
const MeanPixelTarget = 9

// PlainFile is the experiment file a new user writes first: one text, random_shift 0 1,
// everything else default.
func PlainFile(text string) string {
	return fmt.Sprintf("epochs: %d\nresolution: %d\ntargets:\n  - features:\n      - %s\n    transforms:\n      - random_shift: 0 1\n",
		PaintSteps, PaintSize, strconv.Quote(strings.ToValidUTF8(text, "\uFFFD"))) // YAML reads Go's \xff as U+00FF
}

// PlainExperiment is PlainFile's experiment as clipwork reads the file, with seed.
func PlainExperiment(text string, seed uint64) (workbench.Experiment, error) {
	f, err := expfile.Parse("plain.yaml", []byte(PlainFile(text)), fmt.Sprintf("seed=%d", seed))
	if err != nil {
		return workbench.Experiment{}, err
	}
	return f.Experiment, nil
}

// Paint runs the plain experiments on m and measures them.
func Paint(ctx context.Context, m *clipmodel.Model, seed uint64) (Painting, error) {
	var p Painting
	for _, c := range scenes.Colors {
		img, err := paint(ctx, m, fmt.Sprintf("a %s circle", c), seed)
		if err != nil {
			return p, err
		}
		p.Means = append(p.Means, meanPixel(img, func(x, y int) bool { return true }))
		p.Painted = append(p.Painted, PaintedColour(img))
		p.Coherence = append(p.Coherence, Coherence(img))
	}
	p.Matched, p.PaintedMatched = matchedColours(p.Means), matchedColours(p.Painted)
	img, err := paint(ctx, m, SkyPrompt, seed)
	if err != nil {
		return p, err
	}
	p.Sky, p.SkyCentred = composition(img), composition(centreRed(img))
	return p, nil
}

// matchedColours are the colours of scenes.Colors whose own run's colour, of runs in that
// order, is the closest to the colour among all the runs'.
func matchedColours(runs [][3]float64) []string {
	var matched []string
	for i, c := range scenes.Colors {
		if nearestRun(runs, c) == i {
			matched = append(matched, c)
		}
	}
	return matched
}

// IdealMatches are the colours that the mean-pixel measure matches when each colour's run paints
// a large circle of the colour in the centre of background: on scenes.TintBackground, what the
// training scenes show for its prompt, the measure's ceiling for a model that paints its
// scenes; on scenes.PlainBackground, what it would be for one that kept the initial grey.
func IdealMatches(background string) []string {
	var means [][3]float64
	for _, c := range scenes.Colors {
		s := scenes.Scene{Shape: "circle", Color: c, Size: "large", Count: "one", Position: "centre", Background: background}
		means = append(means, meanPixel(s.Render(rand.New(rand.NewPCG(0, 0)), PaintSize), func(x, y int) bool { return true }))
	}
	return matchedColours(means)
}

// CoverageFor is the smallest share of the picture, in hundredths, that every run must paint in
// its colour, the rest plain grey, for the mean-pixel measure to match at least want colours; 1
// (the whole picture) where no smaller share does.
func CoverageFor(want int) float64 {
	for percent := 1; percent < 100; percent++ {
		share := float64(percent) / 100
		var means [][3]float64
		for _, c := range scenes.Colors {
			rgb, _ := scenes.ColorRGB(c)
			var mean [3]float64
			for k := range mean {
				mean[k] = (1-share)*plainGrey + share*rgb[k]
			}
			means = append(means, mean)
		}
		if len(matchedColours(means)) >= want {
			return share
		}
	}
	return 1
}

// plainGrey is the grey of scenes.PlainBackground.
const plainGrey = 0.5

// composition measures img's centre and border.
func composition(img *image.NRGBA) Composition {
	size := img.Bounds().Dx()
	return Composition{Centre: meanPixel(img, func(x, y int) bool { return inSquare(x, y, size, 0.5) }),
		Border: meanPixel(img, func(x, y int) bool { return !inSquare(x, y, size, 0.75) })}
}

// PaintedFraction is the share of a picture's pixels that PaintedColour averages: less than the
// area of a scene's large circle (8%), more than a small one's (2%).
const PaintedFraction = 0.05

// PaintedColour is the mean of the PaintedFraction of img's pixels farthest from its median
// colour: the colour a run painted, whatever the background it left, where the background is
// most of the picture (a run that paints over half of it leaves the median its own colour; the
// whole picture's mean tells that run's colour). A whole picture's mean moves little when the
// run paints one shape of a scene's size on the initial grey, and the distance to the median
// is kinder to a background that drifted or kept its noise than the distance to the grey a
// run starts from.
func PaintedColour(img *image.NRGBA) [3]float64 {
	mask, w := paintedMask(pixelsOf(img)), img.Bounds().Dx()
	return meanPixel(img, func(x, y int) bool { return mask[y*w+x] })
}

// Coherence is the mean share, over the pixels PaintedColour averages, of their eight
// neighbours (wrapping around, as random_shift does) that it averages too: near
// PaintedFraction where a run paints scattered noise, near 1 where it paints shapes.
func Coherence(img *image.NRGBA) float64 {
	w, h := img.Bounds().Dx(), img.Bounds().Dy()
	mask := paintedMask(pixelsOf(img))
	var sum, n float64
	for i, painted := range mask {
		if !painted {
			continue
		}
		x, y := i%w, i/w
		for _, d := range [8][2]int{{-1, -1}, {0, -1}, {1, -1}, {-1, 0}, {1, 0}, {-1, 1}, {0, 1}, {1, 1}} {
			if mask[(y+d[1]+h)%h*w+(x+d[0]+w)%w] {
				sum++
			}
		}
		n += 8
	}
	return sum / n
}

// paintedMask marks, of pixels, the PaintedFraction farthest from their median colour.
func paintedMask(pixels [][3]float64) []bool {
	var median [3]float64
	channel := make([]float64, len(pixels))
	for k := range median {
		for i, p := range pixels {
			channel[i] = p[k]
		}
		slices.Sort(channel)
		median[k] = channel[len(channel)/2]
	}
	order := make([]int, len(pixels))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		return -cmp.Compare(squaredDistance(pixels[a], median), squaredDistance(pixels[b], median))
	})
	mask := make([]bool, len(pixels))
	for _, i := range order[:max(1, int(PaintedFraction*float64(len(pixels))))] {
		mask[i] = true
	}
	return mask
}

// centreRed is img shifted, wrapping around, so that the centroid of its red lies in the
// middle. Each axis's centroid is a circular mean, the shift wrapping the axis into a circle,
// weighted by each pixel's redness above zero.
func centreRed(img *image.NRGBA) *image.NRGBA {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	var sx, cx, sy, cy float64
	for y := range h {
		for x := range w {
			r := max(0, redness(rgb(img.NRGBAAt(b.Min.X+x, b.Min.Y+y))))
			ax, ay := 2*math.Pi*(float64(x)+0.5)/float64(w), 2*math.Pi*(float64(y)+0.5)/float64(h)
			sx, cx, sy, cy = sx+r*math.Sin(ax), cx+r*math.Cos(ax), sy+r*math.Sin(ay), cy+r*math.Cos(ay)
		}
	}
	// The shift takes the centroid, at atan2/2pi of the side (a picture without red: 0), to
	// the middle.
	shift := func(s, c float64, n int) int {
		return int(math.Round(float64(n)/2 - math.Atan2(s, c)/(2*math.Pi)*float64(n)))
	}
	shiftX, shiftY := shift(sx, cx, w), shift(sy, cy, h)
	out := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			out.SetNRGBA(((x+shiftX)%w+w)%w, ((y+shiftY)%h+h)%h, img.NRGBAAt(b.Min.X+x, b.Min.Y+y))
		}
	}
	return out
}

// paint runs text's plain experiment and returns its image.
func paint(ctx context.Context, m *clipmodel.Model, text string, seed uint64) (*image.NRGBA, error) {
	exp, err := PlainExperiment(text, seed)
	if err != nil {
		return nil, err
	}
	run, err := workbench.NewRun(exp, m)
	if err != nil {
		return nil, err
	}
	if err := run.Run(ctx); err != nil {
		return nil, err
	}
	return run.Image()
}

// inSquare tells whether pixel (x, y) of a size x size image lies in the middle square whose
// side is fraction of size.
func inSquare(x, y, size int, fraction float64) bool {
	low, high := float64(size)*(1-fraction)/2, float64(size)*(1+fraction)/2
	fx, fy := float64(x)+0.5, float64(y)+0.5
	return fx >= low && fx < high && fy >= low && fy < high
}

// pixelsOf is img's pixels' RGB, in [0, 1].
func pixelsOf(img *image.NRGBA) [][3]float64 {
	var pixels [][3]float64
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			pixels = append(pixels, rgb(img.NRGBAAt(x, y)))
		}
	}
	return pixels
}

// rgb is a pixel's RGB, in [0, 1].
func rgb(c color.NRGBA) [3]float64 {
	return [3]float64{float64(c.R) / 255, float64(c.G) / 255, float64(c.B) / 255}
}

// meanPixel is the mean RGB, in [0, 1], of the pixels of img that keep selects.
func meanPixel(img *image.NRGBA, keep func(x, y int) bool) [3]float64 {
	var sum [3]float64
	n := 0
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			if !keep(x-b.Min.X, y-b.Min.Y) {
				continue
			}
			c := rgb(img.NRGBAAt(x, y))
			sum[0], sum[1], sum[2] = sum[0]+c[0], sum[1]+c[1], sum[2]+c[2]
			n++
		}
	}
	for i := range sum {
		sum[i] /= float64(max(n, 1))
	}
	return sum
}

// nearestRun is the index of the mean pixel closest to colour's RGB.
func nearestRun(means [][3]float64, colour string) int {
	want, _ := scenes.ColorRGB(colour)
	best, bestDistance := -1, math.Inf(1)
	for i, m := range means {
		if d := squaredDistance(m, want); d < bestDistance {
			best, bestDistance = i, d
		}
	}
	return best
}

// median is the middle value of values (the upper of the two middle ones for an even count).
func median(values []float64) float64 {
	sorted := slices.Sorted(slices.Values(values))
	return sorted[len(sorted)/2]
}

// squaredDistance is the squared Euclidean distance between two colours.
func squaredDistance(a, b [3]float64) float64 {
	return (a[0]-b[0])*(a[0]-b[0]) + (a[1]-b[1])*(a[1]-b[1]) + (a[2]-b[2])*(a[2]-b[2])
}

// redness and blueness are how far a colour's red (blue) exceeds the mean of its other channels.
func redness(c [3]float64) float64  { return c[0] - (c[1]+c[2])/2 }
func blueness(c [3]float64) float64 { return c[2] - (c[0]+c[1])/2 }

// Passes tells whether the picture is redder in the centre and bluer at the border, as
// SkyPrompt asks.
func (c Composition) Passes() bool {
	return redness(c.Centre) > redness(c.Border) && blueness(c.Border) > blueness(c.Centre)
}

// SkyCentredPasses tells whether SkyCentred passes, its centre is red and its border blue (by
// a tenth of the channels' range): a red disc on a blue sky. Centring the red would otherwise
// bring a grey or pale blob on blue to pass, or the sky around a blue hole, or noise.
func (p Painting) SkyCentredPasses() bool {
	return p.SkyCentred.Passes() && redness(p.SkyCentred.Centre) > 0 && blueness(p.SkyCentred.Border) > 0.1
}

// Report writes the measures beside the targets.
func (p Painting) Report(w io.Writer) {
	fmt.Fprintf(w, "painting from plain settings (%dx%d, %d steps, pixels, random_shift 0 1):\n", PaintSize, PaintSize, PaintSteps)
	for i, c := range scenes.Colors {
		fmt.Fprintf(w, "  a %-6s circle  mean RGB %.2f %.2f %.2f, closest to %s's run;  painted %.2f %.2f %.2f, closest to %s's run;  coherence %.2f\n", c,
			p.Means[i][0], p.Means[i][1], p.Means[i][2], scenes.Colors[nearestRun(p.Means, c)],
			p.Painted[i][0], p.Painted[i][1], p.Painted[i][2], scenes.Colors[nearestRun(p.Painted, c)], p.Coherence[i])
	}
	fmt.Fprintf(w, "  colours whose run is the closest: by mean pixel %d/%d, by painted colour %d/%d (target %d)\n",
		len(p.Matched), len(scenes.Colors), len(p.PaintedMatched), len(scenes.Colors), MeanPixelTarget)
	tinted, grey := IdealMatches(scenes.TintBackground), IdealMatches(scenes.PlainBackground)
	fmt.Fprintf(w, "    (a large circle of the scenes on its tint matches %d/%d (%s), on grey %d/%d (%s); on grey, %d of %d needs each run's colour over %.0f%% of its picture)\n",
		len(tinted), len(scenes.Colors), missing(tinted), len(grey), len(scenes.Colors), missing(grey),
		MeanPixelTarget, len(scenes.Colors), 100*CoverageFor(MeanPixelTarget))
	fmt.Fprintf(w, "  painted pixels' coherence: median %.2f (%.2f for scattered noise, 1 for one solid shape)\n", median(p.Coherence), PaintedFraction)
	fmt.Fprintf(w, "  %q:\n", SkyPrompt)
	p.Sky.report(w, "as painted", p.Sky.Passes())
	p.SkyCentred.report(w, "red centred", p.SkyCentredPasses())
}

// report writes the composition's figures and whether it passes.
func (c Composition) report(w io.Writer, name string, passes bool) {
	fmt.Fprintf(w, "    %-12s centre RGB %.2f %.2f %.2f, border %.2f %.2f %.2f; redness centre %.3f border %.3f, blueness centre %.3f border %.3f: %s\n",
		name, c.Centre[0], c.Centre[1], c.Centre[2], c.Border[0], c.Border[1], c.Border[2],
		redness(c.Centre), redness(c.Border), blueness(c.Centre), blueness(c.Border), passFail(passes))
}

// missing names the colours of scenes.Colors not in matched.
func missing(matched []string) string {
	var names []string
	for _, c := range scenes.Colors {
		if !slices.Contains(matched, c) {
			names = append(names, c)
		}
	}
	if len(names) == 0 {
		return "all"
	}
	return "not " + strings.Join(names, ", ")
}

func passFail(ok bool) string {
	if ok {
		return "pass"
	}
	return "FAIL"
}

// ReportSeeds writes a table of the paintings with seeds first, first+1, ...: the colours
// matched by mean pixel and by painted colour, the median coherence and the sky's two verdicts.
func ReportSeeds(w io.Writer, first uint64, paintings []Painting) {
	table := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(table, "seed\tby mean pixel\tby painted colour\tcoherence\tsky as painted\tsky red centred\t")
	for i, p := range paintings {
		fmt.Fprintf(table, "%d\t%d/%d\t%d/%d\t%.2f\t%s\t%s\t\n", first+uint64(i), len(p.Matched), len(scenes.Colors),
			len(p.PaintedMatched), len(scenes.Colors), median(p.Coherence), passFail(p.Sky.Passes()), passFail(p.SkyCentredPasses()))
	}
	table.Flush()
}
