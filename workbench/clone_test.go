package workbench

import (
	"reflect"
	"testing"
)

// TestCloneSharesNothing changes every nested slice, pointer and array of a copied experiment:
// the original keeps its values. A struct with a map is copied apart too.
func TestCloneSharesNothing(t *testing.T) {
	g := Geometric{Kind: "rotate", Values: [][]Value{consts(10), consts(0.5, 0.5)}}
	exp := Experiment{Ensemble: []ModelChoice{{Name: "a", Weight: 1}}, Resolution: [2]Value{Constant(8), Constant(8)},
		Targets: []Target{{Name: "t", Features: []Feature{{Text: "x"}}, AntiText: &AntiText{Prompts: []string{"p"}},
			Transforms: []Transform{{Kind: TransformAdd, Values: consts(0.1)}}, Geometry: []Geometric{g}}},
		Postproc: []Postproc{{Geometric: &Geometric{Kind: "rotate", Values: [][]Value{consts(5), consts(0.5, 0.5)}}}}}
	c := exp.clone()
	c.Ensemble[0].Name = "b"
	c.Resolution[0] = Constant(9)
	c.Targets[0].Features[0].Text = "y"
	c.Targets[0].AntiText.Prompts[0] = "q"
	c.Targets[0].Transforms[0].Values[0] = Constant(0.2)
	c.Targets[0].Geometry[0].Values[1][0] = Constant(0.1)
	c.Postproc[0].Geometric.Values[0][0] = Constant(6)
	got := []string{exp.Ensemble[0].Name, exp.Resolution[0].Expr, exp.Targets[0].Features[0].Text, exp.Targets[0].AntiText.Prompts[0],
		exp.Targets[0].Transforms[0].Values[0].Expr, exp.Targets[0].Geometry[0].Values[1][0].Expr, exp.Postproc[0].Geometric.Values[0][0].Expr}
	if want := []string{"a", "8", "x", "p", "0.1", "0.5", "5"}; !reflect.DeepEqual(got, want) {
		t.Errorf("changing the copy changed the original: %v, want %v", got, want)
	}
	type withMap struct{ M map[string][]int }
	src := withMap{M: map[string][]int{"a": {1}}}
	dst := reflect.New(reflect.TypeFor[withMap]()).Elem()
	deepCopy(dst, reflect.ValueOf(src))
	dst.Interface().(withMap).M["a"][0] = 2
	if src.M["a"][0] != 1 {
		t.Error("a copied map's slice is shared")
	}
}
