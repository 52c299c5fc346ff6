// Package defaultmodel is clipwork's own small CLIP, trained on generated scenes of coloured
// shapes (package scenes) so that clipwork works offline with no downloaded weights. It holds
// the training procedure, its evaluation and the embedded checkpoint.
package defaultmodel

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"

	"github.com/clipwork/clipwork/clipmodel"
	"github.com/clipwork/clipwork/clipmodel/scenes"
	"github.com/clipwork/clipwork/internal/steploop"
	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // GoMLX graph code reads best with the dot import.
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/model/checkpoint"
	"github.com/gomlx/gomlx/ml/train"
	losses "github.com/gomlx/gomlx/ml/train/loss"
	"github.com/gomlx/gomlx/ml/train/optimizer"
)

// ImageSize is the default model's input side in pixels.
const ImageSize = 64

// Architecture is the default model's shape for a vocabulary size: a ViT with 8x8 patches on
// 64x64 images and a text transformer of the same width, both small enough to train on a CPU.
func Architecture(vocabSize int) *clipmodel.Config {
	c := &clipmodel.Config{ModelType: "clip", ProjectionDim: 128, LogitScaleInitValue: math.Log(1 / 0.07),
		Text: clipmodel.DefaultTextConfig(), Vision: clipmodel.DefaultVisionConfig(), Architectures: []string{"CLIPModel"}}
	c.Vision.HiddenSize, c.Vision.IntermediateSize, c.Vision.NumHiddenLayers, c.Vision.NumAttentionHeads = 128, 512, 4, 4
	c.Vision.ImageSize, c.Vision.PatchSize = ImageSize, 8
	c.Text.HiddenSize, c.Text.IntermediateSize, c.Text.NumHiddenLayers, c.Text.NumAttentionHeads = 128, 512, 3, 4
	c.Text.MaxPositionEmbeddings, c.Text.VocabSize = 32, vocabSize
	c.Text.BosTokenID, c.Text.EosTokenID, c.Text.PadTokenID = vocabSize-2, vocabSize-1, 0
	return c
}

// TrainOptions configure Train.
type TrainOptions struct {
	// Out is the training folder: the tokenizer, GoMLX checkpoints (training resumes from the
	// newest) and, at the end, the exported model in HuggingFace layout under Out/model.
	Out string
	// Steps is the total number of steps, counting those of earlier, resumed sessions.
	Steps int
	// BatchSize is the number of scenes a step sees. On a CPU, 32 learns more per hour than
	// larger batches: a step of 64 takes twice as long and does not teach twice as much.
	BatchSize int
	// LearningRate of Adam, until the last DecaySteps steps before Steps, over which it falls
	// along a half cosine to a tenth of it. It applies to resumed trainings too.
	LearningRate float64
	// DecaySteps is how many of the last steps the learning rate decays over (0: a fifth of
	// Steps).
	DecaySteps int
	// CheckpointEvery is how many steps pass between checkpoints.
	CheckpointEvery int
	Seed            uint64
	// Progress receives a line every few steps (nil: silent).
	Progress io.Writer
	// ExportOnly skips training and exports the newest checkpoint to Out/model.
	ExportOnly bool
	// Average, with ExportOnly, exports the mean of the newest Average checkpoints' weights
	// instead (at most KeptCheckpoints): checkpoint averaging, which smooths away the noise of
	// the last steps.
	Average int
	// InitFrom starts a new training folder from an exported model (its weights, tokenizer and
	// step, see Export) instead of random weights; Adam's moments start afresh.
	InitFrom string
	// AddPositionTable adds the 2D sine table (see positionTable) to InitFrom's vision position
	// embeddings, as a new training from random weights always does.
	AddPositionTable bool
	// FreezeVision trains the text tower, the logit scale and the heads only, keeping the
	// vision tower's weights as they are: captions learn new meanings (new scenes) while a
	// robust vision tower stays robust. The export keeps InitFrom's record of its robust
	// training.
	FreezeVision bool
}

