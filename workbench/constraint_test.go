package workbench

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/clipwork/clipwork/clipmodel"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // GoMLX graph code reads best with the dot import.
	"github.com/gomlx/gomlx/core/tensors"
)

// constraintCases give every constraint kind settings that a random image in [0, 1] violates.
var constraintCases = []Constraint{
	{Kind: ConstraintBlur},
	{Kind: ConstraintBorder, Extra: [][]Value{consts(2, 1), consts(1, 1, 1)}},
	{Kind: ConstraintContrast, Below: consts(0.1)},
	{Kind: ConstraintEdgeMean, Below: consts(0.01), Loss: "l1"},
	{Kind: ConstraintMean, Above: consts(0.9, 0.7, 0.8)},
	{Kind: ConstraintNoise, Extra: [][]Value{consts(0.1, 0.1, 0.1)}},
	{Kind: ConstraintNormalize, Extra: [][]Value{consts(0.2, 0.2, 0.2), consts(0.8, 0.8, 0.8)}, Loss: "mae"},
	{Kind: ConstraintRange, Above: consts(0.3), Below: consts(0.6)},
	{Kind: ConstraintSaturation, Below: consts(0.02)},
	{Kind: ConstraintStd, Above: consts(0.6)},
	{Kind: ConstraintTV, Target: Constant(0)},
}

// TestConstraintKindsAreComplete checks that every kind has an entry with a penalty and a case
// in constraintCases.
func TestConstraintKindsAreComplete(t *testing.T) {
	covered := map[string]bool{}
	for _, c := range constraintCases {
		covered[c.Kind] = true
	}
	for _, kind := range ConstraintKinds {
		if kind.Key == "" || kind.Penalty == nil {
			t.Errorf("constraint %q: incomplete entry", kind.Key)
		}
		if !covered[kind.Key] {
			t.Errorf("constraint %q has no case in constraintCases", kind.Key)
		}
	}
}

// TestGradientStepsLowerEveryConstraint takes a few gradient steps on a random image against
// each constraint alone and checks its loss falls (noise, which has no gradient in CLIPig, keeps
// its loss).
func TestGradientStepsLowerEveryConstraint(t *testing.T) {
	backend, err := clipmodel.Backend()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range constraintCases {
		if c.Loss == "" {
			c.Loss = "l2"
		}
		c.Weight = Constant(1)
		c = c.withDefaults()
		exec, err := NewExec(backend, func(x, values *Node) (*Node, *Node) {
			loss := ReduceAllSum(constraintLosses([]Constraint{c}, x, Squeeze(x, 0), values))
			grad := Gradient(loss, x)[0]
			step := Div(grad, Sqrt(AddScalar(ReduceAllMean(Square(grad)), 1e-12)))
			return loss, Sub(x, MulScalar(step, 0.02))
		})
		if err != nil {
			t.Fatal(err)
		}
		x := tensors.FromFlatDataAndDimensions(randomImage(rand.New(rand.NewPCG(3, 4)), 12, 12, 3), 1, 12, 12, 3)
		values := constraintInputs([]Constraint{c}, TimeAt(0, 1))
		var losses []float32
		for range 5 {
			out, err := exec.Exec(x, values)
			if err != nil {
				t.Fatal(err)
			}
			losses = append(losses, tensors.MustCopyFlatData[float32](out[0])[0])
			x = out[1]
		}
		if c.Kind == ConstraintNoise { // CLIPig's noise constraint has no gradient: its loss stays
			if losses[0] <= 0 || losses[4] != losses[0] {
				t.Errorf("constraint noise: loss %v, want one positive value throughout", losses)
			}
			continue
		}
		if losses[0] <= 0 || losses[4] >= losses[0]*0.95 {
			t.Errorf("constraint %s: loss %v does not fall", c.Kind, losses)
		}
	}
}

