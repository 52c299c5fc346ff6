package defaultmodel

import "github.com/clipwork/clipwork/clipmodel"

// Export writes a trained model in HuggingFace CLIPModel layout with F16 weights, the form
// that is embedded in clipwork.
func Export(m *clipmodel.Model, dir string) error {
	weights, err := clipmodel.StoreWeights(m.Config, m.Store)
	if err != nil {
		return err
	}
	return clipmodel.WriteFolder(dir, m.Config, weights, m.Tokenizer, m.Preprocess, "F16")
}
