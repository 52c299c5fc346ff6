package clipmodel

// CLIP's tokenizer is written here rather than taken from go-huggingface's tokenizer.json
// reader: OpenAI's cleaning (HTML unescaping, Python's whitespace and lower-casing rules) is not
// expressible in tokenizer.json, and the embedded default model ships only vocab.json/merges.txt.

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/clipwork/clipwork/internal/atomicfile"
	"html"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"unicode"

	"golang.org/x/text/cases"
	"golang.org/x/text/language"
	"golang.org/x/text/unicode/norm"
)

const (
	startToken = "<|startoftext|>"
	endToken   = "<|endoftext|>"
	wordEnd    = "</w>"
)

// splitPattern is openai/CLIP's pre-tokenisation regex. Go's \s is ASCII-only where Python's is
// Unicode, which makes no difference here: cleaning has already turned all Unicode whitespace
// into single spaces.
var splitPattern = regexp.MustCompile(`(?i)<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|\p{L}+|\p{N}|[^\s\p{L}\p{N}]+`)

// byteSymbols is GPT-2's reversible byte-to-character table that CLIP's vocabulary is written in.
var byteSymbols = func() [256]string {
	var table [256]string
	next := 256
	for b := range 256 {
		if printableByte(b) {
			table[b] = string(rune(b))
		} else {
			table[b] = string(rune(next))
			next++
		}
	}
	return table
}()

// printableByte says whether byteSymbols writes b as itself: '!'..'~', '¡'..'¬' and '®'..'ÿ'.
func printableByte(b int) bool {
	return (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF)
}

// Tokenizer is CLIP's byte-level BPE tokenizer, matching openai/CLIP's SimpleTokenizer.
type Tokenizer struct {
	vocab  map[string]int
	merges [][2]string
	ranks  map[[2]string]int
	// StartID and EndID are the ids of <|startoftext|> and <|endoftext|>.
	StartID, EndID int
	// ContextLength is the longest token sequence, start and end included.
	ContextLength int

	mu    sync.Mutex
	cache map[string][]int
}

// NewTokenizer builds a tokenizer from a vocabulary (symbol to id) and the ranked merges.
func NewTokenizer(vocab map[string]int, merges [][2]string, contextLength int) (*Tokenizer, error) {
	t := &Tokenizer{vocab: vocab, merges: merges, ranks: make(map[[2]string]int, len(merges)),
		ContextLength: contextLength, cache: map[string][]int{}}
	var ok bool
	if t.StartID, ok = vocab[startToken]; !ok {
		return nil, fmt.Errorf("vocabulary has no %s token", startToken)
	}
	if t.EndID, ok = vocab[endToken]; !ok {
		return nil, fmt.Errorf("vocabulary has no %s token", endToken)
	}
	if contextLength < 2 {
		return nil, fmt.Errorf("context length %d leaves no room for the start and end tokens", contextLength)
	}
	for _, sym := range byteSymbols {
		if _, ok := vocab[sym]; !ok {
			return nil, fmt.Errorf("vocabulary lacks the byte symbol %q: not a byte-level BPE vocabulary", sym)
		}
		if _, ok := vocab[sym+wordEnd]; !ok {
			return nil, fmt.Errorf("vocabulary lacks the byte symbol %q: not a byte-level BPE vocabulary", sym+wordEnd)
		}
	}
	for i, m := range merges {
		if _, ok := vocab[m[0]+m[1]]; !ok {
			return nil, fmt.Errorf("merge %d (%q %q) makes %q, which is not in the vocabulary", i+1, m[0], m[1], m[0]+m[1])
		}
		if _, dup := t.ranks[m]; !dup {
			t.ranks[m] = i
		}
	}
	return t, nil
}

