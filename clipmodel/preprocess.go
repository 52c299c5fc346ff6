package clipmodel

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/gif"
	_ "image/jpeg" // JPEG input images.
	_ "image/png"  // PNG input images.
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"

	_ "golang.org/x/image/bmp"  // BMP input images.
	_ "golang.org/x/image/tiff" // TIFF input images.
	_ "golang.org/x/image/webp" // WebP input images.
)

// imageFormats are the image formats clipwork reads, for messages.
const imageFormats = "PNG, JPEG, GIF, BMP, TIFF or WebP"

// Preprocess is how images become the vision tower's input, as in preprocessor_config.json.
type Preprocess struct {
	// Size is the length the image's short side is resized to.
	Size int
	// Width and Height, when set, stretch the image to exactly this size instead, without keeping
	// its aspect (HuggingFace's size {"height", "width"}, open_clip's resize_mode "squash").
	Width, Height int
	// NoResize keeps the image's size (HuggingFace's do_resize false); the crop then pads with
	// black where the image is smaller, as transformers does.
	NoResize bool
	// Bilinear resizes with PIL's BILINEAR filter rather than its BICUBIC one.
	Bilinear bool
	// CropSize is the side of the centre crop, the model's input size.
	CropSize int
	// Torchvision follows the torchvision pipeline of OpenAI's clip.load and open_clip rather
	// than HuggingFace's CLIPImageProcessor: it resizes an image with transparency as it is (PIL
	// blending by alpha) and drops the alpha after, where transformers drops it first and keeps
	// the colours under transparent pixels; it resizes a palette image by nearest neighbour (PIL's
	// rule for palettes); and its CenterCrop starts at round((side - CropSize) / 2) with halves to
	// even, where transformers floors it.
	Torchvision bool
	// Mean and Std normalise each RGB channel after scaling to [0, 1].
	Mean, Std []float64
}

// Stretched is p resizing the whole image to the model's input, ignoring its aspect ratio,
// where p would crop it.
func (p Preprocess) Stretched() Preprocess {
	p.Width, p.Height, p.NoResize = p.CropSize, p.CropSize, false
	return p
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

// hfPreprocessorConfig is what clipwork reads of a HuggingFace preprocessor_config.json
// (CLIPImageProcessor's fields).
type hfPreprocessorConfig struct {
	Size          json.RawMessage `json:"size"`
	CropSize      json.RawMessage `json:"crop_size"`
	Mean          []float64       `json:"image_mean"`
	Std           []float64       `json:"image_std"`
	DoResize      *bool           `json:"do_resize"`
	DoCenterCrop  *bool           `json:"do_center_crop"`
	DoRescale     *bool           `json:"do_rescale"`
	DoNormalize   *bool           `json:"do_normalize"`
	RescaleFactor *float64        `json:"rescale_factor"`
	Resample      *int            `json:"resample"`
}

// PIL's resampling filters, as preprocessor_config.json's resample names them.
const (
	pilBilinear = 2
	pilBicubic  = 3
)

// ReadPreprocess reads dir/preprocessor_config.json; without one, OpenAI's defaults for the
// model's image size apply. It follows CLIPImageProcessor: size (shortest_edge, or height and
// width to stretch to), crop_size, resample (bicubic or bilinear), do_resize, do_center_crop,
// do_rescale, rescale_factor, do_normalize, image_mean and image_std; what clipwork cannot do
// is an error naming the field.
func ReadPreprocess(dir string, imageSize int) (Preprocess, error) {
	path := filepath.Join(dir, "preprocessor_config.json")
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return DefaultPreprocess(imageSize), nil
	}
	if err != nil {
		return Preprocess{}, err
	}
	var raw hfPreprocessorConfig
	if err := json.Unmarshal(data, &raw); err != nil {
		return Preprocess{}, fmt.Errorf("%s: %w", path, err)
	}
	p, err := raw.preprocess(imageSize)
	if err != nil {
		return Preprocess{}, fmt.Errorf("%s: %w", path, err)
	}
	return p, nil
}

