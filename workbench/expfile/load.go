// Package expfile reads experiments from YAML files in CLIPig's vocabulary, with values that
// may be expressions of time, and writes fully resolved experiments back.
//
// Several files merge left to right as CLIPig merges them: mappings merge key by key, and lists
// of entries (targets, postproc, a target's transforms) are appended, a target too where an
// earlier one has its name (see workbench's uniqueTargetNames). Lists of values (resolution) are
// replaced.
// Errors name the file, line and column, or the setting (--set key=value) or flag (--learnrate
// abc) they come from.
package expfile

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/clipwork/clipwork/workbench"
	"go.yaml.in/yaml/v3"
)

// setSource starts the source of values given by Load's settings rather than a file: errors
// in them name the setting ("--set epochs=abc: ..."), as the flag gave it, for want of a line.
const setSource = "--set "

// Setting is one "key.path=value" setting and the command-line flag that gave it, as typed
// ("--learnrate abc"), which its errors name; without a flag they name "--set key.path=value".
type Setting struct{ Text, Flag string }

// source is the source of the values the setting gives.
func (s Setting) source() string {
	if s.Flag != "" {
		return workbench.Printable(s.Flag)
	}
	return setSource + workbench.Printable(s.Text)
}

// Load reads and merges experiment files, applies settings ("key.path=value", e.g.
// "targets.details.batch_size=8" or "init.std=0.2"), and decodes the result. It returns
// every error it finds, each with its position.
func Load(paths []string, settings ...string) (*File, error) {
	return LoadSettings(paths, plainSettings(settings))
}

// LoadSettings is Load with settings that may name the flags that gave them.
func LoadSettings(paths []string, settings []Setting) (*File, error) {
	if len(paths) == 0 {
		return nil, errors.New("no experiment file given")
	}
	files := map[*yaml.Node]string{}
	var merged *yaml.Node
	var notes []error
	for _, p := range paths {
		root, dropped, err := parseFile(p, files)
		if err != nil {
			return nil, err
		}
		merged, notes = mergeNodes(merged, root), append(notes, dropped...)
	}
	for _, s := range settings {
		if err := applySetting(merged, s, files); err != nil {
			return nil, err
		}
	}
	return decodeWithNotes(merged, files, notes)
}

// decodeWithNotes is Decode, with notes from parsing before the decoder's.
func decodeWithNotes(root *yaml.Node, files map[*yaml.Node]string, notes []error) (*File, error) {
	f, err := Decode(root, files)
	if err == nil {
		f.Notes = append(notes, f.Notes...)
	}
	return f, err
}

// plainSettings are settings without flags.
func plainSettings(texts []string) []Setting {
	settings := make([]Setting, len(texts))
	for i, t := range texts {
		settings[i] = Setting{Text: t}
	}
	return settings
}

// Parse reads one experiment from YAML text, with settings as in Load; name stands for the
// file in errors.
func Parse(name string, data []byte, settings ...string) (*File, error) {
	files := map[*yaml.Node]string{}
	root, notes, err := parseBytes(name, data, files)
	if err != nil {
		return nil, err
	}
	for _, s := range plainSettings(settings) {
		if err := applySetting(root, s, files); err != nil {
			return nil, err
		}
	}
	return decodeWithNotes(root, files, notes)
}

// Decode turns a parsed experiment into a File; files names the source of each node.
func Decode(root *yaml.Node, files map[*yaml.Node]string) (*File, error) {
	d := &decoder{files: files}
	f := d.file(root)
	if len(d.errs) > 0 {
		return nil, errors.Join(d.errs...)
	}
	f.Notes = d.notes
	return f, nil
}

// maxFileBytes bounds an experiment file: far beyond any experiment, and short of reading
// /dev/zero or a mistaken multi-gigabyte file into memory.
const maxFileBytes = 4 << 20

// parseFile parses an experiment file (see parseBytes).
func parseFile(path string, files map[*yaml.Node]string) (*yaml.Node, []error, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxFileBytes+1))
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(data) > maxFileBytes {
		return nil, nil, fmt.Errorf("%s is larger than %d MB, the limit of an experiment file: is it one?", path, maxFileBytes>>20)
	}
	return parseBytes(path, data, files)
}

