package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/clipwork/clipwork/internal/stopsignal"

	"github.com/clipwork/clipwork/clipmodel"
	_ "github.com/clipwork/clipwork/clipmodel/defaultmodel" // the default model
	"github.com/clipwork/clipwork/workbench"
	"github.com/clipwork/clipwork/workbench/expfile"
	"github.com/clipwork/clipwork/workbench/runstore"
	"github.com/clipwork/clipwork/workbench/store"
	"github.com/gomlx/compute"
	"github.com/schollz/progressbar/v3"
)

// runFlags are the flags of clipwork run that override the experiment files.
type runFlags struct {
	out, resume, model, resolution, learnrate string
	steps                                     int
	seed                                      int64
	settings                                  repeated
	quiet                                     bool
	// mirror, for a run in a store, holds the local working folder of out and resume.
	mirror *store.Mirror
}

func runRun(args []string, stdout io.Writer) error {
	fs := newFlags("run", stdout)
	var f runFlags
	fs.StringVar(&f.out, "out", "results", "folder or store (s3://bucket/prefix, file:///folder) that holds the run folders")
	fs.StringVar(&f.resume, "resume", "", "continue the run in this folder (or store URL) where it stopped")
	f.experimentFlags(fs)
	fs.BoolVar(&f.quiet, "quiet", false, "no progress bar")
	files, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	given, err := f.given(fs)
	if err != nil {
		return err
	}
	if f.resume != "" {
		if err := checkResumeFlags(given, files); err != nil {
			return err
		}
		if store.IsURL(f.resume) {
			return resumeFromStore(f, stdout)
		}
		return resumeRun(context.Background(), f, stdout)
	}
	if len(files) == 0 {
		return errors.New("give one or more experiment files (they merge left to right), e.g. clipwork run experiments/demo.yaml")
	}
	file, err := expfile.LoadSettings(files, f.overrides())
	if err != nil {
		return err
	}
	for _, note := range file.Notes {
		fmt.Fprintf(os.Stderr, "%v\n", note)
	}
	if file.Sweep != nil {
		return fmt.Errorf("%s: the experiment has a sweep: run its variants with clipwork sweep %s (one of them: add --index I)",
			file.Sweep.Position, strings.Join(files, " "))
	}
	name := file.RunName(fileStem(files[len(files)-1]))
	if !given["out"] && file.Output != "" {
		f.out, name = outputFolder(file.Output, name)
	}
	if err := store.CheckFolder(f.out); err != nil {
		return fmt.Errorf("--out: %w", err)
	}
	if info, err := os.Stat(f.out); err == nil && !info.IsDir() {
		return fmt.Errorf("--out %s is a file, not a folder", f.out)
	}
	if store.IsURL(f.out) {
		return runIntoStore(file, name, f, stdout)
	}
	return execute(context.Background(), file, name, nil, f, stdout)
}

// runIntoStore runs into the store f.out from a local working folder that holds an empty folder
// for each run folder in the store, so that the run takes a name of its own there.
func runIntoStore(file *expfile.File, name string, f runFlags, stdout io.Writer) error {
	ctx := context.Background() // no lease is held before the run's folder: Ctrl-C may end it as it is
	mirror, err := openMirror(ctx, f.out)
	if err != nil {
		return err
	}
	defer mirror.Close()
	taken, err := mirror.Store.Folders(ctx)
	if err != nil {
		return err
	}
	for _, folder := range taken {
		if err := os.Mkdir(filepath.Join(mirror.Local, folder), 0o755); err != nil {
			return err
		}
	}
	f.out, f.mirror = mirror.Local, mirror
	return execute(ctx, file, name, nil, f, stdout)
}

