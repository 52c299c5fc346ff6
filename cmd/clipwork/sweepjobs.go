package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/clipwork/clipwork/internal/stopsignal"

	"github.com/clipwork/clipwork/workbench"
	"github.com/clipwork/clipwork/workbench/expfile"
	"github.com/clipwork/clipwork/workbench/sweep"
	"github.com/clipwork/clipwork/workbench/sweepview"
)

// run runs variant index, or every variant when index is negative, up to jobs at once (as many
// as the memory estimates allow, see fitJobs), in index order: finished ones are skipped,
// interrupted ones resumed from their state. Ctrl-C stops every variant that runs (each stays
// resumable) and the sweep.
func (p *sweepPlan) run(index, jobs int, stdout io.Writer) error {
	if err := p.writeManifest(); err != nil {
		return err
	}
	for _, note := range p.notes {
		fmt.Fprintln(stdout, note)
	}
	ctx, stop := stopsignal.Context(context.Background())
	defer stop()
	start := time.Now()
	todo := p.selected(index)
	if available, ok := workbench.AvailableMemory(); ok && jobs > 1 {
		jobs = p.fitJobs(todo, jobs, available, stdout)
	}
	p.quiet = p.quiet || jobs > 1 // progress bars of several variants would overwrite each other
	errs := p.runAll(ctx, todo, jobs, stdout)
	if err := p.outcome(ctx.Err() != nil, todo, errs, stdout); err != nil || index >= 0 {
		return err
	}
	return p.summarise(time.Since(start), stdout)
}

// summaryRows bounds the variants of the table a whole sweep ends with.
const summaryRows = 40

// summarise ends a whole sweep: how long it took, its table (up to summaryRows variants) and
// the commands that show it again and chart it.
func (p *sweepPlan) summarise(took time.Duration, stdout io.Writer) error {
	view, err := sweepview.Read(p.dir)
	if err != nil {
		return err
	}
	shown := p.shown(p.dir)
	fmt.Fprintf(stdout, "sweep %s: %d variants finished in %.1f s\n", shown, len(view.Variants), took.Seconds())
	if len(view.Variants) <= summaryRows {
		if err := printSweep(view, stdout); err != nil {
			return err
		}
	}
	keys := p.manifest.Keys()
	fmt.Fprintf(stdout, "clipwork runs %s prints this table; add --chart %s to chart the final similarity over %s\n",
		shown, keys[len(keys)-1], keys[len(keys)-1])
	return nil
}

// outcome is the sweep's error after its variants todo ended with errs: each variant that
// failed other than by Ctrl-C (also printed to stdout), the manifest's write error, and when
// interrupted, which variants Ctrl-C stopped.
func (p *sweepPlan) outcome(interrupted bool, todo []sweep.Variant, errs []error, stdout io.Writer) error {
	var all []error
	if interrupted {
		all = append(all, fmt.Errorf("interrupted%s: run the same command again to go on", interruptedVariants(todo, errs)))
	}
	for i, err := range errs {
		if v := todo[i]; err != nil && !errors.Is(err, context.Canceled) {
			fmt.Fprintf(stdout, "variant %d (%s) failed: %v\n", v.Index, v.Folder, err)
			all = append(all, fmt.Errorf("variant %d (%s): %w", v.Index, v.Folder, err))
		}
	}
	manifestErr := p.writeManifest()
	if interrupted && len(all) == 1 && manifestErr == nil {
		fmt.Fprintln(stdout, all[0]) // only the interruption: exit as an interrupted command does
		return errInterrupted
	}
	return errors.Join(append(all, manifestErr)...)
}

// selected are the variants to run: the one of index, or every one when index is negative.
func (p *sweepPlan) selected(index int) []sweep.Variant {
	if index >= 0 {
		return []sweep.Variant{p.manifest.Variants[index]}
	}
	return p.manifest.Variants
}

// runAll runs the variants on jobs workers, handing them out in order, and returns each
// variant's error; once ctx is cancelled no variant starts.
func (p *sweepPlan) runAll(ctx context.Context, todo []sweep.Variant, jobs int, stdout io.Writer) []error {
	errs := make([]error, len(todo))
	next := make(chan int)
	var wg sync.WaitGroup
	var mu sync.Mutex
	for range min(jobs, len(todo)) {
		wg.Go(func() {
			for i := range next {
				if ctx.Err() != nil {
					continue
				}
				out := stdout
				if jobs > 1 {
					out = &linePrefixer{mu: &mu, w: stdout, prefix: fmt.Sprintf("[%d] ", todo[i].Index)}
				}
				errs[i] = p.runVariant(ctx, todo[i], out)
				if lp, ok := out.(*linePrefixer); ok {
					lp.Flush()
				}
			}
		})
	}
	for i := range todo {
		select {
		case next <- i:
		case <-ctx.Done():
		}
	}
	close(next)
	wg.Wait()
	return errs
}

