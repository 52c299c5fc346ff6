// Package sweep expands an experiment's varied keys into variants (a grid, or a zip of
// equal-length lists) in an order that is the same on every machine, names each variant's run
// folder by its values, and keeps the sweep's manifest, sweep.json.
package sweep

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/clipwork/clipwork/internal/atomicfile"
	"github.com/clipwork/clipwork/internal/digest"
)

// ManifestFile is the sweep manifest's name in a sweep folder.
const ManifestFile = "sweep.json"

// MaxVariants bounds a sweep: a few ranges multiply quickly, and every variant is loaded (and
// listed in the manifest) before the first one runs.
const MaxVariants = 10_000

// Axis is one varied key and its values, in the order given.
type Axis struct {
	Key    string   `json:"key"`
	Values []string `json:"values"`
}

// ParseVary reads one --vary argument, KEY=V1,V2,... where a value may be an integer range
// A..B (inclusive, rising or falling), e.g. seed=1..8.
func ParseVary(arg string) (Axis, error) {
	key, list, ok := strings.Cut(arg, "=")
	key = strings.TrimSpace(key)
	if !ok || key == "" || strings.TrimSpace(list) == "" {
		return Axis{}, fmt.Errorf("--vary %q: write KEY=V1,V2,... or KEY=A..B, e.g. seed=1..8", arg)
	}
	if err := CheckKey(key); err != nil {
		return Axis{}, fmt.Errorf("--vary %q: %w", arg, err)
	}
	a := Axis{Key: key}
	for _, v := range strings.Split(list, ",") {
		v = strings.TrimSpace(v)
		if v == "" {
			return Axis{}, fmt.Errorf("--vary %q: an empty value", arg)
		}
		values, err := ExpandValue(v)
		if err != nil {
			return Axis{}, fmt.Errorf("--vary %q: %w", arg, err)
		}
		a.Values = append(a.Values, values...)
		if len(a.Values) > MaxVariants {
			return Axis{}, fmt.Errorf("--vary %q: more than %d values", arg, MaxVariants)
		}
	}
	return a, nil
}

// CheckKey refuses a varied key of the sweep itself (sweep.vary.seed): a variant's sweep: is
// not read, so its variants would all run the same experiment.
func CheckKey(key string) error {
	if key == "sweep" || strings.HasPrefix(key, "sweep.") {
		return fmt.Errorf("%s is a key of the sweep, which its variants do not read: vary the experiment's key, e.g. seed=1..4", key)
	}
	return nil
}

// ExpandValue expands one value of an experiment file's sweep.vary: an integer range A..B to
// its values; any other value is itself (a text may hold dots and commas).
func ExpandValue(v string) ([]string, error) {
	values, isRange, err := integerRange(v)
	if isRange || err != nil {
		return values, err
	}
	if numberRange(v) {
		return nil, fmt.Errorf("%q: a range is two integers, A..B; list other numbers, e.g. [0.1, 0.2]", v)
	}
	return []string{v}, nil
}

// numberRange says whether v is A..B of two numbers, such as 0.1..0.3.
func numberRange(v string) bool {
	from, to, ok := strings.Cut(v, "..")
	_, errA := strconv.ParseFloat(strings.TrimSpace(from), 64)
	_, errB := strconv.ParseFloat(strings.TrimSpace(to), 64)
	return ok && errA == nil && errB == nil
}

// integerRange reads "A..B" of integers (rising or falling, inclusive) and tells whether v is
// one.
func integerRange(v string) ([]string, bool, error) {
	from, to, ok := strings.Cut(v, "..")
	a, errA := strconv.Atoi(strings.TrimSpace(from))
	b, errB := strconv.Atoi(strings.TrimSpace(to))
	if !ok || errA != nil || errB != nil {
		return nil, false, nil
	}
	if span := max(a, b) - min(a, b); span < 0 || span >= MaxVariants { // span < 0: it overflowed
		return nil, true, fmt.Errorf("%q: more than %d values", v, MaxVariants)
	}
	step := 1
	if b < a {
		step = -1
	}
	var out []string
	for i := a; ; i += step {
		out = append(out, strconv.Itoa(i))
		if i == b {
			return out, true, nil
		}
	}
}

