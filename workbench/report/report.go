// Package report compares stored runs and exports their charts: the code behind clipwork
// compare and clipwork export charts, and the notebooks' comparisons of results folders.
package report

import (
	"context"
	"encoding/base64"
	"encoding/csv"
	"errors"
	"fmt"
	"hash/fnv"
	"html"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/clipwork/clipwork/workbench"
	"github.com/clipwork/clipwork/workbench/charts"
	"github.com/clipwork/clipwork/workbench/runstore"
	"github.com/clipwork/clipwork/workbench/sweep"
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
	return r.Summary.Stats()
}

// RefuseSweeps says which of locations (read from dirs, their local copies) is a sweep folder
// rather than a run, and how to show it.
func RefuseSweeps(dirs, locations []string) error {
	for i, dir := range dirs {
		if _, err := os.Stat(filepath.Join(dir, sweep.ManifestFile)); err == nil {
			return fmt.Errorf("%s is a sweep folder, not a run: show it with clipwork runs %s, or give its variants' folders", locations[i], locations[i])
		}
	}
	return nil
}

// Load reads run folders: summaries and resolved configs.
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

// flatten maps every scalar of a YAML tree to its dotted key path. List items that have a name
// (targets) or a label (features) are keyed by it, so paths read targets.details.select.
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
			flatten(c, join(itemKey(c, i)), out)
		}
	default:
		out[prefix] = n.Value
	}
}

// itemKey is a list item's name or label, else its index.
func itemKey(n *yaml.Node, i int) string {
	if n.Kind == yaml.MappingNode {
		for _, key := range []string{"name", "label"} {
			for j := 0; j+1 < len(n.Content); j += 2 {
				if n.Content[j].Value == key && n.Content[j+1].Value != "" {
					return n.Content[j+1].Value
				}
			}
		}
	}
	return fmt.Sprint(i)
}

// DifferingSettings lists the settings whose values are not the same in all runs. Where a
// whole part (a target, a feature) is missing from some runs, the part is listed once instead
// of each of its resolved defaults.
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
			if Setting(r, k) != Setting(runs[0], k) {
				if k = missingPart(runs, k); !slices.Contains(out, k) {
					out = append(out, k)
				}
				break
			}
		}
	}
	slices.Sort(out)
	return out
}

// missingPart is the shortest prefix of key that some run lacks entirely, or key itself.
func missingPart(runs []Run, key string) string {
	parts := strings.Split(key, ".")
	for i := 1; i < len(parts); i++ {
		prefix := strings.Join(parts[:i], ".")
		for _, r := range runs {
			if Setting(r, prefix) == absent {
				return prefix
			}
		}
	}
	return key
}

// absent is what Setting says for a setting a run does not have.
const absent = "-"

// Setting is a run's value of a setting, "(set)" for a part of the config holding settings
// (such as a target), or "-" where the run lacks it.
func Setting(r Run, key string) string {
	if v, ok := r.Config[key]; ok {
		return v
	}
	for k := range r.Config {
		if strings.HasPrefix(k, key+".") {
			return "(set)"
		}
	}
	return absent
}

// Name is the name to show for a run: its folder's name.
func (r Run) Name() string {
	return filepath.Base(r.Dir.Path)
}

// StatusHeader names the columns of StatusRows.
var StatusHeader = []string{"run", "status", "model", "steps", "seconds", "windows/s", "win rates"}

// StatusRows are each run's status and speed as clipwork compare prints them, made printable
// (see workbench.Printable): one row per run, one cell per column of StatusHeader.
func StatusRows(runs []Run) [][]string {
	var rows [][]string
	for _, r := range runs {
		s := r.Summary
		rows = append(rows, []string{workbench.Printable(r.Name()), workbench.Printable(r.Dir.DisplayStatus(s)),
			workbench.Printable(s.Model), fmt.Sprintf("%d/%d", s.StepsDone, s.Steps),
			fmt.Sprintf("%.1f", s.Seconds), fmt.Sprintf("%.2f", s.WindowsPerSecond), winRateSummary(s)})
	}
	return rows
}

// winRateSummary is every target's win rates (see workbench.TargetStats.WinRate), or what
// stands instead where a target has none.
func winRateSummary(s *runstore.Summary) string {
	var parts []string
	for _, t := range s.Targets {
		var fs []string
		for j, f := range t.Features {
			if rate, ok := t.WinRate(j); ok {
				fs = append(fs, fmt.Sprintf("%s %.0f%%", workbench.Printable(f.Label), 100*rate))
			}
		}
		if summary := t.Summary(); summary != "" {
			fs = []string{summary}
		}
		parts = append(parts, workbench.Printable(t.Name)+": "+strings.Join(fs, ", "))
	}
	return strings.Join(parts, "; ")
}

