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

// trainingInfo is training.json.
type trainingInfo struct {
	Step int `json:"step"`
}

// Export writes a trained model in HuggingFace CLIPModel layout with F16 weights, the form
// that is embedded in clipwork, and training.json with the step it was trained to.
func Export(m *clipmodel.Model, dir string, step int) error {
	weights, err := clipmodel.StoreWeights(m.Config, m.Store)
	if err != nil {
		return err
	}
	if err := clipmodel.WriteFolder(dir, m.Config, weights, m.Tokenizer, m.Preprocess, "F16"); err != nil {
		return err
	}
	info, err := json.Marshal(trainingInfo{Step: step})
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(filepath.Join(dir, trainingInfoFile), append(info, '\n'))
}

func readTrainingInfo(dir string) (trainingInfo, error) {
	var info trainingInfo
	data, err := os.ReadFile(filepath.Join(dir, trainingInfoFile))
	if err != nil {
		return info, fmt.Errorf("%s is not an exported default model: %w", dir, err)
	}
	if err := json.Unmarshal(data, &info); err != nil {
		return info, fmt.Errorf("%s: %w", filepath.Join(dir, trainingInfoFile), err)
	}
	return info, nil
}
