// Package notebook runs experiments inside GoNB notebooks: a live view that updates in place
// (image, step, windows/s, loss, win rates) and, at the end, the image and the charts as
// persistent output. Outside a notebook the same calls run headless and display nothing.
//
//	run, err := notebook.RunYAML(`
//	epochs: 100
//	resolution: 128
//	targets:
//	  - features: [a large red circle on a blue sky]
//	`)
package notebook

import (
	"context"
	"errors"
	"fmt"
	"html"
	"image"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/clipwork/clipwork/internal/stopsignal"

	_ "github.com/clipwork/clipwork/clipmodel/defaultmodel" // the default model
	"github.com/clipwork/clipwork/workbench"
	"github.com/clipwork/clipwork/workbench/charts"
	"github.com/clipwork/clipwork/workbench/expfile"
	"github.com/clipwork/clipwork/workbench/report"
	"github.com/clipwork/clipwork/workbench/runstore"
	"github.com/clipwork/clipwork/workbench/store"
	"github.com/janpfeifer/gonb/gonbui"
	"github.com/janpfeifer/gonb/gonbui/protocol"
)

// Results is where notebook runs are stored: $CLIPWORK_RESULTS, else, for a notebook in a
// folder named notebooks (this checkout's), results/ beside that folder, where the CLI's runs
// go, else results/ in the notebook's folder (notebooks run in their own folder).
var Results = defaultResults()

func defaultResults() string {
	if dir := os.Getenv("CLIPWORK_RESULTS"); dir != "" {
		return dir
	}
	if wd, err := os.Getwd(); err == nil && filepath.Base(wd) == "notebooks" {
		return filepath.Join("..", "results")
	}
	return "results"
}

// Result is a finished notebook run and the results folder that holds it.
type Result struct {
	*workbench.Run
	// Dir is the run's folder under Results.
	Dir string
}

// yamlName names the YAML text of RunYAML and ComparePrompts in errors, whose lines count from
// the line of the opening backquote.
const yamlName = "the YAML text"

// RunYAML runs an experiment written in YAML (settings as in clipwork run --set) with a live
// view, stores it under Results like the CLI does, and shows the final image and charts.
func RunYAML(text string, settings ...string) (*Result, error) {
	defer gonbui.Sync()
	file, err := expfile.Parse(yamlName, []byte(text), settings...)
	if err != nil {
		return nil, err
	}
	for _, note := range file.Notes {
		fmt.Println(note)
	}
	return RunFile(file, file.RunName("notebook"), true)
}

// RunFile runs a parsed experiment like RunYAML; name names its results folder (RunYAML uses
// the experiment's name:, else its first prompt), and charts says whether to show the charts at
// the end.
func RunFile(file *expfile.File, name string, withCharts bool) (*Result, error) {
	return runFile(file, name, &LiveView{Every: time.Second, Charts: withCharts})
}

// runFile runs a parsed experiment with a live view; a file with a sweep is many runs, which
// clipwork sweep runs.
func runFile(file *expfile.File, name string, view *LiveView) (*Result, error) {
	if file.Sweep != nil {
		return nil, fmt.Errorf("%s: the experiment has a sweep: save it as a file and run its variants with clipwork sweep "+
			"(in a cell, from the notebooks folder: !cd .. && go run ./cmd/clipwork sweep FILE --out results), then show them "+
			"with notebook.Sweep(FOLDER)", file.Sweep.Position)
	}
	defer gonbui.Sync()
	ctx, stop := stopsignal.Context(context.Background()) // Jupyter's interrupt stops the run at its next step, saved
	defer stop()
	run, err := newRun(file)
	if err != nil {
		return nil, err
	}
	dir, err := runstore.Create(Results, name)
	if err != nil {
		return nil, err
	}
	defer dir.Close()
	return runIn(ctx, dir, file, run, nil, view)
}

