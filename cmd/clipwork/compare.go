package main

import (
	"context"
	"encoding/base64"
	"encoding/csv"
	"errors"
	"fmt"
	"html"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/clipwork/clipwork/workbench"
	"github.com/clipwork/clipwork/workbench/charts"
	"github.com/clipwork/clipwork/workbench/runstore"
	"go.yaml.in/yaml/v3"
)

// loadedRun is a run folder with its summary and resolved config.
type loadedRun struct {
	dir     *runstore.Dir
	summary *runstore.Summary
	config  map[string]string // flattened config.yaml: key path -> value
}

func loadRuns(paths []string) ([]loadedRun, error) {
	if len(paths) == 0 {
		return nil, errors.New("give one or more run folders, e.g. results/demo results/demo-1")
	}
	var runs []loadedRun
	for _, p := range paths {
		dir, err := runstore.Open(p)
		if err != nil {
			return nil, err
		}
		s, err := dir.ReadSummary()
		if err != nil {
			return nil, err
		}
		data, err := os.ReadFile(filepath.Join(p, runstore.ConfigFile))
		if err != nil {
			return nil, err
		}
		var root yaml.Node
		if err := yaml.Unmarshal(data, &root); err != nil {
			return nil, fmt.Errorf("%s: %w", filepath.Join(p, runstore.ConfigFile), err)
		}
		flat := map[string]string{}
		if len(root.Content) > 0 {
			flatten(root.Content[0], "", flat)
		}
		runs = append(runs, loadedRun{dir, s, flat})
	}
	return runs, nil
}

// flatten maps every scalar of a YAML tree to its dotted key path.
func flatten(n *yaml.Node, prefix string, out map[string]string) {
	join := func(k string) string {
		if prefix == "" {
			return k
		}
		return prefix + "." + k
	}
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			flatten(n.Content[i+1], join(n.Content[i].Value), out)
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			flatten(c, join(fmt.Sprint(i)), out)
		}
	default:
		out[prefix] = n.Value
	}
}

// differingSettings lists the config keys whose values are not the same in all runs.
func differingSettings(runs []loadedRun) []string {
	keys := map[string]bool{}
	for _, r := range runs {
		for k := range r.config {
			keys[k] = true
		}
	}
	var out []string
	for k := range keys {
		for _, r := range runs[1:] {
			if r.config[k] != runs[0].config[k] {
				out = append(out, k)
				break
			}
		}
	}
	slices.Sort(out)
	return out
}

func runCompare(args []string, stdout io.Writer) error {
	fs := newFlags("compare", stdout)
	htmlOut := fs.String("html", "", "also write an HTML report with the images and charts to this file")
	paths, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	runs, err := loadRuns(paths)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "run\tstatus\tmodel\tsteps\tseconds\twindows/s\twin rates")
	for _, r := range runs {
		s := r.summary
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d/%d\t%.1f\t%.2f\t%s\n", r.dir.Path, s.Status, s.Model, s.StepsDone, s.Steps,
			s.Seconds, s.WindowsPerSecond, winRateSummary(s))
	}
	tw.Flush()
	if diff := differingSettings(runs); len(diff) > 0 {
		fmt.Fprintln(stdout, "\nsettings that differ:")
		tw = tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		for _, k := range diff {
			fmt.Fprintf(tw, "  %s", k)
			for _, r := range runs {
				fmt.Fprintf(tw, "\t%s", r.config[k])
			}
			fmt.Fprintln(tw)
		}
		tw.Flush()
	}
	if *htmlOut == "" {
		return nil
	}
	page, err := compareReport(runs)
	if err != nil {
		return err
	}
	if err := os.WriteFile(*htmlOut, []byte(page), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\nreport: %s\n", *htmlOut)
	return nil
}

func winRateSummary(s *runstore.Summary) string {
	var parts []string
	for _, t := range s.Targets {
		var fs []string
		for _, f := range t.Features {
			fs = append(fs, fmt.Sprintf("%s %.0f%%", f.Label, 100*f.Share))
		}
		parts = append(parts, t.Name+": "+strings.Join(fs, ", "))
	}
	return strings.Join(parts, "; ")
}

// compareReport is an HTML page with every run's image and the grouped win-rate charts.
func compareReport(runs []loadedRun) (string, error) {
	var images strings.Builder
	images.WriteString(`<div style="display:flex;flex-wrap:wrap;gap:12px">`)
	var named []charts.NamedStats
	for _, r := range runs {
		png, err := os.ReadFile(filepath.Join(r.dir.Path, runstore.ImageFile))
		if err != nil {
			return "", err
		}
		fmt.Fprintf(&images, `<figure><img src="data:image/png;base64,%s" style="max-width:400px"><figcaption>%s</figcaption></figure>`,
			base64.StdEncoding.EncodeToString(png), html.EscapeString(r.dir.Path))
		named = append(named, charts.NamedStats{Name: filepath.Base(r.dir.Path),
			Stats: &workbench.Stats{Targets: r.summary.Targets}})
	}
	images.WriteString("</div>")
	body := []string{"<h1>clipwork runs</h1>", images.String()}
	for _, c := range charts.CompareWinRates(named) {
		body = append(body, charts.Snippet(c))
	}
	return charts.Page("clipwork runs", body...), nil
}

