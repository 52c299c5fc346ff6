package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"github.com/clipwork/clipwork/workbench"
	"github.com/clipwork/clipwork/workbench/store"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/yaml"
)

// jobFlags are clipwork sweep's flags that print a cluster job instead of running the sweep.
type jobFlags struct {
	k8sJob, image, pvc string
	envSecret          string
	gpus, parallelism  int
	backoff            int
	slurm              bool
}

func (j *jobFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&j.k8sJob, "k8s-job", "", "print a Kubernetes Indexed Job of this name that runs one variant per index")
	fs.StringVar(&j.image, "image", "", "the container image of --k8s-job (one with clipwork on its PATH)")
	fs.StringVar(&j.pvc, "pvc", "", "a PersistentVolumeClaim that --k8s-job mounts at --out (an absolute path), the store every task shares")
	fs.StringVar(&j.envSecret, "env-secret", "", "a Kubernetes Secret whose keys --k8s-job sets as the tasks' environment, e.g. AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY of an s3:// --out")
	fs.IntVar(&j.gpus, "gpus", 0, "GPUs per task (nvidia.com/gpu for --k8s-job, --gpus-per-task for --slurm)")
	fs.IntVar(&j.parallelism, "parallelism", 0, "tasks at once (default: all variants)")
	fs.IntVar(&j.backoff, "retries", 3, "retries of one variant's task before it counts as failed")
	fs.BoolVar(&j.slurm, "slurm", false, "print a Slurm sbatch script with one array task per variant")
}

// wanted says whether a job is to be printed.
func (j *jobFlags) wanted() bool { return j.k8sJob != "" || j.slurm }

// print writes the Kubernetes Job or the sbatch script of the sweep.
func (j *jobFlags) print(p *sweepPlan, f sweepFlags, stdout io.Writer) error {
	if j.k8sJob != "" && j.slurm {
		return errors.New("--k8s-job and --slurm: choose one")
	}
	if f.index >= 0 {
		return errors.New("--index runs one variant: a job runs them all, drop it")
	}
	if j.gpus < 0 || j.parallelism < 0 || j.backoff < 0 {
		return errors.New("--gpus, --parallelism and --retries are 0 or more")
	}
	n := len(p.manifest.Variants)
	if j.slurm {
		_, err := io.WriteString(stdout, j.sbatch(p, f, n))
		return err
	}
	if j.image == "" {
		return errors.New("--k8s-job needs --image IMG, an image with clipwork on its PATH")
	}
	if problems := validation.IsDNS1123Subdomain(j.k8sJob); len(problems) > 0 {
		return fmt.Errorf("--k8s-job %q is no Job name that Kubernetes takes: %s", j.k8sJob, strings.Join(problems, "; "))
	}
	if j.pvc != "" && store.IsURL(f.out) {
		return fmt.Errorf("--pvc mounts a folder at --out, and %s is a store: drop --pvc", f.out)
	}
	if j.pvc != "" && !filepath.IsAbs(f.out) {
		return fmt.Errorf("--pvc mounts the claim at --out, which must then be an absolute path, not %q", f.out)
	}
	job := j.kubernetes(p, f, n)
	data, err := yaml.Marshal(job)
	if err != nil {
		return err
	}
	_, err = stdout.Write(data)
	return err
}

// taskArgs are the arguments of one task's clipwork sweep, ending in --index and the index
// (as the engine writes it).
func taskArgs(p *sweepPlan, f sweepFlags, index string) []string {
	args := []string{"clipwork", "sweep"}
	args = append(args, p.manifest.Files...)
	for _, v := range f.vary {
		args = append(args, "--vary", v)
	}
	switch {
	case f.zip:
		args = append(args, "--zip")
	case f.zipGiven:
		args = append(args, "--zip=false") // over the files' sweep: zip: true
	}
	for _, s := range f.set {
		args = append(args, "--set", s)
	}
	return append(args, "--out", f.out, "--name", filepath.Base(p.dir), "--quiet", "--index", index)
}

// completionIndexAnnotation is where Kubernetes writes an Indexed Job pod's index.
const completionIndexAnnotation = "batch.kubernetes.io/job-completion-index"

