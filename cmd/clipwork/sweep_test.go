package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/clipwork/clipwork/workbench/runstore"
	"github.com/clipwork/clipwork/workbench/sweep"
	batchv1 "k8s.io/api/batch/v1"
	"sigs.k8s.io/yaml"
)

// demoSweep are the arguments of a 2x2 sweep of the demo, small on the tiny random model.
func demoSweep(out string, steps int) []string {
	return []string{"sweep", "../../experiments/demo.yaml", "--vary", "seed=1..2", "--vary", "learnrate=0.02,0.04",
		"--set", "model=random:tiny", "--set", "epochs=" + strconv.Itoa(steps), "--set", "resolution=40",
		"--out", out, "--quiet"}
}

var demoFolders = []string{"seed-1_learnrate-0.02", "seed-1_learnrate-0.04", "seed-2_learnrate-0.02", "seed-2_learnrate-0.04"}

// TestSweepRunsSkipsAndShows runs a 2x2 sweep, runs it again (every variant skipped, no new
// folder), and checks the manifest and the runs table.
func TestSweepRunsSkipsAndShows(t *testing.T) {
	out := t.TempDir()
	first := runCLI(t, demoSweep(out, 2)...)
	dir := filepath.Join(out, "demo-sweep")
	for i, f := range demoFolders {
		if !strings.Contains(first, "variant "+strconv.Itoa(i)+" ("+f+")") {
			t.Errorf("variant %d (%s) did not run:\n%s", i, f, first)
		}
	}
	if summary := "sweep " + dir + ": 4 variants finished in "; !strings.Contains(first, summary) ||
		!strings.Contains(first, "clipwork runs "+dir+" prints this table; add --chart learnrate") {
		t.Errorf("the sweep ends without its summary %q:\n%s", summary, first)
	}
	second := runCLI(t, demoSweep(out, 2)...)
	if strings.Count(second, "finished, skipped") != 4 {
		t.Errorf("the second call ran again:\n%s", second)
	}
	entries, _ := os.ReadDir(dir)
	entries = slices.DeleteFunc(entries, func(e os.DirEntry) bool { return e.Name() == runstore.LockFile })
	if len(entries) != 5 {
		t.Errorf("%d entries in the sweep folder, want 4 variants and sweep.json (and the lock)", len(entries))
	}
	m, err := sweep.ReadManifest(dir)
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range m.Variants {
		if v.Index != i || v.Folder != demoFolders[i] || v.Status != "finished" {
			t.Errorf("manifest variant %d: %+v", i, v)
		}
	}
	table := strings.Split(strings.TrimSpace(runCLI(t, "runs", dir)), "\n")
	if len(table) != 7 || table[5] != "[1] composition: a large red circle in the centre on a blue sky" || !strings.HasPrefix(strings.Join(strings.Fields(table[0]), " "), "# seed learnrate status steps composition:") {
		t.Fatalf("runs table:\n%s", strings.Join(table, "\n"))
	}
	if listing := runCLI(t, "runs", out); !strings.Contains(listing, "sweep demo-sweep: 4 variants of seed, learnrate (clipwork runs "+dir+")") {
		t.Errorf("runs of the results folder does not name the sweep:\n%s", listing)
	}
	if row := strings.Fields(table[3]); strings.Join(row[:5], " ") != "2 2 0.02 finished 2/2" || row[5] != "final" || row[6] != "sim" {
		t.Errorf("row of variant 2: %v", row)
	}
	checkSweepChart(t, out, dir)
}

