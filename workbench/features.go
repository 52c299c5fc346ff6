package workbench

import (
	"fmt"
	"math"

	"github.com/clipwork/clipwork/clipmodel"
	"github.com/gomlx/gomlx/core/tensors"
)

// preparedTarget is a target with its features embedded once at the start of a run.
type preparedTarget struct {
	Target
	// labels, texts, losses and weights have one entry per feature; anti-text, when on, is the last.
	labels, texts, losses []string
	weights               []Value
	periods               []Period
	// embeddings are the features' normalised embeddings, [feature][dim]; features holds them
	// as the [feature, dim] tensor every step feeds the graph.
	embeddings [][]float32
	features   *tensors.Tensor
	// blurRadius is the static kernel radius of the target's blur transform, if any.
	blurRadius int
}

// prepareTargets embeds every feature of every target with the model.
func prepareTargets(targets []Target, m *clipmodel.Model) ([]*preparedTarget, error) {
	out := make([]*preparedTarget, len(targets))
	for i, t := range targets {
		p := &preparedTarget{Target: t}
		for _, f := range t.Features {
			emb, err := embedFeature(m, f)
			if err != nil {
				return nil, fmt.Errorf("target %q, feature %q: %w", t.Name, f.Label, err)
			}
			p.add(f.Label, f.Text, f.Loss, f.Weight, f.Period, emb)
		}
		if t.AntiText != nil {
			emb, err := antiTextDirection(m, t.AntiText.Prompts)
			if err != nil {
				return nil, fmt.Errorf("target %q, anti-text: %w", t.Name, err)
			}
			weight := t.AntiText.Weight
			negative := Func("-("+weight.Expr+")", func(e Env) float64 { return -weight.At(e) })
			p.add("anti-text", fmt.Sprint(t.AntiText.Prompts), LossCosine, negative, Period{}, emb)
		}
		for _, tr := range t.Transforms {
			if tr.Kind == TransformBlur {
				p.blurRadius = max(p.blurRadius, blurRadius(maxOverTime(tr.Range[1])))
			}
		}
		flat := make([]float32, 0, len(p.embeddings)*len(p.embeddings[0]))
		for _, e := range p.embeddings {
			flat = append(flat, e...)
		}
		p.features = tensors.FromFlatDataAndDimensions(flat, len(p.embeddings), len(p.embeddings[0]))
		out[i] = p
	}
	return out, nil
}

func (p *preparedTarget) add(label, text, loss string, weight Value, period Period, embedding []float32) {
	p.labels = append(p.labels, label)
	p.texts = append(p.texts, text)
	p.losses = append(p.losses, loss)
	p.weights = append(p.weights, weight)
	p.periods = append(p.periods, period)
	p.embeddings = append(p.embeddings, normalize(embedding))
}

func embedFeature(m *clipmodel.Model, f Feature) ([]float32, error) {
	if f.Image != "" {
		embs, err := m.EmbedImageFiles([]string{f.Image})
		if err != nil {
			return nil, err
		}
		return embs[0], nil
	}
	embs, err := m.EmbedTexts([]string{f.Text})
	if err != nil {
		return nil, err
	}
	return embs[0].Embedding, nil
}

// antiTextDirection is the normalised mean of the prompts' normalised embeddings.
func antiTextDirection(m *clipmodel.Model, prompts []string) ([]float32, error) {
	embs, err := m.EmbedTexts(prompts)
	if err != nil {
		return nil, err
	}
	mean := make([]float32, len(embs[0].Embedding))
	for _, e := range embs {
		for i, v := range normalize(e.Embedding) {
			mean[i] += v
		}
	}
	return normalize(mean), nil
}

func normalize(v []float32) []float32 {
	var norm float64
	for _, x := range v {
		norm += float64(x) * float64(x)
	}
	norm = math.Sqrt(norm)
	out := make([]float32, len(v))
	for i, x := range v {
		if norm > 0 {
			out[i] = float32(float64(x) / norm)
		}
	}
	return out
}

// maxOverTime is the largest value a Value takes at eleven moments of a run.
func maxOverTime(v Value) float64 {
	m := math.Inf(-1)
	for i := range 11 {
		m = max(m, v.At(Env{T: float64(i) / 10}))
	}
	return m
}
