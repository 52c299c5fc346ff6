// Package runstore keeps runs on disk: one folder per run with the final image (its config in
// PNG text chunks), snapshots, the resolved config, statistics and the state to resume from.
// Every file is written atomically, and no run folder is ever overwritten.
package runstore

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"image"
	"image/png"
	"io"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/clipwork/clipwork/clipmodel"
	"github.com/clipwork/clipwork/internal/atomicfile"
	"github.com/clipwork/clipwork/workbench"
)

// File names inside a run folder.
const (
	ImageFile    = "image.png"
	ConfigFile   = "config.yaml"
	StatsFile    = "stats.json"
	StateFile    = "state.safetensors"
	SnapshotsDir = "snapshots"
)

// Dir is one run's folder.
type Dir struct {
	Path string
	// OnSave, when set, hears the path of every file the run has written, once it is complete
	// (e.g. to upload it to a shared store); its error fails the write.
	OnSave func(path string) error
	// lock is the open lock file while this process writes the run (see Lock).
	lock *os.File
}

// Create makes a new run folder root/name, or root/name-1, root/name-2, ... when taken, and
// locks it for this process (see Lock; Close releases it).
func Create(root, name string) (*Dir, error) {
	if err := os.MkdirAll(root, 0o755); err != nil {
		return nil, fmt.Errorf("cannot create the results folder %s: %w", root, err)
	}
	for i := 0; ; i++ {
		candidate := name
		if i > 0 {
			candidate = name + "-" + strconv.Itoa(i)
		}
		path := filepath.Join(root, candidate)
		err := os.Mkdir(path, 0o755)
		if err == nil {
			d := &Dir{Path: path}
			return d, d.Lock()
		}
		if !errors.Is(err, os.ErrExist) {
			return nil, fmt.Errorf("cannot create a run folder in %s: %w", root, err)
		}
	}
}

// Open opens an existing run folder to read it; Lock it before writing.
func Open(path string) (*Dir, error) {
	if _, err := os.Stat(filepath.Join(path, ConfigFile)); err != nil {
		return nil, fmt.Errorf("%s is not a run folder (no %s): %w", path, ConfigFile, err)
	}
	return &Dir{Path: path}, nil
}

// WriteFile writes data to a file of the run atomically.
func (d *Dir) WriteFile(name string, data []byte) error {
	path := filepath.Join(d.Path, name)
	if err := atomicfile.WriteFile(path, data); err != nil {
		return err
	}
	return d.saved(path)
}

// saved passes a written file's path to OnSave.
func (d *Dir) saved(path string) error {
	if d.OnSave == nil {
		return nil
	}
	return d.OnSave(path)
}

// WriteImage writes a PNG with text chunks (e.g. the config and seed) into the run.
func (d *Dir) WriteImage(name string, img image.Image, texts map[string]string) error {
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(filepath.Join(d.Path, name)), 0o755); err != nil {
		return err
	}
	return d.WriteFile(name, withTextChunks(buf.Bytes(), texts))
}

// withTextChunks inserts PNG text chunks after the IHDR chunk: tEXt where the text is Latin-1,
// else iTXt (UTF-8, uncompressed, no language), so that every character survives. image/png
// cannot write them, so the chunks (length, type, data, CRC-32 of type and data) are assembled
// here.
func withTextChunks(encoded []byte, texts map[string]string) []byte {
	const afterIHDR = 8 + 4 + 4 + 13 + 4 // signature, IHDR length, type, data, CRC
	out := append([]byte{}, encoded[:afterIHDR]...)
	keys := make([]string, 0, len(texts))
	for k := range texts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		kind, data := "tEXt", append(append([]byte(k), 0), latin1(texts[k])...)
		if !isLatin1(texts[k]) {
			kind, data = "iTXt", append(append([]byte(k), 0, 0, 0, 0, 0), texts[k]...)
		}
		var chunk bytes.Buffer
		binary.Write(&chunk, binary.BigEndian, uint32(len(data)))
		chunk.WriteString(kind)
		chunk.Write(data)
		binary.Write(&chunk, binary.BigEndian, crc32.ChecksumIEEE(chunk.Bytes()[4:]))
		out = append(out, chunk.Bytes()...)
	}
	return append(out, encoded[afterIHDR:]...)
}

