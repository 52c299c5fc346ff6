package robust

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"

	"github.com/clipwork/clipwork/clipmodel"
	"github.com/clipwork/clipwork/clipmodel/scenes"
	"github.com/clipwork/clipwork/internal/atomicfile"
	"github.com/clipwork/clipwork/internal/steploop"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // GoMLX graph code reads best with the dot import.
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/model/checkpoint"
	"github.com/gomlx/gomlx/ml/train"
	losses "github.com/gomlx/gomlx/ml/train/loss"
	"github.com/gomlx/gomlx/ml/train/optimizer"
)

// Options configure Robustify. The JSON names are those of training.json's "robust" record.
type Options struct {
	// Model names the CLIP to make robust (a HuggingFace folder, a hub id, or "default").
	Model string `json:"model"`
	// Out is the training folder: checkpoints (training resumes from the newest) and, at the
	// end, the robust model in HuggingFace layout under Out/model.
	Out string `json:"-"`
	// Steps is the total number of outer (Adam) steps, counting those of resumed sessions.
	Steps int `json:"steps"`
	// BatchSize is the number of images an outer step sees.
	BatchSize int `json:"batch_size"`
	// LearningRate of Adam on the vision tower, until the last DecaySteps steps before Steps,
	// over which it falls along a half cosine to a tenth of it.
	LearningRate float64 `json:"learning_rate"`
	// DecaySteps is how many of the last steps the learning rate decays over (0: none, as a
	// robust training is often continued in stages).
	DecaySteps int `json:"decay_steps,omitempty"`
	// Attack is the inner PGD attack of every step (FARE: radius 4/255).
	Attack Attack `json:"attack"`
	// Loss is LossFARE (the default) or LossTeCoA.
	Loss string `json:"loss"`
	// AdversarialWeight weighs the loss on the attacked images: FARE's squared distance of the
	// tuned tower's embeddings to the original's of the clean images, or TeCoA's cross-entropy.
	// CleanWeight weighs, with either loss, the squared distance of the tuned tower's
	// embeddings of the clean images to the original's: it keeps zero-shot accuracy where the
	// original had it (FARE and TeCoA use the adversarial term alone).
	AdversarialWeight float64 `json:"adversarial_weight"`
	CleanWeight       float64 `json:"clean_weight"`
	// CleanCEWeight weighs, with TeCoA's loss, the cross-entropy of the clean images'
	// classification among the captions: it keeps zero-shot accuracy by the captions alone,
	// without pulling the clean embeddings to the original's.
	CleanCEWeight float64 `json:"clean_ce_weight,omitempty"`
	// Noise is the largest standard deviation of the uniform pixel noise on training images
	// (each image draws its own, up to this): image optimisation starts from noise, and a
	// tower made robust around clean renders only can stay brittle there.
	Noise float64 `json:"noise"`
	// CheckpointEvery is how many steps pass between checkpoints.
	CheckpointEvery int    `json:"-"`
	Seed            uint64 `json:"seed"`
	// DType is the exported weights' type: F16 (default), BF16 or F32.
	DType string `json:"-"`
	// ExportOnly skips training and exports the newest checkpoint to Out/model.
	ExportOnly bool `json:"-"`
	// Progress receives a line every few steps (nil: silent).
	Progress io.Writer `json:"-"`
}

// The losses of Options.Loss.
const (
	// LossFARE keeps the tuned tower's embeddings of attacked images where the original tower
	// embeds the clean ones (Schlarmann et al. 2024): no text needed, zero-shot kept.
	LossFARE = "fare"
	// LossTeCoA classifies attacked images among the batch's captions, embedded by the frozen
	// text tower, by their scaled cosine similarities (Mao et al. 2023, text-guided
	// contrastive adversarial training).
	LossTeCoA = "tecoa"
)

// Defaults of Options, also the command's.
const (
	DefaultSteps           = 2000
	DefaultLearningRate    = 1e-4
	DefaultCheckpointEvery = 50
	DefaultRadius          = 4.0 / 255
	DefaultStepSize        = 1.0 / 255
	DefaultPGDSteps        = 3
	DefaultBatchSize       = 16
)

