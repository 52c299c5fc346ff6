package workbench

import (
	"fmt"

	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // GoMLX graph code reads best with the dot import.
)

// Postproc edits the image between steps, one kind of PostprocKinds.
type Postproc struct {
	Kind   string
	Period Period
	Amount Value
	Sigma  float64
	Size   int
	Color  [3]float64
}

// Postproc kinds.
const (
	PostprocBlur   = "blur"   // blend Amount of a Gaussian blur of Sigma into the image
	PostprocBorder = "border" // pull a border of Size pixels towards Color by Amount
	PostprocMean   = "mean"   // pull the image's mean towards Color by Amount
)

// PostprocKind is one post-processing edit: its YAML key, its parameters, and its graph
// function on the pixels [h, w, 3] with the step's amount (0 outside its period).
type PostprocKind struct {
	// Key is the YAML key.
	Key string
	// Params are the keys the edit reads besides amount, start and end.
	Params []string
	// Apply edits the pixels.
	Apply func(p Postproc, pixels, amount *Node) *Node
}

// PostprocKinds are the post-processing edits.
var PostprocKinds = []PostprocKind{
	{Key: PostprocBlur, Params: []string{"sigma"}, Apply: func(p Postproc, pixels, amount *Node) *Node {
		sigma := Const(pixels.Graph(), []float32{float32(p.Sigma)})
		blurred := Squeeze(GaussianBlur(InsertAxes(pixels, 0), sigma, blurRadius(p.Sigma)), 0)
		return Add(pixels, Mul(amount, Sub(blurred, pixels)))
	}},
	{Key: PostprocBorder, Params: []string{"size", "color"}, Apply: func(p Postproc, pixels, amount *Node) *Node {
		h, w := pixels.Shape().Dim(0), pixels.Shape().Dim(1)
		mask := Reshape(borderMask(pixels.Graph(), h, w, p.Size, p.Size), h, w, 1)
		return Add(pixels, Mul(Mul(amount, mask), Sub(postprocColor(p, pixels), pixels)))
	}},
	{Key: PostprocMean, Params: []string{"color"}, Apply: func(p Postproc, pixels, amount *Node) *Node {
		mean := ReduceAndKeep(pixels, ReduceMean, 0, 1)
		return Add(pixels, Mul(amount, Sub(postprocColor(p, pixels), mean)))
	}},
}

func postprocColor(p Postproc, pixels *Node) *Node {
	return Reshape(Const(pixels.Graph(), []float32{float32(p.Color[0]), float32(p.Color[1]), float32(p.Color[2])}), 1, 1, 3)
}

// LookupPostproc returns a post-processing kind's entry.
func LookupPostproc(key string) (*PostprocKind, bool) {
	return lookup(PostprocKinds, key, func(k *PostprocKind) string { return k.Key })
}

// PostprocKeys lists the post-processing edits' YAML keys.
func PostprocKeys() []string {
	return keys(PostprocKinds, func(k *PostprocKind) string { return k.Key })
}

func (p Postproc) validate() error {
	if _, ok := LookupPostproc(p.Kind); !ok {
		return fmt.Errorf("postproc %q is not one of %v", p.Kind, PostprocKeys())
	}
	return nil
}

// postprocess applies the experiment's post-processing to the updated pixels; amounts [p]
// are 0 outside each one's period.
func (r *Run) postprocess(params, amounts *Node) *Node {
	if r.exp.Parameterization.Kind != ParamPixels {
		return params
	}
	for i, p := range r.exp.Postproc {
		kind, _ := LookupPostproc(p.Kind)
		params = kind.Apply(p, params, Reshape(Slice(amounts, AxisRange(i, i+1))))
	}
	return params
}

func (r *Run) postprocAmounts(env Env) []float32 {
	amounts := make([]float32, max(len(r.exp.Postproc), 1))
	for i, p := range r.exp.Postproc {
		if p.Period.Active(env.Step, env.Steps) {
			amounts[i] = float32(p.Amount.At(env))
		}
	}
	return amounts
}
