package charts

import (
	"encoding/xml"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/clipwork/clipwork/workbench"
)

// testStats is a select-best target over three steps: "sword" and "cthulhu" are positive,
// "rust" negative (it wins some windows, which must not count).
func testStats() *workbench.Stats {
	return &workbench.Stats{
		Targets: []*workbench.TargetStats{{Name: "t", Select: "best", Windows: 15, Features: []*workbench.FeatureStats{
			{Label: "sword", Frames: 8}, {Label: "cthulhu", Frames: 4}, {Label: "rust", Frames: 3, Negative: true}}}},
		History: []workbench.StepRecord{
			{Step: 0, Loss: 1.5, Similarities: map[string][]float64{"t": {0.1, 0.2, 0.3}},
				Frames: map[string][]int{"t": {3, 1, 1}}, Windows: map[string]int{"t": 5}},
			{Step: 1, Loss: 1.25, Similarities: map[string][]float64{"t": {0.15, 0.18, 0.2}},
				Frames: map[string][]int{"t": {3, 1, 1}}, Windows: map[string]int{"t": 5}},
			{Step: 2, Loss: 1.125, Similarities: map[string][]float64{"t": {0.2, 0.1, 0.1}},
				Frames: map[string][]int{"t": {2, 2, 1}}, Windows: map[string]int{"t": 5}}},
	}
}

func option(t *testing.T, c Chart) string {
	t.Helper()
	o, err := c.Option()
	if err != nil {
		t.Fatal(err)
	}
	return string(o)
}

func TestChartsCarryTheNumbers(t *testing.T) {
	var all strings.Builder
	for _, c := range Run(testStats()) {
		all.WriteString(option(t, c))
	}
	for _, want := range []string{"win rate: t", `"sword"`, "53.3333", "similarity over time: t", "1.125",
		"win rate over time: t", `"stack":"share"`, "loss"} {
		if !strings.Contains(all.String(), want) {
			t.Errorf("charts lack %q", want)
		}
	}
}

// TestEnsembleSimilaritiesPerModel draws an ensemble's similarities: the weighted mean and,
// dotted, each model's.
func TestEnsembleSimilaritiesPerModel(t *testing.T) {
	stats := testStats()
	stats.Models = []string{"RN50", "ViT-B/32"}
	for i := range stats.History {
		stats.History[i].ModelSimilarities = map[string]map[string][]float64{
			"RN50": {"t": {0.5, 0.25, 0.125}}, "ViT-B/32": {"t": {0.0625, 0.75, 0.375}}}
	}
	got := option(t, Similarities(stats, stats.Targets[0]))
	for _, want := range []string{`"sword (RN50)"`, `"rust (ViT-B/32)"`, "0.0625", `"dotted"`, "weighted mean"} {
		if !strings.Contains(got, want) {
			t.Errorf("the similarity chart lacks %s", want)
		}
	}
	if plain := option(t, Similarities(testStats(), stats.Targets[0])); strings.Contains(plain, "dotted") {
		t.Error("a single model's chart has dotted lines")
	}
}

func TestSVGIsTheSameChart(t *testing.T) {
	cs := Run(testStats())
	svg, err := GridSVG(cs)
	if err != nil {
		t.Fatal(err)
	}
	if err := xml.Unmarshal([]byte(svg), new(struct{})); err != nil {
		t.Fatalf("the grid is not well-formed SVG: %v", err)
	}
	for _, want := range []string{"win rate: t", "sword", "loss", `width="880"`, `height="600"`} {
		if !strings.Contains(svg, want) {
			t.Errorf("SVG lacks %q", want)
		}
	}
	html, err := GridHTML(cs, svg)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(html, "data:image/svg+xml;base64,") || !strings.Contains(html, "echarts.init") {
		t.Error("the HTML lacks the static image or the interactive charts")
	}
}

func TestSelectAllReportsNoWinRate(t *testing.T) {
	for _, mode := range []string{workbench.SelectAll, workbench.SelectMix} {
		s := testStats()
		s.Targets[0].Select = mode
		for j := range s.Targets[0].Features {
			if rate, ok := s.Targets[0].WinRate(j); ok {
				t.Errorf("select %s: feature %d has win rate %v", mode, j, rate)
			}
		}
		cs := Run(s)
		if len(cs) != 3 {
			t.Errorf("select %s: %d charts, want similarity bars, similarity over time and loss", mode, len(cs))
		}
		if o := option(t, cs[0]); !strings.Contains(o, "every feature applied in every window") || strings.Contains(o, `"win rate: t"`) {
			t.Errorf("select %s: the first chart does not say every window applies every feature: %s", mode, o)
		}
	}
}

