package clipmodel

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/gomlx/compute"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
)

// TensorSpec names one weight of a CLIP model and its shape, as HuggingFace's CLIPModel stores it.
type TensorSpec struct {
	Name  string
	Shape []int
}

// TensorSpecs lists every weight the config's architecture needs, with HuggingFace's names.
func (c *Config) TensorSpecs() []TensorSpec {
	t, v := c.Text, c.Vision
	specs := []TensorSpec{
		{"text_model.embeddings.token_embedding.weight", []int{t.VocabSize, t.HiddenSize}},
		{"text_model.embeddings.position_embedding.weight", []int{t.MaxPositionEmbeddings, t.HiddenSize}},
	}
	specs = append(specs, encoderSpecs("text_model", t.NumHiddenLayers, t.HiddenSize, t.IntermediateSize)...)
	specs = append(specs, layerNormSpecs("text_model.final_layer_norm", t.HiddenSize)...)
	specs = append(specs, TensorSpec{"text_projection.weight", []int{c.ProjectionDim, t.HiddenSize}})
	if v.IsResNet() {
		return append(append(specs, c.resnetSpecs()...), TensorSpec{"logit_scale", []int{}})
	}
	specs = append(specs,
		TensorSpec{"vision_model.embeddings.class_embedding", []int{v.HiddenSize}},
		TensorSpec{"vision_model.embeddings.patch_embedding.weight", []int{v.HiddenSize, v.NumChannels, v.PatchSize, v.PatchSize}},
		TensorSpec{"vision_model.embeddings.position_embedding.weight", []int{v.NumPatches() + 1, v.HiddenSize}},
	)
	specs = append(specs, layerNormSpecs("vision_model.pre_layrnorm", v.HiddenSize)...)
	specs = append(specs, encoderSpecs("vision_model", v.NumHiddenLayers, v.HiddenSize, v.IntermediateSize)...)
	specs = append(specs, layerNormSpecs("vision_model.post_layernorm", v.HiddenSize)...)
	specs = append(specs,
		TensorSpec{"visual_projection.weight", []int{c.ProjectionDim, v.HiddenSize}},
		TensorSpec{"logit_scale", []int{}},
	)
	return specs
}

func layerNormSpecs(prefix string, width int) []TensorSpec {
	return []TensorSpec{{prefix + ".weight", []int{width}}, {prefix + ".bias", []int{width}}}
}

func linearSpecs(prefix string, out, in int) []TensorSpec {
	return []TensorSpec{{prefix + ".weight", []int{out, in}}, {prefix + ".bias", []int{out}}}
}

func encoderSpecs(tower string, layers, width, mlp int) []TensorSpec {
	var specs []TensorSpec
	for i := range layers {
		p := fmt.Sprintf("%s.encoder.layers.%d", tower, i)
		for _, proj := range []string{"q_proj", "k_proj", "v_proj", "out_proj"} {
			specs = append(specs, linearSpecs(p+".self_attn."+proj, width, width)...)
		}
		specs = append(specs, layerNormSpecs(p+".layer_norm1", width)...)
		specs = append(specs, linearSpecs(p+".mlp.fc1", mlp, width)...)
		specs = append(specs, linearSpecs(p+".mlp.fc2", width, mlp)...)
		specs = append(specs, layerNormSpecs(p+".layer_norm2", width)...)
	}
	return specs
}

// VariablePath is the model.Store path of a checkpoint tensor: the same name with "/" for ".".
func VariablePath(tensorName string) string {
	return "/" + strings.ReplaceAll(tensorName, ".", "/")
}

// hfWeightFiles are the weight files of a HuggingFace folder, in transformers' order of
// preference: safetensors, then PyTorch's pickles (older hub repositories ship only those); an
// index of shards, else the single file.
var hfWeightFiles = []struct{ index, single string }{
	{"model.safetensors.index.json", "model.safetensors"},
	{"pytorch_model.bin.index.json", "pytorch_model.bin"},
}

// checkpointFiles lists the weight files of a model folder: the shards an index names, or the
// single file.
func checkpointFiles(dir string) ([]string, error) {
	for _, f := range hfWeightFiles {
		indexPath := filepath.Join(dir, f.index)
		data, err := os.ReadFile(indexPath)
		if err == nil {
			return shardFiles(dir, indexPath, data)
		}
		if !errors.Is(err, os.ErrNotExist) {
			return nil, err
		}
		if single := filepath.Join(dir, f.single); isFile(single) {
			return []string{single}, nil
		}
	}
	return nil, fmt.Errorf("no model.safetensors, pytorch_model.bin or sharded index of either in %s: "+
		"a model folder needs HuggingFace's weights", dir)
}

// shardFiles lists the files a shard index (data, read from indexPath) names, sorted.
func shardFiles(dir, indexPath string, data []byte) ([]string, error) {
	var index struct {
		WeightMap map[string]string `json:"weight_map"`
	}
	if err := json.Unmarshal(data, &index); err != nil {
		return nil, fmt.Errorf("%s: %w", indexPath, err)
	}
	var files []string
	for _, f := range index.WeightMap {
		if filepath.IsAbs(f) || strings.Contains(f, "..") {
			return nil, fmt.Errorf("%s: shard name %q must be a file in the model folder", indexPath, f)
		}
		if p := filepath.Join(dir, f); !slices.Contains(files, p) {
			files = append(files, p)
		}
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("%s: weight_map is empty", indexPath)
	}
	slices.Sort(files)
	return files, nil
}

