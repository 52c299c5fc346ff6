package workbench

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// Homography is a 3x3 projective map, row-major, from a window's pixel coordinates to the
// image's: (x, y, w) = H (u, v, 1), the point (x/w, y/w). Coordinates are continuous, with
// pixel i covering [i, i+1).
type Homography [9]float64

// IdentityHomography is the homography that maps every point to itself.
var IdentityHomography = Homography{1, 0, 0, 0, 1, 0, 0, 0, 1}

// Apply maps a point.
func (h Homography) Apply(u, v float64) (x, y float64) {
	w := h[6]*u + h[7]*v + h[8]
	return (h[0]*u + h[1]*v + h[2]) / w, (h[3]*u + h[4]*v + h[5]) / w
}

// Valid tells whether h maps windows to the image: values that stay finite in float32, as the
// graph takes them, once scaled to another input size and pool (at most maxHomographyValue),
// and an invertible matrix (a scale of 0 or a NaN in a transform's value gives neither).
func (h Homography) Valid() bool {
	for _, v := range h {
		if math.IsNaN(v) || math.Abs(v) > maxHomographyValue {
			return false
		}
	}
	det := h[0]*(h[4]*h[8]-h[5]*h[7]) - h[1]*(h[3]*h[8]-h[5]*h[6]) + h[2]*(h[3]*h[7]-h[4]*h[6])
	return math.Abs(det) > 1e-12 && !math.IsInf(det, 0)
}

// maxHomographyValue bounds a valid homography's values, far beyond any canvas and far below
// float32's range.
const maxHomographyValue = 1e30

// SquareToQuad is the homography from the square [0, side]² (corners in the order top-left,
// top-right, bottom-right, bottom-left) onto the quadrilateral q (Heckbert's closed form).
func SquareToQuad(side float64, q [4][2]float64) Homography {
	x0, y0, x1, y1, x2, y2, x3, y3 := q[0][0], q[0][1], q[1][0], q[1][1], q[2][0], q[2][1], q[3][0], q[3][1]
	dx1, dx2, dx3 := x1-x2, x3-x2, x0-x1+x2-x3
	dy1, dy2, dy3 := y1-y2, y3-y2, y0-y1+y2-y3
	var g, h float64
	if math.Abs(dx3) > 1e-12 || math.Abs(dy3) > 1e-12 {
		den := dx1*dy2 - dx2*dy1
		g = (dx3*dy2 - dx2*dy3) / den
		h = (dx1*dy3 - dx3*dy1) / den
	}
	s := 1 / side
	return Homography{
		(x1 - x0 + g*x1) * s, (x3 - x0 + h*x3) * s, x0,
		(y1 - y0 + g*y1) * s, (y3 - y0 + h*y3) * s, y0,
		g * s, h * s, 1,
	}
}

// Pad modes: what a window sees beyond the image's edges.
const (
	PadWrap     = "wrap"     // the image repeats, for tileable images
	PadEdge     = "edge"     // the border pixels extend
	PadConstant = "constant" // black
)

// PadModes are the pad modes.
var PadModes = []string{PadWrap, PadEdge, PadConstant}

// Window describes how a target places its random windows on the image. Every random choice is
// drawn anew for every window.
type Window struct {
	// Size is the side, in image pixels, of the square a window covers before it is scaled to
	// the model's input (0: the model's input size, one image pixel per input pixel).
	Size float64
	// FullFrame makes Size the image's longer side: the whole image is scaled into the window
	// ("zoom out", the seed's composition windows).
	FullFrame bool
	// Scale is the range of a random factor on Size: below 1 zooms in, above 1 zooms out.
	Scale [2]float64
	// Rotate is the range of a random rotation, in degrees.
	Rotate [2]float64
	// CenterX and CenterY are the ranges of the window's centre, as fractions of the image's
	// width and height (default: anywhere, or the middle for full-frame windows).
	CenterX, CenterY [2]float64
	// Perspective moves each corner randomly by up to this fraction of the window's side.
	Perspective float64
	// Pad is PadWrap, PadEdge (default) or PadConstant.
	Pad string
}

// withDefaults fills unset ranges.
func (w Window) withDefaults() Window {
	if w.Scale == [2]float64{} {
		w.Scale = [2]float64{1, 1}
	}
	if w.CenterX == [2]float64{} && w.CenterY == [2]float64{} {
		if w.FullFrame {
			w.CenterX, w.CenterY = [2]float64{.5, .5}, [2]float64{.5, .5}
		} else {
			w.CenterX, w.CenterY = [2]float64{0, 1}, [2]float64{0, 1}
		}
	}
	if w.Pad == "" {
		w.Pad = PadEdge
	}
	return w
}

func (w Window) validate() error {
	switch w.Pad {
	case "", PadWrap, PadEdge, PadConstant:
	default:
		return fmt.Errorf("pad %q: use %s, %s or %s", w.Pad, PadWrap, PadEdge, PadConstant)
	}
	if w.Size < 0 {
		return fmt.Errorf("window size %g is negative", w.Size)
	}
	if w.Scale[0] < 0 || w.Scale[1] < w.Scale[0] {
		return fmt.Errorf("scale range %v must be [low, high] with 0 <= low <= high", w.Scale)
	}
	if w.Rotate[1] < w.Rotate[0] {
		return fmt.Errorf("rotate range %v must be [low, high]", w.Rotate)
	}
	for _, r := range [][2]float64{w.CenterX, w.CenterY} {
		if r[0] < 0 || r[1] > 1 || r[1] < r[0] {
			return fmt.Errorf("centre range %v must lie within [0, 1]", r)
		}
	}
	if w.Perspective < 0 || w.Perspective > 0.5 {
		return fmt.Errorf("perspective %g must be from 0 to 0.5", w.Perspective)
	}
	return nil
}

// side is the window's side in image pixels before its random scale.
func (w Window) side(input, width, height int) float64 {
	switch {
	case w.FullFrame:
		return float64(max(width, height))
	case w.Size == 0:
		return float64(input)
	}
	return w.Size
}

// Sample draws one window's homography, for a model input of side input and an image of
// width x height.
func (w Window) Sample(rng *rand.Rand, input, width, height int) Homography {
	w = w.withDefaults()
	side := w.side(input, width, height) * uniform(rng, w.Scale)
	cx := uniform(rng, w.CenterX) * float64(width)
	cy := uniform(rng, w.CenterY) * float64(height)
	angle := uniform(rng, w.Rotate) * math.Pi / 180
	sin, cos := math.Sincos(angle)
	var quad [4][2]float64
	for i, corner := range [4][2]float64{{-1, -1}, {1, -1}, {1, 1}, {-1, 1}} {
		dx, dy := corner[0]*side/2, corner[1]*side/2
		if w.Perspective > 0 {
			dx += (rng.Float64()*2 - 1) * w.Perspective * side
			dy += (rng.Float64()*2 - 1) * w.Perspective * side
		}
		quad[i] = [2]float64{cx + cos*dx - sin*dy, cy + sin*dx + cos*dy}
	}
	return SquareToQuad(float64(input), quad)
}

func uniform(rng *rand.Rand, r [2]float64) float64 {
	if r[1] == r[0] {
		return r[0]
	}
	return r[0] + rng.Float64()*(r[1]-r[0])
}
