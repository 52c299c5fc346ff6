package clipmodel

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
)

// TextConfig describes the text transformer, with HuggingFace's CLIPTextConfig field names.
type TextConfig struct {
	HiddenSize            int     `json:"hidden_size"`
	IntermediateSize      int     `json:"intermediate_size"`
	NumHiddenLayers       int     `json:"num_hidden_layers"`
	NumAttentionHeads     int     `json:"num_attention_heads"`
	MaxPositionEmbeddings int     `json:"max_position_embeddings"`
	VocabSize             int     `json:"vocab_size"`
	HiddenAct             string  `json:"hidden_act"`
	LayerNormEps          float64 `json:"layer_norm_eps"`
	BosTokenID            int     `json:"bos_token_id"`
	EosTokenID            int     `json:"eos_token_id"`
	PadTokenID            int     `json:"pad_token_id"`
}

// VisionConfig describes the ViT vision tower, with HuggingFace's CLIPVisionConfig field names.
type VisionConfig struct {
	HiddenSize        int     `json:"hidden_size"`
	IntermediateSize  int     `json:"intermediate_size"`
	NumHiddenLayers   int     `json:"num_hidden_layers"`
	NumAttentionHeads int     `json:"num_attention_heads"`
	ImageSize         int     `json:"image_size"`
	PatchSize         int     `json:"patch_size"`
	NumChannels       int     `json:"num_channels"`
	HiddenAct         string  `json:"hidden_act"`
	LayerNormEps      float64 `json:"layer_norm_eps"`
	// ResNetLayers, a clipwork extension, makes the tower OpenAI's ModifiedResNet with this many
	// Bottleneck blocks in each of its four stages; HiddenSize is then the stem's width and
	// NumAttentionHeads the attention pool's heads (see resnet.go).
	ResNetLayers []int `json:"resnet_layers,omitempty"`
}

// Config is a CLIP model's architecture, as in a HuggingFace CLIPModel config.json.
type Config struct {
	ModelType           string       `json:"model_type"`
	ProjectionDim       int          `json:"projection_dim"`
	LogitScaleInitValue float64      `json:"logit_scale_init_value"`
	Text                TextConfig   `json:"text_config"`
	Vision              VisionConfig `json:"vision_config"`
	Architectures       []string     `json:"architectures,omitempty"`
}

// DefaultTextConfig is HuggingFace's CLIPTextConfig default (the ViT-B/32 text tower); fields
// missing from a config.json keep these values, as in transformers.
func DefaultTextConfig() TextConfig {
	return TextConfig{
		HiddenSize: 512, IntermediateSize: 2048, NumHiddenLayers: 12, NumAttentionHeads: 8,
		MaxPositionEmbeddings: 77, VocabSize: 49408, HiddenAct: "quick_gelu", LayerNormEps: 1e-5,
		BosTokenID: 49406, EosTokenID: 49407, PadTokenID: 1,
	}
}

// DefaultVisionConfig is HuggingFace's CLIPVisionConfig default (ViT-B/32).
func DefaultVisionConfig() VisionConfig {
	return VisionConfig{
		HiddenSize: 768, IntermediateSize: 3072, NumHiddenLayers: 12, NumAttentionHeads: 12,
		ImageSize: 224, PatchSize: 32, NumChannels: 3, HiddenAct: "quick_gelu", LayerNormEps: 1e-5,
	}
}

