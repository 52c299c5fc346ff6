package workbench

import (
	"fmt"
	"image"
	"math"
	"math/rand/v2"
	"slices"
	"strings"

	"github.com/clipwork/clipwork/clipmodel"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // GoMLX graph code reads best with the dot import.
	"github.com/gomlx/gomlx/core/tensors"
)

// initialize draws the starting image and zeroes the optimiser's state. The start is drawn at
// the init's resolution (or the image's), mapped by the init's mean and std, resized to the
// image's size (as torch resizes CLIPig's tensor, see interpolate) and only then clamped, as
// CLIPig does: clamped first, values beyond [0, 1] (large noise, a std that stretches an image)
// would lose their excess before the resize blends them.
func (r *Run) initialize() error {
	width, height := r.width, r.height
	if res := r.exp.Init.Resolution; res[0] > 0 {
		width, height = res[0], res[1]
	}
	var pixels []float32
	if r.exp.Init.Image != "" {
		img, err := clipmodel.LoadImage(r.exp.Init.Image)
		if err != nil {
			return fmt.Errorf("init image: %w", err)
		}
		pixels = coverCrop(img, width, height)
		if in := r.exp.Init; in.Mean != [3]float64{} || in.Std != [3]float64{} {
			scalePixels(pixels, in.Mean, in.Std)
		}
	} else {
		pixels = r.noise(width, height)
	}
	if width != r.width || height != r.height {
		pixels = interpolate(pixels, width, height, r.width, r.height, "cubic")
	}
	return r.setImage(pixels)
}

// coverCrop is CLIPig's resize_crop of an initial image, [height*width*3]: scaled as torch
// resizes its tensor (bicubic, see interpolate), keeping its aspect, so that its shorter side
// is the longer of width and height, then cut to width x height in the middle (where
// torchvision's center_crop cuts, half the excess rounded to even). Only the crop is computed.
func coverCrop(img image.Image, width, height int) []float32 {
	w, h := img.Bounds().Dx(), img.Bounds().Dy()
	pixels := clipmodel.RGB(img)
	if w == width && h == height {
		return pixels
	}
	scaledW, scaledH := coverSize(w, h, width, height)
	x := int(math.RoundToEven(float64(scaledW-width) / 2))
	y := int(math.RoundToEven(float64(scaledH-height) / 2))
	return interpolateWindow(pixels, w, h, scaledW, scaledH, image.Rect(x, y, x+width, y+height), "cubic")
}

// coverSize is the size coverCrop scales an image of w x h to, to cover width x height.
func coverSize(w, h, width, height int) (int, int) {
	factor := float64(max(width, height)) / float64(min(w, h))
	return max(int(float64(w)*factor), width), max(int(float64(h)*factor), height)
}

// scalePixels maps every pixel value p of channel c to p*std[c] + mean[c], unclamped.
func scalePixels(pixels []float32, mean, std [3]float64) {
	for i := range pixels {
		pixels[i] = float32(float64(pixels[i])*std[i%3] + mean[i%3])
	}
}

// noise is Gaussian noise of the init's mean and std per channel, [height*width*3], unclamped.
func (r *Run) noise(width, height int) []float32 {
	rng := rand.New(rand.NewPCG(r.exp.Seed, ^uint64(0)))
	pixels := make([]float32, width*height*3)
	for i := range pixels {
		pixels[i] = float32(r.exp.Init.Mean[i%3] + rng.NormFloat64()*r.exp.Init.Std[i%3])
	}
	return pixels
}

// resize carries the image over to a new resolution; the optimiser starts afresh there.
func (r *Run) resize(width, height int) error {
	if !slices.Contains(Interpolations, r.exp.Interpolation) { // Validate samples the sizes, and so can miss a change at one step
		return fmt.Errorf("the resolution changes to %dx%d here, and interpolation %q is not one of %s",
			width, height, r.exp.Interpolation, strings.Join(Interpolations, ", "))
	}
	pixels, err := r.renderPixels()
	if err != nil {
		return err
	}
	resized := interpolate(pixels, r.width, r.height, width, height, r.exp.Interpolation)
	r.width, r.height = width, height
	return r.setImage(resized)
}

// setImage encodes pixels [h*w*3] of the current size, clamped to [0, 1] (in place), into
// parameters and zeroes the optimiser's moments.
func (r *Run) setImage(pixels []float32) error {
	for i, v := range pixels {
		pixels[i] = min(max(v, 0), 1)
	}
	encode, err := NewExec(r.model.Backend, func(pixels *Node) *Node {
		return r.param.encode(pixels)
	})
	if err != nil {
		return err
	}
	out, err := encode.Exec(tensors.FromFlatDataAndDimensions(pixels, r.height, r.width, 3))
	if err != nil {
		return fmt.Errorf("encoding the image: %w", err)
	}
	r.params = out[0]
	shape := r.param.shape(r.width, r.height)
	r.moments, r.updates = make([]*tensors.Tensor, len(r.optimizer().Moments)), 0
	for i := range r.moments {
		r.moments[i] = tensors.FromShape(shape)
	}
	return nil
}
