package charts

import (
	"strings"
	"testing"

	"github.com/clipwork/clipwork/workbench"
)

func testStats() *workbench.Stats {
	return &workbench.Stats{
		Targets: []*workbench.TargetStats{{Name: "t", Select: "best", Windows: 10, Features: []*workbench.FeatureStats{
			{Label: "sword", Frames: 7, Share: 0.7}, {Label: "cthulhu", Frames: 3, Share: 0.3}}}},
		History: []workbench.StepRecord{
			{Step: 0, Loss: 1.5, Similarities: map[string][]float64{"t": {0.1, 0.2}}, Frames: map[string][]int{"t": {4, 1}}},
			{Step: 1, Loss: 1.25, Similarities: map[string][]float64{"t": {0.15, 0.18}}, Frames: map[string][]int{"t": {3, 2}}}},
	}
}

func TestChartsCarryTheNumbers(t *testing.T) {
	all := All(testStats())
	for _, want := range []string{"win rate: t", `"sword"`, "70", "similarity: t", "1.25", "echarts.init",
		"win rate over time: t", "80", `"stack":"share"`} {
		if !strings.Contains(all, want) {
			t.Errorf("charts lack %q", want)
		}
	}
	page := Page("runs", all)
	if !strings.HasPrefix(page, "<!DOCTYPE html>") || !strings.Contains(page, "(function(define, module, exports){") {
		t.Error("the page does not embed the ECharts script behind the RequireJS guard")
	}
}

func TestCompareWinRatesGroupsRuns(t *testing.T) {
	other := testStats()
	other.Targets[0].Features[0].Share = 0.4
	bars := CompareWinRates([]NamedStats{{"a", testStats()}, {"b", other}})
	if len(bars) != 1 {
		t.Fatalf("%d charts, want one per target name", len(bars))
	}
	html := Snippet(bars[0])
	for _, want := range []string{`"a"`, `"b"`, "70", "40"} {
		if !strings.Contains(html, want) {
			t.Errorf("comparison lacks %s", want)
		}
	}
}
