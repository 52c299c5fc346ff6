package clipmodel

import (
	"bufio"
	"encoding/json"
	"github.com/clipwork/clipwork/internal/atomicfile"
	"os"
	"path/filepath"
)

// WriteFolder writes a model in HuggingFace CLIPModel layout: config.json, model.safetensors
// stored as dtype (F32, F16 or BF16), vocab.json, merges.txt and preprocessor_config.json.
// LoadFolder and HuggingFace's CLIPModel.from_pretrained read it back.
func WriteFolder(dir string, cfg *Config, weights []NamedTensor, tok *Tokenizer, pre Preprocess, dtype string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := WriteSafetensors(filepath.Join(dir, "model.safetensors"), weights, dtype, map[string]string{"format": "pt"}); err != nil {
		return err
	}
	if err := tok.Save(dir); err != nil {
		return err
	}
	if err := writeJSON(filepath.Join(dir, "config.json"), cfg); err != nil {
		return err
	}
	return writeJSON(filepath.Join(dir, "preprocessor_config.json"), preprocessorConfig(pre))
}

// preprocessorConfig is pre as CLIPImageProcessor's preprocessor_config.json, which has no
// place for Torchvision: transformers always floors the crop's place.
func preprocessorConfig(pre Preprocess) map[string]any {
	size, resample := map[string]int{"shortest_edge": pre.Size}, pilBicubic
	if pre.Width > 0 && pre.Height > 0 {
		size = map[string]int{"height": pre.Height, "width": pre.Width}
	}
	if pre.Bilinear {
		resample = pilBilinear
	}
	return map[string]any{
		"image_processor_type": "CLIPImageProcessor", "do_resize": !pre.NoResize, "do_center_crop": true,
		"do_rescale": true, "do_normalize": true, "do_convert_rgb": true, "resample": resample, "rescale_factor": 1.0 / 255,
		"size": size, "crop_size": map[string]int{"height": pre.CropSize, "width": pre.CropSize},
		"image_mean": pre.Mean, "image_std": pre.Std,
	}
}

func writeJSON(path string, value any) error {
	data, err := json.MarshalIndent(value, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.Write(path, func(w *bufio.Writer) error {
		_, err := w.Write(append(data, '\n'))
		return err
	})
}