// checkSweepChart writes the loss over learnrate of the demo sweep in dir, and checks that bad
// --chart and --metric values are refused.
func checkSweepChart(t *testing.T, out, dir string) {
	t.Helper()
	if output := runCLI(t, "runs", dir, "--chart", "learnrate", "--metric", "loss"); !strings.Contains(output, "chart: "+dir+"/chart-learnrate-loss.svg") {
		t.Errorf("runs --chart:\n%s", output)
	}
	svg, _ := os.ReadFile(filepath.Join(dir, "chart-learnrate-loss.svg"))
	for _, want := range []string{"loss at the last step over learnrate", "seed=1", "seed=2"} {
		if !strings.Contains(string(svg), want) {
			t.Errorf("the chart lacks %q", want)
		}
	}
	here := t.TempDir()
	t.Chdir(here) // a store's sweep is read from a copy: its chart lands in the working folder
	if output := runCLI(t, "runs", "file://"+filepath.ToSlash(dir), "--chart", "seed"); !strings.Contains(output, "chart: chart-seed-similarity.svg") {
		t.Errorf("runs --chart of a store:\n%s", output)
	}
	if _, err := os.Stat(filepath.Join(here, "chart-seed-similarity.svg")); err != nil {
		t.Error(err)
	}
	if output := runCLI(t, "runs", dir, "--chart", "seed", "--metric", "similarity:details"); !strings.Contains(output, "chart-seed-similarity-details.svg") {
		t.Errorf("a metric of a named target is its own chart file:\n%s", output)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"runs", dir, "--chart", "init.std"}, `varies seed, learnrate, not "init.std"`},
		{[]string{"runs", dir, "--chart", "seed", "--metric", "speed"}, "--metric: metric \"speed\""},
		{[]string{"runs", out, "--chart", "seed"}, "holds no sweep"},
	} {
		var stdout, stderr bytes.Buffer
		if code := run(c.args, &stdout, &stderr); code == 0 || !strings.Contains(stderr.String(), c.want) {
			t.Errorf("%v: exit %d, %q; want an error with %q", c.args, code, stderr.String(), c.want)
		}
	}
}

// TestSweepRefusesAnotherSweepInItsFolder checks that a sweep of other variants does not take
// over a sweep folder, and that bad sweeps fail before anything runs.
func TestSweepRefusesAnotherSweepInItsFolder(t *testing.T) {
	out := t.TempDir()
	runCLI(t, demoSweep(out, 1)...)
	for _, c := range []struct {
		args []string
		want string
	}{
		{append(demoSweep(out, 1), "--vary", "init.std=0.1,0.2"), "holds another sweep"},
		{append(demoSweep(out, 1), "--index", "4"), "variants 0 to 3"},
		{append(demoSweep(out, 1), "--index", "-2"), "numbered from 0"},
		{append(demoSweep(out, 1), "--index", "-1"), "numbered from 0"},
		{demoSweep(out, 2), "holds another sweep"},
		{demoSweep("s3:/bucket/x", 1), "slash missing"},
		{[]string{"export", "charts", filepath.Join(out, "demo-sweep", demoFolders[0]), "--out", "s3://bucket/charts"}, "not into a store"},
		{[]string{"compare", filepath.Join(out, "demo-sweep", demoFolders[0]), "--html", "s3:/bucket/x.html"}, "slash missing"},
		{append(demoSweep(out, 1), "--name", filepath.Base(runIn(t, out))), "is a run folder, not a sweep's"},
		{[]string{"compare", filepath.Join(out, "demo-sweep")}, "demo-sweep is a sweep folder, not a run: show it with clipwork runs"},
		{[]string{"export", "charts", "file://" + filepath.Join(out, "demo-sweep")}, "file://" + filepath.Join(out, "demo-sweep") + " is a sweep folder"},
		{append(demoSweep(out, 1), "--vary", "nosuchkey=1,2", "--name", "x"), "variant 0"},
		{append(demoSweep(out, 1), "--zip", "--vary", "init.std=0.1", "--name", "y"), "one length"},
		{[]string{"sweep", "--vary", "seed=1,2"}, "experiment files"},
		{append(demoSweep(out, 1), "--vary", "seed=3", "--name", "z"), "--vary seed is given twice"},
	} {
		var stdout, stderr bytes.Buffer
		if code := run(c.args, &stdout, &stderr); code == 0 || !strings.Contains(stderr.String(), c.want) {
			t.Errorf("%v: exit %d, %q; want an error with %q", c.args[len(c.args)-2:], code, stderr.String(), c.want)
		}
	}
}

// cliProcessEnv marks a test binary started as the clipwork command (see TestCLIProcess).
const cliProcessEnv = "CLIPWORK_TEST_CLI_PROCESS"

