package charts

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/clipwork/clipwork/workbench"
	"github.com/go-echarts/go-echarts/v2/charts"
	"github.com/go-echarts/go-echarts/v2/opts"
)

// Metric is what a sweep chart shows of each variant: a feature's final similarity, a positive
// feature's win rate, or the loss at the last step.
type Metric struct {
	// Kind is one of MetricKinds.
	Kind string
	// Target names the target ("": the first); Feature a feature of it by label or index ("":
	// its first positive feature). The loss has neither.
	Target, Feature string
}

// MetricKinds are the metrics a sweep chart can show.
var MetricKinds = []string{"similarity", "winrate", "loss"}

// ParseMetric reads KIND[:TARGET[:FEATURE]], e.g. similarity, winrate:details or
// "similarity:composition:a red circle" (FEATURE may also be the feature's index).
func ParseMetric(s string) (Metric, error) {
	parts := strings.SplitN(s, ":", 3)
	m := Metric{Kind: parts[0]}
	if !slices.Contains(MetricKinds, m.Kind) {
		return m, fmt.Errorf("metric %q: write KIND[:TARGET[:FEATURE]] with KIND one of %s, e.g. similarity:composition",
			s, strings.Join(MetricKinds, ", "))
	}
	if len(parts) > 1 {
		m.Target = parts[1]
	}
	if len(parts) > 2 {
		m.Feature = parts[2]
	}
	if m.Kind == "loss" && len(parts) > 1 {
		return m, fmt.Errorf("metric %q: the loss is the run's, of no target or feature", s)
	}
	return m, nil
}

// Value is the metric of a run's statistics, and whether the run has it (a win rate needs
// windows that select, a loss a step done).
func (m Metric) Value(stats *workbench.Stats) (float64, bool) {
	if m.Kind == "loss" {
		if len(stats.History) == 0 {
			return 0, false
		}
		return stats.History[len(stats.History)-1].Loss, true
	}
	t, j, ok := m.feature(stats)
	if !ok {
		return 0, false
	}
	if m.Kind == "winrate" {
		rate, ok := t.WinRate(j)
		return 100 * rate, ok
	}
	return t.Features[j].SimilarityLast, true
}

// Name names the metric's kind, e.g. "final similarity".
func (m Metric) Name() string {
	switch m.Kind {
	case "loss":
		return "loss at the last step"
	case "winrate":
		return "win rate (%)"
	}
	return "final similarity"
}

// Subject is the target and feature the metric is of, as the run's statistics resolve them,
// e.g. "composition: a red circle" ("" for the loss).
func (m Metric) Subject(stats *workbench.Stats) string {
	if m.Kind == "loss" {
		return ""
	}
	if t, j, ok := m.feature(stats); ok {
		return t.Name + ": " + t.Features[j].Label
	}
	return strings.Trim(m.Target+": "+m.Feature, ": ")
}

// feature finds the metric's target and feature in a run's statistics.
func (m Metric) feature(stats *workbench.Stats) (*workbench.TargetStats, int, bool) {
	if stats == nil || len(stats.Targets) == 0 {
		return nil, 0, false
	}
	t := stats.Targets[0]
	if m.Target != "" {
		if t = stats.Target(m.Target); t == nil {
			return nil, 0, false
		}
	}
	for j, f := range t.Features {
		if m.Feature == "" && !f.Negative || m.Feature != "" && (f.Label == m.Feature || strconv.Itoa(j) == m.Feature) {
			return t, j, true
		}
	}
	return nil, 0, false
}

// SweepVariant is one variant of a sweep as Sweep draws it: its values of the varied keys, in
// their order, its statistics (nil before its first save) and whether it has finished.
type SweepVariant struct {
	Values   []string
	Stats    *workbench.Stats
	Finished bool
}

// Sweep draws a metric of a sweep's variants over the values of one varied key (keys[over]),
// one line per combination of the other keys' values, or, where the keys vary together (zip),
// one line of all variants; a variant without the metric leaves a gap. Numeric values lie on a
// value axis (logarithmic where they are positive and span more than a factor of 10) and are
// joined by the lines; seeds and names, which have no order between them, are points alone,
// evenly spaced.
func Sweep(keys []string, variants []SweepVariant, over int, m Metric, zip bool) Chart {
	xs := distinct(variants, func(v SweepVariant) string { return v.Values[over] })
	at := positions(keys[over], xs)
	ordered := at != nil
	others := func(v SweepVariant) string { return otherValues(keys, v.Values, over) }
	if zip {
		others = func(SweepVariant) string { return "all variants" }
	}
	line := charts.NewLine()
	line.SetGlobalOptions(append(sweepLayout(keys, variants, over, m, zip), legend(),
		charts.WithXAxisOpts(sweepAxis(keys[over], xs, at)),
		charts.WithYAxisOpts(sweepValueAxis(m)))...)
	if !ordered {
		line.SetXAxis(xs)
	}
	values := map[[2]string]float64{} // by x value and line
	for _, v := range variants {
		if value, ok := m.valueOf(v); ok {
			values[[2]string{v.Values[over], others(v)}] = value
		}
	}
	for i, series := range distinct(variants, others) {
		data := make([]opts.LineData, len(xs))
		for i, x := range xs {
			var y any = "-"
			if value, ok := values[[2]string{x, series}]; ok {
				y = round(value)
			}
			data[i] = opts.LineData{Value: y}
			if ordered {
				data[i].Value = []any{at[x], y}
			}
		}
		line.AddSeries(Wrap(series, 30), data, sweepLineOpts(ordered, i)...)
	}
	fitLegend(&line.BaseConfiguration)
	return Chart{Name: "sweep-" + m.Kind + "-over-" + keys[over], def: line, xGap: "8%"}
}

