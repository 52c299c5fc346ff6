// Package charts draws a run's statistics with go-echarts: each feature's win rate
// (see workbench.TargetStats.WinRate), similarity per feature over time, and the loss. Every
// chart renders twice from one definition: interactive in a page, and as a static SVG made
// without a browser (see Chart). Charts render offline: ECharts' JavaScript (Apache-2.0, see
// ECHARTS-LICENSE) is embedded instead of loaded from a CDN.
package charts

import (
	_ "embed"
	"fmt"
	"html"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/clipwork/clipwork/workbench"
	"github.com/go-echarts/go-echarts/v2/charts"
	"github.com/go-echarts/go-echarts/v2/opts"
)

//go:embed echarts.min.js
var echartsJS string

// Script is a <script> element defining the global echarts. The wrapper hides the page's
// RequireJS (classic Jupyter, nbconvert's HTML), which would otherwise take the UMD module and
// leave the charts blank.
func Script() string {
	return "<script>(function(define, module, exports){\n" + echartsJS + "\n})();</script>"
}

// common are the options every chart shares: its size, no animation, a title and room for a
// legend at the bottom.
func common(text, sub string) []charts.GlobalOpts {
	sub = Wrap(sub, 64)
	return layout(Wrap(text, 48), sub, 70+lineHeight*strings.Count(sub, "\n"))
}

// layout is common with the title and subtitle as given (wrapped already) and the plot top
// pixels down.
func layout(title, subtitle string, top int) []charts.GlobalOpts {
	return []charts.GlobalOpts{
		charts.WithInitializationOpts(opts.Initialization{Width: fmt.Sprintf("%dpx", Width), Height: fmt.Sprintf("%dpx", Height)}),
		charts.WithAnimation(false),
		charts.WithTitleOpts(opts.Title{Title: title, Subtitle: subtitle, SubtitleStyle: &opts.TextStyle{LineHeight: lineHeight}}),
		charts.WithGridOpts(opts.Grid{Top: strconv.Itoa(top), Bottom: strconv.Itoa(defaultBottom), Left: "50", Right: "20"}),
		charts.WithTooltipOpts(opts.Tooltip{Show: opts.Bool(true), Trigger: "axis"}),
		charts.WithLegendOpts(opts.Legend{Show: opts.Bool(false)}),
	}
}

// stepAxis is the x axis of charts over time. Unstacked charts take a "value" axis (labelEvery
// 0), so that its ticks fall on round steps whatever steps the history recorded, and series of
// [step, value] points, the axis ending at the last step rather than at a round number past
// it, its ticks on whole steps; stacked ones a "category" axis, since ECharts stacks along x when both axes hold values,
// labelled every labelEvery categories.
func stepAxis(labelEvery int) charts.GlobalOpts {
	axis := opts.XAxis{Type: "value", Max: "dataMax", MinInterval: 1, Name: "step", NameLocation: "middle", NameGap: 25,
		AxisLine: atTheBottom}
	if labelEvery > 0 {
		axis.Type, axis.Max, axis.MinInterval = "category", nil, 0
		axis.AxisLabel = &opts.AxisLabel{Interval: strconv.Itoa(labelEvery - 1)}
		axis.AxisTick = &opts.AxisTick{Interval: strconv.Itoa(labelEvery - 1)}
	}
	return charts.WithXAxisOpts(axis)
}

// atTheBottom keeps an x axis's line under the plot, with its labels, where the values cross 0
// (ECharts draws it through 0 by default).
var atTheBottom = &opts.AxisLine{OnZero: opts.Bool(false)}

// atStep is a point of a chart over time; value "-" leaves a gap.
func atStep(step int, value any) opts.LineData {
	return opts.LineData{Value: []any{step, value}}
}

// fitLegend makes room for a chart's legend where its entries do not fit on one line: they wrap
// onto more lines (a scrolling legend pages them, and a static SVG shows only its first page)
// and the plot moves up. Widths are estimated from the names' longest lines.
func fitLegend(bc *charts.BaseConfiguration) {
	if bc.Legend.Show == nil || !*bc.Legend.Show || len(bc.GridList) == 0 {
		return
	}
	width, lines := 0, 1
	for _, s := range bc.MultiSeries {
		longest := 0
		for _, line := range strings.Split(s.Name, "\n") {
			longest = max(longest, utf8.RuneCountInString(line))
		}
		width += longest*legendCharWidth + legendIconWidth + legendGap
		lines = max(lines, strings.Count(s.Name, "\n")+1)
	}
	rows := (width + Width - 41) / (Width - 40)
	if rows <= 1 {
		return
	}
	bc.Legend.Type = "plain"
	bottom, _ := strconv.Atoi(bc.GridList[0].Bottom)
	bc.GridList[0].Bottom = strconv.Itoa(bottom + (rows-1)*(lines*lineHeight+10))
}

