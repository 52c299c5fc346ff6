package clipmodel

import (
	"encoding/json"
	"image"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// copyFixture copies a fixture folder so a test can damage it.
func copyFixture(t *testing.T, name, dst string) string {
	t.Helper()
	src := filepath.Join("testdata", name)
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dst, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

func editConfig(t *testing.T, dir string, edit func(map[string]any)) {
	t.Helper()
	path := filepath.Join(dir, "config.json")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var cfg map[string]any
	if err := json.Unmarshal(data, &cfg); err != nil {
		t.Fatal(err)
	}
	edit(cfg)
	data, _ = json.Marshal(cfg)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestLoadReportsBadFolders(t *testing.T) {
	for _, tc := range []struct {
		name   string
		damage func(t *testing.T, dir string)
		want   []string
	}{
		{"missing weights", func(t *testing.T, dir string) { os.Remove(filepath.Join(dir, "model.safetensors")) },
			[]string{"no model.safetensors"}},
		{"truncated weights", func(t *testing.T, dir string) {
			p := filepath.Join(dir, "model.safetensors")
			info, _ := os.Stat(p)
			os.Truncate(p, info.Size()-100)
		}, []string{"model.safetensors", "truncated"}},
		{"missing tensor", func(t *testing.T, dir string) {
			st, err := OpenSafetensors(filepath.Join(dir, "model.safetensors"))
			if err != nil {
				t.Fatal(err)
			}
			var kept []NamedTensor
			for name, info := range st.Tensors {
				if name != "visual_projection.weight" {
					data, _ := st.ReadFloat32(name)
					kept = append(kept, NamedTensor{name, info.Shape, data})
				}
			}
			st.Close()
			if err := WriteSafetensors(filepath.Join(dir, "model.safetensors"), kept, "F32", nil); err != nil {
				t.Fatal(err)
			}
		}, []string{`missing tensor "visual_projection.weight"`, "config.json"}},
		{"shape not matching config", func(t *testing.T, dir string) {
			editConfig(t, dir, func(c map[string]any) { c["projection_dim"] = 20 })
		}, []string{"model.safetensors", "text_projection.weight", "shape [16 24]", "[20 24]"}},
		{"not a CLIP config", func(t *testing.T, dir string) {
			editConfig(t, dir, func(c map[string]any) { c["model_type"] = "bert" })
		}, []string{"config.json", `"bert"`, "not a CLIPModel"}},
		{"no config", func(t *testing.T, dir string) { os.Remove(filepath.Join(dir, "config.json")) },
			[]string{"config.json"}},
		{"no tokenizer", func(t *testing.T, dir string) { os.Remove(filepath.Join(dir, "vocab.json")) },
			[]string{"vocab.json and merges.txt, or tokenizer.json"}},
		{"NaN weight", func(t *testing.T, dir string) {
			rewriteTensor(t, filepath.Join(dir, "model.safetensors"), "text_projection.weight", float32(math.NaN()))
		}, []string{"model.safetensors", `"text_projection.weight"`, "NaN"}},
		{"fewer layers in the config than stored", func(t *testing.T, dir string) {
			editConfig(t, dir, func(c map[string]any) { c["text_config"].(map[string]any)["num_hidden_layers"] = 1 })
		}, []string{"config.json", "text_config.num_hidden_layers is 1", "holds 2 layers"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := copyFixture(t, "vit-b32-tiny", t.TempDir())
			tc.damage(t, dir)
			_, err := LoadFolder(dir)
			if err == nil {
				t.Fatal("loaded a damaged folder")
			}
			for _, want := range tc.want {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not mention %q", err, want)
				}
			}
		})
	}
}

func TestLoadRejectsUnknownNames(t *testing.T) {
	t.Setenv("HF_HUB_CACHE", t.TempDir())
	t.Setenv("HF_ENDPOINT", "http://127.0.0.1:9")
	for name, want := range map[string]string{
		"random:ViT-X/1":     "unknown architecture",
		"no such/folder/x":   "there is no folder or weights file of that name, and it is none of",
		"/no/such/model":     `no model folder "/no/such/model"`,
		"./not-here":         `no model folder "./not-here"`,
		"testdata/nope.json": `no model folder "testdata/nope.json"`,
	} {
		if _, err := Load(name); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Load(%q): %v, want an error mentioning %q", name, err, want)
		}
	}
}

func TestHubModelFromCacheOffline(t *testing.T) {
	cache := t.TempDir()
	t.Setenv("HF_HUB_CACHE", cache)
	t.Setenv("HF_ENDPOINT", "http://127.0.0.1:9")
	repo := filepath.Join(cache, "models--someone--tiny-clip")
	copyFixture(t, "vit-b32-tiny", filepath.Join(repo, "snapshots", "0123abcd"))
	if err := os.MkdirAll(filepath.Join(repo, "refs"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(repo, "refs", "main"), []byte("0123abcd"), 0o644); err != nil {
		t.Fatal(err)
	}
	m, err := Load("someone/tiny-clip")
	if err != nil {
		t.Fatal(err)
	}
	if m.Name != "someone/tiny-clip" || m.Config.ProjectionDim != 16 {
		t.Errorf("loaded %q with projection %d", m.Name, m.Config.ProjectionDim)
	}
}

func TestHubModelUnreachableSaysWhatToDo(t *testing.T) {
	cache := t.TempDir()
	t.Setenv("HF_HUB_CACHE", cache)
	t.Setenv("HF_ENDPOINT", "http://127.0.0.1:9")
	_, err := Load("openai/clip-vit-base-patch32")
	if err == nil {
		t.Fatal("loaded a model from an unreachable hub")
	}
	for _, want := range []string{"openai/clip-vit-base-patch32", cache, "huggingface-cli download", "local folder"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	if left, _ := filepath.Glob(filepath.Join(cache, "models--*")); len(left) > 0 {
		t.Errorf("the failed lookup left %v in the cache", left)
	}
}

func TestRandomArchitecturesHaveRealShapes(t *testing.T) {
	for arch, want := range map[string][2]int{ // vision width, patches+1
		"ViT-B/32": {768, 50}, "ViT-B/16": {768, 197}, "ViT-L/14": {1024, 257}, "ViT-L/14@336px": {1024, 577},
	} {
		cfg, err := ArchitectureConfig(arch)
		if err != nil {
			t.Fatal(err)
		}
		if cfg.Vision.HiddenSize != want[0] || cfg.Vision.NumPatches()+1 != want[1] {
			t.Errorf("%s: width %d, %d positions", arch, cfg.Vision.HiddenSize, cfg.Vision.NumPatches()+1)
		}
	}
	cfg, _ := ArchitectureConfig("ViT-B/32")
	params := 0
	for _, s := range cfg.TensorSpecs() {
		n := 1
		for _, d := range s.Shape {
			n *= d
		}
		params += n
	}
	// openai/clip-vit-base-patch32 has 151,277,313 parameters.
	if params != 151277313 {
		t.Errorf("ViT-B/32 has %d parameters, want 151277313", params)
	}
}

func TestRandomModelEmbeds(t *testing.T) {
	cfg := tinyConfig()
	m, err := NewRandom("random:tiny", cfg, 1)
	if err != nil {
		t.Fatal(err)
	}
	texts, err := m.EmbedTexts([]string{"a red circle", "blue"})
	if err != nil {
		t.Fatal(err)
	}
	images, err := m.EmbedPixels([][]float32{make([]float32, 32*32*3)})
	if err != nil {
		t.Fatal(err)
	}
	if len(texts[0].Embedding) != cfg.ProjectionDim || len(images[0]) != cfg.ProjectionDim {
		t.Errorf("embedding sizes %d and %d, want %d", len(texts[0].Embedding), len(images[0]), cfg.ProjectionDim)
	}
	again, _ := NewRandom("random:tiny", cfg, 1)
	texts2, _ := again.EmbedTexts([]string{"a red circle"})
	if Cosine(texts[0].Embedding, texts2[0].Embedding) < 0.999999 {
		t.Error("the same seed gave a different random model")
	}
}

func tinyConfig() *Config {
	c, _ := ArchitectureConfig("tiny")
	return c
}

// rewriteTensor sets the first value of one tensor of a safetensors file.
func rewriteTensor(t *testing.T, path, name string, first float32) {
	t.Helper()
	st, err := OpenSafetensors(path)
	if err != nil {
		t.Fatal(err)
	}
	var all []NamedTensor
	for n, info := range st.Tensors {
		data, _ := st.ReadFloat32(n)
		if n == name {
			data[0] = first
		}
		all = append(all, NamedTensor{n, info.Shape, data})
	}
	st.Close()
	if err := WriteSafetensors(path, all, "F32", nil); err != nil {
		t.Fatal(err)
	}
}

// TestLoadsShardedPytorchBin loads the pytorch_model.bin fixture as one shard named by
// pytorch_model.bin.index.json.
func TestLoadsShardedPytorchBin(t *testing.T) {
	dir := copyFixture(t, "hf-bin-stretch-bilinear", t.TempDir())
	shard := "pytorch_model-00001-of-00001.bin"
	if err := os.Rename(filepath.Join(dir, "pytorch_model.bin"), filepath.Join(dir, shard)); err != nil {
		t.Fatal(err)
	}
	a, err := OpenTorchArchive(filepath.Join(dir, shard))
	if err != nil {
		t.Fatal(err)
	}
	index := map[string]map[string]string{"weight_map": {}}
	for _, name := range a.Names() {
		index["weight_map"][name] = shard
	}
	a.Close()
	data, _ := json.Marshal(index)
	if err := os.WriteFile(filepath.Join(dir, "pytorch_model.bin.index.json"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	m, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	checkReference(t, m, readReference(t, dir))
}

// TestHFPreprocessorOptions reads CLIPImageProcessor's options: rescaling and normalising fold
// into Mean and Std (transformers computes (v*rescale_factor - mean) / std on 0..255 values),
// and what clipwork cannot do is an error naming the field.
func TestHFPreprocessorOptions(t *testing.T) {
	for _, tc := range []struct {
		json       string
		mean, std  float64 // of the red channel
		w, h       int
		noResize   bool
		wantErrHas string
	}{
		{json: `{"do_normalize": false}`, mean: 0, std: 1},
		{json: `{"do_rescale": false, "image_mean": [51, 0, 0], "image_std": [255, 1, 1]}`, mean: 0.2, std: 1},
		{json: `{"rescale_factor": 0.00784313725490196, "image_mean": [1, 0, 0], "image_std": [2, 1, 1]}`, mean: 0.5, std: 1},
		{json: `{"do_center_crop": false, "size": {"height": 32, "width": 32}}`, mean: OpenAIMean[0], std: OpenAIStd[0], w: 32, h: 32},
		{json: `{"do_resize": false}`, mean: OpenAIMean[0], std: OpenAIStd[0], noResize: true},
		{json: `{"resample": 0}`, wantErrHas: "resample 0 is not supported"},
		{json: `{"do_center_crop": false}`, wantErrHas: "do_center_crop is false"},
		{json: `{"size": {"longest_edge": 40}}`, wantErrHas: "size"},
		{json: `{"crop_size": {"height": 32, "width": 30}}`, wantErrHas: "not square"},
		{json: `{"rescale_factor": 0}`, wantErrHas: "rescale_factor"},
		{json: `{"size": {"height": 40, "width": 20}}`, wantErrHas: "smaller than crop_size"},
	} {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "preprocessor_config.json"), []byte(tc.json), 0o644); err != nil {
			t.Fatal(err)
		}
		p, err := ReadPreprocess(dir, 32)
		if tc.wantErrHas != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErrHas) || !strings.Contains(err.Error(), "preprocessor_config.json") {
				t.Errorf("%s: error %v, want one naming the file and mentioning %q", tc.json, err, tc.wantErrHas)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", tc.json, err)
		}
		if math.Abs(p.Mean[0]-tc.mean) > 1e-9 || math.Abs(p.Std[0]-tc.std) > 1e-9 || p.Width != tc.w || p.Height != tc.h || p.NoResize != tc.noResize {
			t.Errorf("%s: %+v, want red mean %g, std %g, stretch %dx%d, no resize %v", tc.json, p, tc.mean, tc.std, tc.w, tc.h, tc.noResize)
		}
	}
}

// TestCropPadsSmallImages crops an image smaller than the crop without resizing: as
// transformers' center_crop, it lies at the floor of half the (negative) excess on black.
func TestCropPadsSmallImages(t *testing.T) {
	img := image.NewNRGBA(image.Rect(0, 0, 1, 2))
	img.Set(0, 0, color.White)
	img.Set(0, 1, color.White)
	p := Preprocess{NoResize: true, CropSize: 3}
	// Left at floor(-2/2) = -1, top at floor(-1/2) = -1: the image is column 1, rows 1 and 2.
	want := []float32{0, 0, 0, 0, 1, 0, 0, 1, 0}
	got := p.Pixels(img)
	for i, w := range want {
		if got[i*3] != w {
			t.Errorf("pixel (%d, %d) is %g, want %g", i%3, i/3, got[i*3], w)
		}
	}
}

func TestPickleWeightsOnlyWithoutSafetensors(t *testing.T) {
	for _, tc := range []struct{ names, want []string }{
		{[]string{"config.json", "pytorch_model.bin"}, []string{"pytorch_model.bin"}},
		{[]string{"pytorch_model.bin.index.json", "pytorch_model-00001-of-00002.bin", "pytorch_model-00002-of-00002.bin", "x/pytorch_model-1.bin"},
			[]string{"pytorch_model.bin.index.json", "pytorch_model-00001-of-00002.bin", "pytorch_model-00002-of-00002.bin"}},
		{[]string{"config.json", "tf_model.h5"}, nil},
	} {
		if got := pickleWeights(tc.names); !slices.Equal(got, tc.want) {
			t.Errorf("pickleWeights(%v) = %v, want %v", tc.names, got, tc.want)
		}
	}
}

// TestPreprocessorConfigRoundTrips writes a stretching, bilinear preprocessing as WriteFolder
// does and reads it back.
func TestPreprocessorConfigRoundTrips(t *testing.T) {
	pre := DefaultPreprocess(32)
	pre.Width, pre.Height, pre.Bilinear = 40, 36, true
	dir := t.TempDir()
	if err := writeJSON(filepath.Join(dir, "preprocessor_config.json"), preprocessorConfig(pre)); err != nil {
		t.Fatal(err)
	}
	got, err := ReadPreprocess(dir, 32)
	if err != nil {
		t.Fatal(err)
	}
	if got.Width != 40 || got.Height != 36 || !got.Bilinear || got.NoResize || got.CropSize != 32 {
		t.Errorf("read back %+v, want %+v", got, pre)
	}
}

// TestTorchvisionPadsSmallImages: torchvision's CenterCrop pads (size - n) // 2 before an image
// smaller than the crop (checked with torchvision 0.14: a 5x5 image cropped to 8 starts at
// row and column 1), where rounding half the negative excess to even would put it at 2.
func TestTorchvisionPadsSmallImages(t *testing.T) {
	img := image.NewGray(image.Rect(0, 0, 5, 5))
	for i := range img.Pix {
		img.Pix[i] = 255
	}
	got := Preprocess{NoResize: true, CropSize: 8, Torchvision: true}.Pixels(img)
	for y := range 8 {
		for x := range 8 {
			want := float32(0)
			if x >= 1 && x < 6 && y >= 1 && y < 6 {
				want = 1
			}
			if v := got[(y*8+x)*3]; v != want {
				t.Fatalf("pixel (%d, %d) is %g, want %g", x, y, v, want)
			}
		}
	}
}