// StatusTable is StatusRows as an HTML table.
func StatusTable(runs []Run) string {
	return HTMLTable(StatusHeader, StatusRows(runs))
}

// HTMLTable is an HTML table of a header row and rows of text cells, every cell escaped.
func HTMLTable(header []string, rows [][]string) string {
	var b strings.Builder
	b.WriteString(`<table style="border-collapse:collapse;margin-bottom:16px" cellpadding="3"><tr>`)
	for _, h := range header {
		fmt.Fprintf(&b, `<th align="left">%s</th>`, html.EscapeString(h))
	}
	b.WriteString("</tr>")
	for _, row := range rows {
		b.WriteString("<tr>")
		for _, cell := range row {
			fmt.Fprintf(&b, "<td>%s</td>", html.EscapeString(cell))
		}
		b.WriteString("</tr>")
	}
	b.WriteString("</table>")
	return b.String()
}

// SettingsTable is an HTML table of the settings that differ between runs, one column per run.
func SettingsTable(runs []Run) string {
	diff := DifferingSettings(runs)
	if len(diff) == 0 {
		return "<p>No settings differ.</p>"
	}
	header := []string{"setting that differs"}
	for _, r := range runs {
		header = append(header, r.Name())
	}
	var rows [][]string
	for _, k := range diff {
		row := []string{k}
		for _, r := range runs {
			row = append(row, Setting(r, k))
		}
		rows = append(rows, row)
	}
	return HTMLTable(header, rows)
}

// Labels name runs in comparisons: each by its folder's name and, where one or two settings
// differ between them, those settings' values (refined-1: seed=2), so that two runs of one
// recipe read apart.
func Labels(runs []Run) []string {
	diff := slices.DeleteFunc(DifferingSettings(runs), func(k string) bool { return k == "name" }) // the folder says it
	labels := make([]string, len(runs))
	for i, r := range runs {
		labels[i] = r.Name()
		if len(diff) == 0 || len(diff) > 2 {
			continue
		}
		var values []string
		for _, k := range diff {
			values = append(values, k+"="+Setting(r, k))
		}
		labels[i] += ": " + strings.Join(values, " ")
	}
	return labels
}

// Images is an HTML row of the runs' final images with their labels, upscaled without blurring.
func Images(runs []Run) (string, error) {
	var b strings.Builder
	b.WriteString(`<div style="display:flex;flex-wrap:wrap;gap:12px">`)
	labels := Labels(runs)
	for i, r := range runs {
		png, err := os.ReadFile(filepath.Join(r.Dir.Path, runstore.ImageFile))
		if err != nil {
			return "", err
		}
		fmt.Fprintf(&b, `<figure style="margin:0"><img src="data:image/png;base64,%s" width="256" `+
			`style="image-rendering:pixelated"><figcaption>%s</figcaption></figure>`,
			base64.StdEncoding.EncodeToString(png), html.EscapeString(labels[i]))
	}
	b.WriteString("</div>")
	return b.String(), nil
}

// CompareCharts are the grouped win-rate (or similarity) charts of runs, one per target name,
// the runs named by their Labels.
func CompareCharts(runs []Run) []charts.Chart {
	var named []charts.NamedStats
	for i, label := range Labels(runs) {
		named = append(named, charts.NamedStats{Name: label, Stats: runs[i].Stats()})
	}
	return charts.Compare(named)
}

// HTML is a standalone page comparing runs: their images, their status and speed, the settings
// that differ and the grouped charts.
func HTML(runs []Run) (string, error) {
	images, err := Images(runs)
	if err != nil {
		return "", err
	}
	cs := CompareCharts(runs)
	svg, err := charts.GridSVG(cs)
	if err != nil {
		return "", err
	}
	grid, err := charts.GridHTML(cs, svg)
	if err != nil {
		return "", err
	}
	return charts.Page("clipwork runs", "<h1>clipwork runs</h1>", images, StatusTable(runs), SettingsTable(runs), grid), nil
}

