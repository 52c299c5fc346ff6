// Package charts draws a run's statistics with go-echarts: how often each feature won its
// target's windows (win rate), similarity per feature over time, and the loss. Charts render
// offline: ECharts' JavaScript (Apache-2.0, see ECHARTS-LICENSE) is embedded instead of loaded
// from a CDN.
package charts

import (
	_ "embed"
	"fmt"
	"html"
	"math"
	"slices"
	"strings"

	"github.com/clipwork/clipwork/workbench"
	"github.com/go-echarts/go-echarts/v2/charts"
	"github.com/go-echarts/go-echarts/v2/opts"
	"github.com/go-echarts/go-echarts/v2/render"
)

//go:embed echarts.min.js
var echartsJS string

// Script is a <script> element defining the global echarts. The wrapper hides the page's
// RequireJS (classic Jupyter, nbconvert's HTML), which would otherwise take the UMD module and
// leave the charts blank.
func Script() string {
	return "<script>(function(define, module, exports){\n" + echartsJS + "\n})();</script>"
}

func initOpts() charts.GlobalOpts {
	return charts.WithInitializationOpts(opts.Initialization{Width: "860px", Height: "360px"})
}

func title(text, sub string) charts.GlobalOpts {
	return charts.WithTitleOpts(opts.Title{Title: text, Subtitle: sub})
}

// WinRates is, per target, the share of its windows each feature won (was applied in).
func WinRates(stats *workbench.Stats) []*charts.Bar {
	var out []*charts.Bar
	for _, t := range stats.Targets {
		bar := charts.NewBar()
		bar.SetGlobalOptions(initOpts(), charts.WithAnimation(false),
			title("win rate: "+t.Name, fmt.Sprintf("select %s, %d windows", t.Select, t.Windows)),
			charts.WithTooltipOpts(opts.Tooltip{Show: opts.Bool(true)}),
			charts.WithYAxisOpts(opts.YAxis{Name: "% of windows", Max: 100}))
		var labels []string
		var data []opts.BarData
		for _, f := range t.Features {
			labels = append(labels, f.Label)
			data = append(data, opts.BarData{Value: round(100 * f.Share)})
		}
		bar.SetXAxis(labels).AddSeries("win rate", data)
		out = append(out, bar)
	}
	return out
}

// Similarities is, per target, each feature's mean similarity over the steps.
func Similarities(stats *workbench.Stats) []*charts.Line {
	var out []*charts.Line
	for _, t := range stats.Targets {
		line := charts.NewLine()
		line.SetGlobalOptions(initOpts(), charts.WithAnimation(false), title("similarity: "+t.Name, ""),
			charts.WithTooltipOpts(opts.Tooltip{Show: opts.Bool(true), Trigger: "axis"}),
			charts.WithLegendOpts(opts.Legend{Show: opts.Bool(true), Top: "bottom"}),
			charts.WithXAxisOpts(opts.XAxis{Name: "step"}))
		var steps []int
		series := make([][]opts.LineData, len(t.Features))
		for _, rec := range stats.History {
			sims, ok := rec.Similarities[t.Name]
			if !ok {
				continue
			}
			steps = append(steps, rec.Step)
			for j := range t.Features {
				series[j] = append(series[j], opts.LineData{Value: round(sims[j])})
			}
		}
		line.SetXAxis(steps)
		for j, f := range t.Features {
			line.AddSeries(f.Label, series[j])
		}
		out = append(out, line)
	}
	return out
}

// WinRatesOverTime is, per target, the share of windows each feature won, stacked, step by
// step (averaged over spans of steps so long runs stay readable).
func WinRatesOverTime(stats *workbench.Stats) []*charts.Line {
	var out []*charts.Line
	for _, t := range stats.Targets {
		var steps []int
		var frames [][]int
		for _, rec := range stats.History {
			if f, ok := rec.Frames[t.Name]; ok {
				steps, frames = append(steps, rec.Step), append(frames, f)
			}
		}
		span := max(1, len(steps)/100)
		line := charts.NewLine()
		line.SetGlobalOptions(initOpts(), charts.WithAnimation(false), title("win rate over time: "+t.Name, ""),
			charts.WithTooltipOpts(opts.Tooltip{Show: opts.Bool(true), Trigger: "axis"}),
			charts.WithLegendOpts(opts.Legend{Show: opts.Bool(true), Top: "bottom"}),
			charts.WithXAxisOpts(opts.XAxis{Name: "step"}), charts.WithYAxisOpts(opts.YAxis{Name: "%", Max: 100}))
		var xs []int
		for i := 0; i < len(steps); i += span {
			xs = append(xs, steps[i])
		}
		line.SetXAxis(xs)
		for j, f := range t.Features {
			var data []opts.LineData
			for i := 0; i < len(steps); i += span {
				won, total := 0, 0
				for k := i; k < min(i+span, len(steps)); k++ {
					won += frames[k][j]
					for _, n := range frames[k] {
						total += n
					}
				}
				data = append(data, opts.LineData{Value: round(100 * float64(won) / float64(max(total, 1)))})
			}
			line.AddSeries(f.Label, data, charts.WithLineChartOpts(opts.LineChart{Stack: "share"}),
				charts.WithAreaStyleOpts(opts.AreaStyle{Opacity: opts.Float(0.6)}))
		}
		out = append(out, line)
	}
	return out
}

