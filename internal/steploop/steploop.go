// Package steploop runs the step loop that clipwork's trainings share: stop and save a
// checkpoint on cancellation, save every few steps and at the end, set each step's learning
// rate, and report progress with the time per step and the time left.
package steploop

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"time"
)

// Loop is a training's schedule of steps and checkpoints.
type Loop struct {
	// Steps is the step to run up to, counting those of earlier, resumed sessions.
	Steps int
	// CheckpointEvery is how many steps pass between calls of Save.
	CheckpointEvery int
	// Save writes a checkpoint.
	Save func() error
	// Progress receives a line every PrintEvery and after the last step.
	Progress io.Writer
	// SetRate, if set, receives the learning rate (Rate) before each step whose rate differs
	// from the step before's, and progress lines say the rate.
	SetRate func(rate float64) error
	// LearningRate is the rate until the last DecaySteps steps before Steps (0: none).
	LearningRate float64
	DecaySteps   int
}

// CheckpointsFolder is where a training folder keeps its checkpoints.
func CheckpointsFolder(out string) string { return filepath.Join(out, "checkpoints") }

// Resuming tells whether the training folder out holds checkpoints to resume from.
func Resuming(out string) bool {
	entries, _ := os.ReadDir(CheckpointsFolder(out))
	return len(entries) > 0
}

// CheckTotal refuses a total of steps behind the step a training stands at: the total was
// mistaken for a number of steps more. Trainings call it before loading what the steps need.
func CheckTotal(at, total int) error {
	if at > total {
		return fmt.Errorf("the training is at step %d, past step %d, the total asked for: steps count from the start of the training, not from where it stands (ask for more than %d)", at, total, at)
	}
	return nil
}

// PrintEvery is how often Run reports progress.
const PrintEvery = 30 * time.Second

// Run calls step for each step from first up to l.Steps, saving every l.CheckpointEvery steps
// and after the last one (unless that was a save already). step returns what a progress line
// says of it, e.g. its loss. When ctx is cancelled, Run saves and returns ctx's error. A
// training already past l.Steps is refused (see CheckTotal).
func (l Loop) Run(ctx context.Context, first int, step func(step int) (string, error)) error {
	if err := CheckTotal(first, l.Steps); err != nil {
		return err
	}
	start, lastPrint := time.Now(), time.Time{}
	rate := math.NaN() // the rate SetRate was last given
	s := first
	for ; s < l.Steps; s++ {
		if ctx.Err() != nil {
			fmt.Fprintf(l.Progress, "stopping at step %d: saving a checkpoint\n", s)
			return errors.Join(ctx.Err(), l.Save())
		}
		if l.SetRate != nil && l.Rate(s) != rate {
			rate = l.Rate(s)
			if err := l.SetRate(rate); err != nil {
				return fmt.Errorf("step %d: setting the learning rate: %w", s, err)
			}
		}
		status, err := step(s)
		if err != nil {
			return fmt.Errorf("step %d: %w", s, err)
		}
		if time.Since(lastPrint) > PrintEvery || s+1 == l.Steps {
			lastPrint = time.Now()
			if l.SetRate != nil {
				status += fmt.Sprintf("  lr %.2g", rate)
			}
			perStep := time.Since(start) / time.Duration(s+1-first)
			fmt.Fprintf(l.Progress, "step %d/%d  %s  (%.2f s/step, %s left)\n", s+1, l.Steps, status,
				perStep.Seconds(), (perStep * time.Duration(l.Steps-s-1)).Round(time.Minute))
		}
		if (s+1)%l.CheckpointEvery == 0 {
			if err := l.Save(); err != nil {
				return err
			}
		}
	}
	if s > first && s%l.CheckpointEvery != 0 { // else the newest checkpoint holds this step
		return l.Save()
	}
	return nil
}
