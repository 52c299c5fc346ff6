package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/clipwork/clipwork/workbench/report"
	"github.com/clipwork/clipwork/workbench/runstore"
)

func runCompare(args []string, stdout io.Writer) error {
	fs := newFlags("compare", stdout)
	htmlOut := fs.String("html", "", "also write an HTML report with the images and charts to this file")
	paths, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	runs, err := report.Load(paths)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "run\tstatus\tmodel\tsteps\tseconds\twindows/s\twin rates")
	for _, r := range runs {
		s := r.Summary
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d/%d\t%.1f\t%.2f\t%s\n", r.Dir.Path, s.Status, s.Model, s.StepsDone, s.Steps,
			s.Seconds, s.WindowsPerSecond, winRateSummary(s))
	}
	tw.Flush()
	if diff := report.DifferingSettings(runs); len(diff) > 0 {
		fmt.Fprintln(stdout, "\nsettings that differ:")
		tw = tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		for _, k := range diff {
			fmt.Fprintf(tw, "  %s", k)
			for _, r := range runs {
				fmt.Fprintf(tw, "\t%s", r.Config[k])
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
	runs, err := report.Load(paths)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return err
	}
	browser := report.FindChromium()
	if browser == "" {
		fmt.Fprintln(stdout, "no Chromium found: writing HTML and CSV only (for PNGs: apt-get install chromium)")
	}
	for _, r := range runs {
		if err := report.Export(r, *out, browser, stdout); err != nil {
			return err
		}
	}
	return nil
}