func (o *TrainOptions) defaults() {
	if o.Steps == 0 {
		o.Steps = 6000
	}
	if o.BatchSize == 0 {
		o.BatchSize = 32
	}
	if o.LearningRate == 0 {
		o.LearningRate = 5e-4
	}
	if o.DecaySteps == 0 {
		o.DecaySteps = o.Steps / 5
	}
	if o.CheckpointEvery == 0 {
		o.CheckpointEvery = 100
	}
	if o.Progress == nil {
		o.Progress = io.Discard
	}
}

// Train trains the default model, resuming from Out's newest checkpoint, until Steps or until
// ctx is cancelled (then it saves a checkpoint first). It exports Out/model at the end.
func Train(ctx context.Context, opts TrainOptions) error {
	opts.defaults()
	if opts.Average > 1 && !opts.ExportOnly {
		return errors.New("averaging checkpoints is a way of exporting: give --average with --export")
	}
	if opts.Average > KeptCheckpoints {
		return fmt.Errorf("cannot average %d checkpoints: a training folder keeps the newest %d", opts.Average, KeptCheckpoints)
	}
	if err := checkInitFrom(opts); err != nil {
		return err
	}
	if err := os.MkdirAll(opts.Out, 0o755); err != nil {
		return err
	}
	tok, err := trainingTokenizer(opts.Out, opts.InitFrom, opts.Seed)
	if err != nil {
		return err
	}
	m, handler, err := trainingModel(opts, tok)
	if err != nil {
		return err
	}
	if opts.ExportOnly {
		return exportLoaded(m, handler, opts)
	}
	if opts.FreezeVision {
		freezeVision(m.Store)
	}
	trainer := train.NewTrainer(m.Backend, m.Store, contrastiveModel(m), contrastiveLoss,
		optimizer.Adam().LearningRate(opts.LearningRate).WeightDecay(1e-4).Done(), nil, nil)
	loop := steploop.Loop{Steps: opts.Steps, CheckpointEvery: opts.CheckpointEvery, Save: handler.Save, Progress: opts.Progress,
		LearningRate: opts.LearningRate, DecaySteps: opts.DecaySteps, SetRate: steploop.RateSetter(m.Store, opts.LearningRate)}
	step := int(optimizer.GetGlobalStep(m.Store))
	fmt.Fprintf(opts.Progress, "training from step %d to %d, batch %d, learning rate %g%s, in %s\n",
		step, opts.Steps, opts.BatchSize, opts.LearningRate, loop.DecayNote(), opts.Out)
	err = loop.Run(ctx, step, func(step int) (string, error) {
		metrics, err := trainer.TrainStep(makeBatch(tok, opts.Seed, step, opts.BatchSize))
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("loss %.4f", tensors.MustCopyFlatData[float32](metrics[1])[0]), nil
	})
	if err != nil {
		return err
	}
	return exportLoaded(m, handler, opts)
}

// checkInitFrom refuses, before Out is written, an InitFrom that the training cannot use: not
// an exported model, or (for a new training folder) one already past Steps. A resumed folder's
// checkpoints hold its start, and need InitFrom only for the robust record that a frozen vision
// tower keeps.
func checkInitFrom(opts TrainOptions) error {
	if opts.InitFrom == "" {
		return nil
	}
	resuming := steploop.Resuming(opts.Out)
	if resuming && !opts.FreezeVision {
		return nil
	}
	info, err := readTrainingInfo(opts.InitFrom)
	if err != nil {
		return fmt.Errorf("--init-from: %w", err)
	}
	if resuming || opts.ExportOnly {
		return nil
	}
	return steploop.CheckTotal(info.Step, opts.Steps)
}

// visionScopes are the top scopes of a CLIP's vision tower (ViT or ResNet) and its projection.
var visionScopes = []string{"vision_model", "visual_projection"}

