package clipmodel

import (
	"archive/zip"
	"bytes"
	"fmt"
	"image"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"golang.org/x/text/unicode/norm"
)

// openAIFixtures are tiny random OpenAI CLIPs written by testdata/reference/make.py both in
// open_clip's layout and as TorchScript archives (model.pt), with PyTorch's outputs.
var openAIFixtures = []struct {
	name   string
	resnet bool
}{{"openai-rn-tiny", true}, {"openai-vit-tiny", false}}

func TestOpenAICheckpointsMatchPyTorch(t *testing.T) {
	for _, fx := range openAIFixtures {
		dir := filepath.Join("testdata", fx.name)
		ref := readReference(t, dir)
		for _, path := range []string{dir, filepath.Join(dir, "model.pt")} {
			t.Run(path, func(t *testing.T) {
				m, err := Load(path)
				if err != nil {
					t.Fatal(err)
				}
				if m.Config.Vision.IsResNet() != fx.resnet {
					t.Fatalf("ResNet tower %v, want %v", m.Config.Vision.IsResNet(), fx.resnet)
				}
				checkReference(t, m, ref)
			})
		}
	}
}

// TestOpenAIArchitectureFromShapes checks what build_model's rules infer for the fixtures.
func TestOpenAIArchitectureFromShapes(t *testing.T) {
	m, err := LoadTorchScript(filepath.Join("testdata", "openai-rn-tiny", "model.pt"))
	if err != nil {
		t.Fatal(err)
	}
	v, tx := m.Config.Vision, m.Config.Text
	if !slices.Equal(v.ResNetLayers, []int{1, 1, 2, 1}) || v.HiddenSize != 4 || v.ImageSize != 64 || v.NumAttentionHeads != 2 {
		t.Errorf("vision %+v, want layers [1 1 2 1], width 4, 64 px, 2 heads", v)
	}
	if tx.HiddenSize != 64 || tx.NumHiddenLayers != 1 || tx.MaxPositionEmbeddings != 16 || tx.HiddenAct != "quick_gelu" {
		t.Errorf("text %+v, want width 64, 1 layer, context 16, quick_gelu", tx)
	}
	if m.Config.ProjectionDim != 16 {
		t.Errorf("projection %d, want 16", m.Config.ProjectionDim)
	}
}

func TestOpenCLIPPreprocessAndOptions(t *testing.T) {
	m, err := Load(filepath.Join("testdata", "openai-rn-tiny"))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(m.Preprocess.Mean, []float64{0.5, 0.4, 0.3}) || m.Preprocess.CropSize != 64 {
		t.Errorf("preprocess %+v, want open_clip_config.json's mean at 64 px", m.Preprocess)
	}
	base := `{"model_cfg": {"embed_dim": 16, "quick_gelu": false, "vision_cfg": {"layers": 2, "width": 128, "head_width": 32 %s},
		"text_cfg": {"width": 64, "heads": 2}}}`
	c, err := parseOpenCLIPConfig([]byte(strings.Replace(base, "%s", "", 1)))
	if err != nil {
		t.Fatal(err)
	}
	if c.hints != (openAIHints{visionHeads: 4, textHeads: 2, act: "gelu"}) {
		t.Errorf("hints %+v, want 4 vision heads, 2 text heads, gelu", c.hints)
	}
	for _, extra := range []string{`, "timm_model_name": "vit_base"`, `, "attentional_pool": true`, `, "unknown": 1`} {
		_, err := parseOpenCLIPConfig([]byte(strings.Replace(base, "%s", extra, 1)))
		if err == nil || !strings.Contains(err.Error(), "not support") {
			t.Errorf("option %s: error %v, want one saying it is not supported", extra, err)
		}
	}
}

// copyRNFiles copies files of the openai-rn-tiny fixture into dir, renamed as the map says.
func copyRNFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for from, to := range files {
		data, err := os.ReadFile(filepath.Join("testdata", "openai-rn-tiny", from))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, to), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestCLIPigNamesReadTheOpenAICache loads "RN50" from ~/.cache/clip/RN50.pt.
