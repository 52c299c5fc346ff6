package clipmodel

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/gomlx/go-huggingface/hub"
	"github.com/gomlx/gomlx/ml/model"
)

// RandomPrefix names randomly initialised models of a real architecture: "random:ViT-B/32".
const RandomPrefix = "random:"

// DefaultName names the default model, which an empty name also means.
const DefaultName = "default"

var defaultLoader func() (*Model, error)

// RegisterDefault sets how the default model loads; clipwork's embedded model registers itself
// (package defaultmodel).
func RegisterDefault(load func() (*Model, error)) {
	defaultLoader = load
}

// Load resolves a model name and loads it on the process-wide Backend:
//   - "" or "default" is the registered default model (see RegisterDefault);
//   - "random:ARCH" builds a random model of a known architecture (see Architectures);
//   - an OpenAI name as CLIPig writes it (RN50, ViT-B/32, see OpenAIModels) is read from
//     ~/.cache/clip/ (openai/CLIP's .pt files), else from the matching hub repository;
//   - a local folder in HuggingFace CLIPModel layout or open_clip's layout is read from disk;
//   - a .pt, .bin or .safetensors file is read without running anything from it: as the
//     open_clip model that open_clip_config.json beside it describes, else in OpenAI's layout
//     (OpenAI's TorchScript checkpoints, torch.save'd state dicts);
//   - a hub id such as "openai/clip-vit-base-patch32" is taken from the HuggingFace cache,
//     downloading it there first when the network allows.
func Load(name string) (*Model, error) {
	if name == "" || name == DefaultName {
		if defaultLoader == nil {
			return nil, errors.New("this program has no default model built in: name a model (a folder, a hub id or random:ARCH)")
		}
		return defaultLoader()
	}
	if arch, ok := strings.CutPrefix(name, RandomPrefix); ok {
		return LoadRandom(arch, 0)
	}
	if _, ok := OpenAIModels[name]; ok {
		return loadOpenAIName(name)
	}
	if isDir(name) {
		return LoadFolder(name)
	}
	if isCheckpointFile(name) {
		return loadCheckpointFile(name)
	}
	if err := NameProblem(name); err != nil {
		return nil, err
	}
	dir, err := hubSnapshot(name)
	if err != nil {
		return nil, err
	}
	m, err := LoadFolder(dir)
	if err != nil {
		return nil, err
	}
	m.Name = name
	return m, nil
}

// LoadFolder loads a HuggingFace CLIPModel folder: config.json, model.safetensors (or shards
// with model.safetensors.index.json), vocab.json + merges.txt (or tokenizer.json) and
// preprocessor_config.json (OpenAI's preprocessing when absent); or an open_clip folder (see
// LoadOpenCLIPFolder).
func LoadFolder(dir string) (*Model, error) {
	if isOpenCLIPFolder(dir) {
		return LoadOpenCLIPFolder(dir)
	}
	cfg, err := ReadConfig(dir)
	if err != nil {
		return nil, err
	}
	pre, err := ReadPreprocess(dir, cfg.Vision.ImageSize)
	if err != nil {
		return nil, err
	}
	tok, err := LoadTokenizer(dir, cfg.Text.MaxPositionEmbeddings)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	if tok.EndID >= cfg.Text.VocabSize || tok.StartID >= cfg.Text.VocabSize {
		return nil, fmt.Errorf("%s: the tokenizer's ids reach %d but text_config.vocab_size is %d",
			dir, max(tok.EndID, tok.StartID), cfg.Text.VocabSize)
	}
	backend, err := Backend()
	if err != nil {
		return nil, err
	}
	store := model.NewStore()
	if err := LoadWeights(dir, cfg, store, backend); err != nil {
		return nil, err
	}
	return &Model{Name: dir, Config: cfg, Preprocess: pre, Tokenizer: tok, Store: store, Backend: backend}, nil
}

func isDir(path string) bool {
	info, err := os.Stat(path)
	return err == nil && info.IsDir()
}

func isFile(path string) bool {
	info, err := os.Stat(path)
	return err == nil && info.Mode().IsRegular()
}

