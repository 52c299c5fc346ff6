package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/clipwork/clipwork/workbench"
	"github.com/clipwork/clipwork/workbench/runstore"
	"github.com/clipwork/clipwork/workbench/store"
	"github.com/clipwork/clipwork/workbench/sweep"
)

// printSweep prints one table of a sweep's variants: their values, status, steps, and for each
// feature its final similarity and win rate, from the variants' stats.json.
func printSweep(dir string, m *sweep.Manifest, stdout io.Writer) error {
	summaries := make([]*runstore.Summary, len(m.Variants))
	statuses := make([]string, len(m.Variants))
	var columns []featureColumn
	for i, v := range m.Variants {
		summaries[i], statuses[i] = readVariant(filepath.Join(dir, v.Folder))
		if columns == nil && summaries[i] != nil {
			columns = featureColumns(summaries[i])
		}
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	header := append([]string{"#"}, m.Keys()...)
	header = append(header, "status", "steps")
	for _, c := range columns {
		header = append(header, c.header())
	}
	fmt.Fprintln(tw, printableCells(header))
	for i, v := range m.Variants {
		row := append([]string{strconv.Itoa(v.Index)}, v.Values...)
		row = append(row, statuses[i], "")
		if s := summaries[i]; s != nil {
			row[len(row)-1] = fmt.Sprintf("%d/%d", s.StepsDone, s.Steps)
			for _, c := range columns {
				row = append(row, c.cell(s))
			}
		}
		fmt.Fprintln(tw, printableCells(row))
	}
	return tw.Flush()
}

func printableCells(cells []string) string {
	out := make([]string, len(cells))
	for i, c := range cells {
		out[i] = workbench.Printable(c)
	}
	return strings.Join(out, "\t")
}

// featureColumn is one feature of one target in a sweep table.
type featureColumn struct {
	target, label string
	feature       int
	negative      bool
}

// maxLabel bounds a feature's label in a table header.
const maxLabel = 24

func (c featureColumn) header() string {
	label := c.label
	if r := []rune(label); len(r) > maxLabel {
		label = string(r[:maxLabel-1]) + "…"
	}
	if c.negative {
		label += " (negative)"
	}
	return c.target + ": " + label
}

// cell is the feature's final similarity and, where it can win windows, its win rate.
func (c featureColumn) cell(s *runstore.Summary) string {
	for _, t := range s.Targets {
		if t.Name != c.target || c.feature >= len(t.Features) || t.Features[c.feature].Label != c.label {
			continue
		}
		cell := fmt.Sprintf("final sim %.3f", t.Features[c.feature].SimilarityLast)
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

// listSweeps names the sweep folders in a results folder, root, (runs lists run folders only),
// each with its variant count and the command that shows its table, in the folder or store
// shown.
func listSweeps(root, shown string, stdout io.Writer) error {
	entries, err := os.ReadDir(root)
	if err != nil {
		return err
	}
	for _, e := range entries {
		path := filepath.Join(root, e.Name())
		if m, err := sweep.ReadManifest(path); e.IsDir() && err == nil {
			fmt.Fprintf(stdout, "sweep %s: %d variants of %s (clipwork runs %s)\n", workbench.Printable(e.Name()),
				len(m.Variants), workbench.Printable(strings.Join(m.Keys(), ", ")), workbench.Printable(store.Join(shown, e.Name())))
		}
	}
	return nil
}