// parseBytes parses an experiment's YAML text, its aliases expanded and the earlier of keys
// named twice dropped, with a note for each.
func parseBytes(name string, data []byte, files map[*yaml.Node]string) (*yaml.Node, []error, error) {
	if bom := "\ufeff"; bytes.HasPrefix(data, []byte(bom+bom)) { // one is YAML's; the parser mangles a second
		marks := (len(data) - len(strings.TrimLeft(string(data), bom))) / len(bom)
		return nil, nil, fmt.Errorf("%s:1: the file starts with %d byte-order marks (U+FEFF); YAML takes one: remove the others",
			name, marks)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, nil, syntaxError(name, data, err)
	}
	if err := checkOneDocument(name, data); err != nil {
		return nil, nil, err
	}
	root := &yaml.Node{Kind: yaml.MappingNode, Line: 1, Column: 1}
	if len(doc.Content) > 0 {
		root = doc.Content[0]
	}
	if root.Kind != yaml.MappingNode {
		return nil, nil, &Error{File: name, Line: root.Line, Column: root.Column,
			Message: "an experiment is a mapping of keys (epochs, resolution, targets, ...) to values"}
	}
	notes := dropDuplicateKeys(root, name) // before the aliases expand, once for an anchored mapping
	budget := maxExpandedNodes
	root, err := expandAliases(root, name, &budget)
	if err != nil {
		return nil, nil, err
	}
	markFile(root, name, files)
	return root, notes, nil
}

// syntaxError is the parser's error err on data as file:line: message. The parser names the
// line of the block it was reading, often well above the line that breaks it (a key indented
// out of its block, an unclosed bracket); the line after the longest start of the file that
// still parses is that line, and the error names it, with the parser's words.
func syntaxError(name string, data []byte, err error) error {
	m := yamlLine.FindStringSubmatch(err.Error())
	if m == nil {
		return fmt.Errorf("%s: %w%s", name, err, tabHint(data))
	}
	if breaking := breakingLine(data); breaking > 0 && strconv.Itoa(breaking) != m[1] {
		return fmt.Errorf("%s:%d: the YAML reads well up to this line, which breaks it: %s (in the block of line %s)%s",
			name, breaking, m[2], m[1], tabHint(data))
	}
	return fmt.Errorf("%s:%s: %s%s", name, m[1], m[2], tabHint(data))
}

// maxScannedLines bounds the files breakingLine reads, one parse a line.
const maxScannedLines = 1000

// breakingLine is, for data that does not parse, the line after the longest run of its first
// lines that parses (a bracket opened on one line and closed on a later one parses again
// there); 0 for a file longer than maxScannedLines.
func breakingLine(data []byte) int {
	lines := strings.SplitAfter(string(data), "\n")
	if len(lines) > maxScannedLines {
		return 0
	}
	for k := len(lines) - 1; k > 0; k-- {
		var node yaml.Node
		if yaml.Unmarshal([]byte(strings.Join(lines[:k], "")), &node) == nil {
			return k + 1
		}
	}
	return 1
}

// yamlLine is the YAML parser's "yaml: line N: message".
var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// tabHint explains a YAML error in a file that indents with tabs, which YAML forbids.
func tabHint(data []byte) string {
	for i, line := range strings.Split(string(data), "\n") {
		if indent := line[:len(line)-len(strings.TrimLeft(line, " \t"))]; strings.Contains(indent, "\t") {
			return fmt.Sprintf(" (line %d indents with a tab: YAML indents with spaces only)", i+1)
		}
	}
	return ""
}

// checkOneDocument refuses a file of several YAML documents (separated by ---), whose later
// documents the parser would drop silently.
func checkOneDocument(name string, data []byte) error {
	decoder := yaml.NewDecoder(bytes.NewReader(data))
	var first, second yaml.Node
	if err := decoder.Decode(&first); err != nil {
		return nil // empty, or refused by the parser already
	}
	if err := decoder.Decode(&second); err == nil && !emptyDocument(&second) {
		return &Error{File: name, Line: second.Line, Column: second.Column,
			Message: "a second YAML document: clipwork reads one experiment per file; put the others in files of their own " +
				"(several files given to run merge left to right)"}
	}
	return nil
}

// emptyDocument tells whether a document holds nothing (a trailing --- does that).
func emptyDocument(doc *yaml.Node) bool {
	return len(doc.Content) == 0 || (len(doc.Content) == 1 && doc.Content[0].Tag == "!!null")
}