// TestCLIProcess is not a test: it is the clipwork command, run by the shim that cliShim
// writes with the command's arguments after "--", as a cluster task runs clipwork.
func TestCLIProcess(t *testing.T) {
	if os.Getenv(cliProcessEnv) == "" {
		t.Skip("run by the simulated cluster tasks")
	}
	os.Exit(run(flag.Args(), os.Stdout, os.Stderr))
}

// cliShim writes an executable named clipwork, which runs this test binary as the clipwork
// command, into a new folder, and returns its path and the environment of a task that finds it
// on its PATH.
func cliShim(t *testing.T) (string, []string) {
	t.Helper()
	binary, err := filepath.Abs(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	script := "#!/bin/sh\nexec " + shellQuote(binary) + " -test.run='^TestCLIProcess$' -- \"$@\"\n"
	if err := os.WriteFile(filepath.Join(dir, "clipwork"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	env := append(os.Environ(), "PATH="+dir+string(os.PathListSeparator)+os.Getenv("PATH"), cliProcessEnv+"=1")
	return filepath.Join(dir, "clipwork"), env
}

// taskStarter makes the command of a cluster task of an index.
type taskStarter func(index int) *exec.Cmd

// jobTasks decodes the Indexed Job that clipwork sweep args --k8s-job prints and runs its
// container's command for an index as the kubelet would: JOB_COMPLETION_INDEX set, and
// the command expanded as the kubelet expands it (see kubeletExpand).
func jobTasks(t *testing.T, args ...string) taskStarter {
	t.Helper()
	var job batchv1.Job
	if err := yaml.UnmarshalStrict([]byte(runCLI(t, append(args, "--k8s-job", "demo", "--image", "clipwork:test")...)), &job); err != nil {
		t.Fatal(err)
	}
	command := job.Spec.Template.Spec.Containers[0].Command
	if command[0] != "clipwork" {
		t.Fatalf("the Job runs %q, not clipwork", command[0])
	}
	clipwork, env := cliShim(t)
	return func(index int) *exec.Cmd {
		args := make([]string, len(command)-1)
		for i, arg := range command[1:] {
			args[i] = kubeletExpand(arg, map[string]string{"JOB_COMPLETION_INDEX": strconv.Itoa(index)})
		}
		cmd := exec.Command(clipwork, args...)
		cmd.Env = append(env, "JOB_COMPLETION_INDEX="+strconv.Itoa(index))
		return cmd
	}
}

// kubeletExpand expands arg as the kubelet expands a container's command: $(NAME) of a variable
// in env is its value, $$ is $, anything else stays as it is.
func kubeletExpand(arg string, env map[string]string) string {
	var b strings.Builder
	for i := 0; i < len(arg); i++ {
		if arg[i] != '$' || i+1 == len(arg) {
			b.WriteByte(arg[i])
			continue
		}
		if arg[i+1] == '$' {
			b.WriteByte('$')
			i++
			continue
		}
		if name, _, ok := strings.Cut(arg[i+1:], ")"); ok && strings.HasPrefix(name, "(") && env[name[1:]] != "" {
			b.WriteString(env[name[1:]])
			i += len(name) + 1
			continue
		}
		b.WriteByte(arg[i])
	}
	return b.String()
}

// slurmTasks writes the sbatch script that clipwork sweep args --slurm prints and runs it with
// bash for an index, as a Slurm array task: the index in SLURM_ARRAY_TASK_ID.
func slurmTasks(t *testing.T, args ...string) taskStarter {
	t.Helper()
	script := filepath.Join(t.TempDir(), "sweep.sbatch")
	if err := os.WriteFile(script, []byte(runCLI(t, append(args, "--slurm")...)), 0o644); err != nil {
		t.Fatal(err)
	}
	_, env := cliShim(t)
	return func(index int) *exec.Cmd {
		cmd := exec.Command("bash", script)
		cmd.Env = append(env, "SLURM_ARRAY_TASK_ID="+strconv.Itoa(index))
		return cmd
	}
}

// startTask starts a cluster task's command with its output kept for the test's log.
func startTask(t *testing.T, start taskStarter, index int) *exec.Cmd {
	t.Helper()
	cmd := start(index)
	var output bytes.Buffer
	cmd.Stdout, cmd.Stderr = &output, &output
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("task %d:\n%s", index, output.String())
		}
	})
	return cmd
}

