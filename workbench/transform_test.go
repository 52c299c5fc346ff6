package workbench

import (
	"math"
	"math/rand/v2"
	"testing"

	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // GoMLX graph code reads best with the dot import.
	"github.com/gomlx/gomlx/core/tensors"
)

// applyKind runs one transform kind's graph function on windows x [n, s, s, 3] with rows [n, 4].
func applyKind(t *testing.T, kind *TransformKind, x []float32, n, s int, rows []float32) []float32 {
	t.Helper()
	state, err := RNGStateFromSeed(1)
	if err != nil {
		t.Fatal(err)
	}
	return run1(t, func(in []*Node) *Node {
		return kind.Apply(&TransformArgs{X: in[0], Rows: in[1], Radius: 3, RNG: in[2]})
	}, tensors.FromFlatDataAndDimensions(x, n, s, s, 3), tensors.FromFlatDataAndDimensions(rows, n, 4), state)
}

// TestTransformKindsAreComplete checks every entry of the registry: a unique key, a parameter
// and its size, a draw and a graph function, and an identity row that leaves windows as they are
// (the row used outside a transform's period).
func TestTransformKindsAreComplete(t *testing.T) {
	const n, s = 2, 6
	x := randomImage(rand.New(rand.NewPCG(1, 2)), n*s, s, 3)
	seen := map[string]bool{}
	for _, kind := range TransformKinds {
		if kind.Key == "" || seen[kind.Key] || kind.Param == "" || kind.Values < 1 || kind.Values > 3 ||
			kind.Draw == nil || kind.Apply == nil {
			t.Errorf("transform %q: incomplete or repeated entry", kind.Key)
			continue
		}
		seen[kind.Key] = true
		if k, ok := LookupTransform(kind.Key); !ok || k.Key != kind.Key {
			t.Errorf("LookupTransform(%q) does not find it", kind.Key)
		}
		var rows []float32
		for range n {
			for _, v := range kind.Identity {
				rows = append(rows, float32(v))
			}
		}
		got := applyKind(t, &kind, x, n, s, rows)
		for i := range x {
			if math.Abs(float64(got[i]-x[i])) > 1e-5 {
				t.Errorf("%s: the identity row changes value %d from %g to %g", kind.Key, i, x[i], got[i])
				break
			}
		}
	}
}

// TestTransformsExact checks the per-pixel transforms against their formulas on a known 2x2
// window.
func TestTransformsExact(t *testing.T) {
	x := []float32{0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.2, 0.4, 0.6}
	mean := [3]float64{(0.1 + 0.4 + 0.7 + 0.2) / 4, (0.2 + 0.5 + 0.8 + 0.4) / 4, (0.3 + 0.6 + 0.9 + 0.6) / 4}
	all := (mean[0] + mean[1] + mean[2]) / 3
	tests := []struct {
		key  string
		row  TransformRow
		want func(v float64, c, pixel int) float64
	}{
		{TransformAdd, TransformRow{0.1, -0.2, 0.3}, func(v float64, c, _ int) float64 { return v + []float64{0.1, -0.2, 0.3}[c] }},
		{TransformMul, TransformRow{2, 0.5, 1}, func(v float64, c, _ int) float64 { return v * []float64{2, 0.5, 1}[c] }},
		{TransformClamp, TransformRow{0.3, 0.6}, func(v float64, _, _ int) float64 { return min(max(v, 0.3), 0.6) }},
		{TransformMean, TransformRow{0.5, 0.5, 0.5, 1}, func(v float64, c, _ int) float64 { return v - mean[c] + 0.5 }},
		{TransformContrast, TransformRow{2}, func(v float64, _, _ int) float64 { return all + 2*(v-all) }},
		{TransformSaturation, TransformRow{0}, func(_ float64, _, pixel int) float64 {
			return float64(x[3*pixel]+x[3*pixel+1]+x[3*pixel+2]) / 3
		}},
	}
	for _, test := range tests {
		kind, _ := LookupTransform(test.key)
		rows := make([]float32, 4)
		for i, v := range test.row {
			rows[i] = float32(v)
		}
		got := applyKind(t, kind, x, 1, 2, rows)
		for i, v := range x {
			if want := test.want(float64(v), i%3, i/3); math.Abs(float64(got[i])-want) > 1e-6 {
				t.Errorf("%s: value %d is %g, want %g", test.key, i, got[i], want)
			}
		}
	}
}

// TestTransformInputsOutsideThePeriod checks that a transform outside its period gets its
// identity row and draws nothing.
func TestTransformInputsOutsideThePeriod(t *testing.T) {
	tr := Transform{Kind: TransformBlur, Period: Period{Start: AtStep(5)}, Values: []Value{Constant(1), Constant(2)}}
	rng := rand.New(rand.NewPCG(1, 1))
	off := tensors.MustCopyFlatData[float32](transformInputs(tr, 3, TimeAt(4, 10), rng))
	for _, v := range off {
		if v != 0 {
			t.Fatalf("blur before its start: rows %v, want zeros", off)
		}
	}
	on := tensors.MustCopyFlatData[float32](transformInputs(tr, 3, TimeAt(5, 10), rng))
	for i := 0; i < len(on); i += 4 {
		if on[i] < 1 || on[i] > 2 {
			t.Errorf("blur sigma %g is outside [1, 2]", on[i])
		}
	}
}