// preprocess turns the fields into clipwork's preprocessing for a model of the given input size.
func (c hfPreprocessorConfig) preprocess(imageSize int) (Preprocess, error) {
	p := DefaultPreprocess(imageSize)
	if err := c.readResize(&p); err != nil {
		return p, err
	}
	if err := c.readCrop(&p, imageSize); err != nil {
		return p, err
	}
	if c.Mean != nil {
		p.Mean = c.Mean
	}
	if c.Std != nil {
		p.Std = c.Std
	}
	if err := p.validate(imageSize); err != nil {
		return p, err
	}
	return c.rescaled(p)
}

func isFalse(b *bool) bool {
	return b != nil && !*b
}

// readResize reads do_resize, resample and size.
func (c hfPreprocessorConfig) readResize(p *Preprocess) error {
	if isFalse(c.DoResize) {
		p.NoResize = true
		return nil
	}
	if c.Resample != nil {
		switch *c.Resample {
		case pilBicubic:
		case pilBilinear:
			p.Bilinear = true
		default:
			return fmt.Errorf("resample %d is not supported: clipwork resizes with PIL's BICUBIC (3) or BILINEAR (2); "+
				"set resample to one of them", *c.Resample)
		}
	}
	raw := c.Size
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	if json.Unmarshal(raw, &p.Size) == nil {
		return nil
	}
	var obj map[string]int
	if err := json.Unmarshal(raw, &obj); err == nil {
		short, hasShort := obj["shortest_edge"]
		h, hasH := obj["height"]
		w, hasW := obj["width"]
		switch {
		case hasShort && len(obj) == 1:
			p.Size = short
			return nil
		case hasH && hasW && len(obj) == 2:
			p.Height, p.Width = h, w
			return nil
		}
	}
	return fmt.Errorf(`size %s is not supported: clipwork reads a number, {"shortest_edge": n} or {"height": h, "width": w}`, raw)
}

// readCrop reads do_center_crop and crop_size.
func (c hfPreprocessorConfig) readCrop(p *Preprocess, imageSize int) error {
	if isFalse(c.DoCenterCrop) {
		if p.NoResize || p.Width != imageSize || p.Height != imageSize {
			return fmt.Errorf(`do_center_crop is false, so the resized image is the model's input: clipwork then needs `+
				`do_resize true and size {"height": %d, "width": %d} (the model's image_size)`, imageSize, imageSize)
		}
		return nil // The stretched image is the crop.
	}
	raw := c.CropSize
	if len(raw) == 0 || string(raw) == "null" || json.Unmarshal(raw, &p.CropSize) == nil {
		return nil
	}
	var obj struct{ Height, Width *int }
	if err := json.Unmarshal(raw, &obj); err != nil || obj.Height == nil && obj.Width == nil {
		return fmt.Errorf(`crop_size %s: want a number or {"height": n, "width": n}`, raw)
	}
	if obj.Height != nil && obj.Width != nil && *obj.Height != *obj.Width {
		return fmt.Errorf("crop_size %s is not square: the model's input is %d x %d", raw, imageSize, imageSize)
	}
	if obj.Height != nil {
		p.CropSize = *obj.Height
	} else {
		p.CropSize = *obj.Width
	}
	return nil
}

