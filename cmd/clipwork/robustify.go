package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/clipwork/clipwork/clipmodel/robust"
)

func runRobustify(args []string, stdout io.Writer) error {
	fs := newFlags("robustify", stdout)
	var opts robust.Options
	fs.StringVar(&opts.Model, "model", "", "the CLIP to make robust: a HuggingFace folder or hub id (e.g. clipmodel/defaultmodel/model)")
	fs.StringVar(&opts.Out, "out", "", "training folder: checkpoints, and the robust model in OUT/model")
	finish := robustFlags(fs, &opts, "", robust.DefaultSteps)
	fs.IntVar(&opts.CheckpointEvery, "checkpoint-every", robust.DefaultCheckpointEvery, "steps between checkpoints")
	fs.Uint64Var(&opts.Seed, "seed", 1, "seed of the scenes and the attacks' random starts")
	fs.StringVar(&opts.DType, "dtype", "F16", "the exported weights' type: F16, BF16 or F32")
	fs.BoolVar(&opts.ExportOnly, "export", false, "only export the newest checkpoint to OUT/model")
	if err := parseFlagsOnly(fs, args); err != nil {
		return err
	}
	if opts.Model == "" || opts.Out == "" {
		return errors.New("--model and --out are required: the CLIP to start from and the folder to train in (an existing one resumes)")
	}
	if err := finish(); err != nil {
		return err
	}
	opts.Progress = stdout
	return untilStopped(stdout, opts.Out, func(ctx context.Context) error { return robust.Robustify(ctx, opts) })
}

// robustFlags registers the flags of a robust fine-tuning on fs, each name after prefix, with
// steps as the default of --steps (0 where the fine-tuning is an optional phase, which --steps 0
// then leaves out); the function it returns completes opts after parsing, and refuses values no
// training can use.
func robustFlags(fs *flag.FlagSet, opts *robust.Options, prefix string, steps int) (finish func() error) {
	fs.IntVar(&opts.Steps, prefix+"steps", steps, "total robust (Adam) steps, counting those of resumed sessions")
	fs.IntVar(&opts.BatchSize, prefix+"batch", robust.DefaultBatchSize, "images per robust step")
	fs.Float64Var(&opts.LearningRate, prefix+"lr", robust.DefaultLearningRate, "Adam's learning rate on the vision tower")
	fs.IntVar(&opts.DecaySteps, prefix+"decay-steps", 0, "the last steps, before --"+prefix+"steps, over which the learning rate falls to a tenth (0: none)")
	radius := fs.Float64(prefix+"radius", 255*robust.DefaultRadius, "the attack's L-infinity radius, in 255ths of the pixel range")
	stepSize := fs.Float64(prefix+"step-size", 255*robust.DefaultStepSize, "each PGD step's size, in 255ths")
	fs.IntVar(&opts.Attack.Steps, prefix+"pgd-steps", robust.DefaultPGDSteps, "PGD steps per robust step")
	fs.StringVar(&opts.Loss, prefix+"loss", robust.LossFARE, "fare (keep the attacked images' embeddings at the original's of the clean ones) or tecoa (classify the attacked images among the batch's captions)")
	fs.Float64Var(&opts.AdversarialWeight, prefix+"adversarial-weight", 1, "weight of the loss on the attacked images")
	fs.Float64Var(&opts.CleanWeight, prefix+"clean-weight", 0, "weight of the clean images' embeddings' squared distance to the original's")
	fs.Float64Var(&opts.CleanCEWeight, prefix+"clean-ce-weight", 0, "with tecoa: weight of the clean images' cross-entropy among the captions")
	fs.Float64Var(&opts.Noise, prefix+"noise", 0.1, "the largest standard deviation of the pixel noise on robust training images")
	return func() error {
		opts.Attack.Radius, opts.Attack.StepSize = *radius/255, *stepSize/255
		return checkFlagRanges(fs, prefix, map[string]float64{"steps": float64(min(steps, 1)), "batch": 1, "radius": 0, "step-size": 0,
			"pgd-steps": 0, "adversarial-weight": 0, "clean-weight": 0, "clean-ce-weight": 0, "noise": 0, "decay-steps": 0},
			map[string]bool{"lr": true})
	}
}

// checkFlagRanges refuses a numeric flag (named after prefix) below its least value in least,
// or not above zero where positive says so.
func checkFlagRanges(fs *flag.FlagSet, prefix string, least map[string]float64, positive map[string]bool) error {
	var errs []error
	fs.VisitAll(func(f *flag.Flag) {
		name := strings.TrimPrefix(f.Name, prefix)
		v, err := strconv.ParseFloat(f.Value.String(), 64)
		if !strings.HasPrefix(f.Name, prefix) || err != nil {
			return
		}
		if lowest, ok := least[name]; ok && !(v >= lowest) {
			errs = append(errs, fmt.Errorf("--%s %v: give %v or more", f.Name, v, lowest))
		}
		if positive[name] && !(v > 0) {
			errs = append(errs, fmt.Errorf("--%s %v: give a number above 0", f.Name, v))
		}
	})
	return errors.Join(errs...)
}