// legendCharWidth and legendIconWidth estimate, in pixels, a legend entry's text per character
// and its symbol.
const legendCharWidth, legendIconWidth = 7, 30

// legend shows the series names at the bottom, scrolling when they do not fit.
func legend() charts.GlobalOpts {
	return charts.WithLegendOpts(opts.Legend{Show: opts.Bool(true), Type: "scroll", Bottom: "0",
		TextStyle: &opts.TextStyle{LineHeight: lineHeight}})
}

// Wrap breaks text into lines of at most width characters at spaces, and words longer than a
// line into pieces, so long labels show whole.
func Wrap(text string, width int) string {
	var lines []string
	line := ""
	for _, word := range strings.Fields(text) {
		for r := []rune(word); len(r) > width; r = []rune(word) {
			if line != "" {
				lines, line = append(lines, line), ""
			}
			lines, word = append(lines, string(r[:width])), string(r[width:])
		}
		if line != "" && utf8.RuneCountInString(line)+1+utf8.RuneCountInString(word) > width {
			lines, line = append(lines, line), ""
		}
		if line != "" {
			line += " "
		}
		line += word
	}
	return strings.Join(append(lines, line), "\n")
}

// Run is every chart of a run, in reading order: per target its win rates (or, where every
// window applies every feature, its mean similarities), its win rates over time and its
// similarities over time; then the loss.
func Run(stats *workbench.Stats) []Chart {
	var out []Chart
	for _, t := range stats.Targets {
		if t.ConstraintsOnly() {
			continue
		}
		out = append(out, WinRates(t))
		if !t.AppliedEverywhere() {
			out = append(out, WinRatesOverTime(stats, t))
		}
		out = append(out, Similarities(stats, t))
	}
	return append(out, Loss(stats))
}

// WinRates is a target's win rates as bars, one per feature but anti-text; where the target applies
// every feature in every window it says so and shows the mean similarities instead, negative
// features labelled and coloured apart.
func WinRates(t *workbench.TargetStats) Chart {
	bar := charts.NewBar()
	var labels []string
	var data []opts.BarData
	if t.AppliedEverywhere() {
		sub := fmt.Sprintf("select %s: every feature applied in every window (%d windows), so no win rates", t.Select, t.Windows)
		if slices.ContainsFunc(t.Features, func(f *workbench.FeatureStats) bool { return f.Negative }) {
			sub += "; red: negative features, pushed away"
		}
		bar.SetGlobalOptions(common("mean similarity over the run: "+t.Name, sub)...)
		colours := featureColours(t)
		for j, f := range t.Features {
			labels, data = append(labels, barLabel(f.Label, f.Negative)), append(data, similarityBar(f, colours[j]))
		}
		bar.SetXAxis(labels).AddSeries("mean similarity", data)
		return Chart{Name: "similarity-mean-" + t.Name, def: axisLabels(bar, labels)}
	}
	bar.SetGlobalOptions(append(common("win rate: "+t.Name,
		fmt.Sprintf("select %s: %% of %d windows each feature won", t.Select, t.Windows)),
		charts.WithYAxisOpts(opts.YAxis{Max: 100}))...)
	colours := featureColours(t)
	for j, f := range t.Features {
		if rate, ok := t.WinRate(j); ok {
			labels = append(labels, Wrap(f.Label, 18))
			data = append(data, opts.BarData{Value: round(100 * rate), ItemStyle: &opts.ItemStyle{Color: colours[j]}})
		}
	}
	bar.SetXAxis(labels).AddSeries("win rate", data)
	return Chart{Name: "winrate-" + t.Name, def: axisLabels(bar, labels)}
}

// negativeColour is the colour of a negative feature's bar.
const negativeColour = "#d9534f"

// barLabel is a feature's label under its bar, marked where the feature is negative.
func barLabel(label string, negative bool) string {
	if negative {
		return Wrap(label, 18) + "\n(negative)"
	}
	return Wrap(label, 18)
}