// resumeFromStore downloads the run at the store URL f.resume and resumes it there; a URL that
// names no run folder (a bucket alone) is refused before anything is downloaded.
func resumeFromStore(f runFlags, stdout io.Writer) error {
	ctx, stop := stopsignal.Context(context.Background()) // Ctrl-C while downloading ends it with the lease released;
	defer stop()                                          // a second Ctrl-C ends it at once
	context.AfterFunc(ctx, stop)
	parent, name := store.Split(f.resume)
	if name == "" {
		return fmt.Errorf("--resume %s names no run folder: write s3://bucket/prefix/RUN", f.resume)
	}
	mirror, err := openMirror(ctx, parent)
	if err != nil {
		return err
	}
	defer mirror.Close()
	folder := filepath.Join(mirror.Local, name)
	if _, err := mirror.Hold(ctx, folder, 0); err != nil { // before the download, which the holder would change
		return err
	}
	if err := mirror.Pull(ctx, name); err != nil {
		return err
	}
	f.resume, f.mirror = folder, mirror
	return resumeRun(ctx, f, stdout)
}

// newRunFolder makes the folder of a new run in f.out; for a store it also takes the folder's
// lease, moving on to the next free name where another process took the name meanwhile (it
// holds the lease, or has written the folder since the store's folders were listed).
func (f runFlags) newRunFolder(ctx context.Context, name string) (*runstore.Dir, error) {
	for {
		dir, err := runstore.Create(f.out, name)
		if err != nil || f.mirror == nil {
			return dir, err
		}
		free, err := f.takeFreeFolder(ctx, dir.Path)
		if err != nil {
			dir.Close()
			return nil, err
		}
		if free {
			return dir, nil
		}
		dir.Close() // Its empty folder stays, so that the next Create takes the next name.
	}
}

// takeFreeFolder takes the lease of a new run's folder in the store, saying whether the folder
// was free: no other process holds it and nothing is stored in it.
func (f runFlags) takeFreeFolder(ctx context.Context, path string) (bool, error) {
	if _, err := f.mirror.Hold(ctx, path, 0); errors.Is(err, store.ErrLeaseHeld) {
		return false, nil
	} else if err != nil {
		return false, err
	}
	rel, err := filepath.Rel(f.mirror.Local, path)
	if err != nil {
		return false, err
	}
	keys, err := f.mirror.Store.Keys(ctx, filepath.ToSlash(rel))
	if err == nil && slices.ContainsFunc(keys, func(key string) bool { return !store.IsLease(key) }) {
		f.mirror.Release(path)
		return false, nil
	}
	return err == nil, err
}

// stopOnLostLease stops the run (stop, with an error naming the run folder) should the lease of
// its folder in a store go to another process (lost closes); lost nil, for a local run, never does.
func stopOnLostLease(ctx context.Context, lost <-chan struct{}, stop context.CancelCauseFunc, folder string) {
	if lost == nil {
		return
	}
	go func() {
		select {
		case <-lost:
			stop(fmt.Errorf("%s: %w", folder, store.ErrLeaseLost))
		case <-ctx.Done():
		}
	}()
}

// openMirror opens the store at location with a new local working folder.
func openMirror(ctx context.Context, location string) (*store.Mirror, error) {
	s, err := store.OpenToWrite(ctx, location)
	if err != nil {
		return nil, err
	}
	mirror, err := store.NewMirror(s)
	if err != nil {
		s.Close()
	}
	return mirror, err
}

// shown is how messages name path, a file or folder of the run: by its store URL for a run in a
// store, quoted where it holds characters a terminal would act on (a newline, an escape).
func (f runFlags) shown(path string) string {
	return workbench.Printable(f.location(path))
}

// location is path, a file or folder of the run, or its store URL for a run in a store.
func (f runFlags) location(path string) string {
	if f.mirror != nil {
		return f.mirror.URL(path)
	}
	return path
}

// fileStem is path's file name without its extension, e.g. demo for experiments/demo.yaml.
func fileStem(path string) string {
	return strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
}

// outputFolder is where CLIPig's output puts a run: a folder (ending in /, or one that exists)
// holds the run folders, named as always (see expfile.File.RunName); anything else names
// CLIPig's image file (name.png, name.jpg, or name, which CLIPig writes as name.png), and so
// the run folder name in its folder.
func outputFolder(output, name string) (folder, run string) {
	base := filepath.Base(output)
	if info, err := os.Stat(output); strings.HasSuffix(output, "/") || base == "." || base == ".." || err == nil && info.IsDir() {
		return output, name // a folder: ending in /, . or .., or one that exists
	}
	if ext := filepath.Ext(base); slices.Contains(imageExtensions, strings.ToLower(ext)) && len(ext) < len(base) {
		base = strings.TrimSuffix(base, ext)
	}
	return filepath.Dir(output), base
}