// rescaled folds do_rescale, rescale_factor and do_normalize into Mean and Std, which apply to
// pixels in [0, 1]: transformers computes (v*factor - mean) / std from values v in 0..255, which
// is (v/255 - mean/k) / (std/k) with k = 255*factor.
func (c hfPreprocessorConfig) rescaled(p Preprocess) (Preprocess, error) {
	factor := 1.0 / 255
	if c.RescaleFactor != nil {
		factor = *c.RescaleFactor
	}
	if isFalse(c.DoRescale) {
		factor = 1
	}
	if !(factor > 0) || math.IsInf(factor, 0) {
		return p, fmt.Errorf("rescale_factor %g must be a positive number (transformers' default is 1/255)", factor)
	}
	if isFalse(c.DoNormalize) {
		p.Mean, p.Std = []float64{0, 0, 0}, []float64{1, 1, 1}
	}
	k := 255 * factor
	mean, std := make([]float64, 3), make([]float64, 3)
	for i := range 3 {
		mean[i], std[i] = p.Mean[i]/k, p.Std[i]/k
	}
	p.Mean, p.Std = mean, std
	return p, nil
}

func (p Preprocess) validate(imageSize int) error {
	if len(p.Mean) != 3 || len(p.Std) != 3 {
		return fmt.Errorf("image_mean and image_std need 3 values (RGB), got %d and %d", len(p.Mean), len(p.Std))
	}
	for _, s := range p.Std {
		if !(s > 0) {
			return fmt.Errorf("image_std values must be positive, got %v", p.Std)
		}
	}
	if p.CropSize != imageSize {
		return fmt.Errorf("crop_size %d differs from the model's image_size %d", p.CropSize, imageSize)
	}
	switch {
	case p.NoResize:
	case p.Width > 0 || p.Height > 0:
		if min(p.Width, p.Height) < p.CropSize {
			return fmt.Errorf("size %dx%d is smaller than crop_size %d", p.Width, p.Height, p.CropSize)
		}
	case p.Size < p.CropSize:
		return fmt.Errorf("size %d is smaller than crop_size %d", p.Size, p.CropSize)
	}
	return nil
}

// MaxImagePixels is the most pixels an image file may declare: LoadImage reads the header first
// and refuses larger ones before decoding (a 100-megapixel photo decodes into 400 MB or more).
const MaxImagePixels = 100_000_000

// CheckImageFile reads an image file's header as LoadImage does, without decoding it: it
// refuses what LoadImage would refuse for its header (no image of imageFormats, a directory, more than
// MaxImagePixels pixels) with the same message.
func CheckImageFile(path string) error {
	_, err := ImageFileSize(path)
	return err
}

// ImageFileSize is an image file's width and height from its header, after CheckImageFile's
// checks.
func ImageFileSize(path string) (image.Point, error) {
	f, err := openImage(path)
	if err != nil {
		return image.Point{}, err
	}
	defer f.Close()
	cfg, err := imageHeader(f, path)
	return image.Pt(cfg.Width, cfg.Height), err
}

// openImage opens an image file, refusing a folder; an http(s) address is downloaded into the
// cache first (see FetchImage).
func openImage(path string) (*os.File, error) {
	if IsURL(path) {
		cached, err := FetchImage(path)
		if err != nil {
			return nil, err
		}
		path = cached
	}
	if info, err := os.Stat(path); err == nil && info.IsDir() {
		return nil, fmt.Errorf("%s is a folder, not an image (%s)", path, imageFormats)
	}
	return os.Open(path)
}

// imageHeader reads an image's header from r and refuses what LoadImage cannot read.
func imageHeader(r io.Reader, path string) (image.Config, error) {
	cfg, _, err := image.DecodeConfig(r)
	if err != nil {
		return cfg, fmt.Errorf("%s: not a readable image (%s): %w", path, imageFormats, err)
	}
	if pixels := int64(cfg.Width) * int64(cfg.Height); pixels > MaxImagePixels {
		return cfg, fmt.Errorf("%s: the image is %dx%d, %.2f megapixels; clipwork reads images of at most %d megapixels: scale it down",
			path, cfg.Width, cfg.Height, float64(pixels)/1e6, MaxImagePixels/1_000_000)
	}
	return cfg, nil
}