// similarityBar is a feature's mean similarity as a bar in its colour.
func similarityBar(f *workbench.FeatureStats, colour string) opts.BarData {
	return opts.BarData{Value: round(f.SimilarityMean), ItemStyle: &opts.ItemStyle{Color: colour}}
}

// paletteColours are the colours of features that name none, in their order: ECharts' palette
// with brown for its red (negative features' colour).
var paletteColours = []string{"#5470c6", "#91cc75", "#fac858", "#8c564b", "#73c0de", "#3ba272", "#fc8452", "#9a60b4", "#ea7ccc"}

// namedColours are how a chart draws the colours a feature's label may name (white and yellow
// darkened to show on white).
var namedColours = map[string]string{"red": "#e0201b", "orange": "#ff7f0e", "yellow": "#d4b106", "green": "#2ca02c",
	"blue": "#1f5fd6", "purple": "#8e44ad", "pink": "#e377c2", "brown": "#8c564b", "black": "#222222",
	"white": "#c0c0c0", "grey": "#7f7f7f", "gray": "#7f7f7f"}

// featureColours are the colours of a target's features, the same in every chart of the
// target: negativeColour for a negative feature; the first colour its label names where no
// feature before took it ("a blue square" is blue); else the palette's next free colour.
func featureColours(t *workbench.TargetStats) []string {
	colours := make([]string, len(t.Features))
	taken := map[string]bool{}
	for j, f := range t.Features {
		if f.Negative {
			colours[j] = negativeColour
			continue
		}
		for _, word := range strings.FieldsFunc(strings.ToLower(f.Label), func(r rune) bool { return !unicode.IsLetter(r) }) {
			if c, ok := namedColours[word]; ok {
				if !taken[c] {
					colours[j] = c
				}
				break
			}
		}
		taken[colours[j]] = true
	}
	next := 0
	for j := range colours {
		for colours[j] == "" {
			if c := paletteColours[next%len(paletteColours)]; !taken[c] || next >= len(paletteColours) {
				colours[j] = c
			}
			next++
		}
	}
	return colours
}

// axisLabels shows every category label of a bar chart (none dropped for lack of room), with
// room under the plot for the labels' lines and, where the chart has one, the legend below them.
func axisLabels(bar *charts.Bar, labels []string) *charts.Bar {
	bar.SetGlobalOptions(charts.WithXAxisOpts(opts.XAxis{AxisLabel: &opts.AxisLabel{Interval: "0"}}))
	lines := 1
	for _, l := range labels {
		lines = max(lines, strings.Count(l, "\n")+1)
	}
	bottom := 20 + lines*lineHeight
	if bar.Legend.Show != nil && *bar.Legend.Show {
		bottom += legendHeight
	}
	bar.GridList[0].Bottom = strconv.Itoa(max(bottom, defaultBottom))
	return bar
}

// defaultBottom is the room, in pixels, under every chart's plot: for the x axis's name and
// labels and a legend of one line; legendHeight is that legend's.
const defaultBottom, legendHeight = 85, 30

// Similarities is a target's mean similarity to each feature, step by step, with the target's
// start and end marked; for an ensemble, each model's similarities follow as dotted lines.
func Similarities(stats *workbench.Stats, t *workbench.TargetStats) Chart {
	line := charts.NewLine()
	sub := ""
	if len(stats.Models) > 0 {
		sub = "solid: the models' weighted mean; dotted: each model"
	}
	line.SetGlobalOptions(append(common("similarity over time: "+t.Name, sub), legend(),
		stepAxis(0))...)
	ensemble := func(rec workbench.StepRecord) []float64 { return rec.Similarities[t.Name] }
	colours := featureColours(t)
	for j, f := range t.Features {
		name := f.Label
		if f.Negative {
			name += " (negative)"
		}
		options := append(marks(stats, j == 0, t), noSymbols(), charts.WithLineStyleOpts(opts.LineStyle{Color: colours[j]}),
			charts.WithItemStyleOpts(opts.ItemStyle{Color: colours[j]}))
		line.AddSeries(Wrap(name, 24), similaritySeries(stats, j, ensemble), options...)
	}
	for _, m := range stats.Models {
		model := func(rec workbench.StepRecord) []float64 { return rec.ModelSimilarities[m][t.Name] }
		for j, f := range t.Features {
			line.AddSeries(Wrap(f.Label, 24)+" ("+m+")", similaritySeries(stats, j, model), noSymbols(),
				charts.WithLineStyleOpts(opts.LineStyle{Type: "dotted", Color: colours[j]}),
				charts.WithItemStyleOpts(opts.ItemStyle{Color: colours[j]}))
		}
	}
	fitLegend(&line.BaseConfiguration)
	return Chart{Name: "similarity-" + t.Name, def: line}
}

