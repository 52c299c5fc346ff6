package defaultmodel

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/clipwork/clipwork/clipmodel"
	"github.com/clipwork/clipwork/internal/atomicfile"
)

// trainingInfoFile records, beside an exported model, how far it was trained.
const trainingInfoFile = "training.json"

// TrainingInfo is what training.json, beside an exported model, records of its training.
type TrainingInfo struct {
	Step int `json:"step"`
	// Averaged is how many checkpoints, up to Step, the weights are the mean of (0: none).
	Averaged int `json:"averaged_checkpoints,omitempty"`
	// FrozenVision says the last training kept the vision tower of the model it started from.
	FrozenVision bool `json:"frozen_vision,omitempty"`
	// Robust is the record of the vision tower's robust fine-tuning (clipwork robustify's), kept
	// where a training froze that tower.
	Robust json.RawMessage `json:"robust,omitempty"`
}

// Export writes a trained model in HuggingFace CLIPModel layout with F16 weights, the form
// that is embedded in clipwork, and training.json with how it was trained.
func Export(m *clipmodel.Model, dir string, info TrainingInfo) error {
	weights, err := clipmodel.StoreWeights(m.Config, m.Store)
	if err != nil {
		return err
	}
	if err := clipmodel.WriteFolder(dir, m.Config, weights, m.Tokenizer, m.Preprocess, "F16"); err != nil {
		return err
	}
	data, err := json.Marshal(info)
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(filepath.Join(dir, trainingInfoFile), append(data, '\n'))
}

func readTrainingInfo(dir string) (TrainingInfo, error) {
	var info TrainingInfo
	data, err := os.ReadFile(filepath.Join(dir, trainingInfoFile))
	if err != nil {
		return info, fmt.Errorf("%s is not an exported default model: %w", dir, err)
	}
	if err := json.Unmarshal(data, &info); err != nil {
		return info, fmt.Errorf("%s: %w", filepath.Join(dir, trainingInfoFile), err)
	}
	return info, nil
}
