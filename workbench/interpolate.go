package workbench

import "math"

// interpolate resizes [h*w*3] pixels to width x height as torch.nn.functional.interpolate
// does for torchvision's resize of a tensor, which CLIPig calls on its pixels when the
// resolution changes: "cubic" is torch's bicubic (a = -0.75, taps clamped at the edges),
// "linear" its bilinear, both with align_corners false and without antialiasing, "nearest"
// the pixel at floor(i * in / out). x/image/draw's filters differ (Catmull-Rom's a = -0.5,
// antialiased when shrinking; nearest from pixel centres), hence this one, written by hand.
// The values are neither rounded nor clamped.
func interpolate(pixels []float32, w, h, width, height int, mode string) []float32 {
	across := resampleAxis(pixels, h, w, width, 3, mode)
	return transpose(resampleAxis(transpose(across, h, width), width, h, height, 3, mode), width, height)
}

// resampleAxis resizes each of rows rows of n pixels (of c values) to out pixels.
func resampleAxis(pixels []float32, rows, n, out, c int, mode string) []float32 {
	taps := axisTaps(n, out, mode)
	result := make([]float32, 0, rows*out*c)
	for r := range rows {
		row := pixels[r*n*c : (r+1)*n*c]
		for _, t := range taps {
			for channel := range c {
				sum := 0.0
				for k, index := range t.index {
					sum += float64(row[index*c+channel]) * t.weight[k]
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

// axisTaps are the taps of out pixels resampled from n along one axis, as torch computes them.
func axisTaps(n, out int, mode string) []tap {
	scale := float64(n) / float64(out)
	clamp := func(i int) int { return min(max(i, 0), n-1) }
	taps := make([]tap, out)
	for i := range taps {
		switch mode {
		case "nearest":
			taps[i] = tap{[]int{clamp(int(math.Floor(float64(i) * scale)))}, []float64{1}}
		case "linear":
			src := max((float64(i)+0.5)*scale-0.5, 0)
			lo := int(src)
			t := src - float64(lo)
			taps[i] = tap{[]int{clamp(lo), clamp(lo + 1)}, []float64{1 - t, t}}
		default: // cubic: the source position is not clamped, the taps are
			src := (float64(i)+0.5)*scale - 0.5
			lo := int(math.Floor(src))
			t := src - float64(lo)
			taps[i] = tap{[]int{clamp(lo - 1), clamp(lo), clamp(lo + 1), clamp(lo + 2)},
				[]float64{cubicFar(t + 1), cubicNear(t), cubicNear(1 - t), cubicFar(2 - t)}}
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
