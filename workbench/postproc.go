package workbench

import (
	"fmt"
	"math/rand/v2"

	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // GoMLX graph code reads best with the dot import.
	"github.com/gomlx/gomlx/core/tensors"
)

// Postproc edits the image between steps (pixels parameterisation) with a pixel transform of
// TransformKinds or, when Geometric is set, a geometric transform that keeps the image's size, as
// CLIPig's postproc does.
type Postproc struct {
	Transform
	// Geometric, when set, is the edit instead of Transform (whose Period still applies).
	Geometric *Geometric
	// Disabled switches the edit off (CLIPig's active: false).
	Disabled bool
	// Amount blends the edited image into the image: 1 (default) replaces it, as in CLIPig;
	// less keeps part of it (clipwork's addition).
	Amount Value
}

func (p Postproc) validate() error {
	if p.Geometric == nil {
		if err := p.Transform.validate(); err != nil {
			return fmt.Errorf("postproc: %w", err)
		}
		if err := transformSizeProblem(p.Transform); err != nil {
			return fmt.Errorf("postproc: %w", err)
		}
		return nil
	}
	if err := p.Geometric.validate(); err != nil {
		return fmt.Errorf("postproc: %w", err)
	}
	if err := geometricSizeProblem(*p.Geometric); err != nil {
		return fmt.Errorf("postproc: %w", err)
	}
	if kind, _ := LookupGeometric(p.Geometric.Kind); !kind.KeepsSize {
		return fmt.Errorf("postproc: %s changes the image's size", p.Geometric.Kind)
	}
	return nil
}

// postprocess applies the experiment's post-processing to the pixels [h, w, 3] at the start of
// a step, as CLIPig does before its forward pass: each edit with its row [1, rowColumns] and its amount
// (0 outside its period or when disabled). It returns the pixels and the random state after.
func (r *Run) postprocess(params, amounts *Node, rows []*Node, rng *Node) (*Node, *Node) {
	if r.exp.Parameterization.Kind != ParamPixels {
		return params, rng
	}
	for i, p := range r.exp.Postproc {
		var edited *Node
		if p.Geometric != nil {
			h, w := params.Shape().Dim(0), params.Shape().Dim(1)
			edited = Squeeze(sampleRect(params, rows[i], w, h, geometryPad([]Geometric{*p.Geometric}), true), 0)
		} else {
			edited, rng = p.apply(params, rows[i], rng)
		}
		params = p.clamped(Add(params, Mul(Reshape(Slice(amounts, AxisRange(i, i+1))), Sub(edited, params))))
	}
	return params, rng
}

// apply is a pixel edit of the pixels [h, w, 3] by its row [1, rowColumns], and the random state after it.
func (p Postproc) apply(params, row, rng *Node) (*Node, *Node) {
	kind, _ := LookupTransform(p.Kind)
	radius := 0
	if kind.Radius != nil {
		radius = kind.Radius(p.Transform)
	}
	a := &TransformArgs{X: InsertAxes(params, 0), Rows: row, Radius: radius, RNG: rng, Extra: fixedValues(p.Extra, kind.Fixed)}
	return Squeeze(kind.Apply(a), 0), a.RNG
}

// postprocHomography is a geometric edit's map [1, 9] from the edited image to the image (the
// identity outside its period).
func (r *Run) postprocHomography(g Geometric, period Period, env Env, rng *rand.Rand) (*tensors.Tensor, error) {
	h := IdentityHomography
	if period.Active(env.Step, env.Steps) {
		h, _, _ = geometryMap([]Geometric{g}, env, rng, r.width, r.height)
	}
	if !h.Valid() {
		return nil, fmt.Errorf("step %d: postproc %s is no valid mapping (%v): a value is NaN, infinite, zero or far too large at this step",
			env.Step, g.Kind, h)
	}
	row := make([]float32, 9)
	for i, v := range h {
		row[i] = float32(v)
	}
	return tensors.FromFlatDataAndDimensions(row, 1, 9), nil
}

// postprocInputs are the edits' amounts [p] and rows, one [1, rowColumns] per pixel edit and one
// homography [1, 9] per geometric edit, at a step.
func (r *Run) postprocInputs(env Env, rng *rand.Rand) (*tensors.Tensor, []*tensors.Tensor, error) {
	amounts := make([]float32, max(len(r.exp.Postproc), 1))
	var rows []*tensors.Tensor
	for i, p := range r.exp.Postproc {
		env := env.In("postproc", i)
		if !p.Disabled && p.Period.Active(env.Step, env.Steps) {
			amounts[i] = float32(p.Amount.At(env))
		}
		if p.Geometric != nil {
			row, err := r.postprocHomography(*p.Geometric, p.Period, env, rng)
			if err != nil {
				return nil, nil, err
			}
			rows = append(rows, row)
			continue
		}
		rows = append(rows, transformInputs(p.Transform, 1, env, rng, nil))
	}
	return tensors.FromFlatDataAndDimensions(amounts, len(amounts)), rows, nil
}