// freezeVision marks the vision tower's variables as not trainable.
func freezeVision(store *model.Store) {
	for _, top := range visionScopes {
		for v := range store.Scope(top).IterVariables() {
			v.SetTrainable(false)
		}
	}
}

// trainingTokenizer learns a BPE vocabulary from generated captions, or reads the one an earlier
// session learned.
func trainingTokenizer(out, initFrom string, seed uint64) (*clipmodel.Tokenizer, error) {
	const contextLength = 32
	if _, err := os.Stat(filepath.Join(out, "vocab.json")); err == nil {
		return clipmodel.LoadTokenizer(out, contextLength)
	}
	if initFrom != "" {
		tok, err := clipmodel.LoadTokenizer(initFrom, contextLength)
		if err != nil {
			return nil, err
		}
		return tok, tok.Save(out)
	}
	rng := rand.New(rand.NewPCG(seed, 0xb9e))
	corpus := make([]string, 20000)
	for i := range corpus {
		corpus[i] = scenes.TrainingScene(rng).Caption(rng).Text
	}
	tok, err := clipmodel.LearnBPE(corpus, 400, contextLength)
	if err != nil {
		return nil, err
	}
	return tok, tok.Save(out)
}

// exportLoaded exports the model's weights, after training or as trainingModel loaded them
// (the newest checkpoint, or the mean of the newest opts.Average ones), to Out/model.
func exportLoaded(m *clipmodel.Model, handler *checkpoint.Handler, opts TrainOptions) error {
	info := TrainingInfo{Step: int(optimizer.GetGlobalStep(m.Store)), FrozenVision: opts.FreezeVision}
	if opts.FreezeVision && opts.InitFrom != "" {
		from, err := readTrainingInfo(opts.InitFrom)
		if err != nil {
			return err
		}
		info.Robust = from.Robust
	}
	if opts.Average > 1 {
		names, err := handler.ListCheckpoints()
		if err != nil {
			return err
		}
		info.Averaged = min(opts.Average, len(names))
	}
	return Export(m, filepath.Join(opts.Out, "model"), info)
}

// KeptCheckpoints is how many of the newest checkpoints a training folder keeps, and so the
// most --average can take.
const KeptCheckpoints = 10

// trainingModel builds the model on a store attached to Out's checkpoints: variables come from
// the newest checkpoint when there is one, else from CLIP's random initialisation.
func trainingModel(opts TrainOptions, tok *clipmodel.Tokenizer) (*clipmodel.Model, *checkpoint.Handler, error) {
	backend, err := clipmodel.Backend()
	if err != nil {
		return nil, nil, err
	}
	cfg := Architecture(tok.VocabSize())
	store := model.NewStore()
	checkpoints := checkpoint.Build(store).Dir(steploop.CheckpointsFolder(opts.Out)).Keep(KeptCheckpoints)
	if opts.ExportOnly && opts.Average > 1 {
		checkpoints = checkpoints.TakeMean(opts.Average, backend)
	}
	handler, err := checkpoints.Done()
	if err != nil {
		return nil, nil, err
	}
	resuming, err := handler.HasCheckpoints()
	if err != nil {
		return nil, nil, err
	}
	if !resuming && opts.InitFrom != "" {
		if err := initFromExport(store, backend, cfg, opts.InitFrom); err != nil {
			return nil, nil, err
		}
	}
	for _, t := range clipmodel.RandomWeights(cfg, opts.Seed) {
		if _, err := store.CreateVariable(clipmodel.VariablePath(t.Name), tensors.FromFlatDataAndDimensions(t.Data, t.Shape...)); err != nil {
			return nil, nil, err
		}
	}
	if !resuming && (opts.InitFrom == "" || opts.AddPositionTable) {
		if err := addPositionTable(store, cfg.Vision); err != nil {
			return nil, nil, err
		}
	}
	m := &clipmodel.Model{Name: "clipwork-default", Config: cfg, Preprocess: clipmodel.DefaultPreprocess(ImageSize),
		Tokenizer: tok, Store: store, Backend: backend}
	return m, handler, nil
}

