package clipmodel

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/gomlx/go-huggingface/hub"
)

// open_clip's hub layout: open_clip_config.json and open_clip_model.safetensors (or
// open_clip_pytorch_model.bin), with OpenAI's state-dict names, and no tokenizer files.

const (
	openCLIPConfigFile      = "open_clip_config.json"
	openCLIPSafetensorsFile = "open_clip_model.safetensors"
	openCLIPPickleFile      = "open_clip_pytorch_model.bin"
)

// isOpenCLIPFolder tells whether dir holds an open_clip checkpoint rather than a HuggingFace one:
// it has open_clip_config.json, and no config.json of a HuggingFace CLIPModel (laion's
// repositories hold both layouts; timm's have a config.json of timm's own).
func isOpenCLIPFolder(dir string) bool {
	if _, err := os.Stat(filepath.Join(dir, openCLIPConfigFile)); err != nil {
		return false
	}
	return !isHFCLIPConfig(filepath.Join(dir, "config.json"))
}

// isHFCLIPConfig tells whether path is a HuggingFace CLIPModel config.json.
func isHFCLIPConfig(path string) bool {
	data, err := os.ReadFile(path)
	if err != nil {
		return false
	}
	var c struct {
		ModelType string `json:"model_type"`
	}
	return json.Unmarshal(data, &c) == nil && c.ModelType == "clip"
}

// openCLIPWeights returns the folder's weights file: the safetensors one when both are there.
func openCLIPWeights(dir string) (string, error) {
	for _, name := range []string{openCLIPSafetensorsFile, openCLIPPickleFile} {
		if _, err := os.Stat(filepath.Join(dir, name)); err == nil {
			return filepath.Join(dir, name), nil
		}
	}
	return "", fmt.Errorf("%s has %s but neither %s nor %s", dir, openCLIPConfigFile, openCLIPSafetensorsFile, openCLIPPickleFile)
}

// openCLIPConfig is what clipwork reads of open_clip_config.json.
type openCLIPConfig struct {
	hints openAIHints
	pre   openCLIPPreprocess
	size  int // vision_cfg.image_size, 0 if absent
	// visionWidth and textWidth are vision_cfg.width and text_cfg.width, 0 if absent.
	visionWidth, textWidth int
}

// openCLIPAnyValue are the keys whose value clipwork either reads or may ignore; the other keys
// of openCLIPDefaults are accepted only at the value that means OpenAI's architecture.
var (
	openCLIPAnyValue = map[string]bool{
		"model_cfg.embed_dim": true, "model_cfg.quick_gelu": true, "model_cfg.vision_cfg": true, "model_cfg.text_cfg": true,
		"vision_cfg.image_size": true, "vision_cfg.layers": true, "vision_cfg.width": true, "vision_cfg.patch_size": true,
		"vision_cfg.head_width": true, "vision_cfg.mlp_ratio": true, "vision_cfg.patch_dropout": true,
		"text_cfg.context_length": true, "text_cfg.vocab_size": true, "text_cfg.width": true, "text_cfg.heads": true,
		"text_cfg.layers": true, "text_cfg.mlp_ratio": true, "text_cfg.pad_id": true,
	}
	openCLIPDefaults = map[string][]string{
		"model_cfg.custom_text": {"false"}, "model_cfg.cast_dtype": {"null"},
		"vision_cfg.ls_init_value": {"null"}, "vision_cfg.attentional_pool": {"false"}, "vision_cfg.no_ln_pre": {"false"},
		"vision_cfg.pool_type": {`"tok"`}, "vision_cfg.final_ln_after_pool": {"false"}, "vision_cfg.output_tokens": {"false"},
		"vision_cfg.timm_model_name": {"null"}, "vision_cfg.input_patchnorm": {"false"},
		"text_cfg.ls_init_value": {"null"}, "text_cfg.hf_model_name": {"null"}, "text_cfg.pool_type": {`"argmax"`},
		"text_cfg.embed_cls": {"false"}, "text_cfg.no_causal_mask": {"false"}, "text_cfg.proj_bias": {"false"},
		"text_cfg.output_tokens": {"false"}, "text_cfg.hf_tokenizer_name": {"null"}, "text_cfg.tokenizer_kwargs": {"null"},
	}
)

