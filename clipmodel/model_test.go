package clipmodel

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"image"
	"image/jpeg"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/gomlx/compute"
)

// fixtures are tiny random CLIPs in HuggingFace layout with PyTorch's outputs, written by
// testdata/reference/make.py.
var fixtures = []string{"vit-b32-tiny", "legacy-eos-f16", "vit-l14-336-bf16-sharded", "hf-bin-stretch-bilinear"}

type reference struct {
	Texts []struct {
		Text      string    `json:"text"`
		Tokens    []int     `json:"tokens"`
		Embedding []float64 `json:"embedding"`
	} `json:"texts"`
	Images []struct {
		File      string    `json:"file"`
		Pixels    []float64 `json:"pixels_nhwc"`
		Embedding []float64 `json:"embedding"`
	} `json:"images"`
	LogitsPerImage [][]float64 `json:"logits_per_image"`
	LogitScale     float64     `json:"logit_scale"`
}

func readReference(t *testing.T, dir string) reference {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "reference.json"))
	if err != nil {
		t.Fatal(err)
	}
	var ref reference
	if err := json.Unmarshal(data, &ref); err != nil {
		t.Fatal(err)
	}
	return ref
}

// relativeError is |got - want| / |want| over the whole vector.
func relativeError(got []float32, want []float64) float64 {
	var diff, norm float64
	for i := range want {
		d := float64(got[i]) - want[i]
		diff += d * d
		norm += want[i] * want[i]
	}
	return math.Sqrt(diff / norm)
}

// unnormalise turns reference pixels (normalised with OpenAI's mean/std) back into [0, 1].
func unnormalise(pixels []float64, p Preprocess) []float32 {
	out := make([]float32, len(pixels))
	for i, v := range pixels {
		c := i % 3
		out[i] = float32(v*p.Std[c] + p.Mean[c])
	}
	return out
}

func TestModelMatchesPyTorchReference(t *testing.T) {
	for _, name := range fixtures {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join("testdata", name)
			ref := readReference(t, dir)
			m, err := LoadFolder(dir)
			if err != nil {
				t.Fatal(err)
			}
			checkReference(t, m, ref)
		})
	}
}

// checkReference compares a model's tokens, embeddings and logits with a PyTorch reference.
func checkReference(t *testing.T, m *Model, ref reference) {
	t.Helper()
	texts := make([]string, len(ref.Texts))
	for i, r := range ref.Texts {
		texts[i] = r.Text
	}
	got, err := m.EmbedTexts(texts)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range ref.Texts {
		if !slices.Equal(got[i].Tokens, r.Tokens) {
			t.Errorf("text %q: tokens %v, want %v", r.Text, got[i].Tokens, r.Tokens)
		}
		if e := relativeError(got[i].Embedding, r.Embedding); e > 1e-4 {
			t.Errorf("text %q: embedding relative error %.2e > 1e-4", r.Text, e)
		}
	}
	var pixels [][]float32
	for _, r := range ref.Images {
		pixels = append(pixels, unnormalise(r.Pixels, m.Preprocess))
	}
	images, err := m.EmbedPixels(pixels)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range ref.Images {
		if e := relativeError(images[i], r.Embedding); e > 1e-4 {
			t.Errorf("image %s: embedding relative error %.2e > 1e-4", r.File, e)
		}
	}
	scale, err := m.LogitScale()
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(scale-math.Exp(ref.LogitScale)) > 1e-3*scale {
		t.Errorf("logit scale %g, want exp(%g) (the stored value, not the config's)", scale, ref.LogitScale)
	}
	textEmb := make([][]float32, len(got))
	for i := range got {
		textEmb[i] = got[i].Embedding
	}
	logits := LogitsPerImage(images, textEmb, scale)
	for i := range ref.LogitsPerImage {
		for j, want := range ref.LogitsPerImage[i] {
			if math.Abs(logits[i][j]-want) > 1e-3*max(1, math.Abs(want)) {
				t.Errorf("logits_per_image[%d][%d] = %g, want %g", i, j, logits[i][j], want)
			}
		}
	}
}