func runExport(args []string, stdout io.Writer) error {
	if len(args) == 0 || args[0] != "charts" {
		return errors.New("usage: clipwork export charts RUN... --out DIR")
	}
	fs := newFlags("export charts", stdout)
	out := fs.String("out", "charts", "folder for the HTML, PNG and CSV files")
	paths, err := parseInterleaved(fs, args[1:])
	if err != nil {
		return err
	}
	runs, err := loadRuns(paths)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return err
	}
	browser := findChromium()
	if browser == "" {
		fmt.Fprintln(stdout, "no Chromium found: writing HTML and CSV only (for PNGs: apt-get install chromium)")
	}
	for _, r := range runs {
		if err := exportRun(r, *out, browser, stdout); err != nil {
			return err
		}
	}
	return nil
}

// exportRun writes a run's charts as HTML pages (and PNG screenshots when a browser is
// available) and the numbers behind them as CSV.
func exportRun(r loadedRun, out, browser string, stdout io.Writer) error {
	name := filepath.Base(r.dir.Path)
	stats := &workbench.Stats{Targets: r.summary.Targets, History: r.summary.History}
	pages := map[string]string{"loss": charts.Snippet(charts.Loss(stats))}
	for i, c := range charts.WinRates(stats) {
		pages["winrate-"+stats.Targets[i].Name] = charts.Snippet(c)
	}
	for i, c := range charts.Similarities(stats) {
		pages["similarity-"+stats.Targets[i].Name] = charts.Snippet(c)
	}
	for i, c := range charts.WinRatesOverTime(stats) {
		pages["winrate-over-time-"+stats.Targets[i].Name] = charts.Snippet(c)
	}
	for chart, body := range pages {
		base := filepath.Join(out, name+"-"+safeName(chart))
		if err := os.WriteFile(base+".html", []byte(charts.Page(name+" "+chart, body)), 0o644); err != nil {
			return err
		}
		if browser != "" {
			if err := screenshot(browser, base+".html", base+".png"); err != nil {
				return fmt.Errorf("%s.png: %w", base, err)
			}
		}
		fmt.Fprintf(stdout, "wrote %s.html%s\n", base, map[bool]string{true: " and .png"}[browser != ""])
	}
	return writeCSVs(filepath.Join(out, name), stats)
}

func writeCSVs(base string, stats *workbench.Stats) error {
	var rows [][]string
	rows = append(rows, []string{"target", "select", "windows", "feature", "frames", "share", "similarity_mean", "similarity_last"})
	for _, t := range stats.Targets {
		for _, f := range t.Features {
			rows = append(rows, []string{t.Name, t.Select, fmt.Sprint(t.Windows), f.Label, fmt.Sprint(f.Frames),
				fmt.Sprint(f.Share), fmt.Sprint(f.SimilarityMean), fmt.Sprint(f.SimilarityLast)})
		}
	}
	if err := writeCSV(base+"-winrates.csv", rows); err != nil {
		return err
	}
	history := [][]string{{"step", "loss", "target", "feature", "similarity"}}
	for _, h := range stats.History {
		for _, t := range stats.Targets {
			for j, s := range h.Similarities[t.Name] {
				history = append(history, []string{fmt.Sprint(h.Step), fmt.Sprint(h.Loss), t.Name, t.Features[j].Label, fmt.Sprint(s)})
			}
		}
	}
	return writeCSV(base+"-history.csv", history)
}

func writeCSV(path string, rows [][]string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := csv.NewWriter(f)
	w.WriteAll(rows)
	return errors.Join(w.Error(), f.Close())
}

func safeName(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '/' || r == ' ' || r == '\\' {
			return '_'
		}
		return r
	}, s)
}

func findChromium() string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// screenshot renders a page with headless Chromium, offline.
func screenshot(browser, page, png string) error {
	abs, err := filepath.Abs(page)
	if err != nil {
		return err
	}
	profile, err := os.MkdirTemp("", "clipwork-chromium-*")
	if err != nil {
		return err
	}
	defer os.RemoveAll(profile)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, browser, "--headless", "--no-sandbox", "--disable-gpu",
		"--disable-background-networking", "--disable-component-update", "--no-first-run", "--disable-sync",
		"--user-data-dir="+profile, "--virtual-time-budget=3000", "--hide-scrollbars",
		"--screenshot="+png, "--window-size=900,400", "file://"+abs)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%v: %s", err, out)
	}
	return nil
}
