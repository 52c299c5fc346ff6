package workbench

import (
	"math"
	"math/rand/v2"
	"testing"

	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // GoMLX graph code reads best with the dot import.
	"github.com/gomlx/gomlx/core/tensors"
)

// TestFFTParamRoundTrip encodes an image into the Fourier parameterisation and renders it back.
func TestFFTParamRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for _, size := range [][2]int{{12, 10}, {16, 16}} {
		w, h := size[0], size[1]
		img := randomImage(rng, h, w, 3)
		for i := range img {
			img[i] = 0.05 + 0.9*img[i]
		}
		p := fftParam{decay: 1}
		got := run1(t, func(in []*Node) *Node { return p.render(p.encode(in[0])) },
			tensors.FromFlatDataAndDimensions(img, h, w, 3))
		for i := range img {
			if math.Abs(float64(got[i]-img[i])) > 1e-4 {
				t.Fatalf("%dx%d: value %d came back as %g, was %g", w, h, i, got[i], img[i])
			}
		}
	}
}

// TestFFTParamIsSmoothAtInit checks the 1/f scaling: random spectrum parameters render to an
// image whose neighbouring pixels are more alike than with a flat spectrum (decay 0, white noise).
func TestFFTParamIsSmoothAtInit(t *testing.T) {
	roughness := func(decay float64) float64 {
		rng := rand.New(rand.NewPCG(9, 10))
		const w, h = 32, 32
		p := fftParam{decay: decay}
		params := make([]float32, 2*3*h*(w/2+1))
		for i := range params {
			params[i] = float32(rng.NormFloat64() * 0.01)
		}
		img := run1(t, func(in []*Node) *Node { return p.render(in[0]) },
			tensors.FromFlatDataAndDimensions(params, 2, 3, h, w/2+1))
		var neighbour, spread, mean float64
		for _, v := range img {
			mean += float64(v) / float64(len(img))
		}
		for y := range h {
			for x := range w - 1 {
				i := (y*w + x) * 3
				neighbour += math.Abs(float64(img[i] - img[i+3]))
				spread += math.Abs(float64(img[i]) - mean)
			}
		}
		return neighbour / spread
	}
	white, pink := roughness(0), roughness(1)
	if pink > 0.7*white {
		t.Errorf("1/f spectrum roughness %.3f is not clearly below white noise's %.3f", pink, white)
	}
}

// TestFFTParamMatchesLucidsScale checks the spectrum-to-image scale against lucid's fft_image
// (scale by 1/max(f, 1/max(w, h))^decay and sqrt(w*h), inverse real FFT normalised by 1/(w*h),
// divide by 4): a unit DC coefficient in the first colour component gives every pixel
// sigmoid(M[d][0] * max(w, h) / (4 sqrt(w*h))), M the colour matrix.
func TestFFTParamMatchesLucidsScale(t *testing.T) {
	const w, h = 16, 8
	params := make([]float32, 2*3*h*(w/2+1))
	params[0] = 1 // real part, colour component 0, ky = kx = 0
	p := fftParam{decay: 1}
	img := run1(t, func(in []*Node) *Node { return p.render(in[0]) },
		tensors.FromFlatDataAndDimensions(params, 2, 3, h, w/2+1))
	spatial := float64(max(w, h)) / (4 * math.Sqrt(w*h))
	for d := range 3 {
		want := 1 / (1 + math.Exp(-colorCorrelation[d][0]*spatial))
		for i := d; i < len(img); i += 3 {
			if math.Abs(float64(img[i])-want) > 1e-5 {
				t.Fatalf("pixel value %d is %.6f, lucid's scale gives %.6f", i, img[i], want)
			}
		}
	}
}