// Resume continues a run folder that was interrupted (or, with steps above its length, a
// finished one) with a live view and the charts at the end, exactly as if never stopped, as
// clipwork run --resume does; steps 0 keeps the run's length.
func Resume(path string, steps int) (*Result, error) {
	defer gonbui.Sync()
	ctx, stop := stopsignal.Context(context.Background())
	defer stop()
	dir, file, state, err := runstore.OpenToResume(path, steps)
	if err != nil {
		return nil, err
	}
	defer dir.Close()
	run, err := newRun(file)
	if err != nil {
		return nil, err
	}
	return runIn(ctx, dir, file, run, state, &LiveView{Every: time.Second, Charts: true})
}

// newRun loads the experiment's models and prepares its run.
func newRun(file *expfile.File) (*workbench.Run, error) {
	members, err := workbench.LoadModels(file.Experiment)
	if err != nil {
		return nil, err
	}
	return workbench.NewEnsembleRun(file.Experiment, members)
}

// runIn runs run into its folder dir with the view, from state where it resumes (nil: a new
// run); an interrupted run's error says how to continue it.
func runIn(ctx context.Context, dir *runstore.Dir, file *expfile.File, run *workbench.Run, state *workbench.State,
	view *LiveView) (*Result, error) {
	notes, err := dir.Continue(run, state)
	if err != nil {
		return nil, err
	}
	for _, note := range notes {
		fmt.Println(note)
	}
	recorder, err := runstore.NewRecorder(dir, file, run, run.ModelNames()...)
	if err != nil {
		return nil, err
	}
	result := &Result{Run: run, Dir: dir.Path}
	where, _ := filepath.Abs(dir.Path)
	view.resume = fmt.Sprintf("notebook.Resume(%q, 0)", where)
	ctx, stopOnWriteError := context.WithCancelCause(ctx)
	defer stopOnWriteError(nil)
	recorder.OnWriteError = stopOnWriteError
	err = run.Run(ctx, recorder, view)
	if err := recorder.Err(); err != nil {
		return result, fmt.Errorf("the run stopped at step %d: its folder could not be written: %w; "+
			"once the folder can be written (space freed, the folder back), continue from its last save with %s",
			run.Step(), err, view.resume)
	}
	if errors.Is(err, context.Canceled) {
		return result, fmt.Errorf("interrupted at step %d, its image and state saved in %s: continue with %s, "+
			"or clipwork run --resume %s", run.Step(), where, view.resume, where)
	}
	return result, err
}

// LiveView is the observer that shows a run in a notebook cell, updating in place.
type LiveView struct {
	// Every is how often the view refreshes (the last step always shows).
	Every time.Duration
	// Charts adds the win-rate, similarity and loss charts when the run ends.
	Charts bool
	// Transient erases the view when the run ends well, for runs that a larger display sums up
	// (ComparePrompts' grid).
	Transient bool
	// resume is how to continue the run once interrupted, set by the run that shows it.
	resume string
	id     string
	last   time.Time
}

// Observe implements workbench.Observer.
func (v *LiveView) Observe(e workbench.Event) {
	if !gonbui.IsNotebook {
		return
	}
	switch e.Kind {
	case workbench.EventStart:
		v.id = gonbui.UniqueId()
		gonbui.UpdateHTML(v.id, status(e.Run, "starting"))
	case workbench.EventStep:
		if time.Since(v.last) >= v.Every {
			v.last = time.Now()
			gonbui.UpdateHTML(v.id, status(e.Run, ""))
		}
	case workbench.EventEnd, workbench.EventStop:
		note := "done"
		switch {
		case errors.Is(e.Err, context.Canceled):
			note = "interrupted: continue with " + v.resume
		case e.Err != nil:
			note = "stopped: " + e.Err.Error()
		}
		if v.Transient && e.Err == nil {
			gonbui.UpdateHTML(v.id, "")
		} else {
			gonbui.UpdateHTML(v.id, status(e.Run, note))
		}
		if v.Charts {
			ShowCharts(e.Run.Stats())
		}
		gonbui.Sync()
	}
}