// checkOpenCLIPKeys fails on any option of section that clipwork does not implement.
func checkOpenCLIPKeys(section string, raw map[string]json.RawMessage) error {
	for key, value := range raw {
		name := section + "." + key
		if openCLIPAnyValue[name] {
			continue
		}
		v := string(bytes.TrimSpace(value))
		if accepted, known := openCLIPDefaults[name]; known && slices.Contains(accepted, v) {
			continue
		}
		return fmt.Errorf("%s is %s: clipwork does not support this option (it runs OpenAI's ViT and ModifiedResNet towers "+
			"with the standard text transformer)", name, v)
	}
	return nil
}

// parseOpenCLIPConfig reads open_clip_config.json's model_cfg and preprocess_cfg.
func parseOpenCLIPConfig(data []byte) (*openCLIPConfig, error) {
	var file struct {
		ModelCfg      map[string]json.RawMessage `json:"model_cfg"`
		PreprocessCfg json.RawMessage            `json:"preprocess_cfg"`
	}
	if err := json.Unmarshal(data, &file); err != nil {
		return nil, fmt.Errorf("not valid JSON: %w", err)
	}
	if file.ModelCfg == nil {
		return nil, errors.New("no model_cfg")
	}
	c, err := readOpenCLIPModel(file.ModelCfg)
	if err != nil {
		return nil, err
	}
	if c.pre, err = readOpenCLIPPreprocess(file.PreprocessCfg, c.size); err != nil {
		return nil, err
	}
	return c, nil
}

// readOpenCLIPModel reads model_cfg: the heads, the activation and the image size.
func readOpenCLIPModel(cfg map[string]json.RawMessage) (*openCLIPConfig, error) {
	if err := checkOpenCLIPKeys("model_cfg", cfg); err != nil {
		return nil, err
	}
	var vision, text map[string]json.RawMessage
	if err := unmarshalSection(cfg, "vision_cfg", &vision); err != nil {
		return nil, err
	}
	if err := unmarshalSection(cfg, "text_cfg", &text); err != nil {
		return nil, err
	}
	if err := checkOpenCLIPKeys("vision_cfg", vision); err != nil {
		return nil, err
	}
	if err := checkOpenCLIPKeys("text_cfg", text); err != nil {
		return nil, err
	}
	var v struct {
		ImageSize json.RawMessage `json:"image_size"`
		Layers    json.RawMessage `json:"layers"`
		Width     int             `json:"width"`
		HeadWidth *int            `json:"head_width"`
	}
	var t struct {
		Width int  `json:"width"`
		Heads *int `json:"heads"`
	}
	var quickGELU bool
	for _, part := range []struct {
		name string
		raw  json.RawMessage
		into any
	}{{"vision_cfg", cfg["vision_cfg"], &v}, {"text_cfg", cfg["text_cfg"], &t}, {"quick_gelu", cfg["quick_gelu"], &quickGELU}} {
		if len(part.raw) > 0 {
			if err := json.Unmarshal(part.raw, part.into); err != nil {
				return nil, fmt.Errorf("model_cfg.%s: %w", part.name, err)
			}
		}
	}
	c := &openCLIPConfig{hints: openAIHints{act: "gelu"}, visionWidth: v.Width, textWidth: t.Width}
	if quickGELU {
		c.hints.act = "quick_gelu"
	}
	var err error
	if c.size, err = squareSize(v.ImageSize, "vision_cfg.image_size"); err != nil {
		return nil, err
	}
	resnet := bytes.HasPrefix(bytes.TrimSpace(v.Layers), []byte("["))
	if c.hints.visionHeads, err = visionHeads(v.Width, v.HeadWidth, resnet); err != nil {
		return nil, err
	}
	if c.hints.textHeads, err = headCount("text_cfg", t.Width, t.Heads); err != nil {
		return nil, err
	}
	return c, nil
}