// isLatin1 tells whether tEXt, whose text is ISO 8859-1, can hold s.
func isLatin1(s string) bool {
	return !strings.ContainsFunc(s, func(r rune) bool { return r > 255 })
}

// latin1 is s, all of whose characters are Latin-1, in ISO 8859-1's bytes.
func latin1(s string) []byte {
	out := make([]byte, 0, len(s))
	for _, r := range s {
		out = append(out, byte(r))
	}
	return out
}

// Status of a run, as stats.json records it.
const (
	StatusRunning     = "running"
	StatusFinished    = "finished"
	StatusInterrupted = "interrupted"
	StatusFailed      = "failed"
)

// Summary is stats.json: the run's identity, speed and statistics.
type Summary struct {
	Run    string `json:"run"`
	Status string `json:"status"`
	Error  string `json:"error,omitempty"`
	Model  string `json:"model"`
	// Models name an ensemble's models in order, the keys of its per-model similarities.
	Models           []string                 `json:"models,omitempty"`
	Seed             uint64                   `json:"seed"`
	Steps            int                      `json:"steps"`
	StepsDone        int                      `json:"steps_done"`
	Seconds          float64                  `json:"seconds"`
	WindowsPerSecond float64                  `json:"windows_per_second"`
	Started          time.Time                `json:"started"`
	Targets          []*workbench.TargetStats `json:"targets"`
	History          []workbench.StepRecord   `json:"history"`
}

// Stats are the run's statistics as the summary holds them.
func (s *Summary) Stats() *workbench.Stats {
	return &workbench.Stats{Models: s.Models, Targets: s.Targets, History: s.History}
}

// WriteSummary writes stats.json.
func (d *Dir) WriteSummary(s *Summary) error {
	data, err := json.MarshalIndent(s, "", " ")
	if err != nil {
		return err
	}
	return d.WriteFile(StatsFile, data)
}

// ReadSummary reads stats.json.
func (d *Dir) ReadSummary() (*Summary, error) {
	data, err := os.ReadFile(filepath.Join(d.Path, StatsFile))
	if err != nil {
		return nil, err
	}
	var s Summary
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(d.Path, StatsFile), err)
	}
	return &s, nil
}

// WriteState saves the run's state for resuming: the tensors in state.safetensors, the rest in
// the file's metadata.
func (d *Dir) WriteState(s *workbench.State) error {
	meta := map[string]string{
		"step": strconv.Itoa(s.Step), "width": strconv.Itoa(s.Width), "height": strconv.Itoa(s.Height),
		"elapsed_ns": strconv.FormatInt(int64(s.Elapsed), 10), "windows": strconv.Itoa(s.Windows),
		"updates": strconv.Itoa(s.Updates),
	}
	stats, err := json.Marshal(s.Stats)
	if err != nil {
		return err
	}
	if len(stats) > compressStatsAbove {
		meta["stats_gzip"] = compressed(stats)
	} else {
		meta["stats"] = string(stats)
	}
	tensors := []clipmodel.NamedTensor{{Name: "params", Shape: []int{len(s.Params)}, Data: s.Params}}
	for _, name := range slices.Sorted(maps.Keys(s.Moments)) {
		tensors = append(tensors, clipmodel.NamedTensor{Name: name, Shape: []int{len(s.Moments[name])}, Data: s.Moments[name]})
	}
	path := filepath.Join(d.Path, StateFile)
	if err := clipmodel.WriteSafetensors(path, tensors, "F32", meta); err != nil {
		return err
	}
	return d.saved(path)
}