// LoadTokenizer reads dir/vocab.json and dir/merges.txt, or the BPE model inside dir/tokenizer.json
// when those are absent.
func LoadTokenizer(dir string, contextLength int) (*Tokenizer, error) {
	vocabPath, mergesPath := filepath.Join(dir, "vocab.json"), filepath.Join(dir, "merges.txt")
	vocabData, err := os.ReadFile(vocabPath)
	if errors.Is(err, os.ErrNotExist) {
		return loadTokenizerJSON(filepath.Join(dir, "tokenizer.json"), contextLength)
	}
	if err != nil {
		return nil, err
	}
	var vocab map[string]int
	if err := json.Unmarshal(vocabData, &vocab); err != nil {
		return nil, fmt.Errorf("%s: %w", vocabPath, err)
	}
	mergesData, err := os.ReadFile(mergesPath)
	if err != nil {
		return nil, fmt.Errorf("reading merges: %w (vocab.json needs merges.txt beside it)", err)
	}
	merges, err := ParseMerges(mergesData)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", mergesPath, err)
	}
	t, err := NewTokenizer(vocab, merges, contextLength)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", vocabPath, err)
	}
	return t, nil
}

func loadTokenizerJSON(path string, contextLength int) (*Tokenizer, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("no tokenizer: a model folder needs vocab.json and merges.txt, or tokenizer.json (%w)", err)
	}
	var file struct {
		Model struct {
			Vocab  map[string]int    `json:"vocab"`
			Merges []json.RawMessage `json:"merges"`
		} `json:"model"`
	}
	if err := json.Unmarshal(data, &file); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	merges := make([][2]string, 0, len(file.Model.Merges))
	for i, raw := range file.Model.Merges {
		var line string
		var pair []string
		switch {
		case json.Unmarshal(raw, &line) == nil:
			pair = strings.Split(line, " ")
		case json.Unmarshal(raw, &pair) == nil:
		}
		if len(pair) != 2 {
			return nil, fmt.Errorf("%s: merge %d is not a pair of symbols", path, i+1)
		}
		merges = append(merges, [2]string{pair[0], pair[1]})
	}
	t, err := NewTokenizer(file.Model.Vocab, merges, contextLength)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return t, nil
}

// Save writes the vocabulary and merges as dir/vocab.json and dir/merges.txt.
func (t *Tokenizer) Save(dir string) error {
	vocab, err := json.Marshal(t.vocab)
	if err != nil {
		return err
	}
	if err := atomicfile.Write(filepath.Join(dir, "vocab.json"), func(w *bufio.Writer) error {
		_, err := w.Write(vocab)
		return err
	}); err != nil {
		return err
	}
	return atomicfile.Write(filepath.Join(dir, "merges.txt"), func(w *bufio.Writer) error {
		w.WriteString("#version: 0.2\n")
		for _, m := range t.merges {
			w.WriteString(m[0] + " " + m[1] + "\n")
		}
		return nil
	})
}

// ParseMerges reads a merges.txt: an optional "#version" line, then one "a b" pair per line.
func ParseMerges(data []byte) ([][2]string, error) {
	var merges [][2]string
	scanner := bufio.NewScanner(bytes.NewReader(data))
	scanner.Buffer(make([]byte, 1<<16), 1<<20)
	for line := 1; scanner.Scan(); line++ {
		text := scanner.Text()
		if text == "" || (line == 1 && strings.HasPrefix(text, "#version")) {
			continue
		}
		fields := strings.Split(text, " ")
		if len(fields) != 2 || fields[0] == "" || fields[1] == "" {
			return nil, fmt.Errorf("line %d: want two symbols separated by one space, got %q", line, text)
		}
		merges = append(merges, [2]string{fields[0], fields[1]})
	}
	return merges, scanner.Err()
}