func (o *Options) defaults() {
	if o.Steps == 0 {
		o.Steps = DefaultSteps
	}
	if o.BatchSize == 0 {
		o.BatchSize = DefaultBatchSize
	}
	if o.LearningRate == 0 {
		o.LearningRate = DefaultLearningRate
	}
	if o.Attack == (Attack{}) {
		o.Attack = Attack{Radius: DefaultRadius, StepSize: DefaultStepSize, Steps: DefaultPGDSteps}
	}
	if o.AdversarialWeight == 0 && o.CleanWeight == 0 && o.CleanCEWeight == 0 {
		o.AdversarialWeight = 1
	}
	if o.CheckpointEvery == 0 {
		o.CheckpointEvery = DefaultCheckpointEvery
	}
	if o.DType == "" {
		o.DType = "F16"
	}
	if o.Loss == "" {
		o.Loss = LossFARE
	}
	if o.Progress == nil {
		o.Progress = io.Discard
	}
}

// keptCheckpoints is how many checkpoints a robust training folder keeps: a real CLIP's take
// hundreds of megabytes each.
const keptCheckpoints = 3

// Robustify fine-tunes Model's vision tower against opts.Loss (FARE's or TeCoA's) in Out,
// resuming from Out's newest checkpoint, until Steps or until ctx is cancelled (then it saves a
// checkpoint first). At the end it exports Out/model, a HuggingFace folder that
// clipmodel.Load reads, with training.json recording the options.
func Robustify(ctx context.Context, opts Options) error {
	opts.defaults()
	if opts.Model == "" || opts.Out == "" {
		return errors.New("robustify needs the model to start from and the folder to train in")
	}
	if opts.Loss != LossFARE && opts.Loss != LossTeCoA {
		return fmt.Errorf("loss %q: choose %s or %s", opts.Loss, LossFARE, LossTeCoA)
	}
	if opts.CleanCEWeight != 0 && opts.Loss != LossTeCoA {
		return fmt.Errorf("a clean cross-entropy weight (%g) needs the tecoa loss, which classifies among captions", opts.CleanCEWeight)
	}
	recorded, err := checkLoss(&opts)
	if err != nil {
		return err
	}
	// The model loads before anything is written, so that a mistyped one leaves Out as it was
	// and the corrected command, under any loss, starts there afresh.
	student, handler, err := studentModel(opts)
	if err != nil {
		return err
	}
	if err := recordLoss(opts, recorded); err != nil {
		return err
	}
	if !opts.ExportOnly {
		if err := fineTune(ctx, opts, student, handler); err != nil {
			return err
		}
	}
	return Export(student, filepath.Join(opts.Out, "model"), opts)
}

// lossFile records, in a training folder, the loss its checkpoints were trained with.
const lossFile = "loss"

// checkLoss holds a training folder to one loss, returning what the folder records (empty for
// a new one): it refuses to resume a folder under another loss (its weights and Adam's moments
// hold the first loss's steps), and has an export take the folder's loss. Folders from before
// the record held FARE's checkpoints, the only loss then. It writes nothing (see recordLoss).
func checkLoss(opts *Options) (recorded string, err error) {
	data, err := os.ReadFile(filepath.Join(opts.Out, lossFile))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return "", err
	}
	recorded = strings.TrimSpace(string(data))
	if recorded == "" {
		if steploop.Resuming(opts.Out) {
			recorded = LossFARE
		}
	}
	switch {
	case recorded != "" && opts.ExportOnly:
		opts.Loss = recorded
	case recorded != "" && recorded != opts.Loss:
		return "", fmt.Errorf("%s was trained with loss %s: resume it with that loss (--loss %s), or train in another folder", opts.Out, recorded, recorded)
	}
	return recorded, nil
}

// recordLoss writes opts.Loss into a training folder that records no loss yet.
func recordLoss(opts Options, recorded string) error {
	if recorded != "" || opts.ExportOnly {
		return nil
	}
	if err := os.MkdirAll(opts.Out, 0o755); err != nil {
		return err
	}
	return atomicfile.WriteFile(filepath.Join(opts.Out, lossFile), []byte(opts.Loss+"\n"))
}

// studentModel loads the model to tune, attached to Out's checkpoints: its weights come from
// the newest checkpoint when there is one.
func studentModel(opts Options) (*clipmodel.Model, *checkpoint.Handler, error) {
	m, err := clipmodel.Load(opts.Model)
	if err != nil {
		return nil, nil, err
	}
	handler, err := checkpoint.Build(m.Store).Dir(steploop.CheckpointsFolder(opts.Out)).Keep(keptCheckpoints).Done()
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w (remove the folder to start afresh)", opts.Out, err)
	}
	return m, handler, nil
}