func TestPreprocessFollowsPIL(t *testing.T) {
	for _, name := range fixtures {
		dir := filepath.Join("testdata", name)
		cfg, err := ReadConfig(dir)
		if err != nil {
			t.Fatal(err)
		}
		pre, err := ReadPreprocess(dir, cfg.Vision.ImageSize)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range readReference(t, dir).Images {
			if worst, mean := pixelError(t, pre, dir, r.File, r.Pixels); worst > 1e-5 {
				t.Errorf("%s/%s: pixels differ from PIL's by up to %.4f (mean %.5f)", name, r.File, worst, mean)
			}
		}
	}
}

// pixelError compares pre's pixels for an image file with a reference's normalised pixels:
// the largest and the mean absolute difference.
func pixelError(t *testing.T, pre Preprocess, dir, file string, reference []float64) (worst, mean float64) {
	t.Helper()
	img, err := LoadImage(filepath.Join(dir, file))
	if err != nil {
		t.Fatal(err)
	}
	got, want := pre.Pixels(img), unnormalise(reference, pre)
	var sum float64
	for i := range want {
		d := math.Abs(float64(got[i] - want[i]))
		worst = max(worst, d)
		sum += d
	}
	return worst, sum / float64(len(want))
}

// TestCropRoundsAsEachLoader checks the centre crop's place where half the excess is odd:
// HuggingFace's CLIPImageProcessor floors it, torchvision's CenterCrop (open_clip, clip.load)
// rounds it half to even; the other rule gives pixels a column or row off.
func TestCropRoundsAsEachLoader(t *testing.T) {
	for name, round := range map[string]bool{"hf-bin-stretch-bilinear": false, "openclip-vit-gelu": true} {
		dir := filepath.Join("testdata", name)
		m, err := Load(dir)
		if err != nil {
			t.Fatal(err)
		}
		if m.Preprocess.Torchvision != round || !m.Preprocess.Bilinear {
			t.Errorf("%s: preprocess %+v, want Torchvision %v and bilinear resizing", name, m.Preprocess, round)
		}
		other := m.Preprocess
		other.Torchvision = !round
		for _, r := range readReference(t, dir).Images {
			worst, mean := pixelError(t, m.Preprocess, dir, r.File, r.Pixels)
			_, otherMean := pixelError(t, other, dir, r.File, r.Pixels)
			if worst > 1e-5 || otherMean < 1.0/255 {
				t.Errorf("%s/%s: pixels off by up to %.4f (mean %.5f; %.5f with the other rounding)", name, r.File, worst, mean, otherMean)
			}
		}
	}
}

// TestEmbedsJPEG embeds a fixture image saved as JPEG: close to the PNG's embedding.
func TestEmbedsJPEG(t *testing.T) {
	dir := filepath.Join("testdata", "vit-b32-tiny")
	m, err := LoadFolder(dir)
	if err != nil {
		t.Fatal(err)
	}
	img, err := LoadImage(filepath.Join(dir, "image-0.png"))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "x.jpg")
	f, _ := os.Create(path)
	if err := jpeg.Encode(f, img, &jpeg.Options{Quality: 98}); err != nil {
		t.Fatal(err)
	}
	f.Close()
	embs, err := m.EmbedImageFiles([]string{filepath.Join(dir, "image-0.png"), path})
	if err != nil {
		t.Fatal(err)
	}
	if c := Cosine(embs[0], embs[1]); c < 0.98 {
		t.Errorf("JPEG and PNG embeddings differ: cosine %.4f", c)
	}
}

// TestDefaultBackendHasRoomForParallelOps checks that the default Go backend's worker pool has
// the slots that keep parallel ops from deadlocking (see goWorkerSlots), whatever GOMAXPROCS is,
// and that GOMAXPROCS is left as it was.
func TestDefaultBackendHasRoomForParallelOps(t *testing.T) {
	if os.Getenv(compute.ConfigEnvVar) != "" {
		t.Skipf("%s chooses the backend", compute.ConfigEnvVar)
	}
	procs := runtime.GOMAXPROCS(0)
	b, err := Backend()
	if err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf("parallelism=%d", max(goWorkerSlots, 2*procs)); !strings.Contains(b.Description(), want) {
		t.Errorf("backend %q, want %s", b.Description(), want)
	}
	if runtime.GOMAXPROCS(0) != procs {
		t.Errorf("GOMAXPROCS changed from %d to %d", procs, runtime.GOMAXPROCS(0))
	}
}

