package charts

import (
	"slices"

	"github.com/clipwork/clipwork/workbench"
	"github.com/go-echarts/go-echarts/v2/charts"
	"github.com/go-echarts/go-echarts/v2/opts"
)

// NamedStats are one run's statistics and the name to show for it.
type NamedStats struct {
	Name  string
	Stats *workbench.Stats
}

// Compare is, per target name, grouped bars with one series per run: the features' win rates,
// and the mean similarities too where some runs of that target have no win rates (select all),
// or only those where none has.
func Compare(runs []NamedStats) []Chart {
	var out []Chart
	for _, name := range targetNames(runs) {
		with, features := 0, 0 // runs in which the target has win rates, and features
		for _, r := range runs {
			if t := r.Stats.Target(name); t != nil && !t.ConstraintsOnly() {
				features++
				if !t.AppliedEverywhere() {
					with++
				}
			}
		}
		if features == 0 {
			continue
		}
		if with > 0 {
			out = append(out, compareTarget(runs, name, true, with < features))
		}
		if with < features {
			out = append(out, compareTarget(runs, name, false, with > 0))
		}
	}
	return out
}

func targetNames(runs []NamedStats) []string {
	var names []string
	for _, r := range runs {
		for _, t := range r.Stats.Targets {
			if !slices.Contains(names, t.Name) {
				names = append(names, t.Name)
			}
		}
	}
	return names
}

// compareTarget draws one target across runs, negative features' labels marked; a run without
// a value for a feature (not in the run, negative, or no win rates there) shows no bar; some
// says some runs have no win rates (of a similarity chart: some have).
func compareTarget(runs []NamedStats, name string, winRates, some bool) Chart {
	bar := charts.NewBar()
	head, sub, chartName := "mean similarity over the run: "+name, "every feature applied in every window", "compare-similarity-"+name
	if some { // some runs pick one feature a window
		sub = "each run's windows to each feature, whichever feature they applied"
	}
	if winRates {
		head, sub, chartName = "win rates: "+name, "% of windows each feature won, per run", "compare-winrate-"+name
		if some {
			sub += "; no bars where a run applies every feature in every window"
		}
	}
	bar.SetGlobalOptions(append(common(head, sub), legend())...)
	labels := featureLabels(runs, name, winRates)
	wrapped := make([]string, len(labels))
	for i, l := range labels {
		wrapped[i] = barLabel(l, negativeIn(runs, name, l))
	}
	bar.SetXAxis(wrapped)
	for _, r := range runs {
		t := r.Stats.Target(name)
		data := make([]opts.BarData, len(labels))
		for i, label := range labels {
			data[i] = opts.BarData{Value: "-"}
			if v, ok := featureValue(t, label, winRates); ok {
				data[i] = opts.BarData{Value: round(v)}
			}
		}
		bar.AddSeries(Wrap(r.Name, 30), data)
	}
	def := axisLabels(bar, wrapped)
	fitLegend(&bar.BaseConfiguration)
	return Chart{Name: chartName, def: def}
}

// featureLabels are the labels of a target's features over runs, without anti-text where the
// chart shows win rates (it has none).
func featureLabels(runs []NamedStats, name string, winRates bool) []string {
	var labels []string
	for _, r := range runs {
		if t := r.Stats.Target(name); t != nil {
			for _, f := range t.Features {
				if !slices.Contains(labels, f.Label) && !(winRates && f.EveryWindow) {
					labels = append(labels, f.Label)
				}
			}
		}
	}
	return labels
}

// negativeIn says whether the feature labelled label is negative in the target name of any run.
func negativeIn(runs []NamedStats, name, label string) bool {
	return slices.ContainsFunc(runs, func(r NamedStats) bool {
		t := r.Stats.Target(name)
		return t != nil && slices.ContainsFunc(t.Features, func(f *workbench.FeatureStats) bool {
			return f.Label == label && f.Negative
		})
	})
}

// featureValue is a feature's win rate in percent, or its mean similarity.
func featureValue(t *workbench.TargetStats, label string, winRate bool) (float64, bool) {
	if t == nil {
		return 0, false
	}
	for j, f := range t.Features {
		if f.Label != label {
			continue
		}
		if !winRate {
			return f.SimilarityMean, true
		}
		rate, ok := t.WinRate(j)
		return 100 * rate, ok
	}
	return 0, false
}
