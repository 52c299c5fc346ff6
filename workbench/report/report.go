// Package report compares stored runs and exports their charts: the code behind clipwork
// compare and clipwork export charts, and the notebooks' comparisons of results folders.
package report

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
	"time"

	"github.com/clipwork/clipwork/workbench"
	"github.com/clipwork/clipwork/workbench/charts"
	"github.com/clipwork/clipwork/workbench/runstore"
	"go.yaml.in/yaml/v3"
)

// Run is a run folder with its summary and resolved config.
type Run struct {
	Dir     *runstore.Dir
	Summary *runstore.Summary
	// Config is config.yaml flattened: key path -> value.
	Config map[string]string
}

// Stats are the run's statistics as its summary holds them.
func (r Run) Stats() *workbench.Stats {
	return &workbench.Stats{Targets: r.Summary.Targets, History: r.Summary.History}
}

func Load(paths []string) ([]Run, error) {
	if len(paths) == 0 {
		return nil, errors.New("give one or more run folders, e.g. results/demo results/demo-1")
	}
	var runs []Run
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
		runs = append(runs, Run{dir, s, flat})
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

// DifferingSettings lists the config keys whose values are not the same in all runs.
func DifferingSettings(runs []Run) []string {
	keys := map[string]bool{}
	for _, r := range runs {
		for k := range r.Config {
			keys[k] = true
		}
	}
	var out []string
	for k := range keys {
		for _, r := range runs[1:] {
			if r.Config[k] != runs[0].Config[k] {
				out = append(out, k)
				break
			}
		}
	}
	slices.Sort(out)
	return out
}

// HTML is an HTML page with every run's image and the grouped win-rate charts.
func HTML(runs []Run) (string, error) {
	var images strings.Builder
	images.WriteString(`<div style="display:flex;flex-wrap:wrap;gap:12px">`)
	var named []charts.NamedStats
	for _, r := range runs {
		png, err := os.ReadFile(filepath.Join(r.Dir.Path, runstore.ImageFile))
		if err != nil {
			return "", err
		}
		fmt.Fprintf(&images, `<figure><img src="data:image/png;base64,%s" style="max-width:400px"><figcaption>%s</figcaption></figure>`,
			base64.StdEncoding.EncodeToString(png), html.EscapeString(r.Dir.Path))
		named = append(named, charts.NamedStats{Name: filepath.Base(r.Dir.Path),
			Stats: r.Stats()})
	}
	images.WriteString("</div>")
	body := []string{"<h1>clipwork runs</h1>", images.String()}
	for _, c := range charts.CompareWinRates(named) {
		body = append(body, charts.Snippet(c))
	}
	return charts.Page("clipwork runs", body...), nil
}

// Export writes a run's charts as HTML pages (and PNG screenshots when a browser is
// available) and the numbers behind them as CSV.
func Export(r Run, out, browser string, stdout io.Writer) error {
	name := filepath.Base(r.Dir.Path)
	stats := r.Stats()
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
			if err := Screenshot(browser, base+".html", base+".png"); err != nil {
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

func FindChromium() string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// Screenshot renders a page with headless Chromium, offline.
func Screenshot(browser, page, png string) error {
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
