package defaultmodel

import (
	"fmt"
	"math/rand/v2"

	"github.com/clipwork/clipwork/clipmodel"
	"github.com/clipwork/clipwork/clipmodel/robust"
	"github.com/clipwork/clipwork/clipmodel/scenes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // GoMLX graph code reads best with the dot import.
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
)

// EvalAttack is the attack AttackedZeroShot evaluates under: 10 PGD steps of 1/255 in an
// L-infinity ball of 4/255.
var EvalAttack = robust.Attack{Radius: 4.0 / 255, StepSize: 1.0 / 255, Steps: 10}

// zeroShotAttributes are the attributes ZeroShot and AttackedZeroShot classify.
var zeroShotAttributes = []scenes.Attribute{scenes.ColorAttribute, scenes.ShapeAttribute,
	scenes.CountAttribute, scenes.PositionAttribute}

// choices are the descriptions of s that differ from it in attr only, and the index of s's own.
func choices(s scenes.Scene, attr scenes.Attribute) (prompts []string, truth int) {
	prompts = make([]string, len(attr.Options))
	for i, v := range attr.Options {
		variant := s
		attr.Set(&variant, v)
		prompts[i] = variant.Describe()
		if variant == s {
			truth = i
		}
	}
	return prompts, truth
}

// heldOutScenes are the first n scenes ZeroShot classifies for seed, and their pixels.
func heldOutScenes(m *clipmodel.Model, n int, seed uint64) ([]scenes.Scene, [][]float32) {
	rng := rand.New(rand.NewPCG(seed, heldOutStream))
	out, pixels := make([]scenes.Scene, n), make([][]float32, n)
	for i := range out {
		out[i] = scenes.Random(rng)
		pixels[i] = clipmodel.RGB(out[i].Render(rng, m.Config.Vision.ImageSize))
	}
	return out, pixels
}

// AttackedZeroShot is ZeroShot's classification of the same first n held-out scenes after an
// attack on each image and attribute: PGD that raises the cross-entropy of the zero-shot
// classifier (the scaled cosine similarities to the attribute's descriptions) for the truth.
func AttackedZeroShot(m *clipmodel.Model, n int, seed uint64, attack robust.Attack) (Accuracy, error) {
	acc := Accuracy{Scenes: n}
	all, pixels := heldOutScenes(m, n, seed)
	scale, err := m.LogitScale()
	if err != nil {
		return acc, err
	}
	// One Exec for all attributes: it compiles once per shape of the descriptions.
	exec, err := model.NewExec(m.Backend, m.Store, attackGraph(m, attack, scale))
	if err != nil {
		return acc, err
	}
	scores := []*float64{&acc.Color, &acc.Shape, &acc.Count, &acc.Position}
	for k, attr := range zeroShotAttributes {
		for from := 0; from < n; from += attackBatch {
			to := min(from+attackBatch, n)
			correct, err := attackChunk(m, exec, all[from:to], pixels[from:to], attr)
			if err != nil {
				return acc, fmt.Errorf("attacking %s: %w", attr.Name, err)
			}
			*scores[k] += float64(correct) / float64(n)
		}
	}
	return acc, nil
}

// attackBatch is how many images one attack graph call takes.
const attackBatch = 50

// attackGraph attacks images [b, s, s, 3] against their classifiers (normalised descriptions
// [b, options, dim] and one-hot truths [b, options]) and returns the attacked logits.
func attackGraph(m *clipmodel.Model, attack robust.Attack, scale float64) func(scope *model.Scope, images, texts, truth *Node) *Node {
	return func(scope *model.Scope, images, texts, truth *Node) *Node {
		logits := func(x *Node) *Node {
			img := L2Normalize(m.ImageFeatures(scope, x), -1)
			return MulScalar(Einsum("bd,bod->bo", img, texts), scale)
		}
		attacked := robust.PGD(images, nil, attack, func(x *Node) *Node {
			return Neg(ReduceAllSum(Mul(truth, LogSoftmax(logits(x), -1))))
		})
		return logits(attacked)
	}
}

// attackChunk attacks a chunk of scenes on one attribute and counts those still classified
// right.
func attackChunk(m *clipmodel.Model, exec *model.Exec, chunk []scenes.Scene, pixels [][]float32, attr scenes.Attribute) (int, error) {
	size, options := m.Config.Vision.ImageSize, len(attr.Options)
	images := make([]float32, 0, len(chunk)*size*size*3)
	var texts []float32
	truth := make([]float32, len(chunk)*options)
	truths := make([]int, len(chunk))
	for i, s := range chunk {
		images = append(images, pixels[i]...)
		prompts, t := choices(s, attr)
		embedded, err := m.EmbedTexts(prompts)
		if err != nil {
			return 0, err
		}
		for _, e := range embedded {
			texts = append(texts, clipmodel.Unit(e.Embedding)...)
		}
		truth[i*options+t], truths[i] = 1, t
	}
	dim := len(texts) / (len(chunk) * options)
	out, err := exec.Exec(tensors.FromFlatDataAndDimensions(images, len(chunk), size, size, 3),
		tensors.FromFlatDataAndDimensions(texts, len(chunk), options, dim),
		tensors.FromFlatDataAndDimensions(truth, len(chunk), options))
	if err != nil {
		return 0, err
	}
	logits := tensors.MustCopyFlatData[float32](out[0])
	correct := 0
	for i := range chunk {
		if argmax(logits[i*options:(i+1)*options]) == truths[i] {
			correct++
		}
	}
	return correct, nil
}

// argmax is the index of v's largest value (the first of equals).
func argmax(v []float32) int {
	best := 0
	for i := range v {
		if v[i] > v[best] {
			best = i
		}
	}
	return best
}