// similaritySeries is feature j's similarity at each step, as sims reads it from a step's
// record, with a gap where the target is not active.
func similaritySeries(stats *workbench.Stats, j int, sims func(workbench.StepRecord) []float64) []opts.LineData {
	var series []opts.LineData
	for _, rec := range stats.History {
		var value any = "-"
		if values := sims(rec); j < len(values) { // a step without the feature's value leaves a gap
			value = round(values[j])
		}
		series = append(series, atStep(rec.Step, value))
	}
	return series
}

// WinRatesOverTime is a target's win rates, stacked, step by step (summed over spans of steps
// so long runs stay readable). Spans weigh steps by their windows, so over the whole run the
// chart agrees with WinRates.
func WinRatesOverTime(stats *workbench.Stats, t *workbench.TargetStats) Chart {
	line := charts.NewLine()
	sub := "% of each step's windows won by each feature, stacked: a band's height is its share"
	xs, rates := OverTime(stats, t)
	pad, every := roundLabels(xs)
	line.SetGlobalOptions(append(common("win rate over time: "+t.Name, sub), legend(),
		stepAxis(every), charts.WithYAxisOpts(opts.YAxis{Max: 100}))...)
	padded := make([]int, pad, pad+len(xs))
	for i := range padded {
		padded[i] = xs[0] - (pad-i)*(xs[min(1, len(xs)-1)]-xs[0])
	}
	line.SetXAxis(append(padded, xs...))
	colours := featureColours(t)
	for j, f := range t.Features {
		if rates[j] == nil {
			continue
		}
		data := make([]opts.LineData, 0, pad+len(rates[j]))
		for range pad {
			data = append(data, opts.LineData{Value: "-"})
		}
		for _, r := range rates[j] {
			data = append(data, opts.LineData{Value: "-"})
			if !math.IsNaN(r) {
				data[len(data)-1].Value = round(100 * r)
			}
		}
		line.AddSeries(Wrap(f.Label, 24), data, charts.WithLineChartOpts(opts.LineChart{Stack: "share", ShowSymbol: opts.Bool(false)}),
			charts.WithAreaStyleOpts(opts.AreaStyle{Opacity: opts.Float(0.6), Color: colours[j]}),
			charts.WithLineStyleOpts(opts.LineStyle{Color: colours[j]}), charts.WithItemStyleOpts(opts.ItemStyle{Color: colours[j]}))
	}
	fitLegend(&line.BaseConfiguration)
	return Chart{Name: "winrate-over-time-" + t.Name, def: line}
}

// Span is a stretch of steps in OverTime: the wins of each feature and the windows drawn.
type Span struct {
	Step    int
	Won     []int
	Windows int
}

// Spans sums a target's wins over spans of the steps it is active in, all of one round length
// (1, 2, 5, 10, 20, ...), at most 100 of them, each starting at a multiple of its length; a
// span without an active step has no windows. Features without a win rate stay at zero.
func Spans(stats *workbench.Stats, t *workbench.TargetStats) []Span {
	var active []workbench.StepRecord
	for _, rec := range stats.History {
		if _, ok := rec.Frames[t.Name]; ok {
			active = append(active, rec)
		}
	}
	if len(active) == 0 {
		return nil
	}
	first, last := active[0].Step, active[len(active)-1].Step
	var size, start int
	for size = range roundNumbers {
		if start = first - first%size; (last-start)/size < 100 {
			break
		}
	}
	spans := make([]Span, (last-start)/size+1)
	for i := range spans {
		spans[i] = Span{Step: start + i*size, Won: make([]int, len(t.Features))}
	}
	for _, rec := range active {
		addWins(&spans[(rec.Step-start)/size], t, rec)
	}
	return spans
}

// addWins adds a step's wins and windows to span.
func addWins(span *Span, t *workbench.TargetStats, rec workbench.StepRecord) {
	counted := false
	for j := range t.Features {
		won, windows, ok := t.WonAt(rec, j)
		if !ok {
			continue
		}
		span.Won[j] += won
		if !counted {
			span.Windows, counted = span.Windows+windows, true
		}
	}
}