// TestSimulatedIndexedJob runs the 2x2 sweep's Kubernetes Job (see simulateCluster) into a
// folder that every task shares, a volume. Every variant must finish with an image
// byte-identical to the same variant run alone.
func TestSimulatedIndexedJob(t *testing.T) {
	const steps = 60
	store := t.TempDir()
	simulateCluster(t, jobTasks(t, append(demoSweep(store, steps), "--pvc", "results")...), func(rel string) ([]byte, error) {
		return os.ReadFile(filepath.Join(store, filepath.FromSlash(rel)))
	})
	checkSameAsAlone(t, store, steps, 0, 1, 2, 3)
}

// simulateCluster runs the 2x2 sweep's tasks as a cluster would: one process per index, all at
// once; one is killed mid-run (SIGKILL, as a lost node) after its first save and started again,
// and must resume. read reads a file of the sweep's store by its path.
func simulateCluster(t *testing.T, start taskStarter, read func(rel string) ([]byte, error)) {
	t.Helper()
	tasks := make([]*exec.Cmd, len(demoFolders))
	for i := range tasks {
		tasks[i] = startTask(t, start, i)
	}
	victim := "demo-sweep/" + demoFolders[1]
	waitFor(t, read, victim+"/state.safetensors") // its first save: from here it resumes
	tasks[1].Process.Signal(syscall.SIGKILL)
	tasks[1].Wait()
	var stats struct{ Status string }
	data, _ := read(victim + "/stats.json")
	json.Unmarshal(data, &stats)
	if stats.Status != "running" {
		t.Fatalf("the killed task's variant is %q, not stopped mid-run: make the run longer", stats.Status)
	}
	tasks[1] = startTask(t, start, 1)
	for i, task := range tasks {
		if err := task.Wait(); err != nil {
			t.Fatalf("task %d: %v", i, err)
		}
	}
	if output := tasks[1].Stdout.(*bytes.Buffer).String(); !strings.Contains(output, "variant 1 ("+demoFolders[1]+"): resuming") {
		t.Errorf("the restarted task did not resume its variant:\n%s", output)
	}
}

// checkSameAsAlone checks that the sweep's variants in store have the image that each has when
// it runs alone.
func checkSameAsAlone(t *testing.T, store string, steps int, indices ...int) {
	t.Helper()
	for _, i := range indices {
		f := demoFolders[i]
		alone := t.TempDir()
		runCLI(t, append(demoSweep(alone, steps), "--index", strconv.Itoa(i))...)
		want, err := os.ReadFile(filepath.Join(alone, "demo-sweep", f, "image.png"))
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(filepath.Join(store, "demo-sweep", f, "image.png"))
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("variant %d (%s): the job's image differs from the variant run alone (%v)", i, f, err)
		}
	}
}

func waitForFile(t *testing.T, path string) {
	t.Helper()
	waitFor(t, os.ReadFile, path)
}

// waitFor waits until read finds the file name.
func waitFor(t *testing.T, read func(name string) ([]byte, error), name string) {
	t.Helper()
	for start := time.Now(); ; time.Sleep(5 * time.Millisecond) {
		if _, err := read(name); err == nil {
			return
		}
		if time.Since(start) > 2*time.Minute {
			t.Fatalf("%s did not appear", name)
		}
	}
}

// TestInterruptedSweepResumes stops a local sweep with Ctrl-C during its first variant: the
// sweep stops there, and the same command again resumes the variant from its state and runs the
// rest, the images as the variants' alone.
func TestInterruptedSweepResumes(t *testing.T) {
	const steps = 300
	store := t.TempDir()
	done := make(chan string)
	go func() {
		var stdout, stderr bytes.Buffer
		run(demoSweep(store, steps), &stdout, &stderr)
		done <- stdout.String() + stderr.String()
	}()
	waitForFile(t, filepath.Join(store, "demo-sweep", demoFolders[0], "stats.json"))
	time.Sleep(200 * time.Millisecond)
	syscall.Kill(os.Getpid(), syscall.SIGINT)
	if output := <-done; !strings.Contains(output, "interrupted at variant 0") {
		t.Fatalf("after Ctrl-C:\n%s", output)
	}
	m, _ := sweep.ReadManifest(filepath.Join(store, "demo-sweep"))
	if m == nil || m.Variants[0].Status != "interrupted" || m.Variants[1].Status != "pending" {
		t.Fatalf("manifest after Ctrl-C: %+v", m)
	}
	if output := runCLI(t, demoSweep(store, steps)...); !strings.Contains(output, "variant 0 ("+demoFolders[0]+"): resuming") {
		t.Errorf("variant 0 was not resumed:\n%s", output)
	}
	checkSameAsAlone(t, store, steps, 0, 1)
}

