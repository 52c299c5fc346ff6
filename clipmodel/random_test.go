package clipmodel

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestNormalsAreStandard checks the mean, variance and tails of 200,000 draws.
func TestNormalsAreStandard(t *testing.T) {
	normal := newNormals(rand.New(rand.NewPCG(1, 2)))
	const n = 200000
	var sum, squares float64
	beyond2 := 0
	for range n {
		x := normal()
		sum += x
		squares += x * x
		if math.Abs(x) > 2 {
			beyond2++
		}
	}
	mean, variance := sum/n, squares/n-(sum/n)*(sum/n)
	if math.Abs(mean) > 0.01 || math.Abs(variance-1) > 0.015 {
		t.Errorf("mean %.4f, variance %.4f; want 0 and 1", mean, variance)
	}
	if share := float64(beyond2) / n; math.Abs(share-0.0455) > 0.003 {
		t.Errorf("%.4f of the draws beyond 2 standard deviations, want 0.0455", share)
	}
}