// TestNegativeFeatureWinsButIsNeverBest: a negative feature has a win rate and a bar, as CLIPig
// picks it, but the best feature is a positive one even where the negative one won most.
func TestNegativeFeatureWinsButIsNeverBest(t *testing.T) {
	s := testStats()
	if rate, ok := s.Targets[0].WinRate(2); !ok || rate != 0.2 {
		t.Errorf("the negative feature's win rate: %v %v, want 0.2", rate, ok)
	}
	if best := s.Targets[0].Best(); best != 0 {
		t.Errorf("best feature %d, want 0", best)
	}
	s.Targets[0].Features[2].Frames = 100 // even winning most windows
	if best := s.Targets[0].Best(); best != 0 {
		t.Errorf("best feature %d after the negative one won most, want 0", best)
	}
	if o := option(t, WinRates(s.Targets[0])); !strings.Contains(o, "rust") {
		t.Error("the win-rate bars lack the negative feature")
	}
}

// TestBarAndOverTimeAgree: the over-time chart's spans, weighted by their windows, add up to
// the bars' win rates.
func TestBarAndOverTimeAgree(t *testing.T) {
	s := testStats()
	for i := 0; i < 250; i++ { // long enough that spans hold several steps
		s.History = append(s.History, s.History[i%3])
		s.History[len(s.History)-1].Step = 3 + i
	}
	tg := s.Targets[0]
	tg.Windows = 5 * len(s.History)
	tg.Features[0].Frames, tg.Features[1].Frames, tg.Features[2].Frames = 0, 0, 0
	for _, rec := range s.History {
		for j, n := range rec.Frames["t"] {
			tg.Features[j].Frames += n
		}
	}
	spans := Spans(s, tg)
	if len(spans) >= len(s.History) || len(spans) > 100 {
		t.Fatalf("%d spans for %d steps", len(spans), len(s.History))
	}
	for j := range tg.Features {
		won, windows := 0, 0
		for _, sp := range spans {
			won, windows = won+sp.Won[j], windows+sp.Windows
		}
		rate, ok := tg.WinRate(j)
		overTime := float64(won) / float64(windows)
		if ok && math.Abs(rate-overTime) > 1e-12 || !ok && won != 0 {
			t.Errorf("feature %d: bar %v (%v), over time %v", j, rate, ok, overTime)
		}
	}
}

// renderBoth renders charts as the static SVG grid and as the interactive HTML.
func renderBoth(t *testing.T, cs []Chart) (svg, html string) {
	t.Helper()
	svg, err := GridSVG(cs)
	if err != nil {
		t.Fatal(err)
	}
	html, err = GridHTML(cs, svg)
	if err != nil {
		t.Fatal(err)
	}
	return svg, html
}

func TestHostileLabelsAreEscaped(t *testing.T) {
	const hostile = `</script><script>alert(1)</script>`
	s := testStats()
	s.Targets[0].Name = hostile
	s.Targets[0].Features[0].Label = hostile
	svg, html := renderBoth(t, append(Run(s), Compare([]NamedStats{{hostile, s}})...))
	for name, out := range map[string]string{"SVG": svg, "HTML": html} {
		if strings.Contains(out, "<script>alert") {
			t.Errorf("the %s carries the label unescaped", name)
		}
	}
	if err := xml.Unmarshal([]byte(svg), new(struct{})); err != nil {
		t.Errorf("the SVG breaks on the label: %v", err)
	}
	if !strings.Contains(svg, "&lt;/script") {
		t.Error("the SVG does not show the label, escaped")
	}
}