// imageExtensions are the extensions of the image files CLIPig's output may name.
var imageExtensions = []string{".png", ".jpg", ".jpeg", ".webp", ".bmp", ".gif", ".tif", ".tiff"}

// experimentFlags defines the flags that override the experiment files, which run and check share.
func (f *runFlags) experimentFlags(fs *flag.FlagSet) {
	fs.StringVar(&f.model, "model", "", "override the model")
	fs.StringVar(&f.resolution, "resolution", "", `override the resolution ("512" or "640 480")`)
	fs.StringVar(&f.learnrate, "learnrate", "", "override the learnrate")
	fs.IntVar(&f.steps, "steps", 0, "override the number of steps (epochs)")
	fs.Int64Var(&f.seed, "seed", -1, "override the seed (-1: the file's, else 0)")
	fs.Var(&f.settings, "set", "override any value: key.path=value (repeatable), e.g. targets.details.batch_size=8")
}

// given lists the flags given, refusing experiment flags given values no run takes.
func (f *runFlags) given(fs *flag.FlagSet) (map[string]bool, error) {
	given := givenFlags(fs)
	switch {
	case given["steps"] && f.steps < 1:
		return nil, fmt.Errorf("--steps %d: a run needs at least 1 step", f.steps)
	case given["model"] && strings.TrimSpace(f.model) == "":
		return nil, errors.New("--model is empty: name a model (a folder, a hub id, random:ARCH), or leave the flag out for the default model")
	case given["seed"] && f.seed < -1:
		return nil, fmt.Errorf("--seed %d: seeds are 0 or more (-1 keeps the file's)", f.seed)
	}
	return given, nil
}

// overrides turns the flags into expfile settings, each naming its flag.
func (f runFlags) overrides() []expfile.Setting {
	var s []expfile.Setting
	add := func(flag, value, setting string) {
		s = append(s, expfile.Setting{Text: setting, Flag: "--" + flag + " " + value})
	}
	if f.model != "" {
		add("model", f.model, "model="+f.model)
	}
	if f.resolution != "" {
		add("resolution", f.resolution, "resolution=["+strings.Join(strings.Fields(f.resolution), ",")+"]")
	}
	if f.learnrate != "" {
		add("learnrate", f.learnrate, "learnrate="+f.learnrate)
	}
	if f.steps > 0 {
		add("steps", strconv.Itoa(f.steps), fmt.Sprintf("epochs=%d", f.steps))
	}
	if f.seed >= 0 {
		add("seed", strconv.FormatInt(f.seed, 10), fmt.Sprintf("seed=%d", f.seed))
	}
	for _, setting := range f.settings {
		s = append(s, expfile.Setting{Text: setting})
	}
	return s
}

// resumeFlags are the flags that --resume takes: the run's config.yaml fixes everything else.
var resumeFlags = map[string]bool{"resume": true, "steps": true, "quiet": true}

// checkResumeFlags refuses what --resume cannot honour: experiment files and flags that would
// change the run's config.
func checkResumeFlags(given map[string]bool, files []string) error {
	if len(files) > 0 {
		return fmt.Errorf("--resume continues a run from its own config.yaml: drop %s (or start a new run)", strings.Join(files, " "))
	}
	var refused []string
	for name := range given {
		if !resumeFlags[name] {
			refused = append(refused, "--"+name)
		}
	}
	if len(refused) > 0 {
		slices.Sort(refused)
		return fmt.Errorf("--resume cannot change %s: the run's config.yaml fixes it; --resume takes only --steps (more steps) and --quiet",
			strings.Join(refused, ", "))
	}
	return nil
}