func TestCLIPigNamesReadTheOpenAICache(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	// The tiny model has a tiny vocabulary: its tokenizer files go beside the .pt.
	copyRNFiles(t, filepath.Join(home, ".cache", "clip"),
		map[string]string{"model.pt": "RN50.pt", "vocab.json": "vocab.json", "merges.txt": "merges.txt"})
	m, err := Load("RN50")
	if err != nil {
		t.Fatal(err)
	}
	if m.Name != "RN50" || !m.Config.Vision.IsResNet() {
		t.Errorf("loaded %s (ResNet %v), want RN50 from the cache", m.Name, m.Config.Vision.IsResNet())
	}
	t.Setenv("HF_HUB_CACHE", t.TempDir())
	if NeedsDownload("RN50") || !NeedsDownload("ViT-B/32") {
		t.Errorf("NeedsDownload: RN50 (in ~/.cache/clip) %v, ViT-B/32 (in no cache) %v", NeedsDownload("RN50"), NeedsDownload("ViT-B/32"))
	}
}

// TestStandardVocabularyMatchesOpenAI tokenizes the golden texts with the embedded vocabulary.
func TestStandardVocabularyMatchesOpenAI(t *testing.T) {
	golden := readGoldenTokens(t)
	tok, err := StandardTokenizer(77)
	if err != nil {
		t.Fatal(err)
	}
	if tok.StartID != 49406 || tok.EndID != 49407 {
		t.Errorf("start/end ids %d/%d, want 49406/49407", tok.StartID, tok.EndID)
	}
	for _, g := range golden {
		if got := tok.Tokenize(g.Text); !slices.Equal(got, g.Tokens) {
			t.Errorf("%q: %v, want %v", g.Text, got, g.Tokens)
		}
	}
}

// TestTokenizerNormalisesToNFC: café with a combining accent gets the tokens of the composed é.
func TestTokenizerNormalisesToNFC(t *testing.T) {
	tok, err := StandardTokenizer(77)
	if err != nil {
		t.Fatal(err)
	}
	nfc, nfd := "un café crème", norm.NFD.String("un café crème")
	if nfc == nfd {
		t.Fatal("the NFD form should differ from the NFC one")
	}
	if got, want := tok.Tokenize(nfd), tok.Tokenize(nfc); !slices.Equal(got, want) {
		t.Errorf("NFD text: %v, want the NFC tokens %v", got, want)
	}
}

// archiveEntries are the fixture archive's data.pkl and tensor storages, read once.
var archiveEntries = sync.OnceValues(func() (map[string][]byte, error) {
	zr, err := zip.OpenReader(filepath.Join("testdata", "openai-vit-tiny", "model.pt"))
	if err != nil {
		return nil, err
	}
	defer zr.Close()
	entries := map[string][]byte{}
	for _, f := range zr.File {
		if strings.HasPrefix(f.Name, "model/data") {
			rc, err := f.Open()
			if err != nil {
				return nil, err
			}
			entries[f.Name], err = io.ReadAll(rc)
			rc.Close()
			if err != nil {
				return nil, err
			}
		}
	}
	return entries, nil
})

// zipWith builds a PyTorch-style archive holding the fixture's storages, the given data.pkl and
// any extra entries.
func zipWith(t testing.TB, pkl []byte, extra ...[2]string) []byte {
	entries, err := archiveEntries()
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	write := func(name string, data []byte) {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Store})
		if err != nil {
			t.Fatal(err)
		}
		w.Write(data)
	}
	for name, data := range entries {
		if name == "model/data.pkl" {
			data = pkl
		}
		write(name, data)
	}
	for _, e := range extra {
		write(e[0], []byte(e[1]))
	}
	zw.Close()
	return buf.Bytes()
}