// interruptedVariants names the variants that Ctrl-C stopped mid-run, as " at variant ...".
func interruptedVariants(todo []sweep.Variant, errs []error) string {
	var names []string
	for i, err := range errs {
		if errors.Is(err, context.Canceled) {
			names = append(names, fmt.Sprintf("%d (%s)", todo[i].Index, todo[i].Folder))
		}
	}
	switch len(names) {
	case 0:
		return ""
	case 1:
		return " at variant " + names[0]
	}
	return " at variants " + strings.Join(names, ", ")
}

// fitJobs is how many of the variants run at once: jobs, or fewer where the memory estimates
// of the largest variants together exceed available (bytes), which it then says. Variants whose
// model it cannot know without loading count for nothing; one variant always runs (a run that
// cannot fit is refused by the run itself, with the setting to lower).
func (p *sweepPlan) fitJobs(todo []sweep.Variant, jobs int, available int64, stdout io.Writer) int {
	jobs = min(jobs, len(todo))
	if jobs <= 1 {
		return 1
	}
	estimates := p.estimates(todo)
	fit := jobsThatFit(estimates, jobs, available)
	if fit < jobs {
		fmt.Fprintf(stdout, "-j %d: %d variants at once need about %.1f GB by their estimates and %.1f GB is available: running %d at once\n",
			jobs, jobs, float64(sum(estimates[:jobs]))/1e9, float64(available)/1e9, fit)
	}
	return fit
}

// estimates are the variants' memory estimates in bytes, largest first.
func (p *sweepPlan) estimates(todo []sweep.Variant) []int64 {
	out := make([]int64, len(todo))
	for i, v := range todo {
		out[i] = p.estimate(v)
	}
	slices.Sort(out)
	slices.Reverse(out)
	return out
}

// estimate is a variant's memory estimate (workbench.EstimateMemory), or 0 where its model
// is not known without loading it.
func (p *sweepPlan) estimate(v sweep.Variant) int64 {
	file, err := expfile.Load(p.manifest.Files, p.manifest.VariantSettings(v)...)
	if err != nil || file.Experiment.Resolve() != nil {
		return 0
	}
	configs, _, ok := modelConfigs(file.Experiment)
	if !ok {
		return 0
	}
	return workbench.EstimateMemory(file.Experiment, configs...).Total()
}

// jobsThatFit is how many of estimates (largest first) fit in available together, from 1 to
// jobs.
func jobsThatFit(estimates []int64, jobs int, available int64) int {
	n, need := 0, int64(0)
	for n < jobs && n < len(estimates) && need+estimates[n] <= available {
		need += estimates[n]
		n++
	}
	return max(1, n)
}

func sum(values []int64) int64 {
	var s int64
	for _, v := range values {
		s += v
	}
	return s
}

// linePrefixer writes whole lines, each with a prefix, to a writer that several variants share
// (mu guards it), so that their lines do not interleave midway; it drops blank lines.
type linePrefixer struct {
	mu      *sync.Mutex
	w       io.Writer
	prefix  string
	pending []byte
}

func (l *linePrefixer) Write(data []byte) (int, error) {
	l.pending = append(l.pending, data...)
	end := bytes.LastIndexByte(l.pending, '\n')
	if end < 0 {
		return len(data), nil
	}
	l.writeLines(l.pending[:end+1])
	l.pending = slices.Clone(l.pending[end+1:])
	return len(data), nil
}

// Flush writes what is left of the last line.
func (l *linePrefixer) Flush() {
	if len(l.pending) > 0 {
		l.writeLines(append(l.pending, '\n'))
		l.pending = nil
	}
}

func (l *linePrefixer) writeLines(lines []byte) {
	var b bytes.Buffer
	for line := range bytes.Lines(lines) {
		if len(bytes.TrimSpace(line)) == 0 {
			continue // blank lines space out one run's output; among several they only scatter
		}
		b.WriteString(l.prefix)
		b.Write(line)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.w.Write(b.Bytes())
}