// Loss is the total loss over the steps.
func Loss(stats *workbench.Stats) *charts.Line {
	line := charts.NewLine()
	line.SetGlobalOptions(initOpts(), charts.WithAnimation(false), title("loss", ""),
		charts.WithXAxisOpts(opts.XAxis{Name: "step"}))
	var steps []int
	var data []opts.LineData
	for _, rec := range stats.History {
		steps = append(steps, rec.Step)
		data = append(data, opts.LineData{Value: round(rec.Loss)})
	}
	line.SetXAxis(steps).AddSeries("loss", data)
	return line
}

// All is every chart of a run as HTML elements with their scripts (after Script).
func All(stats *workbench.Stats) string {
	var b strings.Builder
	for _, c := range WinRates(stats) {
		b.WriteString(Snippet(c))
	}
	for _, c := range WinRatesOverTime(stats) {
		b.WriteString(Snippet(c))
	}
	for _, c := range Similarities(stats) {
		b.WriteString(Snippet(c))
	}
	b.WriteString(Snippet(Loss(stats)))
	return b.String()
}

func snippetHTML(s render.ChartSnippet) string {
	return s.Element + s.Script
}

// round keeps four decimals, so the chart options stay short.
func round(v float64) float64 {
	return math.Round(v*1e4) / 1e4
}

// Page is a standalone HTML page holding charts (see Snippet) and other HTML; it renders
// offline, the ECharts script included.
func Page(title string, body ...string) string {
	return "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>" + html.EscapeString(title) + "</title>" +
		Script() + "</head><body style=\"font-family:sans-serif\">" + strings.Join(body, "\n") + "</body></html>"
}

// Snippet is a chart's element and script for a Page or a notebook output.
func Snippet(c interface{ RenderSnippet() render.ChartSnippet }) string {
	return snippetHTML(c.RenderSnippet())
}

// NamedStats are one run's statistics and the name to show for it.
type NamedStats struct {
	Name  string
	Stats *workbench.Stats
}

// CompareWinRates is, per target name, grouped bars of each feature's win rate in every run.
func CompareWinRates(runs []NamedStats) []*charts.Bar {
	var names []string
	for _, r := range runs {
		for _, t := range r.Stats.Targets {
			if !slices.Contains(names, t.Name) {
				names = append(names, t.Name)
			}
		}
	}
	var out []*charts.Bar
	for _, name := range names {
		var labels []string
		for _, r := range runs {
			if t := r.Stats.Target(name); t != nil {
				for _, f := range t.Features {
					if !slices.Contains(labels, f.Label) {
						labels = append(labels, f.Label)
					}
				}
			}
		}
		bar := charts.NewBar()
		bar.SetGlobalOptions(initOpts(), charts.WithAnimation(false), title("win rates: "+name, "one bar per run"),
			charts.WithTooltipOpts(opts.Tooltip{Show: opts.Bool(true)}),
			charts.WithLegendOpts(opts.Legend{Show: opts.Bool(true), Top: "bottom"}),
			charts.WithYAxisOpts(opts.YAxis{Name: "% of windows", Max: 100}))
		bar.SetXAxis(labels)
		for _, r := range runs {
			t := r.Stats.Target(name)
			data := make([]opts.BarData, len(labels))
			for i, label := range labels {
				data[i] = opts.BarData{Value: 0.0}
				if t == nil {
					continue
				}
				for _, f := range t.Features {
					if f.Label == label {
						data[i] = opts.BarData{Value: round(100 * f.Share)}
					}
				}
			}
			bar.AddSeries(r.Name, data)
		}
		out = append(out, bar)
	}
	return out
}
