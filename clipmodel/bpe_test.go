package clipmodel

import (
	"slices"
	"testing"
)

func TestLearnBPE(t *testing.T) {
	corpus := []string{"a red circle", "a red square", "two red circles", "a blue circle on grass"}
	tok, err := LearnBPE(corpus, 100, 16)
	if err != nil {
		t.Fatal(err)
	}
	// Frequent words become single tokens; the end token is the last id.
	for _, word := range []string{"red", "circle"} {
		if ids := tok.Encode(word); len(ids) != 1 {
			t.Errorf("%q encodes to %d tokens %v, want 1", word, len(ids), ids)
		}
	}
	if tok.EndID != tok.VocabSize()-1 || tok.StartID != tok.EndID-1 {
		t.Errorf("start %d, end %d, vocabulary %d", tok.StartID, tok.EndID, tok.VocabSize())
	}
	// Unseen words still encode, byte by byte at worst, and the tokenizer round-trips through files.
	dir := t.TempDir()
	if err := tok.Save(dir); err != nil {
		t.Fatal(err)
	}
	again, err := LoadTokenizer(dir, 16)
	if err != nil {
		t.Fatal(err)
	}
	for _, text := range []string{"a red circle", "malazan!", ""} {
		if a, b := tok.Tokenize(text), again.Tokenize(text); !slices.Equal(a, b) {
			t.Errorf("%q: %v before saving, %v after", text, a, b)
		}
	}
}
