package defaultmodel

import (
	"context"
	"fmt"
	"image"
	"io"
	"math"
	"strconv"
	"strings"

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
	// Centre and Border are the mean pixels of SkyPrompt's run inside the middle square of half
	// the side and outside the middle square of three quarters of it.
	Centre, Border [3]float64
}

// SkyPrompt is the prompt whose run Painting measures for composition.
const SkyPrompt = "a large red circle in the centre on a blue sky"

// PaintSteps and PaintSize are the plain experiments' length and image side.
const (
	PaintSteps = 60
	PaintSize  = 96
)

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
	}
	for i, c := range scenes.Colors {
		if nearestRun(p.Means, c) == i {
			p.Matched = append(p.Matched, c)
		}
	}
	img, err := paint(ctx, m, SkyPrompt, seed)
	if err != nil {
		return p, err
	}
	p.Centre = meanPixel(img, func(x, y int) bool { return inSquare(x, y, PaintSize, 0.5) })
	p.Border = meanPixel(img, func(x, y int) bool { return !inSquare(x, y, PaintSize, 0.75) })
	return p, nil
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
			c := img.NRGBAAt(x, y)
			sum[0], sum[1], sum[2] = sum[0]+float64(c.R), sum[1]+float64(c.G), sum[2]+float64(c.B)
			n++
		}
	}
	for i := range sum {
		sum[i] /= 255 * float64(max(n, 1))
	}
	return sum
}

// nearestRun is the index of the mean pixel closest to colour's RGB.
func nearestRun(means [][3]float64, colour string) int {
	want, _ := scenes.ColorRGB(colour)
	best, bestDistance := -1, math.Inf(1)
	for i, m := range means {
		d := 0.0
		for k := range m {
			d += (m[k] - want[k]) * (m[k] - want[k])
		}
		if d < bestDistance {
			best, bestDistance = i, d
		}
	}
	return best
}

// redness and blueness are how far a colour's red (blue) exceeds the mean of its other channels.
func redness(c [3]float64) float64  { return c[0] - (c[1]+c[2])/2 }
func blueness(c [3]float64) float64 { return c[2] - (c[0]+c[1])/2 }

// SkyPasses tells whether SkyPrompt's run is redder in the centre and bluer at the border.
func (p Painting) SkyPasses() bool {
	return redness(p.Centre) > redness(p.Border) && blueness(p.Border) > blueness(p.Centre)
}

// Report writes the measures beside the targets.
func (p Painting) Report(w io.Writer) {
	fmt.Fprintf(w, "painting from plain settings (%dx%d, %d steps, pixels, random_shift 0 1):\n", PaintSize, PaintSize, PaintSteps)
	for i, c := range scenes.Colors {
		mark := "closest to " + scenes.Colors[nearestRun(p.Means, c)] + "'s run"
		fmt.Fprintf(w, "  a %-6s circle  mean RGB %.2f %.2f %.2f  %s\n", c, p.Means[i][0], p.Means[i][1], p.Means[i][2], mark)
	}
	fmt.Fprintf(w, "  colours whose run is the closest: %d/%d (target 9)\n", len(p.Matched), len(scenes.Colors))
	fmt.Fprintf(w, "  %q: centre RGB %.2f %.2f %.2f, border %.2f %.2f %.2f; redness centre %.3f border %.3f, blueness centre %.3f border %.3f: %s\n",
		SkyPrompt, p.Centre[0], p.Centre[1], p.Centre[2], p.Border[0], p.Border[1], p.Border[2],
		redness(p.Centre), redness(p.Border), blueness(p.Centre), blueness(p.Border), passFail(p.SkyPasses()))
}

func passFail(ok bool) string {
	if ok {
		return "pass"
	}
	return "FAIL"
}