// sweepValueAxis is a sweep chart's y axis: 0 to 100 for win rates, else fitted to the values.
func sweepValueAxis(m Metric) opts.YAxis {
	if m.Kind == "winrate" {
		return opts.YAxis{Min: 0, Max: 100}
	}
	return opts.YAxis{Scale: opts.Bool(true)}
}

// sweepAxis is the x axis of a sweep chart over key's values xs, at their positions (see
// positions): a category per value where they have none, else a value axis, logarithmic where
// they are positive and span more than a factor of 10.
func sweepAxis(key string, xs []string, at map[string]float64) opts.XAxis {
	axis := opts.XAxis{Name: key, NameLocation: "middle", NameGap: 25, AxisLine: atTheBottom}
	if at == nil {
		return axis
	}
	lowest, highest := at[xs[0]], at[xs[len(xs)-1]]
	axis.Type = "value" // padded beyond its data (see Chart.xGap)
	if lowest > 0 && highest > 10*lowest {
		axis.Type, axis.Min, axis.Max = "log", "dataMin", "dataMax" // ECharts pads a log axis linearly, below 0
	}
	return axis
}

// positions are the values of xs, which it sorts by them, where key is not seed (whose values
// have no order) and every one is a number; nil otherwise.
func positions(key string, xs []string) map[string]float64 {
	if key == "seed" {
		return nil
	}
	at := map[string]float64{}
	for _, x := range xs {
		v, err := strconv.ParseFloat(strings.TrimSpace(x), 64)
		if err != nil {
			return nil
		}
		at[x] = v
	}
	slices.SortStableFunc(xs, func(a, b string) int { return cmp.Compare(at[a], at[b]) })
	return at
}

// sweepLineOpts draws a series as a line with points where its x values are ordered, and as
// points alone where they are not.
func sweepLineOpts(ordered bool, series int) []charts.SeriesOpts {
	// Each series its own hollow symbol, later ones smaller, so that equal values show as nested
	// symbols rather than one hiding the other.
	symbols := []string{"emptyCircle", "emptyRect", "emptyTriangle", "emptyDiamond"}
	symbol := opts.LineChart{Symbol: symbols[series%len(symbols)], SymbolSize: 20 - 6*(series%3), ShowSymbol: opts.Bool(true)}
	if ordered {
		return []charts.SeriesOpts{charts.WithLineChartOpts(symbol)}
	}
	return []charts.SeriesOpts{charts.WithLineChartOpts(symbol), charts.WithLineStyleOpts(opts.LineStyle{Opacity: opts.Float(0)})}
}

// sweepLayout titles a sweep chart with the metric and the key, and says in the subtitle what
// the metric is of, what the lines are and how many variants have finished; the plot starts
// below the subtitle's lines.
func sweepLayout(keys []string, variants []SweepVariant, over int, m Metric, zip bool) []charts.GlobalOpts {
	subtitle := Wrap(sweepSubtitle(keys, variants, over, zip), 64)
	if subject := metricSubject(variants, m); subject != "" {
		subtitle = Wrap(Shorten(subject, 64), 64) + "\n" + subtitle
	}
	return layout(Wrap(m.Name()+" over "+keys[over], 48), subtitle, 70+lineHeight*strings.Count(subtitle, "\n"))
}

func (m Metric) valueOf(v SweepVariant) (float64, bool) {
	if v.Stats == nil {
		return 0, false
	}
	return m.Value(v.Stats)
}

// metricSubject is the metric's subject as the first variant with statistics resolves it.
func metricSubject(variants []SweepVariant, m Metric) string {
	for _, v := range variants {
		if v.Stats != nil {
			return m.Subject(v.Stats)
		}
	}
	return m.Subject(nil)
}

// Shorten cuts text to n characters, the last of them an ellipsis, where it is longer.
func Shorten(text string, n int) string {
	if r := []rune(text); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return text
}

// sweepSubtitle says what the colours are and how many variants have finished.
func sweepSubtitle(keys []string, variants []SweepVariant, over int, zip bool) string {
	others := slices.Delete(slices.Clone(keys), over, over+1)
	lines := "a colour per " + strings.Join(others, " and ")
	switch {
	case len(others) == 0:
		lines = keys[0] + " is the only varied key"
	case zip:
		lines = "one line: " + keys[over] + " varies with " + strings.Join(others, " and ") + " (zip)"
	}
	finished := 0
	for _, v := range variants {
		if v.Finished {
			finished++
		}
	}
	if finished == len(variants) {
		return lines
	}
	return fmt.Sprintf("%s; %d of %d finished, the others at their latest step", lines, finished, len(variants))
}

// otherValues names a variant's values of every key but keys[over], e.g. "seed=1, learnrate=0.02".
func otherValues(keys, values []string, over int) string {
	var parts []string
	for i, k := range keys {
		if i != over {
			parts = append(parts, k+"="+values[i])
		}
	}
	if len(parts) == 0 {
		return "all variants"
	}
	return strings.Join(parts, ", ")
}

// distinct are the values of fn over variants, each once, in their first variant's order.
func distinct(variants []SweepVariant, fn func(SweepVariant) string) []string {
	var out []string
	seen := map[string]bool{}
	for _, v := range variants {
		if s := fn(v); !seen[s] {
			out, seen[s] = append(out, s), true
		}
	}
	return out
}