// TestConstraintsMatchCLIPig compares each constraint's loss (weight 1, l2) on a known image with
// CLIPig's, computed in PyTorch by testdata/constraints.py.
func TestConstraintsMatchCLIPig(t *testing.T) {
	var ref map[string]json.RawMessage
	readTestdata(t, "constraints.json", &ref)
	var pixels []float32
	if err := json.Unmarshal(ref["image"], &pixels); err != nil {
		t.Fatal(err)
	}
	image := tensors.FromFlatDataAndDimensions(pixels, 1, 9, 9, 3)
	cases := []Constraint{
		{Kind: ConstraintBlur},
		{Kind: ConstraintBorder, Extra: [][]Value{consts(2, 1), consts(1, 1, 1)}},
		{Kind: ConstraintContrast, Below: consts(0.1)},
		{Kind: ConstraintEdgeMean, Below: consts(0.01)},
		{Kind: ConstraintMean, Above: consts(0.9, 0.8, 0.7)},
		{Kind: ConstraintNormalize, Extra: [][]Value{consts(0.2, 0.2, 0.2), consts(0.8, 0.8, 0.8)}},
		{Kind: ConstraintSaturation, Below: consts(0.0001)},
		{Kind: ConstraintStd, Above: consts(0.6)},
	}
	for _, c := range cases {
		c.Loss, c.Weight = "l2", Constant(1)
		c = c.withDefaults()
		var want float64
		if err := json.Unmarshal(ref[c.Kind], &want); err != nil {
			t.Fatal(err)
		}
		got := run1(t, func(in []*Node) *Node {
			return constraintLosses([]Constraint{c}, in[0], Squeeze(in[0], 0), in[1])
		}, image, constraintInputs([]Constraint{c}, TimeAt(0, 1)))[0]
		if math.Abs(float64(got)-want) > 1e-4*max(want, 1e-3) {
			t.Errorf("%s: loss %g, CLIPig's %g", c.Kind, got, want)
		}
		if c.Kind == ConstraintNormalize {
			checkNormalizeGradient(t, c, image, ref["normalize_gradient"])
		}
	}
}

// checkNormalizeGradient compares the normalize constraint's gradient with the image with
// CLIPig's, which runs through the stretched image and its range too.
func checkNormalizeGradient(t *testing.T, c Constraint, image *tensors.Tensor, ref json.RawMessage) {
	t.Helper()
	var want []float64
	if err := json.Unmarshal(ref, &want); err != nil {
		t.Fatal(err)
	}
	got := run1(t, func(in []*Node) *Node {
		loss := constraintLosses([]Constraint{c}, in[0], Squeeze(in[0], 0), in[1])
		return Gradient(ReduceAllSum(loss), in[0])[0]
	}, image, constraintInputs([]Constraint{c}, TimeAt(0, 1)))
	for i, w := range want {
		if math.Abs(float64(got[i])-w) > 1e-4*max(math.Abs(w), 1e-2) {
			t.Fatalf("normalize's gradient at %d: %g, CLIPig's %g", i, got[i], w)
		}
	}
}

