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

// webpRGB is a lossy WebP's pixels as libwebp (PIL's decoder) outputs them: m is VP8's
// limited-range YCbCr as Go decodes it (Go's image.YCbCr would take it for JPEG's full range:
// white reads 235), turned to RGB by libwebp's fancy upsampler (UpsampleRgbLinePair) and
// VP8YUVToRGB; alpha, where the file has it, beside (nil without). An opaque image is an RGBA,
// one with alpha an NRGBA.
func webpRGB(m *image.YCbCr, alpha []uint8) image.Image {
	w, h := m.Rect.Dx(), m.Rect.Dy()
	pix := make([]uint8, w*h*4)
	chroma := func(plane []uint8, x, y int) uint32 { return uint32(plane[y*m.CStride+x]) }
	uv := func(x, y int) uint32 { return chroma(m.Cb, x, y) | chroma(m.Cr, x, y)<<16 }
	// Output rows come in pairs (2k-1, 2k) between chroma rows k-1 and k; the first row and an
	// even height's last row see one chroma row.
	for k := 0; 2*k-1 < h; k++ {
		rows := [2]int{2*k - 1, 2 * k}
		upsamplePair(w, uv, max(k-1, 0), min(k, (h+1)/2-1), func(x, which int, v uint32) {
			if y := rows[which]; y >= 0 && y < h {
				r, g, b := webpColour(int(m.Y[y*m.YStride+x]), int(v&0xff), int(v>>16))
				a := uint8(255)
				if alpha != nil {
					a = alpha[y*w+x]
				}
				copy(pix[(y*w+x)*4:], []uint8{r, g, b, a})
			}
		})
	}
	if alpha == nil {
		return &image.RGBA{Pix: pix, Stride: 4 * w, Rect: image.Rect(0, 0, w, h)}
	}
	return &image.NRGBA{Pix: pix, Stride: 4 * w, Rect: image.Rect(0, 0, w, h)}
}

// upsamplePair is libwebp's UpsampleRgbLinePair for one pair of rows of width w between chroma
// rows top and bottom (uv reads a sample): put gets each pixel's chroma, for row 0 (nearer top)
// or 1 (nearer bottom).
func upsamplePair(w int, uv func(x, y int) uint32, top, bottom int, put func(x, which int, v uint32)) {
	tl, l := uv(0, top), uv(0, bottom)
	put(0, 0, (3*tl+l+0x00020002)>>2)
	put(0, 1, (3*l+tl+0x00020002)>>2)
	for x := 1; x <= (w-1)>>1; x++ {
		t, c := uv(x, top), uv(x, bottom)
		avg := tl + t + l + c + 0x00080008
		diag12, diag03 := (avg+2*(t+l))>>3, (avg+2*(tl+c))>>3
		put(2*x-1, 0, (diag12+tl)>>1)
		put(2*x, 0, (diag03+t)>>1)
		put(2*x-1, 1, (diag03+l)>>1)
		put(2*x, 1, (diag12+c)>>1)
		tl, l = t, c
	}
	if w&1 == 0 {
		put(w-1, 0, (3*tl+l+0x00020002)>>2)
		put(w-1, 1, (3*l+tl+0x00020002)>>2)
	}
}

// webpColour is libwebp's VP8YUVToRGB: 14-bit factors (MultHi), clipped at 6 bits of fraction.
func webpColour(y, u, v int) (r, g, b uint8) {
	multHi := func(v, coeff int) int { return (v * coeff) >> 8 }
	clip := func(v int) uint8 {
		if v&^((256<<6)-1) == 0 {
			return uint8(v >> 6)
		}
		if v < 0 {
			return 0
		}
		return 255
	}
	return clip(multHi(y, 19077) + multHi(v, 26149) - 14234), clip(multHi(y, 19077) - multHi(u, 6419) - multHi(v, 13320) + 8708),
		clip(multHi(y, 19077) + multHi(u, 33050) - 17685)
}