func TestCompareGroupsRuns(t *testing.T) {
	other := testStats()
	other.Targets[0].Features[0].Frames = 6
	cs := Compare([]NamedStats{{"a", testStats()}, {"b", other}})
	if len(cs) != 1 {
		t.Fatalf("%d charts, want one per target name", len(cs))
	}
	o := option(t, cs[0])
	for _, want := range []string{`"a"`, `"b"`, "53.3333", "40", "win rates: t"} {
		if !strings.Contains(o, want) {
			t.Errorf("comparison lacks %s", want)
		}
	}
	if !strings.Contains(o, "rust") {
		t.Error("the negative feature has no bar")
	}
	all := testStats()
	all.Targets[0].Select = workbench.SelectAll
	cs = Compare([]NamedStats{{"best", testStats()}, {"all", all}})
	if len(cs) != 2 || !strings.Contains(option(t, cs[0]), "win rates: t") ||
		!strings.Contains(option(t, cs[1]), "mean similarity over the run: t") {
		t.Errorf("select best beside select all: %d charts, want the win rates and the similarities", len(cs))
	}
}

func TestWrap(t *testing.T) {
	got := Wrap("a large red circle in the centre on a blue sky", 18)
	if got != "a large red circle\nin the centre on a\nblue sky" {
		t.Errorf("Wrap: %q", got)
	}
	if got := Wrap("ab </script><script>", 8); got != "ab\n</script\n><script\n>" {
		t.Errorf("Wrap of a long word: %q", got)
	}
	// Widths count characters, not bytes: "été été" is 7 characters (10 bytes).
	if got := Wrap("été été", 7); got != "été été" {
		t.Errorf("Wrap of non-ASCII words: %q", got)
	}
}

// TestSimilarityBarsMarkNegativeFeatures: where every window applies every feature, the
// similarity bars label and colour the negative feature apart, in the definition and the SVG.
func TestSimilarityBarsMarkNegativeFeatures(t *testing.T) {
	s := testStats()
	s.Targets[0].Select = workbench.SelectAll
	s.Targets[0].Features[2].SimilarityMean = 0.125
	c := WinRates(s.Targets[0])
	o := option(t, c)
	for _, want := range []string{`"rust\n(negative)"`, `{"itemStyle":{"color":"` + negativeColour + `"},"value":0.125}`,
		"red: negative features"} {
		if !strings.Contains(o, want) {
			t.Errorf("the similarity bars lack %s: %s", want, o)
		}
	}
	if strings.Contains(o, `"sword\n(negative)"`) || strings.Count(o, negativeColour) != 1 {
		t.Errorf("a positive feature is marked negative: %s", o)
	}
	svg, err := c.SVG()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(svg, "(negative)") || !strings.Contains(svg, negativeColour) {
		t.Errorf("the SVG does not mark the negative feature:\n%s", svg)
	}
}

// TestCompareMarksNegativeFeatures: the grouped similarity bars label the negative feature.
func TestCompareMarksNegativeFeatures(t *testing.T) {
	s := testStats()
	s.Targets[0].Select = workbench.SelectAll
	cs := Compare([]NamedStats{{"a", s}, {"b", s}})
	svg, html := renderBoth(t, cs)
	if o := option(t, cs[0]); !strings.Contains(o, `"rust\n(negative)"`) || strings.Contains(o, `"sword\n(negative)"`) {
		t.Errorf("the comparison's labels: %s", o)
	}
	if !strings.Contains(svg, "(negative)") || !strings.Contains(html, "(negative)") {
		t.Error("a rendering of the comparison does not mark the negative feature")
	}
}

// TestChartsOverTimeStandOnSteps checks that charts over time plot [step, value] points on a
// value axis ending at the last step, so that a history recorded every 10 steps reads in
// steps, and that a target's start mark stands at its first step, not at its index in the
// history.
func TestChartsOverTimeStandOnSteps(t *testing.T) {
	stats := testStats()
	for i := range stats.History {
		stats.History[i].Step = 10 * (i + 1)
	}
	delete(stats.History[0].Similarities, "t")
	for _, c := range []Chart{Similarities(stats, stats.Targets[0]), Loss(stats)} {
		o := option(t, c)
		for _, want := range []string{`"max":"dataMax","minInterval":1,"name":"step","nameGap":25,"nameLocation":"middle","type":"value"`, `"xAxis":20`, "[30,"} {
			if !strings.Contains(o, want) {
				t.Errorf("%s lacks %s: %s", c.Name, want, o)
			}
		}
	}
}

