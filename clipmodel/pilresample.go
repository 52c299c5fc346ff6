package clipmodel

import (
	"image"
	"image/color"
	"math"
)

// Every CLIP pipeline (transformers' CLIPImageProcessor, torchvision's Resize in OpenAI's
// clip.load and open_clip) resizes with PIL, whose 8-bit resampling rounds to whole levels
// between its horizontal and vertical passes and weighs in fixed point. x/image/draw keeps full
// precision between passes and differs by up to 6 levels, so the resampling here is PIL's own
// algorithm (Pillow's Resample.c), which reproduces its pixels exactly.

// pilFilter is one of PIL's resampling filters: its support (half-width, in source pixels at
// scale 1) and weight function.
type pilFilter struct {
	support float64
	weight  func(x float64) float64
}

// pilBicubicFilter is PIL's BICUBIC (a cubic convolution with a = -0.5, Catmull-Rom's).
var pilBicubicFilter = pilFilter{2, func(x float64) float64 {
	const a = -0.5
	x = math.Abs(x)
	switch {
	case x < 1:
		return ((a+2)*x-(a+3))*x*x + 1
	case x < 2:
		return (((x-5)*x+8)*x - 4) * a
	}
	return 0
}}

// pilBilinearFilter is PIL's BILINEAR (a triangle).
var pilBilinearFilter = pilFilter{1, func(x float64) float64 {
	return max(0, 1-math.Abs(x))
}}

// pilPrecisionBits is the fixed-point precision of PIL's 8-bit weights.
const pilPrecisionBits = 32 - 8 - 2

// pilTaps are one output pixel's source pixels along an axis: first, and a fixed-point weight
// for each from there on.
type pilTaps struct {
	first   int
	weights []int32
}

// pilCoefficients are the taps of each of out pixels resampled from in along one axis, as
// Pillow's precompute_coeffs and normalize_coeffs_8bpc compute them.
func pilCoefficients(in, out int, f pilFilter) []pilTaps {
	scale := float64(in) / float64(out)
	filterScale := max(scale, 1)
	support := f.support * filterScale
	taps := make([]pilTaps, out)
	for i := range taps {
		centre := (float64(i) + 0.5) * scale
		lo := max(int(centre-support+0.5), 0) // C's truncating conversions
		hi := min(int(centre+support+0.5), in)
		weights := make([]float64, hi-lo)
		total := 0.0
		for j := range weights {
			weights[j] = f.weight((float64(j+lo) - centre + 0.5) / filterScale)
			total += weights[j]
		}
		fixed := make([]int32, len(weights))
		for j, w := range weights {
			if total != 0 {
				w /= total
			}
			fixed[j] = int32(w*(1<<pilPrecisionBits) + math.Copysign(0.5, w))
		}
		taps[i] = pilTaps{lo, fixed}
	}
	return taps
}

// apply is the taps' weighted sum of pix[first*stride], pix[(first+1)*stride], ..., rounded
// to a level as PIL rounds (clip8).
func (t pilTaps) apply(pix []uint8, stride int) uint8 {
	sum := int64(1) << (pilPrecisionBits - 1)
	for j, w := range t.weights {
		sum += int64(pix[(t.first+j)*stride]) * int64(w)
	}
	return uint8(min(max(sum>>pilPrecisionBits, 0), 255))
}

// pilImage is an 8-bit image of channels values per pixel, row-major, as PIL holds one.
type pilImage struct {
	width, height, channels int
	pix                     []uint8
}

// pilResample resizes m to width x height with filter f as PIL's Image.resize does for 8-bit
// modes (L, RGB, and RGBa, premultiplied): a horizontal pass, then a vertical one, each only
// where the size changes along it.
func pilResample(m *pilImage, width, height int, f pilFilter) *pilImage {
	if width != m.width {
		taps := pilCoefficients(m.width, width, f)
		out := &pilImage{width, m.height, m.channels, make([]uint8, width*m.height*m.channels)}
		for i := range out.pix {
			pixel, c := i/m.channels, i%m.channels
			row := m.pix[(pixel/width)*m.width*m.channels+c:]
			out.pix[i] = taps[pixel%width].apply(row, m.channels)
		}
		m = out
	}
	if height != m.height {
		taps := pilCoefficients(m.height, height, f)
		out := &pilImage{m.width, height, m.channels, make([]uint8, m.width*height*m.channels)}
		rowLength := m.width * m.channels
		for i := range out.pix {
			column := m.pix[i%rowLength:]
			out.pix[i] = taps[i/rowLength].apply(column, rowLength)
		}
		m = out
	}
	return m
}