// Override is the axes of base (a file's sweep) with those of over (--vary flags) applied: an
// axis of a key that base varies replaces its values in place, the others follow in their order.
func Override(base, over []Axis) []Axis {
	out := slices.Clone(base)
	for _, a := range over {
		if i := slices.IndexFunc(out, func(b Axis) bool { return b.Key == a.Key }); i >= 0 {
			out[i] = a
		} else {
			out = append(out, a)
		}
	}
	return out
}

// Variant is one run of a sweep: its index, its value for each axis (in the axes' order) and
// the name of its run folder.
type Variant struct {
	Index  int      `json:"index"`
	Values []string `json:"values"`
	Folder string   `json:"folder"`
	// Status is the variant's status when the manifest was last written (the run folder's
	// stats.json is the live one).
	Status string `json:"status,omitempty"`
}

// Settings are the variant's values as expfile settings, key=value, in the axes' order.
func (v Variant) Settings(axes []Axis) []string {
	s := make([]string, len(axes))
	for i, a := range axes {
		s[i] = a.Key + "=" + v.Values[i]
	}
	return s
}

// Expand lists the variants of axes: the grid, the first axis varying slowest, or with zip the
// i-th values of every axis together (the lists must then have one length).
func Expand(axes []Axis, zip bool) ([]Variant, error) {
	if len(axes) == 0 {
		return nil, errors.New("a sweep varies at least one key: --vary KEY=V1,V2,... or sweep: {vary: {KEY: [V1, V2]}} in the file")
	}
	seen := map[string]bool{}
	for _, a := range axes {
		if seen[a.Key] {
			return nil, fmt.Errorf("--vary %s is given twice", a.Key)
		}
		seen[a.Key] = true
		if err := a.CheckDistinct(); err != nil {
			return nil, err
		}
	}
	if err := CheckShape(axes, zip); err != nil {
		return nil, err
	}
	if zip {
		return name(axes, zipped(axes)), nil
	}
	return name(axes, grid(axes)), nil
}

// CheckShape refuses a zip of lists of different lengths, and a grid or zip of more than
// MaxVariants variants.
func CheckShape(axes []Axis, zip bool) error {
	count := 1
	for i, a := range axes {
		switch {
		case zip && len(a.Values) != len(axes[0].Values):
			return fmt.Errorf("--zip or zip: true pairs lists of one length: %s has %d values, %s has %d",
				axes[0].Key, len(axes[0].Values), a.Key, len(a.Values))
		case zip && len(a.Values) > MaxVariants:
			return fmt.Errorf("the sweep's zip has more than %d variants: give fewer values", MaxVariants)
		}
		if count *= len(a.Values); !zip && count > MaxVariants {
			return fmt.Errorf("the sweep's grid has more than %d variants (%d keys in): vary fewer keys or fewer values, or zip them",
				MaxVariants, i+1)
		}
	}
	return nil
}

// CheckDistinct refuses an axis without values, and one that gives a value twice (a number
// written twice alike or not, 0.1 and .1, where the key takes numbers): its variants would run
// the same experiment twice.
func (a Axis) CheckDistinct() error {
	if len(a.Values) == 0 {
		return fmt.Errorf("%s has no values: give at least one", a.Key)
	}
	seen := make(map[string]string, len(a.Values))
	for _, v := range a.Values {
		same := v
		if f, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil && !textKey(a.Key) {
			same = strconv.FormatFloat(f, 'g', -1, 64)
		}
		if first, ok := seen[same]; ok {
			if first == v {
				return fmt.Errorf("%s has the value %q twice (ranges included): give each value once", a.Key, v)
			}
			return fmt.Errorf("%s has %q and %q, one number: give each value once", a.Key, first, v)
		}
		seen[same] = v
	}
	return nil
}