// resumeRun continues the run in f.resume where it stopped; cancelling ctx stops it (see execute).
func resumeRun(ctx context.Context, f runFlags, stdout io.Writer) error {
	dir, file, state, err := runstore.OpenToResume(f.resume, f.steps)
	if err != nil {
		return err
	}
	defer dir.Close()
	return execute(ctx, file, "", &resumePoint{dir, state}, f, stdout)
}

type resumePoint struct {
	dir   *runstore.Dir
	state *workbench.State
}

// execute loads the model, prepares the run (fresh or resumed), and runs it with the progress
// bar, the frame-count table and the results folder as observers. Ctrl-C, or cancelling ctx
// (a sweep's, which catches Ctrl-C from its start), stops it cleanly; when ctx is cancelled
// while the model loads, the run does not start.
func execute(ctx context.Context, file *expfile.File, name string, resume *resumePoint, f runFlags, stdout io.Writer) error {
	chose := chooseDevice(file.Device)
	members, err := workbench.LoadModels(file.Experiment)
	if err != nil {
		if chose {
			err = fmt.Errorf("%w\nthe file's device: %s asks for a GPU through XLA's CUDA backend; to run on the CPU, "+
				"write device: auto (or cpu), or, for a run to resume, set %s=go", err, file.Device, compute.ConfigEnvVar)
		}
		return err
	}
	noteCutTexts(file.Experiment, members)
	if n := featureCount(file.Experiment); n >= manyFeatures {
		fmt.Fprintf(stdout, "embedding %d features before the first step...\n", n)
	}
	run, err := workbench.NewEnsembleRun(file.Experiment, members)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	var dir *runstore.Dir
	var state *workbench.State // nil: a new run
	if resume != nil {
		dir, state = resume.dir, resume.state
	} else {
		if dir, err = f.newRunFolder(ctx, name); err != nil {
			return err
		}
		defer dir.Close()
	}
	var leaseLost <-chan struct{}
	if f.mirror != nil {
		if leaseLost, err = f.mirror.Hold(ctx, dir.Path, 0); err != nil {
			return err
		}
		defer f.mirror.Release(dir.Path)
		dir.OnSave = f.mirror.Saved
	}
	notes, err := dir.Continue(run, state)
	if err != nil {
		return err
	}
	for _, note := range notes {
		fmt.Fprintln(os.Stderr, note)
	}
	var names []string
	for _, name := range run.ModelNames() {
		names = append(names, recordedModelName(name))
	}
	recorder, err := runstore.NewRecorder(dir, file, run, names...)
	if err != nil {
		return err
	}
	exp := run.Experiment()
	fmt.Fprintf(stdout, "run %s: model %s, %s, %d steps, seed %d\n", f.shown(dir.Path), strings.Join(run.ModelNames(), " + "),
		sizes(exp), exp.Steps, exp.Seed)
	observers := []workbench.Observer{recorder}
	if file.Verbose >= 2 {
		observers = append(observers, &frameTablePrinter{w: stdout, every: 30 * time.Second})
	}
	if !f.quiet && file.Verbose >= 1 {
		observers = append(observers, newProgress(os.Stderr, run))
	}
	ctx, stop := stopsignal.Context(ctx)
	defer stop()
	ctx, stopOnWriteError := context.WithCancelCause(ctx)
	defer stopOnWriteError(nil)
	recorder.OnWriteError = stopOnWriteError
	stopOnLostLease(ctx, leaseLost, stopOnWriteError, f.shown(dir.Path))
	startStep, startElapsed := run.Step(), run.Elapsed()
	runErr := run.Run(ctx, observers...)
	if file.Verbose >= 2 {
		fmt.Fprintln(stdout)
		run.Stats().WriteFrameTable(stdout)
	}
	fmt.Fprintf(stdout, "%d steps in %.1f s%s (%.2f windows/s)", run.Step(), run.Elapsed().Seconds(),
		resumedPart(run.Step()-startStep, run.Elapsed()-startElapsed, startStep), run.WindowsPerSecond())
	if err := recorder.Err(); errors.Is(err, store.ErrLeaseLost) {
		fmt.Fprintln(stdout)
		return fmt.Errorf("the run stopped at step %d, uploading nothing more: %s: %w (another process may write it now; "+
			"see clipwork runs)", run.Step(), f.shown(dir.Path), store.ErrLeaseLost)
	} else if err != nil {
		fmt.Fprintln(stdout)
		return fmt.Errorf("the run stopped at step %d: its folder could not be written: %w; once it can be, "+
			"clipwork run --resume %s goes on from its last saved state", run.Step(), err, shellWord(f.location(dir.Path)))
	}
	fmt.Fprintf(stdout, "; image: %s\n", f.shown(filepath.Join(dir.Path, runstore.ImageFile)))
	if errors.Is(runErr, context.Canceled) {
		fmt.Fprintf(stdout, "interrupted: continue with clipwork run --resume %s\n", shellWord(f.location(dir.Path)))
		return errInterrupted
	}
	return runErr
}