func fixturePickle(t testing.TB) []byte {
	entries, err := archiveEntries()
	if err != nil {
		t.Fatal(err)
	}
	return entries["model/data.pkl"]
}
func readArchiveBytes(data []byte) (*TorchArchive, error) {
	return ReadTorchArchive("test.pt", bytes.NewReader(data), int64(len(data)))
}

// TestTorchArchiveRefusesCode: a pickle that names os.system is an error, not a call.
func TestTorchArchiveRefusesCode(t *testing.T) {
	evil := []byte("\x80\x02cos\nsystem\nq\x00X\x05\x00\x00\x00touchq\x01\x85q\x02Rq\x03.")
	_, err := readArchiveBytes(zipWith(t, evil))
	if err == nil || !strings.Contains(err.Error(), "os.system") {
		t.Errorf("error %v, want one naming os.system", err)
	}
	if _, err := readArchiveBytes(zipWith(t, fixturePickle(t), [2]string{"model/byteorder", "little"})); err != nil {
		t.Errorf("the unchanged pickle: %v", err)
	}
	_, err = readArchiveBytes(zipWith(t, fixturePickle(t), [2]string{"model/byteorder", "big"}))
	if err == nil || !strings.Contains(err.Error(), "little-endian") {
		t.Errorf("a big-endian archive: error %v, want one about byte order", err)
	}
}

// FuzzTorchArchive feeds mutated data.pkl files: errors are fine, panics and hangs are not.
func FuzzTorchArchive(f *testing.F) {
	f.Add(fixturePickle(f))
	f.Add([]byte("\x80\x02}q\x00."))
	f.Fuzz(func(t *testing.T, pkl []byte) {
		a, err := readArchiveBytes(zipWith(t, pkl))
		if err != nil {
			return
		}
		for _, name := range a.Names() {
			a.Float32(name)
		}
	})
}

// TestOpenCLIPFolderBesideTimmConfig: timm's repositories hold a config.json of timm's own next
// to the open_clip files; the folder still loads as open_clip.
func TestOpenCLIPFolderBesideTimmConfig(t *testing.T) {
	dir := t.TempDir()
	copyRNFiles(t, dir, map[string]string{openCLIPConfigFile: openCLIPConfigFile,
		openCLIPSafetensorsFile: openCLIPSafetensorsFile, "vocab.json": "vocab.json", "merges.txt": "merges.txt"})
	timm := `{"architecture": "resnet50_clip", "num_classes": 1024}`
	if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(timm), 0o644); err != nil {
		t.Fatal(err)
	}
	if !snapshotComplete(dir) {
		t.Error("the folder does not count as a complete snapshot")
	}
	if _, err := Load(dir); err != nil {
		t.Error(err)
	}
}

// TestCLIPigNamesFallBackToTheHub: without ~/.cache/clip/RN50.pt, "RN50" is the open_clip
// repository timm/resnet50_clip.openai, here in an offline HuggingFace cache.
func TestCLIPigNamesFallBackToTheHub(t *testing.T) {
	t.Setenv("HOME", t.TempDir())
	cache := t.TempDir()
	t.Setenv("HF_HUB_CACHE", cache)
	repo := filepath.Join(cache, "models--timm--resnet50_clip.openai")
	copyRNFiles(t, filepath.Join(repo, "snapshots", "abc123"), map[string]string{
		openCLIPConfigFile: openCLIPConfigFile, openCLIPSafetensorsFile: openCLIPSafetensorsFile,
		"vocab.json": "vocab.json", "merges.txt": "merges.txt"})
	m, err := Load("RN50")
	if err != nil {
		t.Fatal(err)
	}
	if m.Name != "RN50" || !m.Config.Vision.IsResNet() || m.Preprocess.Mean[0] != 0.5 {
		t.Errorf("loaded %s (ResNet %v, mean %v), want RN50 from the open_clip snapshot", m.Name, m.Config.Vision.IsResNet(), m.Preprocess.Mean)
	}
	if NeedsDownload("RN50") {
		t.Error("NeedsDownload says RN50 needs a download, whose hub repository is cached")
	}
}

