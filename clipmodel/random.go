package clipmodel

import (
	"fmt"
	"iter"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"strings"

	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
)

// architectures are the OpenAI CLIP shapes that random:ARCH builds.
var architectures = map[string]func() *Config{
	"ViT-B/32":       func() *Config { return vitConfig(768, 12, 12, 224, 32, 512, 8, 512) },
	"ViT-B/16":       func() *Config { return vitConfig(768, 12, 12, 224, 16, 512, 8, 512) },
	"ViT-L/14":       func() *Config { return vitConfig(1024, 24, 16, 224, 14, 768, 12, 768) },
	"ViT-L/14@336px": func() *Config { return vitConfig(1024, 24, 16, 336, 14, 768, 12, 768) },
	"RN50":           func() *Config { return resnetConfig([]int{3, 4, 6, 3}, 64, 224, 1024, 512, 8) },
	"RN101":          func() *Config { return resnetConfig([]int{3, 4, 23, 3}, 64, 224, 512, 512, 8) },
	"RN50x4":         func() *Config { return resnetConfig([]int{4, 6, 10, 6}, 80, 288, 640, 640, 10) },
	"RN50x16":        func() *Config { return resnetConfig([]int{6, 8, 18, 8}, 96, 384, 768, 768, 12) },
	"RN50x64":        func() *Config { return resnetConfig([]int{3, 15, 36, 10}, 128, 448, 1024, 1024, 16) },
	// tiny is a toy of the same family (32x32 input, width 32) for fast tests.
	"tiny": func() *Config {
		c := vitConfig(32, 2, 4, 32, 8, 24, 4, 16)
		c.Text.VocabSize, c.Text.MaxPositionEmbeddings = 600, 16
		return c
	},
}

func vitConfig(vWidth, vLayers, vHeads, imageSize, patch, tWidth, tHeads, proj int) *Config {
	c := &Config{ModelType: "clip", ProjectionDim: proj, LogitScaleInitValue: 2.6592,
		Text: DefaultTextConfig(), Vision: DefaultVisionConfig(), Architectures: []string{"CLIPModel"}}
	c.Vision.HiddenSize, c.Vision.NumHiddenLayers, c.Vision.NumAttentionHeads = vWidth, vLayers, vHeads
	c.Vision.IntermediateSize, c.Vision.ImageSize, c.Vision.PatchSize = 4*vWidth, imageSize, patch
	c.Text.HiddenSize, c.Text.NumAttentionHeads, c.Text.IntermediateSize = tWidth, tHeads, 4*tWidth
	return c
}

// resnetConfig is an OpenAI ResNet CLIP: stage depths, stem width, input size, embedding width
// and the text tower's width and heads; the attention pool has a head per 64 channels.
func resnetConfig(layers []int, width, imageSize, proj, tWidth, tHeads int) *Config {
	c := vitConfig(width, 0, width*32/64, imageSize, 32, tWidth, tHeads, proj)
	c.Vision.ResNetLayers, c.Vision.IntermediateSize = layers, 0
	return c
}

// Architectures lists the names random:ARCH accepts.
func Architectures() []string {
	return slices.Sorted(maps.Keys(architectures))
}

// openAIHubArchitectures are the architectures of OpenAI's CLIPs on the HuggingFace hub.
var openAIHubArchitectures = map[string]string{
	"openai/clip-vit-base-patch32": "ViT-B/32", "openai/clip-vit-base-patch16": "ViT-B/16",
	"openai/clip-vit-large-patch14": "ViT-L/14", "openai/clip-vit-large-patch14-336": "ViT-L/14@336px",
}

// KnownArchitecture is the architecture a model name stands for without reading it: an OpenAI
// name (ViT-B/32, RN50, ...) or one of OpenAI's hub ids (openai/clip-vit-base-patch32, ...).
func KnownArchitecture(name string) (string, bool) {
	if _, ok := architectures[name]; ok && name != "tiny" {
		return name, true
	}
	arch, ok := openAIHubArchitectures[name]
	return arch, ok
}

// ArchitectureConfig returns the config of a known architecture such as "ViT-B/32".
func ArchitectureConfig(arch string) (*Config, error) {
	build, ok := architectures[arch]
	if !ok {
		return nil, fmt.Errorf("unknown architecture %q: use one of %s", arch, strings.Join(Architectures(), ", "))
	}
	return build(), nil
}

// LoadRandom builds a randomly initialised model of a known architecture (see Architectures),
// the same for the same seed, with a byte-level tokenizer (no merges), for benchmarks and tests.
func LoadRandom(arch string, seed uint64) (*Model, error) {
	cfg, err := ArchitectureConfig(arch)
	if err != nil {
		return nil, err
	}
	return NewRandom(RandomPrefix+arch, cfg, seed)
}

