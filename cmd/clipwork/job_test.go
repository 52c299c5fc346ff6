package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/clipwork/clipwork/workbench/runstore"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

// TestKubernetesJobDecodesAndRuns decodes the printed Job strictly with the Kubernetes types,
// checks its fields, and runs its container's command for index 2 as a pod would.
func TestKubernetesJobDecodesAndRuns(t *testing.T) {
	store := t.TempDir()
	args := append(demoSweep(store, 2), "--k8s-job", "demo", "--image", "registry.example/clipwork:1",
		"--gpus", "1", "--parallelism", "2", "--pvc", "results")
	var job batchv1.Job
	if err := yaml.UnmarshalStrict([]byte(runCLI(t, args...)), &job); err != nil {
		t.Fatal(err)
	}
	spec := job.Spec
	if job.APIVersion != "batch/v1" || job.Kind != "Job" || job.Name != "demo" || *spec.CompletionMode != batchv1.IndexedCompletion ||
		*spec.Completions != 4 || *spec.Parallelism != 2 || *spec.BackoffLimitPerIndex != 3 {
		t.Fatalf("job: %+v", job)
	}
	pod := spec.Template.Spec
	if pod.RestartPolicy != corev1.RestartPolicyNever || len(pod.Containers) != 1 || len(pod.Volumes) != 1 ||
		pod.Volumes[0].PersistentVolumeClaim.ClaimName != "results" {
		t.Fatalf("pod: %+v", pod)
	}
	c := pod.Containers[0]
	gpus := c.Resources.Limits["nvidia.com/gpu"]
	if c.Image != "registry.example/clipwork:1" || gpus.Value() != 1 || c.VolumeMounts[0].MountPath != store ||
		c.Env[0].Name != "JOB_COMPLETION_INDEX" || c.Env[0].ValueFrom.FieldRef.FieldPath != "metadata.annotations['batch.kubernetes.io/job-completion-index']" {
		t.Fatalf("container: %+v", c)
	}
	n := len(c.Command)
	if c.Command[0] != "clipwork" || c.Command[n-2] != "--index" || c.Command[n-1] != "$(JOB_COMPLETION_INDEX)" ||
		slices.Contains(c.Command, "--k8s-job") || slices.Contains(c.Command, "--pvc") {
		t.Fatalf("command: %q", c.Command)
	}
	task := slices.Clone(c.Command[1:])
	task[len(task)-1] = "2"
	runCLI(t, task...)
	entries, _ := os.ReadDir(filepath.Join(store, "demo-sweep"))
	entries = slices.DeleteFunc(entries, func(e os.DirEntry) bool { return e.Name() == runstore.LockFile })
	if len(entries) != 2 || entries[0].Name() != demoFolders[2] {
		t.Errorf("index 2 wrote %v, want sweep.json and %s", entries, demoFolders[2])
	}
}

// TestKubernetesJobWithStore checks the Job of a sweep into a bucket: the store URL in the
// command, the credentials from a Secret, no volume.
func TestKubernetesJobWithStore(t *testing.T) {
	args := append(demoSweep("s3://bucket/sweeps", 2), "--k8s-job", "demo", "--image", "i", "--env-secret", "clipwork-s3")
	var job batchv1.Job
	if err := yaml.UnmarshalStrict([]byte(runCLI(t, args...)), &job); err != nil {
		t.Fatal(err)
	}
	c := job.Spec.Template.Spec.Containers[0]
	if i := slices.Index(c.Command, "--out"); i < 0 || c.Command[i+1] != "s3://bucket/sweeps" {
		t.Errorf("command: %q", c.Command)
	}
	if len(c.EnvFrom) != 1 || c.EnvFrom[0].SecretRef.Name != "clipwork-s3" || len(c.VolumeMounts) != 0 {
		t.Errorf("container: %+v", c)
	}
}

