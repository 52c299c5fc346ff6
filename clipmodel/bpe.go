package clipmodel

import (
	"maps"
	"slices"
)

// LearnBPE learns a byte-level BPE vocabulary in CLIP's layout from a corpus: the 256 byte
// symbols, the same with the word-end mark, one symbol per merge, then the start and end tokens.
// It learns at most maxMerges merges, each joining the most frequent adjacent pair (ties go
// to the pair that sorts first), and stops early when no pair occurs twice.
func LearnBPE(corpus []string, maxMerges, contextLength int) (*Tokenizer, error) {
	words := map[string]int{}
	for _, text := range corpus {
		for _, piece := range splitPattern.FindAllString(CleanText(text), -1) {
			words[piece]++
		}
	}
	type word struct {
		symbols []string
		count   int
	}
	var list []word
	for _, piece := range slices.Sorted(maps.Keys(words)) {
		symbols := make([]string, 0, len(piece))
		for i := 0; i < len(piece); i++ {
			symbols = append(symbols, byteSymbols[piece[i]])
		}
		symbols[len(symbols)-1] += wordEnd
		list = append(list, word{symbols, words[piece]})
	}
	var merges [][2]string
	for len(merges) < maxMerges {
		counts := map[[2]string]int{}
		for _, w := range list {
			for i := 0; i+1 < len(w.symbols); i++ {
				counts[[2]string{w.symbols[i], w.symbols[i+1]}] += w.count
			}
		}
		best, bestCount := [2]string{}, 1
		for pair, n := range counts {
			if n > bestCount || (n == bestCount && n > 1 && (pair[0] < best[0] || pair[0] == best[0] && pair[1] < best[1])) {
				best, bestCount = pair, n
			}
		}
		if bestCount < 2 {
			break
		}
		merges = append(merges, best)
		for i := range list {
			list[i].symbols = mergePair(list[i].symbols, best)
		}
	}
	vocab := map[string]int{}
	for i, sym := range byteSymbols {
		vocab[sym] = i
		vocab[sym+wordEnd] = 256 + i
	}
	for _, m := range merges {
		if _, ok := vocab[m[0]+m[1]]; !ok {
			vocab[m[0]+m[1]] = len(vocab)
		}
	}
	vocab[startToken] = len(vocab)
	vocab[endToken] = len(vocab)
	return NewTokenizer(vocab, merges, contextLength)
}

func mergePair(symbols []string, pair [2]string) []string {
	out := symbols[:0:0]
	for i := 0; i < len(symbols); i++ {
		if i+1 < len(symbols) && symbols[i] == pair[0] && symbols[i+1] == pair[1] {
			out = append(out, pair[0]+pair[1])
			i++
		} else {
			out = append(out, symbols[i])
		}
	}
	return out
}

// VocabSize is the number of ids the tokenizer uses (the highest id plus one).
func (t *Tokenizer) VocabSize() int {
	return max(t.StartID, t.EndID) + 1
}