// fineTune runs the outer steps: the original model (a second copy of Model) embeds a batch
// of clean images (FARE) or captions (TeCoA), then one graph attacks the tuned tower and takes
// Adam's step on it.
func fineTune(ctx context.Context, opts Options, student *clipmodel.Model, handler *checkpoint.Handler) error {
	step := int(optimizer.GetGlobalStep(student.Store))
	if err := steploop.CheckTotal(step, opts.Steps); err != nil {
		return err
	}
	teacher, err := clipmodel.Load(opts.Model)
	if err != nil {
		return err
	}
	trainer := newTrainer(student, opts)
	loop := steploop.Loop{Steps: opts.Steps, CheckpointEvery: opts.CheckpointEvery, Save: handler.Save, Progress: opts.Progress,
		LearningRate: opts.LearningRate, DecaySteps: opts.DecaySteps, SetRate: steploop.RateSetter(student.Store, opts.LearningRate)}
	fmt.Fprintf(opts.Progress, "robust fine-tuning (%s) of %s from step %d to %d, batch %d, lr %g%s, PGD %d steps of %.2f/255 in %.2f/255, in %s\n",
		opts.Loss, opts.Model, step, opts.Steps, opts.BatchSize, opts.LearningRate, loop.DecayNote(), opts.Attack.Steps,
		255*opts.Attack.StepSize, 255*opts.Attack.Radius, opts.Out)
	return loop.Run(ctx, step, func(step int) (string, error) {
		batch, scale, err := makeBatch(teacher, opts, step)
		if err != nil {
			return "", err
		}
		metrics, err := trainer.TrainStep(batch)
		if err != nil {
			return "", err
		}
		loss := tensors.MustCopyFlatData[float32](metrics[1])[0]
		if opts.Loss == LossTeCoA {
			return fmt.Sprintf("loss %.4f (a uniform guess's cross-entropy: %.4f)", loss, scale), nil
		}
		return fmt.Sprintf("loss %.4f (%.4f of the embeddings' squared norm)", loss, float64(loss)/scale/(opts.AdversarialWeight+opts.CleanWeight)), nil
	})
}

// newTrainer is Adam on m's vision tower against opts.Loss.
func newTrainer(m *clipmodel.Model, opts Options) *train.Trainer {
	graph, loss := fareModel(m, opts), weighedLoss(opts, SquaredDistance)
	if opts.Loss == LossTeCoA {
		graph, loss = tecoaModel(m, opts), weighedLoss(opts, crossEntropy)
	}
	return train.NewTrainer(m.Backend, m.Store, graph, loss, optimizer.Adam().LearningRate(opts.LearningRate).Done(), nil, nil)
}

// fareModel is FARE's training graph: PGD against the tuned tower's distance to the original
// embeddings (inputs: clean images, the attack's random start, the original embeddings of the
// clean images), and the tuned tower's embeddings of the attacked images, then of the clean
// ones when CleanWeight weighs them.
func fareModel(m *clipmodel.Model, opts Options) func(scope *model.Scope, inputs []*Node) []*Node {
	return func(scope *model.Scope, inputs []*Node) []*Node {
		clean, start, original := inputs[0], inputs[1], inputs[2]
		embed := func(images *Node) *Node { return m.ImageFeatures(scope, images) }
		attacked := PGD(clean, start, opts.Attack, func(images *Node) *Node { return SquaredDistance(embed(images), original) })
		return withClean(opts, []*Node{embed(attacked)}, embed, clean)
	}
}

// tecoaModel is TeCoA's training graph: PGD against the cross-entropy of the images'
// classification among the captions (inputs: clean images, the attack's random start, the
// captions' unit embeddings times the logit scale, and each image's target distribution over
// the captions), and the logits of the attacked
// images, then the clean ones' logits when CleanCEWeight weighs them, then the tuned tower's
// embeddings of the clean ones when CleanWeight weighs them.
func tecoaModel(m *clipmodel.Model, opts Options) func(scope *model.Scope, inputs []*Node) []*Node {
	return func(scope *model.Scope, inputs []*Node) []*Node {
		clean, start, captions, targets := inputs[0], inputs[1], inputs[2], inputs[3]
		embed := func(images *Node) *Node { return m.ImageFeatures(scope, images) }
		logits := func(images *Node) *Node { return Einsum("bd,cd->bc", L2Normalize(embed(images), -1), captions) }
		attacked := PGD(clean, start, opts.Attack, func(images *Node) *Node { return crossEntropy(logits(images), targets) })
		out := []*Node{logits(attacked)}
		if opts.CleanCEWeight != 0 {
			out = append(out, logits(clean))
		}
		return withClean(opts, out, embed, clean)
	}
}

