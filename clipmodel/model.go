// Package clipmodel is CLIP in GoMLX: HuggingFace checkpoints (safetensors, F32/F16/BF16,
// sharded), the byte-level BPE tokenizer, image preprocessing, and the ViT vision tower and the
// causal text transformer as graph functions that larger graphs call and differentiate through.
//
// A model is named by a local folder, a HuggingFace hub id (downloaded into the standard HF cache
// when the network allows, used from the cache offline) or random:ARCH for a randomly initialised
// model of a real architecture:
//
//	m, err := clipmodel.Load("openai/clip-vit-base-patch32")
//	texts, err := m.EmbedTexts([]string{"a photo of a cat"})
package clipmodel

import (
	"fmt"
	"math"
	"os"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"sync"

	"github.com/gomlx/compute"
	_ "github.com/gomlx/gomlx/backends/default" // The Go backend and XLA (GOMLX_BACKEND=xla:cuda).
	. "github.com/gomlx/gomlx/core/graph"       //nolint:revive // GoMLX graph code reads best with the dot import.
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
)

// Model is a loaded CLIP: its architecture, preprocessing, tokenizer and weights.
type Model struct {
	// Name is how the model was asked for (folder, hub id or random:ARCH).
	Name       string
	Config     *Config
	Preprocess Preprocess
	Tokenizer  *Tokenizer
	// Store holds the weights under their checkpoint names (see VariablePath).
	Store   *model.Store
	Backend compute.Backend

	execOnce          sync.Once
	textExec, imgExec *model.Exec
	execErr           error
}

// Scope is the root scope of the model's weights, the scope ImageFeatures and TextFeatures take.
func (m *Model) Scope() *model.Scope {
	return m.Store.RootScope()
}

var (
	backendOnce sync.Once
	backend     compute.Backend
	backendErr  error
)

// defaultBackend is GoMLX's pure Go backend running independent ops in parallel (1.2x faster
// CLIP steps and 1.7x faster training than one op at a time on 2 cores).
const defaultBackend = "go:ops_parallel"

// goWorkerSlots is the least size of the Go backend's worker pool. compute sizes it at twice
// GOMAXPROCS; with 64 slots more of a CLIP graph's independent ops run at once while the matrix
// products themselves still split over GOMAXPROCS workers: ViT-B/32 steps at 8 windows run 1.5x
// faster on 2 cores (compute v0.1.14; with v0.1.2 the small pool could also deadlock).
const goWorkerSlots = 64

// goGCPercent is how far the heap may grow past the live data before Go collects it, when GOGC
// does not say: the Go backend's buffers are large pointer-free slices that collections do not
// scan, so collecting often costs little, while Go's default of 100 lets the heap reach twice
// the weights and activations. ViT-B/32 at 8 windows: peak memory 2.2 GB at 100, 1.75 GB at 25,
// the same speed (bench/README.md).
const goGCPercent = 25

// Backend is the process-wide compute backend: GOMLX_BACKEND when set (e.g. xla:cuda), else
// GoMLX's pure Go backend, which needs nothing installed.
func Backend() (compute.Backend, error) {
	backendOnce.Do(func() {
		config := os.Getenv(compute.ConfigEnvVar)
		if config == "" {
			config = defaultBackend
			// The pool's "parallelism=N" option would print a line to stdout; the pool takes its
			// size from GOMAXPROCS at creation instead.
			defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(max(goWorkerSlots/2, runtime.GOMAXPROCS(0))))
			if os.Getenv("GOGC") == "" {
				debug.SetGCPercent(goGCPercent)
			}
		}
		backend, backendErr = compute.NewWithConfig(config)
		if backendErr != nil {
			backendErr = fmt.Errorf("starting the compute backend %q (set by %s): %w%s", config, compute.ConfigEnvVar,
				backendErr, backendHint(config))
		}
	})
	return backend, backendErr
}

// backendHint says how to get a backend that failed to start, or to do without it.
func backendHint(config string) string {
	if !strings.HasPrefix(config, "xla") {
		return ""
	}
	hint := "\nXLA needs its PJRT plugin for the device: go-xla's installer where the network allows " +
		"(go run github.com/gomlx/go-xla/cmd/pjrt_installer@latest -autoinstall), or PJRT_PLUGIN_LIBRARY_PATH naming a folder holding it"
	if strings.Contains(config, "cuda") {
		hint += " (xla_cuda_plugin.so, from JAX's jax-cuda13-pjrt wheel)"
	}
	return hint + fmt.Sprintf("; without network, GOMLX_NO_AUTO_INSTALL=1 skips go-xla's download attempt and its log; "+
		"to run on the CPU with the Go backend instead, unset %s", compute.ConfigEnvVar)
}

func (m *Model) compile() error {
	m.execOnce.Do(func() {
		m.textExec, m.execErr = model.NewExec(m.Backend, m.Store, func(scope *model.Scope, tokens, pool *Node) *Node {
			return m.TextFeatures(scope, tokens, pool)
		})
		if m.execErr != nil {
			return
		}
		m.imgExec, m.execErr = model.NewExec(m.Backend, m.Store, func(scope *model.Scope, pixels *Node) *Node {
			return m.ImageFeatures(scope, pixels)
		})
	})
	return m.execErr
}