// sizes words a run's image size: WxH, or its first and last sizes where it changes, and its
// largest where that is neither.
func sizes(exp workbench.Experiment) string {
	w, h := exp.SizeAt(0)
	lw, lh := exp.SizeAt(exp.Steps - 1)
	words := fmt.Sprintf("%dx%d", w, h)
	if w != lw || h != lh {
		words += fmt.Sprintf(" to %dx%d", lw, lh)
	}
	largest := [2]int{w, h}
	for _, s := range exp.Sizes() {
		if s[0]*s[1] > largest[0]*largest[1] {
			largest = s
		}
	}
	if largest[0]*largest[1] > max(w*h, lw*lh) {
		words += fmt.Sprintf(" (up to %dx%d)", largest[0], largest[1])
	}
	return words
}

// manyFeatures is the feature count from which a run says that it embeds them first (about a
// second per thousand on the default model), so that a long silence is explained.
const manyFeatures = 1000

func featureCount(exp workbench.Experiment) int {
	n := 0
	for _, t := range exp.Targets {
		n += len(t.Features)
	}
	return n
}

// recordedModelName is how config.yaml names the model: a local folder by its absolute path, so
// that --resume from another working directory finds the same folder (a relative path would be
// looked up there, or taken for a hub id).
func recordedModelName(name string) string {
	if info, err := os.Stat(name); err == nil && info.IsDir() {
		if abs, err := filepath.Abs(name); err == nil {
			return abs
		}
	}
	return name
}

// chooseDevice picks the compute backend for CLIPig's device unless GOMLX_BACKEND already
// names one: cuda (or cuda:N) runs on XLA's CUDA backend; auto and cpu keep the default, the pure
// Go backend on the CPU. It tells whether the device chose the backend.
func chooseDevice(device string) bool {
	if strings.HasPrefix(device, "cuda") && os.Getenv(compute.ConfigEnvVar) == "" {
		os.Setenv(compute.ConfigEnvVar, "xla:cuda")
		return true
	}
	return false
}

// frameTablePrinter prints the frame counts every so often during a run.
type frameTablePrinter struct {
	w     io.Writer
	every time.Duration
	last  time.Time
}

func (p *frameTablePrinter) Observe(e workbench.Event) {
	switch e.Kind {
	case workbench.EventStart:
		p.last = time.Now()
	case workbench.EventStep:
		if time.Since(p.last) >= p.every && !e.Run.Done() {
			p.last = time.Now()
			fmt.Fprintf(p.w, "\nstep %d:\n", e.Run.Step())
			e.Run.Stats().WriteFrameTable(p.w)
		}
	}
}

// progress is the terminal progress bar: steps done, the last step's loss and windows/s, and ETA.
// The loss is labelled with its step as the charts and stats number it (from 0), since the
// bar's count of steps done is redrawn at its own pace.
type progress struct {
	bar *progressbar.ProgressBar
}

// newProgress is the progress observer: the bar on a terminal, else (a log file, a pipe) a line
// every progressEvery, where the bar's carriage returns would garble the output.
func newProgress(w *os.File, run *workbench.Run) workbench.Observer {
	if info, err := w.Stat(); err != nil || info.Mode()&os.ModeCharDevice == 0 {
		return &progressLines{w: w}
	}
	return newProgressBar(w, run)
}

