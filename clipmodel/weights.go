package clipmodel

import (
	"encoding/json"
	"errors"
	"fmt"
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

// checkpointFiles lists the safetensors files of a model folder: the shards named by
// model.safetensors.index.json, or model.safetensors.
func checkpointFiles(dir string) ([]string, error) {
	indexPath := filepath.Join(dir, "model.safetensors.index.json")
	data, err := os.ReadFile(indexPath)
	if errors.Is(err, os.ErrNotExist) {
		single := filepath.Join(dir, "model.safetensors")
		if _, err := os.Stat(single); err != nil {
			return nil, fmt.Errorf("no model.safetensors or model.safetensors.index.json in %s: "+
				"a model folder needs HuggingFace's safetensors weights (%w)", dir, err)
		}
		return []string{single}, nil
	}
	if err != nil {
		return nil, err
	}
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

// LoadWeights reads every tensor the config needs from the model folder's safetensors file(s)
// into store on backend, converting F16/BF16 to float32. It fails naming the file and tensor when
// one is missing or shaped unlike the config says.
func LoadWeights(dir string, c *Config, store *model.Store, backend compute.Backend) error {
	files, err := checkpointFiles(dir)
	if err != nil {
		return err
	}
	var opened []*Safetensors
	defer func() {
		for _, st := range opened {
			st.Close()
		}
	}()
	where := map[string]*Safetensors{}
	for _, f := range files {
		st, err := OpenSafetensors(f)
		if err != nil {
			return err
		}
		opened = append(opened, st)
		for name := range st.Tensors {
			where[name] = st
		}
	}
	for _, spec := range c.TensorSpecs() {
		st, ok := where[spec.Name]
		if !ok {
			return fmt.Errorf("%s: missing tensor %q that %s needs (is this a CLIP checkpoint of the config's shape?)",
				strings.Join(files, ", "), spec.Name, filepath.Join(dir, "config.json"))
		}
		info := st.Tensors[spec.Name]
		if !slices.Equal(info.Shape, spec.Shape) {
			return fmt.Errorf("%s: tensor %q has shape %v, but config.json implies %v", st.Path, spec.Name, info.Shape, spec.Shape)
		}
		t := tensors.FromShape(float32Shape(spec.Shape))
		var readErr error
		tensors.MustMutableFlatData(t, func(flat []float32) { readErr = st.ReadFloat32Into(spec.Name, flat) })
		if readErr != nil {
			return readErr
		}
		if err := storeOnBackend(store, backend, spec.Name, t); err != nil {
			return fmt.Errorf("%s: %w", st.Path, err)
		}
	}
	return nil
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
