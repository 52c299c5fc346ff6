package clipmodel

import (
	"encoding/json"
	"errors"
	"fmt"
	"image"
	_ "image/jpeg" // JPEG input images.
	_ "image/png"  // PNG input images.
	"io"
	"os"
	"path/filepath"

	"golang.org/x/image/draw"
)

// Preprocess is how images become the vision tower's input, as in preprocessor_config.json.
type Preprocess struct {
	// Size is the length the image's short side is resized to.
	Size int
	// CropSize is the side of the centre crop, the model's input size.
	CropSize int
	// Mean and Std normalise each RGB channel after scaling to [0, 1].
	Mean, Std []float64
}

// OpenAIMean and OpenAIStd are the normalisation constants all OpenAI CLIP models use.
var (
	OpenAIMean = []float64{0.48145466, 0.4578275, 0.40821073}
	OpenAIStd  = []float64{0.26862954, 0.26130258, 0.27577711}
)

// DefaultPreprocess is OpenAI's preprocessing for a model of the given input size.
func DefaultPreprocess(imageSize int) Preprocess {
	return Preprocess{Size: imageSize, CropSize: imageSize, Mean: OpenAIMean, Std: OpenAIStd}
}

// ReadPreprocess reads dir/preprocessor_config.json; without one, OpenAI's defaults for the
// model's image size apply.
func ReadPreprocess(dir string, imageSize int) (Preprocess, error) {
	path := filepath.Join(dir, "preprocessor_config.json")
	p := DefaultPreprocess(imageSize)
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return p, nil
	}
	if err != nil {
		return p, err
	}
	var raw struct {
		Size     json.RawMessage `json:"size"`
		CropSize json.RawMessage `json:"crop_size"`
		Mean     []float64       `json:"image_mean"`
		Std      []float64       `json:"image_std"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		return p, fmt.Errorf("%s: %w", path, err)
	}
	if p.Size, err = sizeField(raw.Size, "shortest_edge", p.Size); err != nil {
		return p, fmt.Errorf("%s: size: %w", path, err)
	}
	if p.CropSize, err = sizeField(raw.CropSize, "height", p.CropSize); err != nil {
		return p, fmt.Errorf("%s: crop_size: %w", path, err)
	}
	if raw.Mean != nil {
		p.Mean = raw.Mean
	}
	if raw.Std != nil {
		p.Std = raw.Std
	}
	if err := p.validate(imageSize); err != nil {
		return p, fmt.Errorf("%s: %w", path, err)
	}
	return p, nil
}

// sizeField reads a size that transformers writes either as a number or as an object.
func sizeField(raw json.RawMessage, key string, fallback int) (int, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return fallback, nil
	}
	var n int
	if json.Unmarshal(raw, &n) == nil {
		return n, nil
	}
	var obj map[string]int
	if err := json.Unmarshal(raw, &obj); err != nil {
		return 0, fmt.Errorf("want a number or {%q: n}", key)
	}
	if v, ok := obj[key]; ok {
		return v, nil
	}
	return fallback, nil
}

func (p Preprocess) validate(imageSize int) error {
	if len(p.Mean) != 3 || len(p.Std) != 3 {
		return fmt.Errorf("image_mean and image_std need 3 values (RGB), got %d and %d", len(p.Mean), len(p.Std))
	}
	for _, s := range p.Std {
		if s <= 0 {
			return fmt.Errorf("image_std values must be positive, got %v", p.Std)
		}
	}
	if p.CropSize != imageSize {
		return fmt.Errorf("crop_size %d differs from the model's image_size %d", p.CropSize, imageSize)
	}
	if p.Size < p.CropSize {
		return fmt.Errorf("size %d is smaller than crop_size %d", p.Size, p.CropSize)
	}
	return nil
}

// MaxImagePixels is the most pixels an image file may declare: LoadImage reads the header first
// and refuses larger ones before decoding (a 100-megapixel photo decodes into 400 MB or more).
const MaxImagePixels = 100_000_000

// CheckImageFile reads an image file's header as LoadImage does, without decoding it: it
// refuses what LoadImage would refuse for its header (no PNG or JPEG, a directory, more than
// MaxImagePixels pixels) with the same message.
func CheckImageFile(path string) error {
	f, err := openImage(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return checkImageHeader(f, path)
}

// openImage opens an image file, refusing a folder.
func openImage(path string) (*os.File, error) {
	if info, err := os.Stat(path); err == nil && info.IsDir() {
		return nil, fmt.Errorf("%s is a folder, not a PNG or JPEG image", path)
	}
	return os.Open(path)
}

// checkImageHeader reads an image's header from r and refuses what LoadImage cannot read.
func checkImageHeader(r io.Reader, path string) error {
	cfg, _, err := image.DecodeConfig(r)
	if err != nil {
		return fmt.Errorf("%s: not a readable PNG or JPEG image: %w", path, err)
	}
	if pixels := int64(cfg.Width) * int64(cfg.Height); pixels > MaxImagePixels {
		return fmt.Errorf("%s: the image is %dx%d, %d megapixels; clipwork reads images of at most %d megapixels: scale it down",
			path, cfg.Width, cfg.Height, pixels/1_000_000, MaxImagePixels/1_000_000)
	}
	return nil
}

// LoadImage decodes a PNG or JPEG file of at most MaxImagePixels pixels.
func LoadImage(path string) (image.Image, error) {
	f, err := openImage(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if err := checkImageHeader(f, path); err != nil {
		return nil, err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	img, _, err := image.Decode(f)
	if err != nil {
		return nil, fmt.Errorf("%s: not a readable PNG or JPEG image: %w", path, err)
	}
	return img, nil
}

// Pixels resizes img's short side to Size with a bicubic (Catmull-Rom, as PIL's BICUBIC) filter,
// crops the centre CropSize square and returns it as [CropSize*CropSize*3] RGB values in [0, 1],
// row-major: the input ImageFeatures expects (it normalises with Mean and Std itself).
func (p Preprocess) Pixels(img image.Image) []float32 {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	nw, nh := p.Size, p.Size
	if w <= h {
		nh = p.Size * h / w
	} else {
		nw = p.Size * w / h
	}
	resized := image.NewNRGBA(image.Rect(0, 0, nw, nh))
	draw.CatmullRom.Scale(resized, resized.Bounds(), img, b, draw.Src, nil)
	left, top := (nw-p.CropSize)/2, (nh-p.CropSize)/2
	out := make([]float32, 0, p.CropSize*p.CropSize*3)
	for y := top; y < top+p.CropSize; y++ {
		for x := left; x < left+p.CropSize; x++ {
			c := resized.NRGBAAt(x, y)
			out = append(out, float32(c.R)/255, float32(c.G)/255, float32(c.B)/255)
		}
	}
	return out
}

// RGB is an opaque image's pixels as [height*width*3] values in [0, 1], row-major.
func RGB(img image.Image) []float32 {
	b := img.Bounds()
	out := make([]float32, 0, b.Dx()*b.Dy()*3)
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			out = append(out, float32(r)/0xffff, float32(g)/0xffff, float32(bl)/0xffff)
		}
	}
	return out
}