// positionNorm is the norm of each patch's row of the position table: about half that of a
// patch's content after the patch embedding, where random position embeddings start at a
// hundredth of it.
const positionNorm = 2.0

// positionTable is a 2D sine table for a grid x grid patch grid and dim dimensions: for each
// patch, sines and cosines of its row (first half) and column (second half) at periods from 2
// to 2*grid patches, scaled to positionNorm. With CLIP's random position embeddings the towers
// went thousands of steps without telling positions apart (and shapes, made of neighbouring
// patches, poorly); the table gives attention near and far patches to tell apart from the start.
func positionTable(grid, dim int) [][]float32 {
	frequencies := dim / 4
	table := make([][]float32, grid*grid)
	scale := positionNorm / math.Sqrt(float64(2*frequencies))
	for i := range table {
		row := make([]float32, dim)
		for axis, coordinate := range []int{i / grid, i % grid} {
			for f := range frequencies {
				period := 2 * math.Pow(float64(grid), float64(f)/float64(max(frequencies-1, 1)))
				sin, cos := math.Sincos(2 * math.Pi * float64(coordinate) / period)
				row[axis*dim/2+2*f], row[axis*dim/2+2*f+1] = float32(scale*sin), float32(scale*cos)
			}
		}
		table[i] = row
	}
	return table
}

// addPositionTable adds positionTable to the patch rows (all but the class token's) of the
// vision tower's position embeddings in store.
func addPositionTable(store *model.Store, v clipmodel.VisionConfig) error {
	variable := store.GetVariable(clipmodel.VariablePath("vision_model.embeddings.position_embedding.weight"))
	if variable == nil {
		return errors.New("the store has no vision position embeddings")
	}
	value, err := variable.Value()
	if err != nil {
		return err
	}
	rows := value.Value().([][]float32)
	for i, add := range positionTable(v.ImageSize/v.PatchSize, v.HiddenSize) {
		for k := range add {
			rows[i+1][k] += add[k]
		}
	}
	return variable.SetValue(tensors.FromValue(rows))
}

// initFromExport loads an exported model's weights and training step into a fresh store.
func initFromExport(store *model.Store, backend compute.Backend, cfg *clipmodel.Config, dir string) error {
	if err := clipmodel.LoadWeights(dir, cfg, store, backend); err != nil {
		return err
	}
	info, err := readTrainingInfo(dir)
	if err != nil {
		return err
	}
	return optimizer.GetGlobalStepVar(store).SetValue(tensors.FromScalar(int64(info.Step)))
}

// contrastiveModel returns the logits [batch, batch] of every image against every caption, and
// the attribute heads' logits for the images and for the captions ([batch, attributeOptions]).
func contrastiveModel(m *clipmodel.Model) func(scope *model.Scope, inputs []*Node) []*Node {
	return func(scope *model.Scope, inputs []*Node) []*Node {
		images, tokens, pool := inputs[0], inputs[1], inputs[2]
		img := L2Normalize(m.ImageFeatures(scope, images), -1)
		txt := L2Normalize(m.TextFeatures(scope, tokens, pool), -1)
		logScale := scope.VariableWithShape("logit_scale", Scalar(images.Graph(), images.DType(), 0).Shape()).NodeValue(images.Graph())
		scale := Exp(MinScalar(logScale, math.Log(100)))
		heads := attributeHeads(scope.In("heads"), images.Graph(), img.Shape().Dim(-1))
		return []*Node{Mul(Einsum("id,jd->ij", img, txt), scale), heads(img), heads(txt)}
	}
}

// headAttributes are the attributes that the training-only heads read from the embeddings;
// their names name the heads' variables.
var headAttributes = []scenes.Attribute{scenes.ShapeAttribute, scenes.ColorAttribute, scenes.CountAttribute,
	scenes.PositionAttribute, scenes.BackgroundAttribute}