// maxExpandedNodes bounds the values a file's aliases expand to: a few lines of aliases of
// aliases can otherwise stand for billions of values. Values written out count for nothing.
const maxExpandedNodes = 100_000

// expandAliases returns n with every alias (*name) replaced by a copy of what its anchor
// (&name) marks, spending one of budget per value reached through an alias.
func expandAliases(n *yaml.Node, file string, budget *int) (*yaml.Node, error) {
	return expandNode(n, file, budget, false)
}

func expandNode(n *yaml.Node, file string, budget *int, aliased bool) (*yaml.Node, error) {
	if n.Kind == yaml.AliasNode {
		aliased = true
	}
	if aliased {
		if *budget--; *budget < 0 {
			return nil, &Error{File: file, Line: n.Line, Column: n.Column,
				Message: fmt.Sprintf("the file's aliases expand to more than %d values: write the values out", maxExpandedNodes)}
		}
	}
	if n.Kind == yaml.AliasNode {
		return expandNode(n.Alias, file, budget, true)
	}
	out := *n
	out.Content = make([]*yaml.Node, len(n.Content))
	for i, c := range n.Content {
		expanded, err := expandNode(c, file, budget, aliased)
		if err != nil {
			return nil, err
		}
		out.Content[i] = expanded
	}
	if out.Kind == yaml.MappingNode {
		return mergeKeys(&out, file)
	}
	return &out, nil
}

// mergeKeys applies YAML's merge keys (`<<: *defaults` or `<<: [*a, *b]`), which CLIPig's
// reader follows: the merged mappings' keys join the mapping, its own keys winning, and among
// the merged ones a later merge key's and a list's earlier mapping's, as in PyYAML.
func mergeKeys(m *yaml.Node, file string) (*yaml.Node, error) {
	var own, merged []*yaml.Node
	for i := 0; i+1 < len(m.Content); i += 2 {
		key, value := m.Content[i], m.Content[i+1]
		if key.Kind != yaml.ScalarNode || key.Value != "<<" || key.Style&(yaml.SingleQuotedStyle|yaml.DoubleQuotedStyle) != 0 {
			own = append(own, key, value)
			continue
		}
		sources := []*yaml.Node{value}
		if value.Kind == yaml.SequenceNode { // PyYAML merges a list's mappings last to first
			sources = slices.Clone(value.Content)
			slices.Reverse(sources)
		}
		for _, src := range sources {
			if src.Kind != yaml.MappingNode {
				return nil, &Error{File: file, Line: src.Line, Column: src.Column,
					Message: "a merge key (<<) takes a mapping or a list of mappings, e.g. <<: *defaults"}
			}
			merged = append(merged, src.Content...)
		}
	}
	if merged == nil {
		return m, nil
	}
	out := *m
	out.Content = own
	for i := len(merged) - 2; i >= 0; i -= 2 { // the later of merged keys wins, as in PyYAML's dict
		if keyIndex(&out, merged[i].Value) < 0 {
			out.Content = append(out.Content, merged[i], merged[i+1])
		}
	}
	return &out, nil
}

// dropDuplicateKeys keeps the last of keys that a mapping names twice, as PyYAML (CLIPig's
// reader) does, and returns a note for each it drops.
func dropDuplicateKeys(n *yaml.Node, file string) []error {
	var notes []error
	if n.Kind == yaml.MappingNode {
		last := map[string]int{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			last[n.Content[i].Value] = i
		}
		var kept []*yaml.Node
		for i := 0; i+1 < len(n.Content); i += 2 {
			key := n.Content[i]
			if later := n.Content[last[key.Value]]; later != key && key.Value != "<<" { // merge keys all merge
				notes = append(notes, &Error{File: file, Line: key.Line, Column: key.Column, Message: fmt.Sprintf(
					"note: key %q appears again at line %d, whose value counts, as in CLIPig: remove one", key.Value, later.Line)})
				continue
			}
			kept = append(kept, key, n.Content[i+1])
		}
		n.Content = kept
	}
	for _, c := range n.Content {
		notes = append(notes, dropDuplicateKeys(c, file)...)
	}
	return notes
}

func markFile(n *yaml.Node, name string, files map[*yaml.Node]string) {
	files[n] = name
	for _, c := range n.Content {
		markFile(c, name, files)
	}
}