// visionHeads is the vision tower's head count from vision_cfg's width and head_width (64 when
// absent), as open_clip computes it; 0 (OpenAI's rule) without a width.
func visionHeads(width int, headWidth *int, resnet bool) (int, error) {
	hw := 64
	if headWidth != nil {
		hw = *headWidth
	}
	if hw <= 0 {
		return 0, fmt.Errorf("vision_cfg.head_width is %d: it must be positive (open_clip's default is 64)", hw)
	}
	if resnet {
		width *= 32 // open_clip's ModifiedResNet: heads = width * 32 // head_width
	}
	if width%hw != 0 {
		return 0, fmt.Errorf("vision_cfg.head_width %d does not divide the vision width %d: fix head_width", hw, width)
	}
	return width / hw, nil
}

// headCount is text_cfg.heads (8 when absent), which must divide the width where it is given.
func headCount(section string, width int, heads *int) (int, error) {
	n := 8
	if heads != nil {
		n = *heads
	}
	if n <= 0 {
		return 0, fmt.Errorf("%s.heads is %d: it must be positive", section, n)
	}
	if width%n != 0 {
		return 0, fmt.Errorf("%s.heads %d does not divide %s.width %d: fix heads", section, n, section, width)
	}
	return n, nil
}

// squareSize reads an image size given as a number or as a square [n, n]; 0 where absent.
func squareSize(raw json.RawMessage, field string) (int, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return 0, nil
	}
	var n int
	if json.Unmarshal(raw, &n) == nil && n > 0 {
		return n, nil
	}
	var pair []int
	if json.Unmarshal(raw, &pair) == nil && len(pair) == 2 && pair[0] == pair[1] && pair[0] > 0 {
		return pair[0], nil
	}
	return 0, fmt.Errorf("%s is %s: clipwork needs a positive number or a square [n, n] (its towers take square images)", field, raw)
}

func unmarshalSection(cfg map[string]json.RawMessage, key string, into *map[string]json.RawMessage) error {
	raw, ok := cfg[key]
	if !ok {
		return fmt.Errorf("model_cfg has no %s", key)
	}
	if err := json.Unmarshal(raw, into); err != nil {
		return fmt.Errorf("model_cfg.%s: %w", key, err)
	}
	return nil
}

// openCLIPPreprocess is open_clip_config.json's preprocess_cfg (open_clip's PreprocessCfg).
type openCLIPPreprocess struct {
	Size          json.RawMessage `json:"size"`
	Mode          string          `json:"mode"`
	Mean          []float64       `json:"mean"`
	Std           []float64       `json:"std"`
	Interpolation string          `json:"interpolation"`
	ResizeMode    string          `json:"resize_mode"`
	FillColor     json.RawMessage `json:"fill_color"` // used by resize_mode "longest" only
}

// readOpenCLIPPreprocess reads preprocess_cfg, refusing what clipwork does not implement.
func readOpenCLIPPreprocess(raw json.RawMessage, imageSize int) (openCLIPPreprocess, error) {
	var c openCLIPPreprocess
	if len(raw) == 0 || string(raw) == "null" {
		return c, nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return c, fmt.Errorf("preprocess_cfg: %w (clipwork reads size, mode, mean, std, interpolation, resize_mode and fill_color)", err)
	}
	size, err := squareSize(c.Size, "preprocess_cfg.size")
	if err != nil {
		return c, err
	}
	if size != 0 && imageSize != 0 && size != imageSize {
		return c, fmt.Errorf("preprocess_cfg.size %d differs from vision_cfg.image_size %d", size, imageSize)
	}
	return c, c.check()
}

