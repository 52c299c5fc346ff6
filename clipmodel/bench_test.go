package clipmodel

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/clipwork/clipwork/internal/memstat"
)

// loadChildEnv makes the test binary a child that loads one folder and reports time and memory.
const loadChildEnv = "CLIPWORK_LOAD_CHILD_DIR"

// BenchmarkLoadViTB32Checkpoint writes a random ViT-B/32 checkpoint (F32, about 600 MB) in
// HuggingFace layout and loads it in a fresh process, reporting load seconds and the process's
// peak resident memory (targets: under 5 s and 1.5 GB).
//
//	GOEXPERIMENT=simd go test ./clipmodel -run '^$' -bench LoadViTB32 -benchtime 1x
func BenchmarkLoadViTB32Checkpoint(b *testing.B) {
	dir := b.TempDir()
	cfg, _ := ArchitectureConfig("ViT-B/32")
	if err := WriteFolder(dir, cfg, RandomWeights(cfg, 1), ByteTokenizer(cfg), DefaultPreprocess(224), "F32"); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for range b.N {
		cmd := exec.Command(os.Args[0], "-test.run", "^TestLoadChild$")
		cmd.Env = append(os.Environ(), loadChildEnv+"="+dir)
		out, err := cmd.CombinedOutput()
		if err != nil {
			b.Fatalf("child: %v\n%s", err, out)
		}
		var report struct{ Seconds, PeakMB float64 }
		start := strings.Index(string(out), "{")
		end := strings.Index(string(out), "}")
		if start < 0 || end < start || json.Unmarshal(out[start:end+1], &report) != nil {
			b.Fatalf("child printed %q", out)
		}
		b.ReportMetric(report.Seconds, "load-s")
		b.ReportMetric(report.PeakMB, "peak-MB")
	}
}

// TestLoadChild is the child of BenchmarkLoadViTB32Checkpoint; without its environment it does nothing.
func TestLoadChild(t *testing.T) {
	dir := os.Getenv(loadChildEnv)
	if dir == "" {
		return
	}
	start := time.Now()
	if _, err := LoadFolder(dir); err != nil {
		t.Fatal(err)
	}
	seconds := time.Since(start).Seconds()
	report, _ := json.Marshal(map[string]float64{"Seconds": seconds, "PeakMB": memstat.PeakRSSMB()})
	fmt.Printf("\n%s\n", report)
}

func TestWriteFolderRoundTrip(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "m")
	cfg := tinyConfig()
	if err := WriteFolder(dir, cfg, RandomWeights(cfg, 3), ByteTokenizer(cfg), DefaultPreprocess(32), "F16"); err != nil {
		t.Fatal(err)
	}
	m, err := LoadFolder(dir)
	if err != nil {
		t.Fatal(err)
	}
	direct, _ := NewRandom("direct", cfg, 3)
	a, _ := m.EmbedTexts([]string{"hello"})
	b, _ := direct.EmbedTexts([]string{"hello"})
	if c := Cosine(a[0].Embedding, b[0].Embedding); c < 0.999 {
		t.Errorf("F16 round trip changed the model: cosine %.5f", c)
	}
}