// markSetting marks the nodes of a setting's value as coming from source, at line 0: a
// setting has no lines, and line 0 tells its values from a file's (see fromFile).
func markSetting(n *yaml.Node, source string, files map[*yaml.Node]string) {
	files[n], n.Line, n.Column = source, 0, 0
	for _, c := range n.Content {
		markSetting(c, source, files)
	}
}

// mergeNodes merges b over a (see the package comment); it may reuse a's nodes.
func mergeNodes(a, b *yaml.Node) *yaml.Node {
	if a == nil || a.Kind != yaml.MappingNode || b.Kind != yaml.MappingNode {
		return b
	}
	for i := 0; i+1 < len(b.Content); i += 2 {
		key, value := b.Content[i], b.Content[i+1]
		j := keyIndex(a, key.Value)
		switch {
		case j < 0:
			a.Content = append(a.Content, key, value)
		case isEntryList(a.Content[j+1]) && isEntryList(value):
			a.Content[j+1].Content = append(a.Content[j+1].Content, value.Content...)
		default:
			a.Content[j+1] = mergeNodes(a.Content[j+1], value)
		}
	}
	return a
}

// isEntryList tells whether a node is a list of entries (mappings, such as postproc items or
// features), which CLIPig appends when files merge, rather than a list of values.
func isEntryList(n *yaml.Node) bool {
	return n.Kind == yaml.SequenceNode && len(n.Content) > 0 && n.Content[0].Kind == yaml.MappingNode
}

func keyIndex(m *yaml.Node, key string) int {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return i
		}
	}
	return -1
}

// listElements words what a list's elements can be called: indices, and names where they have them.
func listElements(list *yaml.Node) string {
	var names []string
	for _, item := range list.Content {
		if name := targetName(item); name != "" {
			names = append(names, strconv.Quote(name))
		}
	}
	words := fmt.Sprintf("indices 0 to %d", len(list.Content)-1)
	if len(list.Content) == 0 {
		words = "the list is empty"
	}
	if len(names) > 0 {
		words += ", or names " + strings.Join(names, ", ")
	}
	return words
}

func targetName(t *yaml.Node) string {
	if t.Kind != yaml.MappingNode {
		return ""
	}
	if i := keyIndex(t, "name"); i >= 0 {
		return t.Content[i+1].Value
	}
	return ""
}

func targetIndex(list *yaml.Node, name string) int {
	for i, t := range list.Content {
		if targetName(t) == name {
			return i
		}
	}
	return -1
}

// applySetting sets "a.b.c=value" in the merged tree; a list element is chosen by index or,
// for targets, by name.
func applySetting(root *yaml.Node, setting Setting, files map[*yaml.Node]string) error {
	source := setting.source()
	path, raw, ok := strings.Cut(setting.Text, "=")
	if !ok || path == "" {
		return fmt.Errorf("%s: write key=value, e.g. init.std=0.2 or targets.details.batch_size=8", source)
	}
	var value yaml.Node
	if err := yaml.Unmarshal([]byte(raw), &value); err != nil || len(value.Content) == 0 {
		value = yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{{Kind: yaml.ScalarNode, Value: raw}}}
	}
	node := value.Content[0]
	markSetting(node, source, files)
	parts := strings.Split(path, ".")
	current := root
	for i, part := range parts {
		last := i == len(parts)-1
		switch current.Kind {
		case yaml.MappingNode:
			j := keyIndex(current, part)
			if j < 0 {
				if !last {
					key, child := &yaml.Node{Kind: yaml.ScalarNode, Value: part}, &yaml.Node{Kind: yaml.MappingNode}
					files[key], files[child] = source, source
					current.Content = append(current.Content, key, child)
					current = child
					continue
				}
				key := &yaml.Node{Kind: yaml.ScalarNode, Value: part}
				files[key] = source
				current.Content = append(current.Content, key, node)
				return nil
			}
			if last {
				current.Content[j+1] = node
				return nil
			}
			current = current.Content[j+1]
		case yaml.SequenceNode:
			k, err := strconv.Atoi(part)
			if err != nil {
				k = targetIndex(current, part)
			}
			if k < 0 || k >= len(current.Content) {
				return fmt.Errorf("%s: there is no list element %q (%s)", source, part, listElements(current))
			}
			if last {
				current.Content[k] = node
				return nil
			}
			current = current.Content[k]
		default:
			return fmt.Errorf("%s: %q is a single value, not a mapping or list", source, strings.Join(parts[:i], "."))
		}
	}
	return nil
}
