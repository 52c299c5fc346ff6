package workbench

import (
	"image"
	"math"
)

// interpolate resizes [h*w*3] pixels to width x height as torch.nn.functional.interpolate
// does for torchvision's resize of a tensor, which CLIPig calls on its pixels when the
// resolution changes and on its initial image: "cubic" is torch's bicubic (a = -0.75, taps
// clamped at the edges), "linear" its bilinear, both with align_corners false and without
// antialiasing, "nearest" the pixel at floor(i * in / out). x/image/draw's filters differ
// (Catmull-Rom's a = -0.5, antialiased when shrinking; nearest from pixel centres), hence this
// one, written by hand. The values are neither rounded nor clamped.
func interpolate(pixels []float32, w, h, width, height int, mode string) []float32 {
	return interpolateWindow(pixels, w, h, width, height, image.Rect(0, 0, width, height), mode)
}

// interpolateWindow is the window (within width x height) of interpolate's result, computed
// from the source rows it needs alone: a long image resized for its middle costs the middle.
func interpolateWindow(pixels []float32, w, h, width, height int, window image.Rectangle, mode string) []float32 {
	down := axisTaps(h, height, window.Min.Y, window.Max.Y, mode)
	first, last := h, 0
	for _, t := range down {
		for _, i := range t.index {
			first, last = min(first, i), max(last, i)
		}
	}
	for _, t := range down {
		for k := range t.index {
			t.index[k] -= first
		}
	}
	rows := last - first + 1
	across := resampleAxis(pixels[first*w*3:(last+1)*w*3], rows, w, axisTaps(w, width, window.Min.X, window.Max.X, mode))
	return transpose(resampleAxis(transpose(across, rows, window.Dx()), window.Dx(), rows, down), window.Dx(), window.Dy())
}

// resampleAxis resamples each of rows rows of n pixels of 3 values by taps, a pixel each.
func resampleAxis(pixels []float32, rows, n int, taps []tap) []float32 {
	result := make([]float32, 0, rows*len(taps)*3)
	for r := range rows {
		row := pixels[r*n*3 : (r+1)*n*3]
		for _, t := range taps {
			for channel := range 3 {
				sum := 0.0
				for k, index := range t.index {
					sum += float64(row[index*3+channel]) * t.weight[k]
				}
				result = append(result, float32(sum))
			}
		}
	}
	return result
}

// tap is one output pixel's source pixels along an axis and their weights.
type tap struct {
	index  []int
	weight []float64
}

// axisTaps are the taps of output pixels lo to hi-1 of out resampled from n along one axis, as
// torch computes them.
func axisTaps(n, out, lo, hi int, mode string) []tap {
	scale := float64(n) / float64(out)
	clamp := func(i int) int { return min(max(i, 0), n-1) }
	taps := make([]tap, 0, hi-lo)
	for i := lo; i < hi; i++ {
		switch mode {
		case "nearest":
			taps = append(taps, tap{[]int{clamp(int(math.Floor(float64(i) * scale)))}, []float64{1}})
		case "linear":
			src := max((float64(i)+0.5)*scale-0.5, 0)
			low := int(src)
			t := src - float64(low)
			taps = append(taps, tap{[]int{clamp(low), clamp(low + 1)}, []float64{1 - t, t}})
		default: // cubic: the source position is not clamped, the taps are
			src := (float64(i)+0.5)*scale - 0.5
			low := int(math.Floor(src))
			t := src - float64(low)
			taps = append(taps, tap{[]int{clamp(low - 1), clamp(low), clamp(low + 1), clamp(low + 2)},
				[]float64{cubicFar(t + 1), cubicNear(t), cubicNear(1 - t), cubicFar(2 - t)}})
		}
	}
	return taps
}

// cubicA is torch's bicubic coefficient.
const cubicA = -0.75

// cubicNear and cubicFar are the cubic convolution's weights at distances up to 1 and 1 to 2.
func cubicNear(x float64) float64 { return ((cubicA+2)*x-(cubicA+3))*x*x + 1 }
func cubicFar(x float64) float64  { return ((cubicA*x-5*cubicA)*x+8*cubicA)*x - 4*cubicA }

// transpose swaps the axes of h rows of w pixels of 3 values: w rows of h.
func transpose(pixels []float32, h, w int) []float32 {
	out := make([]float32, len(pixels))
	for y := range h {
		for x := range w {
			copy(out[(x*h+y)*3:][:3], pixels[(y*w+x)*3:][:3])
		}
	}
	return out
}
