package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/clipwork/clipwork/workbench/expfile"
	"github.com/clipwork/clipwork/workbench/runstore"
	"github.com/clipwork/clipwork/workbench/store"
	"github.com/clipwork/clipwork/workbench/sweep"
	"github.com/clipwork/clipwork/workbench/sweepview"
)

// sweepFlags are the flags of clipwork sweep.
type sweepFlags struct {
	out, name  string
	vary, set  repeated
	zip, quiet bool
	// zipGiven says that --zip was given (--zip=false too), overriding the file's zip.
	zipGiven    bool
	index, jobs int
}

// sweepPlan is a sweep resolved from its flags: its manifest and its folder.
type sweepPlan struct {
	manifest *sweep.Manifest
	dir      string
	quiet    bool
	// mirror, for a sweep in a store, holds the local working folder that dir is in.
	mirror *store.Mirror
	// notes are the variants' files' notes, each once, printed before the sweep runs.
	notes []string
	// leaseWait is how long a variant waits for another process writing it in the store.
	leaseWait time.Duration
}

func runSweep(args []string, stdout io.Writer) error {
	fs := newFlags("sweep", stdout)
	var f sweepFlags
	fs.Var(&f.vary, "vary", "a varied key and its values, KEY=V1,V2,... or KEY=A..B (repeatable)")
	fs.BoolVar(&f.zip, "zip", false, "pair the i-th values of every --vary instead of running their grid")
	fs.StringVar(&f.out, "out", "results", "folder or store (s3://bucket/prefix, file:///folder) that holds the sweep folder, one that every task can reach")
	fs.StringVar(&f.name, "name", "", "the sweep folder's name (default: the last experiment file's name and -sweep)")
	fs.IntVar(&f.index, "index", -1, "run only variant I (what a cluster task runs)")
	fs.Var(&f.set, "set", "override a value in every variant: key.path=value (repeatable)")
	steps := fs.Int("steps", 0, "override the number of steps (epochs) of every variant, as --set epochs=N")
	fs.BoolVar(&f.quiet, "quiet", false, "no progress bars")
	fs.IntVar(&f.jobs, "j", 1, "run up to N variants at once, as many as the memory estimates allow")
	var job jobFlags
	job.register(fs)
	files, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	given := givenFlags(fs)
	f.zipGiven = given["zip"]
	if given["index"] && f.index < 0 {
		return fmt.Errorf("--index %d: variants are numbered from 0 (leave --index out to run them all)", f.index)
	}
	if err := store.CheckFolder(f.out); err != nil {
		return fmt.Errorf("--out: %w", err)
	}
	if f.jobs < 1 {
		return fmt.Errorf("-j %d: run at least 1 variant at once", f.jobs)
	}
	if given["steps"] {
		if *steps < 1 {
			return fmt.Errorf("--steps %d: a run needs at least 1 step", *steps)
		}
		f.set = append(f.set, fmt.Sprintf("epochs=%d", *steps))
	}
	plan, err := planSweep(files, f)
	if err != nil {
		return err
	}
	if job.wanted() {
		return job.print(plan, f, stdout)
	}
	if f.index >= len(plan.manifest.Variants) {
		return fmt.Errorf("--index %d: the sweep has variants 0 to %d", f.index, len(plan.manifest.Variants)-1)
	}
	if store.IsURL(f.out) {
		if err := plan.useStore(f.out, f.index); err != nil {
			return err
		}
		defer plan.mirror.Close()
	}
	return plan.run(f.index, f.jobs, stdout)
}

// useStore runs the sweep in a local working folder whose saves go to the store at out. It
// first downloads the sweep's manifest and the variants to run (index, or all when negative),
// so that a retried task resumes from the last state in the store.
func (p *sweepPlan) useStore(out string, index int) error {
	ctx := context.Background()
	var err error
	if p.mirror, err = openMirror(ctx, out); err != nil {
		return err
	}
	name := filepath.Base(p.dir)
	p.dir = filepath.Join(p.mirror.Local, name)
	if index >= 0 {
		p.leaseWait = variantLeaseWait
	}
	pulls := []string{name}
	if index >= 0 {
		pulls = []string{path.Join(name, sweep.ManifestFile), path.Join(name, runstore.ConfigFile),
			path.Join(name, p.manifest.Variants[index].Folder)}
	}
	for _, rel := range pulls {
		if err := p.mirror.Pull(ctx, rel); err != nil {
			p.mirror.Close()
			return err
		}
	}
	return nil
}

