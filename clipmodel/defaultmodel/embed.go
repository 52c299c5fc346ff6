package defaultmodel

import (
	"embed"
	"encoding/json"
	"io/fs"
	"os"

	"github.com/clipwork/clipwork/clipmodel"
)

// files is the trained model in HuggingFace layout with F16 weights (see Export).
//
//go:embed model/*
var files embed.FS

func init() {
	clipmodel.RegisterDefault(Load)
}

// Load loads the embedded default model. clipmodel reads model folders from disk, so the few
// embedded megabytes are written to a temporary folder for the load and removed after it.
func Load() (*clipmodel.Model, error) {
	dir, err := os.MkdirTemp("", "clipwork-default-*")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	sub, err := fs.Sub(files, "model")
	if err != nil {
		return nil, err
	}
	if err := os.CopyFS(dir, sub); err != nil {
		return nil, err
	}
	m, err := clipmodel.LoadFolder(dir)
	if err != nil {
		return nil, err
	}
	m.Name = clipmodel.DefaultName
	return m, nil
}

// Config is the embedded model's architecture, read without loading its weights.
func Config() (*clipmodel.Config, error) {
	data, err := files.ReadFile("model/config.json")
	if err != nil {
		return nil, err
	}
	return clipmodel.ParseConfig(data)
}

// Tokenizer is the embedded model's tokenizer, read without loading its weights.
func Tokenizer() (*clipmodel.Tokenizer, error) {
	cfg, err := Config()
	if err != nil {
		return nil, err
	}
	vocabData, err := files.ReadFile("model/vocab.json")
	if err != nil {
		return nil, err
	}
	var vocab map[string]int
	if err := json.Unmarshal(vocabData, &vocab); err != nil {
		return nil, err
	}
	mergesData, err := files.ReadFile("model/merges.txt")
	if err != nil {
		return nil, err
	}
	merges, err := clipmodel.ParseMerges(mergesData)
	if err != nil {
		return nil, err
	}
	return clipmodel.NewTokenizer(vocab, merges, cfg.Text.MaxPositionEmbeddings)
}