// TextEmbedding is one tokenized text and its projected (unnormalised) embedding.
type TextEmbedding struct {
	Text      string
	Tokens    []int
	Embedding []float32
}

// textBatch is how many texts the text tower embeds at once: enough to amortise a call, few
// enough that thousands of texts do not hold thousands of texts' activations.
const textBatch = 256

// EmbedTexts tokenizes and embeds texts, textBatch at a time.
func (m *Model) EmbedTexts(texts []string) ([]TextEmbedding, error) {
	if len(texts) == 0 {
		return nil, nil
	}
	if err := m.compile(); err != nil {
		return nil, err
	}
	out := make([]TextEmbedding, 0, len(texts))
	for batch := range slices.Chunk(texts, textBatch) {
		embs, err := m.embedTextBatch(batch)
		if err != nil {
			return nil, err
		}
		out = append(out, embs...)
	}
	return out, nil
}

// embedTextBatch embeds texts in one call of the text tower.
func (m *Model) embedTextBatch(texts []string) ([]TextEmbedding, error) {
	out := make([]TextEmbedding, len(texts))
	lists := make([][]int, len(texts))
	pool := make([]int32, len(texts))
	for i, text := range texts {
		lists[i] = m.Tokenizer.Tokenize(text)
		pool[i] = int32(m.Config.Text.PoolIndex(lists[i]))
		out[i] = TextEmbedding{Text: text, Tokens: lists[i]}
	}
	results, err := m.textExec.Exec(PadTokens(lists), pool)
	if err != nil {
		return nil, fmt.Errorf("running the text tower: %w", err)
	}
	for i, row := range rows(results[0]) {
		out[i].Embedding = row
	}
	return out, nil
}

// EmbedPixels embeds images given as preprocessed pixels (see Preprocess.Pixels), in one batch.
func (m *Model) EmbedPixels(images [][]float32) ([][]float32, error) {
	if len(images) == 0 {
		return nil, nil
	}
	if err := m.compile(); err != nil {
		return nil, err
	}
	s := m.Config.Vision.ImageSize
	flat := make([]float32, 0, len(images)*s*s*3)
	for i, px := range images {
		if len(px) != s*s*3 {
			return nil, fmt.Errorf("image %d has %d values, the model needs %dx%dx3", i, len(px), s, s)
		}
		flat = append(flat, px...)
	}
	results, err := m.imgExec.Exec(tensors.FromFlatDataAndDimensions(flat, len(images), s, s, 3))
	if err != nil {
		return nil, fmt.Errorf("running the vision tower: %w", err)
	}
	return rows(results[0]), nil
}

// EmbedImageFiles loads, preprocesses and embeds image files (see LoadImage).
func (m *Model) EmbedImageFiles(paths []string) ([][]float32, error) {
	pixels := make([][]float32, len(paths))
	for i, p := range paths {
		img, err := LoadImage(p)
		if err != nil {
			return nil, err
		}
		pixels[i] = m.Preprocess.Pixels(img)
	}
	return m.EmbedPixels(pixels)
}

// LogitScale is exp of the checkpoint's stored logit_scale, the factor on cosine similarities.
func (m *Model) LogitScale() (float64, error) {
	v := m.Store.GetVariable(VariablePath("logit_scale"))
	if v == nil {
		return 0, fmt.Errorf("model %s has no logit_scale", m.Name)
	}
	value, err := v.Value()
	if err != nil {
		return 0, err
	}
	return math.Exp(float64(tensors.MustCopyFlatData[float32](value)[0])), nil
}

// LogitsPerImage is HuggingFace's logits_per_image: scale times the cosine similarity of every
// image embedding (rows) to every text embedding (columns).
func LogitsPerImage(images, texts [][]float32, scale float64) [][]float64 {
	out := make([][]float64, len(images))
	for i, img := range images {
		out[i] = make([]float64, len(texts))
		for j, txt := range texts {
			out[i][j] = scale * Cosine(img, txt)
		}
	}
	return out
}

// Cosine is the cosine similarity of two vectors (0 if either is zero).
func Cosine(a, b []float32) float64 {
	var dot, na, nb float64
	for i := range a {
		dot += float64(a[i]) * float64(b[i])
		na += float64(a[i]) * float64(a[i])
		nb += float64(b[i]) * float64(b[i])
	}
	if na == 0 || nb == 0 {
		return 0
	}
	return dot / math.Sqrt(na*nb)
}

// rows splits a [n, d] float32 tensor into n slices.
func rows(t *tensors.Tensor) [][]float32 {
	flat := tensors.MustCopyFlatData[float32](t)
	n, d := t.Shape().Dim(0), t.Shape().Dim(1)
	out := make([][]float32, n)
	for i := range out {
		out[i] = flat[i*d : (i+1)*d]
	}
	return out
}

// Unit is v scaled to length 1 (zeros stay zeros), as CLIP compares embeddings.
func Unit(v []float32) []float32 {
	var norm float64
	for _, x := range v {
		norm += float64(x) * float64(x)
	}
	out := make([]float32, len(v))
	for i, x := range v {
		out[i] = float32(float64(x) / max(math.Sqrt(norm), 1e-12))
	}
	return out
}
