package clipmodel

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// realVocabDir is the real CLIP vocabulary, shared beside the repository and never committed;
// $CLIP_VOCAB_DIR points elsewhere.
func realVocabDir() string {
	if dir := os.Getenv("CLIP_VOCAB_DIR"); dir != "" {
		return dir
	}
	return "../../shared/clip-vocab"
}

func realTokenizer(t testing.TB) *Tokenizer {
	t.Helper()
	realVocabDir := realVocabDir()
	if _, err := os.Stat(filepath.Join(realVocabDir, "vocab.json")); err != nil {
		t.Skipf("the real CLIP vocabulary is not at %s (it is shared beside the repository, not part of it): %v",
			realVocabDir, err)
	}
	tok, err := LoadTokenizer(realVocabDir, 77)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// goldenTokens are OpenAI's token ids for texts on the real vocabulary (make.py writes them).
type goldenTokens []struct {
	Text   string `json:"text"`
	Tokens []int  `json:"tokens"`
}

func readGoldenTokens(t *testing.T) goldenTokens {
	t.Helper()
	data, err := os.ReadFile("testdata/tokens-real-vocab.json")
	if err != nil {
		t.Fatal(err)
	}
	var golden goldenTokens
	if err := json.Unmarshal(data, &golden); err != nil {
		t.Fatal(err)
	}
	return golden
}

func TestTokenizerMatchesOpenAIOnRealVocabulary(t *testing.T) {
	tok := realTokenizer(t)
	golden := readGoldenTokens(t)
	if len(golden) < 15 {
		t.Fatalf("only %d golden texts", len(golden))
	}
	for _, g := range golden {
		if got := tok.Tokenize(g.Text); !slices.Equal(got, g.Tokens) {
			t.Errorf("Tokenize(%q)\n got %v\nwant %v", g.Text, got, g.Tokens)
		}
	}
}

func TestTokenizeFramesAndTruncates(t *testing.T) {
	tok := realTokenizer(t)
	if got := tok.Tokenize("a photo of a cat"); !slices.Equal(got, []int{49406, 320, 1125, 539, 320, 2368, 49407}) {
		t.Errorf("a photo of a cat: %v", got)
	}
	if got := tok.Tokenize(""); !slices.Equal(got, []int{49406, 49407}) {
		t.Errorf("empty text: %v", got)
	}
	long := tok.Tokenize(strings.Repeat("cat ", 500))
	if len(long) != 77 || long[0] != tok.StartID || long[76] != tok.EndID {
		t.Errorf("long text: %d tokens, first %d, last %d", len(long), long[0], long[len(long)-1])
	}
}

func TestCleanText(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"  A  Red\tCircle\n", "a red circle"},
		{"&amp;lt;b&amp;gt;", "<b>"},
		{"ΟΔΟΣ", "οδος"},
		{"\x1c x \x1f", "x"},
		{"İ", "i\u0307"},
	} {
		if got := CleanText(tc.in); got != tc.want {
			t.Errorf("CleanText(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestPadTokens(t *testing.T) {
	got := PadTokens([][]int{{1, 2, 3}, {4}})
	want := [][]int32{{1, 2, 3}, {4, 0, 0}}
	for i := range want {
		if !slices.Equal(got[i], want[i]) {
			t.Errorf("row %d: %v, want %v", i, got[i], want[i])
		}
	}
}

func TestLoadTokenizerFromTokenizerJSON(t *testing.T) {
	src := filepath.Join("testdata", "vit-b32-tiny")
	want, err := LoadTokenizer(src, 16)
	if err != nil {
		t.Fatal(err)
	}
	vocab, err := os.ReadFile(filepath.Join(src, "vocab.json"))
	if err != nil {
		t.Fatal(err)
	}
	mergesText, err := os.ReadFile(filepath.Join(src, "merges.txt"))
	if err != nil {
		t.Fatal(err)
	}
	merges, err := ParseMerges(mergesText)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, m := range merges {
		lines = append(lines, m[0]+" "+m[1])
	}
	mergesJSON, _ := json.Marshal(lines)
	dir := t.TempDir()
	doc := `{"model":{"type":"BPE","vocab":` + string(vocab) + `,"merges":` + string(mergesJSON) + `}}`
	if err := os.WriteFile(filepath.Join(dir, "tokenizer.json"), []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := LoadTokenizer(dir, 16)
	if err != nil {
		t.Fatal(err)
	}
	for _, text := range []string{"a red circle on grass", "malazan book", "zebra!"} {
		if a, b := got.Tokenize(text), want.Tokenize(text); !slices.Equal(a, b) {
			t.Errorf("%q: tokenizer.json gives %v, vocab.json/merges.txt %v", text, a, b)
		}
	}
}

func TestTokenizerRejectsBadVocabularies(t *testing.T) {
	vocab := ByteVocabulary(600)
	if _, err := NewTokenizer(vocab, [][2]string{{"a", "b"}}, 77); err == nil ||
		!strings.Contains(err.Error(), "not in the vocabulary") {
		t.Errorf("merge producing an unknown symbol: %v", err)
	}
	delete(vocab, endToken)
	if _, err := NewTokenizer(vocab, nil, 77); err == nil || !strings.Contains(err.Error(), endToken) {
		t.Errorf("missing end token: %v", err)
	}
	if _, err := ParseMerges([]byte("#version: 0.2\na b c\n")); err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Errorf("bad merges line: %v", err)
	}
}

func FuzzTokenize(f *testing.F) {
	tok, err := LoadTokenizer(filepath.Join("testdata", "vit-b32-tiny"), 16)
	if err != nil {
		f.Fatal(err)
	}
	for _, seed := range []string{"a photo of a cat", "", "&amp;&#x1F600;", "<|endoftext|>x", "\xff\xfe", "日本 🐙"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, text string) {
		ids := tok.Tokenize(text)
		if len(ids) < 2 || len(ids) > 16 || ids[0] != tok.StartID || ids[len(ids)-1] != tok.EndID {
			t.Fatalf("Tokenize(%q) = %v", text, ids)
		}
		if utf8.ValidString(text) {
			for _, id := range tok.Encode(text) {
				if id < 0 || id > tok.EndID {
					t.Fatalf("id %d out of the vocabulary", id)
				}
			}
		}
	})
}

// TestOverflowCountsWhatTokenizeCuts: a text that fits has no overflow; a longer one overflows
// by the tokens Tokenize drops.
func TestOverflowCountsWhatTokenizeCuts(t *testing.T) {
	tok, err := NewTokenizer(ByteVocabulary(600), nil, 8)
	if err != nil {
		t.Fatal(err)
	}
	for _, text := range []string{"ab", "abcdef", "abcdefghij"} {
		whole := len(tok.Encode(text)) + 2
		if got, want := tok.Overflow(text), max(whole-8, 0); got != want || len(tok.Tokenize(text)) != whole-got {
			t.Errorf("%q: overflow %d, want %d (Tokenize keeps %d of %d)", text, got, want, len(tok.Tokenize(text)), whole)
		}
	}
}
