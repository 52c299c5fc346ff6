package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"unicode/utf8"

	"github.com/clipwork/clipwork/workbench"
	"github.com/clipwork/clipwork/workbench/charts"
	"github.com/clipwork/clipwork/workbench/report"
	"github.com/clipwork/clipwork/workbench/store"
	"github.com/clipwork/clipwork/workbench/sweep"
	"github.com/clipwork/clipwork/workbench/sweepview"
)

// showSweep prints a sweep's table and, when chart names a varied key, writes the chart of the
// metric over it into chartDir.
func showSweep(view *sweepview.View, chart, metric, chartDir string, stdout io.Writer) error {
	if err := printSweep(view, stdout); err != nil || chart == "" {
		return err
	}
	return writeSweepChart(view, chart, metric, chartDir, stdout)
}

// printSweep prints one table of a sweep's variants (see sweepview.View.Table), its long
// headers cut and given whole under it.
func printSweep(view *sweepview.View, stdout io.Writer) error {
	header, rows := view.Table()
	header, legend := cutHeaders(header)
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, printableCells(header))
	for _, row := range rows {
		fmt.Fprintln(tw, printableCells(row))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, line := range legend {
		fmt.Fprintln(stdout, workbench.Printable(line))
	}
	return nil
}

// maxHeader bounds a column's header in a table printed to a terminal.
const maxHeader = 32

// cutHeaders cuts the headers longer than maxHeader, each marked with its number in the legend,
// which gives it whole.
func cutHeaders(header []string) (cut, legend []string) {
	cut = slices.Clone(header)
	for i, h := range header {
		if utf8.RuneCountInString(h) <= maxHeader {
			continue
		}
		mark := fmt.Sprintf(" [%d]", len(legend)+1)
		cut[i] = charts.Shorten(h, maxHeader-len(mark)) + mark
		legend = append(legend, strings.TrimSpace(mark)+" "+h)
	}
	return cut, legend
}

func printableCells(cells []string) string {
	out := make([]string, len(cells))
	for i, c := range cells {
		out[i] = workbench.Printable(c)
	}
	return strings.Join(out, "\t")
}

// writeSweepChart writes the chart of metric over the varied key into dir as SVG and HTML, and
// PNG where Chromium is installed.
func writeSweepChart(view *sweepview.View, key, metric, dir string, stdout io.Writer) error {
	m, err := charts.ParseMetric(metric)
	if err != nil {
		return fmt.Errorf("--metric: %w", err)
	}
	c, err := view.Chart(key, m)
	if err != nil {
		return fmt.Errorf("--chart: %w", err)
	}
	if err := view.CheckMetric(m); err != nil {
		return fmt.Errorf("--metric %s: %w", metric, err)
	}
	name := "chart-" + sweep.FolderPart(key) + "-" + m.Kind
	for _, part := range []string{m.Target, m.Feature} { // each metric its own file
		if part != "" {
			name += "-" + sweep.FolderPart(part)
		}
	}
	base := filepath.Join(dir, name)
	svg, err := c.SVG()
	if err != nil {
		return err
	}
	grid, err := charts.GridHTML([]charts.Chart{c}, svg)
	if err != nil {
		return err
	}
	if err := os.WriteFile(base+".svg", []byte(svg), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(base+".html", []byte(charts.Page(filepath.Base(view.Dir)+" "+c.Name, grid)), 0o644); err != nil {
		return err
	}
	written := base + ".svg and .html"
	if browser := report.FindChromium(); browser != "" {
		if err := report.Screenshot(browser, base+".svg", base+".png", charts.Width, charts.Height); err != nil {
			return fmt.Errorf("%s.png: %w", base, err)
		}
		written += " and .png"
	}
	fmt.Fprintf(stdout, "\nchart: %s\n", workbench.Printable(written))
	return nil
}

// listSweeps names the sweep folders in a results folder, root, (runs lists run folders only),
// each with its variant count and the command that shows its table, in the folder or store
// shown, and returns how many it named.
func listSweeps(root, shown string, stdout io.Writer) (int, error) {
	entries, err := os.ReadDir(root)
	if err != nil {
		return 0, store.ShownError(err, root, shown)
	}
	listed := 0
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		m, err := sweep.ReadManifest(filepath.Join(root, e.Name()))
		if !errors.Is(err, os.ErrNotExist) {
			listed++
		}
		switch {
		case err == nil:
			fmt.Fprintf(stdout, "sweep %s: %d variants of %s (clipwork runs %s)\n", workbench.Printable(e.Name()),
				len(m.Variants), workbench.Printable(strings.Join(m.Keys(), ", ")), workbench.Printable(store.Join(shown, e.Name())))
		case !errors.Is(err, os.ErrNotExist):
			message := store.ShownError(err, root, shown).Error()
			fmt.Fprintf(stdout, "sweep %s: unreadable: %s\n", workbench.Printable(e.Name()), workbench.Printable(message))
		}
	}
	return listed, nil
}
