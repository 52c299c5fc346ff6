package clipmodel

import (
	"cmp"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strings"

	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
)

// OpenAI's state-dict layout (openai/CLIP's clip/model.py, which open_clip keeps): the text
// tower and ViT weights are renamed into HuggingFace's names on loading, so that the same graph
// functions run them; ResNet vision weights keep their names under "visual.".

// stateDict is a checkpoint's named tensors, whatever the file format.
type stateDict interface {
	// Shape returns a tensor's shape, and whether the checkpoint has it.
	Shape(name string) ([]int, bool)
	// Float32 reads a tensor converted to float32, in row-major order.
	Float32(name string) ([]float32, error)
	// Names lists the tensors.
	Names() []string
	// Path names the file, for errors.
	Path() string
}

// openAIHints are architecture facts that tensor shapes do not show: open_clip's config carries
// them, OpenAI's own checkpoints follow fixed rules (64-wide attention heads, quick GELU).
type openAIHints struct {
	visionHeads, textHeads int // 0: OpenAI's rule
	act                    string
}

// countBlocks counts the distinct block numbers N among names "prefix.N....".
func countBlocks(sd stateDict, prefix string) int {
	seen := map[string]bool{}
	for _, name := range sd.Names() {
		if rest, ok := strings.CutPrefix(name, prefix); ok {
			if n, _, found := strings.Cut(rest, "."); found {
				seen[n] = true
			}
		}
	}
	return len(seen)
}

// dim returns axis of a tensor's shape, or -1 where the tensor is missing or smaller.
func dim(sd stateDict, name string, axis int) int {
	s, ok := sd.Shape(name)
	if !ok || axis >= len(s) {
		return -1
	}
	return s[axis]
}

// openAIConfig infers the architecture from the tensor shapes, as openai/CLIP's build_model does.
func openAIConfig(sd stateDict, hints openAIHints) (*Config, error) {
	for _, need := range []string{"token_embedding.weight", "positional_embedding", "ln_final.weight", "text_projection", "visual.conv1.weight"} {
		if _, ok := sd.Shape(need); !ok {
			return nil, fmt.Errorf("%s: no tensor %q: not a CLIP checkpoint in OpenAI's layout (openai/CLIP or open_clip; "+
				"a HuggingFace CLIPModel's weights load from their folder: pass the folder)", sd.Path(), need)
		}
	}
	c := &Config{ModelType: "clip", ProjectionDim: dim(sd, "text_projection", 1), LogitScaleInitValue: 2.6592,
		Text: DefaultTextConfig(), Vision: DefaultVisionConfig()}
	t := &c.Text
	t.HiddenSize, t.MaxPositionEmbeddings = dim(sd, "ln_final.weight", 0), dim(sd, "positional_embedding", 0)
	t.VocabSize, t.NumHiddenLayers = dim(sd, "token_embedding.weight", 0), countBlocks(sd, "transformer.resblocks.")
	t.IntermediateSize = dim(sd, "transformer.resblocks.0.mlp.c_fc.weight", 0)
	t.NumAttentionHeads = cmp.Or(hints.textHeads, t.HiddenSize/64)
	t.BosTokenID, t.EosTokenID, t.PadTokenID = t.VocabSize-2, t.VocabSize-1, 0
	v := &c.Vision
	if _, ok := sd.Shape("visual.layer1.0.conv1.weight"); ok {
		v.ResNetLayers = make([]int, 4)
		for i := range v.ResNetLayers {
			v.ResNetLayers[i] = countBlocks(sd, fmt.Sprintf("visual.layer%d.", i+1))
		}
		v.HiddenSize, v.NumHiddenLayers, v.IntermediateSize = dim(sd, "visual.layer1.0.conv1.weight", 0), 0, 0
		v.ImageSize = 32 * gridSide(dim(sd, "visual.attnpool.positional_embedding", 0))
		v.NumAttentionHeads = cmp.Or(hints.visionHeads, v.HiddenSize*32/64)
	} else {
		v.HiddenSize, v.PatchSize = dim(sd, "visual.conv1.weight", 0), dim(sd, "visual.conv1.weight", 2)
		v.NumHiddenLayers = countBlocks(sd, "visual.transformer.resblocks.")
		v.IntermediateSize = dim(sd, "visual.transformer.resblocks.0.mlp.c_fc.weight", 0)
		v.ImageSize = v.PatchSize * gridSide(dim(sd, "visual.positional_embedding", 0))
		v.NumAttentionHeads = cmp.Or(hints.visionHeads, v.HiddenSize/64)
	}
	act := cmp.Or(hints.act, "quick_gelu")
	t.HiddenAct, v.HiddenAct = act, act
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("%s: the architecture inferred from its tensor shapes is not valid: %w", sd.Path(), err)
	}
	return c, nil
}