// TestSweepFromTheFile runs a sweep: given in an experiment file, a --vary replacing one of its
// keys and adding another, and checks that clipwork run refuses the file.
func TestSweepFromTheFile(t *testing.T) {
	out := t.TempDir()
	file := filepath.Join(t.TempDir(), "lr.yaml")
	os.WriteFile(file, []byte("sweep:\n  vary:\n    learnrate: [0.02, 0.04]\n    seed: 1..3\n"), 0o644)
	args := []string{"sweep", "../../experiments/demo.yaml", file, "--vary", "seed=5", "--vary", "init.std=0.1,0.2",
		"--set", "model=random:tiny", "--set", "epochs=1", "--set", "resolution=40", "--out", out, "--quiet"}
	runCLI(t, args...)
	m, err := sweep.ReadManifest(filepath.Join(out, "lr-sweep"))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, v := range m.Variants {
		got = append(got, v.Folder)
	}
	want := []string{"learnrate-0.02_seed-5_init.std-0.1", "learnrate-0.02_seed-5_init.std-0.2",
		"learnrate-0.04_seed-5_init.std-0.1", "learnrate-0.04_seed-5_init.std-0.2"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("variants %v, want %v", got, want)
	}
	if checked := runCLI(t, "check", "../../experiments/demo.yaml", file); !strings.Contains(checked, "sweep: 6 variants of learnrate, seed") {
		t.Errorf("check of a file with a sweep:\n%s", checked)
	}
	var stdout, stderr bytes.Buffer
	code := run([]string{"run", "../../experiments/demo.yaml", file, "--out", out}, &stdout, &stderr)
	if code == 0 || !strings.Contains(stderr.String(), file+":1: the experiment has a sweep: run its variants with clipwork sweep") {
		t.Errorf("run of a file with a sweep: exit %d, %s", code, stderr.String())
	}
	zipped := append(slices.Clone(args), "--zip", "--name", "zipped")
	zipped[slices.Index(zipped, "seed=5")] = "seed=1,2"
	runCLI(t, zipped...)
	if m, err := sweep.ReadManifest(filepath.Join(out, "zipped")); err != nil || len(m.Variants) != 2 || !m.Zip {
		t.Errorf("--zip over the file's sweep: %+v, %v", m, err)
	}
	os.WriteFile(file, []byte("sweep: {vary: {learnrate: [0.02, 0.04], seed: 1..2}, zip: true}\n"), 0o644)
	script := runCLI(t, append(args, "--zip=false", "--slurm")...)
	if !strings.Contains(script, "--array=0-3") || !strings.Contains(script, " --zip=false ") {
		t.Errorf("a task's command must keep --zip=false over the file's zip: true:\n%s", script)
	}
}

// TestParallelSweepIsTheSameAsAlone runs the 2x2 sweep two variants at once: every image is the
// one its variant makes alone, and each output line names its variant.
func TestParallelSweepIsTheSameAsAlone(t *testing.T) {
	const steps = 6
	store := t.TempDir()
	output := runCLI(t, append(demoSweep(store, steps), "-j", "2")...)
	for i, f := range demoFolders {
		if !strings.Contains(output, "["+strconv.Itoa(i)+"] variant "+strconv.Itoa(i)+" ("+f+")") {
			t.Errorf("no line of variant %d:\n%s", i, output)
		}
	}
	checkSameAsAlone(t, store, steps, 0, 1, 2, 3)
	if again := runCLI(t, append(demoSweep(store, steps), "-j", "2")...); strings.Count(again, "finished, skipped") != 4 {
		t.Errorf("the second call ran again:\n%s", again)
	}
}

