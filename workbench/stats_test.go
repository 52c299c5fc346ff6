package workbench

import (
	"bytes"
	"strings"
	"testing"
)

// TestFrameTableEscapesControlCharacters prints a target and a feature whose names carry a
// terminal escape and a newline: both appear quoted and escaped, and no raw control character
// reaches the output.
func TestFrameTableEscapesControlCharacters(t *testing.T) {
	s := &Stats{Targets: []*TargetStats{{Name: "red\x1b[31m", Select: SelectBest, Windows: 4,
		Features: []*FeatureStats{{Label: "two\nlines", Frames: 4, Share: 1}, {Label: "plain words"}}}}}
	var out bytes.Buffer
	s.WriteFrameTable(&out)
	text := out.String()
	for _, want := range []string{`target "red\x1b[31m"`, `"two\nlines"`, "  plain words "} {
		if !strings.Contains(text, want) {
			t.Errorf("frame table lacks %q:\n%s", want, text)
		}
	}
	if strings.ContainsRune(text, '\x1b') || strings.Count(text, "\n") != 3 {
		t.Errorf("a control character reached the frame table:\n%q", text)
	}
}
