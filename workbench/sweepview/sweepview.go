// Package sweepview reads a sweep folder, finished or still running: its manifest (sweep.json)
// and what each variant's run folder holds now, shown as one table and as charts of a metric
// over a varied key (see charts.Sweep).
package sweepview

import (
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/clipwork/clipwork/workbench/charts"
	"github.com/clipwork/clipwork/workbench/runstore"
	"github.com/clipwork/clipwork/workbench/sweep"
)

// StatusPending is the status of a variant that has not started.
const StatusPending = "pending"

// Variant is one variant of a sweep with what its run folder holds now: its Status is the
// run's status for people (see runstore.Dir.DisplayStatus), or StatusPending, rather than the
// manifest's, which may be older.
type Variant struct {
	sweep.Variant
	// Summary is the run's stats.json, nil before its first save.
	Summary *runstore.Summary
}

// View is a sweep folder as read at one moment.
type View struct {
	Dir      string
	Manifest *sweep.Manifest
	Variants []Variant
}

// Read reads the sweep folder dir: its manifest and every variant's run folder.
func Read(dir string) (*View, error) {
	m, err := sweep.ReadManifest(dir)
	if err != nil {
		return nil, err
	}
	v := &View{Dir: dir, Manifest: m}
	for _, variant := range m.Variants {
		var summary *runstore.Summary
		summary, variant.Status = ReadRun(filepath.Join(dir, variant.Folder))
		v.Variants = append(v.Variants, Variant{Variant: variant, Summary: summary})
	}
	return v, nil
}

// ReadRun reads the run in path: its stats.json and its status for people, or nil and
// StatusPending where it has none yet.
func ReadRun(path string) (*runstore.Summary, string) {
	dir, err := runstore.Open(path)
	if err != nil {
		return nil, StatusPending
	}
	s, err := dir.ReadSummary()
	if err != nil {
		return nil, StatusPending
	}
	return s, dir.DisplayStatus(s)
}

// Table is the sweep as one table: a row per variant with its index, values, status, steps
// and, for each feature, its final and mean similarity and win rate. Cells are as the runs wrote them
// (make them printable before a terminal shows them).
func (v *View) Table() (header []string, rows [][]string) {
	var columns []featureColumn
	for _, variant := range v.Variants {
		if variant.Summary != nil {
			columns = featureColumns(variant.Summary)
			break
		}
	}
	header = append(append([]string{"#"}, v.Manifest.Keys()...), "status", "steps")
	for _, c := range columns {
		header = append(header, c.header())
	}
	for _, variant := range v.Variants {
		row := append(append([]string{strconv.Itoa(variant.Index)}, variant.Values...), variant.Status, "")
		if s := variant.Summary; s != nil {
			row[len(row)-1] = fmt.Sprintf("%d/%d", s.StepsDone, s.Steps)
			for _, c := range columns {
				row = append(row, c.cell(s))
			}
		}
		rows = append(rows, row)
	}
	return header, rows
}

// featureColumn is one feature of one target in a sweep table.
type featureColumn struct {
	target, label string
	feature       int
	negative      bool
}

func (c featureColumn) header() string {
	label := c.label
	if c.negative {
		label += " (negative)"
	}
	return c.target + ": " + label
}

// cell is the feature's final similarity, its mean over the run (what a run's frame table
// prints) and, where it can win windows, its win rate; "-" before the run's first step.
func (c featureColumn) cell(s *runstore.Summary) string {
	if s.StepsDone == 0 {
		return "-"
	}
	for _, t := range s.Targets {
		if t.Name != c.target || c.feature >= len(t.Features) || t.Features[c.feature].Label != c.label {
			continue
		}
		f := t.Features[c.feature]
		cell := fmt.Sprintf("final sim %.3f (mean %.3f)", f.SimilarityLast, f.SimilarityMean)
		if rate, ok := t.WinRate(c.feature); ok {
			cell += fmt.Sprintf(" win %.0f%%", 100*rate)
		}
		return cell
	}
	return "-"
}

func featureColumns(s *runstore.Summary) []featureColumn {
	var columns []featureColumn
	for _, t := range s.Targets {
		for j, f := range t.Features {
			columns = append(columns, featureColumn{target: t.Name, label: f.Label, feature: j, negative: f.Negative})
		}
	}
	return columns
}

// Chart draws the metric over the varied key, one line per combination of the other keys'
// values, or one line of all variants in a zipped sweep (see charts.Sweep).
func (v *View) Chart(key string, m charts.Metric) (charts.Chart, error) {
	keys := v.Manifest.Keys()
	over := slices.Index(keys, key)
	if over < 0 {
		return charts.Chart{}, fmt.Errorf("the sweep in %s varies %s, not %q", v.Dir, strings.Join(keys, ", "), key)
	}
	variants := make([]charts.SweepVariant, len(v.Variants))
	for i, variant := range v.Variants {
		variants[i] = charts.SweepVariant{Values: variant.Values, Finished: variant.Status == runstore.StatusFinished}
		if s := variant.Summary; s != nil {
			variants[i].Stats = s.Stats()
		}
	}
	return charts.Sweep(keys, variants, over, m, v.Manifest.Zip), nil
}

// CheckMetric says which targets the runs have when none of the variants that have statistics
// has the metric (a target or feature named wrong, or a win rate of a target whose windows do not
// select); nil when one has it, or none has statistics yet.
func (v *View) CheckMetric(m charts.Metric) error {
	seen := false
	var targets []string // of every variant with statistics, each name once
	for _, variant := range v.Variants {
		s := variant.Summary
		if s == nil {
			continue
		}
		seen = true
		if _, ok := m.Value(s.Stats()); ok {
			return nil
		}
		for _, t := range s.Targets {
			if !slices.Contains(targets, t.Name) {
				targets = append(targets, t.Name)
			}
		}
	}
	if !seen {
		return nil
	}
	subject := "the first target's first positive feature"
	if m.Target != "" {
		subject = strconv.Quote(m.Subject(nil))
	}
	names := "none"
	if len(targets) > 0 {
		names = strings.Join(targets, ", ")
	}
	return fmt.Errorf("no variant has the %s of %s (a win rate needs windows that select): the targets are %s",
		m.Name(), subject, names)
}

// Charts are the metric's chart over every varied key, in the keys' order.
func (v *View) Charts(m charts.Metric) []charts.Chart {
	var out []charts.Chart
	for _, key := range v.Manifest.Keys() {
		c, _ := v.Chart(key, m)
		out = append(out, c)
	}
	return out
}
