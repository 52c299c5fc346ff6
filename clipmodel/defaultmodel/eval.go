package defaultmodel

import (
	"fmt"
	"io"

	"github.com/clipwork/clipwork/clipmodel"
)

// Accuracy is zero-shot classification accuracy per attribute, on scenes of unseen seeds.
type Accuracy struct {
	Scenes                        int
	Color, Shape, Count, Position float64
}

// Report writes the accuracies under a title, with targets beside: the floors the default
// model is held to on clean scenes, robust fine-tuning included.
func (a Accuracy) Report(w io.Writer, title string, targets bool) {
	fmt.Fprintf(w, "%s on %d held-out scenes:\n", title, a.Scenes)
	for _, row := range []struct {
		name        string
		got, target float64
	}{{"colour", a.Color, 0.95}, {"shape", a.Shape, 0.85}, {"count", a.Count, 0.80}, {"position", a.Position, 0.95}} {
		if targets {
			fmt.Fprintf(w, "  %-8s %5.1f%%  (target %.0f%%)\n", row.name, 100*row.got, 100*row.target)
		} else {
			fmt.Fprintf(w, "  %-8s %5.1f%%\n", row.name, 100*row.got)
		}
	}
}

// heldOutStream keeps evaluation scenes apart from every training step's (which use stream = step).
const heldOutStream = 1 << 62

// ZeroShot classifies n held-out scenes by each attribute in turn: the scene's own description
// against the descriptions that differ from it in that attribute only; the prediction is the
// most similar one.
func ZeroShot(m *clipmodel.Model, n int, seed uint64) (Accuracy, error) {
	acc := Accuracy{Scenes: n}
	all, pixels := heldOutScenes(m, n, seed)
	scores := []*float64{&acc.Color, &acc.Shape, &acc.Count, &acc.Position}
	for i, s := range all {
		images, err := m.EmbedPixels(pixels[i : i+1])
		if err != nil {
			return acc, err
		}
		for k, attr := range zeroShotAttributes {
			prompts, truth := choices(s, attr)
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
				*scores[k] += 1 / float64(n)
			}
		}
	}
	return acc, nil
}