// CleanText applies openai/CLIP's text cleaning: Unicode NFC normalisation (what ftfy.fix_text
// ends with), HTML entities unescaped (twice), whitespace collapsed to single spaces and trimmed,
// then lower-cased with Unicode's full case mapping, as Python's str.lower does. ftfy's other
// repairs (mojibake) are not applied.
func CleanText(text string) string {
	text = norm.NFC.String(text)
	text = strings.TrimFunc(html.UnescapeString(html.UnescapeString(text)), isPythonSpace)
	text = strings.Join(strings.FieldsFunc(text, unicode.IsSpace), " ")
	text = strings.TrimFunc(text, isPythonSpace)
	return cases.Lower(language.Und).String(text)
}

// isPythonSpace is Python's str.isspace, which strip() uses: Unicode whitespace plus the
// information separators U+001C..U+001F.
func isPythonSpace(r rune) bool {
	return unicode.IsSpace(r) || (r >= 0x1c && r <= 0x1f)
}

// Encode tokenizes text into BPE ids, without start and end tokens.
func (t *Tokenizer) Encode(text string) []int {
	var ids []int
	for _, piece := range splitPattern.FindAllString(CleanText(text), -1) {
		ids = append(ids, t.encodePiece(piece)...)
	}
	return ids
}

// Overflow is how many of text's tokens Tokenize cuts to fit the context length (0 where it fits).
func (t *Tokenizer) Overflow(text string) int {
	return max(len(t.Encode(text))+2-t.ContextLength, 0)
}

// Tokenize returns the ids of text framed by the start and end tokens, truncated to the context
// length with the end token kept last, as openai/CLIP's clip.tokenize(truncate=True).
func (t *Tokenizer) Tokenize(text string) []int {
	ids := append([]int{t.StartID}, t.Encode(text)...)
	ids = append(ids, t.EndID)
	if len(ids) > t.ContextLength {
		ids = ids[:t.ContextLength]
		ids[len(ids)-1] = t.EndID
	}
	return ids
}

// PadTokens returns the token lists as one [len(lists), longest] batch, padded with zeros as
// openai/CLIP pads (padding never reaches the pooled position of a causal text tower).
func PadTokens(lists [][]int) [][]int32 {
	longest := 0
	for _, ids := range lists {
		longest = max(longest, len(ids))
	}
	batch := make([][]int32, len(lists))
	for i, ids := range lists {
		batch[i] = make([]int32, longest)
		for j, id := range ids {
			batch[i][j] = int32(id)
		}
	}
	return batch
}

func (t *Tokenizer) encodePiece(piece string) []int {
	switch piece {
	case startToken:
		return []int{t.StartID}
	case endToken:
		return []int{t.EndID}
	}
	t.mu.Lock()
	cached, ok := t.cache[piece]
	t.mu.Unlock()
	if ok {
		return cached
	}
	word := make([]string, 0, len(piece))
	for i := 0; i < len(piece); i++ {
		word = append(word, byteSymbols[piece[i]])
	}
	word[len(word)-1] += wordEnd
	word = t.merge(word)
	ids := make([]int, len(word))
	for i, sym := range word {
		ids[i] = t.vocab[sym]
	}
	t.mu.Lock()
	if len(t.cache) < 1<<16 {
		t.cache[piece] = ids
	}
	t.mu.Unlock()
	return ids
}

// merge applies the lowest-ranked merge among adjacent symbols until none applies.
func (t *Tokenizer) merge(word []string) []string {
	for len(word) > 1 {
		best, bestRank := [2]string{}, -1
		for i := 0; i+1 < len(word); i++ {
			pair := [2]string{word[i], word[i+1]}
			if rank, ok := t.ranks[pair]; ok && (bestRank < 0 || rank < bestRank) {
				best, bestRank = pair, rank
			}
		}
		if bestRank < 0 {
			break
		}
		merged := word[:0:0]
		for i := 0; i < len(word); i++ {
			if i+1 < len(word) && word[i] == best[0] && word[i+1] == best[1] {
				merged = append(merged, best[0]+best[1])
				i++
			} else {
				merged = append(merged, word[i])
			}
		}
		word = merged
	}
	return word
}
