package workbench

import (
	"fmt"
	"math/rand/v2"

	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // GoMLX graph code reads best with the dot import.
	"github.com/gomlx/gomlx/core/tensors"
)

// Postproc edits the image between steps (pixels parameterisation) with a pixel transform of
// TransformKinds, as CLIPig's postproc does.
type Postproc struct {
	Transform
	// Disabled switches the edit off (CLIPig's active: false).
	Disabled bool
	// Amount blends the edited image into the image: 1 (default) replaces it, as in CLIPig;
	// less keeps part of it (clipwork's addition).
	Amount Value
}

func (p Postproc) validate() error {
	if err := p.Transform.validate(); err != nil {
		return fmt.Errorf("postproc: %w", err)
	}
	return nil
}

// postprocess applies the experiment's post-processing to the updated pixels [h, w, 3]: each
// edit with its row [1, 4] and its amount (0 outside its period or when disabled).
func (r *Run) postprocess(params, amounts *Node, rows []*Node, rng *Node) *Node {
	if r.exp.Parameterization.Kind != ParamPixels {
		return params
	}
	for i, p := range r.exp.Postproc {
		kind, _ := LookupTransform(p.Kind)
		radius := 0
		if kind.Radius != nil {
			radius = kind.Radius(p.Transform)
		}
		a := &TransformArgs{X: InsertAxes(params, 0), Rows: rows[i], Radius: radius, RNG: rng, Extra: staticValues(p.Extra)}
		edited := Squeeze(kind.Apply(a), 0)
		rng = a.RNG
		params = Add(params, Mul(Reshape(Slice(amounts, AxisRange(i, i+1))), Sub(edited, params)))
	}
	return params
}

// postprocInputs are the edits' amounts [p] and rows, one [1, 4] per edit, at a step.
func (r *Run) postprocInputs(env Env, rng *rand.Rand) (*tensors.Tensor, []*tensors.Tensor) {
	amounts := make([]float32, max(len(r.exp.Postproc), 1))
	var rows []*tensors.Tensor
	for i, p := range r.exp.Postproc {
		if !p.Disabled && p.Period.Active(env.Step, env.Steps) {
			amounts[i] = float32(p.Amount.At(env))
		}
		rows = append(rows, transformInputs(p.Transform, 1, env, rng))
	}
	return tensors.FromFlatDataAndDimensions(amounts, len(amounts)), rows
}