// check refuses the options clipwork does not implement.
func (c openCLIPPreprocess) check() error {
	if c.Mode != "" && c.Mode != "RGB" {
		return fmt.Errorf("preprocess_cfg.mode %q is not supported: clipwork feeds RGB images", c.Mode)
	}
	if c.Interpolation != "" && c.Interpolation != "bicubic" && c.Interpolation != "bilinear" {
		return fmt.Errorf("preprocess_cfg.interpolation %q is not supported: clipwork resizes bicubic or bilinear", c.Interpolation)
	}
	if c.ResizeMode != "" && c.ResizeMode != "shortest" && c.ResizeMode != "squash" {
		return fmt.Errorf("preprocess_cfg.resize_mode %q is not supported: clipwork resizes the shortest side and crops "+
			"the centre (shortest) or stretches the image to the input size (squash)", c.ResizeMode)
	}
	for name, v := range map[string][]float64{"mean": c.Mean, "std": c.Std} {
		if v != nil && len(v) != 3 {
			return fmt.Errorf("preprocess_cfg.%s needs 3 values, got %v", name, v)
		}
	}
	if c.Std != nil && !(min(c.Std[0], c.Std[1], c.Std[2]) > 0) {
		return fmt.Errorf("preprocess_cfg.std values must be positive, got %v", c.Std)
	}
	return nil
}

// preprocess is the preprocessing open_clip's image_transform builds for a model of the given
// input size: torchvision's Resize and CenterCrop.
func (c openCLIPPreprocess) preprocess(size int) Preprocess {
	p := openAIPreprocess(size)
	p.Bilinear = c.Interpolation == "bilinear"
	if c.ResizeMode == "squash" {
		p.Width, p.Height = size, size
	}
	if c.Mean != nil {
		p.Mean = c.Mean
	}
	if c.Std != nil {
		p.Std = c.Std
	}
	return p
}

// LoadOpenCLIPFolder loads an open_clip checkpoint folder: open_clip_config.json with
// open_clip_model.safetensors or open_clip_pytorch_model.bin in OpenAI's layout. The tokenizer is
// the folder's vocab.json and merges.txt where it has them, else CLIP's standard vocabulary.
func LoadOpenCLIPFolder(dir string) (*Model, error) {
	weights, err := openCLIPWeights(dir)
	if err != nil {
		return nil, err
	}
	return loadOpenCLIP(dir, weights)
}

// loadOpenCLIP loads the weights file as the open_clip model that dir/open_clip_config.json
// describes.
func loadOpenCLIP(dir, weights string) (*Model, error) {
	cfgPath := filepath.Join(dir, openCLIPConfigFile)
	data, err := os.ReadFile(cfgPath)
	if err != nil {
		return nil, err
	}
	oc, err := parseOpenCLIPConfig(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", cfgPath, err)
	}
	sd, err := openStateDict(weights)
	if err != nil {
		return nil, err
	}
	defer sd.Close()
	tok, err := folderTokenizer(dir, sd)
	if err != nil {
		return nil, err
	}
	if err := oc.checkWidths(sd); err != nil {
		return nil, fmt.Errorf("%s: %w", cfgPath, err)
	}
	m, err := newOpenAIModel(dir, sd, oc.hints, tok)
	if err != nil {
		return nil, err
	}
	if err := oc.checkImageSize(&m.Config.Vision); err != nil {
		return nil, fmt.Errorf("%s: %w", cfgPath, err)
	}
	m.Preprocess = oc.pre.preprocess(m.Config.Vision.ImageSize)
	return m, nil
}

// checkWidths refuses a config whose tower widths differ from the weights' (they set the head
// counts, which would split the weights wrongly; open_clip would fail to load them).
func (oc *openCLIPConfig) checkWidths(sd stateDict) error {
	vision := dim(sd, "visual.conv1.weight", 0)
	if _, resnet := sd.Shape("visual.layer1.0.conv1.weight"); resnet {
		vision = dim(sd, "visual.layer1.0.conv1.weight", 0)
	}
	for _, w := range []struct {
		key             string
		config, weights int
	}{{"vision_cfg.width", oc.visionWidth, vision}, {"text_cfg.width", oc.textWidth, dim(sd, "ln_final.weight", 0)}} {
		if w.config != 0 && w.weights > 0 && w.config != w.weights {
			return fmt.Errorf("%s is %d but the weights are %d wide", w.key, w.config, w.weights)
		}
	}
	return nil
}