// progressEvery is how often progressLines writes a line.
const progressEvery = 10 * time.Second

// progressLines writes a run's progress as lines: the first step's, one every progressEvery,
// and the last step's.
type progressLines struct {
	w    io.Writer
	last time.Time
}

func (p *progressLines) Observe(e workbench.Event) {
	if e.Kind != workbench.EventStep {
		return
	}
	steps := e.Run.Steps()
	if now := time.Now(); now.Sub(p.last) >= progressEvery || e.Run.Step() == steps {
		p.last = now
		fmt.Fprintf(p.w, "%d of %d steps  loss %.4f  %.2f windows/s\n", e.Run.Step(), steps, e.Result.Loss, e.Run.WindowsPerSecond())
	}
}

func newProgressBar(w io.Writer, run *workbench.Run) *progress {
	steps := run.Steps()
	bar := progressbar.NewOptions(steps, progressbar.OptionSetWriter(w), progressbar.OptionShowCount(),
		progressbar.OptionSetPredictTime(true), progressbar.OptionShowElapsedTimeOnFinish(),
		progressbar.OptionThrottle(200*time.Millisecond), progressbar.OptionSetWidth(24))
	bar.Set(run.Step())
	return &progress{bar: bar}
}

func (p *progress) Observe(e workbench.Event) {
	if e.Kind != workbench.EventStep {
		return
	}
	p.bar.Describe(fmt.Sprintf("step %d loss %.4f  %.2f windows/s", e.Result.Step, e.Result.Loss, e.Run.WindowsPerSecond()))
	p.bar.Set(e.Run.Step())
}

// resumedPart tells, for a run resumed at step from, how many of its steps ran now and in what
// time; nothing for a run that started here.
func resumedPart(steps int, took time.Duration, from int) string {
	if from == 0 {
		return ""
	}
	return fmt.Sprintf(", %d of them now in %.1f s", steps, took.Seconds())
}

// noteCutTexts notes the feature texts longer than a model's context, whose end the model never
// reads (CLIP cuts them, as openai/CLIP's tokenize(truncate=True) does).
func noteCutTexts(exp workbench.Experiment, members []workbench.Member) {
	tokenizers := make([]*clipmodel.Tokenizer, len(members))
	for i, m := range members {
		tokenizers[i] = m.Model.Tokenizer
	}
	for _, note := range cutTextNotes(exp, tokenizers) {
		fmt.Fprintln(os.Stderr, note)
	}
}

// cutTextNotes are the notes on the experiment's feature texts that are longer than a context
// of the tokenizers', once a text.
func cutTextNotes(exp workbench.Experiment, tokenizers []*clipmodel.Tokenizer) []error {
	var notes []error
	seen := map[string]bool{}
	for _, t := range exp.Targets {
		for _, f := range t.Features {
			for _, tok := range tokenizers {
				if seen[f.Text] {
					break
				}
				if note := cutNote("feature text", f.Text, tok); note != nil {
					seen[f.Text], notes = true, append(notes, note)
				}
			}
		}
	}
	return notes
}

// noteIfCut prints cutNote's note, if any.
func noteIfCut(what, text string, tok *clipmodel.Tokenizer) {
	if note := cutNote(what, text, tok); note != nil {
		fmt.Fprintln(os.Stderr, note)
	}
}

// cutNote is a note saying that text is longer than the tokenizer's context, or nil.
func cutNote(what, text string, tok *clipmodel.Tokenizer) error {
	if cut := tok.Overflow(text); cut > 0 {
		return fmt.Errorf("note: the %s %q is %d tokens too long for the model's context of %d; its end is cut "+
			"(CLIPig refuses it)", what, workbench.Printable(abbreviated(text)), cut, tok.ContextLength)
	}
	return nil
}

// abbreviated is a long text's start and end.
func abbreviated(text string) string {
	if r := []rune(text); len(r) > 80 {
		return string(r[:60]) + " ... " + string(r[len(r)-15:])
	}
	return text
}
