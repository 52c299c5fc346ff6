package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"

	"github.com/clipwork/clipwork/internal/stopsignal"

	"github.com/clipwork/clipwork/clipmodel/defaultmodel"
	"github.com/clipwork/clipwork/clipmodel/robust"
)

func runTrainDefault(args []string, stdout io.Writer) error {
	fs := newFlags("train-default", stdout)
	var opts defaultmodel.TrainOptions
	fs.StringVar(&opts.Out, "out", "", "training folder: checkpoints, tokenizer, and the exported model in OUT/model")
	fs.IntVar(&opts.Steps, "steps", 6000, "total steps, counting those of resumed sessions")
	fs.IntVar(&opts.BatchSize, "batch", 32, "scenes per step")
	fs.Float64Var(&opts.LearningRate, "lr", 5e-4, "Adam's learning rate (also when resuming)")
	fs.IntVar(&opts.DecaySteps, "decay-steps", 0, "the last steps, before --steps, over which the learning rate falls to a tenth (0: a fifth of --steps)")
	fs.IntVar(&opts.CheckpointEvery, "checkpoint-every", 100, "steps between checkpoints")
	fs.Uint64Var(&opts.Seed, "seed", 1, "seed of the scenes and the initial weights")
	fs.BoolVar(&opts.ExportOnly, "export", false, "only export the newest checkpoint to OUT/model")
	fs.IntVar(&opts.Average, "average", 1, fmt.Sprintf("with --export: export the mean of the newest N checkpoints' weights (up to %d)",
		defaultmodel.KeptCheckpoints))
	fs.StringVar(&opts.InitFrom, "init-from", "", "start a new OUT from an exported model (e.g. clipmodel/defaultmodel/model)")
	fs.BoolVar(&opts.AddPositionTable, "add-position-table", false, "with --init-from: add the 2D sine table to its vision position embeddings")
	fs.BoolVar(&opts.FreezeVision, "freeze-vision", false, "train the text tower only, keeping the vision tower's weights (a robust one stays robust)")
	var robustOpts robust.Options
	finishRobust := robustFlags(fs, &robustOpts, "robust-", 0)
	if err := parseFlagsOnly(fs, args); err != nil {
		return err
	}
	if opts.Out == "" {
		return errors.New("--out is required: the folder to train in (an existing one resumes)")
	}
	if err := errors.Join(finishRobust(), checkFlagRanges(fs, "", map[string]float64{"steps": 1, "batch": 1,
		"decay-steps": 0, "checkpoint-every": 1, "average": 1}, map[string]bool{"lr": true})); err != nil {
		return err
	}
	opts.Progress = stdout
	return untilStopped(stdout, opts.Out, func(ctx context.Context) error {
		if err := defaultmodel.Train(ctx, opts); err != nil || robustOpts.Steps == 0 {
			return err
		}
		return robustPhase(ctx, opts, robustOpts, stdout)
	})
}

// robustPhase makes the model that train-default exported to OUT/model robust in OUT/robust
// (FARE, as clipwork robustify does), resuming there; the robust model lands in
// OUT/robust/model.
func robustPhase(ctx context.Context, base defaultmodel.TrainOptions, opts robust.Options, stdout io.Writer) error {
	opts.Model = filepath.Join(base.Out, "model")
	opts.Out = filepath.Join(base.Out, "robust")
	opts.Seed = base.Seed
	opts.ExportOnly = base.ExportOnly
	opts.Progress = stdout
	if err := robust.Robustify(ctx, opts); err != nil {
		return fmt.Errorf("the robust phase (--robust-steps and the other --robust flags) in %s: %w", opts.Out, err)
	}
	fmt.Fprintf(stdout, "the robust model is in %s\n", filepath.Join(opts.Out, "model"))
	return nil
}

// untilStopped runs a training in folder out until it ends or a stop signal (Ctrl-C, SIGTERM)
// has it save a checkpoint, after which it says how to resume.
func untilStopped(stdout io.Writer, out string, train func(ctx context.Context) error) error {
	ctx, stop := stopsignal.Context(context.Background())
	defer stop()
	err := train(ctx)
	if errors.Is(err, context.Canceled) {
		fmt.Fprintf(stdout, "stopped; the same command resumes from the checkpoint in %s\n", out)
		return nil
	}
	return err
}