// NewRandom builds a randomly initialised model of any valid config.
func NewRandom(name string, cfg *Config, seed uint64) (*Model, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	backend, err := Backend()
	if err != nil {
		return nil, err
	}
	store := model.NewStore()
	// One weight at a time, so that the host never holds a second copy of the model.
	for t := range randomWeights(cfg, seed) {
		if err := storeOnBackend(store, backend, t.Name, tensors.FromFlatDataAndDimensions(t.Data, t.Shape...)); err != nil {
			return nil, err
		}
	}
	return &Model{Name: name, Config: cfg, Preprocess: DefaultPreprocess(cfg.Vision.ImageSize), Tokenizer: ByteTokenizer(cfg),
		Store: store, Backend: backend}, nil
}

// ByteTokenizer is a tokenizer over ByteVocabulary for a config, as random models use.
func ByteTokenizer(cfg *Config) *Tokenizer {
	tok, err := NewTokenizer(ByteVocabulary(cfg.Text.VocabSize), nil, cfg.Text.MaxPositionEmbeddings)
	if err != nil {
		panic(err) // The byte vocabulary always has what NewTokenizer checks for.
	}
	return tok
}

// ByteVocabulary is a byte-level vocabulary without merges: the 256 byte symbols, the same with
// the word-end mark, and the start and end tokens at the last two ids of a vocabulary of size
// vocabSize (at least 514).
func ByteVocabulary(vocabSize int) map[string]int {
	vocab := make(map[string]int, 514)
	for i, sym := range byteSymbols {
		vocab[sym] = i
		vocab[sym+wordEnd] = 256 + i
	}
	vocab[startToken] = vocabSize - 2
	vocab[endToken] = vocabSize - 1
	return vocab
}

// RandomWeights draws every tensor of the config from a seeded generator, scaled as CLIP's own
// initialisation: unit layer norms, zero biases, small embeddings, fan-in scaled matrices.
func RandomWeights(cfg *Config, seed uint64) []NamedTensor {
	return slices.Collect(randomWeights(cfg, seed))
}

// randomWeights yields RandomWeights one tensor at a time.
func randomWeights(cfg *Config, seed uint64) iter.Seq[NamedTensor] {
	return func(yield func(NamedTensor) bool) {
		normal := newNormals(rand.New(rand.NewPCG(seed, 0x5eed)))
		for _, spec := range cfg.TensorSpecs() {
			n := 1
			for _, d := range spec.Shape {
				n *= d
			}
			data := make([]float32, n)
			switch std, fill := initScale(spec); {
			case std > 0:
				for j := range data {
					data[j] = float32(normal() * std)
				}
			default:
				for j := range data {
					data[j] = fill
				}
			}
			if !yield(NamedTensor{Name: spec.Name, Shape: spec.Shape, Data: data}) {
				return
			}
		}
	}
}

// newNormals returns a source of standard normal numbers, drawn in pairs by the Box-Muller
// transform. It fixes what every seed draws: random:ARCH models and trainings from scratch give
// the weights they always gave.
func newNormals(rng *rand.Rand) func() float64 {
	var spare float64
	var hasSpare bool
	return func() float64 {
		if hasSpare {
			hasSpare = false
			return spare
		}
		r := math.Sqrt(-2 * math.Log(1-rng.Float64()))
		sin, cos := math.Sincos(2 * math.Pi * rng.Float64())
		spare, hasSpare = r*sin, true
		return r * cos
	}
}

// initScale returns the standard deviation of a weight, or 0 and the constant that fills it.
func initScale(spec TensorSpec) (float64, float32) {
	name := spec.Name
	switch {
	case name == "logit_scale":
		return 0, float32(math.Log(1 / 0.07))
	case strings.Contains(name, "norm") && strings.HasSuffix(name, ".weight"),
		len(spec.Shape) == 1 && strings.HasSuffix(name, ".weight"), // batch norms
		strings.HasSuffix(name, ".running_var"):
		return 0, 1
	case strings.HasSuffix(name, ".running_mean"):
		return 0, 0
	case strings.HasSuffix(name, ".bias"):
		return 0, 0
	case strings.Contains(name, "position_embedding"):
		return 0.01, 0
	case strings.Contains(name, "embedding"):
		return 0.02, 0
	}
	fanIn := spec.Shape[len(spec.Shape)-1]
	if len(spec.Shape) == 4 {
		fanIn = spec.Shape[1] * spec.Shape[2] * spec.Shape[3]
	}
	return 1 / math.Sqrt(float64(fanIn)), 0
}