// gridSide is the side of a square grid of positions plus one class position.
func gridSide(positions int) int {
	return int(math.Round(math.Sqrt(float64(positions - 1))))
}

// openAISource says where a weight of HuggingFace's name lies in OpenAI's layout: the tensor,
// which third of its rows (1-3 for the fused q/k/v projection, 0 for all) and whether to transpose.
type openAISource struct {
	name      string
	third     int
	transpose bool
}

var (
	openAIFixedNames = map[string]openAISource{
		"text_model.embeddings.token_embedding.weight":      {name: "token_embedding.weight"},
		"text_model.embeddings.position_embedding.weight":   {name: "positional_embedding"},
		"text_model.final_layer_norm.weight":                {name: "ln_final.weight"},
		"text_model.final_layer_norm.bias":                  {name: "ln_final.bias"},
		"text_projection.weight":                            {name: "text_projection", transpose: true},
		"vision_model.embeddings.class_embedding":           {name: "visual.class_embedding"},
		"vision_model.embeddings.patch_embedding.weight":    {name: "visual.conv1.weight"},
		"vision_model.embeddings.position_embedding.weight": {name: "visual.positional_embedding"},
		"vision_model.pre_layrnorm.weight":                  {name: "visual.ln_pre.weight"},
		"vision_model.pre_layrnorm.bias":                    {name: "visual.ln_pre.bias"},
		"vision_model.post_layernorm.weight":                {name: "visual.ln_post.weight"},
		"vision_model.post_layernorm.bias":                  {name: "visual.ln_post.bias"},
		"visual_projection.weight":                          {name: "visual.proj", transpose: true},
		"logit_scale":                                       {name: "logit_scale"},
	}
	openAILayerParts = map[string]openAISource{
		"self_attn.q_proj.weight": {"attn.in_proj_weight", 1, false}, "self_attn.q_proj.bias": {"attn.in_proj_bias", 1, false},
		"self_attn.k_proj.weight": {"attn.in_proj_weight", 2, false}, "self_attn.k_proj.bias": {"attn.in_proj_bias", 2, false},
		"self_attn.v_proj.weight": {"attn.in_proj_weight", 3, false}, "self_attn.v_proj.bias": {"attn.in_proj_bias", 3, false},
		"self_attn.out_proj.weight": {name: "attn.out_proj.weight"}, "self_attn.out_proj.bias": {name: "attn.out_proj.bias"},
		"layer_norm1.weight": {name: "ln_1.weight"}, "layer_norm1.bias": {name: "ln_1.bias"},
		"layer_norm2.weight": {name: "ln_2.weight"}, "layer_norm2.bias": {name: "ln_2.bias"},
		"mlp.fc1.weight": {name: "mlp.c_fc.weight"}, "mlp.fc1.bias": {name: "mlp.c_fc.bias"},
		"mlp.fc2.weight": {name: "mlp.c_proj.weight"}, "mlp.fc2.bias": {name: "mlp.c_proj.bias"},
	}
	encoderLayerName = regexp.MustCompile(`^(text|vision)_model\.encoder\.layers\.(\d+)\.(.+)$`)
)