// LoadImage decodes an image file (PNG, JPEG, GIF, BMP, TIFF or WebP) of at most
// MaxImagePixels pixels.
func LoadImage(path string) (image.Image, error) {
	f, err := openImage(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if _, err := imageHeader(f, path); err != nil {
		return nil, err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	img, format, err := image.Decode(f)
	if err != nil {
		return nil, fmt.Errorf("%s: not a readable image (%s): %w", path, imageFormats, err)
	}
	switch m := img.(type) {
	case *image.YCbCr:
		if format == "webp" && m.SubsampleRatio == image.YCbCrSubsampleRatio420 && m.Rect.Min == (image.Point{}) {
			img = webpRGB(m, nil)
		}
	case *image.NYCbCrA:
		if format == "webp" && m.SubsampleRatio == image.YCbCrSubsampleRatio420 && m.Rect.Min == (image.Point{}) &&
			m.AStride == m.Rect.Dx() {
			img = webpRGB(&m.YCbCr, m.A)
		}
	case *image.Paletted:
		if _, err := f.Seek(0, io.SeekStart); err == nil && format == "gif" {
			img = withStoredColours(m, f)
		}
	default:
		if _, err := f.Seek(0, io.SeekStart); err == nil && format == "png" {
			img = asPILReadsPNG(img, f)
		}
	}
	return img, nil
}

// asPILReadsPNG is a decoded PNG (its file r) in the form that takes PIL's path through the
// pipelines: a grey or RGB PNG with a transparent colour (tRNS) is opaque, as PIL's L or RGB
// mode keeps no alpha (Go decodes it with one); a 1-bit grey PNG, keyed or not, is a palette of
// its levels, as PIL's mode 1 is resized by nearest neighbour.
func asPILReadsPNG(img image.Image, r io.ReadSeeker) image.Image {
	colourType, depth, keyed := pngLayout(r)
	if colourType != 0 && colourType != 2 || !keyed && depth != 1 {
		return img
	}
	b := img.Bounds()
	if colourType == 0 && depth == 1 { // mode 1, keyed or not: its levels as a palette's indices
		levels := &image.Paletted{Pix: make([]uint8, 0, b.Dx()*b.Dy()), Stride: b.Dx(), Rect: b, Palette: greyLevels}
		for y := b.Min.Y; y < b.Max.Y; y++ {
			for x := b.Min.X; x < b.Max.X; x++ {
				levels.Pix = append(levels.Pix, straightColour(img.At(x, y)).R)
			}
		}
		return levels
	}
	opaque := image.NewRGBA(b)
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			c := straightColour(img.At(x, y))
			c.A = 255
			opaque.Set(x, y, c)
		}
	}
	return opaque
}

// withStoredColours is a GIF (its file r) whose transparent colour is the one the file stores,
// as PIL's convert("RGB") gives it: Go's decoder makes it transparent black. It takes the
// colour from the file's global table where the image uses that table.
func withStoredColours(m *image.Paletted, r io.Reader) image.Image {
	cfg, err := gif.DecodeConfig(r)
	global, ok := cfg.ColorModel.(color.Palette)
	if err != nil || !ok || len(global) != len(m.Palette) {
		return m
	}
	palette := slices.Clone(m.Palette)
	for i, c := range palette {
		if _, _, _, a := c.RGBA(); a == 0 {
			palette[i] = global[i]
		} else if c != global[i] {
			return m // a table of the image's own
		}
	}
	return &image.Paletted{Pix: m.Pix, Stride: m.Stride, Rect: m.Rect, Palette: palette}
}

// greyLevels is a palette whose entry v is the grey level v (a 1-bit image holds 0 and 255).
var greyLevels = func() color.Palette {
	p := make(color.Palette, 256)
	for v := range p {
		p[v] = color.Gray{Y: uint8(v)}
	}
	return p
}()