// TestLoadImageRefusesHugeDeclaredSizes gives LoadImage a PNG and a JPEG whose headers declare
// far more pixels than their few bytes hold: it refuses both from the header, naming the limit.
func TestLoadImageRefusesHugeDeclaredSizes(t *testing.T) {
	small := image.NewRGBA(image.Rect(0, 0, 2, 2))
	var pngBytes, jpegBytes bytes.Buffer
	if err := png.Encode(&pngBytes, small); err != nil {
		t.Fatal(err)
	}
	if err := jpeg.Encode(&jpegBytes, small, nil); err != nil {
		t.Fatal(err)
	}
	// PNG: IHDR's data starts at byte 16 (width, height), its CRC covers the type and data.
	p := pngBytes.Bytes()
	binary.BigEndian.PutUint32(p[16:], 100000)
	binary.BigEndian.PutUint32(p[20:], 100000)
	binary.BigEndian.PutUint32(p[29:], crc32.ChecksumIEEE(p[12:29]))
	// JPEG: the baseline frame header (FF C0) holds height and width after length and precision.
	j := jpegBytes.Bytes()
	sof := bytes.Index(j, []byte{0xff, 0xc0})
	binary.BigEndian.PutUint16(j[sof+5:], 65000)
	binary.BigEndian.PutUint16(j[sof+7:], 65000)
	dir := t.TempDir()
	for name, data := range map[string][]byte{"huge.png": p, "huge.jpg": j} {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := LoadImage(path)
		if err == nil || !strings.Contains(err.Error(), "at most 100 megapixels") || !strings.Contains(err.Error(), path) {
			t.Errorf("%s: error %v, want one naming the file and the 100-megapixel limit", name, err)
		}
	}
}

// FuzzLoadImage feeds LoadImage arbitrary files (seeded with a PNG and a JPEG): errors, never a
// panic, and never an image over the pixel limit.
func FuzzLoadImage(f *testing.F) {
	small := image.NewRGBA(image.Rect(0, 0, 3, 2))
	var p, j bytes.Buffer
	png.Encode(&p, small)
	jpeg.Encode(&j, small, nil)
	f.Add(p.Bytes())
	f.Add(j.Bytes())
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(dir, "image")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		img, err := LoadImage(path)
		if err == nil && int64(img.Bounds().Dx())*int64(img.Bounds().Dy()) > MaxImagePixels {
			t.Errorf("decoded a %v image, over the limit", img.Bounds())
		}
	})
}

// TestMissingWeightIsAnError deletes a weight from a loaded model's store: embedding fails,
// naming the weight, instead of drawing a random one in its place.
func TestMissingWeightIsAnError(t *testing.T) {
	m, err := LoadRandom("tiny", 1)
	if err != nil {
		t.Fatal(err)
	}
	name := VariablePath("text_model.final_layer_norm.weight")
	if err := m.Store.DeleteVariable(name); err != nil {
		t.Fatal(err)
	}
	if _, err := m.EmbedTexts([]string{"a cat"}); err == nil || !strings.Contains(err.Error(), "has no weight") ||
		!strings.Contains(err.Error(), "final_layer_norm") {
		t.Errorf("embedding without %s: %v", name, err)
	}
}

// TestEmbedTextsInBatches embeds more texts than one batch holds: every embedding equals the
// text's embedding alone, in order.
func TestEmbedTextsInBatches(t *testing.T) {
	m, err := LoadRandom("tiny", 2)
	if err != nil {
		t.Fatal(err)
	}
	texts := make([]string, textBatch+5)
	for i := range texts {
		texts[i] = fmt.Sprintf("text number %d", i)
	}
	all, err := m.EmbedTexts(texts)
	if err != nil || len(all) != len(texts) {
		t.Fatalf("%d embeddings, %v", len(all), err)
	}
	for _, i := range []int{0, textBatch - 1, textBatch, len(texts) - 1} {
		alone, err := m.EmbedTexts(texts[i : i+1])
		if err != nil {
			t.Fatal(err)
		}
		if all[i].Text != texts[i] || Cosine(all[i].Embedding, alone[0].Embedding) < 0.99999 {
			t.Errorf("text %d in a batch: %q, cosine %.6f with its embedding alone", i, all[i].Text,
				Cosine(all[i].Embedding, alone[0].Embedding))
		}
	}
}
