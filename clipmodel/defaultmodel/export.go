package defaultmodel

import (
	"image"

	"github.com/clipwork/clipwork/clipmodel"
)

// Export writes a trained model in HuggingFace CLIPModel layout with F16 weights, the form
// that is embedded in clipwork.
func Export(m *clipmodel.Model, dir string) error {
	weights, err := clipmodel.StoreWeights(m.Config, m.Store)
	if err != nil {
		return err
	}
	return clipmodel.WriteFolder(dir, m.Config, weights, m.Tokenizer, m.Preprocess, "F16")
}

// imagePixels is an image as [h*w*3] RGB values in [0, 1].
func imagePixels(img *image.NRGBA) []float32 {
	b := img.Bounds()
	out := make([]float32, 0, b.Dx()*b.Dy()*3)
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			c := img.NRGBAAt(x, y)
			out = append(out, float32(c.R)/255, float32(c.G)/255, float32(c.B)/255)
		}
	}
	return out
}