// pngLayout reads a PNG's colour type and bit depth (IHDR) and whether a tRNS chunk gives it a
// transparent colour, walking its chunks up to the image data; zeros where it cannot.
func pngLayout(r io.ReadSeeker) (colourType, depth byte, transparency bool) {
	header := make([]byte, 8+8+13)
	if _, err := io.ReadFull(r, header); err != nil || string(header[12:16]) != "IHDR" {
		return 0, 0, false
	}
	depth, colourType = header[24], header[25]
	if _, err := r.Seek(4, io.SeekCurrent); err != nil { // IHDR's CRC
		return colourType, depth, false
	}
	chunk := make([]byte, 8)
	for {
		if _, err := io.ReadFull(r, chunk); err != nil {
			return colourType, depth, false
		}
		switch kind := string(chunk[4:]); kind {
		case "tRNS":
			return colourType, depth, true
		case "IDAT", "IEND":
			return colourType, depth, false
		}
		if _, err := r.Seek(int64(binary.BigEndian.Uint32(chunk[:4]))+4, io.SeekCurrent); err != nil {
			return colourType, depth, false
		}
	}
}

// Pixels resizes img as the fields say (by default its short side to Size with PIL's BICUBIC
// filter), crops the centre CropSize square and returns it as [CropSize*CropSize*3] RGB values
// in [0, 1], row-major: the input ImageFeatures expects (it normalises with Mean and Std
// itself). Where the crop reaches past the image it is black.
func (p Preprocess) Pixels(img image.Image) []float32 {
	width, height := p.resizedSize(img.Bounds())
	left, top := p.cropOffset(width), p.cropOffset(height)
	crop := image.Rect(left, top, left+p.CropSize, top+p.CropSize)
	window := crop.Intersect(image.Rect(0, 0, width, height)) // only what the crop keeps is resized
	resized := p.resize(img, width, height, window)
	out := make([]float32, 0, p.CropSize*p.CropSize*3)
	for y := crop.Min.Y; y < crop.Max.Y; y++ {
		for x := crop.Min.X; x < crop.Max.X; x++ {
			if !image.Pt(x, y).In(window) {
				out = append(out, 0, 0, 0)
				continue
			}
			for _, v := range resized.pix[((y-window.Min.Y)*resized.width+x-window.Min.X)*3:][:3] {
				out = append(out, float32(v)/255)
			}
		}
	}
	return out
}

// resize returns the window of img resized to width x height as the fields say, as 8-bit RGB.
func (p Preprocess) resize(img image.Image, width, height int, window image.Rectangle) *pilImage {
	filter := pilBicubicFilter
	if p.Bilinear {
		filter = pilBilinearFilter
	}
	_, paletted := img.(*image.Paletted)
	switch {
	case width == img.Bounds().Dx() && height == img.Bounds().Dy():
		return pilResample(opaqueRGB(img), width, height, window, filter) // the window alone
	case p.Torchvision && paletted:
		return pilNearest(opaqueRGB(img), width, height, window)
	case p.Torchvision && hasAlpha(img):
		return unpremultipliedRGB(pilResample(premultipliedRGBA(img), width, height, window, filter))
	}
	return pilResample(opaqueRGB(img), width, height, window, filter)
}

// resizedSize is the size the fields resize an image of bounds b to.
func (p Preprocess) resizedSize(b image.Rectangle) (width, height int) {
	w, h := b.Dx(), b.Dy()
	switch {
	case p.NoResize:
		return w, h
	case p.Width > 0 && p.Height > 0:
		return p.Width, p.Height
	case w <= h:
		return p.Size, p.Size * h / w
	}
	return p.Size * w / h, p.Size
}

// cropOffset is where the centre crop starts along a side of n pixels (negative where the
// image is smaller than the crop).
func (p Preprocess) cropOffset(n int) int {
	half := float64(n-p.CropSize) / 2
	switch {
	case p.Torchvision && n < p.CropSize: // CenterCrop pads (size - n) // 2 before the image
		return -((p.CropSize - n) / 2)
	case p.Torchvision:
		return int(math.RoundToEven(half))
	}
	return int(math.Floor(half))
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