// crossEntropy is the mean over the batch of the cross-entropy of logits [batch, classes]
// against target distributions of the same shape: TeCoA's loss.
func crossEntropy(logits, targets *Node) *Node {
	return losses.CategoricalCrossEntropyLogits([]*Node{targets}, []*Node{logits})
}

// withClean appends the embeddings of the clean images to out when CleanWeight weighs them.
func withClean(opts Options, out []*Node, embed func(*Node) *Node, clean *Node) []*Node {
	if opts.CleanWeight != 0 {
		out = append(out, embed(clean))
	}
	return out
}

// weighedLoss weighs adversarial, between the graph's output for the attacked images and
// labels[0], by AdversarialWeight; the same between its output for the clean images (TeCoA's
// logits, second) by CleanCEWeight; and the squared distance of its embeddings of the clean
// images (last) to the original ones (the last label) by CleanWeight.
func weighedLoss(opts Options, adversarial func(predictions, targets *Node) *Node) func(labels, predictions []*Node) *Node {
	return func(labels, predictions []*Node) *Node {
		loss := MulScalar(adversarial(predictions[0], labels[0]), opts.AdversarialWeight)
		if opts.CleanCEWeight != 0 {
			loss = Add(loss, MulScalar(adversarial(predictions[1], labels[0]), opts.CleanCEWeight))
		}
		if opts.CleanWeight != 0 {
			loss = Add(loss, MulScalar(SquaredDistance(predictions[len(predictions)-1], labels[len(labels)-1]), opts.CleanWeight))
		}
		return loss
	}
}

// makeBatch renders a step's scenes at the model's input size and draws the attack's uniform
// random start, then adds the teacher's part (see fareInputs and tecoaInputs): a function of
// the seed and step only, so a resumed training sees the same data. It also returns the scale
// of the loss: the original embeddings' mean squared norm (FARE), or the cross-entropy of a
// uniform guess among the captions (TeCoA). TeCoA's scenes come in hard-negative groups
// (scenes.GroupedBatch): among unrelated scenes colour alone tells most captions apart, and the
// attacked tower would unlearn shapes and counts unasked.
func makeBatch(teacher *clipmodel.Model, opts Options, step int) (train.Batch, float64, error) {
	rng := rand.New(rand.NewPCG(opts.Seed, uint64(step)))
	size := teacher.Config.Vision.ImageSize
	var grouped []scenes.Scene
	if opts.Loss == LossTeCoA {
		grouped = scenes.GroupedBatch(rng, opts.BatchSize)
	}
	images := make([][]float32, opts.BatchSize)
	sceneOf := make([]scenes.Scene, opts.BatchSize)
	captions := make([]scenes.Caption, opts.BatchSize)
	flat := make([]float32, 0, opts.BatchSize*size*size*3)
	for i := range images {
		if grouped != nil {
			sceneOf[i], captions[i] = grouped[i], grouped[i].Caption(rng)
		} else { // one scene at a time, as FARE's batches have always been drawn: resumed folders see the same scenes
			sceneOf[i] = scenes.TrainingScene(rng)
		}
		images[i] = clip01(scenes.AddNoise(rng, clipmodel.RGB(sceneOf[i].Render(rng, size)), opts.Noise))
		flat = append(flat, images[i]...)
	}
	start := make([]float32, len(flat))
	for i := range start {
		start[i] = float32(opts.Attack.Radius * (2*rng.Float64() - 1))
	}
	dims := []int{opts.BatchSize, size, size, 3}
	inputs := []*tensors.Tensor{tensors.FromFlatDataAndDimensions(flat, dims...), tensors.FromFlatDataAndDimensions(start, dims...)}
	if opts.Loss == LossTeCoA {
		return tecoaInputs(teacher, opts, inputs, images, sceneOf, captions)
	}
	original, norm, err := originalEmbeddings(teacher, images)
	if err != nil {
		return train.Batch{}, 0, err
	}
	return train.Batch{Inputs: append(inputs, original), Labels: []*tensors.Tensor{original}}, norm, nil
}