// TestJobsAreLoweredToTheMemory plans the 2x2 sweep with -j 4 against less memory than four
// variants' estimates: it runs fewer at once, and says so.
func TestJobsAreLoweredToTheMemory(t *testing.T) {
	plan := demoPlan(t)
	one := plan.estimate(plan.manifest.Variants[0])
	if one <= 0 {
		t.Fatalf("estimate %d", one)
	}
	var out bytes.Buffer
	if n := plan.fitJobs(plan.manifest.Variants, 4, 2*one+one/2, &out); n != 2 || !strings.Contains(out.String(), "-j 4: 4 variants at once need about") ||
		!strings.Contains(out.String(), "running 2 at once") {
		t.Errorf("-j 4 in the memory of 2.5 variants: %d at once, %q", n, out.String())
	}
	out.Reset()
	if n := plan.fitJobs(plan.manifest.Variants, 8, 100*one, &out); n != 4 || out.Len() > 0 {
		t.Errorf("-j 8 of 4 variants in plenty of memory: %d at once, %q", n, out.String())
	}
}

// demoPlan is the plan of the 2x2 sweep of the demo (as demoSweep, 2 steps) in a new folder.
func demoPlan(t *testing.T) *sweepPlan {
	t.Helper()
	plan, err := planSweep([]string{"../../experiments/demo.yaml"}, sweepFlags{vary: repeated{"seed=1..2", "learnrate=0.02,0.04"}, set: repeated{
		"model=random:tiny", "resolution=40", "epochs=2"}, out: t.TempDir(), quiet: true})
	if err != nil {
		t.Fatal(err)
	}
	return plan
}