// attributeOptions is the number of options of all headAttributes together.
func attributeOptions() int {
	n := 0
	for _, a := range headAttributes {
		n += len(a.Options)
	}
	return n
}

// attributeHeads returns linear classifiers of the headAttributes, shared by normalised image
// and text embeddings of dim dimensions, with their logits side by side. They are not part of
// the exported model: they give the towers a direct signal of what a scene holds, in the same
// directions for both, which the contrastive loss alone gives only through the few hard
// negatives of a batch.
func attributeHeads(scope *model.Scope, g *Graph, dim int) func(embeddings *Node) *Node {
	type head struct{ weight, bias *Node }
	heads := make([]head, len(headAttributes))
	for i, a := range headAttributes {
		s := scope.In("%s", a.Name)
		heads[i] = head{s.VariableWithShape("weight", shapes.Make(dtypes.Float32, dim, len(a.Options))).NodeValue(g),
			s.VariableWithShape("bias", shapes.Make(dtypes.Float32, len(a.Options))).NodeValue(g)}
	}
	return func(embeddings *Node) *Node {
		// Normalised embeddings have components of about 1/sqrt(dim): scaled back to about 1,
		// the heads learn (and pass gradients to the towers) at the pace of any dense layer.
		x := MulScalar(embeddings, math.Sqrt(float64(dim)))
		logits := make([]*Node, len(heads))
		for i, h := range heads {
			logits[i] = Add(Einsum("id,do->io", x, h.weight), InsertAxes(h.bias, 0))
		}
		return Concatenate(logits, 1)
	}
}

// Weights of the attribute heads' cross-entropy beside the contrastive loss. The images' weigh
// more: captions name their attributes in words and the text tower learns them within a few
// hundred steps, while the vision tower learns shapes and counts over thousands (colour,
// position and background within hundreds, after which their part of the loss is near zero
// and shape and count have it to themselves).
const (
	imageHeadsWeight = 3
	textHeadsWeight  = 0.5
)

// contrastiveLoss is CLIP's symmetric cross-entropy, with soft targets (labels[0] [batch, batch]
// marks with 1 the captions that describe each image; each image's row and each caption's
// column, normalised, is its target distribution), plus the attribute heads' cross-entropy on
// images against labels[1] and on captions against labels[2], their one-hot attributes.
func contrastiveLoss(labels, predictions []*Node) *Node {
	logits, matches := predictions[0], labels[0]
	perImage := Div(matches, ReduceAndKeep(matches, ReduceSum, -1))
	perCaption := Div(matches, ReduceAndKeep(matches, ReduceSum, 0))
	contrastive := DivScalar(Add(softCrossEntropy(logits, perImage, -1), softCrossEntropy(logits, perCaption, 0)), 2)
	images := MulScalar(attributeCrossEntropy(predictions[1], labels[1]), imageHeadsWeight)
	texts := MulScalar(attributeCrossEntropy(predictions[2], labels[2]), textHeadsWeight)
	return Add(contrastive, Add(images, texts))
}

// softCrossEntropy is the mean cross-entropy of logits against target distributions along axis
// (0 or -1 of [rows, columns]).
func softCrossEntropy(logits, targets *Node, axis int) *Node {
	if axis == 0 {
		logits, targets = Transpose(logits, 0, 1), Transpose(targets, 0, 1)
	}
	return losses.CategoricalCrossEntropyLogits([]*Node{targets}, []*Node{logits})
}

// attributeCrossEntropy is the mean over the batch and the headAttributes of each attribute's
// cross-entropy, with logits and one-hot targets [batch, attributeOptions].
func attributeCrossEntropy(logits, oneHot *Node) *Node {
	var total *Node
	offset := 0
	for _, a := range headAttributes {
		part := AxisRange(offset, offset+len(a.Options))
		ce := softCrossEntropy(Slice(logits, AxisRange(), part), Slice(oneHot, AxisRange(), part), -1)
		if total == nil {
			total = ce
		} else {
			total = Add(total, ce)
		}
		offset += len(a.Options)
	}
	return DivScalar(total, float64(len(headAttributes)))
}

