package main

import (
	"context"
	"fmt"
	"io"

	"github.com/clipwork/clipwork/internal/stopsignal"

	"github.com/clipwork/clipwork/clipmodel"
	"github.com/clipwork/clipwork/clipmodel/defaultmodel"
)

func runEvalDefault(args []string, stdout io.Writer) error {
	fs := newFlags("eval-default", stdout)
	modelName := fs.String("model", "default", "the model to evaluate (a folder in the default model's family)")
	n := fs.Int("scenes", 200, "number of held-out scenes")
	attacked := fs.Int("attack", 0, "also classify the first N held-out scenes under a PGD attack of 10 steps in 4/255")
	paint := fs.Bool("paint", false, "also measure what plain experiments paint (a run of \"a COLOUR circle\" per colour, and a sky scene)")
	seed := fs.Uint64("seed", 0, "the plain experiments' seed (0: a file's default)")
	seeds := fs.Int("seeds", 1, "paint with this many seeds from --seed on, and sum them up")
	if err := parseFlagsOnly(fs, args); err != nil {
		return err
	}
	if *n < 1 || *attacked < 0 || *seeds < 1 {
		return fmt.Errorf("--scenes and --seeds must be at least 1 and --attack at least 0, got %d, %d and %d", *n, *seeds, *attacked)
	}
	if given := givenFlags(fs); !*paint && (given["seed"] || given["seeds"]) {
		return fmt.Errorf("--seed and --seeds choose the paintings' seeds: add --paint")
	}
	m, err := clipmodel.Load(*modelName)
	if err != nil {
		return err
	}
	acc, err := defaultmodel.ZeroShot(m, *n, 1)
	if err != nil {
		return err
	}
	acc.Report(stdout, "zero-shot accuracy", true)
	if *attacked > 0 {
		acc, err := defaultmodel.AttackedZeroShot(m, *attacked, 1, defaultmodel.EvalAttack)
		if err != nil {
			return err
		}
		acc.Report(stdout, "zero-shot accuracy under a 4/255 PGD attack of 10 steps", false)
	}
	if *paint {
		return paintSeeds(stdout, m, *seed, *seeds)
	}
	return nil
}

// paintSeeds reports the plain experiments' paintings with seeds first to first+n-1, and for
// more than one seed a table of each seed's figures.
func paintSeeds(w io.Writer, m *clipmodel.Model, first uint64, n int) error {
	ctx, stop := stopsignal.Context(context.Background())
	defer stop()
	var paintings []defaultmodel.Painting
	for seed := first; seed < first+uint64(n); seed++ {
		p, err := defaultmodel.Paint(ctx, m, seed)
		if err != nil {
			return err
		}
		if n > 1 {
			fmt.Fprintf(w, "seed %d: ", seed)
		}
		p.Report(w)
		paintings = append(paintings, p)
	}
	if n > 1 {
		defaultmodel.ReportSeeds(w, first, paintings)
	}
	return nil
}
