package workbench

import (
	"math"
	"testing"

	"github.com/clipwork/clipwork/clipmodel"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // GoMLX graph code reads best with the dot import.
	"github.com/gomlx/gomlx/core/tensors"
)

// TestTargetLossFollowsCLIPig computes a target's feature loss for each select mode and loss
// kind, and compares it with CLIPig's training.py written out over the same numbers: per window,
// the applied features' weight times loss (l1 and l2 times 100), summed over the windows; best
// picks the most similar active feature whatever its weight's sign; mix compares each window
// with the features' weighted sum over the sum of the weights' magnitudes, by the first
// feature's loss, at weight 1.
func TestTargetLossFollowsCLIPig(t *testing.T) {
	emb := [][]float64{unit(1, 0.2, -0.3), unit(-0.4, 1, 0.1)}
	features := [][]float64{unit(1, 0, 0), unit(0, 1, 0.2), unit(0.3, 0.3, 1)}
	weights := []float64{1, -0.5, 2}
	lossOf := func(kind string, e, f []float64) float64 {
		switch kind {
		case LossL1, LossL2:
			sum := 0.0
			for i := range e {
				d := math.Abs(e[i] - f[i])
				if kind == LossL2 {
					d *= d
				}
				sum += d
			}
			return 100 * sum / float64(len(e))
		}
		return 1 - dot64(e, f)/math.Sqrt(dot64(f, f))
	}
	want := func(sel, kind string) float64 {
		total := 0.0
		for _, e := range emb {
			switch sel {
			case SelectAll:
				for i, f := range features {
					total += weights[i] * lossOf(kind, e, f)
				}
			case SelectBest:
				best := 0
				for i, f := range features {
					if dot64(e, f) > dot64(e, features[best]) {
						best = i
					}
				}
				total += weights[best] * lossOf(kind, e, features[best])
			case SelectMix:
				mixed, magnitude := make([]float64, 3), 0.0
				for i, f := range features {
					for j := range mixed {
						mixed[j] += weights[i] * f[j]
					}
					magnitude += math.Abs(weights[i])
				}
				for j := range mixed {
					mixed[j] /= magnitude
				}
				total += lossOf(kind, e, mixed)
			}
		}
		return total
	}
	backend, err := clipmodel.Backend()
	if err != nil {
		t.Fatal(err)
	}
	for _, sel := range []string{SelectAll, SelectBest, SelectMix} {
		for _, kind := range []string{LossCosine, LossL1, LossL2} {
			target := &preparedTarget{Target: Target{Select: sel}, losses: []string{kind, kind, kind}}
			exec, err := NewExec(backend, func(emb, features, weights *Node) *Node {
				on := OnesLike(weights)
				_, _, _, loss := targetLoss(target, []*Node{emb}, []*Node{features}, []float64{1}, weights, on, on)
				return loss
			})
			if err != nil {
				t.Fatal(err)
			}
			out, err := exec.Exec(matrix32(emb), matrix32(features), tensors.FromValue(float32s(weights)))
			if err != nil {
				t.Fatal(err)
			}
			got := float64(tensors.MustCopyFlatData[float32](out[0])[0])
			if w := want(sel, kind); math.Abs(got-w) > 1e-4*max(1, math.Abs(w)) {
				t.Errorf("select %s, loss %s: %g, CLIPig's %g", sel, kind, got, w)
			}
		}
	}
}

func unit(v ...float64) []float64 {
	n := math.Sqrt(dot64(v, v))
	for i := range v {
		v[i] /= n
	}
	return v
}

func dot64(a, b []float64) float64 {
	s := 0.0
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}

func float32s(v []float64) []float32 {
	out := make([]float32, len(v))
	for i, x := range v {
		out[i] = float32(x)
	}
	return out
}

func matrix32(rows [][]float64) *tensors.Tensor {
	out := make([][]float32, len(rows))
	for i, r := range rows {
		out[i] = float32s(r)
	}
	return tensors.FromValue(out)
}