// pilNearest resizes m as PIL's NEAREST does: each output pixel takes the source pixel under
// its centre.
func pilNearest(m *pilImage, width, height int) *pilImage {
	out := &pilImage{width, height, m.channels, make([]uint8, width*height*m.channels)}
	for y := range height {
		sy := (2*y + 1) * m.height / (2 * height)
		for x := range width {
			sx := (2*x + 1) * m.width / (2 * width)
			copy(out.pix[(y*width+x)*m.channels:][:m.channels], m.pix[(sy*m.width+sx)*m.channels:][:m.channels])
		}
	}
	return out
}

// opaqueRGB is img's colours as 8-bit RGB as PIL reads them, its alpha dropped (PIL's
// convert("RGB")): a transparent pixel keeps the colour stored under it where the image stores
// colours apart from alpha (NRGBA, paletted), and is black where it stores them premultiplied;
// a JPEG's colours are libjpeg's (libjpegRGB).
func opaqueRGB(img image.Image) *pilImage {
	if m, ok := img.(*image.YCbCr); ok {
		if rgb := libjpegRGB(m); rgb != nil {
			return rgb
		}
	}
	b := img.Bounds()
	out := &pilImage{b.Dx(), b.Dy(), 3, make([]uint8, 0, b.Dx()*b.Dy()*3)}
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			c := straightColour(img.At(x, y))
			out.pix = append(out.pix, c.R, c.G, c.B)
		}
	}
	return out
}

// premultipliedRGBA is img as PIL's RGBa, 8-bit RGB premultiplied by alpha, the mode PIL
// resizes an image with transparency in (Image.resize converts RGBA to RGBa and back).
func premultipliedRGBA(img image.Image) *pilImage {
	b := img.Bounds()
	out := &pilImage{b.Dx(), b.Dy(), 4, make([]uint8, 0, b.Dx()*b.Dy()*4)}
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			c := straightColour(img.At(x, y))
			out.pix = append(out.pix, mulDiv255(c.R, c.A), mulDiv255(c.G, c.A), mulDiv255(c.B, c.A), c.A)
		}
	}
	return out
}

// straightColour is c as 8-bit colour and alpha apart (not premultiplied), as PIL reads it: 16
// bits per channel are cut to their high byte.
func straightColour(c color.Color) color.NRGBA {
	switch c := c.(type) {
	case color.NRGBA:
		return c
	case color.NRGBA64:
		return color.NRGBA{uint8(c.R >> 8), uint8(c.G >> 8), uint8(c.B >> 8), uint8(c.A >> 8)}
	}
	return color.NRGBAModel.Convert(c).(color.NRGBA)
}

// mulDiv255 is PIL's rounded v*a/255 (its MULDIV255).
func mulDiv255(v, a uint8) uint8 {
	t := uint32(v)*uint32(a) + 128
	return uint8((t + t>>8) >> 8)
}

// unpremultipliedRGB is m, PIL's RGBa, as RGB with its alpha dropped (PIL's RGBa to RGBA, then
// to RGB).
func unpremultipliedRGB(m *pilImage) *pilImage {
	out := &pilImage{m.width, m.height, 3, make([]uint8, 0, m.width*m.height*3)}
	for i := 0; i < len(m.pix); i += 4 {
		a := uint32(m.pix[i+3])
		for c := range 3 {
			v := uint32(m.pix[i+c])
			if a != 0 && a != 255 {
				v = min(255*v/a, 255)
			}
			out.pix = append(out.pix, uint8(v))
		}
	}
	return out
}

// hasAlpha says whether img stores transparency (PIL's RGBA, LA, PA or P with transparency).
func hasAlpha(img image.Image) bool {
	switch m := img.(type) {
	case *image.NRGBA, *image.NRGBA64, *image.RGBA, *image.RGBA64, *image.NYCbCrA, *image.Alpha, *image.Alpha16:
		return true
	case *image.Paletted:
		for _, c := range m.Palette {
			if _, _, _, a := c.RGBA(); a != 0xffff {
				return true
			}
		}
	}
	return false
}
