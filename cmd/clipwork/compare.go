package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/clipwork/clipwork/workbench"
	"github.com/clipwork/clipwork/workbench/report"
	"github.com/clipwork/clipwork/workbench/runstore"
	"github.com/clipwork/clipwork/workbench/store"
)

func runCompare(args []string, stdout io.Writer) error {
	fs := newFlags("compare", stdout)
	htmlOut := fs.String("html", "", "also write an HTML report with the images and charts to this file")
	locations, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if err := checkLocalOut("html", *htmlOut); err != nil {
		return err
	}
	if err := checkReportFile(*htmlOut); err != nil {
		return err
	}
	runs, remove, err := loadRuns(locations)
	if err != nil {
		return err
	}
	defer remove()
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(report.StatusHeader, "\t"))
	for _, row := range report.StatusRows(runs) {
		fmt.Fprintln(tw, strings.Join(row, "\t"))
	}
	tw.Flush()
	if diff := report.DifferingSettings(runs); len(diff) > 0 {
		fmt.Fprintln(stdout, "\nsettings that differ:")
		tw = tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprint(tw, "  setting")
		for _, r := range runs {
			fmt.Fprintf(tw, "\t%s", workbench.Printable(r.Name()))
		}
		fmt.Fprintln(tw)
		for _, k := range diff {
			fmt.Fprintf(tw, "  %s", workbench.Printable(k))
			for _, r := range runs {
				fmt.Fprintf(tw, "\t%s", workbench.Printable(report.Setting(r, k)))
			}
			fmt.Fprintln(tw)
		}
		tw.Flush()
	}
	if *htmlOut == "" {
		return nil
	}
	page, err := report.HTML(runs)
	if err != nil {
		return err
	}
	if err := os.WriteFile(*htmlOut, []byte(page), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\nreport: %s\n", *htmlOut)
	return nil
}

// checkLocalOut refuses a store URL (or one with a slash missing) as the local file or folder
// that the flag name writes.
func checkLocalOut(name, path string) error {
	if store.IsURL(path) {
		return fmt.Errorf("--%s %s: this writes a local file or folder, not into a store: write it here and copy it there", name, path)
	}
	if err := store.CheckFolder(path); err != nil {
		return fmt.Errorf("--%s: %w", name, err)
	}
	return nil
}

// refuseSharedNames refuses runs whose files in one --out folder would have the same names
// (runs of one name in different folders), where the later would replace the earlier.
func refuseSharedNames(runs []report.Run, locations []string) error {
	seen := map[string]int{}
	for i, r := range runs {
		if j, ok := seen[r.Name()]; ok {
			return fmt.Errorf("%s and %s are both named %s, so their charts would replace each other in one --out folder: "+
				"export them to different folders", locations[j], locations[i], r.Name())
		}
		seen[r.Name()] = i
	}
	return nil
}

// checkReportFile refuses a report file that would replace a run's own files: one in a run
// folder, or an existing file that is not an HTML page.
func checkReportFile(path string) error {
	if path == "" {
		return nil
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(path), runstore.StateFile)); err == nil {
		return fmt.Errorf("--html %s: %s is a run folder; write the report elsewhere", path, filepath.Dir(path))
	}
	if info, err := os.Stat(path); err == nil && (info.IsDir() || !strings.EqualFold(filepath.Ext(path), ".html")) {
		return fmt.Errorf("--html %s: the file exists and is no .html page; name another", path)
	}
	return nil
}

// loadRuns loads the runs in folders or stores (s3://..., file://..., read through local copies
// that remove deletes).
func loadRuns(locations []string) (runs []report.Run, remove func(), err error) {
	dirs, remove, err := store.LocalCopies(context.Background(), locations, runstore.StateFile)
	if err != nil {
		return nil, nil, err
	}
	if err := report.RefuseSweeps(dirs, locations); err != nil {
		remove()
		return nil, nil, err
	}
	if runs, err = report.Load(dirs); err != nil {
		remove()
		return nil, nil, err
	}
	return runs, remove, nil
}

func runExport(args []string, stdout io.Writer) error {
	if len(args) == 0 || args[0] != "charts" {
		return errors.New("usage: clipwork export charts RUN... [--out DIR]")
	}
	fs := newFlags("export charts", stdout)
	out := fs.String("out", "", "folder for the SVG, HTML, PNG and CSV files (default: RUN/charts beside each run)")
	locations, err := parseInterleaved(fs, args[1:])
	if err != nil {
		return err
	}
	if *out != "" {
		if err := checkLocalOut("out", *out); err != nil {
			return err
		}
	}
	runs, remove, err := loadRuns(locations)
	if err != nil {
		return err
	}
	defer remove()
	folders, err := chartFolders(locations, *out)
	if err != nil {
		return err
	}
	if *out != "" {
		if err := refuseSharedNames(runs, locations); err != nil {
			return err
		}
	}
	browser := report.FindChromium()
	if browser == "" {
		fmt.Fprintln(stdout, "no Chromium found: writing SVG, HTML and CSV (for PNGs too: apt-get install chromium)")
	}
	for i, r := range runs {
		if err := os.MkdirAll(folders[i], 0o755); err != nil {
			return err
		}
		if err := report.Export(r, folders[i], browser, stdout); err != nil {
			return err
		}
	}
	return nil
}

// chartFolders is where export writes each run's charts: out for all of them, or without it a
// charts folder inside each local run (a run in a store needs --out).
func chartFolders(locations []string, out string) ([]string, error) {
	folders := make([]string, len(locations))
	for i, location := range locations {
		switch {
		case out != "":
			folders[i] = out
		case store.IsURL(location):
			return nil, fmt.Errorf("%s is in a store: name a local folder for its charts with --out DIR", location)
		default:
			folders[i] = filepath.Join(location, "charts")
		}
	}
	return folders, nil
}