// roundNumbers yields 1, 2, 5, 10, 20, 50, 100, ... without end.
func roundNumbers(yield func(int) bool) {
	for power := 1; ; power *= 10 {
		for _, m := range []int{1, 2, 5} {
			if !yield(m * power) {
				return
			}
		}
	}
}

// roundLabels places about eight labels at round steps on an axis of steps, evenly spaced from
// a multiple of their spacing: every is how many steps go from one label to the next, and pad
// how many steps to add before the first so that the labels fall on multiples of every times
// the spacing.
func roundLabels(steps []int) (pad, every int) {
	if len(steps) < 2 {
		return 0, 1
	}
	spacing := steps[1] - steps[0]
	for every = range roundNumbers {
		if len(steps) <= 8*every {
			break
		}
	}
	return steps[0] % (every * spacing) / spacing, every
}

// OverTime is the steps that start each span and, per feature, its win rate in each span (nil
// for features without a win rate, NaN where the target was not active).
func OverTime(stats *workbench.Stats, t *workbench.TargetStats) ([]int, [][]float64) {
	spans := Spans(stats, t)
	steps := make([]int, len(spans))
	rates := make([][]float64, len(t.Features))
	for i, s := range spans {
		steps[i] = s.Step
		for j := range t.Features {
			if !t.Counts(j) {
				continue
			}
			rate := math.NaN()
			if s.Windows > 0 {
				rate = float64(s.Won[j]) / float64(s.Windows)
			}
			rates[j] = append(rates[j], rate)
		}
	}
	return steps, rates
}

// Loss is the total loss over the steps, with every target's start and end marked.
func Loss(stats *workbench.Stats) Chart {
	line := charts.NewLine()
	marked := marks(stats, true, stats.Targets...)
	sub := ""
	if marked != nil {
		sub = "dashed lines: a target starts or ends"
	}
	line.SetGlobalOptions(append(common("loss", sub), stepAxis(0))...)
	var data []opts.LineData
	for _, rec := range stats.History {
		data = append(data, atStep(rec.Step, round(rec.Loss)))
	}
	line.AddSeries("loss", data, append(marked, noSymbols())...)
	return Chart{Name: "loss", def: line}
}

// noSymbols draws a line without a marker at every point: lighter to read and to store.
func noSymbols() charts.SeriesOpts {
	return charts.WithLineChartOpts(opts.LineChart{ShowSymbol: opts.Bool(false)})
}

// marks draws the steps where targets start (after the first step) and end (before the last)
// as dashed vertical lines; on is false for series that should not repeat them.
func marks(stats *workbench.Stats, on bool, targets ...*workbench.TargetStats) []charts.SeriesOpts {
	if !on || len(stats.History) == 0 {
		return nil
	}
	var items []opts.MarkLineNameXAxisItem
	for _, t := range targets {
		first, last := -1, -1
		for i, rec := range stats.History {
			if _, ok := rec.Similarities[t.Name]; ok {
				if first < 0 {
					first = i
				}
				last = i
			}
		}
		if first > 0 {
			items = append(items, opts.MarkLineNameXAxisItem{Name: t.Name + " starts", XAxis: stats.History[first].Step})
		}
		if last >= 0 && last < len(stats.History)-1 {
			items = append(items, opts.MarkLineNameXAxisItem{Name: t.Name + " ends", XAxis: stats.History[last+1].Step})
		}
	}
	if len(items) == 0 {
		return nil
	}
	return []charts.SeriesOpts{charts.WithMarkLineNameXAxisItemOpts(items...),
		charts.WithMarkLineStyleOpts(opts.MarkLineStyle{Symbol: []string{"none", "none"},
			Label: &opts.Label{Show: opts.Bool(true), Formatter: "{b}"}})}
}

// round keeps four decimals, so the chart options stay short.
func round(v float64) float64 {
	return math.Round(v*1e4) / 1e4
}

// Page is a standalone HTML page holding HTML (such as GridHTML's); it renders offline, the
// ECharts script included.
func Page(title string, body ...string) string {
	return "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>" + html.EscapeString(title) + "</title>" +
		Script() + "</head><body style=\"font-family:sans-serif\">" + strings.Join(body, "\n") + "</body></html>"
}
