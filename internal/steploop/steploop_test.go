package steploop

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
)

// TestRunSavesOnScheduleAndAtTheEnd runs steps 2..6 saving every 2: saves after steps 4 and
// 6 (counted from 1), and once more at the end only when the last step was not a save.
func TestRunSavesOnScheduleAndAtTheEnd(t *testing.T) {
	for _, c := range []struct{ steps, every int }{{7, 2}, {6, 2}} {
		var saves, ran []int
		current := 0
		var out bytes.Buffer
		l := Loop{Steps: c.steps, CheckpointEvery: c.every, Progress: &out,
			Save: func() error { saves = append(saves, current); return nil }}
		err := l.Run(context.Background(), 2, func(s int) (string, error) {
			ran, current = append(ran, s), s+1
			return "loss 1", nil
		})
		if err != nil {
			t.Fatal(err)
		}
		want := []int{4, 6}
		if c.steps == 7 {
			want = append(want, 7)
		}
		if !slices.Equal(saves, want) || ran[0] != 2 || ran[len(ran)-1] != c.steps-1 {
			t.Errorf("steps %d: ran %v, saved after %v; want saves after %v", c.steps, ran, saves, want)
		}
		if !strings.Contains(out.String(), "step "+string(rune('0'+c.steps))+"/") {
			t.Errorf("no progress line for the last step in %q", out.String())
		}
	}
}

// TestRunRefusesATotalBehindTheStart asks a training at step 5 for 3 steps: refused, naming
// both, without running or saving; asked for 5, it has nothing to do.
func TestRunRefusesATotalBehindTheStart(t *testing.T) {
	calls := 0
	l := Loop{Steps: 3, CheckpointEvery: 1, Progress: &bytes.Buffer{}, Save: func() error { calls++; return nil }}
	count := func(int) (string, error) { calls++; return "", nil }
	if err := l.Run(context.Background(), 5, count); err == nil || !strings.Contains(err.Error(), "at step 5, past step 3, the total asked for") {
		t.Errorf("got %v, want a refusal naming step 5 and the total 3", err)
	}
	l.Steps = 5
	if err := l.Run(context.Background(), 5, count); err != nil {
		t.Errorf("a finished training asked for its own total: %v", err)
	}
	if calls != 0 {
		t.Errorf("%d steps or saves, want none", calls)
	}
}

// TestRunSavesWhenCancelled cancels during the third step: the loop saves and returns the
// context's error without running a fourth.
func TestRunSavesWhenCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	saved, ran := 0, 0
	l := Loop{Steps: 10, CheckpointEvery: 100, Progress: &bytes.Buffer{}, Save: func() error { saved++; return nil }}
	err := l.Run(ctx, 0, func(s int) (string, error) {
		if ran++; ran == 3 {
			cancel()
		}
		return "", nil
	})
	if !errors.Is(err, context.Canceled) || saved != 1 || ran != 3 {
		t.Errorf("err %v, %d saves, %d steps; want context.Canceled, 1 save, 3 steps", err, saved, ran)
	}
}