// TestSlurmScript checks the sbatch script line by line.
func TestSlurmScript(t *testing.T) {
	args := append(demoSweep("/shared/results", 2), "--set", "targets.details.features=[a red, circle]",
		"--slurm", "--gpus", "1", "--parallelism", "3")
	got := strings.Split(runCLI(t, args...), "\n")
	want := []string{
		"#!/bin/bash",
		"#SBATCH --job-name=demo-sweep",
		"#SBATCH --array=0-3%3",
		"#SBATCH --gpus-per-task=1",
		"#SBATCH --requeue",
		"exec clipwork sweep ../../experiments/demo.yaml --vary seed=1..2 --vary learnrate=0.02,0.04" +
			" --set model=random:tiny --set epochs=2 --set resolution=40 --set 'targets.details.features=[a red, circle]'" +
			" --out /shared/results --name demo-sweep --quiet --index \"$SLURM_ARRAY_TASK_ID\"",
		"",
	}
	if !slices.Equal(got, want) {
		t.Errorf("sbatch script:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestDirectiveWordsCannotStartCommands: a sweep's name with a newline and shell characters
// stays one word on its #SBATCH line.
func TestDirectiveWordsCannotStartCommands(t *testing.T) {
	if got := directiveWord("demo\nrm -rf ~; $(x)-sweep_1.é"); got != "demo_rm_-rf______x_-sweep_1._" {
		t.Errorf("directive word %q", got)
	}
}

// TestShellWordsPasteBack: each word, given to bash, comes back as it was.
func TestShellWordsPasteBack(t *testing.T) {
	for _, word := range []string{"results/demo", "a b", "it's", "o\nu\x1b[31mt", `back\slash"quote`, "café"} {
		out, err := exec.Command("bash", "-c", "printf %s "+shellWord(word)).Output()
		if err != nil || string(out) != word {
			t.Errorf("%q as %s came back as %q (%v)", word, shellWord(word), out, err)
		}
	}
}

// TestJobFlagsAreChecked refuses jobs that could not run.
func TestJobFlagsAreChecked(t *testing.T) {
	for _, c := range []struct {
		extra []string
		want  string
	}{
		{[]string{"--k8s-job", "x"}, "--image"},
		{[]string{"--k8s-job", "x", "--slurm", "--image", "i"}, "choose one"},
		{[]string{"--slurm", "--index", "1"}, "drop it"},
		{[]string{"--k8s-job", "x", "--image", "i", "--pvc", "c"}, "absolute path"},
		{[]string{"--slurm", "--gpus", "-1"}, "0 or more"},
		{[]string{"--k8s-job", "x", "--image", "i", "--pvc", "c", "--out", "s3://b/p"}, "drop --pvc"},
	} {
		var stdout, stderr strings.Builder
		args := append(demoSweep("relative", 2), c.extra...)
		if code := run(args, &stdout, &stderr); code == 0 || !strings.Contains(stderr.String(), c.want) {
			t.Errorf("%v: exit %d, %q; want %q", c.extra, code, stderr.String(), c.want)
		}
	}
}

// TestKubernetesJobKeepsDollars checks that a value holding $(NAME) or $$ reaches the task as
// written: Kubernetes replaces $(NAME) in a command by the container's variable NAME, and $$ by $.
func TestKubernetesJobKeepsDollars(t *testing.T) {
	prompt := "targets.0.features.0=a $(AWS_SECRET_ACCESS_KEY) circle,$$ and $(JOB_COMPLETION_INDEX)"
	args := append(demoSweep("s3://bucket/sweeps", 2), "--vary", prompt, "--k8s-job", "demo", "--image", "i")
	var job batchv1.Job
	if err := yaml.UnmarshalStrict([]byte(runCLI(t, args...)), &job); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"AWS_SECRET_ACCESS_KEY": "secret", "JOB_COMPLETION_INDEX": "3"}
	command := job.Spec.Template.Spec.Containers[0].Command
	var got []string
	for _, arg := range command {
		got = append(got, kubeletExpand(arg, env))
	}
	if !slices.Contains(got, prompt) || got[len(got)-1] != "3" {
		t.Errorf("the task runs %q, want the --vary %q and the index 3", got, prompt)
	}
}

// TestKubernetesJobNameIsChecked checks that a Job name that Kubernetes refuses is refused here,
// before kubectl apply.
func TestKubernetesJobNameIsChecked(t *testing.T) {
	for _, name := range []string{"My_Job", "-demo", strings.Repeat("a", 254)} {
		var stdout, stderr bytes.Buffer
		args := append(demoSweep("/results", 1), "--k8s-job", name, "--image", "i")
		if code := run(args, &stdout, &stderr); code == 0 || !strings.Contains(stderr.String(), "no Job name that Kubernetes takes") {
			t.Errorf("--k8s-job %.20q: exit %d, %s", name, code, stderr.String())
		}
	}
}
