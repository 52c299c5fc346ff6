package main

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestEmbedMatchesPyTorchReference runs clipwork embed --json on the tiny fixtures and compares
// with the PyTorch reference: token ids exactly, embeddings to 1e-4 relative error. Image 0 of
// each fixture is already at the model's size, so preprocessing is exact for it. The OpenAI
// fixtures run from their open_clip folder and their TorchScript file (openai-rn-tiny's folder
// normalises with other constants than its reference, so only its .pt is here).
func TestEmbedMatchesPyTorchReference(t *testing.T) {
	for _, name := range []string{"vit-b32-tiny", "legacy-eos-f16", "vit-l14-336-bf16-sharded",
		"openai-vit-tiny", "openai-vit-tiny/model.pt", "openai-rn-tiny/model.pt"} {
		t.Run(name, func(t *testing.T) {
			model := filepath.Join("..", "..", "clipmodel", "testdata", name)
			dir := model
			if strings.HasSuffix(name, ".pt") {
				dir = filepath.Dir(model)
			}
			var ref struct {
				Texts []struct {
					Text      string    `json:"text"`
					Tokens    []int     `json:"tokens"`
					Embedding []float64 `json:"embedding"`
				} `json:"texts"`
				Images []struct {
					Embedding []float64 `json:"embedding"`
				} `json:"images"`
				LogitsPerImage [][]float64 `json:"logits_per_image"`
			}
			data, err := os.ReadFile(filepath.Join(dir, "reference.json"))
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(data, &ref); err != nil {
				t.Fatal(err)
			}
			args := []string{"embed", "--model", model, "--json", "--image", filepath.Join(dir, "image-0.png")}
			for _, tx := range ref.Texts {
				args = append(args, "--text", tx.Text)
			}
			var stdout, stderr bytes.Buffer
			if code := run(args, &stdout, &stderr); code != 0 {
				t.Fatalf("exit %d: %s", code, stderr.String())
			}
			var got embedOutput
			if err := json.Unmarshal(stdout.Bytes(), &got); err != nil {
				t.Fatalf("output is not JSON: %v\n%s", err, stdout.String())
			}
			for i, tx := range ref.Texts {
				if !slices.Equal(got.Texts[i].Tokens, tx.Tokens) {
					t.Errorf("%q: tokens %v, want %v", tx.Text, got.Texts[i].Tokens, tx.Tokens)
				}
				if e := relativeError(got.Texts[i].Embedding, tx.Embedding); e > 1e-4 {
					t.Errorf("%q: relative error %.2e", tx.Text, e)
				}
			}
			if e := relativeError(got.Images[0].Embedding, ref.Images[0].Embedding); e > 1e-4 {
				t.Errorf("image: relative error %.2e", e)
			}
			for j, want := range ref.LogitsPerImage[0] {
				if math.Abs(got.LogitsPerImage[0][j]-want) > 1e-3*max(1, math.Abs(want)) {
					t.Errorf("logits_per_image[0][%d] = %g, want %g", j, got.LogitsPerImage[0][j], want)
				}
			}
		})
	}
}

func relativeError(got []float32, want []float64) float64 {
	var diff, norm float64
	for i := range want {
		d := float64(got[i]) - want[i]
		diff += d * d
		norm += want[i] * want[i]
	}
	return math.Sqrt(diff / norm)
}

func TestEmbedErrors(t *testing.T) {
	fixture := filepath.Join("..", "..", "clipmodel", "testdata", "vit-b32-tiny")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"embed", "--model", "nosuchmodel", "--text", "x"}, `is none of "default" (the embedded model)`},
		{[]string{"embed", "--model", fixture}, "nothing to embed"},
		{[]string{"embed", "--model", fixture, "--image", "missing.png"}, "missing.png"},
		{[]string{"embed", "--model", fixture, "--image", filepath.Join(fixture, "config.json")}, "not a readable image"},
		{[]string{"frobnicate"}, "unknown command"},
	} {
		var stdout, stderr bytes.Buffer
		if code := run(tc.args, &stdout, &stderr); code == 0 || !strings.Contains(stderr.String(), tc.want) {
			t.Errorf("%v: exit %d, stderr %q, want an error mentioning %q", tc.args, code, stderr.String(), tc.want)
		}
	}
}

// TestEmbedDefaultsToTheEmbeddedModel embeds with the embedded default model when no --model is
// given, as run does.
func TestEmbedDefaultsToTheEmbeddedModel(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run([]string{"embed", "--text", "a red circle"}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
}