// LoadWeights reads every tensor the config needs from the model folder's weight file(s)
// (safetensors or PyTorch pickles) into store on backend, converting F16/BF16 to float32. It
// fails naming the file and tensor when one is missing, shaped unlike the config says or not
// finite, and when the checkpoint holds more layers than the config.
func LoadWeights(dir string, c *Config, store *model.Store, backend compute.Backend) error {
	files, err := checkpointFiles(dir)
	if err != nil {
		return err
	}
	sd, err := openShards(files)
	if err != nil {
		return err
	}
	defer sd.Close()
	cfgPath := filepath.Join(dir, "config.json")
	if err := checkLayerCounts(sd, c, cfgPath); err != nil {
		return err
	}
	for _, spec := range c.TensorSpecs() {
		shape, ok := sd.Shape(spec.Name)
		if !ok {
			return fmt.Errorf("%s: missing tensor %q that %s needs (is this a CLIP checkpoint of the config's shape?)",
				sd.Path(), spec.Name, cfgPath)
		}
		if !slices.Equal(shape, spec.Shape) {
			return fmt.Errorf("%s: tensor %q has shape %v, but config.json implies %v", sd.fileOf(spec.Name), spec.Name, shape, spec.Shape)
		}
		data, err := readFinite(sd, spec.Name)
		if err != nil {
			return err
		}
		if err := storeOnBackend(store, backend, spec.Name, tensors.FromFlatDataAndDimensions(data, spec.Shape...)); err != nil {
			return fmt.Errorf("%s: %w", sd.fileOf(spec.Name), err)
		}
	}
	return nil
}

// checkLayerCounts refuses a config with fewer layers than the checkpoint holds: transformers
// would load the first ones and drop the rest with a warning, a model unlike the one trained.
func checkLayerCounts(sd stateDict, c *Config, cfgPath string) error {
	for _, tower := range []struct {
		prefix, field string
		layers        int
	}{
		{"text_model.encoder.layers.", "text_config.num_hidden_layers", c.Text.NumHiddenLayers},
		{"vision_model.encoder.layers.", "vision_config.num_hidden_layers", c.Vision.NumHiddenLayers},
	} {
		if n := countBlocks(sd, tower.prefix); n > tower.layers {
			return fmt.Errorf("%s: %s is %d but %s holds %d layers, which transformers would silently cut: set it to %d",
				cfgPath, tower.field, tower.layers, sd.Path(), n, n)
		}
	}
	return nil
}

// readFinite reads a tensor as float32, refusing NaN and infinite values.
func readFinite(sd stateDict, name string) ([]float32, error) {
	data, err := sd.Float32(name)
	if err != nil {
		return nil, err
	}
	for i, v := range data {
		if f := float64(v); math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, fmt.Errorf("%s: tensor %q holds %v at element %d: the checkpoint is damaged (download or export it again)",
				sd.Path(), name, v, i)
		}
	}
	return data, nil
}

// shardedStateDict is a checkpoint in one or more files (shards), each a state dict.
type shardedStateDict struct {
	paths  []string
	shards []closableStateDict
	where  map[string]closableStateDict
}

// openShards opens the files of a checkpoint.
func openShards(paths []string) (*shardedStateDict, error) {
	s := &shardedStateDict{paths: paths, where: map[string]closableStateDict{}}
	for _, p := range paths {
		sd, err := openStateDict(p)
		if err != nil {
			s.Close()
			return nil, err
		}
		s.shards = append(s.shards, sd)
		for _, name := range sd.Names() {
			s.where[name] = sd
		}
	}
	return s, nil
}

// Shape returns a tensor's shape.
func (s *shardedStateDict) Shape(name string) ([]int, bool) {
	sd, ok := s.where[name]
	if !ok {
		return nil, false
	}
	return sd.Shape(name)
}

// Float32 reads a tensor as float32.
func (s *shardedStateDict) Float32(name string) ([]float32, error) {
	sd, ok := s.where[name]
	if !ok {
		return nil, fmt.Errorf("%s: no tensor %q", s.Path(), name)
	}
	return sd.Float32(name)
}

// Names lists the tensors of all shards, sorted.
func (s *shardedStateDict) Names() []string {
	return slices.Sorted(maps.Keys(s.where))
}

// Path names the files.
func (s *shardedStateDict) Path() string {
	return strings.Join(s.paths, ", ")
}

// fileOf names the file holding a tensor.
func (s *shardedStateDict) fileOf(name string) string {
	if sd, ok := s.where[name]; ok {
		return sd.Path()
	}
	return s.Path()
}

// Close closes every shard.
func (s *shardedStateDict) Close() error {
	var errs []error
	for _, sd := range s.shards {
		errs = append(errs, sd.Close())
	}
	return errors.Join(errs...)
}

// StoreWeights collects the model's weights from store under HuggingFace's names, as
// WriteFolder takes them.
func StoreWeights(c *Config, store *model.Store) ([]NamedTensor, error) {
	var named []NamedTensor
	for _, spec := range c.TensorSpecs() {
		v := store.GetVariable(VariablePath(spec.Name))
		if v == nil {
			return nil, fmt.Errorf("the model has no variable %s", VariablePath(spec.Name))
		}
		value, err := v.Value()
		if err != nil {
			return nil, err
		}
		named = append(named, NamedTensor{Name: spec.Name, Shape: spec.Shape, Data: tensors.MustCopyFlatData[float32](value)})
	}
	return named, nil
}