// sourceOf maps a HuggingFace weight name (or a ResNet weight, named as OpenAI names it) to
// OpenAI's layout.
func sourceOf(name string) (openAISource, error) {
	if strings.HasPrefix(name, "visual.") {
		return openAISource{name: name}, nil
	}
	if src, ok := openAIFixedNames[name]; ok {
		return src, nil
	}
	m := encoderLayerName.FindStringSubmatch(name)
	if m == nil {
		return openAISource{}, fmt.Errorf("no OpenAI name for weight %s", name)
	}
	src, ok := openAILayerParts[m[3]]
	if !ok {
		return openAISource{}, fmt.Errorf("no OpenAI name for weight %s", name)
	}
	prefix := "transformer.resblocks." + m[2] + "."
	if m[1] == "vision" {
		prefix = "visual." + prefix
	}
	src.name = prefix + src.name
	return src, nil
}

// readOpenAIWeight reads one weight of the config from the state dict, as spec names and shapes it.
func readOpenAIWeight(sd stateDict, spec TensorSpec) ([]float32, error) {
	src, err := sourceOf(spec.Name)
	if err != nil {
		return nil, err
	}
	shape, ok := sd.Shape(src.name)
	if !ok {
		return nil, fmt.Errorf("%s: missing tensor %q (for %s)", sd.Path(), src.name, spec.Name)
	}
	want := slices.Clone(spec.Shape)
	switch {
	case src.third > 0:
		want[0] *= 3
	case src.transpose && len(want) == 2:
		want[0], want[1] = want[1], want[0]
	}
	if !slices.Equal(shape, want) {
		return nil, fmt.Errorf("%s: tensor %q has shape %v, the architecture inferred from the checkpoint needs %v",
			sd.Path(), src.name, shape, want)
	}
	data, err := readFinite(sd, src.name)
	if err != nil {
		return nil, err
	}
	if src.third > 0 {
		n := len(data) / 3
		return data[(src.third-1)*n : src.third*n], nil
	}
	if src.transpose {
		return transpose2D(data, shape[0], shape[1]), nil
	}
	return data, nil
}

func transpose2D(data []float32, rows, cols int) []float32 {
	out := make([]float32, len(data))
	for r := range rows {
		for c := range cols {
			out[c*rows+r] = data[r*cols+c]
		}
	}
	return out
}

// loadOpenAIWeights reads every weight the config needs from an OpenAI-layout state dict into a
// new store on the process-wide backend.
func loadOpenAIWeights(sd stateDict, cfg *Config) (*model.Store, error) {
	backend, err := Backend()
	if err != nil {
		return nil, err
	}
	store := model.NewStore()
	for _, spec := range cfg.TensorSpecs() {
		data, err := readOpenAIWeight(sd, spec)
		if err != nil {
			return nil, err
		}
		if err := storeOnBackend(store, backend, spec.Name, tensors.FromFlatDataAndDimensions(data, spec.Shape...)); err != nil {
			return nil, fmt.Errorf("%s: %w", sd.Path(), err)
		}
	}
	return store, nil
}

// newOpenAIModel builds a model from an OpenAI-layout state dict.
func newOpenAIModel(name string, sd stateDict, hints openAIHints, tok *Tokenizer) (*Model, error) {
	cfg, err := openAIConfig(sd, hints)
	if err != nil {
		return nil, err
	}
	if tok == nil {
		if tok, err = StandardTokenizer(cfg.Text.MaxPositionEmbeddings); err != nil {
			return nil, err
		}
	}
	if tok.EndID >= cfg.Text.VocabSize || tok.StartID >= cfg.Text.VocabSize {
		return nil, fmt.Errorf("%s: the tokenizer's ids reach %d but the checkpoint's vocabulary has %d tokens",
			sd.Path(), max(tok.EndID, tok.StartID), cfg.Text.VocabSize)
	}
	store, err := loadOpenAIWeights(sd, cfg)
	if err != nil {
		return nil, err
	}
	backend, _ := Backend()
	return &Model{Name: name, Config: cfg, Preprocess: openAIPreprocess(cfg.Vision.ImageSize), Tokenizer: tok,
		Store: store, Backend: backend}, nil
}

// openAIPreprocess is clip.load's preprocessing: torchvision's Resize (bicubic) and CenterCrop,
// with OpenAI's mean and std.
func openAIPreprocess(imageSize int) Preprocess {
	p := DefaultPreprocess(imageSize)
	p.Torchvision = true
	return p
}