// ReadState reads the state WriteState saved.
func (d *Dir) ReadState() (*workbench.State, error) {
	path := filepath.Join(d.Path, StateFile)
	st, err := clipmodel.OpenSafetensors(path)
	if err != nil {
		return nil, fmt.Errorf("no state to resume from: %w", err)
	}
	defer st.Close()
	s := &workbench.State{}
	ints := map[string]*int{"step": &s.Step, "width": &s.Width, "height": &s.Height, "windows": &s.Windows}
	for key, dst := range ints {
		if *dst, err = strconv.Atoi(st.Metadata[key]); err != nil {
			return nil, fmt.Errorf("%s: metadata %s: %w", path, key, err)
		}
	}
	elapsed, _ := strconv.ParseInt(st.Metadata["elapsed_ns"], 10, 64)
	s.Elapsed = time.Duration(elapsed)
	s.Updates = s.Step // a state that does not say counted every step
	if v, ok := st.Metadata["updates"]; ok {
		if s.Updates, err = strconv.Atoi(v); err != nil {
			return nil, fmt.Errorf("%s: metadata updates: %w", path, err)
		}
	}
	stats := []byte(st.Metadata["stats"])
	if packed, ok := st.Metadata["stats_gzip"]; ok {
		if stats, err = decompressed(packed); err != nil {
			return nil, fmt.Errorf("%s: statistics: %w", path, err)
		}
	}
	if err := json.Unmarshal(stats, &s.Stats); err != nil {
		return nil, fmt.Errorf("%s: statistics: %w", path, err)
	}
	if _, ok := st.Tensors["params"]; !ok {
		return nil, fmt.Errorf("%s has no tensor %q", path, "params")
	}
	s.Moments = map[string][]float32{}
	for name := range st.Tensors { // params and the optimiser's moments
		values, err := st.ReadFloat32(name)
		if err != nil {
			return nil, err
		}
		if i := slices.IndexFunc(values, isNotFinite); i >= 0 {
			return nil, fmt.Errorf("%s: %s[%d] is %v: the state is damaged and cannot be resumed (%s is kept as it is)",
				path, name, i, values[i], ImageFile)
		}
		if name == "params" {
			s.Params = values
		} else {
			s.Moments[name] = values
		}
	}
	return s, nil
}

// compressStatsAbove is the size of the statistics (their step history grows with steps and
// features) above which the state keeps them gzipped, as base64 text in the file's header,
// whose size safetensors readers bound (100 MB).
const compressStatsAbove = 1 << 20

// compressed is data gzipped and written as base64 text.
func compressed(data []byte) string {
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	w.Write(data) // writes to a bytes.Buffer do not fail
	w.Close()
	return base64.StdEncoding.EncodeToString(b.Bytes())
}

// decompressed reverses compressed.
func decompressed(text string) ([]byte, error) {
	packed, err := base64.StdEncoding.DecodeString(text)
	if err != nil {
		return nil, err
	}
	r, err := gzip.NewReader(bytes.NewReader(packed))
	if err != nil {
		return nil, err
	}
	data, err := io.ReadAll(io.LimitReader(r, maxStatsBytes+1))
	if err == nil && len(data) > maxStatsBytes {
		err = fmt.Errorf("the statistics unpack to more than %d MB", maxStatsBytes>>20)
	}
	return data, err
}

// maxStatsBytes bounds the statistics a state unpacks (a state from elsewhere could hold a
// gzip bomb): far beyond what a state's 100 MB header can hold packed.
const maxStatsBytes = 2 << 30

func isNotFinite(v float32) bool {
	return math.IsNaN(float64(v)) || math.IsInf(float64(v), 0)
}

// List returns the run folders under root, newest first.
func List(root string) ([]*Dir, error) {
	entries, err := os.ReadDir(root)
	if err != nil {
		return nil, err
	}
	type dated struct {
		dir  *Dir
		time time.Time
	}
	var runs []dated
	for _, e := range entries {
		path := filepath.Join(root, e.Name())
		info, err := os.Stat(filepath.Join(path, StatsFile))
		if !e.IsDir() || err != nil {
			continue
		}
		runs = append(runs, dated{&Dir{Path: path}, info.ModTime()})
	}
	sort.Slice(runs, func(i, j int) bool { return runs[i].time.After(runs[j].time) })
	out := make([]*Dir, len(runs))
	for i, r := range runs {
		out[i] = r.dir
	}
	return out, nil
}
