package workbench

import (
	"bytes"
	"encoding/json"
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

// TestAntiTextReadFromUnmarkedStats reads statistics that do not mark anti-text: the last
// feature, labelled anti-text and negative, has no win rate; a negative feature has one.
func TestAntiTextReadFromUnmarkedStats(t *testing.T) {
	var ts TargetStats
	data := `{"name": "t", "select": "best", "windows": 10, "features": [{"label": "a", "frames": 6},
		{"label": "b", "frames": 4, "negative": true}, {"label": "anti-text", "negative": true}]}`
	if err := json.Unmarshal([]byte(data), &ts); err != nil {
		t.Fatal(err)
	}
	if _, ok := ts.WinRate(2); ok || !ts.Features[2].EveryWindow {
		t.Error("anti-text has a win rate")
	}
	if rate, ok := ts.WinRate(1); !ok || rate != 0.4 {
		t.Errorf("the negative feature's win rate %v %v, want 0.4", rate, ok)
	}
}

// TestFrameTableSaysAntiTextIsEverywhere prints anti-text apart from the counted features, so
// that its words leave the counts' column as narrow as the numbers.
func TestFrameTableSaysAntiTextIsEverywhere(t *testing.T) {
	s := &Stats{Targets: []*TargetStats{{Name: "t", Select: SelectBest, Windows: 4, Features: []*FeatureStats{
		{Label: "a", Frames: 4, Share: 1}, {Label: "anti-text", Negative: true, EveryWindow: true}}}}}
	var out bytes.Buffer
	s.WriteFrameTable(&out)
	if !strings.Contains(out.String(), "  a : 4 (100.00%) mean similarity") ||
		!strings.Contains(out.String(), "  anti-text: in every window, mean similarity") {
		t.Errorf("frame table:\n%s", out.String())
	}
}

// TestFrameTableCountsOnlyWins prints a select all target's features as applied in every
// window, not as 100% counts that read as win rates, and a target without windows as not active
// yet, not as similarities of 0.
func TestFrameTableCountsOnlyWins(t *testing.T) {
	s := &Stats{Targets: []*TargetStats{
		{Name: "all", Select: SelectAll, Windows: 4, Features: []*FeatureStats{{Label: "a", Frames: 4, Share: 1}}},
		{Name: "later", Select: SelectBest, Features: []*FeatureStats{{Label: "b"}}}}}
	var out bytes.Buffer
	s.WriteFrameTable(&out)
	if got := out.String(); !strings.Contains(got, "  a: in every window, mean similarity") || strings.Contains(got, "100.00%") ||
		!strings.Contains(got, "target later (select best): not active yet, no windows") || strings.Contains(got, "  b") {
		t.Errorf("frame table:\n%s", got)
	}
}
