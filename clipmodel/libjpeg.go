package clipmodel

import "image"

// PIL decodes JPEGs with libjpeg, which interpolates subsampled chroma ("fancy upsampling", a
// triangle filter) and converts YCbCr to RGB with its own fixed-point tables; Go's image/jpeg
// repeats each chroma sample and rounds its conversion otherwise, which puts colour edges of
// a 4:2:0 JPEG (most photos) tens of levels from PIL's. libjpegRGB redoes those two steps as
// libjpeg does (jdsample.c, jdcolor.c) on the planes Go decoded; the inverse DCTs still differ
// by a level or two.

// libjpegRGB is m's pixels as libjpeg outputs RGB, or nil for a layout libjpegRGB does not
// follow (chroma subsampled other than 4:4:4, 4:2:2 and 4:2:0, or not at the origin).
func libjpegRGB(m *image.YCbCr) *pilImage {
	if m.Rect.Min != (image.Point{}) {
		return nil
	}
	var upsample func(plane []uint8, x, y int) int
	cw, ch := m.Rect.Dx(), m.Rect.Dy() // the chroma samples that cover the image
	switch ratio := m.SubsampleRatio; {
	case ratio == image.YCbCrSubsampleRatio444:
		upsample = func(plane []uint8, x, y int) int { return int(plane[y*m.CStride+x]) }
	case (ratio == image.YCbCrSubsampleRatio422 || ratio == image.YCbCrSubsampleRatio420) && cw <= 4:
		// libjpeg interpolates only more than 2 chroma samples a row (jinit_upsampler); fewer it repeats
		upsample = func(plane []uint8, x, y int) int { return int(plane[m.COffset(x, y)-m.COffset(0, 0)]) }
	case ratio == image.YCbCrSubsampleRatio422:
		cw = (cw + 1) / 2
		upsample = func(plane []uint8, x, y int) int { return fancy422(plane[y*m.CStride:][:cw], x) }
	case ratio == image.YCbCrSubsampleRatio420:
		cw, ch = (cw+1)/2, (ch+1)/2
		upsample = func(plane []uint8, x, y int) int { return fancy420(plane, m.CStride, cw, ch, x, y) }
	default:
		return nil
	}
	out := &pilImage{m.Rect.Dx(), m.Rect.Dy(), 3, make([]uint8, 0, m.Rect.Dx()*m.Rect.Dy()*3)}
	for y := range out.height {
		for x := range out.width {
			r, g, b := libjpegColour(int(m.Y[y*m.YStride+x]), upsample(m.Cb, x, y), upsample(m.Cr, x, y))
			out.pix = append(out.pix, r, g, b)
		}
	}
	return out
}

// fancy422 is libjpeg's h2v1_fancy_upsample at column x of a row of n chroma samples: 3/4 of
// the nearer sample and 1/4 of the next, the row's ends repeated.
func fancy422(row []uint8, x int) int {
	i := x / 2
	if x%2 == 0 {
		return (3*int(row[i]) + int(row[max(i-1, 0)]) + 1) >> 2
	}
	return (3*int(row[i]) + int(row[min(i+1, len(row)-1)]) + 2) >> 2
}

// fancy420 is libjpeg's h2v2_fancy_upsample at pixel (x, y) of a plane of w x h chroma samples
// (stride apart): 3/4 of the nearer row and 1/4 of the next in each direction (9/16, 3/16,
// 3/16, 1/16), the plane's edges repeated.
func fancy420(plane []uint8, stride, w, h, x, y int) int {
	row, other := y/2, min(y/2+1, h-1)
	if y%2 == 0 {
		other = max(y/2-1, 0)
	}
	columnSum := func(i int) int { return 3*int(plane[row*stride+i]) + int(plane[other*stride+i]) }
	i := x / 2
	if x%2 == 0 {
		return (3*columnSum(i) + columnSum(max(i-1, 0)) + 8) >> 4
	}
	return (3*columnSum(i) + columnSum(min(i+1, w-1)) + 7) >> 4
}

// libjpegColour is libjpeg's ycc_rgb_convert of one pixel: 16-bit fixed-point factors, the red
// and blue terms rounded alone, the green sum rounded once, each result clamped.
func libjpegColour(y, cb, cr int) (r, g, b uint8) {
	const bits = 16
	fix := func(f float64) int { return int(f*(1<<bits) + 0.5) }
	half := 1 << (bits - 1)
	cb, cr = cb-128, cr-128
	clamp := func(v int) uint8 { return uint8(min(max(v, 0), 255)) }
	r = clamp(y + (fix(1.40200)*cr+half)>>bits)
	g = clamp(y + (-fix(0.34414)*cb-fix(0.71414)*cr+half)>>bits)
	b = clamp(y + (fix(1.77200)*cb+half)>>bits)
	return r, g, b
}