// TestTorchScriptTypeTagsPassValuesThrough: restore_type_tag(value, type) gives the value.
func TestTorchScriptTypeTagsPassValuesThrough(t *testing.T) {
	fn, err := findTorchClass("torch.jit._pickle", "restore_type_tag")
	if err != nil {
		t.Fatal(err)
	}
	got, err := fn.(passFirst).Call(42, "List[int]")
	if err != nil || got != 42 {
		t.Errorf("restore_type_tag(42, List[int]) = %v, %v", got, err)
	}
	if _, err := findTorchClass("torch.jit._pickle", "build_tensor_from_id"); err == nil {
		t.Error("other torch.jit._pickle functions should be refused")
	}
}

// TestOpenCLIPFileLoadsWithItsConfig loads the open_clip fixture whose options differ from
// OpenAI's (GELU, 16-wide heads) as a folder, as its weights file, as its training checkpoint
// (epoch_1.pt: {"epoch", "state_dict": {"module.…"}}) and as a safetensors file, all beside
// open_clip_config.json; without the config, OpenAI's defaults give other embeddings.
func TestOpenCLIPFileLoadsWithItsConfig(t *testing.T) {
	dir := filepath.Join("testdata", "openclip-vit-gelu")
	ref := readReference(t, dir)
	st := filepath.Join(copyFixture(t, "openclip-vit-gelu", t.TempDir()), openCLIPSafetensorsFile)
	writeArchiveAsSafetensors(t, filepath.Join(dir, openCLIPPickleFile), st)
	for _, path := range []string{dir, filepath.Join(dir, openCLIPPickleFile), filepath.Join(dir, "epoch_1.pt"), st} {
		t.Run(path, func(t *testing.T) {
			m, err := Load(path)
			if err != nil {
				t.Fatal(err)
			}
			if v := m.Config.Vision; v.NumAttentionHeads != 4 || v.HiddenAct != "gelu" || !m.Preprocess.Bilinear {
				t.Errorf("vision %+v, preprocess %+v: want 4 heads, gelu, bilinear resizing", v, m.Preprocess)
			}
			checkReference(t, m, ref)
		})
	}
	alone := t.TempDir()
	copyRNFiles(t, alone, map[string]string{"vocab.json": "vocab.json", "merges.txt": "merges.txt"})
	data, err := os.ReadFile(filepath.Join(dir, openCLIPPickleFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(alone, "weights.bin"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	m, err := Load(filepath.Join(alone, "weights.bin"))
	if err != nil {
		t.Fatal(err)
	}
	if m.Config.Vision.NumAttentionHeads != 1 || m.Config.Vision.HiddenAct != "quick_gelu" {
		t.Errorf("without open_clip_config.json: vision %+v, want OpenAI's rules (64-wide heads, quick_gelu)", m.Config.Vision)
	}
}

// writeArchiveAsSafetensors copies a torch.save'd state dict into a safetensors file.
func writeArchiveAsSafetensors(t *testing.T, from, to string) {
	t.Helper()
	a, err := OpenTorchArchive(from)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	var named []NamedTensor
	for _, name := range a.Names() {
		shape, _ := a.Shape(name)
		data, err := a.Float32(name)
		if err != nil {
			t.Fatal(err)
		}
		named = append(named, NamedTensor{Name: name, Shape: shape, Data: data})
	}
	if err := WriteSafetensors(to, named, "F32", nil); err != nil {
		t.Fatal(err)
	}
}

func TestOpenCLIPConfigOptions(t *testing.T) {
	base := `{"model_cfg": {"vision_cfg": {"layers": 2, "width": 128, "image_size": 32 %s}, "text_cfg": {"width": 64 %s}}
		%s}`
	for _, tc := range []struct{ vision, text, rest, want string }{
		{`, "head_width": 0`, "", "", "vision_cfg.head_width is 0"},
		{`, "head_width": -64`, "", "", "vision_cfg.head_width is -64"},
		{`, "head_width": 1000`, "", "", "head_width 1000 does not divide"},
		{"", `, "heads": 0`, "", "text_cfg.heads is 0"},
		{"", `, "heads": 3`, "", "text_cfg.heads 3 does not divide"},
		{`, "image_size": [32, 48]`, "", "", "square [n, n]"},
		{"", "", `, "preprocess_cfg": {"interpolation": "nearest"}`, `interpolation "nearest" is not supported`},
		{"", "", `, "preprocess_cfg": {"resize_mode": "longest"}`, `resize_mode "longest" is not supported`},
		{"", "", `, "preprocess_cfg": {"size": 48}`, "preprocess_cfg.size 48 differs"},
		{"", "", `, "preprocess_cfg": {"crop_pct": 0.9}`, "crop_pct"},
	} {
		_, err := parseOpenCLIPConfig(fmt.Appendf(nil, base, tc.vision, tc.text, tc.rest))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s %s %s: error %v, want one mentioning %q", tc.vision, tc.text, tc.rest, err, tc.want)
		}
	}
	c, err := parseOpenCLIPConfig(fmt.Appendf(nil, base, `, "image_size": [32, 32], "head_width": 32`, `, "heads": 4`,
		`, "preprocess_cfg": {"size": [32, 32], "mode": "RGB", "resize_mode": "squash", "fill_color": 0}`))
	if err != nil {
		t.Fatal(err)
	}
	p := c.pre.preprocess(32)
	if c.size != 32 || c.hints.visionHeads != 4 || c.hints.textHeads != 4 || p.Width != 32 || p.Height != 32 || !p.Torchvision {
		t.Errorf("config %+v, preprocess %+v: want 32 px, 4 and 4 heads, a squash to 32x32, torchvision's crop", c, p)
	}
}

// TestOpenCLIPConfigAgainstTheWeights edits the fixture's open_clip_config.json: a width the
// weights do not have is refused (it set the head count, which then split the weights wrongly),
// and an image_size that is not a multiple of the patch size but gives the weights' grid
// loads, its input that size, as open_clip's convolution takes it.
func TestOpenCLIPConfigAgainstTheWeights(t *testing.T) {
	for _, c := range []struct{ from, to, want string }{
		{`"width": 64,
      "patch_size"`, `"width": 80,
      "patch_size"`, "vision_cfg.width is 80 but the weights are 64 wide"},
		{`"width": 64,
      "heads"`, `"width": 32,
      "heads"`, "text_cfg.width is 32 but the weights are 64 wide"},
		{`"image_size": 32`, `"image_size": 40`, "vision_cfg.image_size is 40 but the weights are for 32"},
		{`"image_size": 32`, `"image_size": 39`, ""},
	} {
		dir := copyFixture(t, "openclip-vit-gelu", t.TempDir())
		path := filepath.Join(dir, openCLIPConfigFile)
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		edited := strings.Replace(string(data), c.from, c.to, 1)
		if edited == string(data) {
			t.Fatalf("the fixture's config has no %q", c.from)
		}
		if err := os.WriteFile(path, []byte(edited), 0o644); err != nil {
			t.Fatal(err)
		}
		m, err := Load(dir)
		switch {
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%s: %v, want an error saying %q", c.to, err, c.want)
		case c.want == "" && err != nil:
			t.Errorf("%s: %v", c.to, err)
		case c.want == "" && (m.Config.Vision.ImageSize != 39 || m.Preprocess.CropSize != 39):
			t.Errorf("%s: image size %d, crop %d, want 39", c.to, m.Config.Vision.ImageSize, m.Preprocess.CropSize)
		case c.want == "":
			if _, err := m.EmbedPixels([][]float32{m.Preprocess.Pixels(image.NewGray(image.Rect(0, 0, 50, 45)))}); err != nil {
				t.Errorf("%s: embedding an image: %v", c.to, err)
			}
		}
	}
}
