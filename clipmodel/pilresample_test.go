package clipmodel

import (
	"encoding/json"
	"image"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// TestPixelsAsPIL checks Pixels against what PIL makes of PNGs of every kind (RGBA, grey with
// alpha, RGB, grey, a palette with transparency, 16-bit RGB) in both pipelines, HuggingFace's
// and torchvision's, with both filters, resized by the short side and squashed: every level
// must be PIL's (testdata/pil/make.py wrote the expected pixels).
func TestPixelsAsPIL(t *testing.T) {
	var ref struct {
		Cases []struct {
			File, Mode, Filter, Pipeline string
			Squash                       bool
			Pixels                       []uint8
		}
	}
	readPILReference(t, "pixels.json", &ref)
	for _, c := range ref.Cases {
		img, err := LoadImage(filepath.Join("testdata", "pil", c.File))
		if err != nil {
			t.Fatal(err)
		}
		pre := Preprocess{Size: 8, CropSize: 8, Bilinear: c.Filter == "bilinear", Torchvision: c.Pipeline == "torchvision"}
		if c.Squash {
			pre.Width, pre.Height = 9, 8
		}
		got, off := pre.Pixels(img), 0
		for i, want := range c.Pixels {
			if level := int(got[i]*255 + 0.5); level != int(want) {
				off++
			}
		}
		if off > 0 {
			t.Errorf("%s (%s), %s, %s, squash %v: %d of %d levels differ from PIL's", c.File, c.Mode, c.Pipeline, c.Filter,
				c.Squash, off, len(c.Pixels))
		}
	}
}

// TestDecodedColoursAsPIL checks the colours of JPEGs in each chroma subsampling, at odd and tiny
// sizes, and of lossy WebPs, against PIL's (libjpeg's, libwebp's): the chroma interpolation
// and colour conversion are theirs, so only the inverse transforms' rounding remains, a level
// or two (testdata/pil/make.py wrote them).
func TestDecodedColoursAsPIL(t *testing.T) {
	var ref struct {
		Images []struct {
			File string
			RGB  []uint8
		}
	}
	readPILReference(t, "jpeg.json", &ref)
	for _, r := range ref.Images {
		img, err := LoadImage(filepath.Join("testdata", "pil", r.File))
		if err != nil {
			t.Fatal(err)
		}
		got := opaqueRGB(img).pix
		if len(got) != len(r.RGB) {
			t.Fatalf("%s: %d values, want %d", r.File, len(got), len(r.RGB))
		}
		worst, sum := 0, 0
		for i, want := range r.RGB {
			d := abs(int(got[i]) - int(want))
			worst, sum = max(worst, d), sum+d
		}
		if mean := float64(sum) / float64(len(got)); worst > 2 || mean > 0.2 {
			t.Errorf("%s: colours differ from PIL's by up to %d levels (mean %.3f)", r.File, worst, mean)
		}
	}
}

func abs(v int) int { return max(v, -v) }

// readPILReference reads a JSON file of testdata/pil into ref.
func readPILReference(t *testing.T, name string, ref any) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "pil", name))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, ref); err != nil {
		t.Fatal(err)
	}
}

// TestLongImagesResizeTheCropAlone: an image a pixel wide and two million tall, resized so its
// short side is 224, would be 224 x 448 million pixels; only the crop's pixels are computed.
func TestLongImagesResizeTheCropAlone(t *testing.T) {
	long := image.NewGray(image.Rect(0, 0, 1, 2_000_000))
	for i := range long.Pix {
		long.Pix[i] = uint8(i / 1000)
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	pixels := Preprocess{Size: 224, CropSize: 224}.Pixels(long)
	runtime.ReadMemStats(&after)
	if len(pixels) != 224*224*3 {
		t.Fatalf("%d values", len(pixels))
	}
	if grown := after.TotalAlloc - before.TotalAlloc; grown > 100<<20 {
		t.Errorf("preprocessing allocated %d MB", grown>>20)
	}
}