// TestWinRatesOverTimeLabelRoundSteps runs a target from step 75 of a 150-step run, and one
// over steps 1 to 200: spans of 1 step from 75, padded to 70 so that labels every 10 spans
// fall on round steps; spans of 5 steps from 0 for the second, at most 100 spans.
func TestWinRatesOverTimeLabelRoundSteps(t *testing.T) {
	stats := testStats()
	stats.History = nil
	for step := range 150 {
		rec := workbench.StepRecord{Step: step, Loss: 1}
		if step >= 75 {
			rec.Frames, rec.Windows = map[string][]int{"t": {3, 1, 1}}, map[string]int{"t": 5}
		}
		stats.History = append(stats.History, rec)
	}
	steps, rates := OverTime(stats, stats.Targets[0])
	if len(steps) != 75 || steps[0] != 75 || steps[1] != 76 || math.Abs(rates[0][0]-0.6) > 1e-12 {
		t.Fatalf("spans start at %v, sword's rates %v; want every step from 75, 0.6", steps, rates[0])
	}
	o := option(t, WinRatesOverTime(stats, stats.Targets[0]))
	for _, want := range []string{`"axisLabel":{"interval":9,`, `"axisTick":{"interval":9}`, `"type":"category"`,
		`"data":[70,71,72,73,74,75,`, `"data":[{"value":"-"},{"value":"-"},{"value":"-"},{"value":"-"},{"value":"-"},{"value":60}`} {
		if !strings.Contains(o, want) {
			t.Errorf("win rate over time lacks %s: %s", want, o)
		}
	}
	stats.History = stats.History[:0]
	for step := 1; step <= 200; step++ {
		stats.History = append(stats.History, workbench.StepRecord{Step: step, Frames: map[string][]int{"t": {3, 1, 1}}, Windows: map[string]int{"t": 5}})
	}
	if spans := Spans(stats, stats.Targets[0]); len(spans) != 41 || spans[0].Step != 0 || spans[1].Step != 5 {
		t.Errorf("%d spans from step %d, want 41 of 5 steps from 0", len(spans), spans[0].Step)
	}
}

// TestConstraintOnlyTargetsDrawNoCharts leaves a target of constraints alone out of a run's
// charts, and out of a comparison's win rates where another run gives it features.
func TestConstraintOnlyTargetsDrawNoCharts(t *testing.T) {
	constraints := testStats()
	constraints.Targets[0].Features = nil
	for _, c := range Run(constraints) {
		if c.Name != "loss" {
			t.Errorf("a target of constraints alone draws %s", c.Name)
		}
	}
	if cs := Compare([]NamedStats{{"a", constraints}}); len(cs) != 0 {
		t.Errorf("%d comparison charts of a target of constraints alone", len(cs))
	}
	withFeatures := testStats()
	withFeatures.Targets[0].Select = workbench.SelectAll
	cs := Compare([]NamedStats{{"a", constraints}, {"b", withFeatures}})
	if len(cs) != 1 || !strings.Contains(option(t, cs[0]), "similarity over the run: t") {
		t.Errorf("comparison with features in one run: %d charts, want its similarities", len(cs))
	}
}

// TestLegendClearsLongLabels: in a comparison of a long negative feature, whose label wraps to
// five lines, the legend stands below the lowest line in the SVG.
func TestLegendClearsLongLabels(t *testing.T) {
	s := testStats()
	s.Targets[0].Select = workbench.SelectAll
	s.Targets[0].Features[2].Label = "a large black circle in the centre on a blue sky"
	svg, err := Compare([]NamedStats{{"run one", s}, {"run two", s}})[0].SVG()
	if err != nil {
		t.Fatal(err)
	}
	lowest, legend := textTop(t, svg, "(negative)"), textTop(t, svg, "run one")
	if legend < lowest+lineHeight {
		t.Errorf("the legend (y %g) overlaps the labels' last line (y %g)", legend, lowest)
	}
}

// textTop is the y position in an ECharts SVG of the text element reading text.
func textTop(t *testing.T, svg, text string) float64 {
	t.Helper()
	_, y := textAt(t, svg, text)
	return y
}