// originalEmbeddings are the original tower's embeddings of the clean images, [batch, dim],
// and their mean squared norm.
func originalEmbeddings(teacher *clipmodel.Model, images [][]float32) (*tensors.Tensor, float64, error) {
	original, err := teacher.EmbedPixels(images)
	if err != nil {
		return nil, 0, err
	}
	var norm float64
	embeddings := make([]float32, 0, len(original)*len(original[0]))
	for _, e := range original {
		embeddings = append(embeddings, e...)
		for _, x := range e {
			norm += float64(x) * float64(x) / float64(len(original))
		}
	}
	return tensors.FromFlatDataAndDimensions(embeddings, len(original), len(original[0])), norm, nil
}

// tecoaInputs adds the captions' unit embeddings times the logit scale and each scene's target
// distribution (spread evenly over the captions that describe it, see scenes.Matches) to the
// batch (labels: the targets, then the original tower's embeddings of the clean images where
// CleanWeight needs them), with the cross-entropy of a uniform guess.
func tecoaInputs(teacher *clipmodel.Model, opts Options, inputs []*tensors.Tensor, images [][]float32, sceneOf []scenes.Scene,
	captions []scenes.Caption) (train.Batch, float64, error) {
	scale, err := teacher.LogitScale()
	if err != nil {
		return train.Batch{}, 0, err
	}
	texts := make([]string, len(captions))
	for i, c := range captions {
		texts[i] = c.Text
	}
	embedded, err := teacher.EmbedTexts(texts)
	if err != nil {
		return train.Batch{}, 0, err
	}
	var units []float32
	for _, e := range embedded {
		for _, x := range clipmodel.Unit(e.Embedding) {
			units = append(units, float32(scale)*x)
		}
	}
	n := len(captions)
	targets := make([]float32, n*n)
	for i, row := range scenes.Matches(sceneOf, captions) {
		fitting := 0
		for _, match := range row {
			if match {
				fitting++
			}
		}
		for j, match := range row {
			if match {
				targets[i*n+j] = 1 / float32(fitting)
			}
		}
	}
	tt := tensors.FromFlatDataAndDimensions(targets, n, n)
	labels := []*tensors.Tensor{tt}
	if opts.CleanWeight != 0 {
		original, _, err := originalEmbeddings(teacher, images)
		if err != nil {
			return train.Batch{}, 0, err
		}
		labels = append(labels, original)
	}
	return train.Batch{Inputs: append(inputs, tensors.FromFlatDataAndDimensions(units, n, len(units)/n), tt),
		Labels: labels}, math.Log(float64(n)), nil
}

// clip01 clips pixel values to [0, 1].
func clip01(pixels []float32) []float32 {
	for i, v := range pixels {
		pixels[i] = min(max(v, 0), 1)
	}
	return pixels
}

// trainingInfoFile is the file beside an exported model that records its training.
const trainingInfoFile = "training.json"

// Export writes the tuned model to dir in HuggingFace layout with opts.DType weights, and
// training.json: the source model's record (when it has one) with a "robust" entry holding
// opts and the step reached.
func Export(m *clipmodel.Model, dir string, opts Options) error {
	weights, err := clipmodel.StoreWeights(m.Config, m.Store)
	if err != nil {
		return err
	}
	if err := clipmodel.WriteFolder(dir, m.Config, weights, m.Tokenizer, m.Preprocess, opts.DType); err != nil {
		return err
	}
	info := map[string]any{}
	if data, err := os.ReadFile(filepath.Join(opts.Model, trainingInfoFile)); err == nil {
		if err := json.Unmarshal(data, &info); err != nil {
			return fmt.Errorf("%s: %w", filepath.Join(opts.Model, trainingInfoFile), err)
		}
	}
	info["robust"] = struct {
		Options
		Step int `json:"step"`
	}{opts, int(optimizer.GetGlobalStep(m.Store))}
	data, err := json.MarshalIndent(info, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(filepath.Join(dir, trainingInfoFile), append(data, '\n'))
}