// ParseConfig reads a HuggingFace CLIPModel config.json. Missing fields take transformers'
// defaults, and the legacy "text_config_dict"/"vision_config_dict" entries that older
// checkpoints (openai/clip-vit-base-patch32) carry override the nested configs, as in transformers.
func ParseConfig(data []byte) (*Config, error) {
	var raw struct {
		ModelType           string          `json:"model_type"`
		ProjectionDim       *int            `json:"projection_dim"`
		LogitScaleInitValue *float64        `json:"logit_scale_init_value"`
		Architectures       []string        `json:"architectures"`
		Text                json.RawMessage `json:"text_config"`
		TextDict            json.RawMessage `json:"text_config_dict"`
		Vision              json.RawMessage `json:"vision_config"`
		VisionDict          json.RawMessage `json:"vision_config_dict"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("not valid JSON: %w", err)
	}
	if raw.ModelType != "clip" {
		return nil, fmt.Errorf("model_type is %q, not \"clip\": this is not a CLIPModel config", raw.ModelType)
	}
	c := &Config{ModelType: raw.ModelType, ProjectionDim: 512, LogitScaleInitValue: 2.6592,
		Text: DefaultTextConfig(), Vision: DefaultVisionConfig(), Architectures: raw.Architectures}
	if raw.ProjectionDim != nil {
		c.ProjectionDim = *raw.ProjectionDim
	}
	if raw.LogitScaleInitValue != nil {
		c.LogitScaleInitValue = *raw.LogitScaleInitValue
	}
	for _, part := range []struct {
		name string
		data json.RawMessage
		into any
	}{
		{"text_config", raw.Text, &c.Text}, {"text_config_dict", raw.TextDict, &c.Text},
		{"vision_config", raw.Vision, &c.Vision}, {"vision_config_dict", raw.VisionDict, &c.Vision},
	} {
		if len(part.data) == 0 || string(part.data) == "null" {
			continue
		}
		if err := json.Unmarshal(part.data, part.into); err != nil {
			return nil, fmt.Errorf("%s: %w", part.name, err)
		}
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return c, nil
}

// ReadConfig reads and validates dir/config.json.
func ReadConfig(dir string) (*Config, error) {
	path := filepath.Join(dir, "config.json")
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading CLIP config: %w (a model folder needs HuggingFace's config.json)", err)
	}
	c, err := ParseConfig(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// Validate checks that the sizes are positive and consistent.
func (c *Config) Validate() error {
	if c.Vision.IsResNet() {
		if err := c.Vision.validateResNet(); err != nil {
			return err
		}
		// The rest concerns the text tower: check it beside a valid ViT.
		text := *c
		text.Vision = DefaultVisionConfig()
		return text.Validate()
	}
	positive := []struct {
		name  string
		value int
	}{
		{"projection_dim", c.ProjectionDim},
		{"text_config.hidden_size", c.Text.HiddenSize},
		{"text_config.intermediate_size", c.Text.IntermediateSize},
		{"text_config.num_hidden_layers", c.Text.NumHiddenLayers},
		{"text_config.num_attention_heads", c.Text.NumAttentionHeads},
		{"text_config.max_position_embeddings", c.Text.MaxPositionEmbeddings},
		{"text_config.vocab_size", c.Text.VocabSize},
		{"vision_config.hidden_size", c.Vision.HiddenSize},
		{"vision_config.intermediate_size", c.Vision.IntermediateSize},
		{"vision_config.num_hidden_layers", c.Vision.NumHiddenLayers},
		{"vision_config.num_attention_heads", c.Vision.NumAttentionHeads},
		{"vision_config.image_size", c.Vision.ImageSize},
		{"vision_config.patch_size", c.Vision.PatchSize},
	}
	for _, p := range positive {
		if p.value <= 0 {
			return fmt.Errorf("%s must be positive, got %d", p.name, p.value)
		}
	}
	if c.Text.HiddenSize%c.Text.NumAttentionHeads != 0 {
		return fmt.Errorf("text_config.hidden_size %d is not divisible by num_attention_heads %d",
			c.Text.HiddenSize, c.Text.NumAttentionHeads)
	}
	if c.Vision.HiddenSize%c.Vision.NumAttentionHeads != 0 {
		return fmt.Errorf("vision_config.hidden_size %d is not divisible by num_attention_heads %d",
			c.Vision.HiddenSize, c.Vision.NumAttentionHeads)
	}
	if c.Vision.ImageSize < c.Vision.PatchSize {
		return fmt.Errorf("vision_config.image_size %d is smaller than patch_size %d",
			c.Vision.ImageSize, c.Vision.PatchSize)
	}
	if c.Vision.NumChannels != 3 {
		return fmt.Errorf("vision_config.num_channels is %d; clipwork works on RGB images (3)", c.Vision.NumChannels)
	}
	for name, act := range map[string]string{"text_config": c.Text.HiddenAct, "vision_config": c.Vision.HiddenAct} {
		if _, ok := activations[act]; !ok {
			return fmt.Errorf("%s.hidden_act %q is not supported (use quick_gelu, gelu or gelu_new)", name, act)
		}
	}
	return nil
}

// NumPatches is the number of image patches the vision tower sees (without the class token):
// where the image size is not a multiple of the patch size, the right and bottom remainder is
// left out, as the patch embedding's strided convolution does.
func (v VisionConfig) NumPatches() int {
	n := v.ImageSize / v.PatchSize
	return n * n
}

// UsesHighestTokenForPooling tells whether the text tower pools at the highest token id rather
// than at the first eos_token_id: transformers does so for legacy configs whose eos_token_id is 2,
// such as openai/clip-vit-base-patch32's.
func (t TextConfig) UsesHighestTokenForPooling() bool {
	return t.EosTokenID == 2
}

// PoolIndex is the position whose hidden state the text tower projects, for one tokenized text:
// the first eos_token_id (the last position if there is none), or the highest token id for
// legacy configs (see UsesHighestTokenForPooling).
func (t TextConfig) PoolIndex(tokens []int) int {
	if t.UsesHighestTokenForPooling() {
		best := 0
		for i, id := range tokens {
			if id > tokens[best] {
				best = i
			}
		}
		return best
	}
	for i, id := range tokens {
		if id == t.EosTokenID {
			return i
		}
	}
	return len(tokens) - 1
}
