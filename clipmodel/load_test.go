package clipmodel

import (
	"encoding/json"
	"os"
	"path/filepath"
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
		"no such/folder/x":   "neither a folder",
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
		"ViT-B/32": {768, 50}, "ViT-B/16": {768, 197}, "ViT-L/14": {1024, 257}, "ViT-L/14@336": {1024, 577},
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