// makeBatch renders a step's scenes and captions: a function of the seed and step only, so a
// resumed training sees the same data it would have.
func makeBatch(tok *clipmodel.Tokenizer, seed uint64, step, size int) train.Batch {
	rng := rand.New(rand.NewPCG(seed, uint64(step)))
	pixels := make([]float32, 0, size*ImageSize*ImageSize*3)
	tokenLists := make([][]int, size)
	pool := make([]int32, size)
	sceneOf := scenes.GroupedBatch(rng, size)
	captions := make([]scenes.Caption, size)
	for i, s := range sceneOf {
		pixels = append(pixels, addNoise(rng, clipmodel.RGB(s.Render(rng, ImageSize)))...)
		captions[i] = s.Caption(rng)
		tokenLists[i] = tok.Tokenize(captions[i].Text)
		pool[i] = int32(len(tokenLists[i]) - 1) // the end token, last in every list
	}
	padded := clipmodel.PadTokens(tokenLists)
	tokens := make([]int32, 0, size*len(padded[0]))
	for _, row := range padded {
		tokens = append(tokens, row...)
	}
	return train.Batch{
		Inputs: []*tensors.Tensor{
			tensors.FromFlatDataAndDimensions(pixels, size, ImageSize, ImageSize, 3),
			tensors.FromFlatDataAndDimensions(tokens, size, len(padded[0])),
			tensors.FromFlatDataAndDimensions(pool, size),
		},
		Labels: []*tensors.Tensor{captionMatches(sceneOf, captions), attributeTargets(sceneOf, nil),
			attributeTargets(sceneOf, captions)},
	}
}

// maxNoise is the largest standard deviation of the pixel noise on training images.
const maxNoise = 0.1

// addNoise adds uniform noise of a random standard deviation up to maxNoise to pixels. A model
// that has only seen clean renders takes any texture for evidence, and image optimisation
// against it paints noise that it scores highly; trained through noise, its gradients point
// to the shapes and colours that stand out of it.
func addNoise(rng *rand.Rand, pixels []float32) []float32 {
	return scenes.AddNoise(rng, pixels, maxNoise)
}

// captionMatches is 1 where caption j describes scene i and 0 elsewhere, [scenes, captions]: a
// caption that leaves the position (or size) out fits the scenes of its group that differ only
// there.
func captionMatches(s []scenes.Scene, captions []scenes.Caption) *tensors.Tensor {
	n := len(s)
	t := make([]float32, n*n)
	for i, row := range scenes.Matches(s, captions) {
		for j, match := range row {
			if match {
				t[i*n+j] = 1
			}
		}
	}
	return tensors.FromFlatDataAndDimensions(t, n, n)
}

// attributeTargets are the scenes' headAttributes, one-hot [scenes, attributeOptions]. Given
// captions, only the attributes each caption names are set: the text heads cannot tell a
// position that a caption leaves out. A scene on scenes.TintBackground, which no option
// names, has no background set.
func attributeTargets(s []scenes.Scene, captions []scenes.Caption) *tensors.Tensor {
	width := attributeOptions()
	t := make([]float32, len(s)*width)
	for i, scene := range s {
		offset := 0
		for _, a := range headAttributes {
			if captions == nil || names(captions[i], a) {
				for k, v := range a.Options {
					probe := scene
					a.Set(&probe, v)
					if probe == scene {
						t[i*width+offset+k] = 1
					}
				}
			}
			offset += len(a.Options)
		}
	}
	return tensors.FromFlatDataAndDimensions(t, len(s), width)
}

// names tells whether a caption names attribute a of its scene: all but the position always
// (a caption without a background names the plain one).
func names(c scenes.Caption, a scenes.Attribute) bool {
	return a.Name != scenes.PositionAttribute.Name || c.Names.Position
}
