package clipmodel

import (
	"bytes"
	"compress/gzip"
	_ "embed" // The standard vocabulary ships inside the binary.
	"fmt"
	"io"
	"strings"
	"sync"
)

// standardMerges is openai/CLIP's clip/bpe_simple_vocab_16e6.txt.gz (MIT license, Copyright (c)
// 2021 OpenAI): the byte-level BPE merges of CLIP's standard 49408-token vocabulary, which every
// OpenAI and open_clip CLIP with the standard text tower uses.
//
//go:embed bpe_simple_vocab_16e6.txt.gz
var standardMerges []byte

// standardMergeCount is how many of the file's merges CLIP's vocabulary uses: 49152 - 256 - 2,
// as openai/CLIP's SimpleTokenizer takes them.
const standardMergeCount = 49152 - 256 - 2

var (
	standardOnce   sync.Once
	standardVocab  map[string]int
	standardRanked [][2]string
	standardErr    error
)

// standardVocabulary returns CLIP's standard vocabulary (symbol to id) and its ranked merges,
// built from the embedded merge list as openai/CLIP's SimpleTokenizer builds them: the 256 byte
// symbols, the same with the word-end mark, one symbol per merge, then the start and end tokens.
func standardVocabulary() (map[string]int, [][2]string, error) {
	standardOnce.Do(func() {
		standardRanked, standardErr = readStandardMerges()
		if standardErr != nil {
			return
		}
		standardVocab = make(map[string]int, 2*len(byteSymbols)+len(standardRanked)+2)
		for i, b := range openAIByteOrder() {
			standardVocab[byteSymbols[b]] = i
			standardVocab[byteSymbols[b]+wordEnd] = len(byteSymbols) + i
		}
		for i, m := range standardRanked {
			standardVocab[m[0]+m[1]] = 2*len(byteSymbols) + i
		}
		standardVocab[startToken] = len(standardVocab)
		standardVocab[endToken] = len(standardVocab)
	})
	return standardVocab, standardRanked, standardErr
}

// openAIByteOrder lists the bytes in the order of openai/CLIP's bytes_to_unicode table, which
// numbers the vocabulary: the printable bytes (printableByte), then the rest.
func openAIByteOrder() []int {
	var order []int
	for b := range 256 {
		if printableByte(b) {
			order = append(order, b)
		}
	}
	for b := range 256 {
		if !printableByte(b) {
			order = append(order, b)
		}
	}
	return order
}

func readStandardMerges() ([][2]string, error) {
	zr, err := gzip.NewReader(bytes.NewReader(standardMerges))
	if err != nil {
		return nil, fmt.Errorf("the embedded CLIP vocabulary: %w", err)
	}
	data, err := io.ReadAll(zr)
	if err != nil {
		return nil, fmt.Errorf("the embedded CLIP vocabulary: %w", err)
	}
	lines := strings.Split(string(data), "\n")
	if len(lines) < standardMergeCount+1 {
		return nil, fmt.Errorf("the embedded CLIP vocabulary has %d merges, want %d", len(lines)-1, standardMergeCount)
	}
	// The first line is a version header.
	return ParseMerges([]byte(strings.Join(lines[1:standardMergeCount+1], "\n")))
}

// StandardTokenizer is CLIP's tokenizer over the standard vocabulary, for checkpoints that come
// without one (OpenAI's .pt files, open_clip folders).
func StandardTokenizer(contextLength int) (*Tokenizer, error) {
	vocab, merges, err := standardVocabulary()
	if err != nil {
		return nil, err
	}
	return NewTokenizer(vocab, merges, contextLength)
}
