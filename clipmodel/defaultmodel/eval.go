package defaultmodel

import (
	"fmt"
	"io"
	"math/rand/v2"

	"github.com/clipwork/clipwork/clipmodel"
	"github.com/clipwork/clipwork/clipmodel/scenes"
)

// Accuracy is zero-shot classification accuracy per attribute, on scenes of unseen seeds.
type Accuracy struct {
	Scenes                        int
	Color, Shape, Count, Position float64
}

// Report writes the accuracies beside the targets the default model is held to.
func (a Accuracy) Report(w io.Writer) {
	fmt.Fprintf(w, "zero-shot accuracy on %d held-out scenes:\n", a.Scenes)
	for _, row := range []struct {
		name        string
		got, target float64
	}{{"colour", a.Color, 0.95}, {"shape", a.Shape, 0.90}, {"count", a.Count, 0.80}, {"position", a.Position, 0.80}} {
		fmt.Fprintf(w, "  %-8s %5.1f%%  (target %.0f%%)\n", row.name, 100*row.got, 100*row.target)
	}
}

// heldOutStream keeps evaluation scenes apart from every training step's (which use stream = step).
const heldOutStream = 1 << 62

// ZeroShot classifies n held-out scenes by each attribute in turn: the scene's own description
// against the descriptions that differ from it in that attribute only; the prediction is the
// most similar one.
func ZeroShot(m *clipmodel.Model, n int, seed uint64) (Accuracy, error) {
	rng := rand.New(rand.NewPCG(seed, heldOutStream))
	acc := Accuracy{Scenes: n}
	for range n {
		s := scenes.Random(rng)
		pixels := clipmodel.RGB(s.Render(rng, m.Config.Vision.ImageSize))
		images, err := m.EmbedPixels([][]float32{pixels})
		if err != nil {
			return acc, err
		}
		for _, attr := range []struct {
			scenes.Attribute
			score *float64
		}{
			{scenes.ColorAttribute, &acc.Color}, {scenes.ShapeAttribute, &acc.Shape},
			{scenes.CountAttribute, &acc.Count}, {scenes.PositionAttribute, &acc.Position},
		} {
			prompts := make([]string, len(attr.Options))
			truth := 0
			for i, v := range attr.Options {
				variant := s
				attr.Set(&variant, v)
				prompts[i] = variant.Describe()
				if variant == s {
					truth = i
				}
			}
			texts, err := m.EmbedTexts(prompts)
			if err != nil {
				return acc, err
			}
			best := 0
			for i := range texts {
				if clipmodel.Cosine(images[0], texts[i].Embedding) > clipmodel.Cosine(images[0], texts[best].Embedding) {
					best = i
				}
			}
			if best == truth {
				*attr.score += 1 / float64(n)
			}
		}
	}
	return acc, nil
}