// hubIDPattern matches HuggingFace repository ids: owner/name.
var hubIDPattern = regexp.MustCompile(`^[A-Za-z0-9][\w.-]*/[\w.-]+$`)

// HubCacheDir is where HuggingFace hub downloads live, following the Python library:
// $HF_HUB_CACHE, else $HF_HOME/hub, else $XDG_CACHE_HOME/huggingface/hub or ~/.cache/huggingface/hub.
func HubCacheDir() string {
	if dir := os.Getenv("HF_HUB_CACHE"); dir != "" {
		return dir
	}
	if home := os.Getenv("HF_HOME"); home != "" {
		return filepath.Join(home, "hub")
	}
	return hub.DefaultCacheDir()
}

// NameProblem tells why Load would refuse a model name before reading anything: a random
// architecture it does not know, an absolute path or a path into a folder that holds no such
// model, or a name that is none of the kinds Load takes. A name it passes may still fail to
// load (a hub id not on the hub, a damaged folder).
func NameProblem(name string) error {
	if arch, ok := strings.CutPrefix(name, RandomPrefix); ok {
		_, err := ArchitectureConfig(arch)
		return err
	}
	if _, ok := OpenAIModels[name]; ok || name == "" || name == DefaultName || isDir(name) || isCheckpointFile(name) {
		return nil
	}
	if first, _, _ := strings.Cut(name, "/"); isDir(first) || filepath.IsAbs(name) {
		return fmt.Errorf("there is no model folder %q", name)
	}
	if !hubIDPattern.MatchString(name) {
		return fmt.Errorf("model %q: there is no folder or weights file of that name, and it is none of %q (the embedded model), a HuggingFace hub id "+
			"(owner/name), an OpenAI name (%s) nor %sARCH (%s)", name, DefaultName,
			strings.Join(slices.Sorted(maps.Keys(OpenAIModels)), ", "), RandomPrefix, strings.Join(Architectures(), ", "))
	}
	return nil
}

// isCheckpointFile tells whether name is a weights file Load reads (.pt, .bin, .safetensors).
func isCheckpointFile(name string) bool {
	ext := filepath.Ext(name)
	return (ext == ".pt" || ext == ".bin" || ext == ".safetensors") && isFile(name)
}

// NeedsDownload tells whether loading name would download a hub model, one not in the
// HuggingFace cache (which takes the network).
func NeedsDownload(name string) bool {
	if known, ok := OpenAIModels[name]; ok { // CLIPig's names: OpenAI's file, else its hub repository
		if isFile(filepath.Join(OpenAICacheDir(), known.File)) {
			return false
		}
		name = known.Hub
	}
	if !hubIDPattern.MatchString(name) || isDir(name) || isFile(name) || strings.HasPrefix(name, RandomPrefix) {
		return false
	}
	_, cached := cachedSnapshot(hubRepoDir(HubCacheDir(), name))
	return !cached
}

// hubRepoDir is the folder of the hub repository id in the HuggingFace cache.
func hubRepoDir(cache, id string) string {
	return filepath.Join(cache, "models--"+strings.ReplaceAll(id, "/", "--"))
}

// hubSnapshot returns a local folder holding the hub model: a complete snapshot already in the
// cache (so it works offline), or one downloaded now.
func hubSnapshot(id string) (string, error) {
	cache := HubCacheDir()
	repoDir := hubRepoDir(cache, id)
	if dir, ok := cachedSnapshot(repoDir); ok {
		return dir, nil
	}
	_, statErr := os.Stat(repoDir)
	dir, err := downloadSnapshot(id, cache)
	if err != nil {
		if os.IsNotExist(statErr) {
			removeEmptyFolders(repoDir) // what the failed download began
		}
		return "", fmt.Errorf("model %q is not a local folder and is not in the HuggingFace cache %s, "+
			"and downloading it failed: %w\nOn a machine with network access run `clipwork embed --model %s --text hi` "+
			"(or `huggingface-cli download %s`) to fill the cache, and copy %s here; or pass a local folder "+
			"holding config.json and model.safetensors", id, cache, err, id, id, repoDir)
	}
	return dir, nil
}

