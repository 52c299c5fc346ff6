// Command clipwork is the command line of the clipwork workbench for CLIP-guided image generation.
//
//	clipwork embed [--model M] [--text T]... [--image FILE]... [--json]
//
// Run "clipwork help" for every command.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

// command is one subcommand of clipwork.
type command struct {
	name, usage, summary string
	run                  func(args []string, stdout io.Writer) error
}

var commands = []command{
	{"run", "FILE.yaml... [--steps N] [--resolution R] [--seed S] [--model M] [--set key=value]... [--out DIR|URL] | --resume DIR|URL",
		"render an experiment; writes a run folder with image.png, snapshots, config.yaml and stats.json", runRun},
	{"bench", "[--model M] [--windows N] [--steps N] [--resolution R] [--json]",
		"time whole optimisation steps: windows/s, ms per step, compile time, peak memory", runBench},
	{"check", "FILE.yaml...", "validate experiment files without running them (merged as run merges them; --each: one by one)", runCheck},
	{"sweep", "FILE.yaml... [--vary KEY=V1,V2,...|KEY=A..B]... [--zip] [--set key=value]... [--steps N] [--out DIR] [--name NAME] [-j N] [--index I] | --k8s-job NAME --image IMG [--gpus N] [--parallelism P] | --slurm",
		"run an experiment over the grid (or zip) of varied values (the files' sweep: and --vary), one run folder per variant, up to N at once, resumable; or print a Kubernetes Job or sbatch script that runs one variant per task", runSweep},
	{"runs", "[DIR] [--out DIR] [--chart KEY [--metric M]]", "list the runs in a results folder; a sweep folder's variants in one table, and a chart of a metric over a varied key (DIR may be a store: s3://bucket/prefix, file:///folder)", runRuns},
	{"compare", "RUN... [--html FILE]", "compare runs (folders, or in stores: s3://..., file://...): status, speed, win rates, settings that differ; an HTML report", runCompare},
	{"export", "charts RUN... [--out DIR]", "write each run's charts as SVG and HTML (PNG too with Chromium) and their numbers as CSV", runExport},
	{"embed", "[--model M] [--text T]... [--image FILE]... [--json]",
		"embed texts and images with a CLIP model; print tokens, embeddings and similarities", runEmbed},
	{"eval-default", "[--model M] [--scenes N] [--attack N] [--paint [--seed S] [--seeds N]]",
		"zero-shot accuracy of the default model on held-out scenes (colour, shape, count, position), under attack, and what plain experiments paint", runEvalDefault},
	{"train-default", "--out DIR [--steps N] [--batch B] [--lr LR] [--decay-steps D] [--init-from MODEL [--freeze-vision]] [--export [--average N]]",
		"train the embedded default model on generated scenes (resumes from DIR's checkpoints)", runTrainDefault},
	{"robustify", "--model M --out DIR [--loss fare|tecoa] [--steps N] [--batch B] [--lr LR] [--decay-steps D] [--radius R] [--pgd-steps K] [--step-size S] [--clean-weight W] [--clean-ce-weight W] [--noise N] [--export]",
		"adversarially robust (FARE or TeCoA) fine-tuning of a CLIP's vision tower; writes a HuggingFace folder DIR/model", runRobustify},
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(stdout)
		return 0
	}
	for _, c := range commands {
		if c.name == args[0] {
			err := c.run(args[1:], stdout)
			if errors.Is(err, flag.ErrHelp) {
				return 0
			}
			if errors.Is(err, errInterrupted) { // said already, with how to go on
				return 130
			}
			if err != nil {
				fmt.Fprintf(stderr, "clipwork %s: %v\n", c.name, err)
				return 1
			}
			return 0
		}
	}
	fmt.Fprintf(stderr, "clipwork: unknown command %q\n\n", args[0])
	usage(stderr)
	return 2
}

// errInterrupted is a command stopped by Ctrl-C or SIGTERM after saving what it had (a
// context.Canceled): its exit status is 130, as a shell's for an interrupted command, with no
// error printed.
var errInterrupted = fmt.Errorf("interrupted: %w", context.Canceled)

func usage(w io.Writer) {
	fmt.Fprintln(w, "clipwork: a workbench for CLIP-guided image generation\n\nCommands:")
	for _, c := range commands {
		fmt.Fprintf(w, "  clipwork %s %s\n      %s\n", c.name, c.usage, c.summary)
	}
}

// newFlags makes a flag set for a subcommand that reports errors instead of exiting.
func newFlags(name string, stdout io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("clipwork "+name, flag.ContinueOnError)
	fs.SetOutput(stdout)
	return fs
}

// repeated is a flag that may be given several times.
type repeated []string

func (r *repeated) String() string     { return strings.Join(*r, ", ") }
func (r *repeated) Set(v string) error { *r = append(*r, v); return nil }

// givenFlags is the set of the flags given on the command line (not left at their defaults).
func givenFlags(fs *flag.FlagSet) map[string]bool {
	given := map[string]bool{}
	fs.Visit(func(fl *flag.Flag) { given[fl.Name] = true })
	return given
}

// parseFlagsOnly parses the flags of a command that takes no positional arguments, refusing
// any: the flag package stops at the first one, silently ignoring the flags after it.
func parseFlagsOnly(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q: %s takes only flags (see -h)", fs.Arg(0), fs.Name())
	}
	return nil
}

// parseInterleaved parses flags that may come before, between or after positional arguments,
// and returns the positional ones.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return positional, nil
		}
		positional = append(positional, fs.Arg(0))
		args = fs.Args()[1:]
	}
}