// Export writes each of a run's charts as an SVG image (drawn without a browser) and an HTML
// page, PNG screenshots too when a browser is given, and the numbers behind them as CSV.
func Export(r Run, out, browser string, stdout io.Writer) error {
	name := r.Name()
	for _, c := range charts.Run(r.Stats()) {
		base := filepath.Join(out, safeName(name)+"-"+safeName(c.Name))
		svg, err := c.SVG()
		if err != nil {
			return err
		}
		if err := os.WriteFile(base+".svg", []byte(svg), 0o644); err != nil {
			return err
		}
		grid, err := charts.GridHTML([]charts.Chart{c}, svg)
		if err != nil {
			return err
		}
		if err := os.WriteFile(base+".html", []byte(charts.Page(name+" "+c.Name, grid)), 0o644); err != nil {
			return err
		}
		written := base + ".svg and .html"
		if browser != "" {
			if err := Screenshot(browser, base+".svg", base+".png", charts.Width, charts.Height); err != nil {
				return fmt.Errorf("%s.png: %w", base, err)
			}
			if info, err := os.Stat(base + ".png"); err == nil && info.Size() > 0 {
				written += " and .png"
			} else {
				written += " (the browser wrote no .png)"
			}
		}
		fmt.Fprintf(stdout, "wrote %s\n", written)
	}
	files, err := writeCSVs(filepath.Join(out, safeName(name)), r.Stats())
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s\n", strings.Join(files, " and "))
	return nil
}

// writeCSVs writes a run's win rates and step history as CSV files named from base, and returns
// their names.
func writeCSVs(base string, stats *workbench.Stats) ([]string, error) {
	var rows [][]string
	rows = append(rows, []string{"target", "select", "windows", "feature", "negative", "frames", "win_rate",
		"similarity_mean", "similarity_last"})
	for _, t := range stats.Targets {
		for j, f := range t.Features {
			winRate := "" // none: a negative feature, or every feature applied in every window
			if rate, ok := t.WinRate(j); ok {
				winRate = fmt.Sprint(rate)
			}
			rows = append(rows, []string{t.Name, t.Select, fmt.Sprint(t.Windows), f.Label, fmt.Sprint(f.Negative),
				fmt.Sprint(f.Frames), winRate, fmt.Sprint(f.SimilarityMean), fmt.Sprint(f.SimilarityLast)})
		}
	}
	files := []string{base + "-winrates.csv", base + "-history.csv"}
	if err := writeCSV(files[0], rows); err != nil {
		return nil, err
	}
	history := [][]string{{"step", "loss", "target", "feature", "similarity"}}
	for _, h := range stats.History {
		for _, t := range stats.Targets {
			for j, s := range h.Similarities[t.Name] {
				history = append(history, []string{fmt.Sprint(h.Step), fmt.Sprint(h.Loss), t.Name, t.Features[j].Label, fmt.Sprint(s)})
			}
		}
	}
	return files, writeCSV(files[1], history)
}

func writeCSV(path string, rows [][]string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := csv.NewWriter(f)
	for _, row := range rows {
		for i, cell := range row {
			row[i] = spreadsheetSafe(cell)
		}
	}
	w.WriteAll(rows)
	return errors.Join(w.Error(), f.Close())
}

// spreadsheetSafe is a CSV cell a spreadsheet will not run as a formula: one starting with =, +,
// -, @, a tab or a carriage return gets a leading single quote (OWASP's CSV injection advice).
// Numbers, negative ones included, are left as they are.
func spreadsheetSafe(cell string) string {
	if cell == "" || !strings.ContainsRune("=+-@\t\r", rune(cell[0])) {
		return cell
	}
	if _, err := strconv.ParseFloat(cell, 64); err == nil {
		return cell
	}
	return "'" + cell
}

// safeName is s as a file name: ASCII letters, digits, '-', '_' and '.', anything else '_', and,
// where it changed s, a hash of s so that different names stay apart.
func safeName(s string) string {
	slug := strings.Map(func(r rune) rune {
		if r < 0x80 && (unicode.IsLetter(r) || unicode.IsDigit(r)) || r == '-' || r == '_' || r == '.' {
			return r
		}
		return '_'
	}, s)
	if len(slug) > 80 {
		slug = slug[:80]
	}
	if slug != s || strings.Trim(s, ".") == "" {
		h := fnv.New32a()
		h.Write([]byte(s))
		slug = fmt.Sprintf("%s-%08x", slug, h.Sum32())
	}
	return slug
}

// FindChromium is the path of a Chromium or Chrome on PATH, or "" where there is none.
func FindChromium() string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// Screenshot renders a page (or an SVG image) width x height with headless Chromium, offline.
func Screenshot(browser, page, png string, width, height int) error {
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
		"--screenshot="+png, fmt.Sprintf("--window-size=%d,%d", width, height), (&url.URL{Scheme: "file", Path: abs}).String())
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%v: %s", err, out)
	}
	return nil
}