// TestConstraintParametersChangeOverTime gives each constraint parameter that may change at
// every step a value moving from a to b over the run: its loss at the first step is that of the
// constant a, at the last that of the constant b (which differ), beside a constraint without
// such parameters, whose input row is shorter.
func TestConstraintParametersChangeOverTime(t *testing.T) {
	image := tensors.FromFlatDataAndDimensions(randomImage(rand.New(rand.NewPCG(5, 6)), 12, 12, 3), 1, 12, 12, 3)
	moving := func(a, b float64) Value {
		return Func("moving", func(e Env) float64 { return a + (b-a)*e.T })
	}
	cases := []struct {
		kind         string
		param        int
		from, to     []float64
		extraOptions [][]Value
	}{
		{ConstraintBlur, 1, []float64{0.5, 0.5}, []float64{2, 1.5}, [][]Value{consts(5, 5), nil}},
		{ConstraintEdgeMean, 1, []float64{0.5, 0.5}, []float64{2, 1.5}, [][]Value{consts(5, 5), nil}},
		{ConstraintBorder, 1, []float64{0, 0, 0}, []float64{1, 0.5, 0.2}, [][]Value{consts(2, 1), nil}},
		{ConstraintNoise, 0, []float64{0.1, 0.1, 0.1}, []float64{0.5, 0.3, 0.2}, [][]Value{nil}},
		{ConstraintNormalize, 1, []float64{0.8, 0.8, 0.8}, []float64{0.4, 0.5, 0.6}, [][]Value{consts(0.2, 0.2, 0.2), nil}},
	}
	for _, tc := range cases {
		with := func(values []Value) Constraint {
			c := Constraint{Kind: tc.kind, Loss: "l2", Weight: Constant(1), Above: consts(0.9), Extra: slices.Clone(tc.extraOptions)}
			c.Extra[tc.param] = values
			return c.withDefaults()
		}
		var changing []Value
		for k := range tc.from {
			changing = append(changing, moving(tc.from[k], tc.to[k]))
		}
		constraints := []Constraint{with(changing), with(constants(tc.from)), with(constants(tc.to)),
			{Kind: ConstraintMean, Loss: "l2", Weight: Constant(1), Above: consts(0.9)}}
		losses := func(step int) []float32 {
			return run1(t, func(in []*Node) *Node {
				return constraintLosses(constraints, in[0], Squeeze(in[0], 0), in[1])
			}, image, constraintInputs(constraints, TimeAt(step, 10)))
		}
		first, last := losses(0), losses(9)
		if math.Abs(float64(first[0]-first[1])) > 1e-6*float64(first[1]) || math.Abs(float64(last[0]-last[2])) > 1e-6*float64(last[2]) {
			t.Errorf("%s: losses %v at the first step, %v at the last; want the first of each equal to the second, then the third", tc.kind, first, last)
		}
		if math.Abs(float64(first[1]-first[2])) < 1e-4*float64(first[1]) {
			t.Errorf("%s: the two constant settings give one loss %v", tc.kind, first)
		}
	}
}

// TestConstraintValuesDrawTheirOwn gives every value of a constraint the same expression drawing
// random numbers: each draws its own, one filling three channels too, as CLIPig makes an
// expression of each copy; and a constraint outside its period has a row of zeros, none of its
// values evaluated (they may fail there).
func TestConstraintValuesDrawTheirOwn(t *testing.T) {
	random := Drawn("random()", func(e Env) float64 { return float64(e.Place%1000) / 1000 })
	three := []Value{random, random, random}
	cs := []Constraint{
		{Kind: ConstraintNormalize, Weight: Constant(1), Above: three, Extra: [][]Value{three, three}},
		{Kind: ConstraintMean, Weight: Constant(1), Below: []Value{random}},
		{Kind: ConstraintBlur, Weight: Constant(1), Period: Period{End: AtStep(3)},
			Extra: [][]Value{consts(3, 3), {Func("1/0", func(Env) float64 { panic("evaluated outside its period") }), Constant(1)}}},
	}
	rows := tensors.MustCopyFlatData[float32](constraintInputs(cs, TimeAt(5, 10)))
	width := len(rows) / 3
	drawn := slices.Concat(rows[1:4], rows[boundColumns:boundColumns+6])
	if distinct := slices.Compact(slices.Sorted(slices.Values(drawn))); len(distinct) != 9 {
		t.Errorf("normalize's above, min and max: %v, want nine draws of their own", drawn)
	}
	if below := rows[width+4 : width+7]; below[0] == below[1] || below[1] == below[2] || below[0] == below[2] {
		t.Errorf("mean's one below filling three: %v, want a draw for each", below)
	}
	if off := rows[2*width:]; slices.ContainsFunc(off, func(v float32) bool { return v != 0 }) {
		t.Errorf("blur after its end: row %v, want zeros", off)
	}
}