// textKey tells whether a key's values are texts, where 1 and 1.0 differ (a feature's text, a
// name, a prompt, a path).
func textKey(key string) bool {
	return slices.ContainsFunc([]string{"features", "text", "name", "prompts", "image", "model", "output"},
		func(word string) bool { return strings.Contains(key, word) })
}

// zipped pairs the axes' i-th values, for axes of one length.
func zipped(axes []Axis) [][]string {
	rows := make([][]string, len(axes[0].Values))
	for i := range rows {
		for _, a := range axes {
			rows[i] = append(rows[i], a.Values[i])
		}
	}
	return rows
}

// grid is every combination of the axes' values, the last axis varying fastest.
func grid(axes []Axis) [][]string {
	rows := [][]string{nil}
	for _, a := range axes {
		var next [][]string
		for _, row := range rows {
			for _, v := range a.Values {
				next = append(next, append(append([]string(nil), row...), v))
			}
		}
		rows = next
	}
	return rows
}

// maxFolder bounds a variant's folder name, within the 255 bytes that file systems allow.
const maxFolder = 200

// name numbers the rows and names their folders key-value_key-value; a name that two variants
// would share (values that differ only in characters a folder name drops) gets the index too,
// as does a name cut to maxFolder.
func name(axes []Axis, rows [][]string) []Variant {
	variants := make([]Variant, len(rows))
	count := map[string]int{}
	for i, row := range rows {
		parts := make([]string, len(row))
		for j, v := range row {
			parts[j] = FolderPart(axes[j].Key) + "-" + folderValue(v)
		}
		folder := strings.Join(parts, "_")
		if len(folder) > maxFolder {
			suffix := "_" + strconv.Itoa(i)
			folder = folder[:maxFolder-len(suffix)] + suffix
		}
		variants[i] = Variant{Index: i, Values: row, Folder: folder}
		count[variants[i].Folder]++
	}
	for i := range variants {
		if count[variants[i].Folder] > 1 {
			variants[i].Folder += "_" + strconv.Itoa(i)
		}
	}
	return variants
}

// folderValue is a value as FolderPart writes it, but with its leading minus signs and points,
// which tell -0.5 from 0.5 and .1 from 1 (after the key's dash they start no name).
func folderValue(v string) string {
	v = strings.TrimSpace(v)
	rest := strings.TrimLeft(v, "-.")
	sign := v[:len(v)-len(rest)]
	if rest == "" && sign != "" {
		return sign
	}
	return sign + FolderPart(rest)
}

// maxPart bounds one key's or value's share of a folder name.
const maxPart = 40

