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

// pilCoefficients are the taps of out pixels lo to hi-1 of out resampled from in along one
// axis, as Pillow's precompute_coeffs and normalize_coeffs_8bpc compute them.
func pilCoefficients(in, out, lo, hi int, f pilFilter) []pilTaps {
	scale := float64(in) / float64(out)
	filterScale := max(scale, 1)
	support := f.support * filterScale
	taps := make([]pilTaps, hi-lo)
	for i := range taps {
		centre := (float64(lo+i) + 0.5) * scale
		first := max(int(centre-support+0.5), 0) // C's truncating conversions
		last := min(int(centre+support+0.5), in)
		weights := make([]float64, last-first)
		total := 0.0
		for j := range weights {
			weights[j] = f.weight((float64(j+first) - centre + 0.5) / filterScale)
			total += weights[j]
		}
		fixed := make([]int32, len(weights))
		for j, w := range weights {
			if total != 0 {
				w /= total
			}
			fixed[j] = int32(w*(1<<pilPrecisionBits) + math.Copysign(0.5, w))
		}
		taps[i] = pilTaps{first, fixed}
	}
	return taps
}

// apply is the taps' weighted sum of pix[(first-offset)*stride], the next stride on, ...,
// rounded to a level as PIL rounds (clip8).
func (t pilTaps) apply(pix []uint8, stride, offset int) uint8 {
	sum := int64(1) << (pilPrecisionBits - 1)
	for j, w := range t.weights {
		sum += int64(pix[(t.first-offset+j)*stride]) * int64(w)
	}
	return uint8(min(max(sum>>pilPrecisionBits, 0), 255))
}

// pilImage is an 8-bit image of channels values per pixel, row-major, as PIL holds one.
type pilImage struct {
	width, height, channels int
	pix                     []uint8
}

// pilResample is the window of m resized to width x height with filter f, as PIL's
// Image.resize resizes 8-bit modes (L, RGB, and RGBa, premultiplied): a horizontal pass, then a
// vertical one, each only where the size changes along it. Only the window is computed (from
// the rows and columns it needs), so that a long image resized for its middle costs the
// middle's pixels alone.
func pilResample(m *pilImage, width, height int, window image.Rectangle, f pilFilter) *pilImage {
	var rowTaps []pilTaps
	firstRow, endRow := window.Min.Y, window.Max.Y // the rows of m the window needs
	if height != m.height {
		rowTaps = pilCoefficients(m.height, height, window.Min.Y, window.Max.Y, f)
		firstRow, endRow = m.height, 0
		for _, t := range rowTaps {
			firstRow, endRow = min(firstRow, t.first), max(endRow, t.first+len(t.weights))
		}
	}
	rows := m.rowsAcross(firstRow, endRow, width, window.Min.X, window.Max.X, f)
	if rowTaps == nil {
		return rows
	}
	out := &pilImage{rows.width, len(rowTaps), m.channels, make([]uint8, rows.width*len(rowTaps)*m.channels)}
	rowLength := rows.width * m.channels
	for y, t := range rowTaps {
		for i := range rowLength {
			out.pix[y*rowLength+i] = t.apply(rows.pix[i:], rowLength, firstRow)
		}
	}
	return out
}

// rowsAcross is rows firstRow to endRow-1 of m, columns lo to hi-1 of m resized to width
// (PIL's horizontal pass, or the columns themselves where the width stays).
func (m *pilImage) rowsAcross(firstRow, endRow, width, lo, hi int, f pilFilter) *pilImage {
	c := m.channels
	out := &pilImage{hi - lo, endRow - firstRow, c, make([]uint8, 0, (hi-lo)*(endRow-firstRow)*c)}
	var taps []pilTaps
	if width != m.width {
		taps = pilCoefficients(m.width, width, lo, hi, f)
	}
	for y := firstRow; y < endRow; y++ {
		row := m.pix[y*m.width*c : (y+1)*m.width*c]
		if taps == nil {
			out.pix = append(out.pix, row[lo*c:hi*c]...)
			continue
		}
		for _, t := range taps {
			for channel := range c {
				out.pix = append(out.pix, t.apply(row[channel:], c, 0))
			}
		}
	}
	return out
}

// pilNearest is the window of m resized to width x height as PIL's NEAREST resizes (its affine
// scaling): each output pixel takes the source pixel at a position PIL accumulates in floats,
// step by step, whose rounding can pick the next pixel where the exact one lies on a border.
func pilNearest(m *pilImage, width, height int, window image.Rectangle) *pilImage {
	columns := pilNearestIndices(m.width, width, window.Min.X, window.Max.X)
	rows := pilNearestIndices(m.height, height, window.Min.Y, window.Max.Y)
	c := m.channels
	out := &pilImage{len(columns), len(rows), c, make([]uint8, 0, len(columns)*len(rows)*c)}
	for _, sy := range rows {
		for _, sx := range columns {
			out.pix = append(out.pix, m.pix[(sy*m.width+sx)*c:][:c]...)
		}
	}
	return out
}

// pilNearestIndices are the source indices of outputs lo to hi-1 of out taken from in, as
// Pillow's ImagingScaleAffine computes them: a position starting at half a step and growing by
// a step (in/out) each output, truncated.
func pilNearestIndices(in, out, lo, hi int) []int {
	step := float64(in) / float64(out)
	position := step * 0.5
	indices := make([]int, 0, hi-lo)
	for i := range hi {
		if i >= lo {
			indices = append(indices, min(max(int(position), 0), in-1))
		}
		position += step
	}
	return indices
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
	opaqueRGBA := false
	if m, ok := img.(*image.RGBA); ok {
		opaqueRGBA = m.Opaque() // premultiplied colours are straight only where opaque
	}
	for y := b.Min.Y; y < b.Max.Y; y++ {
		switch m := img.(type) { // the common layouts read directly (At costs an allocation a pixel)
		case *image.NRGBA:
			out.pix = appendRGB(out.pix, m.Pix[m.PixOffset(b.Min.X, y):][:4*b.Dx()], 4)
		case *image.RGBA:
			if !opaqueRGBA {
				out.pix = appendStraight(out.pix, img, y)
				continue
			}
			out.pix = appendRGB(out.pix, m.Pix[m.PixOffset(b.Min.X, y):][:4*b.Dx()], 4)
		case *image.Gray:
			for _, v := range m.Pix[m.PixOffset(b.Min.X, y):][:b.Dx()] {
				out.pix = append(out.pix, v, v, v)
			}
		default:
			out.pix = appendStraight(out.pix, img, y)
		}
	}
	return out
}

// appendRGB appends the first three of every step values of row.
func appendRGB(pix, row []uint8, step int) []uint8 {
	for i := 0; i+2 < len(row); i += step {
		pix = append(pix, row[i], row[i+1], row[i+2])
	}
	return pix
}

// appendStraight appends row y of img as straight (not premultiplied) RGB.
func appendStraight(pix []uint8, img image.Image, y int) []uint8 {
	b := img.Bounds()
	for x := b.Min.X; x < b.Max.X; x++ {
		c := straightColour(img.At(x, y))
		pix = append(pix, c.R, c.G, c.B)
	}
	return pix
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
	case *image.RGBA: // how Go decodes an opaque RGB PNG too
		return !m.Opaque()
	case *image.NRGBA, *image.NRGBA64, *image.RGBA64, *image.NYCbCrA, *image.Alpha, *image.Alpha16:
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