// status is the live view's HTML: the image, the numbers and the win-rate bars.
func status(run *workbench.Run, note string) string {
	var b strings.Builder
	b.WriteString(`<div style="display:flex;flex-wrap:wrap;gap:16px;align-items:flex-start;font-family:sans-serif">`)
	if img, err := run.Image(); err == nil {
		b.WriteString(imageTag(img, "", 512))
	}
	fmt.Fprintf(&b, "<div><b>step %d / %d</b> %s<br>%.2f windows/s", run.Step(), run.Steps(), html.EscapeString(note),
		run.WindowsPerSecond())
	if h := run.Stats().History; len(h) > 0 {
		fmt.Fprintf(&b, ", loss %.4f", h[len(h)-1].Loss)
	}
	b.WriteString(winRateBars(run.Stats()))
	b.WriteString("</div></div>")
	return b.String()
}

// winRateBars is every target's win rates as horizontal bars, plain HTML so it updates cheaply;
// targets that apply every feature in every window show similarities only.
func winRateBars(stats *workbench.Stats) string {
	var b strings.Builder
	for _, t := range stats.Targets {
		if t.ConstraintsOnly() {
			fmt.Fprintf(&b, "<p><b>%s</b> (constraints only, %d windows)</p>", html.EscapeString(t.Name), t.Windows)
			continue
		}
		fmt.Fprintf(&b, "<p><b>%s</b> (select %s, %d windows)</p><table>", html.EscapeString(t.Name),
			html.EscapeString(t.Select), t.Windows)
		for j, f := range t.Features {
			fmt.Fprintf(&b, "<tr><td>%s</td>%s<td>similarity now %.3f, mean %.3f</td></tr>", html.EscapeString(f.Label),
				winRateCells(t, j), f.SimilarityLast, f.SimilarityMean)
		}
		b.WriteString("</table>")
	}
	return b.String()
}

// winRateCells are a feature's bar and win rate, or why it has none.
func winRateCells(t *workbench.TargetStats, j int) string {
	rate, ok := t.WinRate(j)
	switch {
	case ok:
		return fmt.Sprintf(`<td><div style="background:#4a7ebb;height:10px;width:%.0fpx"></div></td><td>won %.1f%%</td>`,
			200*rate, 100*rate)
	case t.Features[j].EveryWindow:
		return "<td></td><td>anti-text: in every window</td>"
	default:
		return "<td></td><td>applied in every window</td>"
	}
}

// imageTag shows an image at least size pixels wide, upscaled by a whole factor without
// smoothing, so small images stay sharp.
func imageTag(img image.Image, caption string, size int) string {
	src, err := gonbui.EmbedImageAsPNGSrc(img)
	if err != nil {
		return html.EscapeString(err.Error())
	}
	w, h := img.Bounds().Dx(), img.Bounds().Dy()
	scale := max(1, (size+w-1)/max(w, 1))
	tag := fmt.Sprintf(`<img src="%s" width="%d" height="%d" style="image-rendering:pixelated">`, src, w*scale, h*scale)
	if caption == "" {
		return tag
	}
	return fmt.Sprintf(`<figure style="margin:4px">%s<figcaption>%s</figcaption></figure>`, tag, html.EscapeString(caption))
}

// ShowCharts displays a run's charts (see charts.Run) two per row as one output.
func ShowCharts(stats *workbench.Stats) {
	DisplayCharts(charts.Run(stats))
}

// DisplayCharts shows charts two per row as one display item with two renderings: HTML that
// draws them with ECharts where the notebook may run scripts (and shows the static image where
// it may not), and the static SVG for GitHub, nbviewer and nbconvert's Markdown and PDF.
//
// ECharts (1 MB) reaches the page in a transient output that is erased once the charts are
// drawn: the page keeps it, the saved notebook does not, so an executed notebook stays small and
// shows the static charts until its cells run again.
func DisplayCharts(cs []charts.Chart) {
	if !gonbui.IsNotebook || len(cs) == 0 {
		return
	}
	defer gonbui.Sync()
	svg, err := charts.GridSVG(cs)
	var grid string
	if err == nil {
		grid, err = charts.GridHTML(cs, svg)
	}
	if err != nil {
		gonbui.DisplayHTML("<pre>charts: " + html.EscapeString(err.Error()) + "</pre>")
		return
	}
	names := make([]string, len(cs))
	for i, c := range cs {
		names[i] = c.Name
	}
	script := "clipwork-echarts-" + gonbui.UniqueId()
	gonbui.UpdateHTML(script, charts.Script())
	gonbui.SendData(&protocol.DisplayData{Data: map[protocol.MIMEType]any{
		protocol.MIMETextHTML:  grid,
		protocol.MIMEImageSVG:  svg,
		protocol.MIMETextPlain: "charts: " + strings.Join(names, ", "),
	}})
	gonbui.UpdateHTML(script, "")
}