// FolderPart is s as a part of a file or folder name: its letters, digits, dots and dashes,
// anything else turned into one dash.
func FolderPart(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range s {
		ok := r < 128 && (r == '.' || r == '-' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z')
		switch {
		case ok:
			b.WriteRune(r)
			dash = false
		case !dash:
			b.WriteByte('-')
			dash = true
		}
	}
	out := strings.Trim(b.String(), "-.")
	if len(out) > maxPart {
		out = out[:maxPart]
	}
	if out == "" {
		return "x"
	}
	return out
}

// Manifest is sweep.json: what the sweep runs and its variants.
type Manifest struct {
	Files []string `json:"files"`
	// Digests are the SHA-256 digests of Files' contents when the sweep started, so that the
	// sweep run again after an edit is refused rather than mixing variants of two experiments.
	Digests  []string  `json:"digests,omitempty"`
	Settings []string  `json:"settings,omitempty"`
	Axes     []Axis    `json:"axes"`
	Zip      bool      `json:"zip,omitempty"`
	Variants []Variant `json:"variants"`
}

// VariantSettings are the settings a variant's experiment loads with: the sweep's own, then the
// variant's values.
func (m *Manifest) VariantSettings(v Variant) []string {
	return append(slices.Clone(m.Settings), v.Settings(m.Axes)...)
}

// Keys are the varied keys, in order.
func (m *Manifest) Keys() []string {
	return Keys(m.Axes)
}

// Keys are the axes' keys, in order.
func Keys(axes []Axis) []string {
	keys := make([]string, len(axes))
	for i, a := range axes {
		keys[i] = a.Key
	}
	return keys
}

// Write writes the manifest to dir/sweep.json atomically.
func (m *Manifest) Write(dir string) error {
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(filepath.Join(dir, ManifestFile), append(data, '\n'))
}

// ReadManifest reads dir/sweep.json, refusing one whose variants do not fit its axes or name
// folders outside dir.
func ReadManifest(dir string) (*Manifest, error) {
	file := filepath.Join(dir, ManifestFile)
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	var m Manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	if err := m.check(); err != nil {
		return nil, fmt.Errorf("%s is damaged (%w): remove it and run the sweep's command again to rewrite it", file, err)
	}
	return &m, nil
}

// check says what is wrong with a manifest read from a file: too many variants, or a variant out
// of order, with values that do not match the axes, or whose folder is not one folder name.
func (m *Manifest) check() error {
	if len(m.Variants) > MaxVariants {
		return fmt.Errorf("%d variants, more than %d", len(m.Variants), MaxVariants)
	}
	for i, v := range m.Variants {
		switch {
		case v.Index != i:
			return fmt.Errorf("variant %d has the index %d", i, v.Index)
		case len(v.Values) != len(m.Axes):
			return fmt.Errorf("variant %d has %d values for %d varied keys", i, len(v.Values), len(m.Axes))
		case !filepath.IsLocal(v.Folder) || filepath.Base(v.Folder) != v.Folder || v.Folder == ".":
			return fmt.Errorf("variant %d's folder %q is not a folder name", i, v.Folder)
		}
	}
	return nil
}

// SameSweep says why other (a manifest already in the sweep folder) is not the sweep m, or nil
// when their experiment files, settings, varied keys and variants are the same.
func (m *Manifest) SameSweep(other *Manifest) error {
	if !slices.Equal(cleanPaths(m.Files), cleanPaths(other.Files)) {
		return fmt.Errorf("it runs the experiment files %q, this one %q", other.Files, m.Files)
	}
	if len(m.Digests) == len(m.Files) && len(other.Digests) == len(m.Files) {
		for i, d := range m.Digests {
			if d != other.Digests[i] {
				return fmt.Errorf("%s changed since the sweep started", m.Files[i])
			}
		}
	}
	if len(m.Variants) != len(other.Variants) {
		return fmt.Errorf("the folder holds a sweep of %d variants, this one has %d", len(other.Variants), len(m.Variants))
	}
	if !slices.Equal(m.Settings, other.Settings) {
		return fmt.Errorf("its --set are %q, here %q", other.Settings, m.Settings)
	}
	if !slices.Equal(m.Keys(), other.Keys()) {
		return fmt.Errorf("it varies %q, this one %q", other.Keys(), m.Keys())
	}
	for i, v := range m.Variants {
		if o := other.Variants[i]; v.Folder != o.Folder || !slices.Equal(v.Values, o.Values) {
			return fmt.Errorf("variant %d is %s (%q) there and %s (%q) here", i, o.Folder, o.Values, v.Folder, v.Values)
		}
	}
	return nil
}

// cleanPaths are paths cleaned (filepath.Clean), so that ./demo.yaml is demo.yaml.
func cleanPaths(paths []string) []string {
	out := make([]string, len(paths))
	for i, p := range paths {
		out[i] = filepath.Clean(p)
	}
	return out
}

// FileDigests are the SHA-256 digests of the files' contents, for Manifest.Digests.
func FileDigests(files []string) ([]string, error) {
	digests := make([]string, len(files))
	for i, f := range files {
		var err error
		if digests[i], err = digest.File(f); err != nil {
			return nil, err
		}
	}
	return digests, nil
}
