package runstore

import (
	"bytes"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"testing"

	"github.com/clipwork/clipwork/workbench"
)

func TestCreateNeverOverwrites(t *testing.T) {
	root := t.TempDir()
	var paths []string
	for range 3 {
		d, err := Create(root, "demo")
		if err != nil {
			t.Fatal(err)
		}
		paths = append(paths, filepath.Base(d.Path))
	}
	if paths[0] != "demo" || paths[1] != "demo-1" || paths[2] != "demo-2" {
		t.Errorf("run folders %v", paths)
	}
	blocked := filepath.Join(t.TempDir(), "file")
	os.WriteFile(blocked, nil, 0o644)
	if _, err := Create(blocked, "demo"); err == nil {
		t.Error("created a run under a file")
	}
}

func TestImageCarriesTextChunks(t *testing.T) {
	d, err := Create(t.TempDir(), "x")
	if err != nil {
		t.Fatal(err)
	}
	img := image.NewNRGBA(image.Rect(0, 0, 3, 2))
	if err := d.WriteImage("image.png", img, map[string]string{"clipwork:seed": "42", "clipwork:config": "epochs: 3\n"}); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(filepath.Join(d.Path, "image.png"))
	if _, err := png.Decode(bytes.NewReader(data)); err != nil {
		t.Fatalf("the PNG with text chunks does not decode: %v", err)
	}
	if !bytes.Contains(data, []byte("tEXtclipwork:seed\x0042")) || !bytes.Contains(data, []byte("epochs: 3")) {
		t.Error("text chunks missing")
	}
}

func TestStateRoundTrip(t *testing.T) {
	d, err := Create(t.TempDir(), "x")
	if err != nil {
		t.Fatal(err)
	}
	s := &workbench.State{Step: 3, Width: 2, Height: 1, Params: []float32{1, 2, 3, 4, 5, 6},
		M: make([]float32, 6), V: []float32{0, 0, 0, 0, 0, 1}, Windows: 12,
		Stats: &workbench.Stats{Targets: []*workbench.TargetStats{{Name: "a", Windows: 12}}}}
	if err := d.WriteState(s); err != nil {
		t.Fatal(err)
	}
	got, err := d.ReadState()
	if err != nil {
		t.Fatal(err)
	}
	if got.Step != 3 || got.Width != 2 || got.Params[5] != 6 || got.V[5] != 1 || got.Windows != 12 || got.Stats.Targets[0].Name != "a" {
		t.Errorf("state came back as %+v", got)
	}
}
