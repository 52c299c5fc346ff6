package charts

import (
	"encoding/json"
	"encoding/xml"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestParseMetric(t *testing.T) {
	for s, want := range map[string]Metric{
		"similarity":          {Kind: "similarity"},
		"winrate:t":           {Kind: "winrate", Target: "t"},
		"similarity:t:a: b:c": {Kind: "similarity", Target: "t", Feature: "a: b:c"},
		"loss":                {Kind: "loss"},
	} {
		if got, err := ParseMetric(s); err != nil || got != want {
			t.Errorf("%q: %+v, %v; want %+v", s, got, err, want)
		}
	}
	for _, bad := range []string{"", "sim", "loss:t", "Similarity"} {
		if _, err := ParseMetric(bad); err == nil {
			t.Errorf("%q was accepted", bad)
		}
	}
}

func TestMetricValues(t *testing.T) {
	s := testStats()
	s.Targets[0].Features[0].SimilarityLast, s.Targets[0].Features[2].SimilarityLast = 0.25, 0.125
	for _, c := range []struct {
		metric  string
		want    float64
		ok      bool
		subject string
	}{
		{"similarity", 0.25, true, "t: sword"},
		{"similarity:t:2", 0.125, true, "t: rust"},
		{"similarity:t:3", 0, false, "t: 3"},
		{"winrate:t:sword", 100 * 8.0 / 15, true, "t: sword"},
		{"winrate:t:rust", 20, true, "t: rust"},
		{"similarity:nosuchtarget", 0, false, "nosuchtarget"},
		{"loss", 1.125, true, ""},
	} {
		m, _ := ParseMetric(c.metric)
		got, ok := m.Value(s)
		if ok != c.ok || ok && got != c.want || m.Subject(s) != c.subject {
			t.Errorf("%s: %v %v %q; want %v %v %q", c.metric, got, ok, m.Subject(s), c.want, c.ok, c.subject)
		}
	}
}

// sweepVariants are a 2x2 grid of seed and learnrate; variant 3 has no statistics yet.
func sweepVariants() ([]string, []SweepVariant) {
	stats := func(last float64) *SweepVariant {
		s := testStats()
		s.Targets[0].Features[0].SimilarityLast = last
		return &SweepVariant{Stats: s, Finished: true}
	}
	vs := []SweepVariant{*stats(0.25), *stats(0.5), *stats(0.125), {}}
	for i, values := range [][]string{{"1", "0.02"}, {"1", "0.04"}, {"2", "0.02"}, {"2", "0.04"}} {
		vs[i].Values = values
	}
	return []string{"seed", "learnrate"}, vs
}

// TestSweepChartLines draws final similarity over learnrate, one line per seed, with a gap
// where a variant has no statistics.
func TestSweepChartLines(t *testing.T) {
	keys, vs := sweepVariants()
	c := Sweep(keys, vs, 1, Metric{Kind: "similarity"}, false)
	opt := readSweepOption(t, c)
	if title := strings.ReplaceAll(opt.Title.Text, "\n", " "); title != "final similarity over learnrate" {
		t.Errorf("title %q", title)
	}
	if want := "t: sword a colour per seed; 3 of 4 finished, the others at their latest step"; strings.ReplaceAll(opt.Title.Subtext, "\n", " ") != want {
		t.Errorf("subtitle %q, want %q", opt.Title.Subtext, want)
	}
	if x := opt.XAxis[0]; x.Type != "value" || x.Data != nil || len(opt.Series) != 2 {
		t.Fatalf("x axis %+v, %d series; want a value axis, 2 series", x, len(opt.Series))
	}
	if x := opt.XAxis[0]; x.Min != nil || !reflect.DeepEqual(x.BoundaryGap, []any{"8%", "8%"}) {
		t.Errorf("x axis from %v, gaps %v; want it padded beyond the data, so the end symbols clear the y labels", x.Min, x.BoundaryGap)
	}
	got := map[string][]any{}
	for _, s := range opt.Series {
		got[s.Name] = []any{s.Data[0].Value, s.Data[1].Value}
	}
	want := map[string][]any{"seed=1": {[]any{0.02, 0.25}, []any{0.04, 0.5}}, "seed=2": {[]any{0.02, 0.125}, []any{0.04, "-"}}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("series %v, want %v", got, want)
	}
	if c.Name != "sweep-similarity-over-learnrate" {
		t.Errorf("name %q", c.Name)
	}
}

// TestSweepChartJoinsOnlyOrderedValues draws over learnrate given out of order, which the chart
// puts in order and joins, and over seed, whose values are points with no line between them.
func TestSweepChartJoinsOnlyOrderedValues(t *testing.T) {
	keys, vs := sweepVariants()
	vs[0].Values[1], vs[2].Values[1] = "0.08", "0.08" // learnrates 0.08, 0.04 in the variants' order
	opt := readSweepOption(t, Sweep(keys, vs, 1, Metric{Kind: "similarity"}, false))
	if opt.Series[0].LineStyle.Opacity != nil {
		t.Errorf("over learnrate: line opacity %v; want the values joined", opt.Series[0].LineStyle.Opacity)
	}
	if got := opt.Series[0].Data[0].Value; !reflect.DeepEqual(got, []any{0.04, 0.5}) {
		t.Errorf("seed=1's first point: %v, want [0.04 0.5] (its variant's, the lower learnrate first)", got)
	}
	opt = readSweepOption(t, Sweep(keys, vs, 0, Metric{Kind: "similarity"}, false))
	if x := opt.XAxis[0]; x.Type != "" || !reflect.DeepEqual(x.Data, []string{"1", "2"}) {
		t.Errorf("over seed: x axis %+v, want a category per seed", x)
	}
	if len(opt.Series) != 2 || opt.Series[0].Symbol == opt.Series[1].Symbol {
		t.Errorf("series %+v: want two, each with its own symbol, so that equal values do not hide one", opt.Series)
	}
	for _, s := range opt.Series {
		if s.LineStyle.Opacity == nil || *s.LineStyle.Opacity != 0 || !s.ShowSymbol {
			t.Errorf("over seed, series %s: line opacity %v, symbols %v; want points alone", s.Name, s.LineStyle.Opacity, s.ShowSymbol)
		}
	}
}

// sweepOption is what the tests read of a sweep chart's option.
type sweepOption struct {
	Title struct{ Text, Subtext string }
	XAxis []struct {
		Type        string
		Data        []string
		Min         any
		BoundaryGap any
	}
	YAxis  []struct{ Min, Max any }
	Series []struct {
		Name       string
		Data       []struct{ Value any }
		ShowSymbol bool
		Symbol     string
		LineStyle  struct{ Opacity *float64 }
	}
}

func readSweepOption(t *testing.T, c Chart) sweepOption {
	t.Helper()
	var opt sweepOption
	if err := json.Unmarshal([]byte(option(t, c)), &opt); err != nil {
		t.Fatal(err)
	}
	return opt
}

// TestSweepWinRatesSpanTheirRange draws win rates on 0 to 100, whatever the variants scored.
func TestSweepWinRatesSpanTheirRange(t *testing.T) {
	keys, vs := sweepVariants()
	opt := readSweepOption(t, Sweep(keys, vs, 1, Metric{Kind: "winrate"}, false))
	if y := opt.YAxis[0]; y.Min != 0.0 || y.Max != 100.0 {
		t.Errorf("win rate axis from %v to %v, want 0 to 100", y.Min, y.Max)
	}
}

// TestSweepAxisIsLogarithmicOverDecades draws numbers spanning more than a factor of 10 on a
// log axis, and those that do not, or reach 0, on a linear one.
func TestSweepAxisIsLogarithmicOverDecades(t *testing.T) {
	for _, c := range []struct {
		xs   []string
		want string
	}{
		{[]string{"1e-4", "0.001", "0.01"}, "log"},
		{[]string{"0.5", "1", "2", "4"}, "value"},
		{[]string{"0", "1", "100"}, "value"},
		{[]string{"-10", "-1"}, "value"},
	} {
		if got := sweepAxis("k", c.xs, positions("k", c.xs)).Type; got != c.want {
			t.Errorf("%v: %s axis, want %s", c.xs, got, c.want)
		}
	}
}

// TestZippedSweepChartHasOneLine draws a zipped sweep, whose keys vary together, over one key:
// one line through every variant, not a line of one point per value of the other key.
func TestZippedSweepChartHasOneLine(t *testing.T) {
	keys, vs := sweepVariants()
	vs = []SweepVariant{vs[0], vs[3]} // seed=1 learnrate=0.02, seed=2 learnrate=0.04
	vs[1].Stats, vs[1].Finished = vs[0].Stats, true
	opt := readSweepOption(t, Sweep(keys, vs, 1, Metric{Kind: "similarity"}, true))
	if len(opt.Series) != 1 || opt.Series[0].Name != "all variants" || len(opt.Series[0].Data) != 2 {
		t.Fatalf("series %+v, want one of all variants over 2 values", opt.Series)
	}
	if want := "one line: learnrate varies with seed (zip)"; !strings.Contains(strings.ReplaceAll(opt.Title.Subtext, "\n", " "), want) {
		t.Errorf("subtitle %q, want %q", opt.Title.Subtext, want)
	}
}

func TestSweepChartRendersBothWays(t *testing.T) {
	keys, vs := sweepVariants()
	vs[0].Values[0] = `</script><script>alert(1)</script>`
	svg, html := renderBoth(t, []Chart{Sweep(keys, vs, 0, Metric{Kind: "loss"}, false), Sweep(keys[:1], vs[:1], 0, Metric{Kind: "winrate"}, false)})
	if err := xml.Unmarshal([]byte(svg), new(struct{})); err != nil {
		t.Fatalf("not well-formed SVG: %v", err)
	}
	for _, want := range []string{"loss at the last step over seed", "learnrate=0.02", "seed is the only varied key"} {
		if !strings.Contains(strings.ReplaceAll(svg, "\n", " "), want) {
			t.Errorf("the SVG lacks %q", want)
		}
	}
	if strings.Contains(svg+html, "<script>alert") {
		t.Error("a hostile value is unescaped")
	}
}

// TestLargestSweepChartIsQuick draws a sweep of the most variants a sweep may have (100 x 100).
func TestLargestSweepChartIsQuick(t *testing.T) {
	stats := testStats()
	var vs []SweepVariant
	for i := range 100 {
		for j := range 100 {
			vs = append(vs, SweepVariant{Values: []string{strconv.Itoa(i), strconv.Itoa(j)}, Stats: stats, Finished: true})
		}
	}
	begin := time.Now()
	c := Sweep([]string{"seed", "n"}, vs, 1, Metric{Kind: "loss"}, false)
	if o := option(t, c); strings.Count(o, `"name":"seed=`) != 100 {
		t.Errorf("want 100 lines")
	}
	if d := time.Since(begin); d > 5*time.Second {
		t.Errorf("took %v", d)
	}
}
