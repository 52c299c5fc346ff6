// Command clipwork is the command line of the clipwork workbench for CLIP-guided image generation.
//
//	clipwork embed --model M [--text T]... [--image FILE]... [--json]
//
// Run "clipwork help" for every command.
package main

import (
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
	{"embed", "--model M [--text T]... [--image FILE]... [--json]",
		"embed texts and images with a CLIP model; print tokens, embeddings and similarities", runEmbed},
	{"train-default", "--out DIR [--steps N] [--batch B]",
		"train the embedded default model on generated scenes (resumes from DIR's checkpoints)", runTrainDefault},
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