// TestVariantCancelledWhileLoadingDoesNotStart checks that a variant whose sweep was stopped
// (Ctrl-C) before the variant's run listens for it, e.g. while its model loads, does not run.
func TestVariantCancelledWhileLoadingDoesNotStart(t *testing.T) {
	plan := demoPlan(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	v := plan.manifest.Variants[0]
	var out bytes.Buffer
	if err := plan.runVariant(ctx, v, &out); !errors.Is(err, context.Canceled) {
		t.Errorf("a cancelled variant: %v, want context.Canceled\n%s", err, out.String())
	}
	if _, err := os.Stat(filepath.Join(plan.dir, v.Folder)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a cancelled variant made its folder: %v\n%s", err, out.String())
	}
}

// TestInterruptedSweepReportsFailures checks that an interrupted sweep reports, besides the
// variants that Ctrl-C stopped, those that failed otherwise and a manifest it cannot write; one
// only interrupted says how to go on and exits as an interrupted command.
func TestInterruptedSweepReportsFailures(t *testing.T) {
	plan := demoPlan(t)
	todo := plan.manifest.Variants[:2]
	boom := errors.New("boom")
	var out bytes.Buffer
	err := plan.outcome(true, todo, []error{context.Canceled, boom}, &out)
	if !errors.Is(err, boom) || !strings.Contains(fmt.Sprint(err), "interrupted at variant 0 ("+demoFolders[0]+")") {
		t.Errorf("interrupted with a failed variant: %v", err)
	}
	if want := "variant 1 (" + demoFolders[1] + ") failed: boom"; !strings.Contains(out.String(), want) {
		t.Errorf("output %q, want %q", out.String(), want)
	}
	out.Reset()
	if err := plan.outcome(true, todo, []error{context.Canceled, nil}, &out); !errors.Is(err, errInterrupted) ||
		!strings.Contains(out.String(), "run the same command again") {
		t.Errorf("interrupted alone: %v (%q), want the interruption's exit and how to go on", err, out.String())
	}
	if err := os.WriteFile(filepath.Join(plan.dir, runstore.ConfigFile), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := plan.outcome(true, todo, []error{context.Canceled, nil}, &out); !strings.Contains(fmt.Sprint(err), "is a run folder") {
		t.Errorf("interrupted with a manifest that cannot be written: %v", err)
	}
}

func TestJobsThatFit(t *testing.T) {
	for _, c := range []struct {
		estimates       []int64
		jobs, available int
		want            int
	}{
		{[]int64{3, 2, 2, 1}, 4, 8, 4},
		{[]int64{3, 2, 2, 1}, 4, 7, 3},
		{[]int64{3, 2, 2, 1}, 2, 100, 2},
		{[]int64{3, 2}, 2, 1, 1}, // not even one fits: the run refuses itself
		{[]int64{0, 0}, 2, 1, 2}, // unknown estimates
	} {
		if got := jobsThatFit(c.estimates, c.jobs, int64(c.available)); got != c.want {
			t.Errorf("%v, -j %d, %d available: %d, want %d", c.estimates, c.jobs, c.available, got, c.want)
		}
	}
}

func TestLinePrefixerKeepsLinesWhole(t *testing.T) {
	var out bytes.Buffer
	var mu sync.Mutex
	a := &linePrefixer{mu: &mu, w: &out, prefix: "[0] "}
	b := &linePrefixer{mu: &mu, w: &out, prefix: "[1] "}
	a.Write([]byte("one "))
	b.Write([]byte("two\n\nthree\nfo"))
	a.Write([]byte("line\n"))
	b.Write([]byte("ur"))
	b.Flush()
	if want := "[1] two\n[1] three\n[0] one line\n[1] four\n"; out.String() != want {
		t.Errorf("%q, want %q", out.String(), want)
	}
}

// TestInterruptedParallelSweepResumes stops a sweep that runs two variants at once with Ctrl-C:
// both stay resumable, and the same command again resumes both, the images as the variants'
// alone.
func TestInterruptedParallelSweepResumes(t *testing.T) {
	const steps = 300
	store := t.TempDir()
	args := append(demoSweep(store, steps), "-j", "2")
	done := make(chan string)
	go func() {
		var stdout, stderr bytes.Buffer
		run(args, &stdout, &stderr)
		done <- stdout.String() + stderr.String()
	}()
	for _, f := range demoFolders[:2] {
		waitForFile(t, filepath.Join(store, "demo-sweep", f, "stats.json"))
	}
	time.Sleep(200 * time.Millisecond)
	syscall.Kill(os.Getpid(), syscall.SIGINT)
	want := "interrupted at variants 0 (" + demoFolders[0] + "), 1 (" + demoFolders[1] + ")"
	if output := <-done; !strings.Contains(output, want) {
		t.Fatalf("after Ctrl-C, want %q:\n%s", want, output)
	}
	m, _ := sweep.ReadManifest(filepath.Join(store, "demo-sweep"))
	if m == nil || m.Variants[0].Status != "interrupted" || m.Variants[1].Status != "interrupted" || m.Variants[2].Status != "pending" {
		t.Fatalf("manifest after Ctrl-C: %+v", m)
	}
	output := runCLI(t, args...)
	for _, i := range []int{0, 1} {
		if !strings.Contains(output, fmt.Sprintf("variant %d (%s): resuming", i, demoFolders[i])) {
			t.Errorf("variant %d was not resumed:\n%s", i, output)
		}
	}
	checkSameAsAlone(t, store, steps, 0, 1, 2, 3)
}

// TestIndexedTasksKeepEachOthersStatus runs variants 0 and 1 of a sweep in a file:// store as two
// tasks with --index, each of which downloads only its variant: the manifest keeps both finished.
func TestIndexedTasksKeepEachOthersStatus(t *testing.T) {
	root := t.TempDir()
	out := "file://" + filepath.ToSlash(root) + "/sweeps"
	for _, i := range []string{"0", "1"} {
		runCLI(t, append(demoSweep(out, 2), "--index", i)...)
	}
	m, err := sweep.ReadManifest(filepath.Join(root, "sweeps", "demo-sweep"))
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []string{"finished", "finished", "pending", "pending"} {
		if m.Variants[i].Status != want {
			t.Errorf("variant %d is %s in the store's manifest, want %s", i, m.Variants[i].Status, want)
		}
	}
}

// TestDamagedManifestIsNamedByItsURL checks that a bad sweep.json in a store is named by its
// URL, not by the path of a temporary copy.
func TestDamagedManifestIsNamedByItsURL(t *testing.T) {
	out := t.TempDir()
	dir := filepath.Join(out, "demo-sweep")
	os.MkdirAll(dir, 0o755)
	os.WriteFile(filepath.Join(dir, sweep.ManifestFile), []byte("{bad"), 0o644)
	url := "file://" + filepath.ToSlash(out)
	want := url + "/demo-sweep/sweep.json: invalid character"
	for _, args := range [][]string{demoSweep(url, 1), {"runs", url + "/demo-sweep"}} {
		var stdout, stderr bytes.Buffer
		if code := run(args, &stdout, &stderr); code == 0 || !strings.Contains(stderr.String(), want) {
			t.Errorf("clipwork %s: exit %d, %s; want %q", args[0], code, stderr.String(), want)
		}
	}
	if listed := runCLI(t, "runs", url); !strings.Contains(listed, "sweep demo-sweep: unreadable: "+want) {
		t.Errorf("runs of the results folder:\n%s\nwant the damaged sweep named with %q", listed, want)
	}
}

// runIn runs the demo small into out and returns its run folder.
func runIn(t *testing.T, out string) string {
	t.Helper()
	runCLI(t, "run", "../../experiments/demo.yaml", "--set", "model=random:tiny", "--set", "epochs=1",
		"--set", "resolution=40", "--out", out, "--quiet")
	return filepath.Join(out, "demo")
}

// TestRunsOfARunFolder checks that runs of a run folder shows that run, rather than nothing.
func TestRunsOfARunFolder(t *testing.T) {
	dir := runIn(t, t.TempDir())
	if listed := runCLI(t, "runs", dir); !strings.Contains(listed, "demo") || !strings.Contains(listed, "finished") {
		t.Errorf("runs %s:\n%s", dir, listed)
	}
}

// TestSweepTakesSteps: --steps sets every variant's length, as run's does, and a count below 1
// is refused.
func TestSweepTakesSteps(t *testing.T) {
	out := t.TempDir()
	runCLI(t, "sweep", "../../experiments/demo.yaml", "--vary", "seed=1..2", "--steps", "2", "--set", "model=random:tiny",
		"--set", "resolution=40", "--out", out, "--quiet")
	for _, variant := range []string{"seed-1", "seed-2"} {
		data, err := os.ReadFile(filepath.Join(out, "demo-sweep", variant, runstore.StatsFile))
		if err != nil || !strings.Contains(string(data), `"steps_done": 2`) {
			t.Errorf("%s: %v\n%s", variant, err, data)
		}
	}
	var stdout, stderr bytes.Buffer
	if code := run([]string{"sweep", "../../experiments/demo.yaml", "--vary", "seed=1..2", "--steps", "0"}, &stdout, &stderr); code == 0 ||
		!strings.Contains(stderr.String(), "--steps 0: a run needs at least 1 step") {
		t.Errorf("--steps 0: exit %d, %s", code, stderr.String())
	}
}

// TestSweepNotesItsFilesOnce: a sweep of a file whose texts the embedded model does not know
// prints the note once, not once per variant (nor never).
func TestSweepNotesItsFilesOnce(t *testing.T) {
	file := filepath.Join(t.TempDir(), "tree.yaml")
	os.WriteFile(file, []byte("epochs: 1\nresolution: 16\ntargets: [{features: [a green tree]}]\n"), 0o644)
	out := runCLI(t, "sweep", file, "--vary", "seed=1..3", "--out", t.TempDir(), "--quiet")
	if n := strings.Count(out, `does not know "tree"`); n != 1 {
		t.Errorf("the note printed %d times:\n%s", n, out)
	}
}

func TestCutHeadersNumbersTheLongOnes(t *testing.T) {
	long := "composition: a large red circle in the centre"
	cut, legend := cutHeaders([]string{"#", long, "details: a red circle", long + " (negative)"})
	want := []string{"#", "composition: a large red ci… [1]", "details: a red circle", "composition: a large red ci… [2]"}
	if !slices.Equal(cut, want) || !slices.Equal(legend, []string{"[1] " + long, "[2] " + long + " (negative)"}) {
		t.Errorf("cut %q, legend %q", cut, legend)
	}
}