// removeEmptyFolders removes dir and the folders below it that hold no files, deepest first.
func removeEmptyFolders(dir string) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		if e.IsDir() {
			removeEmptyFolders(filepath.Join(dir, e.Name()))
		}
	}
	os.Remove(dir) // fails, as it should, while anything is left inside
}

// cachedSnapshot finds a complete snapshot of a repository in the cache: the one refs/main
// points to (the Python library's layout), else the newest complete one.
func cachedSnapshot(repoDir string) (string, bool) {
	if ref, err := os.ReadFile(filepath.Join(repoDir, "refs", "main")); err == nil {
		dir := filepath.Join(repoDir, "snapshots", strings.TrimSpace(string(ref)))
		if snapshotComplete(dir) {
			return dir, true
		}
	}
	entries, err := os.ReadDir(filepath.Join(repoDir, "snapshots"))
	if err != nil {
		return "", false
	}
	var best string
	var bestTime time.Time
	for _, e := range entries {
		dir := filepath.Join(repoDir, "snapshots", e.Name())
		info, err := os.Stat(dir)
		if err != nil || !snapshotComplete(dir) {
			continue
		}
		if best == "" || info.ModTime().After(bestTime) {
			best, bestTime = dir, info.ModTime()
		}
	}
	return best, best != ""
}

func snapshotComplete(dir string) bool {
	if isOpenCLIPFolder(dir) {
		_, err := openCLIPWeights(dir)
		return err == nil
	}
	if _, err := os.Stat(filepath.Join(dir, "config.json")); err != nil {
		return false
	}
	_, err := checkpointFiles(dir)
	return err == nil
}

// downloadSnapshot downloads what a CLIP folder needs from the hub into the cache.
func downloadSnapshot(id, cache string) (string, error) {
	repo := hub.New(id).WithCacheDir(cache).WithProgressBar(true)
	if token := os.Getenv("HF_TOKEN"); token != "" {
		repo = repo.WithAuth(token)
	}
	var names []string
	sharded := false
	for name, err := range repo.IterFileNames() {
		if err != nil {
			return "", err
		}
		if name == "model.safetensors.index.json" {
			sharded = true
		}
		names = append(names, name)
	}
	var wanted []string
	for _, name := range names {
		switch {
		case slices.Contains([]string{"config.json", "preprocessor_config.json", "vocab.json", "merges.txt",
			"tokenizer.json", "model.safetensors.index.json", openCLIPConfigFile}, name):
			wanted = append(wanted, name)
		case !strings.Contains(name, "/") && strings.HasSuffix(name, ".safetensors") &&
			(sharded || name == "model.safetensors"):
			wanted = append(wanted, name)
		}
	}
	if !slices.ContainsFunc(wanted, func(n string) bool { return strings.HasSuffix(n, ".safetensors") }) {
		wanted = append(wanted, pickleWeights(names)...)
	}
	isCLIPModel, err := hasHFCLIPConfig(repo, names)
	if err != nil {
		return "", err
	}
	if !isCLIPModel {
		return downloadOpenCLIP(repo, names)
	}
	paths, err := repo.DownloadFiles(wanted...)
	if err != nil {
		return "", err
	}
	return filepath.Dir(paths[slices.Index(wanted, "config.json")]), nil
}

// pickleWeights are the PyTorch weight files to download from a repository without safetensors
// ones (older hub repositories): pytorch_model.bin, or its index and shards.
func pickleWeights(names []string) []string {
	if !slices.Contains(names, "pytorch_model.bin.index.json") {
		if slices.Contains(names, "pytorch_model.bin") {
			return []string{"pytorch_model.bin"}
		}
		return nil
	}
	wanted := []string{"pytorch_model.bin.index.json"}
	for _, name := range names {
		if strings.HasPrefix(name, "pytorch_model-") && strings.HasSuffix(name, ".bin") && !strings.Contains(name, "/") {
			wanted = append(wanted, name)
		}
	}
	return wanted
}