// textAt is the position (x, y) in an ECharts SVG of the text element reading text.
func textAt(t *testing.T, svg, text string) (x, y float64) {
	t.Helper()
	pattern := regexp.MustCompile(`(?:x="([-0-9.]+)" )?(?:y="([-0-9.]+)" )?transform="translate\(([-0-9.]+) ([-0-9.]+)\)"[^>]*>` + regexp.QuoteMeta(text) + `<`)
	m := pattern.FindStringSubmatch(svg)
	if m == nil {
		t.Fatalf("no text %q in the SVG", text)
	}
	number := func(s string) float64 { v, _ := strconv.ParseFloat(s, 64); return v }
	return number(m[1]) + number(m[3]), number(m[2]) + number(m[4])
}

// TestFeaturesKeepTheirColour: a feature is drawn in one colour in its target's win-rate bars,
// similarity lines and win rates over time, a negative one in the negative colour.
func TestFeaturesKeepTheirColour(t *testing.T) {
	stats := testStats()
	for _, c := range []Chart{WinRates(stats.Targets[0]), Similarities(stats, stats.Targets[0]), WinRatesOverTime(stats, stats.Targets[0])} {
		o := option(t, c)
		for _, colour := range []string{paletteColours[0], paletteColours[1]} {
			if want := `"color":"` + colour + `"`; !strings.Contains(o, want) {
				t.Errorf("%s lacks the features' colour %s", c.Name, want)
			}
		}
		if c.Name != "winrate-over-time-t" && !strings.Contains(o, `"color":"`+negativeColour+`"`) {
			t.Errorf("%s does not draw the negative feature in %s", c.Name, negativeColour)
		}
	}
}

// TestFeaturesTakeTheColourTheyName: a feature drawn in the first colour its label names
// where no feature before took it, the others in the palette's free colours, negative ones red.
func TestFeaturesTakeTheColourTheyName(t *testing.T) {
	target := &workbench.TargetStats{}
	for i, label := range []string{"a blue square", "a red circle on a blue sky", "a sword", "another blue square",
		"a Yellow star", "rust", "dark-green grass"} {
		target.Features = append(target.Features, &workbench.FeatureStats{Label: label, Negative: i == 5})
	}
	want := []string{namedColours["blue"], namedColours["red"], paletteColours[0], paletteColours[1],
		namedColours["yellow"], negativeColour, namedColours["green"]}
	if got := featureColours(target); !slices.Equal(got, want) {
		t.Errorf("colours %v, want %v", got, want)
	}
}

// TestLegendsShowEveryEntry: three long feature names, more than a legend line holds, all show
// within the static SVG (a paged legend clips what is past its first page there).
func TestLegendsShowEveryEntry(t *testing.T) {
	s := testStats()
	names := []string{"a red circle at the top", "a large red circle at the top on a blue sky", "red circles at the top"}
	for i, n := range names {
		s.Targets[0].Features[i].Label = n
		s.Targets[0].Features[i].Negative = false
	}
	for _, c := range []Chart{Similarities(s, s.Targets[0]), WinRatesOverTime(s, s.Targets[0])} {
		svg, err := c.SVG()
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range []string{names[0], names[2], "a large red circle at"} {
			if x, _ := textAt(t, svg, n); x+6*float64(len(n)) > Width {
				t.Errorf("%s: the legend entry %q starts at x %g, past the chart's edge", c.Name, n, x)
			}
		}
	}
}

// TestPartialHistoryLeavesGaps draws the charts of statistics whose one step records fewer
// similarities than the target has features (a statistics file edited or cut short): the
// missing values are gaps, not a panic.
func TestPartialHistoryLeavesGaps(t *testing.T) {
	stats := testStats()
	stats.History[1].Similarities["t"] = stats.History[1].Similarities["t"][:1]
	if o := option(t, Similarities(stats, stats.Targets[0])); !strings.Contains(o, `"-"`) {
		t.Errorf("no gap where a step lacks a feature's similarity: %s", o)
	}
	for _, c := range Run(stats) {
		option(t, c)
	}
}

// TestXAxesStayAtTheBottom keeps the x axis's line under the plot where the values cross 0, in
// the line charts over steps and over a sweep's key.
func TestXAxesStayAtTheBottom(t *testing.T) {
	keys, vs := sweepVariants()
	for _, c := range append(Run(testStats()), Sweep(keys, vs, 1, Metric{Kind: "similarity"}, false)) {
		if o := option(t, c); strings.Contains(o, `"type":"line"`) && !strings.Contains(o, `"onZero":false`) {
			t.Errorf("%s: the x axis's line is drawn through 0", c.Name)
		}
	}
}
