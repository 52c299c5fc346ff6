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

	"github.com/clipwork/clipwork/clipmodel"
	"github.com/clipwork/clipwork/clipmodel/defaultmodel"
	"github.com/clipwork/clipwork/workbench"
	"github.com/clipwork/clipwork/workbench/charts"
	"github.com/clipwork/clipwork/workbench/expfile"
	"github.com/clipwork/clipwork/workbench/runstore"
	"github.com/clipwork/clipwork/workbench/store"
	"github.com/clipwork/clipwork/workbench/sweep"
	"github.com/clipwork/clipwork/workbench/sweepview"
)

// runCheck validates experiment files without running them: the files merge into one
// experiment, with run's overriding flags (--model, --steps, --set, ...), exactly as clipwork run
// reads them; with --each, every file is one experiment.
func runCheck(args []string, stdout io.Writer) error {
	fs := newFlags("check", stdout)
	each := fs.Bool("each", false, "check every file as an experiment of its own")
	var f runFlags
	f.experimentFlags(fs)
	files, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if _, err := f.given(fs); err != nil {
		return err
	}
	if len(files) == 0 {
		return errors.New("give the experiment files to check")
	}
	groups := [][]string{files}
	if *each {
		groups = nil
		for _, f := range files {
			groups = append(groups, []string{f})
		}
	}
	var errs []error
	printed := notesPrinted{}
	for _, group := range groups {
		if err := checkFiles(group, f.overrides(), printed, stdout); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// checkFiles loads and resolves one experiment as clipwork run does, and prints its summary and
// notes, those printed before in short.
func checkFiles(files []string, settings []expfile.Setting, printed notesPrinted, stdout io.Writer) error {
	name := strings.Join(files, " + ")
	f, err := expfile.LoadSettings(files, settings)
	if err != nil {
		return err
	}
	if err := f.Experiment.Resolve(); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if configs, inputs, ok := modelConfigs(f.Experiment); ok {
		if err := workbench.CheckWindowsFit(f.Experiment, inputs...); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		if err := workbench.CheckMemory(f.Experiment, configs, false); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		f.Notes = append(f.Notes, cutTextNotes(f.Experiment, modelTokenizers(f.Experiment, configs))...)
	} else {
		f.Notes = append(f.Notes, fmt.Errorf("note: the windows' fit and the memory a run needs are checked against model %s when it runs",
			modelsName(f.Experiment)))
	}
	for _, m := range f.Experiment.Models() {
		if clipmodel.NeedsDownload(m.Name) {
			where := "the HuggingFace cache (" + clipmodel.HubCacheDir() + ")"
			if known, ok := clipmodel.OpenAIModels[m.Name]; ok {
				where = filepath.Join(clipmodel.OpenAICacheDir(), known.File) + " nor " + where
			}
			f.Notes = append(f.Notes, fmt.Errorf("note: model %s is not in %s: run downloads it, "+
				"which needs the network; --model default runs the file on the embedded model (which knows only coloured "+
				"shapes on plain backgrounds)", m.Name, where))
		}
	}
	fmt.Fprintf(stdout, "%s: ok (%d steps, %s, targets: %d)\n", name, f.Experiment.Steps,
		sizes(f.Experiment), len(f.Experiment.Targets))
	if f.Sweep != nil {
		variants, err := sweep.Expand(f.Sweep.Axes, f.Sweep.Zip)
		if err != nil {
			return fmt.Errorf("%s: %w", f.Sweep.Position, err)
		}
		fmt.Fprintf(stdout, "  sweep: %d variants of %s (clipwork sweep runs them; this checks the file without their values)\n",
			len(variants), strings.Join(sweep.Keys(f.Sweep.Axes), ", "))
	}
	for _, note := range f.Notes {
		fmt.Fprintf(stdout, "  %s\n", printed.shown(note, name))
	}
	return nil
}

// notesPrinted maps the notes that check has printed, by their message without its position,
// to the experiment they were printed for.
type notesPrinted map[string]string

// shown is note as printed for experiment name: whole the first time, after that short and
// naming the experiment it was printed for.
func (p notesPrinted) shown(note error, name string) string {
	message := note.Error()
	var located *expfile.Error
	if errors.As(note, &located) {
		message = located.Message
	}
	if first, ok := p[message]; ok {
		at := strings.TrimSuffix(note.Error(), message) // the position, where the note has one
		return fmt.Sprintf("%snote: as for %s: %s", at, first, charts.Shorten(strings.TrimPrefix(message, "note: "), 60))
	}
	p[message] = name
	return note.Error()
}

// modelConfigs are the architectures and input sides of the experiment's models, where check
// can know every one without loading weights (see modelConfig).
func modelConfigs(exp workbench.Experiment) ([]*clipmodel.Config, []int, bool) {
	var configs []*clipmodel.Config
	var inputs []int
	for _, c := range exp.Models() {
		cfg, ok := modelConfig(c.Name)
		if !ok {
			return nil, nil, false
		}
		configs, inputs = append(configs, cfg), append(inputs, cfg.Vision.ImageSize)
	}
	return configs, inputs, true
}

// modelsName names the experiment's model, or its ensemble's models joined by " + ".
func modelsName(exp workbench.Experiment) string {
	var names []string
	for _, c := range exp.Models() {
		names = append(names, c.Name)
	}
	return strings.Join(names, " + ")
}

// modelTokenizers are the tokenizers of the experiment's models (of architectures configs) that
// check can know without loading weights: a random architecture's, the embedded model's, a
// folder's own, and else CLIP's standard one at the architecture's context.
func modelTokenizers(exp workbench.Experiment, configs []*clipmodel.Config) []*clipmodel.Tokenizer {
	var tokenizers []*clipmodel.Tokenizer
	for i, m := range exp.Models() {
		var tok *clipmodel.Tokenizer
		var err error
		switch context := configs[i].Text.MaxPositionEmbeddings; {
		case strings.HasPrefix(m.Name, clipmodel.RandomPrefix):
			tok = clipmodel.ByteTokenizer(configs[i])
		case m.Name == "" || m.Name == clipmodel.DefaultName:
			tok, err = defaultmodel.Tokenizer()
		default:
			if tok, err = clipmodel.LoadTokenizer(m.Name, context); err != nil {
				tok, err = clipmodel.StandardTokenizer(context)
			}
		}
		if err == nil {
			tokenizers = append(tokenizers, tok)
		}
	}
	return tokenizers
}

// modelConfig is the architecture of a model that check can know without loading its weights:
// the embedded default, a random architecture, a local folder's config, or the architecture an
// OpenAI name or hub id stands for.
func modelConfig(name string) (*clipmodel.Config, bool) {
	var cfg *clipmodel.Config
	var err error
	if arch, ok := strings.CutPrefix(name, clipmodel.RandomPrefix); ok {
		cfg, err = clipmodel.ArchitectureConfig(arch)
	} else if name == "" || name == clipmodel.DefaultName {
		cfg, err = defaultmodel.Config()
	} else if cfg, err = clipmodel.ReadConfig(name); err != nil {
		if arch, ok := clipmodel.KnownArchitecture(name); ok {
			cfg, err = clipmodel.ArchitectureConfig(arch)
		}
	}
	return cfg, err == nil
}

// runRuns lists the runs in a results folder, or a store's (a local copy of it).
func runRuns(args []string, stdout io.Writer) error {
	fs := newFlags("runs", stdout)
	out := fs.String("out", "results", "the results folder, or a store: s3://bucket/prefix, file:///folder")
	chart := fs.String("chart", "", "of a sweep folder: also write a chart of --metric over this varied key")
	metric := fs.String("metric", "similarity", "what --chart shows: similarity, winrate or loss, with :TARGET[:FEATURE] (default: the first target's first positive feature)")
	folders, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	switch len(folders) {
	case 0:
	case 1:
		*out = folders[0]
	default:
		return errors.New("give one folder: a results folder or a sweep folder")
	}
	root, remove, err := store.LocalCopy(context.Background(), *out, runstore.StateFile)
	if err != nil {
		return err
	}
	defer remove()
	if info, err := os.Stat(root); err == nil && !info.IsDir() {
		return fmt.Errorf("%s is a file: give a results folder or a sweep folder", *out)
	}
	if view, err := sweepview.Read(root); err == nil {
		chartDir := view.Dir
		if store.IsURL(*out) {
			chartDir = "." // the copy of a store's sweep is removed on return
		}
		return showSweep(view, *chart, *metric, chartDir, stdout)
	} else if !errors.Is(err, os.ErrNotExist) {
		return store.ShownError(err, root, *out)
	} else if *chart != "" {
		return fmt.Errorf("--chart: %s holds no sweep (no %s)", *out, sweep.ManifestFile)
	}
	dirs, err := runsIn(root)
	if err != nil {
		return store.ShownError(err, root, *out)
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	if len(dirs) > 0 {
		fmt.Fprintln(tw, "run\tdate\tstatus\tmodel\tsteps\ttop win rates")
	}
	for _, d := range dirs {
		s, err := d.ReadSummary()
		if err != nil {
			fmt.Fprintf(tw, "%s\t\tunreadable: %s\n", workbench.Printable(filepath.Base(d.Path)), workbench.Printable(err.Error()))
			continue
		}
		var top []string
		for _, t := range s.Targets {
			if best := t.Best(); best >= 0 {
				rate, _ := t.WinRate(best)
				top = append(top, fmt.Sprintf("%s: %s %.0f%%", workbench.Printable(t.Name), workbench.Printable(t.Features[best].Label), 100*rate))
			} else {
				summary := t.Summary()
				if summary == "" {
					summary = "no wins yet"
				}
				top = append(top, workbench.Printable(t.Name)+": "+summary)
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d/%d\t%s\n", workbench.Printable(filepath.Base(d.Path)), s.Started.Format("2006-01-02 15:04"),
			workbench.Printable(d.DisplayStatus(s)), workbench.Printable(s.Model), s.StepsDone, s.Steps, strings.Join(top, "; "))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	sweeps, err := listSweeps(root, *out, stdout)
	if err == nil && len(dirs)+sweeps == 0 {
		fmt.Fprintf(stdout, "no runs or sweeps in %s\n", workbench.Printable(*out))
	}
	return err
}

// runsIn are the run folders in root, newest first, or root itself when it is one.
func runsIn(root string) ([]*runstore.Dir, error) {
	if _, err := os.Stat(filepath.Join(root, runstore.StatsFile)); err == nil {
		return []*runstore.Dir{{Path: root}}, nil
	}
	return runstore.List(root)
}