// Grid displays images side by side with captions.
func Grid(images []image.Image, captions []string) {
	if !gonbui.IsNotebook {
		return
	}
	var b strings.Builder
	b.WriteString(`<div style="display:flex;flex-wrap:wrap;gap:8px">`)
	for i, img := range images {
		caption := ""
		if i < len(captions) {
			caption = captions[i]
		}
		b.WriteString(imageTag(img, caption, 256))
	}
	b.WriteString("</div>")
	gonbui.DisplayHTML(b.String())
	gonbui.Sync()
}

// ComparePrompts runs the same experiment once per prompt, replacing the features of every
// target with that prompt, and shows the images side by side.
func ComparePrompts(text string, prompts ...string) ([]*Result, error) {
	var runs []*Result
	var images []image.Image
	for _, p := range prompts {
		file, err := expfile.Parse(yamlName, []byte(text))
		if err != nil {
			return nil, err
		}
		for i := range file.Experiment.Targets {
			file.Experiment.Targets[i].Features = []workbench.Feature{{Text: p}}
		}
		run, err := runFile(file, file.RunName("sweep"), &LiveView{Every: time.Second, Transient: true})
		if err != nil {
			return runs, err
		}
		img, err := run.Image()
		if err != nil {
			return runs, err
		}
		runs, images = append(runs, run), append(images, img)
	}
	Grid(images, prompts)
	return runs, nil
}

// Compare shows runs side by side, as CompareFolders shows their folders: their images, the
// settings that differ, and grouped win-rate charts per target.
func Compare(runs ...*Result) error {
	dirs := make([]string, len(runs))
	for i, r := range runs {
		dirs[i] = r.Dir
	}
	return CompareFolders(dirs...)
}

// CompareFolders compares stored runs (folders under Results, or anywhere, or in stores:
// s3://bucket/prefix/run, file:///folder/run): their images, the settings that differ, and
// grouped win-rate charts.
func CompareFolders(paths ...string) error {
	defer gonbui.Sync()
	dirs, remove, err := store.LocalCopies(context.Background(), paths, runstore.StateFile)
	if err != nil {
		return err
	}
	defer remove()
	if err := report.RefuseSweeps(dirs, paths); err != nil {
		return err
	}
	runs, err := report.Load(dirs)
	if err != nil {
		return err
	}
	if !gonbui.IsNotebook {
		return nil
	}
	images, err := report.Images(runs)
	if err != nil {
		return err
	}
	gonbui.DisplayHTML(images + report.SettingsTable(runs))
	DisplayCharts(report.CompareCharts(runs))
	return nil
}

// ExportCharts writes a stored run's charts (a folder, or in a store as CompareFolders takes)
// into out as SVG, HTML, PNG (with Chromium) and CSV, as clipwork export charts does, and lists
// the files written.
func ExportCharts(path, out string) error {
	dir, remove, err := store.LocalCopy(context.Background(), path, runstore.StateFile)
	if err != nil {
		return err
	}
	defer remove()
	if err := report.RefuseSweeps([]string{dir}, []string{path}); err != nil {
		return err
	}
	runs, err := report.Load([]string{dir})
	if err != nil {
		return err
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	var log strings.Builder
	if err := report.Export(runs[0], out, report.FindChromium(), &log); err != nil {
		return err
	}
	if gonbui.IsNotebook {
		gonbui.DisplayHTML("<pre>" + html.EscapeString(log.String()) + "</pre>")
		gonbui.Sync()
	}
	return nil
}