// checkImageSize refuses an image_size other than the weights' (v, inferred from them), but
// takes a ViT's that is not a multiple of its patch size and gives the weights' grid: the
// patch embedding leaves the remainder out, as open_clip's convolution does.
func (oc *openCLIPConfig) checkImageSize(v *VisionConfig) error {
	switch {
	case oc.size == 0 || oc.size == v.ImageSize:
	case !v.IsResNet() && oc.size/v.PatchSize == v.ImageSize/v.PatchSize:
		v.ImageSize = oc.size
	default:
		return fmt.Errorf("vision_cfg.image_size is %d but the weights are for %d", oc.size, v.ImageSize)
	}
	return nil
}

// folderTokenizer is the tokenizer in dir (vocab.json and merges.txt), or nil for the standard
// one when dir has none.
func folderTokenizer(dir string, sd stateDict) (*Tokenizer, error) {
	if _, err := os.Stat(filepath.Join(dir, "vocab.json")); err != nil {
		return nil, nil
	}
	context, ok := sd.Shape("positional_embedding")
	if !ok {
		return nil, fmt.Errorf("%s: no positional_embedding: not a CLIP checkpoint in OpenAI's layout", sd.Path())
	}
	tok, err := LoadTokenizer(dir, context[0])
	if err != nil {
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	return tok, nil
}

// closableStateDict is a state dict over an open file.
type closableStateDict interface {
	stateDict
	Close() error
}

// openStateDict opens a safetensors file or a PyTorch zip archive (.bin, .pt) in OpenAI's
// layout; a training checkpoint's state_dict is unwrapped as open_clip's loader does.
func openStateDict(path string) (closableStateDict, error) {
	if strings.HasSuffix(path, ".safetensors") {
		st, err := OpenSafetensors(path)
		if err != nil {
			return nil, err
		}
		return safetensorsStateDict{st}, nil
	}
	a, err := OpenTorchArchive(path)
	if err != nil {
		return nil, err
	}
	a.unwrapTrainingCheckpoint()
	return a, nil
}

// safetensorsStateDict reads a state dict from a safetensors file.
type safetensorsStateDict struct{ *Safetensors }

// Shape returns a tensor's shape.
func (s safetensorsStateDict) Shape(name string) ([]int, bool) {
	t, ok := s.Tensors[name]
	return t.Shape, ok
}

// Float32 reads a tensor as float32.
func (s safetensorsStateDict) Float32(name string) ([]float32, error) {
	return s.ReadFloat32(name)
}

// Names lists the tensors, sorted.
func (s safetensorsStateDict) Names() []string {
	return slices.Sorted(maps.Keys(s.Tensors))
}

// Path is the file's name.
func (s safetensorsStateDict) Path() string {
	return s.Safetensors.Path
}

// LoadTorchScript loads one of OpenAI's checkpoint files (~/.cache/clip/ViT-B-32.pt and the like,
// TorchScript archives) or a torch.save'd state dict (or safetensors file) in OpenAI's layout,
// inferring the architecture from the tensor shapes. The tokenizer is vocab.json and merges.txt
// beside the file where they exist, else CLIP's standard vocabulary.
func LoadTorchScript(file string) (*Model, error) {
	sd, err := openStateDict(file)
	if err != nil {
		return nil, err
	}
	defer sd.Close()
	tok, err := folderTokenizer(filepath.Dir(file), sd)
	if err != nil {
		return nil, err
	}
	return newOpenAIModel(file, sd, openAIHints{}, tok)
}

// loadCheckpointFile loads a weights file named on its own: as the open_clip model that
// open_clip_config.json beside it describes (unless it is a TorchScript archive, which holds its
// own model), else in OpenAI's layout (see LoadTorchScript).
func loadCheckpointFile(file string) (*Model, error) {
	dir := filepath.Dir(file)
	if isFile(filepath.Join(dir, openCLIPConfigFile)) && !isTorchScript(file) {
		m, err := loadOpenCLIP(dir, file)
		if err != nil {
			return nil, err
		}
		m.Name = file
		return m, nil
	}
	return LoadTorchScript(file)
}

// isTorchScript tells whether a file is a TorchScript archive (torch.jit.save, as OpenAI's
// clip.load files are), which holds its own model whatever configuration lies beside it.
func isTorchScript(file string) bool {
	if filepath.Ext(file) == ".safetensors" {
		return false
	}
	a, err := OpenTorchArchive(file)
	if err != nil {
		return false
	}
	defer a.Close()
	_, ok := a.files[a.prefix+"constants.pkl"]
	return ok
}

// OpenAIModels maps CLIPig's (and openai/CLIP's) model names to the file name clip.load keeps in
// ~/.cache/clip/ and the hub repository that holds the same weights in open_clip's layout.
var OpenAIModels = map[string]struct{ File, Hub string }{
	"RN50":           {"RN50.pt", "timm/resnet50_clip.openai"},
	"RN101":          {"RN101.pt", "timm/resnet101_clip.openai"},
	"RN50x4":         {"RN50x4.pt", "timm/resnet50x4_clip.openai"},
	"RN50x16":        {"RN50x16.pt", "timm/resnet50x16_clip.openai"},
	"RN50x64":        {"RN50x64.pt", "timm/resnet50x64_clip.openai"},
	"ViT-B/32":       {"ViT-B-32.pt", "timm/vit_base_patch32_clip_224.openai"},
	"ViT-B/16":       {"ViT-B-16.pt", "timm/vit_base_patch16_clip_224.openai"},
	"ViT-L/14":       {"ViT-L-14.pt", "timm/vit_large_patch14_clip_224.openai"},
	"ViT-L/14@336px": {"ViT-L-14-336px.pt", "timm/vit_large_patch14_clip_336.openai"},
}

// OpenAICacheDir is where openai/CLIP's clip.load keeps its downloads: ~/.cache/clip.
func OpenAICacheDir() string {
	home, err := os.UserHomeDir()
	if err != nil {
		return filepath.Join(".cache", "clip")
	}
	return filepath.Join(home, ".cache", "clip")
}

// loadOpenAIName loads an OpenAI model by its CLIPig name: ~/.cache/clip/FILE.pt when present,
// else the matching hub repository.
func loadOpenAIName(name string) (*Model, error) {
	known := OpenAIModels[name]
	file := filepath.Join(OpenAICacheDir(), known.File)
	if _, err := os.Stat(file); err == nil {
		m, err := LoadTorchScript(file)
		if err != nil {
			return nil, err
		}
		m.Name = name
		return m, nil
	}
	dir, err := hubSnapshot(known.Hub)
	if err != nil {
		return nil, fmt.Errorf("model %s: no %s, and the hub repository %s: %w", name, file, known.Hub, err)
	}
	m, err := LoadFolder(dir)
	if err != nil {
		return nil, err
	}
	m.Name = name
	return m, nil
}

// downloadOpenCLIP downloads an open_clip repository's config and weights (the safetensors file
// when it has one) into the cache.
func downloadOpenCLIP(repo *hub.Repo, names []string) (string, error) {
	if !slices.Contains(names, openCLIPConfigFile) {
		return "", fmt.Errorf("the repository has neither a CLIPModel config.json nor %s: not a HuggingFace CLIPModel or an open_clip checkpoint", openCLIPConfigFile)
	}
	wanted := []string{openCLIPConfigFile, openCLIPPickleFile}
	if slices.Contains(names, openCLIPSafetensorsFile) {
		wanted[1] = openCLIPSafetensorsFile
	}
	paths, err := repo.DownloadFiles(wanted...)
	if err != nil {
		return "", err
	}
	return filepath.Dir(paths[0]), nil
}

// hasHFCLIPConfig downloads a repository's config.json, if it has one, and tells whether it is a
// HuggingFace CLIPModel's.
func hasHFCLIPConfig(repo *hub.Repo, names []string) (bool, error) {
	if !slices.Contains(names, "config.json") {
		return false, nil
	}
	path, err := repo.DownloadFile("config.json")
	if err != nil {
		return false, err
	}
	return isHFCLIPConfig(path), nil
}