// planSweep expands the varied keys into the sweep's variants.
func planSweep(files []string, f sweepFlags) (*sweepPlan, error) {
	if len(files) == 0 {
		return nil, errors.New("give one or more experiment files, e.g. clipwork sweep experiments/demo.yaml --vary seed=1..4")
	}
	axes, zip, err := sweepAxes(files, f)
	if err != nil {
		return nil, err
	}
	variants, err := sweep.Expand(axes, zip)
	if err != nil {
		return nil, err
	}
	name := f.name
	if name == "" {
		name = fileStem(files[len(files)-1]) + "-sweep"
	}
	if name == "." || name == ".." || strings.ContainsAny(name, `/\`) {
		return nil, fmt.Errorf("--name %q: a sweep's name is one folder name", name)
	}
	digests, err := sweep.FileDigests(files)
	if err != nil {
		return nil, err
	}
	m := &sweep.Manifest{Files: files, Digests: digests, Settings: f.set, Axes: axes, Zip: zip, Variants: variants}
	// Every variant must load before any runs: a bad value fails now, not hours later.
	var notes []string
	for _, v := range variants {
		file, err := expfile.Load(files, m.VariantSettings(v)...)
		if err != nil {
			return nil, fmt.Errorf("variant %d (%s): %w", v.Index, v.Folder, err)
		}
		for _, note := range file.Notes {
			if !slices.Contains(notes, note.Error()) {
				notes = append(notes, note.Error())
			}
		}
	}
	return &sweepPlan{manifest: m, dir: filepath.Join(f.out, name), quiet: f.quiet, notes: notes}, nil
}

// sweepAxes are the axes of the files' sweep: with the --vary flags applied (see sweep.Override),
// and zip: the file's unless --zip is given.
func sweepAxes(files []string, f sweepFlags) ([]sweep.Axis, bool, error) {
	file, err := expfile.Load(files, f.set...)
	if err != nil {
		return nil, false, err
	}
	var base []sweep.Axis
	zip := f.zip
	if file.Sweep != nil {
		base = file.Sweep.Axes
		if !f.zipGiven {
			zip = file.Sweep.Zip
		}
	}
	var flags []sweep.Axis
	for _, v := range f.vary {
		axis, err := sweep.ParseVary(v)
		if err != nil {
			return nil, false, err
		}
		if slices.ContainsFunc(flags, func(a sweep.Axis) bool { return a.Key == axis.Key }) {
			return nil, false, fmt.Errorf("--vary %s is given twice: list its values in one, e.g. --vary %s=1,2", axis.Key, axis.Key)
		}
		flags = append(flags, axis)
	}
	return sweep.Override(base, flags), zip, nil
}

// writeManifest writes sweep.json with each variant's status, refusing a folder that holds
// another sweep or a run.
func (p *sweepPlan) writeManifest() error {
	if err := os.MkdirAll(p.dir, 0o755); err != nil {
		return fmt.Errorf("cannot create the sweep folder: %w", err)
	}
	if _, err := os.Stat(filepath.Join(p.dir, runstore.ConfigFile)); err == nil {
		return fmt.Errorf("%s is a run folder, not a sweep's: give another --name or --out", p.shown(p.dir))
	}
	lock := &runstore.Dir{Path: p.dir} // sweeps started at once read and write sweep.json one after the other
	if err := lock.LockWaiting(time.Minute); err != nil {
		return err
	}
	defer lock.Close()
	old, err := sweep.ReadManifest(p.dir)
	if err == nil {
		if err := p.manifest.SameSweep(old); err != nil {
			return fmt.Errorf("%s holds another sweep (%w): give another --name or --out", p.shown(p.dir), err)
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return store.ShownError(err, p.dir, p.shown(p.dir))
	}
	for i, v := range p.manifest.Variants {
		p.manifest.Variants[i].Status = p.status(v, old)
	}
	if err := p.manifest.Write(p.dir); err != nil {
		return err
	}
	if p.mirror == nil {
		return nil
	}
	return p.mirror.Saved(filepath.Join(p.dir, sweep.ManifestFile))
}

// shown is how messages name path, a file or folder of the sweep: by its store URL for a sweep
// in a store.
func (p *sweepPlan) shown(path string) string {
	return runFlags{mirror: p.mirror}.shown(path)
}

// status is variant v's status from its folder. In a store, a folder that is not here (a task
// with --index downloads only its own) keeps its status in old, the manifest already there (nil
// when none), so that a task does not mark the variants of the others pending.
func (p *sweepPlan) status(v sweep.Variant, old *sweep.Manifest) string {
	path := filepath.Join(p.dir, v.Folder)
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) && p.mirror != nil && old != nil {
		return old.Variants[v.Index].Status
	}
	return variantStatus(path)
}

// variantStatus is the status of the run in path for people, or pending.
func variantStatus(path string) string {
	_, status := sweepview.ReadRun(path)
	return status
}

// runVariant runs one variant in its folder: nothing when it has finished, a resume when it has
// a state, else a fresh run (after clearing what a start that never saved a state left).
// Cancelling ctx (the sweep's Ctrl-C) stops it, also while its model loads.
func (p *sweepPlan) runVariant(ctx context.Context, v sweep.Variant, stdout io.Writer) error {
	path := filepath.Join(p.dir, v.Folder)
	if p.mirror != nil {
		if err := p.takeVariant(ctx, path, stdout); err != nil {
			return err
		}
		defer p.mirror.Release(path)
	}
	if variantStatus(path) == runstore.StatusFinished {
		fmt.Fprintf(stdout, "variant %d (%s): finished, skipped\n", v.Index, v.Folder)
		return nil
	}
	if _, err := os.Stat(filepath.Join(path, runstore.StateFile)); err == nil {
		fmt.Fprintf(stdout, "variant %d (%s): resuming\n", v.Index, v.Folder)
		return resumeRun(ctx, runFlags{resume: path, quiet: p.quiet, mirror: p.mirror}, stdout)
	}
	if err := p.clearUnstarted(path); err != nil {
		return err
	}
	file, err := expfile.Load(p.manifest.Files, p.manifest.VariantSettings(v)...)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "variant %d (%s): %s\n", v.Index, v.Folder, strings.Join(v.Settings(p.manifest.Axes), " "))
	return execute(ctx, file, v.Folder, nil, runFlags{out: p.dir, quiet: p.quiet, mirror: p.mirror}, stdout)
}

// takeVariant takes the lease of a variant's folder in the store, where another process may
// write it (two sweeps at once, or a retried cluster task whose first try is still alive: a task
// of one variant waits for that one to end or its lease to go stale), and then downloads the
// folder as that one left it.
func (p *sweepPlan) takeVariant(ctx context.Context, path string, stdout io.Writer) error {
	_, err := p.mirror.Hold(ctx, path, 0)
	if errors.Is(err, store.ErrLeaseHeld) && p.leaseWait > 0 {
		fmt.Fprintf(stdout, "%v; waiting up to %v for it\n", err, p.leaseWait)
		_, err = p.mirror.Hold(ctx, path, p.leaseWait)
	}
	if err != nil {
		return err
	}
	rel, err := filepath.Rel(p.mirror.Local, path)
	if err == nil {
		err = os.RemoveAll(path)
	}
	if err == nil {
		err = p.mirror.Pull(ctx, filepath.ToSlash(rel))
	}
	if err != nil {
		p.mirror.Release(path) // the other variants go on: a retried task must not wait for this one
	}
	return err
}

// variantLeaseWait is how long a cluster task waits for another process to finish writing its
// variant: long enough for the lease of a process that died to go stale.
const variantLeaseWait = 3 * time.Minute

// clearUnstarted removes a variant folder that holds no state (a run stopped before its first
// save), also from the store, so that the variant starts afresh in a folder of its own name; a
// live run's is refused.
func (p *sweepPlan) clearUnstarted(path string) error {
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	dir := &runstore.Dir{Path: path}
	if err := dir.Lock(); err != nil {
		return err
	}
	defer dir.Close()
	if p.mirror != nil {
		return p.mirror.Forget(context.Background(), path)
	}
	return os.RemoveAll(path)
}