// kubernetes is the Indexed Job: one completion per variant, each retried on its own.
func (j *jobFlags) kubernetes(p *sweepPlan, f sweepFlags, n int) *batchv1.Job {
	indexed := batchv1.IndexedCompletion
	completions, backoff := int32(n), int32(j.backoff)
	parallelism := completions
	if j.parallelism > 0 {
		parallelism = int32(min(j.parallelism, n))
	}
	container := corev1.Container{
		Name:    "variant",
		Image:   j.image,
		Command: kubernetesArgs(taskArgs(p, f, "$(JOB_COMPLETION_INDEX)")),
		Env: []corev1.EnvVar{{Name: "JOB_COMPLETION_INDEX", ValueFrom: &corev1.EnvVarSource{
			FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.annotations['" + completionIndexAnnotation + "']"}}}},
	}
	if j.envSecret != "" {
		container.EnvFrom = []corev1.EnvFromSource{{SecretRef: &corev1.SecretEnvSource{
			LocalObjectReference: corev1.LocalObjectReference{Name: j.envSecret}}}}
	}
	if j.gpus > 0 {
		gpus := resource.MustParse(strconv.Itoa(j.gpus))
		container.Resources.Limits = corev1.ResourceList{"nvidia.com/gpu": gpus}
	}
	var volumes []corev1.Volume
	if j.pvc != "" {
		volumes = []corev1.Volume{{Name: "store", VolumeSource: corev1.VolumeSource{
			PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: j.pvc}}}}
		container.VolumeMounts = []corev1.VolumeMount{{Name: "store", MountPath: f.out}}
	}
	return &batchv1.Job{
		TypeMeta:   metav1.TypeMeta{APIVersion: "batch/v1", Kind: "Job"},
		ObjectMeta: metav1.ObjectMeta{Name: j.k8sJob},
		Spec: batchv1.JobSpec{
			CompletionMode:       &indexed,
			Completions:          &completions,
			Parallelism:          &parallelism,
			BackoffLimitPerIndex: &backoff,
			Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
				RestartPolicy: corev1.RestartPolicyNever,
				Containers:    []corev1.Container{container},
				Volumes:       volumes,
			}},
		},
	}
}

// kubernetesArgs are a task's args with every $ but the last argument's (the index reference)
// written $$, which Kubernetes reads back as $: it replaces $(NAME) in a command by the
// container's variable NAME, e.g. in a prompt holding $(AWS_SECRET_ACCESS_KEY).
func kubernetesArgs(args []string) []string {
	out := slices.Clone(args)
	for i := range out[:len(out)-1] {
		out[i] = strings.ReplaceAll(out[i], "$", "$$")
	}
	return out
}

// sbatch is the Slurm script: an array of one task per variant.
func (j *jobFlags) sbatch(p *sweepPlan, f sweepFlags, n int) string {
	var b strings.Builder
	b.WriteString("#!/bin/bash\n")
	fmt.Fprintf(&b, "#SBATCH --job-name=%s\n", directiveWord(filepath.Base(p.dir)))
	array := fmt.Sprintf("0-%d", n-1)
	if j.parallelism > 0 {
		array += "%" + strconv.Itoa(j.parallelism)
	}
	fmt.Fprintf(&b, "#SBATCH --array=%s\n", array)
	if j.gpus > 0 {
		fmt.Fprintf(&b, "#SBATCH --gpus-per-task=%d\n", j.gpus)
	}
	fmt.Fprintf(&b, "#SBATCH --requeue\n")
	args := taskArgs(p, f, "$SLURM_ARRAY_TASK_ID")
	for i, a := range args[:len(args)-1] {
		args[i] = shellQuote(a)
	}
	args[len(args)-1] = `"$SLURM_ARRAY_TASK_ID"`
	fmt.Fprintf(&b, "exec %s\n", strings.Join(args, " "))
	return b.String()
}

// directiveWord is s for an #SBATCH line, which no quoting protects: every character but
// letters, digits, '.', '_' and '-' replaced by '_' (a newline would end the directive and
// start a command).
func directiveWord(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 128 && (r == '.' || r == '_' || r == '-' || unicode.IsLetter(r) || unicode.IsDigit(r)) {
			return r
		}
		return '_'
	}, s)
}

// shellWord is s as one word of a bash command a person can copy: shellQuote's, or ANSI-C
// quoting ($'...') where s holds characters a terminal would act on (a newline, an escape).
func shellWord(s string) string {
	if workbench.Printable(s) == s {
		return shellQuote(s)
	}
	quoted := strconv.Quote(s) // Go's escapes (\n, \x1b, \u00e9) are bash's within $'...'
	inner := strings.ReplaceAll(quoted[1:len(quoted)-1], `\"`, `"`)
	return "$'" + strings.ReplaceAll(inner, "'", `\'`) + "'"
}

// shellQuote quotes s for bash when it holds anything but plain characters.
func shellQuote(s string) string {
	plain := s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=:,+@%") == ""
	if plain {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
